#!/usr/bin/perl
# PutObject, GetObject, HeadObject, DeleteObject: bytes and headers as a
# client checks them, overwrite semantics (PFS appends unless told
# otherwise), empty objects, Content-MD5 and x-amz-content-sha256 verified
# before anything is committed, Expect: 100-continue, broken uploads, keys
# with unusual characters, and keys PFS cannot hold.

use strict;
use warnings;
use lib 't/lib';
use PfsS3::Test;
use IO::Socket::INET;
use Time::HiRes qw(sleep);

my $s = stack()->start;
make_bucket($s, 'ob');

my $RFC1123 = qr/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$/;
my $EMPTY_MD5 = 'd41d8cd98f00b204e9800998ecf8427e';

sub get_body { my $r = s3($s, GET => '/ob/' . key_escape($_[0])); return $r->{status} == 200 ? $r->{content} : undef }

# ---------------------------------------------------------------- basics

subtest 'PutObject then GetObject and HeadObject' => sub {
    my $body = join '', map { chr(($_ * 7) % 256) } 0 .. 9999;
    my $r = s3($s, PUT => '/ob/dir/file.bin', body => $body);
    is $r->{status}, 200 or diag $r->{content};
    is $r->{headers}{etag}, '"' . md5_hex($body) . '"', 'ETag is the quoted MD5';
    my $ver = $r->{headers}{'x-amz-version-id'};
    like $ver // '', qr/^[0-9a-f]{32}$/, 'x-amz-version-id';
    is $ver, head_commit($s, 'ob'), 'the version is the commit now at the branch head';
    is $r->{content}, '', 'no body';

    $r = s3($s, GET => '/ob/dir/file.bin');
    is $r->{status}, 200;
    ok $r->{content} eq $body, 'the same bytes';
    is $r->{headers}{'content-length'}, 10000, 'Content-Length';
    is $r->{headers}{etag}, '"' . md5_hex($body) . '"', 'ETag';
    like $r->{headers}{'last-modified'} // '', $RFC1123, 'Last-Modified';
    is $r->{headers}{'accept-ranges'}, 'bytes', 'Accept-Ranges';
    is $r->{headers}{'x-amz-version-id'}, $ver, 'x-amz-version-id';
    ok $r->{rid}, 'x-amz-request-id';
    ok $r->{headers}{'content-type'}, 'a Content-Type';

    my $h = s3($s, HEAD => '/ob/dir/file.bin');
    is $h->{status}, 200, 'HEAD';
    is $h->{content}, '', 'no body';
    is $h->{headers}{$_}, $r->{headers}{$_}, "HEAD $_ as GET"
        for qw(content-length etag last-modified accept-ranges x-amz-version-id);
};

subtest 'overwrite replaces, never appends' => sub {
    put_object($s, 'ob', 'ow', 'a long first version of the object');
    put_object($s, 'ob', 'ow', 'short');
    is get_body('ow'), 'short', 'only the new bytes';
    is s3($s, HEAD => '/ob/ow')->{headers}{'content-length'}, 5, 'size';
    put_object($s, 'ob', 'ow', 'short');
    is get_body('ow'), 'short', 'the same content again';
};

subtest 'empty objects' => sub {
    my $r = s3($s, PUT => '/ob/empty', body => '');
    is $r->{status}, 200 or diag $r->{content};
    is $r->{headers}{etag}, qq{"$EMPTY_MD5"}, 'ETag of nothing';
    $r = s3($s, GET => '/ob/empty');
    is $r->{status}, 200;
    is $r->{headers}{'content-length'}, 0, 'Content-Length 0';
    is $r->{content}, '', 'no bytes';
    $r = s3($s, HEAD => '/ob/empty');
    is $r->{headers}{'content-length'}, 0, 'HEAD: 0';

    put_object($s, 'ob', 'to-empty', 'something');
    put_object($s, 'ob', 'to-empty', '');
    is get_body('to-empty'), '', 'overwritten by an empty object';
    is s3($s, HEAD => '/ob/to-empty')->{headers}{etag}, qq{"$EMPTY_MD5"}, 'ETag';
};

subtest 'bodies larger than the piece size and than memory buffers' => sub {
    my $big = join '', map { pack('N', $_) x 64 } 0 .. 40959;   # 10 MiB
    my $r = s3($s, PUT => '/ob/ten-mib', body => $big,
               headers => { 'content-md5' => md5_b64($big) });
    is $r->{status}, 200 or diag $r->{content};
    is $r->{headers}{etag}, '"' . md5_hex($big) . '"', 'ETag';
    $r = s3($s, GET => '/ob/ten-mib');
    is length($r->{content}), length($big), 'length';
    ok $r->{content} eq $big, 'bytes';
};

subtest 'a small pfs_s3_piece_size' => sub {
    my $s2 = stack(location => 'pfs_s3_piece_size 4k;')->start;
    make_bucket($s2, 'p');
    my $body = join '', map { sprintf "%07d\n", $_ } 0 .. 12799;    # 100 KiB
    my $r = s3($s2, PUT => '/p/k', body => $body);
    is $r->{status}, 200 or diag $r->{content};
    is $r->{headers}{etag}, '"' . md5_hex($body) . '"', 'ETag';
    ok s3($s2, GET => '/p/k')->{content} eq $body, 'bytes';
    $s2->stop;
};

# ---------------------------------------------------------------- digests

subtest 'Content-MD5' => sub {
    put_object($s, 'ob', 'md5', 'original');
    my $head = head_commit($s, 'ob');

    my $r = s3($s, PUT => '/ob/md5', body => 'new', headers => { 'content-md5' => md5_b64('new') });
    is $r->{status}, 200, 'right digest';
    $head = head_commit($s, 'ob');

    $r = s3($s, PUT => '/ob/md5', body => 'newer', headers => { 'content-md5' => md5_b64('other') });
    is_s3_error($r, 400, 'BadDigest', 'wrong digest');
    is get_body('md5'), 'new', 'the object is unchanged';
    is head_commit($s, 'ob'), $head, 'no commit was made';

    for my $bad ('not base64!', 'AAAA', md5_hex('x'), '') {
        $r = s3($s, PUT => '/ob/md5', body => 'x', headers => { 'content-md5' => $bad });
        is_s3_error($r, 400, 'InvalidDigest', "malformed Content-MD5 '$bad'");
    }
    is head_commit($s, 'ob'), $head, 'still no commit';

    my $big = 'z' x (3 * 1024 * 1024 + 17);
    $r = s3($s, PUT => '/ob/md5big', body => $big,
            headers => { 'content-md5' => md5_b64($big . 'x') });
    is_s3_error($r, 400, 'BadDigest', 'wrong digest of a body kept in a temp file');
    is s3($s, HEAD => '/ob/md5big')->{status}, 404, 'nothing stored';
};

subtest 'x-amz-content-sha256' => sub {
    my $head = head_commit($s, 'ob');
    my $r = s3($s, PUT => '/ob/sha', body => 'payload',
               headers => { 'x-amz-content-sha256' => sha256_hex('payload') });
    is $r->{status}, 200, 'right hash';
    is get_body('sha'), 'payload';

    $r = s3($s, PUT => '/ob/sha', body => 'payload2',
            headers => { 'x-amz-content-sha256' => sha256_hex('something else') });
    is_s3_error($r, 400, 'XAmzContentSHA256Mismatch', 'wrong hash');
    is get_body('sha'), 'payload', 'unchanged';

    $r = s3($s, PUT => '/ob/sha', body => 'payload3',
            headers => { 'x-amz-content-sha256' => uc sha256_hex('payload3') });
    ok $r->{status} == 200 || $r->{status} == 400, 'uppercase hex: accepted or refused, not stored wrong';

    $r = s3($s, PUT => '/ob/sha2', body => 'unsigned',
            headers => { 'x-amz-content-sha256' => 'UNSIGNED-PAYLOAD' });
    is $r->{status}, 200, 'UNSIGNED-PAYLOAD';
    is get_body('sha2'), 'unsigned';

    $r = s3($s, PUT => '/ob/sha3', body => 'both',
            headers => { 'x-amz-content-sha256' => sha256_hex('both'),
                         'content-md5' => md5_b64('wrong') });
    is_s3_error($r, 400, 'BadDigest', 'both digests, MD5 wrong');
    is s3($s, HEAD => '/ob/sha3')->{status}, 404, 'nothing stored';

    $r = s3($s, PUT => '/ob/sha3', body => 'x', headers => { 'x-amz-content-sha256' => 'abc' });
    is $r->{status}, 400, 'a malformed hash is refused';
};

subtest 'aws-chunked bodies are decoded or refused, never stored framed' => sub {
    my $payload = 'hello aws-chunked';
    my $framed = sprintf("%x;chunk-signature=%s\r\n%s\r\n0;chunk-signature=%s\r\n\r\n",
                         length $payload, '0' x 64, $payload, '0' x 64);
    my $r = s3($s, PUT => '/ob/chunked', body => $framed,
               headers => { 'x-amz-content-sha256' => 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
                            'content-encoding' => 'aws-chunked',
                            'x-amz-decoded-content-length' => length $payload });
    if ($r->{status} == 200) {
        is get_body('chunked'), $payload, 'decoded';
    } else {
        cmp_ok $r->{status}, '>=', 400, "refused ($r->{status})";
        is s3($s, HEAD => '/ob/chunked')->{status}, 404, 'nothing stored';
    }
};

# ---------------------------------------------------------------- 100-continue

subtest 'Expect: 100-continue' => sub {
    my $r = raw_http($s, "PUT /nobucket/k HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n"
                       . "Expect: 100-continue\r\nConnection: close\r\n\r\n", timeout => 10);
    is $r->{status}, 404, 'missing bucket: the final answer comes first';
    is xval($r, '/Error/Code'), 'NoSuchBucket', 'NoSuchBucket';
    unlike $r->{raw}, qr{^HTTP/1\.1 100}, 'no 100 Continue';

    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s->port) or die;
    print $sock "PUT /ob/cont HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
              . "Expect: 100-continue\r\nConnection: close\r\n\r\n";
    $sock->flush;
    my $line = <$sock>;
    like $line // '', qr{^HTTP/1\.1 100 }, 'existing bucket: 100 Continue';
    print $sock 'hello';
    $sock->flush;
    local $/;
    my $rest = <$sock>;
    like $rest, qr{HTTP/1\.1 200 }, 'then 200';
    is get_body('cont'), 'hello', 'stored';
};

# ---------------------------------------------------------------- broken uploads

subtest 'a client that disconnects mid-body stores nothing' => sub {
    put_object($s, 'ob', 'broken', 'before');
    my $head = head_commit($s, 'ob');
    for my $size (1000, 2 * 1024 * 1024) {
        my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s->port) or die;
        print $sock "PUT /ob/broken HTTP/1.1\r\nHost: x\r\nContent-Length: " . ($size * 2)
                  . "\r\n\r\n" . ('b' x $size);
        $sock->flush;
        sleep 0.5;
        close $sock;
    }
    sleep 1;
    is get_body('broken'), 'before', 'the old object is intact';
    is head_commit($s, 'ob'), $head, 'no commit';
    is s3($s, GET => '/ob/broken')->{status}, 200, 'and readable';
};

subtest 'a body shorter than Content-Length (client gives up)' => sub {
    my $r = raw_http($s, "PUT /ob/short HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly-this",
                     half_close => 1, timeout => 70);
    is s3($s, HEAD => '/ob/short')->{status}, 404, 'nothing stored';
};

subtest 'no Content-Length' => sub {
    my $r = raw_http($s, "PUT /ob/nolen HTTP/1.0\r\nHost: x\r\n\r\n");
    ok $r->{status} == 411 || $r->{status} == 200, "HTTP/1.0 PUT without length: $r->{status}";
    is xval($r, '/Error/Code'), 'MissingContentLength', 'MissingContentLength'
        if $r->{status} == 411;

    $r = raw_http($s, "PUT /ob/chunkte HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                    . "Connection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
    if ($r->{status} == 200) {
        is get_body('chunkte'), 'hello world', 'a chunked body is stored decoded';
    } else {
        is $r->{status}, 411, 'or refused with 411';
    }
};

# ---------------------------------------------------------------- keys

subtest 'keys with characters that need encoding' => sub {
    my @odd = ('sp ace', 'per%cent', 'amp&er', 'eq=ual', 'hash#tag', 'dol$ar', 'com,ma',
               'semi;colon', 'co:lon', 'til~de', "quo'te", 'dq"uote', 'lt<gt>', 'pi|pe',
               'back\\slash', 'grave`', 'a/deep/nested/key with spaces', '.hidden',
               'dots..in.name', '...', 'x/.y', '-dash', '_under');
    for my $k (@odd) {
        my $r = s3($s, PUT => '/ob/' . key_escape($k), body => "value of $k");
        is $r->{status}, 200, "PUT '$k'" or diag $r->{content};
        local $TODO = $k =~ /\\/
            ? 'GetFile takes its path as a glob: a backslash must be escaped '
              . '(or such keys refused at PUT)'
            : undef;
        is get_body($k), "value of $k", "GET '$k'";
    }
    my $l = s3($s, GET => '/ob?list-type=2&max-keys=1000');
    my %listed = map { $_ => 1 } xvals($l, '//s:Contents/s:Key');
    ok $listed{$_}, "listed '$_'" for @odd;
};

subtest 'an encoded slash is a slash' => sub {
    my $r = s3($s, PUT => '/ob/enc%2Fslash', body => 'es');
    is $r->{status}, 200;
    is get_body('enc/slash'), 'es', 'GET with a literal slash';
};

subtest 'keys PFS cannot store: 400, nothing half-written' => sub {
    my $head = head_commit($s, 'ob');
    for my $t ('a//b', '/lead', 'a/./b', 'a/../b', 'tail/', 'st%2Ar', 'q%3F', 'br%5Ba%5D',
               'c%7Bu%7D', 'bang%21', 'p%28a%29', 'at%40x', 'plus%2B', 'hat%5E', 'tab%09',
               'caf%C3%A9', 'ok/..', 'ok/.')
    {
        my $r = raw_request($s, PUT => "/ob/$t", [], 'data');
        is $r->{status}, 400, "PUT $t: 400";
        like xval($r, '/Error/Code') // '', qr/^(InvalidFilePath|InvalidArgument|InvalidURI)$/,
            'an S3 error code';
    }
    is head_commit($s, 'ob'), $head, 'no commit';
};

subtest 'directories are not objects' => sub {
    put_object($s, 'ob', 'tree/leaf', 'leaf');
    is_s3_error(s3($s, GET => '/ob/tree'), 404, 'NoSuchKey', 'GET of a directory');
    my $r = s3($s, HEAD => '/ob/tree');
    is $r->{status}, 404, 'HEAD of a directory';
    is $r->{content}, '', 'no body';
    my $head = head_commit($s, 'ob');
    $r = s3($s, PUT => '/ob/tree', body => 'would hide the directory');
    cmp_ok $r->{status}, '>=', 400, "PUT over a directory is refused ($r->{status})";
    is get_body('tree/leaf'), 'leaf', 'the directory is intact';
    is head_commit($s, 'ob'), $head, 'no commit';

    put_object($s, 'ob', 'plainfile', 'f');
    $head = head_commit($s, 'ob');
    $r = s3($s, PUT => '/ob/plainfile/under', body => 'x');
    {
        local $TODO = 'a key under an existing file makes a file/directory '
                    . 'collision (pachd: commit error, reads fail)';
        cmp_ok $r->{status}, '>=', 400, "PUT under an existing file is refused ($r->{status})";
    }
    is get_body('plainfile'), 'f', 'the file is intact';
};

# ---------------------------------------------------------------- errors

is_s3_error(s3($s, GET => '/ob/missing'), 404, 'NoSuchKey', 'GET of a missing key',
            resource => '/ob/missing');
is_s3_error(s3($s, GET => '/nobucket/k'), 404, 'NoSuchBucket', 'GET in a missing bucket',
            resource => '/nobucket/k');
is_s3_error(s3($s, GET => '/nobranch.ob/k'), 404, 'NoSuchBucket', 'GET in a missing branch');
is_s3_error(s3($s, PUT => '/nobucket/k', body => 'x'), 404, 'NoSuchBucket', 'PUT in a missing bucket');
is_s3_error(s3($s, DELETE => '/nobucket/k'), 404, 'NoSuchBucket', 'DELETE in a missing bucket');

subtest 'HEAD errors have no body' => sub {
    for my $t ('/ob/missing', '/nobucket/k') {
        my $r = s3($s, HEAD => $t);
        is $r->{status}, 404, "HEAD $t";
        is $r->{content}, '', 'no body';
        ok $r->{rid}, 'request id';
    }
};

# ---------------------------------------------------------------- delete

subtest 'DeleteObject' => sub {
    put_object($s, 'ob', 'del/me', 'x');
    my $r = s3($s, DELETE => '/ob/del/me');
    is $r->{status}, 204;
    is $r->{content}, '', 'no body';
    is s3($s, GET => '/ob/del/me')->{status}, 404, 'gone';

    my $head = head_commit($s, 'ob');
    $r = s3($s, DELETE => '/ob/del/me');
    is $r->{status}, 204, 'a missing key: 204 as S3';
    is head_commit($s, 'ob'), $head, 'without an empty commit';

    put_object($s, 'ob', 'keepdir/a', 'a');
    $r = s3($s, DELETE => '/ob/keepdir');
    is $r->{status}, 204, 'DELETE of a directory name';
    is get_body('keepdir/a'), 'a', 'does not delete what is under it';
};

$s->stop;
done_testing;
