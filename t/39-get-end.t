#!/usr/bin/perl
# How a GetObject ends, over HTTP/1.1 and HTTP/2.  The object's bytes
# come in GetFile's DATA frames and whether PFS read the file whole only in
# its trailers (grpc-status), which may arrive later.  A proxy between
# nginx and pfsd passes pfsd's HTTP/2 frames on unchanged but holds back
# the trailers of GetFile (a stream with more than 64 KiB of DATA):
#
#   delay  the trailers come 1 s late: a client that closes the
#          connection or resets the stream as soon as it has Content-Length
#          bytes must still see a 200 that the access log records as
#          GetFile:OK (not a 499, CANCELLED), and its bytes are the object;
#   cut    the connection to PFS breaks instead of the trailers: every byte
#          of the file came, but PFS never said the read was whole, so the
#          client must not see a complete response.

use strict;
use warnings;
use lib 't/lib';
use PfsS3::Test;
use IO::Select;
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(sleep time);

my $SIZE = (1 << 20) + 12345;
my $body = join '', map { sprintf "%09d\n", $_ } 0 .. $SIZE / 10;
$body = substr($body, 0, $SIZE);

# ---------------------------------------------------------------- the proxy

sub readn {
    my ($fh, $n) = @_;
    my $buf = '';
    while (length $buf < $n) {
        my $got = sysread($fh, $buf, $n - length $buf, length $buf);
        return undef unless $got;
    }
    return $buf;
}

sub writeall {
    my ($fh, $buf) = @_;
    while (length $buf) {
        my $n = syswrite($fh, $buf) or return 0;
        substr($buf, 0, $n, '');
    }
    return 1;
}

# One client connection: nginx's bytes go to pfsd as they are; pfsd's go
# back frame by frame, with the trailers of large streams delayed or cut.
sub relay {
    my ($c, $to, $mode) = @_;
    my $u = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $to)
        or return;
    my $up = fork // return;
    if ($up == 0) {
        while (sysread($c, my $buf, 65536)) { writeall($u, $buf) or last }
        shutdown($u, 1);
        POSIX::_exit(0);
    }
    my %data;
    while (defined(my $h = readn($u, 9))) {
        my ($hi, $lo, $type, $flags, $sid) = unpack 'CnCCN', $h;
        my $len = ($hi << 16) | $lo;
        my $payload = $len ? readn($u, $len) : '';
        last unless defined $payload;
        $sid &= 0x7fffffff;
        $data{$sid} += $len if $type == 0;              # DATA
        if ($type == 1 && ($flags & 1)                  # HEADERS, END_STREAM
            && ($data{$sid} // 0) > 65536)
        {
            last if $mode eq 'cut';
            sleep 1;
        }
        writeall($c, $h . $payload) or last;
    }
    kill 'KILL', $up;
    waitpid $up, 0;
}

# Returns (pid, port) of a proxy to 127.0.0.1:$to.
sub proxy {
    my ($to, $mode) = @_;
    my $l = IO::Socket::INET->new(Listen => 16, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 1)
        or die "listen: $!";
    my $pid = fork // die;
    if ($pid == 0) {
        $SIG{CHLD} = 'IGNORE';
        while (my $c = $l->accept) {
            my $k = fork;
            if (defined $k && $k == 0) {
                close $l;
                relay($c, $to, $mode);
                POSIX::_exit(0);
            }
            close $c;
        }
        POSIX::_exit(0);
    }
    my $port = $l->sockport;
    close $l;
    return ($pid, $port);
}

# ---------------------------------------------------------------- clients

# HTTP/1.1 from a client that closes as soon as it has Content-Length
# bytes.  Returns (status, body, complete).
sub get_and_close {
    my ($port, $target, @headers) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port)
        or die "connect: $!";
    my $req = "GET $target HTTP/1.1\r\nHost: x\r\n";
    $req .= "$_\r\n" for @headers;
    writeall($sock, "$req\r\n");
    my $sel = IO::Select->new($sock);
    my ($raw, $len, $start) = ('', undef, undef);
    my $deadline = time + 60;
    while (time < $deadline) {
        if (!defined $start && (my $i = index($raw, "\r\n\r\n")) >= 0) {
            $start = $i + 4;
            ($len) = substr($raw, 0, $i) =~ /^content-length:\s*(\d+)/mi;
        }
        last if defined $start && length($raw) - $start >= ($len // 0);
        next unless $sel->can_read(0.2);
        sysread($sock, my $buf, 65536) or last;
        $raw .= $buf;
    }
    close $sock;
    my ($status) = $raw =~ m{^HTTP/1\.1 (\d+)};
    my $got = defined $start ? substr($raw, $start) : '';
    return ($status // 0, $got, defined $len && length($got) == $len);
}

# HTTP/2 (prior knowledge, as over TLS with ALPN) with curl, which resets
# the stream when it has Content-Length bytes.  Returns (exit, http code,
# bytes).
sub curl_h2 {
    my ($port, $target, $out) = @_;
    my $cmd = join ' ', 'curl', '-sS', '--max-time', '60',
        '--http2-prior-knowledge', '-o', $out, '-w', "'%{http_version} %{http_code}'",
        "'http://127.0.0.1:$port$target'";
    my $w = `$cmd 2>&1`;
    my $bytes = do { local $/; open my $fh, '<', $out; <$fh> } // '';
    return ($? >> 8, $w, $bytes);
}

# The stack with the proxy in its mode, and the object at /ends/$key.
sub stack_via_proxy {
    my ($mode, $key) = @_;
    my $h2port = PfsS3::Stack::free_port();
    my $s = stack(server => "        listen 127.0.0.1:$h2port http2;");
    $s->start_pfsd;
    my ($ppid, $pport) = proxy($s->pfsd_port, $mode);
    $s->{conf} = $s->default_conf =~ s/%%PFSD%%/127.0.0.1:$pport/r;
    $s->start_nginx;
    make_bucket($s, 'ends');
    put_object($s, 'ends', $key, $body);
    return ($s, $h2port, $ppid);
}

sub stop_all {
    my ($s, $ppid) = @_;
    $s->stop;
    kill 'TERM', $ppid;
    waitpid $ppid, 0;
}

# The raw access log line of the first request that matches $re.
sub log_line {
    my ($s, $re) = @_;
    my $l = access_log_line($s, $re, 20);
    return $l ? $l->{line} : '';
}

# ---------------------------------------------------------------- delay

subtest 'trailers after the last byte: the GET still ends whole' => sub {
    my ($s, $h2port, $ppid) = stack_via_proxy('delay', 'whole');

    my ($st, $got, $complete) = get_and_close($s->port, '/ends/whole');
    is $st, 200, 'HTTP/1.1: 200';
    ok $complete && $got eq $body, 'HTTP/1.1: every byte';
    like log_line($s, qr{"GET /ends/whole HTTP/1\.1"}),
        qr{ 200 $SIZE .*pfs=InspectFile:OK,GetFile:OK$},
        'HTTP/1.1: logged 200, GetFile:OK';

    ($st, $got, $complete) = get_and_close($s->port, '/ends/whole?r', 'Range: bytes=1000-');
    is $st, 206, 'HTTP/1.1 range to the end: 206';
    ok $complete && $got eq substr($body, 1000), '  its bytes';
    like log_line($s, qr{"GET /ends/whole\?r HTTP/1\.1"}),
        qr{ 206 ${\ ($SIZE - 1000)} .*pfs=InspectFile:OK,GetFile:OK$},
        '  logged 206, GetFile:OK';

    my ($rc, $w, $bytes) = curl_h2($h2port, '/ends/whole?h2', $s->dir . '/h2.out');
    is "$rc $w", '0 2 200', 'HTTP/2: curl says 200';
    ok $bytes eq $body, 'HTTP/2: every byte';
    like log_line($s, qr{"GET /ends/whole\?h2 HTTP/2\.0"}),
        qr{ 200 $SIZE .*pfs=InspectFile:OK,GetFile:OK$},
        'HTTP/2: logged 200, GetFile:OK';

    stop_all($s, $ppid);
};

# ---------------------------------------------------------------- cut

subtest 'no trailers after the last byte: the GET never looks whole' => sub {
    my ($s, $h2port, $ppid) = stack_via_proxy('cut', 'cut');

    my ($st, $got, $complete) = get_and_close($s->port, '/ends/cut');
    is $st, 200, 'HTTP/1.1: the status line had gone out';
    ok !$complete, 'HTTP/1.1: the body is short of Content-Length'
        or diag length($got) . " bytes";
    ok length($got) < $SIZE && $got eq substr($body, 0, length $got),
        '  what came is the start of the object';

    my ($rc, $w, $bytes) = curl_h2($h2port, '/ends/cut?h2', $s->dir . '/h2.out');
    isnt $rc, 0, 'HTTP/2: curl reports an error' or diag $w;
    ok length($bytes) < $SIZE, '  and has less than the object';

    like $s->slurp($s->error_log),
        qr{pfs_s3: GetFile ended after \d+ of $SIZE bytes without a gRPC status},
        'the error log says GetFile ended short of its status';

    stop_all($s, $ppid);
};

done_testing;
