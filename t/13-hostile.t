#!/usr/bin/perl
# Requests no client should send and clients that go away at the worst
# moment: numbers that overflow, odd headers, huge queries, disconnects in
# the middle of GetFile, of a listing and of a PUT.  Each gets a sane
# answer (or none, for a client that left), the worker never crashes, and
# the next request is served normally.

use strict;
use warnings;
use lib 't/lib';
use PfsS3::Test;
use IO::Select;
use IO::Socket::INET;
use Socket ();
use Time::HiRes qw(sleep);

my $s = stack(server => 'pfs_s3_base_domain s3.test;')->start;
make_bucket($s, 'h');
my $body = 'x' x 5000;
put_object($s, 'h', 'obj', $body);

sub still_serving {
    my ($name) = @_;
    my $r = s3($s, GET => '/h/obj', fresh => 1);
    ok $r->{status} == 200 && $r->{content} eq $body, "$name: still serving";
}

# ---------------------------------------------------------------- numbers

for my $range ('bytes=0-99999999999999999999999', 'bytes=99999999999999999999999-',
               'bytes=-99999999999999999999999', 'bytes=18446744073709551615-',
               'bytes=9223372036854775807-9223372036854775807', 'bytes=-9223372036854775808',
               'bytes=0-' . ('9' x 500))
{
    my $r = s3($s, GET => '/h/obj', headers => { Range => $range });
    ok $r->{status} == 200 || $r->{status} == 206 || $r->{status} == 416,
        "Range $range: $r->{status}";
    if ($r->{status} == 206) {
        my ($a, $b) = ($r->{headers}{'content-range'} // '') =~ /^bytes (\d+)-(\d+)\/5000$/;
        ok defined $a && $b < 5000 && $a <= $b, 'a Content-Range inside the object';
        is length($r->{content}), $b - $a + 1, 'as many bytes as it says';
    }
}

for my $mk ('99999999999999999999999', '1e3', '0x10', '+5', ' 5', '5 ') {
    my $r = s3($s, GET => '/h?max-keys=' . key_escape($mk));
    ok $r->{status} == 200 || $r->{status} == 400, "max-keys '$mk': $r->{status}";
    is xval($r, '/s:ListBucketResult/s:MaxKeys'), 1000, 'capped'
        if $r->{status} == 200 && $mk =~ /^9+$/;
}

subtest 'absurd Content-Length' => sub {
    for my $cl ('99999999999999999999999', '-1', '18446744073709551616', '1 2') {
        my $r = raw_http($s, "PUT /h/cl HTTP/1.1\r\nHost: x\r\nContent-Length: $cl\r\n"
                           . "Connection: close\r\n\r\nabc", timeout => 10);
        ok $r->{status} && $r->{status} >= 400, "Content-Length $cl: $r->{status}";
    }
    is s3($s, HEAD => '/h/cl')->{status}, 404, 'nothing stored';
};

# ---------------------------------------------------------------- headers

for my $h ('If-Modified-Since', 'If-Unmodified-Since') {
    for my $v ('', 'Mon, 99 Foo 9999 99:99:99 GMT', 'x' x 4000) {
        my $r = s3($s, GET => '/h/obj', headers => { $h => $v });
        ok $r->{status} == 200 || $r->{status} == 304 || $r->{status} == 412,
            "$h: '" . substr($v, 0, 20) . "' -> $r->{status}";
    }
}

for my $v ('', '"', '""', ',,,', '*, "x"', ('"a",' x 2000) . '"b"', 'W/"x"') {
    for my $h ('If-Match', 'If-None-Match') {
        my $r = s3($s, GET => '/h/obj', headers => { $h => $v });
        ok $r->{status} =~ /^(200|304|412)$/, "$h '" . substr($v, 0, 12) . "': $r->{status}";
    }
}

subtest 'odd Host headers with a base domain' => sub {
    for my $host ('.s3.test', '..s3.test', 's3.test.', 'a..b.s3.test', '-.s3.test',
                  ('x' x 300) . '.s3.test', 'S3.TEST', '[::1]', '127.0.0.1:1')
    {
        my $r = raw_request($s, GET => '/', [Host => $host]);
        ok $r->{status} && $r->{status} < 500, "Host '" . substr($host, 0, 20) . "': $r->{status}";
    }
};

subtest 'a huge query' => sub {
    my $q = join '&', map { "p$_=v$_" } 1 .. 1500;
    my $r = s3($s, GET => "/h?$q");
    ok $r->{status} == 200 || $r->{status} == 414 || $r->{status} == 400,
        "1500 parameters: $r->{status}";
    $r = s3($s, GET => '/h?prefix=' . ('a' x 5000));
    ok $r->{status} == 200 || $r->{status} =~ /^4/, "a 5000-byte prefix: $r->{status}";
    $r = s3($s, GET => '/h?list-type=2&continuation-token=' . ('A' x 6000));
    ok $r->{status} =~ /^4/, "a 6000-byte token: $r->{status}";
    $r = s3($s, GET => '/h?prefix&prefix=a&prefix=b&delimiter&delimiter=/');
    ok $r->{status} =~ /^(200|400)$/, "repeated parameters: $r->{status}";
};

still_serving('after odd requests');

# ---------------------------------------------------------------- clients that leave

sub connect_and_send {
    my ($req) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s->port) or die;
    setsockopt($sock, Socket::SOL_SOCKET(), Socket::SO_RCVBUF(), 8192);
    print $sock $req;
    $sock->flush;
    return $sock;
}

subtest 'client leaves in the middle of a GetObject' => sub {
    my $size = 32 * 1024 * 1024;
    my $i = 0;
    my $r = s3($s, PUT => '/h/big', headers => { 'content-length' => $size },
               body => sub { $i++ < 32 ? ('B' x (1024 * 1024)) : undef });
    is $r->{status}, 200, '32 MiB object' or return;
    for my $n (1 .. 5) {
        my $sock = connect_and_send("GET /h/big HTTP/1.1\r\nHost: x\r\n\r\n");
        sysread($sock, my $buf, 4096);
        close $sock;
    }
    sleep 1;
    still_serving('after 5 abandoned GETs');
    my @cancelled = grep { /GetFile.*status=CANCELLED/ } split /\n/, $s->slurp($s->pfsd_log);
    cmp_ok scalar(@cancelled), '>=', 1, 'PFS saw the streams cancelled';
};

subtest 'client leaves in the middle of a listing' => sub {
    pfs_fill($s, 'h', 'master', 20000, '/many/k%05d');
    for (1 .. 5) {
        my $sock = connect_and_send("GET /h?prefix=many/ HTTP/1.1\r\nHost: x\r\n\r\n");
        close $sock;
    }
    sleep 0.5;
    my $r = s3($s, GET => '/h?prefix=many/&max-keys=5');
    is scalar(xvals($r, '//s:Contents/s:Key')), 5, 'listing still works';
    still_serving('after abandoned listings');
};

subtest 'client leaves after sending a PUT body' => sub {
    for my $n (1 .. 3) {
        my $data = "P$n" x 100000;
        my $sock = connect_and_send("PUT /h/left$n HTTP/1.1\r\nHost: x\r\nContent-Length: "
                                    . length($data) . "\r\n\r\n$data");
        close $sock;
    }
    sleep 1;
    for my $n (1 .. 3) {
        my $r = s3($s, GET => "/h/left$n");
        ok $r->{status} == 404 || $r->{content} eq "P$n" x 100000,
            "left$n: absent or whole ($r->{status})";
    }
    still_serving('after abandoned PUTs');
};

subtest 'pipelined requests on one connection' => sub {
    my $req = "GET /h/obj HTTP/1.1\r\nHost: x\r\n\r\n"
            . "HEAD /h/obj HTTP/1.1\r\nHost: x\r\n\r\n"
            . "GET /h/missing HTTP/1.1\r\nHost: x\r\n\r\n"
            . "GET /h?list-type=2&max-keys=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    my $r = raw_http($s, $req, timeout => 10);
    my @status = $r->{raw} =~ m{HTTP/1\.1 (\d{3}) }g;
    is_deeply \@status, [200, 200, 404, 200], 'four answers in order';
    is scalar(() = $r->{raw} =~ /x-amz-request-id/gi), 4, 'each with a request id';
};

# ---------------------------------------------------------------- workers

my @crash = grep { /exited on signal|\[alert\]/ } split /\n/, error_log_text($s);
is scalar(@crash), 0, 'no worker crashed, no alert' or diag join "\n", @crash;

$s->stop;
done_testing;
