#!/usr/bin/perl
# Multipart uploads with S3's rules: CreateMultipartUpload, UploadPart,
# ListParts, ListMultipartUploads, CompleteMultipartUpload,
# AbortMultipartUpload; part numbers 1..10000, EntityTooSmall, InvalidPart,
# InvalidPartOrder, NoSuchUpload; a completed or aborted upload is gone; the
# object appears whole in one commit and a failed Complete leaves nothing;
# all state in PFS, so a second nginx in front of the same pfsd completes an
# upload the first one began.

use strict;
use warnings;
use lib 't/lib';
use PfsS3::Test;
use Digest::MD5 ();
use Digest::SHA ();
use MIME::Base64 ();
use IO::Socket::INET;

my $s = stack()->start;
make_bucket($s, 'mp');

my $MiB = 1024 * 1024;

sub complete_xml {
    return '<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
         . join('', map { "<Part><PartNumber>$_->[0]</PartNumber><ETag>$_->[1]</ETag></Part>" } @_)
         . '</CompleteMultipartUpload>';
}

sub complete {
    my ($key, $id, $parts, %o) = @_;
    return s3($o{stack} // $s, POST => "/mp/" . key_escape($key) . "?uploadId=$id",
              body => complete_xml(@$parts));
}

# S3's ETag of a multipart object: MD5 of the parts' MD5s, "-", the count
sub multipart_etag {
    my $md5s = join '', map { Digest::MD5::md5($_) } @_;
    return '"' . Digest::MD5::md5_hex($md5s) . '-' . scalar(@_) . '"';
}

my $p1 = 'a' x (5 * $MiB);
my $p2 = join '', map { chr(($_ * 13) % 256) } 0 .. (5 * $MiB + 99);
my $p3 = 'the last part may be small';

# ---------------------------------------------------------------- the whole way

subtest 'create, upload three parts, list them, complete' => sub {
    my $id = create_upload($s, 'mp', 'dir/big.bin');
    like $id // '', qr/^[0-9a-f]{32}$/, 'UploadId is 32 hex digits';

    my @etags;
    for ([1, $p1], [2, $p2], [3, $p3]) {
        my $r = upload_part($s, 'mp', 'dir/big.bin', $id, @$_);
        is $r->{status}, 200, "UploadPart $_->[0]" or diag $r->{content};
        is $r->{headers}{etag}, '"' . md5_hex($_->[1]) . '"', "part $_->[0]: ETag is its MD5";
        push @etags, $r->{headers}{etag};
    }

    # parts are listed in number order, with the sizes and ETags uploaded
    my $r = s3($s, GET => "/mp/dir/big.bin?uploadId=$id");
    is $r->{status}, 200, 'ListParts';
    is_deeply [xvals($r, '//s:Part/s:PartNumber')], [1, 2, 3], 'part numbers';
    is_deeply [xvals($r, '//s:Part/s:Size')], [length $p1, length $p2, length $p3], 'sizes';
    is_deeply [xvals($r, '//s:Part/s:ETag')], \@etags, 'ETags';
    is xval($r, '//s:UploadId'), $id, 'UploadId';
    is xval($r, '//s:IsTruncated'), 'false', 'not truncated';

    $r = s3($s, GET => "/mp/dir/big.bin?uploadId=$id&max-parts=2");
    is_deeply [xvals($r, '//s:Part/s:PartNumber')], [1, 2], 'max-parts=2: first page';
    is xval($r, '//s:IsTruncated'), 'true', 'truncated';
    is xval($r, '//s:NextPartNumberMarker'), 2, 'NextPartNumberMarker';
    $r = s3($s, GET => "/mp/dir/big.bin?uploadId=$id&max-parts=2&part-number-marker=2");
    is_deeply [xvals($r, '//s:Part/s:PartNumber')], [3], 'part-number-marker=2: the rest';
    is xval($r, '//s:IsTruncated'), 'false', 'not truncated';

    is s3($s, HEAD => '/mp/dir/big.bin')->{status}, 404, 'no object before Complete';
    my $before = head_commit($s, 'mp');

    $r = complete('dir/big.bin', $id, [[1, $etags[0]], [2, $etags[1]], [3, $etags[2]]]);
    is $r->{status}, 200, 'CompleteMultipartUpload' or diag $r->{content};
    my $etag = multipart_etag($p1, $p2, $p3);
    is xval($r, '/s:CompleteMultipartUploadResult/s:ETag'), $etag,
        'ETag in S3 multipart form: MD5 of the part MD5s, -3';
    is xval($r, '//s:Key'), 'dir/big.bin', 'Key';
    is xval($r, '//s:Bucket'), 'mp', 'Bucket';
    like xval($r, '//s:Location') // '', qr{^http://127\.0\.0\.1:\d+/mp/dir/big\.bin$}, 'Location';
    my $version = $r->{headers}{'x-amz-version-id'};
    like $version // '', qr/^[0-9a-f]{32}$/, 'x-amz-version-id';

    # one commit on the branch holds the whole object
    my $after = head_commit($s, 'mp');
    is $version, $after, 'the version is the new branch head';
    my $info = pfs_ok($s, InspectCommit => { commit => commit_ref('mp', 'master', $after) })
        ->{responses}[0];
    is $info->{parentCommit}{id} // $info->{parent_commit}{id}, $before,
        'exactly one commit was added to the branch';

    $r = s3($s, GET => '/mp/dir/big.bin');
    is $r->{status}, 200, 'GetObject';
    ok $r->{content} eq $p1 . $p2 . $p3, 'the bytes are the parts in order';
    is $r->{headers}{etag}, $etag, 'GetObject: the same ETag';
    is $r->{headers}{'content-length'}, length($p1 . $p2 . $p3), 'Content-Length';

    # a completed upload is gone
    is_s3_error(s3($s, GET => "/mp/dir/big.bin?uploadId=$id"), 404, 'NoSuchUpload', 'ListParts after Complete');
    is_s3_error(upload_part($s, 'mp', 'dir/big.bin', $id, 4, 'x'), 404, 'NoSuchUpload', 'UploadPart after Complete');
    is_s3_error(complete('dir/big.bin', $id, [[1, $etags[0]]]), 404, 'NoSuchUpload', 'Complete again');
    is_s3_error(s3($s, DELETE => "/mp/dir/big.bin?uploadId=$id"), 404, 'NoSuchUpload', 'Abort after Complete');
    is xcount(s3($s, GET => '/mp?uploads'), '//s:Upload'), 0, 'no upload listed';
};

subtest 'Complete of a subset of the parts, and overwriting an object' => sub {
    put_object($s, 'mp', 'ow', 'a small object that Complete replaces');
    my $id = create_upload($s, 'mp', 'ow');
    my @e = map { upload_part($s, 'mp', 'ow', $id, $_->[0], $_->[1])->{headers}{etag} } [1, $p1], [2, $p3], [5, $p2];
    # parts 1 and 5 only; unquoted ETags as some clients send them
    (my $e5 = $e[2]) =~ s/"//g;
    my $r = complete('ow', $id, [[1, $e[0]], [5, uc $e5]]);
    is $r->{status}, 200, 'Complete of parts 1 and 5' or diag $r->{content};
    ok s3($s, GET => '/mp/ow')->{content} eq $p1 . $p2, 'the object is parts 1 and 5, replacing the old one';
};

subtest 'one part' => sub {
    my $id = create_upload($s, 'mp', 'one');
    my $e = upload_part($s, 'mp', 'one', $id, 1, 'small single part')->{headers}{etag};
    my $r = complete('one', $id, [[1, $e]]);
    is $r->{status}, 200 or diag $r->{content};
    is xval($r, '//s:ETag'), '"' . md5_hex('small single part') . '"',
        'a one-part object keeps its MD5 as ETag';
    is s3($s, GET => '/mp/one')->{content}, 'small single part', 'bytes';
};

subtest 'a part uploaded again replaces the first' => sub {
    my $id = create_upload($s, 'mp', 'again');
    upload_part($s, 'mp', 'again', $id, 1, 'first');
    my $e = upload_part($s, 'mp', 'again', $id, 1, 'second')->{headers}{etag};
    my $r = s3($s, GET => "/mp/again?uploadId=$id");
    is_deeply [xvals($r, '//s:Part/s:Size')], [6], 'one part, the second body';
    is complete('again', $id, [[1, $e]])->{status}, 200, 'Complete';
    is s3($s, GET => '/mp/again')->{content}, 'second', 'bytes of the second upload';
};

# ---------------------------------------------------------------- rules

subtest 'part numbers 1..10000' => sub {
    my $id = create_upload($s, 'mp', 'numbers');
    for my $n (0, 10001, -1, 'x', '') {
        is_s3_error(upload_part($s, 'mp', 'numbers', $id, $n, 'x'), 400, 'InvalidArgument', "partNumber '$n'");
    }
    is upload_part($s, 'mp', 'numbers', $id, 10000, 'x')->{status}, 200, 'partNumber 10000';
    is upload_part($s, 'mp', 'numbers', $id, 1, 'x')->{status}, 200, 'partNumber 1';
    s3($s, DELETE => "/mp/numbers?uploadId=$id");
};

subtest 'Complete: EntityTooSmall, InvalidPart, InvalidPartOrder, MalformedXML' => sub {
    my $id = create_upload($s, 'mp', 'rules');
    my $small = upload_part($s, 'mp', 'rules', $id, 1, 'tiny')->{headers}{etag};
    my $big = upload_part($s, 'mp', 'rules', $id, 2, $p1)->{headers}{etag};
    my $last = upload_part($s, 'mp', 'rules', $id, 3, 'end')->{headers}{etag};
    my $before = head_commit($s, 'mp');

    is_s3_error(complete('rules', $id, [[1, $small], [2, $big]]), 400, 'EntityTooSmall',
                'a part below 5 MiB that is not the last');
    is_s3_error(complete('rules', $id, [[2, $big], [4, $last]]), 400, 'InvalidPart',
                'a part never uploaded');
    is_s3_error(complete('rules', $id, [[2, $big], [3, '"' . ('0' x 32) . '"']]), 400, 'InvalidPart',
                'a wrong ETag');
    is_s3_error(complete('rules', $id, [[3, $last], [2, $big]]), 400, 'InvalidPartOrder',
                'parts out of order');
    is_s3_error(complete('rules', $id, [[2, $big], [2, $big]]), 400, 'InvalidPartOrder',
                'a part twice');
    is_s3_error(complete('rules', $id, [[0, $big]]), 400, 'InvalidPart', 'part number 0');
    is_s3_error(s3($s, POST => "/mp/rules?uploadId=$id", body => '<CompleteMultipartUpload/>'),
                400, 'MalformedXML', 'no part');
    is_s3_error(s3($s, POST => "/mp/rules?uploadId=$id", body => '<Complete'),
                400, 'MalformedXML', 'not XML');
    is_s3_error(s3($s, POST => "/mp/rules?uploadId=$id", body => ''),
                400, 'MalformedXML', 'empty body');
    is_s3_error(s3($s, POST => "/mp/rules?uploadId=$id",
                   body => '<CompleteMultipartUpload><Part><PartNumber>2</PartNumber></Part></CompleteMultipartUpload>'),
                400, 'MalformedXML', 'a Part without ETag');
    is_s3_error(s3($s, POST => "/mp/rules?uploadId=$id",
                   body => '<!DOCTYPE x [<!ENTITY e "2">]><CompleteMultipartUpload><Part><PartNumber>&e;</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>'),
                400, 'MalformedXML', 'a DTD');

    is head_commit($s, 'mp'), $before, 'no refused Complete made a commit';
    is s3($s, HEAD => '/mp/rules')->{status}, 404, 'no object';

    # the upload survives refused Completes
    my $r = complete('rules', $id, [[2, $big], [3, $last]]);
    is $r->{status}, 200, 'a good Complete still works' or diag $r->{content};
    ok s3($s, GET => '/mp/rules')->{content} eq $p1 . 'end', 'bytes';
};

subtest 'a Complete whose client goes away leaves the object whole or absent' => sub {
    my $id = create_upload($s, 'mp', 'cut');
    my @e = map { upload_part($s, 'mp', 'cut', $id, $_, $_ == 3 ? $p3 : $p1)->{headers}{etag} } 1 .. 3;
    my $xml = complete_xml([1, $e[0]], [2, $e[1]], [3, $e[2]]);
    # the request, and the connection closed at once
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s->port)
        or die "connect: $!";
    print $sock "POST /mp/cut?uploadId=$id HTTP/1.1\r\nHost: x\r\n"
              . 'Content-Length: ' . length($xml) . "\r\n\r\n$xml";
    close $sock;
    # the state settles: either the upload was never completed, or the
    # whole object is there (and the upload gone); never part of it
    my $state = wait_until(sub {
        my $h = s3($s, HEAD => '/mp/cut');
        return 'complete' if $h->{status} == 200
            && s3($s, GET => "/mp/cut?uploadId=$id")->{status} == 404;
        return undef;
    }, 5) // 'not completed';
    note "after the client went away: $state";
    my $r = s3($s, GET => '/mp/cut');
    if ($r->{status} == 200) {
        ok $r->{content} eq $p1 . $p1 . $p3, 'the object is whole';
        # nginx ends the request when it sees the client gone: if that
        # came after the object's commit and before the upload's deletion
        # (the last call), the upload is still there, and the client's
        # retry of Complete finishes the job
        if (s3($s, GET => "/mp/cut?uploadId=$id")->{status} == 200) {
            note 'the upload outlived its Complete: completing it again';
            is complete('cut', $id, [[1, $e[0]], [2, $e[1]], [3, $e[2]]])->{status}, 200,
                'a repeated Complete succeeds';
            ok s3($s, GET => '/mp/cut')->{content} eq $p1 . $p1 . $p3, 'still whole';
        }
    } else {
        is $r->{status}, 404, 'no object at all';
        is complete('cut', $id, [[1, $e[0]], [2, $e[1]], [3, $e[2]]])->{status}, 200,
            'the upload can still be completed';
        ok s3($s, GET => '/mp/cut')->{content} eq $p1 . $p1 . $p3, 'whole';
    }
    is_s3_error(s3($s, GET => "/mp/cut?uploadId=$id"), 404, 'NoSuchUpload',
                'the upload is gone');
};

subtest 'UploadPart verifies Content-MD5, x-amz-content-sha256 and x-amz-checksum-* like PutObject' => sub {
    my $id = create_upload($s, 'mp', 'digest');
    is_s3_error(upload_part($s, 'mp', 'digest', $id, 1, 'body', headers => { 'Content-MD5' => md5_b64('other') }),
                400, 'BadDigest', 'Content-MD5 mismatch');
    is_s3_error(upload_part($s, 'mp', 'digest', $id, 1, 'body',
                     headers => { 'x-amz-content-sha256' => sha256_hex('other') }),
                400, 'XAmzContentSHA256Mismatch', 'x-amz-content-sha256 mismatch');
    my $r = s3($s, GET => "/mp/digest?uploadId=$id");
    is xcount($r, '//s:Part'), 0, 'no part was stored';
    # x-amz-checksum-sha256: verified, and given back as S3 does
    my $sha = MIME::Base64::encode_base64(Digest::SHA::sha256('body'), '');
    is_s3_error(upload_part($s, 'mp', 'digest', $id, 1, 'body', headers => { 'x-amz-checksum-sha256' =>
                     MIME::Base64::encode_base64(Digest::SHA::sha256('other'), '') }),
                400, 'BadDigest', 'x-amz-checksum-sha256 mismatch');
    my $r2 = upload_part($s, 'mp', 'digest', $id, 2, 'body', headers => { 'x-amz-checksum-sha256' => $sha });
    is $r2->{status}, 200, 'x-amz-checksum-sha256 right: stored';
    is $r2->{headers}{'x-amz-checksum-sha256'}, $sha, '... and answered';
    s3($s, DELETE => "/mp/digest?uploadId=$id");
    $id = create_upload($s, 'mp', 'digest');
    is upload_part($s, 'mp', 'digest', $id, 1, 'body', headers => { 'Content-MD5' => md5_b64('body'),
                                                  'x-amz-content-sha256' => sha256_hex('body') })
        ->{status}, 200, 'right digests: stored';
    s3($s, DELETE => "/mp/digest?uploadId=$id");
};

subtest 'NoSuchUpload' => sub {
    my $none = 'f' x 32;
    is_s3_error(upload_part($s, 'mp', 'k', $none, 1, 'x'), 404, 'NoSuchUpload', 'UploadPart, unknown id');
    is_s3_error(upload_part($s, 'mp', 'k', 'not-an-id', 1, 'x'), 404, 'NoSuchUpload', 'UploadPart, malformed id');
    is_s3_error(s3($s, GET => "/mp/k?uploadId=$none"), 404, 'NoSuchUpload', 'ListParts');
    is_s3_error(complete('k', $none, [[1, '"x"']]), 404, 'NoSuchUpload', 'Complete');
    is_s3_error(s3($s, DELETE => "/mp/k?uploadId=$none"), 404, 'NoSuchUpload', 'Abort');
    # an upload id belongs to its key
    my $id = create_upload($s, 'mp', 'mine');
    is_s3_error(upload_part($s, 'mp', 'other', $id, 1, 'x'), 404, 'NoSuchUpload', 'the id of another key');
    s3($s, DELETE => "/mp/mine?uploadId=$id");
};

subtest 'Abort' => sub {
    my $id = create_upload($s, 'mp', 'aborted');
    upload_part($s, 'mp', 'aborted', $id, 1, $p3);
    my $r = s3($s, DELETE => "/mp/aborted?uploadId=$id");
    is $r->{status}, 204, 'AbortMultipartUpload: 204';
    is_s3_error(s3($s, GET => "/mp/aborted?uploadId=$id"), 404, 'NoSuchUpload', 'gone');
    is_s3_error(upload_part($s, 'mp', 'aborted', $id, 2, 'x'), 404, 'NoSuchUpload', 'no more parts');
    is s3($s, HEAD => '/mp/aborted')->{status}, 404, 'no object';
};

subtest 'where uploads can begin' => sub {
    is_s3_error(s3($s, POST => '/nobucket/k?uploads'), 404, 'NoSuchBucket', 'a missing bucket');
    is_s3_error(s3($s, POST => '/mp/a*b?uploads'), 400, 'InvalidFilePath', 'a key PFS cannot hold');
    put_object($s, 'mp', 'd/file', 'x');
    is_s3_error(s3($s, POST => '/mp/d?uploads'), 400, 'InvalidFilePath', 'a key that is a directory');
    my $head = head_commit($s, 'mp');
    is_s3_error(s3($s, POST => "/$head.master.mp/k?uploads"), 405, 'MethodNotAllowed',
                'a bucket pinned to a commit');
};

subtest 'UploadPartCopy: a whole object by reference, ranges through a temporary file' => sub {
    my $src = join '', map { chr(($_ * 7 + 3) % 251) } 0 .. (12 * $MiB + 999);
    my $pr = put_object($s, 'mp', 'copy/src', $src);
    my $src_version = $pr->{headers}{'x-amz-version-id'};
    my $id = create_upload($s, 'mp', 'copy/dst');
    my $copy = sub {
        my ($n, %h) = @_;
        return s3($s, PUT => "/mp/copy/dst?partNumber=$n&uploadId=$id",
                  headers => { 'x-amz-copy-source' => '/mp/copy/src', %h });
    };

    my $r = $copy->(1);
    is $r->{status}, 200, 'UploadPartCopy of the whole object' or diag $r->{content};
    is xval($r, '/s:CopyPartResult/s:ETag'), '"' . md5_hex($src) . '"', 'CopyPartResult ETag';
    like xval($r, '/s:CopyPartResult/s:LastModified') // '', qr/^\d{4}-\d\d-\d\dT/, 'LastModified';
    is $r->{headers}{'x-amz-copy-source-version-id'}, $src_version, 'x-amz-copy-source-version-id';
    my $e1 = xval($r, '//s:ETag');

    my $cut = 5 * $MiB;
    $r = $copy->(2, 'x-amz-copy-source-range' => 'bytes=0-' . ($cut - 1));
    is $r->{status}, 200, 'a range from the start' or diag $r->{content};
    is xval($r, '//s:ETag'), '"' . md5_hex(substr($src, 0, $cut)) . '"', 'its ETag is the MD5 of the range';
    my $e2 = xval($r, '//s:ETag');
    $r = $copy->(3, 'x-amz-copy-source-range' => "bytes=$cut-" . (length($src) - 1));
    is $r->{status}, 200, 'a range to the end' or diag $r->{content};
    my $e3 = xval($r, '//s:ETag');
    $r = $copy->(4, 'x-amz-copy-source-range' => 'bytes=100-199');
    is xval($r, '//s:ETag'), '"' . md5_hex(substr($src, 100, 100)) . '"', 'a range in the middle';
    my $e4 = xval($r, '//s:ETag');

    $r = complete('copy/dst', $id, [[1, $e1], [2, $e2], [3, $e3], [4, $e4]]);
    is $r->{status}, 200, 'Complete of copied parts' or diag $r->{content};
    ok s3($s, GET => '/mp/copy/dst')->{content}
        eq $src . substr($src, 0, $cut) . substr($src, $cut) . substr($src, 100, 100),
        'the bytes of the copied parts';

    # errors
    $id = create_upload($s, 'mp', 'copy/err');
    my $err = sub {
        my ($n, %h) = @_;
        return s3($s, PUT => "/mp/copy/err?partNumber=$n&uploadId=$id",
                  headers => { 'x-amz-copy-source' => '/mp/copy/src', %h });
    };
    is_s3_error(s3($s, PUT => "/mp/copy/err?partNumber=1&uploadId=$id",
                   headers => { 'x-amz-copy-source' => '/mp/copy/none' }),
                404, 'NoSuchKey', 'a missing source');
    is_s3_error($err->(1, 'x-amz-copy-source-range' => 'bytes=0-' . length($src)),
                400, 'InvalidArgument', 'a range past the end of the source');
    is_s3_error($err->(1, 'x-amz-copy-source-if-match' => '"' . ('0' x 32) . '"'),
                412, 'PreconditionFailed', 'x-amz-copy-source-if-match');
    is_s3_error($err->(0), 400, 'InvalidArgument', 'part number 0');
    is_s3_error(s3($s, PUT => '/mp/copy/err?partNumber=1&uploadId=' . ('e' x 32),
                   headers => { 'x-amz-copy-source' => '/mp/copy/src' }),
                404, 'NoSuchUpload', 'an unknown upload');
    is xcount(s3($s, GET => "/mp/copy/err?uploadId=$id"), '//s:Part'), 0, 'no part was stored';
    s3($s, DELETE => "/mp/copy/err?uploadId=$id");
};

# ---------------------------------------------------------------- listing

subtest 'ListMultipartUploads' => sub {
    my %ids;
    for my $k ('list/a', 'list/b', 'list/b', 'list/sub/c', 'other') {
        push @{ $ids{$k} }, create_upload($s, 'mp', $k);
    }
    my $r = s3($s, GET => '/mp?uploads&prefix=list/');
    is $r->{status}, 200, 'ListMultipartUploads';
    is_deeply [xvals($r, '//s:Upload/s:Key')], ['list/a', 'list/b', 'list/b', 'list/sub/c'], 'keys under the prefix';
    my @b = sort @{ $ids{'list/b'} };
    is_deeply [xvals($r, '//s:Upload[s:Key="list/b"]/s:UploadId')], \@b, 'both uploads of list/b, by id';
    like xval($r, '//s:Upload/s:Initiated') // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'Initiated';

    $r = s3($s, GET => '/mp?uploads&prefix=list/&delimiter=/');
    is_deeply [xvals($r, '//s:Upload/s:Key')], ['list/a', 'list/b', 'list/b'], 'delimited: uploads';
    is_deeply [xvals($r, '//s:CommonPrefixes/s:Prefix')], ['list/sub/'], 'delimited: common prefix';

    # paging with key-marker and upload-id-marker
    my (@seen, $km, $um);
    for (1 .. 10) {
        my $q = '/mp?uploads&prefix=list/&max-uploads=1';
        $q .= "&key-marker=$km&upload-id-marker=$um" if defined $km;
        $r = s3($s, GET => $q);
        push @seen, map { [$_] } xvals($r, '//s:Upload/s:UploadId');
        last if xval($r, '//s:IsTruncated') eq 'false';
        ($km, $um) = (xval($r, '//s:NextKeyMarker'), xval($r, '//s:NextUploadIdMarker'));
    }
    is scalar(@seen), 4, 'four pages of one upload each';
    $r = s3($s, GET => '/mp?uploads&prefix=list/&key-marker=list/b');
    is_deeply [xvals($r, '//s:Upload/s:Key')], ['list/sub/c'], 'key-marker alone skips that key';

    is_s3_error(s3($s, GET => '/nobucket?uploads'), 404, 'NoSuchBucket', 'a missing bucket');
    my @aborts = map { my $k = $_; map { s3($s, DELETE => "/mp/$k?uploadId=$_")->{status} }
                                        @{ $ids{$k} } } sort keys %ids;
    is_deeply \@aborts, [(204) x 5], 'each Abort: 204';
    # (no earlier subtest leaves an upload behind either)
    is xcount(s3($s, GET => '/mp?uploads'), '//s:Upload'), 0, 'all aborted'
        or diag explain [xvals(s3($s, GET => '/mp?uploads'), '//s:Upload/s:Key')];
};

# ---------------------------------------------------------------- two gateways

subtest 'an upload begun through one nginx is completed through another' => sub {
    my $s2 = stack(no_pfsd => 1, pfsd_upstream => $s->pfsd_addr)->start;
    my $id = create_upload($s, 'mp', 'shared');
    my $e1 = upload_part($s, 'mp', 'shared', $id, 1, $p1)->{headers}{etag};
    my $e2 = upload_part($s2, 'mp', 'shared', $id, 2, $p3)->{headers}{etag};
    my $r = s3($s2, GET => "/mp/shared?uploadId=$id");
    is xcount($r, '//s:Part'), 2, 'the second nginx lists both parts';
    $r = complete('shared', $id, [[1, $e1], [2, $e2]], stack => $s2);
    is $r->{status}, 200, 'Complete through the second nginx' or diag $r->{content};
    ok s3($s, GET => '/mp/shared')->{content} eq $p1 . $p3, 'the first nginx reads the object';
    $s2->stop;
};

# ---------------------------------------------------------------- hostile

subtest 'a Complete document larger than any 10,000-part one' => sub {
    my $id = create_upload($s, 'mp', 'huge');
    my $xml = '<CompleteMultipartUpload>' . ('<!-- padding -->' x 200000) . '</CompleteMultipartUpload>';
    is_s3_error(s3($s, POST => "/mp/huge?uploadId=$id", body => $xml), 400, 'MalformedXML',
                'refused from its Content-Length');
    s3($s, DELETE => "/mp/huge?uploadId=$id");
};

unlike error_log_text($s), qr/\[(alert|emerg|crit)\]|exited on signal/, 'no alert in the error log';
$s->stop;
done_testing;
