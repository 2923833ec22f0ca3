#!/usr/bin/perl
# A mixed workload from many concurrent clients: PUT, GET, LIST, DELETE and
# multipart uploads (one small part, or a 5 MiB part and a small one;
# completed, or aborted with the key left as it was), each client checking
# every answer against what it wrote.  At the end every object is read back
# and its MD5 compared, the listing must hold exactly the live keys, no
# upload is left over, and nginx's workers and pfsd must not have grown
# (RSS) or leaked descriptors.
#
#   prove t/81-load.t                                   30 s, 8 clients (CI)
#   PFS_S3_LOAD_SECONDS=600 PFS_S3_LOAD_CLIENTS=32 prove -v t/81-load.t

use strict;
use warnings;
use lib 't/lib';
use PfsS3::Test;
use Digest::MD5 ();
use HTTP::Tiny;
use JSON::PP ();
use POSIX ();
use Time::HiRes qw(time sleep);

my $SECONDS = $ENV{PFS_S3_LOAD_SECONDS} || 30;
my $CLIENTS = $ENV{PFS_S3_LOAD_CLIENTS} || 8;
my $KEYS    = 40;          # per client

my $s = stack(workers => 2)->start;
make_bucket($s, 'load');

sub fd_count {
    my ($pid) = @_;
    opendir my $d, "/proc/$pid/fd" or return undef;
    return scalar grep { /^\d+$/ } readdir $d;
}

sub snapshot {
    my %snap;
    for my $w (worker_pids($s)) {
        $snap{"worker $w"} = { rss => rss_kib($w), fds => fd_count($w) };
    }
    my $p = $s->{pids}{pfsd};
    $snap{pfsd} = { rss => rss_kib($p), fds => fd_count($p) };
    return \%snap;
}

# A body whose bytes depend on the client, key and version.
sub body_for {
    my ($c, $k, $v, $size) = @_;
    my $unit = Digest::MD5::md5("$c/$k/$v") x 64;
    return substr($unit x (int($size / length $unit) + 1), 0, $size);
}

# One multipart upload of $k: parts written, then completed (the key
# becomes their concatenation) or, one time in four, aborted (the key
# keeps what it had).  Every answer is checked.
sub multipart {
    my ($http, $base, $k, $c, $v, $live, $count, $err) = @_;
    my @parts = (body_for($c, $k, "$v-2", 1 + int rand 70_000));
    unshift @parts, body_for($c, $k, "$v-1", 5 * 1024 * 1024) if rand() < 0.3;
    $count->{multipart}++;

    my $r = $http->request(POST => "$base/$k?uploads");
    my ($id) = ($r->{content} // '') =~ m{<UploadId>([^<]+)</UploadId>};
    return $err->("CreateMultipartUpload $k: $r->{status}") unless $r->{status} == 200 && $id;

    my (@etags, $md5s);
    for my $n (1 .. @parts) {
        $r = $http->request(PUT => "$base/$k?partNumber=$n&uploadId=$id",
                            { content => $parts[$n - 1] });
        my $want = Digest::MD5::md5_hex($parts[$n - 1]);
        return $err->("UploadPart $k $n: $r->{status}")
            unless $r->{status} == 200 && ($r->{headers}{etag} // '') eq "\"$want\"";
        push @etags, $r->{headers}{etag};
        $md5s .= Digest::MD5::md5($parts[$n - 1]);
    }

    if (rand() < 0.25) {
        $r = $http->request(DELETE => "$base/$k?uploadId=$id");
        $count->{abort}++;
        return $err->("AbortMultipartUpload $k: $r->{status}") unless $r->{status} == 204;
        return;
    }

    my $xml = '<CompleteMultipartUpload>'
            . join('', map { "<Part><PartNumber>$_</PartNumber><ETag>$etags[$_ - 1]</ETag></Part>" }
                       1 .. @parts)
            . '</CompleteMultipartUpload>';
    $r = $http->request(POST => "$base/$k?uploadId=$id", { content => $xml });
    # S3's multipart form; one part keeps its own MD5 (README)
    my $etag = @parts == 1 ? Digest::MD5::md5_hex($parts[0])
                           : Digest::MD5::md5_hex($md5s) . '-' . scalar(@parts);
    if ($r->{status} == 200 && ($r->{content} // '') =~ m{<ETag>(?:"|&quot;)\Q$etag\E(?:"|&quot;)</ETag>}) {
        $live->{$k} = Digest::MD5::md5_hex(join '', @parts);
    } else {
        $err->("CompleteMultipartUpload $k: $r->{status} want ETag $etag: "
               . substr($r->{content} // '', -200));
    }
}

sub client {
    my ($c, $seconds, $tag, $out) = @_;
    srand($c * 7919 + $$);
    my $http = HTTP::Tiny->new(keep_alive => 1, timeout => 60);
    my $base = $s->endpoint . '/load';
    my (%live, %count, @errors);
    my $v = 0;
    my $err = sub { push @errors, join(' ', @_) if @errors < 20; $count{errors}++ };
    my $t_end = time + $seconds;

    while (time < $t_end) {
        my $k = sprintf '%s-c%02d/k%03d', $tag, $c, int rand $KEYS;
        my $dice = rand;
        if ($dice < 0.35) {
            my $size = (0, 1, 100, 4096, 65536, 300_000)[int rand 6] + int rand 1000;
            my $b = body_for($c, $k, ++$v, $size);
            my $r = $http->request(PUT => "$base/$k", { content => $b });
            $count{put}++;
            if ($r->{status} == 200
                && ($r->{headers}{etag} // '') eq '"' . Digest::MD5::md5_hex($b) . '"')
            {
                $live{$k} = Digest::MD5::md5_hex($b);
            } else {
                $err->("PUT $k: $r->{status} " . substr($r->{content} // '', 0, 200));
            }
        } elsif ($dice < 0.70) {
            my $r = $http->request(GET => "$base/$k");
            $count{get}++;
            if ($live{$k}) {
                $err->("GET $k: $r->{status}") unless $r->{status} == 200
                    && Digest::MD5::md5_hex($r->{content}) eq $live{$k};
            } else {
                $err->("GET $k (deleted): $r->{status}") unless $r->{status} == 404;
            }
        } elsif ($dice < 0.78) {
            multipart($http, $base, $k, $c, ++$v, \%live, \%count, $err);
        } elsif ($dice < 0.88) {
            my $r = $http->request(GET => "$base?list-type=2&prefix=" . sprintf('%s-c%02d/', $tag, $c));
            $count{list}++;
            my @keys = ($r->{content} // '') =~ m{<Key>([^<]*)</Key>}g;
            my $want = join ',', sort keys %live;
            $err->("LIST c$c: $r->{status} got " . scalar(@keys) . ' want ' . scalar(keys %live))
                unless $r->{status} == 200 && join(',', sort @keys) eq $want;
        } else {
            my $r = $http->request(DELETE => "$base/$k");
            $count{delete}++;
            if ($r->{status} == 204) {
                delete $live{$k};
            } else {
                $err->("DELETE $k: $r->{status}");
            }
        }
    }

    open my $fh, '>', $out or die;
    print $fh JSON::PP->new->canonical->encode({ live => \%live, count => \%count,
                                                 errors => \@errors });
    close $fh;
}

sub run_clients {
    my ($seconds, $tag) = @_;
    my @pids;
    for my $c (1 .. $CLIENTS) {
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            client($c, $seconds, $tag, $s->dir . "/client-$tag-$c.json");
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    waitpid $_, 0 for @pids;
    my (%live, %count, @errors);
    for my $c (1 .. $CLIENTS) {
        my $r = JSON::PP::decode_json($s->slurp($s->dir . "/client-$tag-$c.json"));
        %live = (%live, %{ $r->{live} });
        $count{$_} += $r->{count}{$_} for keys %{ $r->{count} };
        push @errors, @{ $r->{errors} };
    }
    return (\%live, \%count, \@errors);
}

# warm up: keepalive caches, SQLite page cache, the allocator
my ($warm_live) = run_clients(3, 'warm');
my $before = snapshot();

my $t0 = time;
my ($live, $count, $errors) = run_clients($SECONDS, 'load');
my $elapsed = time - $t0;
$live = { %$live, %$warm_live };
my $total = 0;
$total += $count->{$_} for grep { $_ ne 'errors' } keys %$count;

# a multipart upload (3 to 4 requests) counts as one operation
diag sprintf '%d clients, %.0f s: %d operations (%.0f/s): %s', $CLIENTS, $elapsed, $total,
    $total / $elapsed, join ' ', map { "$_=$count->{$_}" } sort keys %$count;
is $count->{errors} // 0, 0, "no error in $total operations"
    or diag join "\n", @$errors;

# every live object, byte for byte (by MD5), and nothing else listed
my $bad = 0;
my $http = HTTP::Tiny->new(keep_alive => 1);
for my $k (sort keys %$live) {
    my $r = $http->get($s->endpoint . "/load/$k");
    $bad++ unless $r->{status} == 200 && Digest::MD5::md5_hex($r->{content}) eq $live->{$k};
}
is $bad, 0, scalar(keys %$live) . ' objects verified by MD5 at the end';

my (@listed, $token);
while (1) {
    my $q = '/load?list-type=2&max-keys=100' . ($token ? '&continuation-token=' . key_escape($token) : '');
    my $r = s3($s, GET => $q);
    push @listed, $r->{content} =~ m{<Key>([^<]*)</Key>}g;
    ($token) = $r->{content} =~ m{<NextContinuationToken>([^<]*)<};
    last unless $token;
}
is join(',', sort @listed), join(',', sort keys %$live), 'the listing holds exactly the live keys';
my $ups = s3($s, GET => '/load?uploads');
is $ups->{status} == 200 && scalar(() = $ups->{content} =~ m{<Upload>}g), 0,
    'no multipart upload is left over';

sleep 1;   # let finished requests release what they held
my $after = snapshot();
for my $p (sort keys %$before) {
    next unless $after->{$p};
    my ($b, $a) = ($before->{$p}, $after->{$p});
    diag sprintf '%s: RSS %d -> %d KiB, fds %d -> %d', $p, $b->{rss}, $a->{rss}, $b->{fds}, $a->{fds};
    # ASan's quarantine keeps freed memory: RSS says nothing there
    cmp_ok $a->{rss} - $b->{rss}, '<', ($p eq 'pfsd' ? 32 : 8) * 1024, "$p: RSS flat"
        unless $ENV{PFS_S3_SANITIZED} && $p ne 'pfsd';
    # nginx may keep up to 16 keepalive connections to pfsd (the upstream's
    # keepalive), and pfsd one per connection
    cmp_ok $a->{fds} - $b->{fds}, '<=', 16, "$p: no descriptor leak";
}

unlike error_log_text($s), qr/\[(alert|emerg|crit)\]|exited on signal/, 'no alert or crash in the error log';
$s->stop;
done_testing;
