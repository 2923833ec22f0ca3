#!/usr/bin/perl
# CI cannot pass by skipping: .ci/run runs the README's test command with
# PFS_S3_CI=1, under which a file that would skip what CI must exercise
# (skip_all_but_in_ci: the Debian packages, the aws CLI examples) fails, and
# so does a part of a file that needs a missing client (skip_but_in_ci in
# Perl, tap.skip_but_in_ci in Python: the aws CLI, rclone).

use strict;
use warnings;
use lib 't/lib';
use PfsS3::Test;

my $ROOT = $PfsS3::Stack::ROOT;
my $ci = PfsS3::Stack->slurp("$ROOT/.ci/run");
like $ci, qr/^export PFS_S3_CI=1$/m, '.ci/run sets PFS_S3_CI=1';
like $ci, qr/^exec scripts\/test$/m, '  and runs scripts/test, the README\'s command';

for my $f (qw(t/16-debian-packages.t t/70-client-aws-cli.t)) {
    my $text = PfsS3::Stack->slurp("$ROOT/$f");
    unlike $text, qr/plan skip_all/, "$f skips only through skip_all_but_in_ci";
}

# A file that would skip, run as prove runs it.
my $probe = PfsS3::Stack->new->dir . '/probe.t';
open my $fh, '>', $probe or die;
print $fh "use lib '$ROOT/t/lib'; use PfsS3::Test; "
        . "skip_all_but_in_ci('nothing here'); ok 1; done_testing;\n";
close $fh;

my $out = `PFS_S3_CI= perl $probe 2>&1`;
is $? >> 8, 0, 'outside CI: the file passes';
like $out, qr/^1\.\.0 # SKIP nothing here$/m, '  as skipped';

$out = `PFS_S3_CI=1 perl $probe 2>&1`;
isnt $? >> 8, 0, 'in CI: the file fails';
like $out, qr/^not ok 1 - CI must run this file, but: nothing here$/m,
    '  and says why';

# The same in Python, for the files that need boto3.
for my $f (qw(t/34-client-multipart.t t/71-client-boto3.t t/77-client-copyver.t)) {
    my $text = PfsS3::Stack->slurp("$ROOT/$f");
    like $text, qr/tap\.skip_all_but_in_ci\('boto3 missing/, "$f skips through skip_all_but_in_ci";
    unlike $text, qr/tap\.skip_all\(/, '  and no other way';
}
my $probe_py = PfsS3::Stack->new->dir . '/probe_py.t';
open $fh, '>', $probe_py or die;
print $fh "import sys; sys.path.insert(0, '$ROOT/t/lib')\n"
        . "from pfs_s3_test import tap\n"
        . "tap.skip_all_but_in_ci('nothing here'); tap.ok(True); tap.done()\n";
close $fh;
$out = `PFS_S3_CI= /usr/bin/python3 $probe_py 2>&1`;
is $? >> 8, 0, 'python, outside CI: the file passes';
like $out, qr/^1\.\.0 # SKIP nothing here$/m, '  as skipped';
$out = `PFS_S3_CI=1 /usr/bin/python3 $probe_py 2>&1`;
isnt $? >> 8, 0, 'python, in CI: the file fails';
like $out, qr/^not ok 1 - CI must run this file, but: nothing here$/m,
    '  and says why';

# The files whose parts need the aws CLI or rclone skip them only through
# skip_but_in_ci.
for my $f (qw(t/34-client-multipart.t t/35-copy-object.t t/36-delete-objects.t
              t/37-versions.t t/38-object-tagging.t)) {
    my $text = PfsS3::Stack->slurp("$ROOT/$f");
    like $text, qr/\bskip_but_in_ci\(/, "$f skips through skip_but_in_ci";
    unlike $text, qr/^\s*skip\b|# SKIP/m, '  and no other way';
}

# A part of a file that would skip, in Perl and in Python.
my $dir = PfsS3::Stack->new->dir;
open $fh, '>', "$dir/part.t" or die;
print $fh "use lib '$ROOT/t/lib'; use PfsS3::Test; ok 1, 'before'; "
        . "SKIP: { skip_but_in_ci('no client', 2); ok 1; ok 1; } "
        . "ok 1, 'after'; done_testing;\n";
close $fh;
open $fh, '>', "$dir/part_py.t" or die;
print $fh "import sys; sys.path.insert(0, '$ROOT/t/lib')\n"
        . "from pfs_s3_test import tap\n"
        . "tap.ok(True, 'before'); tap.skip_but_in_ci('no client'); "
        . "tap.ok(True, 'after'); tap.done()\n";
close $fh;
for (['perl', "perl $dir/part.t", 4], ['python', "/usr/bin/python3 $dir/part_py.t", 3]) {
    my ($lang, $cmd, $tests) = @$_;
    $out = `PFS_S3_CI= $cmd 2>&1`;
    is $? >> 8, 0, "$lang, outside CI: the part is skipped, the file passes"
        or diag $out;
    like $out, qr/^ok 2 (- )?# skip no client$/mi, '  as skipped';
    like $out, qr/^1\.\.$tests$/m, "  $tests tests";
    $out = `PFS_S3_CI=1 $cmd 2>&1`;
    isnt $? >> 8, 0, "$lang, in CI: the file fails";
    like $out, qr/^not ok 2 - CI must run this, but: no client$/m,
        '  and says why';
    like $out, qr/^ok \d+ - after$/m, '  and runs the rest';
}

# The Dockerfile cannot be built here (no Docker engine): it must stay a
# thin layer over what the suite runs.  Both stages are the same Debian
# release (so the module's nginx ABI is the image's nginx), its build steps
# are scripts/deps and scripts/build-debs, and what the image runs is
# scripts/container-start with conf-examples/container.conf, which
# t/16-debian-packages.t runs on the installed packages.
subtest 'the Dockerfile runs only tested scripts' => sub {
    my $df = PfsS3::Stack->slurp("$ROOT/Dockerfile");
    my @from = $df =~ /^FROM (\S+)/mg;
    is scalar(@from), 2, 'two stages';
    is $from[0], $from[1], '  on one base image';
    my @run = map { s/\\\n\s*/ /gr } $df =~ /^RUN ((?:.*\\\n)*.*)$/mg;
    my @scripts = map { /\b(scripts\/[\w-]+)/g } @run;
    is_deeply \@scripts, ['scripts/deps', 'scripts/build-debs'],
        'the build runs scripts/deps and scripts/build-debs';
    like $df, qr{^COPY conf-examples/container\.conf /etc/nginx/conf\.d/s3\.conf$}m,
        'serves conf-examples/container.conf';
    like $df, qr{^COPY scripts/container-start (\S+)\n(?:.*\n)*CMD \["\1"\]}m,
        'runs scripts/container-start';
    my $t16 = PfsS3::Stack->slurp("$ROOT/t/16-debian-packages.t");
    like $t16, qr{\Q$_\E}, "t/16 runs $_"
        for 'scripts/build-debs', 'scripts/container-start',
            'conf-examples/container.conf';
};

done_testing;
