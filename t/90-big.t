#!/usr/bin/perl
# Big objects (run with PFS_S3_TEST_BIG=1; about 10 GiB of disk, minutes):
#
#   - a 5 GiB PutObject and GetObject stream: the nginx worker's RSS grows by
#     less than 64 MiB while each runs, and the bytes and MD5 come back;
#   - a GET whose client reads nothing for a while: back-pressure holds
#     (the worker does not buffer the object);
#   - a 1 MiB Range read from a 1 GiB object: PFS sends a small multiple of
#     the range, not the rest of the file (pfsd logs bytes out per RPC).
#
# PFS_S3_TEST_BIG_GIB=N changes the 5 GiB size (for a quicker look).

use strict;
use warnings;
use lib 't/lib';
use PfsS3::Test;
use Digest::MD5;
use IO::Select;
use IO::Socket::INET;
use Socket ();
use POSIX ();
use Time::HiRes qw(sleep time);

plan skip_all => 'set PFS_S3_TEST_BIG=1 to run the big-object tests'
    unless $ENV{PFS_S3_TEST_BIG};

my $MiB = 1 << 20;
my $GIB = $ENV{PFS_S3_TEST_BIG_GIB} || 5;
my $BIG = $GIB * 1024 * $MiB;
my $RSS_LIMIT_KIB = 64 * 1024;

my $s = stack(workers => 1)->start;
make_bucket($s, 'big');
my ($worker) = wait_until(sub { my @w = worker_pids($s); @w ? $w[0] : 0 }, 10);
ok $worker, "nginx worker $worker";

# Deterministic content: MiB number i is 8 bytes of i then a fixed block,
# so no two MiB are equal (no deduplication helps) and any slice can be
# recomputed.
srand(20261124);
my $block = pack('N*', map { int rand 2**32 } 1 .. $MiB / 4);
sub mib { my ($i) = @_; return pack('Q>', $i) . substr($block, 8) }

sub slice {
    my ($off, $len) = @_;
    my $out = '';
    while ($len > 0) {
        my $i = int($off / $MiB);
        my $o = $off % $MiB;
        my $n = $MiB - $o < $len ? $MiB - $o : $len;
        $out .= substr(mib($i), $o, $n);
        $off += $n;
        $len -= $n;
    }
    return $out;
}

sub md5_of_size {
    my ($size) = @_;
    my $md5 = Digest::MD5->new;
    for my $i (0 .. $size / $MiB - 1) { $md5->add(mib($i)) }
    return $md5;
}

# Runs $code in a child while sampling the worker's RSS; returns the
# child's result (a line it prints) and the RSS growth in KiB.
sub with_rss {
    my ($code) = @_;
    my $base = rss_kib($worker);
    pipe my $rd, my $wr or die;
    my $pid = fork // die;
    if ($pid == 0) {
        close $rd;
        my $line = eval { $code->() } // "error: $@";
        print $wr $line;
        close $wr;
        POSIX::_exit(0);
    }
    close $wr;
    my $max = $base;
    while (waitpid($pid, POSIX::WNOHANG()) == 0) {
        my $r = rss_kib($worker) // 0;
        $max = $r if $r > $max;
        sleep 0.2;
    }
    local $/;
    my $line = <$rd>;
    return ($line, $max - $base, $base, $max);
}

# ---------------------------------------------------------------- 5 GiB PUT

my $t0 = time;
my $want = md5_of_size($BIG);
my $want_hex = $want->clone->hexdigest;
diag sprintf 'content MD5 %s computed in %.1fs', $want_hex, time - $t0;

$t0 = time;
my ($put, $put_growth, $put_base, $put_max) = with_rss(sub {
    my $i = 0;
    # nginx takes the whole body before it goes to PFS: the answer comes
    # minutes after the last byte, so the client waits for it that long
    my $r = s3($s, PUT => '/big/five', fresh => 1, timeout => 3600,
               headers => { 'content-length' => $BIG,
                            'content-md5' => MIME::Base64::encode_base64($want->clone->digest, '') },
               body => sub { return $i * $MiB < $BIG ? mib($i++) : undef });
    return "$r->{status} " . ($r->{headers}{etag} // '-') . " $r->{content}";
});
my $put_secs = time - $t0;
like $put, qr/^200 "$want_hex"/, "PUT $GIB GiB: 200 and ETag is the MD5";
cmp_ok $put_growth, '<', $RSS_LIMIT_KIB, 'worker RSS growth during the PUT';
diag sprintf 'PUT %d GiB: %.1fs (%.0f MiB/s), worker RSS %d -> %d KiB (+%d KiB)',
    $GIB, $put_secs, $BIG / $MiB / $put_secs, $put_base, $put_max, $put_growth;

# ---------------------------------------------------------------- 5 GiB GET

$t0 = time;
my ($get, $get_growth, $get_base, $get_max) = with_rss(sub {
    my $md5 = Digest::MD5->new;
    my $n = 0;
    my $r = s3($s, GET => '/big/five', fresh => 1, timeout => 600,
               data_callback => sub { $md5->add($_[0]); $n += length $_[0] });
    return "$r->{status} $n " . $md5->hexdigest;
});
my $get_secs = time - $t0;
is $get, "200 $BIG $want_hex", "GET $GIB GiB: every byte back";
cmp_ok $get_growth, '<', $RSS_LIMIT_KIB, 'worker RSS growth during the GET';
diag sprintf 'GET %d GiB: %.1fs (%.0f MiB/s), worker RSS %d -> %d KiB (+%d KiB)',
    $GIB, $get_secs, $BIG / $MiB / $get_secs, $get_base, $get_max, $get_growth;

# ---------------------------------------------------------------- back-pressure

subtest 'a client that stops reading does not make nginx buffer the object' => sub {
    my $base = rss_kib($worker);
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s->port)
        or die "connect: $!";
    setsockopt($sock, Socket::SOL_SOCKET(), Socket::SO_RCVBUF(), 65536);
    print $sock "GET /big/five HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    my $got = 0;
    my $sel = IO::Select->new($sock);
    while ($got < 4 * $MiB && $sel->can_read(10)) {
        my $n = sysread($sock, my $buf, 65536) or last;
        $got += $n;
    }
    my $max = $base;
    for (1 .. 25) {               # 5 s without reading
        my $r = rss_kib($worker);
        $max = $r if $r > $max;
        sleep 0.2;
    }
    cmp_ok $max - $base, '<', $RSS_LIMIT_KIB, 'RSS while the client sleeps';
    diag sprintf 'stalled client: worker RSS %d -> %d KiB', $base, $max;
    close $sock;
};

# ---------------------------------------------------------------- range read

subtest '1 MiB Range read from a 1 GiB object' => sub {
    my $size = 1024 * $MiB;
    my $i = 0;
    my $r = s3($s, PUT => '/big/one', fresh => 1,
               headers => { 'content-length' => $size },
               body => sub { return $i * $MiB < $size ? mib($i++) : undef });
    is $r->{status}, 200, 'PUT 1 GiB' or return;

    my $from = 300 * $MiB + 12345;
    $r = s3($s, GET => '/big/one', fresh => 1,
            headers => { Range => sprintf('bytes=%d-%d', $from, $from + $MiB - 1) });
    is $r->{status}, 206, 'status 206';
    is $r->{headers}{'content-range'}, sprintf('bytes %d-%d/%d', $from, $from + $MiB - 1, $size),
        'Content-Range';
    is length($r->{content}), $MiB, '1 MiB';
    ok $r->{content} eq slice($from, $MiB), 'the right bytes';

    my @lines;
    wait_until(sub {
        @lines = grep { m{GetFile} } split /\n/, $s->slurp($s->pfsd_log);
        @lines >= 3;      # GETs of five, of the stalled client, this one
    }, 20);
    my ($out) = ($lines[-1] // '') =~ /\bout=(\d+)/;
    ok defined $out, 'pfsd logged the GetFile bytes out' or diag $lines[-1];
    cmp_ok $out, '<', 64 * $MiB, 'PFS sent far less than the rest of the file';
    diag sprintf '1 MiB range of 1 GiB: PFS sent %d bytes (%.1f MiB) for GetFile', $out, $out / $MiB;
    diag "pfsd: $lines[-1]";
};

$s->stop;
done_testing;
