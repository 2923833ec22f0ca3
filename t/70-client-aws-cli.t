#!/usr/bin/perl
# The aws CLI v2 (/usr/bin/aws) against the real stack, as a user runs it:
# its own config and credentials files (region us-east-1, path-style
# addressing), the README's examples (s3 mb / cp up and back / ls / rm),
# s3 sync, and s3api calls whose JSON output is checked field by field.
# Bytes are compared end to end.  Objects stay under the CLI's 8 MiB
# multipart threshold.

use strict;
use warnings;
use lib 't/lib';
use PfsS3::Test;
use File::Path qw(make_path);
use JSON::PP ();

my $ROOT = $PfsS3::Stack::ROOT;
my $AWS = '/usr/bin/aws';
skip_all_but_in_ci("$AWS missing") unless -x $AWS;
my $version = `$AWS --version 2>&1`;
skip_all_but_in_ci("$AWS is not the aws CLI v2: $version") unless $version =~ m{^aws-cli/2\.};

my $s = stack()->start;
my $ep = $s->endpoint;
my $dir = $s->dir . '/work';
make_path($dir);

sub write_file {
    my ($file, $data) = @_;
    open my $fh, '>:raw', $file or die "$file: $!";
    print $fh $data;
    close $fh;
}

sub read_file {
    my ($file) = @_;
    open my $fh, '<:raw', $file or return undef;
    local $/;
    return scalar <$fh>;
}

# The CLI as a user sets it up, nothing of the caller's AWS set-up.
aws_cli_env($s);

# aws(@args): runs the CLI in $dir; returns (exit status, stdout, stderr).
sub aws {
    my @args = @_;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        chdir $dir or die;
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', "$dir/.out" or die;
        open STDERR, '>', "$dir/.err" or die;
        exec $AWS, '--endpoint-url', $ep, @args or die "exec: $!";
    }
    waitpid $pid, 0;
    return ($? >> 8, read_file("$dir/.out") // '', read_file("$dir/.err") // '');
}

sub aws_ok {
    my ($name, @args) = @_;
    my ($rc, $out, $err) = aws(@args);
    ok $rc == 0, $name or diag "aws @args: exit $rc\n$err$out";
    return $out;
}

sub aws_json {
    my ($name, @args) = @_;
    my $out = aws_ok($name, @args);
    return eval { JSON::PP::decode_json($out) } || {};
}

# Pseudo-random bytes, the same on every run.
sub bytes_of {
    my ($n, $seed) = @_;
    my $x = $seed || 1;
    my $b = '';
    while (length $b < $n) {
        $x = ($x * 1103515245 + 12345) % 2**31;
        $b .= pack 'N', $x;
    }
    return substr $b, 0, $n;
}

# ---- the README's examples, as written (project "bar" made beforehand)
pfs_ok($s, 'CreateProject', { project => { name => 'bar' } });
my $csv = join '', map { "$_,name $_,$_.5\n" } 1 .. 5000;
write_file("$dir/myfile.csv", $csv);

my ($rc, $out, $err) = aws(qw(s3 mb s3://master.foo.bar));
is $rc, 0, 's3 mb s3://master.foo.bar' or diag $err;
like $out, qr{make_bucket: master\.foo\.bar}, 'mb says make_bucket';

($rc, $out, $err) = aws(qw(s3 cp myfile.csv s3://master.foo.bar));
is $rc, 0, 's3 cp myfile.csv s3://master.foo.bar' or diag $err;
like $out, qr{upload: \./myfile\.csv to s3://master\.foo\.bar/myfile\.csv}, 'cp reports the upload';

($rc, $out, $err) = aws(qw(s3 cp s3://master.foo.bar/myfile.csv back.csv));
is $rc, 0, 's3 cp s3://master.foo.bar/myfile.csv back.csv' or diag $err;
ok read_file("$dir/back.csv") eq $csv, 'the same bytes came back';

$out = aws_ok('s3 ls s3://master.foo.bar', qw(s3 ls s3://master.foo.bar));
like $out, qr{^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+${\ length $csv} myfile\.csv$}m,
    'ls shows the key with its size and date';

$out = aws_ok('s3 ls', qw(s3 ls));
like $out, qr{^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d master\.foo\.bar$}m, 'ls lists the bucket';

($rc, $out, $err) = aws(qw(s3 rm s3://master.foo.bar/myfile.csv));
is $rc, 0, 's3 rm' or diag $err;
like $out, qr{delete: s3://master\.foo\.bar/myfile\.csv}, 'rm reports the delete';
$out = aws_ok('s3 ls after rm', qw(s3 ls s3://master.foo.bar));
is $out, '', 'the bucket is empty again';

# The quick start's commands (project default, bucket master.data).
write_file("$dir/README.md", read_file("$ROOT/README.md"));
aws_ok('s3 mb s3://master.data', qw(s3 mb s3://master.data));
aws_ok('s3 cp README.md s3://master.data/', qw(s3 cp README.md s3://master.data/));
$out = aws_ok('s3 ls s3://master.data/', qw(s3 ls s3://master.data/));
like $out, qr{\s${\ -s "$ROOT/README.md"} README\.md$}m, 'README.md listed with its size';

# ---- bigger bytes, nested keys, sync both ways
my $big = bytes_of(7 * 1024 * 1024 + 11, 42);    # below the 8 MiB threshold
write_file("$dir/big.bin", $big);
aws_ok('cp 7 MiB up', qw(s3 cp big.bin s3://master.data/deep/er/big.bin));
aws_ok('cp 7 MiB down', qw(s3 cp s3://master.data/deep/er/big.bin big.back));
ok read_file("$dir/big.back") eq $big, '7 MiB: same bytes';

make_path("$dir/tree/a/b", "$dir/tree/c");
my %tree = ('a/one.txt' => "one\n", 'a/b/two.txt' => "two\n" x 1000,
            'c/three.bin' => bytes_of(300_000, 3), 'top.txt' => '', 'sp ace=eq,comma.txt' => 'odd name');
write_file("$dir/tree/$_", $tree{$_}) for keys %tree;
aws_ok('s3 sync up', qw(s3 sync tree s3://master.data/tree));
$out = aws_ok('s3 ls --recursive', qw(s3 ls --recursive s3://master.data/tree/));
my @keys = map { (split ' ', $_, 4)[3] } split /\n/, $out;
is_deeply [sort @keys], [sort map { "tree/$_" } keys %tree], 'every synced key listed once';
aws_ok('s3 sync down', qw(s3 sync s3://master.data/tree tree2));
is_deeply { map { $_ => read_file("$dir/tree2/$_") } keys %tree }, \%tree,
    'sync down: every file, same bytes';
($rc, $out, $err) = aws(qw(s3 sync tree s3://master.data/tree));
is $rc, 0, 'sync again';
is $out, '', 'sync again uploads nothing (sizes and times match)';
$out = aws_ok('s3 rm --recursive', qw(s3 rm --recursive s3://master.data/tree));
is scalar(() = $out =~ /^delete: /mg), scalar(keys %tree), 'rm --recursive deletes each key';
($rc, $out, $err) = aws(qw(s3 ls --recursive s3://master.data/tree/));
ok $rc == 1 && $out eq '', 'none left (ls finds nothing: exit 1)' or diag "$rc $out $err";

# ---- s3api
my $j = aws_json('s3api list-buckets', qw(s3api list-buckets));
is_deeply [sort map { $_->{Name} } @{ $j->{Buckets} || [] }],
    ['master.data.default', 'master.foo.bar'], 'list-buckets: both buckets, fully named';
like $j->{Owner}{ID} // '', qr/^\w+$/, 'list-buckets: an owner';

aws_ok('head-bucket', qw(s3api head-bucket --bucket master.data));
($rc, $out, $err) = aws(qw(s3api head-bucket --bucket master.nothere));
isnt $rc, 0, 'head-bucket of a missing bucket fails';
like $err, qr/\(404\)/, '... with 404';

$j = aws_json('get-bucket-location', qw(s3api get-bucket-location --bucket master.data));
ok exists $j->{LocationConstraint}, 'get-bucket-location answers a LocationConstraint';
$j = aws_json('get-bucket-versioning', qw(s3api get-bucket-versioning --bucket master.data));
is $j->{Status}, 'Enabled', 'versioning Enabled';

write_file("$dir/v1", "version one\n");
write_file("$dir/v2", "version two, longer\n");
my $put1 = aws_json('put-object', qw(s3api put-object --bucket master.data --key api/obj
    --body v1 --content-type text/plain));
is $put1->{ETag}, '"' . md5_hex("version one\n") . '"', 'put-object ETag = quoted MD5';
like $put1->{VersionId} // '', qr/^[0-9a-f]{32}$/, 'put-object VersionId is a commit id';
my $put2 = aws_json('put-object again', qw(s3api put-object --bucket master.data --key api/obj --body v2));
isnt $put2->{VersionId}, $put1->{VersionId}, 'an overwrite is a new version';

$j = aws_json('head-object', qw(s3api head-object --bucket master.data --key api/obj));
is $j->{ContentLength}, length "version two, longer\n", 'head-object ContentLength';
is $j->{ETag}, $put2->{ETag}, 'head-object ETag';
is $j->{VersionId}, $put2->{VersionId}, 'head-object VersionId';
like $j->{LastModified} // '', qr/\d{4}/, 'head-object LastModified';

$j = aws_json('get-object --range', qw(s3api get-object --bucket master.data --key api/obj
    --range bytes=8-10 part));
is read_file("$dir/part"), 'two', 'get-object --range bytes=8-10: those bytes';
is $j->{ContentRange}, 'bytes 8-10/20', 'ContentRange';
is $j->{ContentLength}, 3, 'ContentLength of the range';

aws_json('get-object --version-id', qw(s3api get-object --bucket master.data --key api/obj
    --version-id), $put1->{VersionId}, 'old');
is read_file("$dir/old"), "version one\n", 'get-object --version-id reads that version';

($rc, $out, $err) = aws(qw(s3api get-object --bucket master.data --key api/obj --if-none-match),
                        $put2->{ETag}, 'x');
isnt $rc, 0, 'get-object --if-none-match current ETag fails';
like $err, qr/\(304\)/, '... with 304 Not Modified';

($rc, $out, $err) = aws(qw(s3api get-object --bucket master.data --key api/nope x));
isnt $rc, 0, 'get-object of a missing key fails';
like $err, qr/\(NoSuchKey\)/, '... with NoSuchKey';

($rc, $out, $err) = aws(qw(s3api get-object --bucket master.data --key api/obj --range bytes=100-200 x));
like $err, qr/\(InvalidRange\)/, 'a range past the end: InvalidRange';

($rc, $out, $err) = aws(qw(s3api put-object --bucket master.data --key bad*key --body v1));
like $err, qr/\(InvalidFilePath\)/, 'a key PFS cannot store: InvalidFilePath';

# list-objects-v2: pages as the CLI asks for them
for my $i (1 .. 7) {
    aws_ok("put list/$i", qw(s3api put-object --bucket master.data --key), "list/k$i", '--body', 'v1');
}
$j = aws_json('list-objects-v2 max-keys 3', qw(s3api list-objects-v2 --bucket master.data
    --prefix list/ --max-keys 3 --no-paginate));
is_deeply [map { $_->{Key} } @{ $j->{Contents} }], [qw(list/k1 list/k2 list/k3)], 'first page';
is $j->{IsTruncated}, JSON::PP::true, 'IsTruncated';
ok length($j->{NextContinuationToken} // ''), 'NextContinuationToken';
is $j->{KeyCount}, 3, 'KeyCount';
my $j2 = aws_json('list-objects-v2 next page', qw(s3api list-objects-v2 --bucket master.data
    --prefix list/ --max-keys 3 --no-paginate --continuation-token), $j->{NextContinuationToken});
is_deeply [map { $_->{Key} } @{ $j2->{Contents} }], [qw(list/k4 list/k5 list/k6)], 'second page';
$j = aws_json('list-objects-v2 paginated by the CLI', qw(s3api list-objects-v2 --bucket master.data
    --prefix list/ --page-size 2));
is_deeply [map { $_->{Key} } @{ $j->{Contents} }], [map { "list/k$_" } 1 .. 7],
    'the CLI pages through all keys (page size 2)';
is $j->{Contents}[0]{Size}, 12, 'Size';
is $j->{Contents}[0]{ETag}, '"' . md5_hex("version one\n") . '"', 'ETag in the listing';
$j = aws_json('list-objects-v2 delimiter', qw(s3api list-objects-v2 --bucket master.data
    --delimiter /));
is_deeply [map { $_->{Prefix} } @{ $j->{CommonPrefixes} }], [qw(api/ deep/ list/)], 'CommonPrefixes';
is_deeply [map { $_->{Key} } @{ $j->{Contents} }], ['README.md'], 'top-level keys';
$j = aws_json('list-objects (v1)', qw(s3api list-objects --bucket master.data --prefix list/
    --max-keys 5 --no-paginate));
is scalar(@{ $j->{Contents} }), 5, 'list-objects v1: max-keys';
is $j->{IsTruncated}, JSON::PP::true, 'v1 IsTruncated';

aws_ok('delete-object', qw(s3api delete-object --bucket master.data --key api/obj));
($rc, $out, $err) = aws(qw(s3api head-object --bucket master.data --key api/obj));
like $err, qr/\(404\)/, 'head-object after delete: 404';
aws_ok('delete-object of a missing key succeeds', qw(s3api delete-object --bucket master.data --key api/obj));

# rb of a bucket that still holds objects fails, of an empty one works.
($rc, $out, $err) = aws(qw(s3 rb s3://master.data));
like $err, qr/BucketNotEmpty/, 'rb of a non-empty bucket: BucketNotEmpty';
aws_ok('rb of the empty bucket', qw(s3 rb s3://master.foo.bar));
$j = aws_json('list-buckets after rb', qw(s3api list-buckets));
is_deeply [map { $_->{Name} } @{ $j->{Buckets} }], ['master.data.default'], 'it is gone';

# The access log named what the CLI did.
my %ops = map { ($_->{op} // '') => 1 } access_log_lines($s);
ok $ops{$_}, "access log has $_" for qw(CreateBucket PutObject GetObject HeadObject
    ListObjectsV2 ListObjects DeleteObject ListBuckets HeadBucket DeleteBucket);

$s->stop;
done_testing;
