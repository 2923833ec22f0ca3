#!/usr/bin/perl
# Hostile requests beyond t/13-hostile.t: keys that try to leave their
# bucket, every control byte in a key and a prefix, enormous URLs, headers
# and keys, malformed ranges, 10,000-part CompleteMultipartUploads (no such
# upload; a real upload missing 9,999 of them, which stays completable), odd
# max-keys, writes to a commit.  Each gets an S3 error (or nginx's own 4xx
# for what never reaches the module), never a 5xx, never another bucket's
# data, and the worker that served it is still the same process.

use strict;
use warnings;
use lib 't/lib';
use PfsS3::Test;

my $s = stack()->start;
make_bucket($s, 'pub');
make_bucket($s, 'secret');
put_object($s, 'secret', 'pw', 'TOP-SECRET');
put_object($s, 'pub', 'obj', 'public');
my @workers = worker_pids($s);

sub not_5xx {
    my ($r, $name) = @_;
    ok $r->{status} && $r->{status} < 500, "$name: $r->{status}"
        or diag substr($r->{content} // '', 0, 300);
}

# ---------------------------------------------------------------- traversal

for my $t ('/pub/..%2Fsecret%2Fpw', '/pub/%2E%2E/secret/pw', '/pub/../secret/pw',
           '/pub/x/../../secret/pw', '/pub/..%5Csecret%5Cpw', '/pub/%2e%2e%2fsecret/pw',
           '/pub/.%2E/secret/pw', '/pub//../secret/pw', '/pub/%2F..%2Fsecret%2Fpw',
           '/pub/..%252Fsecret%252Fpw', '/pub/obj/../../secret/pw')
{
    for my $m ('GET', 'HEAD') {
        my $r = s3($s, $m => $t);
        not_5xx($r, "$m $t");
        unlike $r->{content}, qr/TOP-SECRET/, "$m $t: not the other bucket's object";
        isnt $r->{status}, 200, "$m $t: not found";
    }
    my $r = s3($s, PUT => $t, body => 'overwritten');
    not_5xx($r, "PUT $t");
    # "%25" is a literal "%" and "\\" an ordinary character: those keys
    # are ordinary keys of bucket pub (one element "..\\secret\\pw")
    isnt $r->{status}, 200, "PUT $t: refused" unless $t =~ /%25|%5C/;
}
is s3($s, GET => '/secret/pw')->{content}, 'TOP-SECRET', 'the other bucket is untouched';

# ---------------------------------------------------------------- control bytes

subtest 'NUL and every other control byte in a key and in a prefix' => sub {
    # NUL: nginx refuses %00 in a path itself (400) before the module
    for my $m ('PUT', 'GET', 'HEAD', 'DELETE') {
        my $r = s3($s, $m => '/pub/ctl%00key', $m eq 'PUT' ? (body => 'x') : ());
        is $r->{status}, 400, "$m of a key with a NUL: 400";
    }
    is s3($s, GET => '/pub?list-type=2&prefix=ctl')->{content} =~ /<Key>/ ? 1 : 0, 0,
        'no key with a NUL was stored';
    for my $c (1 .. 31, 127) {
        my $k = sprintf 'ctl%%%02Xkey', $c;
        my $r = s3($s, PUT => "/pub/$k", body => 'x');
        is_s3_error($r, 400, 'InvalidFilePath', "PUT key with byte $c")
            if $r->{status} != 400 || ($r->{content} !~ /InvalidURI/);
        $r = s3($s, GET => "/pub/$k");
        ok $r->{status} == 404 || $r->{status} == 400, "GET key with byte $c: $r->{status}";
        ok defined xml_doc($r), "GET key with byte $c: a well-formed error document";
        $r = s3($s, GET => "/pub?list-type=2&prefix=$k");
        is $r->{status}, 200, "listing with byte $c in the prefix: 200";
        ok defined xml_doc($r), '... as a well-formed document';
    }
};

# ---------------------------------------------------------------- sizes

subtest 'enormous URLs, headers and keys' => sub {
    not_5xx(s3($s, GET => '/pub/' . ('a' x 9000)), '9000-byte URL');
    not_5xx(s3($s, GET => '/pub/' . ('a/' x 20000)), '40000-byte URL');
    not_5xx(s3($s, GET => '/' . ('b' x 5000)), '5000-byte bucket name');
    not_5xx(s3($s, GET => '/pub/obj', headers => { 'x-amz-meta-big' => 'v' x 65536 }),
            '64 KiB header');
    not_5xx(raw_request($s, 'GET', '/pub/obj', [ map { ("x-h$_" => 'v') } 1 .. 2000 ]),
            '2000 headers');
    my $k1024 = 'k' x 1024;
    is s3($s, PUT => "/pub/$k1024", body => 'long')->{status}, 200, 'a 1024-byte key is stored';
    is s3($s, GET => "/pub/$k1024")->{content}, 'long', 'and reads back';
    is_s3_error(s3($s, PUT => '/pub/' . ('k' x 1025), body => 'x'), 400, 'KeyTooLongError',
                'a 1025-byte key');
    is_s3_error(s3($s, PUT => '/pub/' . ('%C3%A9' x 513), body => 'x'), 400, 'KeyTooLongError',
                'a key of 1026 UTF-8 bytes (513 characters)');
};

# ---------------------------------------------------------------- ranges

subtest 'malformed ranges' => sub {
    for my $range ('bytes=', 'bytes=-', 'bytes=a-b', 'bytes=5-1', 'bytes=--1', 'items=0-1',
                   'bytes=0-1,2-3', 'bytes= 0-1', 'bytes=0-1 ', 'bytes=1-2-3', 'bytes=0x1-2',
                   'bytes=-0', 'bytes=6-', "bytes=0-1\x01", 'bytes=' . ('1' x 300) . '-',
                   'bytes=0-' . ('0' x 300) . '1')
    {
        my $r = raw_request($s, GET => '/pub/obj', [ Range => $range ]);
        $r->{content} //= '';
        ok $r->{status} =~ /^(200|206|416)$/, "Range '$range': $r->{status}";
        if ($r->{status} == 200) {
            is $r->{content}, 'public', '... the whole object';
        } elsif ($r->{status} == 206) {
            my ($a, $b, $n) = ($r->{headers}{'content-range'} // '') =~ m{^bytes (\d+)-(\d+)/(\d+)$};
            ok defined $n && $n == 6 && $a <= $b && $b < 6, '... a range inside the object';
            is $r->{content}, substr('public', $a // 0, ($b // 0) - ($a // 0) + 1),
                '... with those bytes';
        } else {
            is xval($r, '/Error/Code'), 'InvalidRange', '... InvalidRange';
        }
    }
};

# ---------------------------------------------------------------- multipart

subtest 'a 10,000-part CompleteMultipartUpload' => sub {
    my $list = sub {
        '<CompleteMultipartUpload>'
        . join('', map { "<Part><PartNumber>$_</PartNumber><ETag>\"" . ($_[0] // ('0' x 32))
                         . "\"</ETag></Part>" } 1 .. 10000)
        . '</CompleteMultipartUpload>';
    };
    my $xml = $list->();
    my $r = s3($s, POST => '/pub/mp?uploadId=' . ('0' x 32), body => $xml);
    is_s3_error($r, 404, 'NoSuchUpload', 'for an upload that does not exist: NoSuchUpload ('
                . length($xml) . ' bytes)');

    # a real upload with one part (of 5 MiB: it need not be the last): the
    # other 9,999 listed parts do not exist
    my $part = join '', map { pack 'N', $_ } 1 .. 1310720;
    $r = s3($s, POST => '/pub/mp?uploads');
    my $id = xval($r, '/s:InitiateMultipartUploadResult/s:UploadId');
    ok $id, 'an upload is created';
    $r = s3($s, PUT => "/pub/mp?partNumber=1&uploadId=$id", body => $part);
    my ($md5) = ($r->{headers}{etag} // '') =~ /^"(\w+)"$/;
    $r = s3($s, POST => "/pub/mp?uploadId=$id", body => $list->($md5));
    is_s3_error($r, 400, 'InvalidPart', 'listing 10,000 parts of which one was uploaded');
    is s3($s, HEAD => '/pub/mp')->{status}, 404, 'no object';

    # 10,001 parts and a part number past 10,000
    (my $more = $list->($md5)) =~ s{</CompleteMultipartUpload>}
        {<Part><PartNumber>10001</PartNumber><ETag>"$md5"</ETag></Part></CompleteMultipartUpload>};
    $r = s3($s, POST => "/pub/mp?uploadId=$id", body => $more);
    ok $r->{status} == 400 && xval($r, '/Error/Code'), 'a part 10,001: 400 '
        . (xval($r, '/Error/Code') // '');

    # the upload is still whole: completed with its one part
    $r = s3($s, POST => "/pub/mp?uploadId=$id", body => '<CompleteMultipartUpload><Part>'
            . "<PartNumber>1</PartNumber><ETag>\"$md5\"</ETag></Part></CompleteMultipartUpload>");
    is $r->{status}, 200, 'the upload still completes with the part it has';
    ok s3($s, GET => '/pub/mp')->{content} eq $part, 'into the object';
};

# ---------------------------------------------------------------- listing

for my $mk ('-1', '0', '2147483648', '-99999999999999999999', '', '1%00') {
    my $r = s3($s, GET => "/pub?list-type=2&max-keys=$mk");
    ok $r->{status} == 200 || ($r->{status} == 400 && xval($r, '/Error/Code')),
        "max-keys '$mk': $r->{status}";
}

# ---------------------------------------------------------------- commit buckets

subtest 'writes to a bucket pinned to a commit' => sub {
    my $head = pfs_ok($s, 'InspectBranch', { branch => branch_ref('pub') })
        ->{responses}[0]{head}{id};
    my $cb = "$head.master.pub";
    is_s3_error(s3($s, PUT => "/$cb/obj", body => 'x'), 405, 'MethodNotAllowed', 'PutObject');
    is_s3_error(s3($s, DELETE => "/$cb/obj"), 405, 'MethodNotAllowed', 'DeleteObject');
    is_s3_error(s3($s, POST => "/$cb?delete",
                   body => '<Delete><Object><Key>obj</Key></Object></Delete>',
                   headers => { 'Content-MD5' => md5_b64('<Delete><Object><Key>obj</Key></Object></Delete>') }),
                405, 'MethodNotAllowed', 'DeleteObjects');
    is_s3_error(s3($s, PUT => "/$cb/copy", headers => { 'x-amz-copy-source' => '/pub/obj' }),
                405, 'MethodNotAllowed', 'CopyObject into it');
    is_s3_error(s3($s, POST => "/$cb/mp?uploads"), 405, 'MethodNotAllowed',
                'CreateMultipartUpload');
    is_s3_error(s3($s, PUT => "/$cb?versioning",
                   body => '<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>'),
                405, 'MethodNotAllowed', 'PutBucketVersioning');
    is s3($s, GET => "/$cb/obj")->{content}, 'public', 'reads work';
    is pfs_ok($s, 'InspectBranch', { branch => branch_ref('pub') })->{responses}[0]{head}{id},
        $head, 'no commit was made';
};

is_deeply [worker_pids($s)], \@workers, 'the same worker served everything (no crash)';
unlike error_log_text($s), qr/\[(alert|emerg|crit)\]|exited on signal/, 'no alert in the error log';
$s->stop;
done_testing;
