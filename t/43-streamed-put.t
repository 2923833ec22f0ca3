#!/usr/bin/perl
# PutObject and UploadPart bodies larger than client_body_buffer_size are
# streamed to PFS as they arrive, never written to client_body_temp_path:
# the bytes round-trip, digests are still verified (a failed one breaks the
# ModifyFile off, so PFS commits nothing), a client or a PFS that goes away
# mid-body leaves no object and no commit, and the connection stays usable
# after a streamed body.  pfs_s3_request_buffering on restores buffering.

use strict;
use warnings;
use lib 't/lib';
use PfsS3::Test;
use IO::Socket::INET;
use Time::HiRes qw(sleep);
use Compress::Zlib ();
use MIME::Base64 qw(encode_base64);

# A client_body_temp_path that is a file once nginx runs: a body nginx
# tried to buffer in a temporary file would fail, so a stored large object
# proves it was streamed.
my $NO_TEMP = "client_body_buffer_size 64k;\n"
            . "            client_body_temp_path %%DIR%%/no-temp;";

sub start_without_temp {
    my $st = stack(@_)->start;
    my $dir = $st->dir . '/no-temp';
    rmdir $dir or die "$dir: $!";
    open my $fh, '>', $dir or die "$dir: $!";
    close $fh;
    return $st;
}

my $s = start_without_temp(location => $NO_TEMP);
make_bucket($s, 'st');

sub get_body { my $r = s3($s, GET => '/st/' . $_[0]); return $r->{status} == 200 ? $r->{content} : undef }

# ModifyFile calls pfsd logged as cancelled: a stream broken off
sub cancelled_modifies {
    my $n = () = $s->slurp($s->pfsd_log) =~ /ModifyFile .*status=CANCELLED/g;
    return $n;
}

sub bytes { my ($n, $seed) = @_; my $b = ''; $b .= pack('N', $_ * 2654435761 + $seed) for 1 .. $n / 4; return $b }

my $BIG = bytes(3 * 1024 * 1024 + 4, 1);

subtest 'a body larger than the buffer is streamed, bytes intact' => sub {
    my $r = s3($s, PUT => '/st/big', body => $BIG);
    is $r->{status}, 200, 'stored although client_body_temp_path cannot be written'
        or diag $r->{content};
    is $r->{headers}{etag}, '"' . md5_hex($BIG) . '"', 'ETag is the MD5';
    is $r->{headers}{'x-amz-version-id'}, head_commit($s, 'st'), 'version is the new head';
    ok get_body('big') eq $BIG, 'the same bytes back';

    my $small = 'x' x 1000;
    is s3($s, PUT => '/st/small', body => $small)->{status}, 200, 'a small body (kept in memory)';
    is get_body('small'), $small, 'its bytes';

    my $huge = bytes(40 * 1024 * 1024, 7);
    $r = s3($s, PUT => '/st/huge', body => $huge);
    is $r->{status}, 200, '40 MiB through a 64 KiB buffer';
    is $r->{headers}{etag}, '"' . md5_hex($huge) . '"', 'its ETag';
    is md5_hex(get_body('huge') // ''), md5_hex($huge), 'its bytes';
};

subtest 'a slow client: one message per buffer nginx fills, not per read' => sub {
    my $data = bytes(1024 * 1024, 10);
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s->port) or die;
    binmode $sock;
    syswrite $sock, "PUT /st/slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                  . "Content-Length: " . length($data) . "\r\n\r\n";
    for (my $i = 0; $i < length $data; $i += 4096) {
        syswrite $sock, substr($data, $i, 4096);
        sleep 0.002;
    }
    my ($raw) = PfsS3::Test::read_until_close($sock, 30);
    like $raw, qr{^HTTP/1\.1 200 }, 'stored';
    ok get_body('slow') eq $data, 'the bytes';
    # pfsd logs the bytes a call received: the body, its first messages
    # and some 20 bytes of framing per add_file message
    my ($line) = reverse grep { /ModifyFile .*status=OK/ } split /\n/, $s->slurp($s->pfsd_log);
    my ($in) = ($line // '') =~ / in=(\d+)/;
    my $framing = $in - length $data;
    cmp_ok $framing, '<', 2000,
        "about 16 messages of 64 KiB, not 256 of 4 KiB ($framing bytes of framing)";
};

subtest 'overwrite of a streamed object replaces it' => sub {
    my $next = bytes(2 * 1024 * 1024, 2);
    is s3($s, PUT => '/st/big', body => $next)->{status}, 200;
    ok get_body('big') eq $next, 'only the new bytes';
    is s3($s, HEAD => '/st/big')->{headers}{'content-length'}, length $next, 'size';
    is s3($s, PUT => '/st/big', body => $BIG)->{status}, 200, 'and back';
};

subtest 'a failed digest breaks the stream off: nothing committed' => sub {
    my $head = head_commit($s, 'st');
    my $cancelled = cancelled_modifies();
    my $wrong = bytes(length $BIG, 3);

    my $r = s3($s, PUT => '/st/big', body => $wrong,
               headers => { 'Content-MD5' => md5_b64($BIG) });
    is_s3_error($r, 400, 'BadDigest', 'Content-MD5 of other bytes');

    $r = s3($s, PUT => '/st/fresh', body => $wrong,
            headers => { 'x-amz-content-sha256' => sha256_hex($BIG) });
    is_s3_error($r, 400, 'XAmzContentSHA256Mismatch', 'x-amz-content-sha256 of other bytes');

    ok get_body('big') eq $BIG, 'the old object is intact';
    is s3($s, HEAD => '/st/fresh')->{status}, 404, 'no new object';
    is head_commit($s, 'st'), $head, 'no commit';
    wait_until(sub { cancelled_modifies() >= $cancelled + 2 }, 5);
    is cancelled_modifies(), $cancelled + 2, 'both ModifyFile streams were started and broken off';

    $r = s3($s, PUT => '/st/md5ok', body => $BIG,
            headers => { 'Content-MD5' => md5_b64($BIG), 'x-amz-content-sha256' => sha256_hex($BIG) });
    is $r->{status}, 200, 'right digests: stored';
};

subtest 'a client that disconnects mid-body stores nothing' => sub {
    my $head = head_commit($s, 'st');
    my $cancelled = cancelled_modifies();
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s->port) or die;
    print $sock "PUT /st/big HTTP/1.1\r\nHost: x\r\nContent-Length: " . (2 * length $BIG)
              . "\r\n\r\n" . $BIG;
    $sock->flush;
    sleep 0.5;
    close $sock;
    wait_until(sub { cancelled_modifies() > $cancelled }, 5);
    is cancelled_modifies(), $cancelled + 1, 'the ModifyFile was started, then cancelled';
    ok get_body('big') eq $BIG, 'the old object is intact';
    is head_commit($s, 'st'), $head, 'no commit';
};

subtest 'PFS gone mid-body: an S3 error, nothing committed' => sub {
    my $head = head_commit($s, 'st');
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s->port) or die;
    binmode $sock;
    print $sock "PUT /st/big HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: "
              . (2 * length $BIG) . "\r\n\r\n" . $BIG;
    $sock->flush;
    sleep 0.5;
    $s->stop_pfsd;
    local $SIG{PIPE} = 'IGNORE';
    print $sock $BIG;
    $sock->flush;
    my ($raw) = PfsS3::Test::read_until_close($sock, 30);
    close $sock;
    like $raw, qr{^HTTP/1\.1 5\d\d }, 'a 5xx answer';
    like $raw, qr{<Code>InternalError</Code>|<Code>ServiceUnavailable</Code>}, 'with an S3 error body';
    $s->start_pfsd;
    ok get_body('big') eq $BIG, 'the old object is intact after the restart';
    is head_commit($s, 'st'), $head, 'no commit';
};

subtest 'the connection goes on after a streamed body' => sub {
    my $b2 = bytes(200 * 1024, 4);
    my $req = "PUT /st/pipe HTTP/1.1\r\nHost: x\r\nContent-Length: " . length($b2) . "\r\n\r\n" . $b2
            . "GET /st/pipe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    my $r = raw_http($s, $req);
    my @status = $r->{raw} ? ($r->{raw} =~ m{^HTTP/1\.1 (\d+)}mg) : ();
    is_deeply \@status, [200, 200], 'PUT and the pipelined GET both answered';
    ok index($r->{raw} // '', $b2) > 0, 'the GET returned the bytes';
};

subtest 'Expect: 100-continue with a streamed body' => sub {
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s->port) or die;
    binmode $sock;
    print $sock "PUT /st/cont HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nConnection: close\r\n"
              . "Content-Length: " . length($BIG) . "\r\n\r\n";
    $sock->flush;
    my $line = <$sock>;
    like $line, qr{^HTTP/1\.1 100 }, '100 Continue first';
    <$sock>;
    print $sock $BIG;
    $sock->flush;
    my ($raw) = PfsS3::Test::read_until_close($sock, 30);
    like $raw, qr{^HTTP/1\.1 200 }, 'then 200';
    ok get_body('cont') eq $BIG, 'stored';
};

# an upload as the AWS SDKs stream one: aws-chunked, unsigned, a CRC-32
# trailer
sub aws_chunked_put {
    my ($key, $data, $crc_of) = @_;
    my $body = '';
    for (my $i = 0; $i < length $data; $i += 65536) {
        my $c = substr($data, $i, 65536);
        $body .= sprintf("%x\r\n", length $c) . $c . "\r\n";
    }
    my $crc = encode_base64(pack('N', Compress::Zlib::crc32($crc_of // $data)), '');
    $body .= "0\r\nx-amz-checksum-crc32:$crc\r\n\r\n";
    return s3($s, PUT => "/st/$key", body => $body, headers => {
        'Content-Encoding' => 'aws-chunked',
        'x-amz-content-sha256' => 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
        'x-amz-decoded-content-length' => length $data,
        'x-amz-trailer' => 'x-amz-checksum-crc32',
    });
}

subtest 'aws-chunked bodies are streamed, their trailer checked' => sub {
    my $data = bytes(3 * 1024 * 1024 + 100, 8);
    my $r = aws_chunked_put('chunked', $data);
    is $r->{status}, 200, 'stored although client_body_temp_path cannot be written'
        or diag $r->{content};
    is $r->{headers}{etag}, '"' . md5_hex($data) . '"', 'ETag of the decoded bytes';
    ok get_body('chunked') eq $data, 'the decoded bytes back';

    my $head = head_commit($s, 'st');
    my $cancelled = cancelled_modifies();
    $r = aws_chunked_put('chunked', bytes(length $data, 9), $data);
    is_s3_error($r, 400, 'BadDigest', 'a trailer checksum of other bytes');
    ok get_body('chunked') eq $data, 'the object is intact';
    is head_commit($s, 'st'), $head, 'no commit';
    wait_until(sub { cancelled_modifies() > $cancelled }, 5);
    is cancelled_modifies(), $cancelled + 1, 'its ModifyFile was broken off';
};

subtest 'UploadPart bodies are streamed too' => sub {
    my $id = create_upload($s, 'st', 'mp');
    my $r;
    my @parts = (bytes(5 * 1024 * 1024, 5), bytes(1024 * 1024 + 8, 6));
    my @etags;
    for my $n (1, 2) {
        $r = upload_part($s, 'st', 'mp', $id, $n, $parts[$n - 1]);
        is $r->{status}, 200, "part $n" or diag $r->{content};
        is $r->{headers}{etag}, '"' . md5_hex($parts[$n - 1]) . '"', "part $n ETag";
        push @etags, $r->{headers}{etag};
    }
    $r = upload_part($s, 'st', 'mp', $id, 3, $parts[0],
                     headers => { 'Content-MD5' => md5_b64($parts[1]) });
    is_s3_error($r, 400, 'BadDigest', 'a part with a wrong Content-MD5');
    $r = s3($s, GET => "/st/mp?uploadId=$id");
    is xcount($r, '//s:Part'), 2, 'ListParts: the failed part is not there';

    my $xml = '<CompleteMultipartUpload>'
            . join('', map { "<Part><PartNumber>$_</PartNumber><ETag>$etags[$_ - 1]</ETag></Part>" } 1, 2)
            . '</CompleteMultipartUpload>';
    $r = s3($s, POST => "/st/mp?uploadId=$id", body => $xml);
    is $r->{status}, 200, 'Complete' or diag $r->{content};
    ok get_body('mp') eq $parts[0] . $parts[1], 'the object is both parts';
};

subtest 'pfs_s3_request_buffering on: bodies go to client_body_temp_path again' => sub {
    my $b = start_without_temp(location => "$NO_TEMP\n            pfs_s3_request_buffering on;");
    make_bucket($b, 'bu');
    my $r = s3($b, PUT => '/bu/small', body => 'x' x 1000);
    is $r->{status}, 200, 'a body that fits the buffer';
    $r = s3($b, PUT => '/bu/big', body => $BIG);
    is $r->{status}, 500, 'a larger one needs the temporary file it cannot create';
    like $b->slurp($b->error_log), qr{no-temp/\d+" failed}, 'nginx says so';
    $b->stop;
};

done_testing;
