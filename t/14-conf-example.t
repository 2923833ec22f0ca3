#!/usr/bin/perl
# conf-examples/local.conf is what users copy: it must pass nginx -t and
# serve S3 as it is, with only its addresses and the module path changed.

use strict;
use warnings;
use lib 't/lib';
use PfsS3::Test;

my $file = "$PfsS3::Stack::ROOT/conf-examples/local.conf";
open my $fh, '<', $file or die "$file: $!";
my $conf = do { local $/; <$fh> };
close $fh;

like $conf, qr{^load_module \S+ngx_http_pfs_s3_module\.so;}m, 'loads the module';
like $conf, qr{^\s*pfs_s3;}m, 'has a pfs_s3 location';
like $conf, qr{grpc_pass grpc://}m, 'has the grpc_pass location';

# Only what differs on a test machine: addresses, the module's path, and
# staying in the foreground for the harness.
my $n = 0;
$n += $conf =~ s{^load_module \S+;}{load_module %%MODULE%%;\ndaemon off;}m;
$n += $conf =~ s{127\.0\.0\.1:30650}{%%PFSD%%}g;
$n += $conf =~ s{127\.0\.0\.1:9000}{127.0.0.1:%%PORT%%}g;
cmp_ok $n, '>=', 3, 'addresses found where the comments say';

my $s = stack(conf => $conf);
my ($rc, $out) = $s->nginx_test;
is $rc, 0, 'nginx -t' or diag $out;

$s->start;
is s3($s, PUT => '/master.example')->{status}, 200, 'CreateBucket';
my $body = join '', map { sprintf "%09d\n", $_ } 1 .. 300_000;    # 3 MB: a temp file
my $r = s3($s, PUT => '/master.example/dir/README.md', body => $body,
           headers => { 'content-md5' => md5_b64($body) });
is $r->{status}, 200, 'PutObject through client_body_temp_path' or diag $r->{content};
$r = s3($s, GET => '/master.example/dir/README.md');
ok $r->{status} == 200 && $r->{content} eq $body, 'GetObject';
$r = s3($s, GET => '/master.example?list-type=2&delimiter=/');
is_deeply [xvals($r, '//s:CommonPrefixes/s:Prefix')], ['dir/'], 'ListObjectsV2';

ok wait_until(sub { grep { /op=GetObject .*key="dir\/README\.md"/ } $s->slurp($s->dir . '/access.log') =~ /^.*$/mg }, 5),
    'its access log format works';
$s->stop;

my @bad = grep { /\[(alert|crit|emerg)\]/ } split /\n/, $s->slurp($s->dir . '/error.log');
is scalar(@bad), 0, 'nothing alarming in its error log' or diag join "\n", @bad;

done_testing;
