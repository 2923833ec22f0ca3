#!/usr/bin/perl
# nginx process models: master_process off, several workers serving at the
# same time, and configuration reloads (also while a request is in flight).
# The module keeps no state outside the request and the configuration, so
# each must just work; nginx must log nothing alarming.

use strict;
use warnings;
use lib 't/lib';
use PfsS3::Test;
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(sleep);

sub no_alarms {
    my ($s, $name) = @_;
    my @bad = grep { /\[(alert|crit|emerg)\]/ } split /\n/, error_log_text($s);
    is scalar(@bad), 0, "$name: no alert, crit or emerg in the error log"
        or diag join "\n", @bad[0 .. ($#bad < 5 ? $#bad : 5)];
}

subtest 'master_process off' => sub {
    my $s = stack(master_process => 'off')->start;
    is s3($s, PUT => '/single')->{status}, 200, 'CreateBucket';
    is s3($s, HEAD => '/single')->{status}, 200, 'HeadBucket';
    my $r = s3($s, GET => '/');
    is $r->{status}, 200, 'ListBuckets';
    ok grep({ $_ eq 'master.single.default' } xvals($r, '//s:Bucket/s:Name')), 'lists it';
    is_s3_error(s3($s, GET => '/nope?location'), 404, 'NoSuchBucket', 'an error');
    $s->stop;
    no_alarms($s, 'master_process off');
};

subtest 'several workers' => sub {
    my $s = stack(workers => 3)->start;
    ok wait_until(sub { my @p = worker_pids($s); @p == 3 }, 10), 'three workers';

    # 6 clients x 10 requests at once: creates, heads, lists, errors
    my @kids;
    for my $c (1 .. 6) {
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            my $bad = 0;
            for my $i (1 .. 10) {
                my $b = "w$c-$i";
                $bad++ unless s3($s, PUT => "/$b", fresh => 1)->{status} == 200;
                $bad++ unless s3($s, HEAD => "/$b", fresh => 1)->{status} == 200;
                $bad++ unless s3($s, GET => "/missing-$c-$i?location", fresh => 1)->{status} == 404;
                $bad++ unless s3($s, GET => '/', fresh => 1)->{status} == 200;
            }
            POSIX::_exit($bad > 255 ? 255 : $bad);
        }
        push @kids, $pid;
    }
    my $failed = 0;
    for (@kids) { waitpid $_, 0; $failed += $? >> 8 }
    is $failed, 0, '240 concurrent requests all answered right';

    my @names = xvals(s3($s, GET => '/'), '//s:Bucket/s:Name');
    is scalar(grep { /^master\.w\d-\d+\.default$/ } @names), 60, 'all 60 buckets exist';

    my %rid;
    $rid{ $_->{rid} // '' }++ for access_log_lines($s);
    is scalar(grep { $rid{$_} > 1 } keys %rid), 0, 'request ids are unique across workers';
    $s->stop;
    no_alarms($s, 'several workers');
};

subtest 'reload' => sub {
    my $s = stack(workers => 2)->start;
    make_bucket($s, 'rl');
    is s3($s, HEAD => '/rl')->{headers}{'x-amz-bucket-region'}, 'us-east-1', 'before';

    my @old = worker_pids($s);

    # a CreateBucket whose body is still arriving when the reload happens
    my $xml = '<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            . '<LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>';
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s->port)
        or die "connect: $!";
    print $sock "PUT /inflight HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
              . "Content-Length: " . length($xml) . "\r\n\r\n" . substr($xml, 0, 20);
    $sock->flush;
    sleep 0.3;

    $s->{http} = 'pfs_s3_region eu-west-3;';
    $s->reload_nginx;
    ok wait_until(sub {
            my $r = s3($s, HEAD => '/rl', fresh => 1);
            ($r->{headers}{'x-amz-bucket-region'} // '') eq 'eu-west-3';
        }, 15), 'the new configuration serves requests';

    print $sock substr($xml, 20);
    $sock->flush;
    local $/;
    my $resp = <$sock>;
    like $resp, qr{^HTTP/1\.1 200}, 'the request in flight during the reload completed';
    ok s3($s, HEAD => '/inflight')->{status} == 200, 'and its bucket exists';

    ok wait_until(sub { !grep { kill 0, $_ } @old }, 15), 'old workers exited';

    for my $i (1 .. 5) {
        $s->{http} = $i % 2 ? 'pfs_s3_region us-west-2;' : 'pfs_s3_region eu-west-3;';
        $s->reload_nginx;
        sleep 0.3;
    }
    ok wait_until(sub {
            (s3($s, HEAD => '/rl', fresh => 1)->{headers}{'x-amz-bucket-region'} // '')
                eq 'us-west-2';
        }, 15), 'five more reloads';
    is s3($s, GET => '/rl?location')->{status}, 200, 'still serving';

    $s->stop;
    no_alarms($s, 'reload');
};

done_testing;
