#!/usr/bin/perl
# Faults injected into a running gateway, each checked as a client and an
# operator would: pfsd killed (-9) in the middle of a PUT and of a GET, PFS
# gone, PFS back on fresh connections, nginx reloaded during transfers,
# pfsd's disk full, what a 200 acknowledged surviving kill -9, and kill -9
# during a CompleteMultipartUpload.
# (PFS stopped cleanly and silent PFS are t/50-backend.t; kill -9 at the
# gRPC level is t/pfsd/21-durability.t.)

use strict;
use warnings;
use lib 't/lib';
use PfsS3::Test;
use IO::Select;
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(time sleep);

my $MiB = 1024 * 1024;

# Bytes that differ in every 64 KiB (so that no chunk is stored once for
# several places: the disk really fills) and from one seed to another.
my $BASE = join '', map { pack 'N', $_ * 2654435761 } 0 .. 16383;
sub blob {
    my ($size, $seed) = @_;
    my $s = join '', map { pack('NN', $seed, $_) . substr($BASE, 8) }
                     0 .. int($size / length $BASE);
    return substr($s, 0, $size);
}

sub pack_bytes {
    my ($s) = @_;
    my $n = 0;
    for my $f (glob($s->pfsd_data . '/packs/*')) { $n += -s $f // 0 }
    return $n;
}

sub open_commits {
    my ($s, $repo) = @_;
    my $r = pfs($s, 'ListCommit', { repo => repo_ref($repo) });
    die "ListCommit: $r->{message}\n" if $r->{code};
    return grep { !$_->{finished} } @{ $r->{responses} };
}

sub connect_nginx {
    my ($s) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s->port)
        or die "connect: $!";
    return $sock;
}

# Reads from a socket until it closes or the timeout; returns the bytes.
sub drain {
    my ($sock, $timeout, $got) = @_;
    $got //= '';
    my $sel = IO::Select->new($sock);
    my $t0 = time;
    while (time - $t0 < $timeout && $sel->can_read($timeout - (time - $t0))) {
        my $n = sysread($sock, $got, 1 << 20, length $got);
        last unless $n;
    }
    return $got;
}

# ---------------------------------------------------------------- PUT

subtest 'kill -9 of pfsd while it receives a PUT' => sub {
    my $s = stack()->start;
    make_bucket($s, 'kp');
    my $old = blob(1000, 1);
    put_object($s, 'kp', 'obj', $old);

    my $new = blob(96 * $MiB, 2);
    my $base = pack_bytes($s);
    my $sock = connect_nginx($s);
    PfsS3::Test::syswrite_all($sock, "PUT /kp/obj HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                     . "Content-Length: " . length($new) . "\r\n\r\n$new");

    # nginx has the whole body; kill pfsd once it is storing the object
    my $t0 = time;
    my $killed;
    while (time - $t0 < 20) {
        if (pack_bytes($s) > $base + 8 * $MiB) {
            $s->stop_pfsd('KILL');
            $killed = 1;
            last;
        }
        sleep 0.002;
    }
    ok $killed, 'pfsd killed while it was storing the body';
    my $t1 = time;
    my $res = PfsS3::Test::parse_response(drain($sock, 20));
    close $sock;
    cmp_ok $res->{status}, '>=', 500, "the client gets a 5xx ($res->{status})";
    like $res->{content}, qr{<Error><Code>\w+</Code>}, 'as an S3 error document';
    # no waiting for a timeout (nginx's gRPC timeouts are 60 s): a bound
    # for a hang, not a speed
    cmp_ok time - $t1, '<', 20, 'no hang';

    $s->start_pfsd;
    my $r = s3($s, GET => '/kp/obj');
    is $r->{status}, 200, 'after restart the key reads';
    ok $r->{content} eq $old, 'with the old bytes: no partial new object';
    is scalar(open_commits($s, 'kp')), 0, 'no commit left open';
    put_object($s, 'kp', 'obj', $new);
    ok s3($s, GET => '/kp/obj')->{content} eq $new, 'the same PUT again succeeds';
    $s->stop;
};

# ---------------------------------------------------------------- GET

subtest 'kill -9 of pfsd during a GET' => sub {
    my $s = stack()->start;
    make_bucket($s, 'kg');
    my $body = blob(48 * $MiB, 3);
    put_object($s, 'kg', 'big', $body);

    my $sock = connect_nginx($s);
    PfsS3::Test::syswrite_all($sock, "GET /kg/big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    my $got = '';
    my $sel = IO::Select->new($sock);
    while (length($got) < 2 * $MiB && $sel->can_read(10)) {
        sysread($sock, $got, 65536, length $got) or last;
    }
    $s->stop_pfsd('KILL');
    $got = drain($sock, 20, $got);
    close $sock;

    my ($head, $data) = split /\r\n\r\n/, $got, 2;
    like $head, qr{^HTTP/1.1 200}, 'the transfer had started (200)';
    my ($len) = $head =~ /Content-Length: (\d+)/i;
    is $len, length $body, 'announcing the whole object';
    cmp_ok length($data), '<', $len, 'the connection closed short of Content-Length: '
        . length($data) . " of $len bytes, a failure any client sees";
    ok $data eq substr($body, 0, length $data), 'what came was the right bytes';

    my $t0 = time;
    my $r = s3($s, GET => '/kg/big');
    is_s3_error($r, 503, 'ServiceUnavailable', 'while pfsd is dead: 503');
    cmp_ok time - $t0, '<', 20, 'no hang';

    # keepalive connections to the dead pfsd are in nginx's cache: the first
    # request after the restart must not fail on them
    $s->start_pfsd;
    $r = s3($s, GET => '/kg/big');
    is $r->{status}, 200, 'the very first request after the restart succeeds';
    ok $r->{content} eq $body, 'with every byte';
    $s->stop;
};

# ---------------------------------------------------------------- acknowledged

subtest 'a PUT acknowledged with 200 survives kill -9' => sub {
    my $s = stack()->start;
    make_bucket($s, 'ka');
    my %want;
    for my $i (1 .. 20) {
        my $b = blob(1000 + $i * 37_000, 10 + $i);
        my $r = put_object($s, 'ka', "k$i", $b);
        is $r->{headers}{etag}, '"' . md5_hex($b) . '"', "k$i: ETag is the MD5" if $i == 1;
        $want{"k$i"} = $b;
    }
    $s->stop_pfsd('KILL');
    $s->start_pfsd;
    my $bad = 0;
    for my $k (sort keys %want) {
        my $r = s3($s, GET => "/ka/$k");
        $bad++ unless $r->{status} == 200 && $r->{content} eq $want{$k};
    }
    is $bad, 0, '20 acknowledged objects, each read back byte for byte after kill -9';
    is scalar(open_commits($s, 'ka')), 0, 'no commit left open';
    $s->stop;
};

# ---------------------------------------------------------------- multipart

# kill -9 at several moments of a CompleteMultipartUpload (its five PFS
# calls take a few milliseconds: the delays land before, inside and after
# them); after each restart the object is whole or absent, no commit is
# open, and the upload is still there to complete or abort, or gone with
# the object whole.
subtest 'kill -9 of pfsd during CompleteMultipartUpload' => sub {
    my $s = stack()->start;
    make_bucket($s, 'kc');
    my @parts = (blob(5 * $MiB, 31), blob(5 * $MiB, 32), blob(4321, 33));
    my $whole = join '', @parts;
    my %seen;

    for my $delay (0, 0.001, 0.003, 0.006, 0.01, 0.02, 0.05) {
        my $key = "obj-$delay";
        my $r = s3($s, POST => "/kc/$key?uploads");
        my $id = xval($r, '/s:InitiateMultipartUploadResult/s:UploadId');
        my @etags;
        for my $n (1 .. 3) {
            $r = s3($s, PUT => "/kc/$key?partNumber=$n&uploadId=$id", body => $parts[$n - 1]);
            push @etags, $r->{headers}{etag};
        }
        my $xml = '<CompleteMultipartUpload>'
                . join('', map { "<Part><PartNumber>$_</PartNumber><ETag>$etags[$_ - 1]</ETag></Part>" }
                           1 .. 3)
                . '</CompleteMultipartUpload>';

        my $sock = connect_nginx($s);
        PfsS3::Test::syswrite_all($sock, "POST /kc/$key?uploadId=$id HTTP/1.1\r\nHost: x\r\n"
            . "Connection: close\r\nContent-Length: " . length($xml) . "\r\n\r\n$xml");
        sleep $delay;
        $s->stop_pfsd('KILL');
        my $res = PfsS3::Test::parse_response(drain($sock, 20));
        close $sock;
        my $st = $res->{status} // 0;
        ok $st == 200 || ($st >= 500 && $res->{content} =~ m{<Error><Code>\w+</Code>}),
            "after ${delay}s: the client gets 200 or a 5xx S3 error ($st)";

        $s->start_pfsd;
        my $obj = s3($s, GET => "/kc/$key");
        my $left = s3($s, GET => "/kc/$key?uploadId=$id");
        ok $obj->{status} == 404 || ($obj->{status} == 200 && $obj->{content} eq $whole),
            "after ${delay}s: the object is absent or whole ($obj->{status})";
        ok $obj->{status} == 200, '... and whole, since the client had its 200'
            if $st == 200;
        is scalar(open_commits($s, 'kc')), 0, '... no commit open in the bucket';
        is scalar(open_commits($s, '_s3gateway_multipart_')), 0,
            '... nor in the multipart repo';

        if ($obj->{status} == 404) {
            $seen{before}++;
            is xcount($left, '/s:ListPartsResult/s:Part'), 3,
                '... the upload is still there with its three parts';
            $r = s3($s, POST => "/kc/$key?uploadId=$id", body => $xml);
            is $r->{status}, 200, '... and completes now';
            ok s3($s, GET => "/kc/$key")->{content} eq $whole, '... into the whole object';
        } elsif ($left->{status} == 200) {
            $seen{between}++;
            is s3($s, DELETE => "/kc/$key?uploadId=$id")->{status}, 204,
                '... the upload left behind can be aborted';
            ok s3($s, GET => "/kc/$key")->{content} eq $whole, '... the object stays whole';
        } else {
            $seen{after}++;
            is_s3_error($left, 404, 'NoSuchUpload', '... the completed upload is gone');
        }
        is s3($s, GET => "/kc/$key?uploadId=$id")->{status}, 404, '... and the upload is gone now';
    }
    diag 'kill -9 during Complete: ' . join(', ', map { "$_ $seen{$_}" } sort keys %seen);
    $s->stop;
};

# ---------------------------------------------------------------- down

subtest 'pfsd killed: fast 503 for every operation, no hang' => sub {
    my $s = stack()->start;
    make_bucket($s, 'kd');
    put_object($s, 'kd', 'o', 'x');
    $s->stop_pfsd('KILL');
    for my $req ([GET => '/'], [GET => '/kd/o'], [PUT => '/kd/o2', 'yy'],
                 [DELETE => '/kd/o'], [GET => '/kd?list-type=2'], [PUT => '/kd2'])
    {
        my ($m, $t, $b) = @$req;
        my $t0 = time;
        my $r = s3($s, $m => $t, defined $b ? (body => $b) : ());
        is_s3_error($r, 503, 'ServiceUnavailable', "$m $t");
        cmp_ok time - $t0, '<', 20, "$m $t: no hang (nginx's gRPC timeouts are 60 s)";
    }
    $s->start_pfsd;
    is s3($s, GET => '/kd/o')->{content}, 'x', 'back: the object is there';
    is s3($s, HEAD => '/kd/o2')->{status}, 404, 'the refused PUT left nothing';
    $s->stop;
};

# ---------------------------------------------------------------- reload

subtest 'nginx reload during transfers' => sub {
    my $s = stack(workers => 2)->start;
    make_bucket($s, 'rl');
    my $big = blob(40 * $MiB, 5);
    put_object($s, 'rl', 'big', $big);
    my $up = blob(40 * $MiB, 6);

    # a slow reader of a GET and a slow writer of a PUT
    my $g = connect_nginx($s);
    PfsS3::Test::syswrite_all($g, "GET /rl/big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    my $got = '';
    my $sel = IO::Select->new($g);
    while (length($got) < $MiB && $sel->can_read(10)) {
        sysread($g, $got, 65536, length $got) or last;
    }
    my $p = connect_nginx($s);
    PfsS3::Test::syswrite_all($p, "PUT /rl/up HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                  . "Content-Length: " . length($up) . "\r\n\r\n"
                                  . substr($up, 0, 10 * $MiB));

    my @old = worker_pids($s);
    $s->reload_nginx;
    ok wait_until(sub { my %o = map { $_ => 1 } @old;
                        scalar grep { !$o{$_} } worker_pids($s) }, 10),
        'new workers started';

    PfsS3::Test::syswrite_all($p, substr($up, 10 * $MiB));
    my $pres = PfsS3::Test::parse_response(drain($p, 60));
    is $pres->{status}, 200, 'the PUT begun before the reload completes';
    is $pres->{headers}{etag}, '"' . md5_hex($up) . '"', 'with the right ETag';

    $got = drain($g, 60, $got);
    my ($head, $data) = split /\r\n\r\n/, $got, 2;
    like $head, qr{^HTTP/1.1 200}, 'the GET begun before the reload';
    ok length($data) == length($big) && $data eq $big, 'delivered every byte';

    ok wait_until(sub { !grep { kill 0, $_ } @old }, 20), 'old workers exited after';
    ok s3($s, GET => '/rl/up')->{content} eq $up, 'new workers serve the new object';
    $s->stop;
};

# ---------------------------------------------------------------- disk full

SKIP: {
    my $s = stack();
    my $data = $s->pfsd_data;
    mkdir $data;
    my $out = `mount -t tmpfs -o size=64m pfs-s3-test $data 2>&1`;
    skip "cannot mount a 64 MiB tmpfs for pfsd's data (needs root): $out", 1 if $?;

    subtest "pfsd's disk full" => sub {
        $s->start;
        make_bucket($s, 'df');
        my (%kept, $failed, $ok);
        for my $i (1 .. 20) {
            my $b = blob(8 * $MiB, 100 + $i);
            my $r = s3($s, PUT => "/df/o$i", body => $b);
            if ($r->{status} == 200) {
                $kept{"o$i"} = $b;
                next;
            }
            $failed = $r;
            last;
        }
        ok $failed, 'a PUT fails once the disk is full (' . scalar(keys %kept) . ' fitted)';
        if ($failed) {
            cmp_ok $failed->{status}, '>=', 500, "with a 5xx ($failed->{status})";
            like $failed->{content}, qr{<Error><Code>(\w+)</Code>}, 'as an S3 error';
            my ($code) = $failed->{content} =~ m{<Code>(\w+)</Code>};
            diag "disk full answers $failed->{status} $code: "
                . ($failed->{content} =~ m{<Message>(.*?)</Message>})[0];
        }
        my $bad = grep { s3($s, GET => "/df/$_")->{content} ne $kept{$_} } keys %kept;
        is $bad, 0, 'every object stored before reads back intact';
        is scalar(open_commits($s, 'df')), 0, 'no commit left open';

        $s->stop_pfsd('KILL');
        $s->start_pfsd;
        $bad = grep { s3($s, GET => "/df/$_")->{content} ne $kept{$_} } keys %kept;
        is $bad, 0, 'and after kill -9 and a restart on the full disk';
        my $last = (sort { $a <=> $b } map { /(\d+)/ } keys %kept)[-1] // 0;
        is s3($s, HEAD => '/df/o' . ($last + 1))->{status}, 404,
            'the failed PUT left no object';
        $s->stop;
    };
    system('umount', '-l', $data);
}

done_testing;
