#!/usr/bin/perl
# CopyObject: PUT with x-amz-copy-source, within and across buckets,
# branches and repos, from commit-pinned buckets and from versions; the
# x-amz-copy-source-if-* conditions; x-amz-metadata-directive and copies
# onto the object itself; the errors of a bad source or destination; a copy
# done by reference (no GetFile: no byte of the object passes through
# nginx); the aws CLI's "s3 cp s3://... s3://..." end to end.

use strict;
use warnings;
use lib 't/lib';
use PfsS3::Test;

my $s = stack()->start;
make_bucket($s, $_) for qw(src dst dev.src);

my $ISO = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

sub copy {
    my ($dst, $source, %h) = @_;
    return s3($s, PUT => $dst,
              headers => { 'x-amz-copy-source' => $source, %h });
}

sub body_of {
    my $r = s3($s, GET => $_[0]);
    return $r->{status} == 200 ? $r->{content} : "(status $r->{status})";
}

my $body = join '', map { chr(($_ * 13) % 256) } 0 .. 99_999;
my $put = put_object($s, 'src', 'dir/orig.bin', $body);
my $etag = $put->{headers}{etag};

subtest 'copy within a bucket' => sub {
    my $r = copy('/src/copy.bin', '/src/dir/orig.bin');
    is $r->{status}, 200 or diag $r->{content};
    is xval($r, '/s:CopyObjectResult/s:ETag'), $etag, 'ETag of the source';
    like xval($r, '/s:CopyObjectResult/s:LastModified') // '', $ISO,
        'LastModified';
    is $r->{headers}{'x-amz-version-id'}, head_commit($s, 'src'),
        'x-amz-version-id: the new commit at the branch head';
    is $r->{headers}{'x-amz-copy-source-version-id'},
        $put->{headers}{'x-amz-version-id'},
        'x-amz-copy-source-version-id: the commit the source was read at';
    ok body_of('/src/copy.bin') eq $body, 'the same bytes';
    is body_of('/src/dir/orig.bin'), $body, 'the source is untouched';

    my $l = access_log_line($s, $r) // {};
    is $l->{op}, 'CopyObject', 'logged as CopyObject';
    unlike $l->{pfs} // '', qr/GetFile/,
        'no GetFile: the bytes never pass through nginx';
    is scalar(() = ($l->{pfs} // '') =~ /ModifyFile:OK/g), 1,
        'one ModifyFile';
};

subtest 'the source without a leading slash, percent-encoded keys' => sub {
    my $key = 'sp ace&x=1%y.txt';
    put_object($s, 'src', $key, 'odd key');
    my $r = copy('/dst/' . key_escape('to ' . $key),
                 'src/' . key_escape($key));
    is $r->{status}, 200 or diag $r->{content};
    is body_of('/dst/' . key_escape('to ' . $key)), 'odd key', 'bytes';
};

subtest 'across buckets: another repo, another branch' => sub {
    my $r = copy('/dst/from-src', '/src/dir/orig.bin');
    is $r->{status}, 200 or diag $r->{content};
    ok body_of('/dst/from-src') eq $body, 'another repo';
    is $r->{headers}{'x-amz-version-id'}, head_commit($s, 'dst'),
        'the version is a commit of the destination repo';

    $r = copy('/dev.src/branch-copy', '/src/dir/orig.bin');
    is $r->{status}, 200 or diag $r->{content};
    ok body_of('/dev.src/branch-copy') eq $body, 'another branch';
    is s3($s, HEAD => '/src/branch-copy')->{status}, 404,
        'not on the source branch';
};

subtest 'another project' => sub {
    pfs_ok($s, CreateProject => { project => { name => 'proj' } });
    make_bucket($s, 'master.prepo.proj');
    my $r = copy('/master.prepo.proj/p', '/src/dir/orig.bin');
    is $r->{status}, 200 or diag $r->{content};
    ok body_of('/master.prepo.proj/p') eq $body, 'bytes';
    $r = copy('/src/back-from-proj', '/master.prepo.proj/p');
    is $r->{status}, 200 or diag $r->{content};
    ok body_of('/src/back-from-proj') eq $body, 'and back';
};

subtest 'from a version and from a commit-pinned bucket' => sub {
    my $v1 = put_object($s, 'src', 'ver', 'version one')->{headers}{'x-amz-version-id'};
    put_object($s, 'src', 'ver', 'version two, longer');

    my $r = copy('/dst/v1', "/src/ver?versionId=$v1");
    is $r->{status}, 200 or diag $r->{content};
    is body_of('/dst/v1'), 'version one', 'the old version';
    is $r->{headers}{'x-amz-copy-source-version-id'}, $v1,
        'x-amz-copy-source-version-id is the version asked for';

    $r = copy('/dst/pinned', "/$v1.master.src/ver");
    is $r->{status}, 200 or diag $r->{content};
    is body_of('/dst/pinned'), 'version one', 'the pinned commit';

    $r = copy('/src/ver', "/src/ver?versionId=$v1");
    is $r->{status}, 200, 'an old version onto its own key (a restore)'
        or diag $r->{content};
    is body_of('/src/ver'), 'version one', 'restored';

    $r = copy('/dst/x', '/src/ver?versionId=' . ('a' x 12) . '4' . ('b' x 19));
    is_s3_error($r, 404, 'NoSuchVersion', 'a version that is no commit');
    $r = copy('/dst/x', '/src/ver?versionId=nope');
    is_s3_error($r, 400, 'InvalidArgument', 'a malformed version id');
    $r = copy('/dst/x', '/src/ver?partNumber=1');
    is_s3_error($r, 400, 'InvalidArgument', 'another query in the source');
    is s3($s, HEAD => '/dst/x')->{status}, 404, 'nothing was written';
};

subtest 'a commit-pinned destination is read-only' => sub {
    my $c = head_commit($s, 'dst');
    my $r = copy("/$c.master.dst/nope", '/src/dir/orig.bin');
    is_s3_error($r, 405, 'MethodNotAllowed', 'refused');
    is head_commit($s, 'dst'), $c, 'no commit';
};

subtest 'x-amz-copy-source-if-* conditions' => sub {
    my $future = 'Fri, 01 Jan 2100 00:00:00 GMT';
    my $past = 'Thu, 01 Jan 1998 00:00:00 GMT';
    my @cases = (
        [ 200, 'if-match: equal', 'x-amz-copy-source-if-match' => $etag ],
        [ 200, 'if-match: *', 'x-amz-copy-source-if-match' => '*' ],
        [ 412, 'if-match: other', 'x-amz-copy-source-if-match' => '"0000"' ],
        [ 412, 'if-none-match: equal',
          'x-amz-copy-source-if-none-match' => $etag ],
        [ 200, 'if-none-match: other',
          'x-amz-copy-source-if-none-match' => '"0000"' ],
        [ 412, 'if-modified-since: the future',
          'x-amz-copy-source-if-modified-since' => $future ],
        [ 200, 'if-modified-since: the past',
          'x-amz-copy-source-if-modified-since' => $past ],
        [ 412, 'if-unmodified-since: the past',
          'x-amz-copy-source-if-unmodified-since' => $past ],
        [ 200, 'if-unmodified-since: the future',
          'x-amz-copy-source-if-unmodified-since' => $future ],
        [ 200, 'if-match true wins over if-unmodified-since false',
          'x-amz-copy-source-if-match' => $etag,
          'x-amz-copy-source-if-unmodified-since' => $past ],
        [ 412, 'if-none-match false wins over if-modified-since true',
          'x-amz-copy-source-if-none-match' => $etag,
          'x-amz-copy-source-if-modified-since' => $past ],
    );
    for my $c (@cases) {
        my ($status, $name, %h) = @$c;
        s3($s, DELETE => '/dst/cond');
        my $r = copy('/dst/cond', '/src/dir/orig.bin', %h);
        if ($status == 412) {
            is_s3_error($r, 412, 'PreconditionFailed', $name);
            is s3($s, HEAD => '/dst/cond')->{status}, 404,
                "$name: nothing copied";
        } else {
            is $r->{status}, 200, $name or diag $r->{content};
            is s3($s, HEAD => '/dst/cond')->{headers}{etag}, $etag,
                "$name: copied";
        }
    }
};

subtest 'metadata directive and copies onto the object itself' => sub {
    my $r = copy('/src/dir/orig.bin', '/src/dir/orig.bin');
    is_s3_error($r, 400, 'InvalidRequest', 'onto itself without REPLACE');

    my $before = head_commit($s, 'src');
    $r = copy('/src/dir/orig.bin', '/src/dir/orig.bin',
              'x-amz-metadata-directive' => 'REPLACE',
              'Content-Type' => 'text/plain', 'x-amz-meta-a' => 'b');
    is $r->{status}, 200, 'onto itself with REPLACE' or diag $r->{content};
    my $v = $r->{headers}{'x-amz-version-id'};
    isnt $v, $before, 'a new version';
    is $v, head_commit($s, 'src'), 'the new head';
    is xval($r, '/s:CopyObjectResult/s:ETag'), $etag, 'the same ETag';
    ok body_of('/src/dir/orig.bin') eq $body, 'the same bytes';

    $r = copy('/dst/meta', '/src/dir/orig.bin',
              'x-amz-metadata-directive' => 'COPY');
    is $r->{status}, 200, 'COPY' or diag $r->{content};
    $r = copy('/dst/meta', '/src/dir/orig.bin',
              'x-amz-metadata-directive' => 'MOVE');
    is_s3_error($r, 400, 'InvalidArgument', 'an unknown directive');
};

subtest 'bad sources and destinations' => sub {
    my $c = head_commit($s, 'dst');
    my @bad = (
        [ 400, 'InvalidArgument', 'no key', '/src' ],
        [ 400, 'InvalidArgument', 'an empty key', '/src/' ],
        [ 400, 'InvalidArgument', 'nothing', '' ],
        [ 400, 'InvalidArgument', 'a bad escape', '/src/a%zz' ],
        [ 400, 'InvalidBucketName', 'a bucket that is no branch',
          '/a.b.c.d.e/k' ],
        [ 404, 'NoSuchBucket', 'a missing bucket', '/nobucket/k' ],
        [ 404, 'NoSuchBucket', 'a missing branch', '/nob.src/k' ],
        [ 404, 'NoSuchKey', 'a missing key', '/src/nokey' ],
        [ 404, 'NoSuchKey', 'a directory', '/src/dir' ],
        [ 404, 'NoSuchKey', 'a key PFS cannot hold', '/src/a*b' ],
        [ 400, 'KeyTooLongError', 'a key too long', '/src/' . ('k' x 1025) ],
    );
    for my $b (@bad) {
        my ($status, $code, $name, $source) = @$b;
        is_s3_error(copy('/dst/bad', $source), $status, $code, $name);
    }
    is head_commit($s, 'dst'), $c, 'no commit in the destination';

    is_s3_error(copy('/nob.dst/k', '/src/dir/orig.bin'), 404,
                'NoSuchBucket', 'a missing destination branch');
    my $b = pfs($s, InspectBranch => { branch => branch_ref('dst', 'nob') });
    ok $b->{code}, 'the branch was not created';
    is_s3_error(copy('/src/dir', '/src/copy.bin'), 400, 'InvalidFilePath',
                'a destination that is a directory');
    ok body_of('/src/dir/orig.bin') eq $body, 'the directory is intact';
    is_s3_error(copy('/dst/a*b', '/src/copy.bin'), 400, 'InvalidFilePath',
                'a destination key PFS cannot hold');
};

subtest 'a big object is copied by reference' => sub {
    my $big = 'x' x (24 * 1024 * 1024);
    put_object($s, 'src', 'big', $big);
    my $r = copy('/dst/big', '/src/big');
    is $r->{status}, 200 or diag $r->{content};
    my $l = access_log_line($s, $r) // {};
    like $l->{pfs} // '', qr/ModifyFile:OK/, 'logged with its ModifyFile';
    unlike $l->{pfs} // '', qr/GetFile/, 'no GetFile';
    is s3($s, HEAD => '/dst/big')->{headers}{'content-length'}, length $big,
        'the whole size';
    is s3($s, HEAD => '/dst/big')->{headers}{etag}, '"' . md5_hex($big) . '"',
        'its ETag';
};

SKIP: {
    my $AWS = '/usr/bin/aws';
    skip_but_in_ci("$AWS missing") unless -x $AWS;
    local %ENV = %ENV;
    my (undef, $ep) = aws_cli_env($s);
    my $dir = $s->dir . '/aws-cli';

    subtest 'aws s3 cp s3://... s3://...' => sub {
        my $out = `$AWS --endpoint-url $ep s3 cp s3://src/dir/orig.bin s3://dst/by-cli/copied.bin 2>&1`;
        is $?, 0, 'aws s3 cp exits 0' or diag $out;
        ok body_of('/dst/by-cli/copied.bin') eq $body, 'the same bytes';
        my $l = (grep { ($_->{op} // '') eq 'CopyObject' } access_log_lines($s))[-1];
        is $l->{key}, 'by-cli/copied.bin', 'done with CopyObject';
    };
}

done_testing;
