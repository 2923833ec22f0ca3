#!/usr/bin/perl
# PFS unreachable, gone, or silent: the client gets a fast 503
# ServiceUnavailable in S3 XML (no body for HEAD), never nginx's HTML page
# or a hang; when PFS comes back, requests work again.  With PFS auth on,
# the token comes from pfs_s3_pfs_token only: nothing the client sends
# reaches PFS.

use strict;
use warnings;
use lib 't/lib';
use PfsS3::Test;
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(time);

sub timed {
    my ($code) = @_;
    my $t0 = time;
    my $r = $code->();
    return ($r, time - $t0);
}

sub is_unavailable {
    my ($r, $secs, $name) = @_;
    is_s3_error($r, 503, 'ServiceUnavailable', $name);
    cmp_ok $secs, '<', 5, "$name: answered in ${\ sprintf '%.2f', $secs}s";
}

# ---------------------------------------------------------------- refused

subtest 'nothing listens where PFS should be' => sub {
    my $dead = PfsS3::Stack::free_port();
    my $s = stack(no_pfsd => 1, pfsd_upstream => "127.0.0.1:$dead")->start;

    is_unavailable(timed(sub { s3($s, GET => '/') }), 'ListBuckets');
    is_unavailable(timed(sub { s3($s, PUT => '/b') }), 'CreateBucket');
    is_unavailable(timed(sub { s3($s, GET => '/b/k') }), 'GetObject');
    is_unavailable(timed(sub { s3($s, GET => '/b?list-type=2') }), 'ListObjectsV2');
    is_unavailable(timed(sub { s3($s, PUT => '/b/k', body => 'x' x 100) }), 'PutObject');
    is_unavailable(timed(sub { s3($s, DELETE => '/b/k') }), 'DeleteObject');

    my ($r, $t) = timed(sub { s3($s, HEAD => '/b/k') });
    is $r->{status}, 503, 'HeadObject: 503';
    is $r->{content}, '', 'HeadObject: no body';
    ok $r->{rid}, 'HeadObject: request id';

    subtest 'a PUT with Expect: 100-continue is refused before its body' => sub {
        my $res = raw_http($s, "PUT /b/k HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n"
                             . "Expect: 100-continue\r\nConnection: close\r\n\r\n",
                           timeout => 10);
        is $res->{status}, 503, 'final status without sending the body';
        unlike $res->{raw}, qr/^HTTP\/1.1 100/, 'no 100 Continue';
    };

    my @log = access_log_lines($s);
    ok scalar(grep { ($_->{error} // '') eq 'ServiceUnavailable' } @log),
        '$pfs_s3_error_code logs ServiceUnavailable';
    $s->stop;
};

# ---------------------------------------------------------------- silent

subtest 'PFS accepts connections and never answers' => sub {
    my $l = IO::Socket::INET->new(Listen => 16, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, Proto => 'tcp', ReuseAddr => 1)
        or die "listen: $!";
    my $port = $l->sockport;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my @keep;
        local $SIG{ALRM} = sub { POSIX::_exit(0) };
        alarm 60;
        while (my $c = $l->accept) { push @keep, $c }
        POSIX::_exit(0);
    }
    close $l;

    my $s = stack(no_pfsd => 1, pfsd_upstream => "127.0.0.1:$port",
                  http => 'grpc_read_timeout 1s; grpc_send_timeout 1s;')->start;
    my ($r, $t) = timed(sub { s3($s, GET => '/') });
    is_s3_error($r, 503, 'ServiceUnavailable', 'ListBuckets times out into 503');
    cmp_ok $t, '<', 5, 'after the configured timeout';
    $r = s3($s, HEAD => '/b');
    is $r->{status}, 503, 'HeadBucket';
    is $r->{content}, '', 'no body';
    $s->stop;
    kill 'KILL', $pid;
    waitpid $pid, 0;
};

# ---------------------------------------------------------------- gone and back

subtest 'PFS goes away and comes back' => sub {
    my $s = stack()->start;
    make_bucket($s, 'b');
    is s3($s, HEAD => '/b')->{status}, 200, 'bucket there';

    $s->stop_pfsd;
    is_unavailable(timed(sub { s3($s, HEAD => '/b', fresh => 1) }), 'HeadBucket while PFS is down')
        if 0;   # HEAD has no body: checked below
    my ($r, $t) = timed(sub { s3($s, GET => '/b?location') });
    is_unavailable($r, $t, 'GetBucketLocation while PFS is down');
    ($r, $t) = timed(sub { s3($s, GET => '/') });
    is_unavailable($r, $t, 'ListBuckets while PFS is down');

    $s->start_pfsd;
    ok wait_until(sub { s3($s, HEAD => '/b')->{status} == 200 }, 10),
        'works again once PFS is back (stale keepalive connections retried)';
    is s3($s, GET => '/b?location')->{status}, 200, 'and stays working';
    $s->stop;
};

# ---------------------------------------------------------------- auth

my $tokens = "/tmp/pfs-s3-tokens-$$";
END { unlink $tokens if $tokens }
{
    open my $fh, '>', $tokens or die;
    print $fh "# test tokens\ntok-alice alice\ntok-bob bob\n";
    close $fh;
}

subtest 'PFS auth on, no token configured' => sub {
    my $s = stack(auth_tokens => $tokens)->start;
    is_s3_error(s3($s, GET => '/'), 403, 'AccessDenied', 'ListBuckets');
    is_s3_error(s3($s, PUT => '/b'), 403, 'AccessDenied', 'CreateBucket');
    my $r = s3($s, HEAD => '/b');
    is $r->{status}, 403, 'HeadBucket 403';
    is $r->{content}, '', 'no body';

    # a client cannot smuggle metadata into the gRPC call
    is_s3_error(s3($s, GET => '/', headers => { 'authn-token' => 'tok-alice' }),
                403, 'AccessDenied', 'a client authn-token header does not reach PFS');
    $s->stop;
};

subtest 'PFS auth on, token from pfs_s3_pfs_token' => sub {
    my $s = stack(auth_tokens => $tokens, location => 'pfs_s3_pfs_token tok-alice;')->start;
    is s3($s, PUT => '/b')->{status}, 200, 'CreateBucket';
    my $r = s3($s, GET => '/');
    is $r->{status}, 200, 'ListBuckets';
    ok grep({ $_ eq 'master.b.default' } xvals($r, '//s:Bucket/s:Name')), 'lists b';
    $s->stop;
};

subtest 'PFS auth on, token per request from a variable' => sub {
    my $s = stack(auth_tokens => $tokens,
                  location => 'pfs_s3_pfs_token $http_x_pfs_token;')->start;
    is s3($s, PUT => '/b', headers => { 'x-pfs-token' => 'tok-bob' })->{status}, 200,
        'good token';
    is_s3_error(s3($s, GET => '/', headers => { 'x-pfs-token' => 'nope' }),
                403, 'AccessDenied', 'bad token');
    is_s3_error(s3($s, GET => '/'), 403, 'AccessDenied', 'no token');
    my @log = access_log_lines($s);
    ok scalar(grep { ($_->{pfs} // '') =~ /UNAUTHENTICATED|16/ } @log),
        '$pfs_s3_pfs_status shows the PFS status';
    $s->stop;
};

done_testing;
