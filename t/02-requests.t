#!/usr/bin/perl

# Requests answered before or without PFS: routing, sub-resources that are
# not implemented, bad names and keys, methods; and PFS being unreachable.
# No pfsd runs here: the gRPC location points at a closed port.

use strict;
use warnings;

use lib 't/lib';
use PfsS3::Test;

sub code_of { xval($_[0], '/Error/Code') // '' }
use Time::HiRes qw(time sleep);
use IO::Socket::INET;

my $s = stack(no_pfsd => 1)->start;

sub last_log { my @l = access_log_lines($s); return @l ? $l[-1]{line} : '' }

# ---------------------------------------------------------------- PFS down

my $t0 = time;
my $res = s3($s, GET => '/');
my $elapsed = time - $t0;
is $res->{status}, 503, 'PFS unreachable: 503';
is code_of($res), 'ServiceUnavailable', '  ServiceUnavailable';
is $res->{headers}{'content-type'}, 'application/xml', '  S3 XML';
ok $elapsed < 2, "  fast (${elapsed}s)";
like $res->{headers}{'x-amz-request-id'}, qr/^[0-9a-f]{32}$/,
    '  x-amz-request-id';
is xval($res, '/Error/RequestId'), $res->{headers}{'x-amz-request-id'},
    '  the same id in the body';
ok wait_until(sub { last_log() =~ /op=ListBuckets .*error=ServiceUnavailable .*pfs=ListRepo:502/ }),
    '  logged with the PFS status' or diag last_log();

$res = s3($s, HEAD => '/master.repo');
is $res->{status}, 503, 'HEAD with PFS unreachable: 503';
is $res->{content} // '', '', '  no body';
ok $res->{headers}{'x-amz-request-id'}, '  x-amz-request-id';

# ---------------------------------------------------------------- not implemented

my @unsupported = (
    [ GET => '/b?acl', 'GetBucketAcl' ],
    [ PUT => '/b?acl', 'PutBucketAcl' ],
    [ GET => '/b/k?acl', 'GetObjectAcl' ],
    [ GET => '/b?policy', 'GetBucketPolicy' ],
    [ DELETE => '/b?cors', 'DeleteBucketCors' ],
    [ PUT => '/b?lifecycle', 'PutBucketLifecycleConfiguration' ],
    [ PUT => '/b/k?tagging', 'PutObjectTagging' ],
    [ DELETE => '/b/k?tagging', 'DeleteObjectTagging' ],
    [ POST => '/b/k?restore', 'RestoreObject' ],
    [ POST => '/b/k?select&select-type=2', 'SelectObjectContent' ],
    [ GET => '/b/k?attributes', 'GetObjectAttributes' ],
    [ GET => '/b/k?partNumber=1', 'GetObjectPart' ],
    [ POST => '/b/k', 'PostObject' ],
    [ POST => '/b', 'PostObject' ],
);

for my $u (@unsupported) {
    my ($method, $path, $op) = @$u;
    my $res = s3($s, $method => $path, body => 'x');
    is $res->{status}, 501, "$method $path: 501";
    is code_of($res), 'NotImplemented', '  NotImplemented';
    ok wait_until(sub { last_log() =~ /"\Q$method $path\E HTTP\/1.1" 501 .*op=\Q$op\E /}),
        "  logged as $op" or diag last_log();
}

# multipart uploads are routed to their operations (t/33-multipart.t):
# with PFS down those that ask it answer 503, and an upload id that is no
# upload id is NoSuchUpload without asking

for my $u ([ GET => '/b?uploads', 'ListMultipartUploads', 503 ],
           [ POST => '/b/k?uploads', 'CreateMultipartUpload', 503 ],
           [ PUT => '/b/k?partNumber=1&uploadId=abc', 'UploadPart', 404 ],
           [ POST => '/b/k?uploadId=abc', 'CompleteMultipartUpload', 404 ],
           [ DELETE => '/b/k?uploadId=abc', 'AbortMultipartUpload', 404 ],
           [ GET => '/b/k?uploadId=abc', 'ListParts', 404 ])
{
    my ($method, $path, $op, $status) = @$u;
    my $res = s3($s, $method => $path, body => 'x');
    is $res->{status}, $status, "$method $path: implemented, $status";
    ok wait_until(sub { last_log() =~ /"\Q$method $path\E HTTP\/1.1" \d+ .*op=\Q$op\E /}),
        "  logged as $op" or diag last_log();
}

$res = s3($s, GET => '/b/k?tagging');
is $res->{status}, 503, 'GetObjectTagging asks PFS (none here: 503)';
ok wait_until(sub { last_log() =~ /op=GetObjectTagging .*pfs=InspectFile:502/ }),
    '  logged as GetObjectTagging, one InspectFile' or diag last_log();

$res = s3($s, PUT => '/b/k', headers => { 'x-amz-copy-source' => '/b/other' });
is $res->{status}, 503, 'CopyObject asks PFS (none here: 503), never an empty PutObject';
ok wait_until(sub { last_log() =~ /op=CopyObject / }), '  logged as CopyObject';

$res = s3($s, HEAD => '/b/k?partNumber=2');
is $res->{status}, 501, 'HEAD answers 501 too';
is $res->{content} // '', '', '  without a body';

# ---------------------------------------------------------------- methods

for my $m (qw(OPTIONS PATCH)) {
    my $res = s3($s, $m => '/b/k');
    is $res->{status}, 405, "$m: 405";
    is code_of($res), 'MethodNotAllowed', '  MethodNotAllowed';
}

$res = s3($s, PUT => '/', body => '');
is $res->{status}, 405, 'PUT /: 405';

# ---------------------------------------------------------------- bucket names

for my $b ('bad..name', 'a.b.c.d', 'bad%20name', '.repo', 'repo.',
           'x' x 10 . '!') {
    my $res = s3($s, GET => "/$b");
    is $res->{status}, 400, "bucket '$b': 400";
    is code_of($res), 'InvalidBucketName', '  InvalidBucketName';
    is xval($res, '/Error/BucketName'), ($b =~ s/%20/ /r), '  names the bucket';
}

$res = s3($s, PUT => '/0123456789ab4def8123456789abcdef.master.repo/k',
          body => 'x');
is $res->{status}, 405, 'PUT into a commit bucket: 405 (read-only)';
is code_of($res), 'MethodNotAllowed', '  MethodNotAllowed';
like xval($res, '/Error/Message'), qr/read-only/, '  says why';

$res = s3($s, DELETE => '/0123456789ab4def8123456789abcdef.master.repo/k');
is $res->{status}, 405, 'DELETE in a commit bucket: 405';

$res = s3($s, DELETE => '/0123456789ab4def8123456789abcdef.repo');
is $res->{status}, 405, 'DeleteBucket of a commit bucket: 405';

$res = s3($s, PUT => '/0123456789ab4def8123456789abcdef.repo', body => '');
is $res->{status}, 400, 'CreateBucket of a commit bucket: 400';
is code_of($res), 'InvalidBucketName', '  InvalidBucketName';

# ---------------------------------------------------------------- keys

# (nginx itself refuses a bad escape before any module sees the request)
$res = raw_http($s, "GET /b/a%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")->{raw};
like $res, qr/^HTTP\/1.1 400/, 'bad escape: 400';

$res = s3($s, GET => '/b/a%FF%FE');
is $res->{status}, 400, 'key that is not UTF-8: 400';
is code_of($res), 'InvalidURI', '  InvalidURI';

$res = s3($s, GET => '/b/a%00b');
is $res->{status}, 400, 'key with NUL: 400';

$res = s3($s, GET => '/b/' . ('k' x 1025));
is $res->{status}, 400, 'key of 1025 bytes: 400';
is code_of($res), 'KeyTooLongError', '  KeyTooLongError';

# Keys PFS cannot store: refused on PUT before anything reaches PFS (which
# is down here, so any PFS call would answer 503), absent on GET, and
# deleted on DELETE.
my @unstorable = ('a//b', '/lead', 'dir/', './a', 'a/./b', 'a/..', 'a*b',
                  'a%3Fb', 'what%20(1).txt', 'x+y', 'c@d', 'a%5Bb%5D', '%7Bx%7D',
                  'caf%C3%A9', 'tab%09key', 'del%7F', 'a!b', 'a^b');
for my $k (@unstorable) {
    my $res = s3($s, PUT => "/master.repo/$k", body => 'data');
    is $res->{status}, 400, "PUT '$k': 400";
    is code_of($res), 'InvalidFilePath', '  InvalidFilePath';
    like xval($res, '/Error/Message'), qr/PFS/, '  says PFS cannot store it';

    $res = s3($s, GET => "/master.repo/$k");
    is $res->{status}, 404, "GET '$k': 404";
    is code_of($res), 'NoSuchKey', '  NoSuchKey';

    $res = s3($s, DELETE => "/master.repo/$k");
    is $res->{status}, 204, "DELETE '$k': 204";
}

# The raw URI is used: "a//b" is not "a/b", "%2F" is "/".
s3($s, GET => '/master.repo/x%2Fy%2Fz');
ok wait_until(sub { last_log() =~ /op=GetObject bucket=master\.repo key=x\/y\/z / }),
    '%2F decodes to /' or diag last_log();

s3($s, GET => '/master.repo/sp%20ace');
ok wait_until(sub { last_log() =~ /key=sp ace / }), '%20 decodes to a space';

# ---------------------------------------------------------------- bodies

$res = raw_http($s, "PUT /master.repo/k HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")->{raw};
like $res, qr/^HTTP\/1.1 411/, 'PUT without Content-Length: 411';
like $res, qr/<Code>MissingContentLength<\/Code>/, '  MissingContentLength';

# A refused PUT with "Expect: 100-continue": no 100, and the connection
# closes after the answer, so the client never sends the body.
$res = raw_http($s, "PUT /master.repo/a//b HTTP/1.1\r\nHost: x\r\n"
                    . "Content-Length: 1000000\r\nExpect: 100-continue\r\n\r\n",
                timeout => 3)->{raw};
unlike $res, qr/100 Continue/, 'refused PUT with Expect: no 100 Continue';
like $res, qr/^HTTP\/1.1 400/, '  answered 400';
like $res, qr/Connection: close/i, '  connection closed';

$res = s3($s, PUT => '/master.repo/k', body => 'x',
          headers => { 'Content-MD5' => 'not base64' });
is $res->{status}, 400, 'malformed Content-MD5: 400';
is code_of($res), 'InvalidDigest', '  InvalidDigest';

$res = s3($s, PUT => '/master.repo/k', body => "1\r\nx\r\n0\r\n\r\n",
          headers => { 'x-amz-content-sha256' => 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' });
is $res->{status}, 411, 'aws-chunked upload without its decoded length: 411';
is code_of($res), 'MissingContentLength', '  MissingContentLength';

$res = s3($s, PUT => '/master.repo/k', body => 'x',
          headers => { 'x-amz-content-sha256' => 'abc' });
is $res->{status}, 400, 'malformed x-amz-content-sha256: 400';

# ---------------------------------------------------------------- listing args

for my $q ('list-type=3', 'delimiter=%2C', 'encoding-type=base64',
           'max-keys=-1', 'max-keys=ten', 'list-type=2&continuation-token=%21%21',
           'list-type=2&continuation-token=') {
    my $res = s3($s, GET => "/master.repo?$q");
    is $res->{status}, 400, "ListObjects ?$q: 400";
    like code_of($res), qr/^Invalid(Argument|Delimiter)$/, '  ' . code_of($res);
}

# ---------------------------------------------------------------- PFS silent

# A PFS that takes the connection and says nothing: the call stays under
# way while the rest of the client's body (to be discarded) arrives.  That
# body is the client request's to discard; read in the call's place the
# worker crashed (signal 11: no response, no access log line, an [alert]),
# and left unread the connection waited for lingering_timeout (an hour
# here) before closing.
{
    my $hole = IO::Socket::INET->new(Listen => 8, LocalAddr => '127.0.0.1',
                                     LocalPort => 0, ReuseAddr => 1)
        or die "listen: $!";
    my $s2 = stack(no_pfsd => 1,
                   pfsd_upstream => '127.0.0.1:' . $hole->sockport,
                   server => 'lingering_timeout 1h;')->start;
    for my $u ([ POST => '/b/k?uploads', 'CreateMultipartUpload' ],
               [ GET => '/b/k', 'GetObject' ]) {
        my ($method, $path, $op) = @$u;
        my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $s2->port) or die "$!";
        PfsS3::Test::syswrite_all($c, "$method $path HTTP/1.1\r\nHost: x\r\n"
                         . "Connection: close\r\nContent-Length: 2\r\n\r\n");
        my $up;
        wait_until(sub { $hole->blocking(0); $up = $hole->accept }, 10);
        ok $up, "$method $path: the PFS call is under way";
        PfsS3::Test::syswrite_all($c, 'xy');             # the body, during the call
        sleep 0.3;
        close $up if $up;                   # then PFS goes away
        my ($raw, $closed) = PfsS3::Test::read_until_close($c, 30);
        close $c;
        my $res = PfsS3::Test::parse_response($raw // '');
        is $res->{status}, 503, '  503 when PFS goes away' or diag $raw;
        ok $closed, '  and the connection ends (the body was discarded)';
        ok wait_until(sub { grep { ($_->{request} // '') eq "$method $path HTTP/1.1"
                                   && $_->{line} =~ /op=$op / }
                                 access_log_lines($s2) }),
            "  logged as $op";
    }
    $s2->stop;
    unlike $s2->slurp($s2->error_log), qr/\[(alert|crit|emerg)\]/,
        '  no alert (no worker crash)';
}

# ---------------------------------------------------------------- log

s3($s, GET => '/b/k?acl');
ok wait_until(sub { last_log() =~ /op=GetObjectAcl bucket=b key=k error=NotImplemented rid=[0-9a-f]{32} pfs=-$/ }),
    'access log variables' or diag last_log();

$s->stop;

unlike $s->slurp($s->error_log), qr/\[(alert|crit|emerg)\]/,
    'no alert in the error log';

done_testing;
