#!/usr/bin/perl
# Request parsing and routing, mostly with raw HTTP: addressing styles, the
# raw request target (not nginx's normalised URI), sub-resources this module
# does not implement (501, never a silent success), methods, bucket-name and
# key rules, and the x-amz-request-id every response carries.

use strict;
use warnings;
use lib 't/lib';
use PfsS3::Test;

my $s = stack(server => 'pfs_s3_base_domain s3.test;')->start;

make_bucket($s, 'rq');

# ---------------------------------------------------------------- request ids

subtest 'every response carries a distinct x-amz-request-id' => sub {
    my @res = (
        s3($s, GET => '/'),
        s3($s, HEAD => '/rq'),
        s3($s, GET => '/no-such-bucket-x'),
        s3($s, GET => '/rq?acl'),
        raw_request($s, PATCH => '/rq'),
        raw_request($s, GET => '/bad!bucket'),
    );
    my %seen;
    for my $r (@res) {
        like $r->{rid} // '', qr/^[0-9a-f]{32}$/,
            "$r->{status}: 32 hex digits";
        $seen{ $r->{rid} // '' }++;
    }
    is scalar(keys %seen), scalar(@res), 'all different';
};

# ---------------------------------------------------------------- service

subtest 'GET / is ListBuckets' => sub {
    my $r = s3($s, GET => '/');
    is $r->{status}, 200;
    like $r->{headers}{'content-type'}, qr{^application/xml};
    is xcount($r, '/s:ListAllMyBucketsResult'), 1, 'S3 namespace root';
    ok grep({ $_ eq 'master.rq.default' }
            xvals($r, '//s:Bucket/s:Name')), 'lists the new bucket';
};

subtest 'absolute-form request target' => sub {
    my $r = raw_http($s, "GET http://127.0.0.1/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         . "Connection: close\r\n\r\n");
    is $r->{status}, 200;
    is xcount($r, '/s:ListAllMyBucketsResult'), 1;
};

subtest 'HTTP/1.0 request' => sub {
    my $r = raw_http($s, "GET /rq?location HTTP/1.0\r\n\r\n");
    is $r->{status}, 200;
    is xcount($r, '/s:LocationConstraint'), 1;
};

for my $m (qw(PUT DELETE POST)) {
    my $r = raw_request($s, $m => '/', [], '');
    is_s3_error($r, 405, 'MethodNotAllowed', "$m / is not allowed");
}

# ---------------------------------------------------------------- methods

for my $m (qw(PATCH OPTIONS PROPFIND MKCOL)) {
    for my $t ('/rq', '/rq/k') {
        my $r = raw_request($s, $m => $t);
        is_s3_error($r, 405, 'MethodNotAllowed', "$m $t");
    }
}

# ---------------------------------------------------------------- sub-resources

my @bucket_unsupported = (
    [GET => 'acl'], [PUT => 'acl'], [GET => 'policy'], [PUT => 'policy'],
    [DELETE => 'policy'], [GET => 'cors'], [PUT => 'cors'],
    [GET => 'lifecycle'], [PUT => 'lifecycle'], [GET => 'tagging'],
    [PUT => 'tagging'], [DELETE => 'tagging'], [GET => 'website'],
    [GET => 'logging'], [GET => 'notification'], [GET => 'replication'],
    [GET => 'encryption'], [GET => 'accelerate'], [GET => 'requestPayment'],
    [GET => 'object-lock'], [GET => 'ownershipControls'],
    [GET => 'publicAccessBlock'], [GET => 'analytics'],
    [GET => 'inventory'], [GET => 'metrics'], [GET => 'intelligent-tiering'],
    [GET => 'policyStatus'],
);

for my $c (@bucket_unsupported) {
    my ($m, $sub) = @$c;
    my $r = raw_request($s, $m => "/rq?$sub", [], $m =~ /PUT|POST/ ? '<x/>' : undef);
    is_s3_error($r, 501, 'NotImplemented', "$m /rq?$sub", resource => '/rq');
}

my @object_unsupported = (
    [GET => 'acl'],
    [PUT => 'acl'], [PUT => 'tagging'], [DELETE => 'tagging'],
    [GET => 'retention'], [PUT => 'retention'], [GET => 'legal-hold'],
    [GET => 'torrent'], [GET => 'attributes'], [POST => 'restore'],
    [POST => 'select&select-type=2'], [GET => 'partNumber=1'],
);

for my $c (@object_unsupported) {
    my ($m, $sub) = @$c;
    my $r = raw_request($s, $m => "/rq/dir/obj?$sub", [],
                        $m =~ /PUT|POST/ ? 'data' : undef);
    is_s3_error($r, 501, 'NotImplemented', "$m /rq/dir/obj?$sub",
                resource => '/rq/dir/obj');
}

# GetObjectTagging is answered (an empty TagSet, t/38): a missing key is
# NoSuchKey, never 501
is_s3_error(raw_request($s, GET => '/rq/dir/obj?tagging'), 404, 'NoSuchKey',
            'GET /rq/dir/obj?tagging of a missing key', resource => '/rq/dir/obj');

{
    my $r = raw_request($s, HEAD => '/rq/k?partNumber=1');
    is $r->{status}, 501, 'HEAD ?partNumber is 501';
    is $r->{content}, '', 'HEAD error has no body';
    ok !defined $r->{extra} || $r->{extra} eq '', 'nothing after the headers';
}

is_s3_error(raw_request($s, POST => '/rq', [], 'x'), 501, 'NotImplemented',
            'POST to a bucket (browser form upload)');
is_s3_error(raw_request($s, POST => '/rq/k', [], 'x'), 501, 'NotImplemented',
            'POST to an object without a sub-resource');

is_s3_error(raw_request($s, PUT => '/rq/copy-dst',
                        ['x-amz-copy-source' => '/rq/src'], ''),
            404, 'NoSuchKey', 'CopyObject is not taken for an empty PutObject');

subtest 'query parameters that are not sub-resources are ignored' => sub {
    my $r = s3($s, GET => '/rq?X-Amz-Algorithm=AWS4-HMAC-SHA256&x-id=ListObjects&foo=bar');
    is $r->{status}, 200 or diag $r->{content};
    is xval($r, '/s:ListBucketResult/s:Name'), 'rq';
    $r = s3($s, GET => '/rq?location&x-id=GetBucketLocation');
    is $r->{status}, 200;
    is xcount($r, '/s:LocationConstraint'), 1;
};

subtest 'list-type other than 2' => sub {
    my $r = s3($s, GET => '/rq?list-type=3');
    is_s3_error($r, 400, 'InvalidArgument', 'list-type=3');
};

# ---------------------------------------------------------------- bucket names

for my $b ('a.b.c.d.e', 'bad!name', '.rq', 'rq.', 'a..rq', 'master.rq.default.x',
           'sp%20ace', 'dots.in.a.b.c')
{
    my $r = s3($s, GET => "/$b");
    is_s3_error($r, 400, 'InvalidBucketName', "GET /$b");
    $r = s3($s, PUT => "/$b");
    is_s3_error($r, 400, 'InvalidBucketName', "PUT /$b");
    $r = s3($s, HEAD => "/$b");
    is $r->{status}, 400, "HEAD /$b is 400";
    is $r->{content}, '', 'no body';
}

subtest 'percent-encoded bucket name is decoded' => sub {
    my $r = s3($s, GET => '/%72q?location');
    is $r->{status}, 200, '/%72q is /rq';
};

# ---------------------------------------------------------------- bad encodings

# nginx's own URI parser refuses these before any handler runs (its plain
# 400 page): what matters is that they are not taken for another key.
for my $t ('/rq/a%zzb', '/rq/a%2', '/rq/a%', '/r%q/k', '/rq/a%00b') {
    my $r = raw_request($s, GET => $t);
    is $r->{status}, 400, "GET $t (bad percent-encoding or NUL) is 400";
}

is_s3_error(raw_request($s, GET => '/rq?prefix=%zz'), 400, 'InvalidURI',
            'bad percent-encoding in the query');

for my $k ('%FF', 'a%C3', '%C0%AF', '%ED%A0%80', 'a%F4%90%80%80') {
    for my $m (qw(GET PUT)) {
        my $r = raw_request($s, $m => "/rq/$k", [], $m eq 'PUT' ? 'x' : undef);
        is_s3_error($r, 400, 'InvalidURI', "$m /rq/$k (not UTF-8 or NUL)");
    }
    my $r = raw_request($s, HEAD => "/rq/$k");
    is $r->{status}, 400, "HEAD /rq/$k is 400";
    is $r->{content}, '', 'HEAD: no body';
}

subtest 'key longer than 1024 bytes' => sub {
    my $k = 'k' x 1025;
    my $r = s3($s, PUT => "/rq/$k", body => 'x');
    is_s3_error($r, 400, 'KeyTooLongError', 'PUT');
    $r = s3($s, PUT => '/rq/' . ('k' x 1024), body => 'x');
    is $r->{status}, 200, 'exactly 1024 is fine';
};

# Keys that cannot exist in PFS: GET is NoSuchKey without asking PFS, PUT is
# refused (t/32-keys.t checks nothing is written), DELETE succeeds as for
# any missing key.
for my $k ('a//b', '/lead', 'a/./b', 'a/../b', './x', 'x/..', 'tail/',
           'st*r', 'q?', 'br[a]', 'c{u}', 'bang!', 'p(a)', 'at@x', 'plus+',
           'hat^', 'tab%09', 'del%7F', 'caf%C3%A9')
{
    my $esc = $k =~ /%/ ? $k : key_escape($k);
    $esc = $k if $k =~ m{//|^/|\./|/\.};   # keep dot segments and slashes raw
    my $r = raw_request($s, PUT => "/rq/$esc", [], 'data');
    is_s3_error($r, 400, 'InvalidFilePath', "PUT key '$k' PFS cannot store");
    $r = raw_request($s, GET => "/rq/$esc");
    is_s3_error($r, 404, 'NoSuchKey', "GET key '$k'");
    $r = raw_request($s, DELETE => "/rq/$esc");
    is $r->{status}, 204, "DELETE key '$k' is 204";
}

# ---------------------------------------------------------------- virtual hosts

subtest 'virtual-hosted style' => sub {
    my $r = raw_request($s, GET => '/?location', [Host => 'rq.s3.test']);
    is $r->{status}, 200, 'bucket from the host name';
    is xcount($r, '/s:LocationConstraint'), 1;

    $r = raw_request($s, GET => '/', [Host => 'rq.s3.test:8080']);
    is $r->{status}, 200, 'port in Host';
    is xval($r, '/s:ListBucketResult/s:Name'), 'rq', 'ListObjects of rq';

    $r = raw_request($s, GET => '/', [Host => 'master.rq.S3.Test']);
    is $r->{status}, 200, 'dotted bucket, host case-insensitive';
    is xval($r, '/s:ListBucketResult/s:Name'), 'master.rq';

    $r = raw_request($s, GET => '/', [Host => 's3.test']);
    is $r->{status}, 200, 'the base domain itself';
    is xcount($r, '/s:ListAllMyBucketsResult'), 1, 'is ListBuckets';

    $r = raw_request($s, GET => '/rq?location', [Host => 'other.example']);
    is $r->{status}, 200, 'other hosts: path style';

    $r = raw_request($s, GET => '/missing-key', [Host => 'rq.s3.test']);
    is_s3_error($r, 404, 'NoSuchKey', 'key in the path', resource => '/rq/missing-key');

    $r = raw_request($s, GET => '/', [Host => 'nope.s3.test']);
    is_s3_error($r, 404, 'NoSuchBucket', 'missing bucket by host');
};

$s->stop;

subtest 'path style only without pfs_s3_base_domain' => sub {
    my $s2 = stack()->start;
    make_bucket($s2, 'rq');
    my $r = raw_request($s2, GET => '/', [Host => 'rq.s3.test']);
    is $r->{status}, 200;
    is xcount($r, '/s:ListAllMyBucketsResult'), 1, 'Host is ignored';
    $s2->stop;
};

done_testing;
