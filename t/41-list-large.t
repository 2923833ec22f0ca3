#!/usr/bin/perl
# Listing a bucket of 100,010 keys in pages of 1000: every key exactly once
# and in order, IsTruncated and the next markers right on every page, a
# page deep in the bucket as fast as the first one (PFS is asked from the
# marker on, not from the start), and each page reads only about a page of
# the PFS stream (pfsd logs the bytes it sent per call).

use strict;
use warnings;
use lib 't/lib';
use PfsS3::Test;
use Time::HiRes qw(time);

my $N = 100_000;
my $s = stack()->start;
make_bucket($s, 'huge');

my $t0 = time;
pfs_fill($s, 'huge', 'master', $N, '/k%06d');
pfs_fill($s, 'huge', 'master', 10, '/sub/s%02d');
diag sprintf 'filled %d keys in %.1fs', $N + 10, time - $t0;

my @want = ((map { sprintf 'k%06d', $_ } 0 .. $N - 1), map { sprintf 'sub/s%02d', $_ } 0 .. 9);

sub page {
    my ($q) = @_;
    my $t = time;
    my $r = s3($s, GET => "/huge?$q");
    return ($r, time - $t);
}

sub keys_of { xvals($_[0], '/s:ListBucketResult/s:Contents/s:Key') }
sub field   { xval($_[0], "/s:ListBucketResult/s:$_[1]") }

sub esc { my ($t) = @_; $t =~ s/([^A-Za-z0-9\-._~])/sprintf '%%%02X', ord $1/ge; $t }

subtest 'v2: 101 pages of 1000 with continuation tokens' => sub {
    my (@got, $token, $pages, $slowest, $bad);
    while (1) {
        my $q = 'list-type=2&max-keys=1000' . (defined $token ? '&continuation-token=' . esc($token) : '');
        my ($r, $secs) = page($q);
        $pages++;
        $slowest = $secs if !defined $slowest || $secs > $slowest;
        if ($r->{status} != 200) { fail("page $pages: $r->{status}"); last }
        my @k = keys_of($r);
        push @got, @k;
        my $trunc = field($r, 'IsTruncated');
        $bad++ unless field($r, 'KeyCount') == @k;
        if ($trunc eq 'true') {
            $bad++ unless @k == 1000;
            $token = field($r, 'NextContinuationToken');
            $bad++ unless defined $token;
        } else {
            $bad++ if defined field($r, 'NextContinuationToken');
            last;
        }
        last if $pages > 200;
    }
    is $pages, 101, '101 pages';
    is $bad // 0, 0, 'KeyCount, full truncated pages and tokens right on every page';
    is scalar(@got), scalar(@want), 'every key';
    ok join("\n", @got) eq join("\n", @want), 'each exactly once, in order';
    cmp_ok $slowest, '<', 3, sprintf 'slowest page %.2fs', $slowest;
    diag sprintf 'v2: %d pages, slowest %.3fs', $pages, $slowest;
};

subtest 'a page deep in the bucket is as quick as the first' => sub {
    my ($r1, $first) = page('list-type=2&max-keys=1000');
    my ($r2, $deep) = page('list-type=2&max-keys=1000&start-after=k098000');
    is((keys_of($r2))[0], 'k098001', 'starts after the key');
    is scalar(keys_of($r2)), 1000, 'a full page';
    cmp_ok $deep, '<', $first * 3 + 0.2, sprintf 'deep %.3fs, first %.3fs', $deep, $first;
};

subtest 'each page reads about a page of the PFS stream' => sub {
    my ($r) = page('list-type=2&max-keys=1000&start-after=k050000');
    is $r->{status}, 200;
    my @lines;
    wait_until(sub {
        @lines = grep { /GlobFile|ListFile/ } split /\n/, $s->slurp($s->pfsd_log);
        @lines;
    }, 5);
    my ($out) = ($lines[-1] // '') =~ /\bout=(\d+)/;
    ok defined $out, 'pfsd logged the bytes out' or return;
    # 1001 FileInfo of ~100 bytes; the whole listing would be ~10 MB
    cmp_ok $out, '<', 2 * 1024 * 1024, "PFS sent $out bytes for one page";
    diag "one page of 1000: PFS sent $out bytes ($lines[-1])";
};

subtest 'v1 with a delimiter, NextMarker across the whole bucket' => sub {
    my (@keys, @prefixes, $marker, $pages, $bad);
    while (1) {
        my $q = 'delimiter=/&max-keys=1000' . (defined $marker ? '&marker=' . esc($marker) : '');
        my ($r) = page($q);
        $pages++;
        last if $r->{status} != 200;
        my @k = keys_of($r);
        my @p = xvals($r, '/s:ListBucketResult/s:CommonPrefixes/s:Prefix');
        push @keys, @k;
        push @prefixes, @p;
        last if field($r, 'IsTruncated') eq 'false';
        $marker = field($r, 'NextMarker');
        $bad++ unless defined $marker && @k + @p == 1000;
        last if !defined $marker || $pages > 200;
    }
    is $bad // 0, 0, 'NextMarker on every truncated page, pages full';
    is scalar(@keys), $N, 'the keys at the top, once';
    is_deeply \@prefixes, ['sub/'], 'the directory once';
    diag "v1 delimited: $pages pages";
};

subtest 'v1 without a delimiter from a marker near the end' => sub {
    my ($r) = page('marker=k099500');
    is_deeply [keys_of($r)], [@want[99_501 .. $#want]], 'the 509 keys after it';
    is field($r, 'IsTruncated'), 'false', 'not truncated';
};

$s->stop;
done_testing;
