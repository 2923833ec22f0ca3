#!/usr/bin/perl
# README's quick start by hand, run as written: the shell block is taken
# from README.md and run in a copy of the tree's layout (conf-examples/,
# build/ of this tree, README.md), with only its two ports changed (here and
# in local.conf) so that it cannot collide with anything; "scripts/deps
# build" and "make" are what scripts/test has just done.  README's aws
# CLI example block runs against it, then README's stop line must stop
# both servers.

use strict;
use warnings;
use lib 't/lib';
use PfsS3::Test;
use PfsS3::Examples;
use File::Temp qw(tempdir);

my $ROOT = $PfsS3::Stack::ROOT;

my $readme = PfsS3::Stack->slurp("$ROOT/README.md");
my ($block) = $readme =~ /^The same by hand.*?\n```sh\n(.*?)```/ms;
ok $block, 'README has the quick start by hand' or BAIL_OUT('no block');
my ($stop) = $readme =~ /^The same by hand.*?```\n\s*Stop it with\s+`([^`]+)`/ms;
ok $stop, 'and the line that stops it' or BAIL_OUT('no stop line');
# What users then run against it: README's aws CLI example block.
my ($try) = $readme =~ /^Then, with the aws CLI v2.*?\n```sh\n(.*?)```/ms;
ok $try, 'and the aws CLI example' or BAIL_OUT('no aws example');
$try =~ s{^aws }{/usr/bin/aws }mg;

my @lines = split /\n/, $block;
is_deeply [ @lines[0, 1] ], ['scripts/deps build', 'make'],
    'it starts with installing and building (done by scripts/test)';
my $run = join "\n", @lines[2 .. $#lines], $try;

my $port = PfsS3::Stack::free_port();
my $pport = PfsS3::Stack::free_port();
my $dir = tempdir('pfs-s3-readme-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;
mkdir "$dir/conf-examples";
symlink "$ROOT/build", "$dir/build" or die "symlink: $!";
system('cp', "$ROOT/README.md", "$dir/README.md") == 0 or die;

my $local = adapt('local.conf', PfsS3::Stack->slurp("$ROOT/conf-examples/local.conf"),
    qr{127\.0\.0\.1:30650} => "127.0.0.1:$pport",
    qr{127\.0\.0\.1:9000} => "127.0.0.1:$port");
open my $fh, '>', "$dir/conf-examples/local.conf" or die;
print $fh $local;
close $fh;
$run = adapt('the block', $run,
    qr{127\.0\.0\.1:30650} => "127.0.0.1:$pport",
    qr{127\.0\.0\.1:9000} => "127.0.0.1:$port");

open $fh, '>', "$dir/steps.sh" or die;
# README's stop line runs however the steps end, so nothing is left behind.
print $fh "set -e\ntrap '$stop; wait' EXIT\n$run\necho READY\n";
close $fh;
my $out = `cd $dir && env -u AWS_CA_BUNDLE AWS_CONFIG_FILE=/dev/null bash steps.sh 2>&1`;
is $? >> 8, 0, 'the steps run without an error' or diag $out;
like $out, qr{^make_bucket: master\.foo\.bar$}m, 'aws s3 mb';
like $out, qr{upload: \./myfile\.csv to s3://master\.foo\.bar/myfile\.csv}, 'aws s3 cp';
like $out, qr{^\S+ \S+\s+20 myfile\.csv$}m, 'aws s3 ls lists it with its size';
like $out, qr{download: s3://master\.foo\.bar/myfile\.csv to \./copy\.csv}, 'and back';
like $out, qr{delete: s3://master\.foo\.bar/myfile\.csv}, 'aws s3 rm';
like $out, qr/READY/, 'all steps ran';

ok !PfsS3::Stack::wait_port($port, undef, 0.5), 'the stop line stopped nginx';
ok !PfsS3::Stack::wait_port($pport, undef, 0.5), '  and pfsd';

done_testing;
