#!/usr/bin/perl
# DeleteObjects: POST /bucket?delete.  Every deletion of a request in one
# PFS commit; missing keys reported Deleted as S3 does; Quiet mode; per-key
# Errors; at most 1000 keys; Content-MD5 or x-amz-checksum-* required and
# verified before anything reaches PFS; malformed documents; directories
# left alone; and "aws s3 rm --recursive" end to end.

use strict;
use warnings;
use lib 't/lib';
use PfsS3::Test;
use Compress::Zlib ();
use MIME::Base64 qw(encode_base64);

my $s = stack()->start;
make_bucket($s, 'del');

sub commits {
    my ($bucket) = @_;
    my $r = pfs($s, ListCommit => { repo => repo_ref($bucket // 'del') });
    return scalar @{ $r->{responses} };
}

sub xml_escape {
    my ($v) = @_;
    $v =~ s/&/&amp;/g;
    $v =~ s/</&lt;/g;
    $v =~ s/>/&gt;/g;
    return $v;
}

sub doc {
    my ($keys, %o) = @_;
    my $x = '<?xml version="1.0" encoding="UTF-8"?>'
          . '<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">';
    $x .= '<Quiet>true</Quiet>' if $o{quiet};
    for my $k (@$keys) {
        my ($key, $ver) = ref $k ? @$k : ($k);
        $x .= '<Object><Key>' . xml_escape($key) . '</Key>';
        $x .= "<VersionId>$ver</VersionId>" if defined $ver;
        $x .= '</Object>';
    }
    return $x . '</Delete>';
}

sub post_delete {
    my ($body, %h) = @_;
    my $bucket = delete $h{bucket} // 'del';
    $h{'Content-MD5'} = md5_b64($body) unless exists $h{'Content-MD5'};
    delete $h{'Content-MD5'} unless defined $h{'Content-MD5'};
    return s3($s, POST => "/$bucket?delete", body => $body, headers => \%h);
}

sub exists_key { s3($s, HEAD => '/del/' . key_escape($_[0]))->{status} == 200 }

# The PFS calls of a response, from its access log line ("GlobFile:OK,...")
sub pfs_calls {
    my ($r) = @_;
    my $line = access_log_line($s, $r, 5);
    return $line ? $line->{pfs} // '' : '';
}

# CRC-32C and CRC-64/NVME, bit by bit, checked against their standard
# check values before they check the module
sub crc32c {
    my $c = 0xffffffff;
    for my $b (unpack 'C*', $_[0]) {
        $c ^= $b;
        $c = ($c >> 1) ^ (0x82f63b78 & -($c & 1)) for 1 .. 8;
        $c &= 0xffffffff;
    }
    return $c ^ 0xffffffff;
}

sub crc64nvme {
    use integer;
    no warnings 'portable';
    my $c = -1;
    for my $b (unpack 'C*', $_[0]) {
        $c ^= $b;
        for (1 .. 8) {
            my $low = $c & 1;
            $c = ($c >> 1) & 0x7fffffffffffffff;
            $c ^= 0x9a6c9329ac4bc9b5 if $low;
        }
    }
    return ~$c;
}

is sprintf('%08x', crc32c('123456789')), 'e3069283', 'CRC-32C check value';
is sprintf('%016x', crc64nvme('123456789')), 'ae8b14860a799888',
    'CRC-64/NVME check value';

subtest 'several keys, one commit, missing keys are Deleted' => sub {
    put_object($s, 'del', $_, "body of $_") for qw(a b/c d&e<f>.txt);
    my $before = commits();
    my $r = post_delete(doc([ 'a', 'b/c', 'd&e<f>.txt', 'missing' ]));
    is $r->{status}, 200 or diag $r->{content};
    is_deeply [ xvals($r, '/s:DeleteResult/s:Deleted/s:Key') ],
        [ 'a', 'b/c', 'd&e<f>.txt', 'missing' ], 'every key Deleted, in order';
    is xcount($r, '/s:DeleteResult/s:Error'), 0, 'no Error';
    ok !exists_key($_), "$_ is gone" for qw(a b/c d&e<f>.txt);
    is commits(), $before + 1, 'exactly one commit';

    put_object($s, 'del', 'twice', 'x');
    $before = commits();
    $r = post_delete(doc([ 'gone1', 'twice', 'gone2', 'twice' ]));
    is $r->{status}, 200 or diag $r->{content};
    is_deeply [ xvals($r, '/s:DeleteResult/s:Deleted/s:Key') ],
        [ 'gone1', 'twice', 'gone2', 'twice' ], 'a key given twice: Deleted twice';
    ok !exists_key('twice'), 'and gone';
    is commits(), $before + 1, 'existing and missing keys: exactly one commit';
};

subtest 'keys that are no objects make no commit' => sub {
    put_object($s, 'del', 'nd/inside', 'x');
    put_object($s, 'del', 'nd/sub/deeper', 'y');
    my $before = commits();
    for my $try (1 .. 2) {
        my $r = post_delete(doc([ 'nd', 'missing1', 'nd/sub', 'nd/missing2' ]));
        is $r->{status}, 200 or diag $r->{content};
        is_deeply [ xvals($r, '/s:DeleteResult/s:Deleted/s:Key') ],
            [ 'nd', 'missing1', 'nd/sub', 'nd/missing2' ],
            "try $try: every key Deleted, as S3 says";
        my $calls = pfs_calls($r);
        like $calls, qr/^GlobFile:/, "try $try: logged";
        unlike $calls, qr/ModifyFile/, "try $try: no ModifyFile";
    }
    is commits(), $before, 'missing keys and directory names: no commit';
    ok exists_key('nd/inside'), 'what is under a directory name stays';
    ok exists_key('nd/sub/deeper'), 'also deeper down';
};

subtest 'keys far apart: the glob stops, the rest is inspected' => sub {
    # 2 * 5 keys + 64 entries at most are globbed; 200 files lie between
    pfs_fill($s, 'del', 'master', 200, 'far/m/%04d');
    put_object($s, 'del', $_, 'x') for qw(far/a far/y/inside far/z);
    my @keys = qw(far/z far/x-missing far/y far/a far/b-missing);
    my $before = commits();
    my $r = post_delete(doc(\@keys));
    is $r->{status}, 200 or diag $r->{content};
    is_deeply [ xvals($r, '/s:DeleteResult/s:Deleted/s:Key') ], \@keys,
        'every key Deleted, in request order';
    like pfs_calls($r),
        qr/^GlobFile:CANCELLED,InspectFile:NOT_FOUND,InspectFile:OK,InspectFile:OK,ModifyFile:OK$/,
        'the glob was cut; the keys past it were inspected';
    is commits(), $before + 1, 'one commit';
    ok !exists_key($_), "$_ is gone" for qw(far/a far/z);
    ok exists_key('far/y/inside'), 'a directory past the cut stays';
    ok exists_key('far/m/0000'), 'files between the keys stay';
};

subtest 'Quiet mode reports only errors' => sub {
    put_object($s, 'del', $_, 'x') for qw(q1 q2);
    my $v = ('a' x 12) . '4' . ('b' x 19);
    my $r = post_delete(doc([ 'q1', [ 'q2', $v ], 'nope' ], quiet => 1));
    is $r->{status}, 200 or diag $r->{content};
    is xcount($r, '/s:DeleteResult/s:Deleted'), 0, 'no Deleted';
    is xcount($r, '/s:DeleteResult/s:Error'), 1, 'one Error';
    is xval($r, '/s:DeleteResult/s:Error/s:Key'), 'q2', 'for the versioned key';
    is xval($r, '/s:DeleteResult/s:Error/s:VersionId'), $v, 'its VersionId';
    is xval($r, '/s:DeleteResult/s:Error/s:Code'), 'NotImplemented',
        'a version cannot be deleted';
    ok !exists_key('q1'), 'q1 deleted';
    ok exists_key('q2'), 'q2 kept';
};

subtest 'keys that cannot be, empty keys, directories' => sub {
    put_object($s, 'del', 'dir/inside', 'x');
    my $before = commits();
    my $r = post_delete(doc([ 'a*b', 'tail/' ]));
    is $r->{status}, 200 or diag $r->{content};
    is_deeply [ xvals($r, '/s:DeleteResult/s:Deleted/s:Key') ],
        [ 'a*b', 'tail/' ], 'keys PFS cannot hold are Deleted';
    is commits(), $before, 'and make no commit';

    $r = post_delete(doc([ '', 'k' x 1025, 'dir' ]));
    is $r->{status}, 200 or diag $r->{content};
    is_deeply [ xvals($r, '/s:DeleteResult/s:Error/s:Code') ],
        [ 'UserKeyMustBeSpecified', 'KeyTooLongError' ], 'per-key errors';
    is_deeply [ xvals($r, '/s:DeleteResult/s:Deleted/s:Key') ], [ 'dir' ],
        'a directory name is Deleted (no such object)';
    ok exists_key('dir/inside'), 'and what is under it stays';
    is commits(), $before, 'and no commit is made';
};

subtest '1000 keys at most' => sub {
    pfs_fill($s, 'del', 'master', 1000, 'many/%04d');
    my @keys = map { sprintf 'many/%04d', $_ } 0 .. 999;
    my $r = post_delete(doc([ @keys, 'many/extra' ]));
    is_s3_error($r, 400, 'MalformedXML', '1001 keys');
    ok exists_key('many/0000'), 'nothing deleted';

    my $before = commits();
    $r = post_delete(doc(\@keys));
    is $r->{status}, 200 or diag $r->{content};
    is xcount($r, '/s:DeleteResult/s:Deleted'), 1000, '1000 Deleted';
    is commits(), $before + 1, 'in one commit';
    is pfs_calls($r), 'GlobFile:CANCELLED,ModifyFile:OK',
        'one glob for 1000 listed keys';
    my $l = s3($s, GET => '/del?list-type=2&prefix=many/');
    is xval($l, '/s:ListBucketResult/s:KeyCount'), 0, 'all gone';
};

subtest 'digests' => sub {
    put_object($s, 'del', 'dg', 'x');
    my $body = doc(['dg']);
    my $before = commits();

    is_s3_error(post_delete($body, 'Content-MD5' => undef), 400,
                'InvalidRequest', 'no Content-MD5 nor checksum');
    is_s3_error(post_delete($body, 'Content-MD5' => md5_b64('other')), 400,
                'BadDigest', 'a wrong Content-MD5');
    is_s3_error(post_delete($body, 'Content-MD5' => 'notbase64'), 400,
                'InvalidDigest', 'a malformed Content-MD5');
    is_s3_error(post_delete($body, 'Content-MD5' => undef,
                            'x-amz-checksum-crc32' => 'AAAAAA=='),
                400, 'BadDigest', 'a wrong x-amz-checksum-crc32');
    is_s3_error(post_delete($body, 'Content-MD5' => undef,
                            'x-amz-checksum-sha256' => 'short'),
                400, 'InvalidRequest', 'a malformed x-amz-checksum-sha256');
    is commits(), $before, 'nothing deleted';
    ok exists_key('dg'), 'the key is there';

    my %sums = (
        'x-amz-checksum-crc32' => pack('N', Compress::Zlib::crc32($body)),
        'x-amz-checksum-crc32c' => pack('N', crc32c($body)),
        'x-amz-checksum-crc64nvme' => pack('Q>', crc64nvme($body)),
        'x-amz-checksum-sha1' => Digest::SHA::sha1($body),
        'x-amz-checksum-sha256' => Digest::SHA::sha256($body),
    );
    for my $h (sort keys %sums) {
        put_object($s, 'del', 'dg', 'x');
        my $r = post_delete($body, 'Content-MD5' => undef,
                            $h => encode_base64($sums{$h}, ''));
        is $r->{status}, 200, "$h alone" or diag $r->{content};
        ok !exists_key('dg'), "$h: deleted";
    }
};

subtest 'malformed documents' => sub {
    put_object($s, 'del', 'mx', 'x');
    for my $c (
        [ 'not XML', 'this is not xml' ],
        [ 'another root', '<Remove><Object><Key>mx</Key></Object></Remove>' ],
        [ 'an Object without Key', '<Delete><Object><VersionId>1</VersionId></Object></Delete>' ],
        [ 'no Object', '<Delete><Quiet>true</Quiet></Delete>' ],
        [ 'an unknown element', '<Delete><Object><Key>mx</Key></Object><Bogus/></Delete>' ],
        [ 'a DOCTYPE', '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e "mx">]><Delete><Object><Key>&e;</Key></Object></Delete>' ],
        [ 'an empty body', '' ],
    ) {
        is_s3_error(post_delete($c->[1]), 400, 'MalformedXML', $c->[0]);
    }
    ok exists_key('mx'), 'nothing deleted';
};

subtest 'bucket errors' => sub {
    my $body = doc(['k']);
    is_s3_error(post_delete($body, bucket => 'nob.del'), 404, 'NoSuchBucket',
                'a missing branch');
    ok pfs($s, InspectBranch => { branch => branch_ref('del', 'nob') })->{code},
        'the branch was not created';
    is_s3_error(post_delete($body, bucket => 'nobucket'), 404, 'NoSuchBucket',
                'a missing repo');
    # a key PFS cannot hold sends nothing: the bucket is still checked
    my $none = doc(['bad/']);
    my $r = post_delete($none, bucket => 'nob.del');
    is_s3_error($r, 404, 'NoSuchBucket', 'no key can be a file, missing branch');
    is pfs_calls($r), 'InspectBranch:NOT_FOUND', 'checked by InspectBranch';
    $r = post_delete($none);
    is $r->{status}, 200, 'no key can be a file, existing bucket';
    is pfs_calls($r), 'InspectBranch:OK', 'one InspectBranch, no commit';
    my $c = pfs($s, InspectBranch => { branch => branch_ref('del') })
        ->{responses}[0]{head}{id};
    is_s3_error(post_delete($body, bucket => "$c.master.del"), 405,
                'MethodNotAllowed', 'a commit-pinned bucket is read-only');
};

SKIP: {
    my $AWS = '/usr/bin/aws';
    skip_but_in_ci("$AWS missing") unless -x $AWS;
    local %ENV = %ENV;
    my (undef, $ep) = aws_cli_env($s);
    my $dir = $s->dir . '/aws-cli';

    subtest 'aws s3 rm --recursive' => sub {
        pfs_fill($s, 'del', 'master', 1500, 'rm/%04d');
        put_object($s, 'del', 'keep/this', 'stays');
        my $out = `$AWS --endpoint-url $ep s3 rm --recursive s3://del/rm/ 2>&1`;
        is $?, 0, 'aws s3 rm exits 0' or diag substr($out, -2000);
        my $l = s3($s, GET => '/del?list-type=2&prefix=rm/');
        is xval($l, '/s:ListBucketResult/s:KeyCount'), 0, 'every key gone';
        ok exists_key('keep/this'), 'other keys stay';
        my @ops = grep { ($_->{op} // '') eq 'DeleteObjects' }
                  access_log_lines($s);
        ok @ops >= 2, 'done with DeleteObjects (' . scalar(@ops) . ' requests)';
    };
}

done_testing;
