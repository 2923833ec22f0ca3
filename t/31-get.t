#!/usr/bin/perl
# GetObject and HeadObject details: Range (a-b, a-, -n, clamping, 416),
# the four conditional headers and how S3 combines them, versionId (= a
# commit id) and commit buckets, response-* overrides, and a GetFile that
# fails after the headers went out (the connection must be cut, never a
# short response that looks complete).

use strict;
use warnings;
use lib 't/lib';
use PfsS3::Test;
use HTTP::Date ();
use IO::Select;
use IO::Socket::INET;
use Socket ();
use Time::HiRes qw(sleep);

my $s = stack()->start;
make_bucket($s, 'gb');

my $body = join '', map { chr(65 + $_ % 26) } 0 .. 999;    # 1000 bytes
my $put = put_object($s, 'gb', 'obj', $body);
my $etag = $put->{headers}{etag};
my $v1 = $put->{headers}{'x-amz-version-id'};
put_object($s, 'gb', 'empty', '');

sub get { my ($h, $q) = @_; s3($s, GET => '/gb/obj' . ($q // ''), headers => $h || {}) }

# ---------------------------------------------------------------- range

my @ranges = (
    ['bytes=0-99',       0,   100],
    ['bytes=100-',       100, 900],
    ['bytes=-100',       900, 100],
    ['bytes=990-2000',   990, 10],
    ['bytes=0-0',        0,   1],
    ['bytes=999-999',    999, 1],
    ['bytes=999-',       999, 1],
    ['bytes=-5000',      0,   1000],
    ['bytes=0-999',      0,   1000],
);

for my $c (@ranges) {
    my ($range, $from, $len) = @$c;
    subtest "Range $range" => sub {
        my $r = get({ Range => $range });
        is $r->{status}, 206, 'status 206';
        is $r->{headers}{'content-range'}, sprintf('bytes %d-%d/1000', $from, $from + $len - 1),
            'Content-Range';
        is $r->{headers}{'content-length'}, $len, 'Content-Length';
        is $r->{content}, substr($body, $from, $len), 'the bytes';
        is $r->{headers}{etag}, $etag, 'ETag of the whole object';
        my $h = s3($s, HEAD => '/gb/obj', headers => { Range => $range });
        is $h->{status}, 206, 'HEAD: 206';
        is $h->{headers}{'content-length'}, $len, 'HEAD: Content-Length';
    };
}

for my $range ('bytes=1000-', 'bytes=5000-6000', 'bytes=-0') {
    subtest "Range $range is not satisfiable" => sub {
        my $r = get({ Range => $range });
        is_s3_error($r, 416, 'InvalidRange', 'status 416');
        is $r->{headers}{'content-range'}, 'bytes */1000', 'Content-Range: bytes */size';
    };
}

subtest 'any range of an empty object is not satisfiable' => sub {
    my $r = s3($s, GET => '/gb/empty', headers => { Range => 'bytes=0-0' });
    is_s3_error($r, 416, 'InvalidRange', 'bytes=0-0');
    $r = s3($s, GET => '/gb/empty');
    is $r->{status}, 200, 'without Range: 200';
};

for my $range ('bytes=5-1', 'bytes=a-b', 'items=0-1', 'bytes=0-1,5-6', 'bytes=', 'bytes=--1', 'bytes 0-1') {
    subtest "Range '$range' is ignored (whole object)" => sub {
        my $r = get({ Range => $range });
        is $r->{status}, 200, 'status 200';
        is length($r->{content}), 1000, 'all of it';
    };
}

# ---------------------------------------------------------------- conditionals

my $lm = get()->{headers}{'last-modified'};
my $mtime = HTTP::Date::str2time($lm);
my $before = HTTP::Date::time2str($mtime - 3600);
my $after  = HTTP::Date::time2str($mtime + 3600);

my @cond = (
    # headers, expected status
    [{ 'If-Match' => $etag }, 200],
    [{ 'If-Match' => '*' }, 200],
    [{ 'If-Match' => '"0123456789abcdef0123456789abcdef"' }, 412],
    [{ 'If-Match' => qq{"nope", $etag} }, 200],
    [{ 'If-None-Match' => $etag }, 304],
    [{ 'If-None-Match' => '*' }, 304],
    [{ 'If-None-Match' => '"nope"' }, 200],
    [{ 'If-None-Match' => qq{"a", $etag} }, 304],
    [{ 'If-Modified-Since' => $before }, 200],
    [{ 'If-Modified-Since' => $lm }, 304],
    [{ 'If-Modified-Since' => $after }, 304],
    [{ 'If-Modified-Since' => 'not a date' }, 200],
    [{ 'If-Unmodified-Since' => $before }, 412],
    [{ 'If-Unmodified-Since' => $lm }, 200],
    [{ 'If-Unmodified-Since' => $after }, 200],
    # S3's combinations (RFC 7232 section 6: If-Match hides
    # If-Unmodified-Since, If-None-Match hides If-Modified-Since)
    [{ 'If-Match' => $etag, 'If-Unmodified-Since' => $before }, 200],
    [{ 'If-None-Match' => '"nope"', 'If-Modified-Since' => $after }, 200],   # RFC 7232 3.3
    [{ 'If-None-Match' => $etag, 'If-Modified-Since' => $before }, 304],
    [{ 'If-Match' => '"nope"', 'If-None-Match' => '"nope"' }, 412],
    [{ 'If-Match' => $etag, 'Range' => 'bytes=0-9' }, 206],
    [{ 'If-Match' => '"nope"', 'Range' => 'bytes=0-9' }, 412],
);

for my $c (@cond) {
    my ($h, $want) = @$c;
    my $name = join ', ', map { "$_: $h->{$_}" } sort keys %$h;
    subtest "$name => $want" => sub {
        my $r = get($h);
        is $r->{status}, $want, "GET $want";
        if ($want == 412) {
            is xval($r, '/Error/Code'), 'PreconditionFailed', 'PreconditionFailed';
        } elsif ($want == 304) {
            is $r->{content}, '', 'no body';
            is $r->{headers}{etag}, $etag, 'ETag';
            ok $r->{rid}, 'request id';
        }
        my $hr = s3($s, HEAD => '/gb/obj', headers => $h);
        is $hr->{status}, $want == 206 ? 206 : $want, 'HEAD too';
        is $hr->{content}, '', 'HEAD: no body';
    };
}

# ---------------------------------------------------------------- versions

subtest 'versionId reads that commit' => sub {
    my $p2 = put_object($s, 'gb', 'obj', 'second version');
    my $v2 = $p2->{headers}{'x-amz-version-id'};
    isnt $v2, $v1, 'a new version id';

    is get()->{content}, 'second version', 'the branch has the new one';
    my $r = get({}, "?versionId=$v1");
    is $r->{status}, 200;
    is $r->{content}, $body, 'versionId: the old bytes';
    is $r->{headers}{'x-amz-version-id'}, $v1, 'x-amz-version-id';
    is $r->{headers}{etag}, $etag, 'the old ETag';
    $r = s3($s, HEAD => "/gb/obj?versionId=$v1");
    is $r->{headers}{'content-length'}, 1000, 'HEAD ?versionId';
    $r = get({ Range => 'bytes=10-19' }, "?versionId=$v1");
    is $r->{content}, substr($body, 10, 10), 'Range of an old version';

    $r = s3($s, GET => "/$v1.gb/obj");
    is $r->{content}, $body, 'the commit as a bucket';
    $r = s3($s, GET => "/$v1.master.gb/obj");
    is $r->{content}, $body, 'commit.branch.repo';

    is_s3_error(get({}, '?versionId=0123456789ab4def0123456789abcdef'), 404, 'NoSuchVersion',
                'a commit that does not exist');
    is_s3_error(get({}, '?versionId=xyz'), 400, 'InvalidArgument', 'not a commit id');
    is_s3_error(s3($s, GET => "/gb/empty?versionId=$v1"), 404, 'NoSuchKey',
                'the commit has no such key')
        if 0;   # empty was written after v1? it was written before: skipped
    $r = s3($s, GET => "/gb/later?versionId=$v1");
    is $r->{status}, 404, 'a key that did not exist at that version';

    put_object($s, 'gb', 'obj', $body);   # back to the first content
};

# ---------------------------------------------------------------- response-*

subtest 'response-* overrides' => sub {
    my %o = ('response-content-type' => 'text/x-test',
             'response-content-language' => 'fr',
             'response-expires' => 'Thu, 01 Dec 2039 16:00:00 GMT',
             'response-cache-control' => 'no-cache',
             'response-content-disposition' => 'attachment; filename="x.txt"',
             'response-content-encoding' => 'identity');
    my $q = '?' . join '&', map { "$_=" . key_escape($o{$_}) } sort keys %o;
    my $r = get({}, $q);
    is $r->{status}, 200;
    for my $p (sort keys %o) {
        (my $h = $p) =~ s/^response-//;
        is $r->{headers}{$h}, $o{$p}, $h;
    }
    is $r->{content}, $body, 'body unchanged';
    $r = s3($s, HEAD => "/gb/obj$q");
    is $r->{headers}{'content-type'}, 'text/x-test', 'HEAD honours them too';
};

# ---------------------------------------------------------------- cut streams

subtest 'GetFile failing after the headers cuts the connection' => sub {
    my $size = 64 * 1024 * 1024;
    my $i = 0;
    my $r = s3($s, PUT => '/gb/large', headers => { 'content-length' => $size },
               body => sub { $i++ < 64 ? ('L' x (1024 * 1024)) : undef });
    is $r->{status}, 200, 'a 64 MiB object' or return;

    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s->port) or die;
    # (no SO_RCVBUF games: shrinking it after connect makes the kernel
    # deliver the rest in zero-window probes, tens of seconds)
    print $sock "GET /gb/large HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    $sock->flush;
    my $sel = IO::Select->new($sock);
    my $got = '';
    while ($got !~ /\r\n\r\n/ && $sel->can_read(10)) {
        sysread($sock, my $buf, 4096) or last;
        $got .= $buf;
    }
    like $got, qr{^HTTP/1\.1 200}, 'headers sent';
    my ($len) = $got =~ /Content-Length: (\d+)/i;
    is $len, $size, 'Content-Length of the whole object';

    $s->stop_pfsd('KILL');          # PFS dies mid-stream

    my $n = length($got) - index($got, "\r\n\r\n") - 4;
    my $closed = 0;
    while ($sel->can_read(20)) {
        my $k = sysread($sock, my $buf, 65536);
        if (!$k) { $closed = 1; last }
        $n += $k;
    }
    ok $closed, 'the server closed the connection';
    cmp_ok $n, '<', $size, "fewer bytes than Content-Length ($n)";
    $s->start_pfsd;
    ok wait_until(sub { s3($s, HEAD => '/gb/obj', fresh => 1)->{status} == 200 }, 10),
        'serving again';
};

$s->stop;
done_testing;
