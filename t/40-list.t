#!/usr/bin/perl
# ListObjects (v1) and ListObjectsV2: prefix, delimiter "/", markers,
# continuation tokens, start-after, max-keys, encoding-type=url, and the
# fields clients parse.  Paging is checked by walking every page and
# comparing with the whole listing.

use strict;
use warnings;
use lib 't/lib';
use PfsS3::Test;

my $s = stack()->start;
make_bucket($s, 'ls');
make_bucket($s, 'empty');

my %content;
my @keys = ('a-b', 'a.txt', 'a/1', 'a/2', 'a/b/c', 'a/b/d', 'b', 'c/x/y/z',
            (map { "d$_" } 0 .. 9), 'e f', 'plain', 'z/');
pop @keys;   # "z/" cannot be stored; listed here to document why it is absent
for my $k (@keys) {
    $content{$k} = "content of $k\n" x (1 + length $k);
    put_object($s, 'ls', $k, $content{$k});
}
my @sorted = sort @keys;   # S3 order: bytewise

my $ISO_MS = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

sub list {
    my ($q) = @_;
    my $r = s3($s, GET => "/ls?$q");
    is $r->{status}, 200, "GET /ls?$q" or diag $r->{content};
    return $r;
}

sub keys_of     { xvals($_[0], '/s:ListBucketResult/s:Contents/s:Key') }
sub prefixes_of { xvals($_[0], '/s:ListBucketResult/s:CommonPrefixes/s:Prefix') }
sub field       { xval($_[0], "/s:ListBucketResult/s:$_[1]") }

sub unescape_url {
    my ($v) = @_;
    return undef unless defined $v;
    $v =~ tr/+/ /;
    $v =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge;
    return $v;
}

# ---------------------------------------------------------------- v1

subtest 'v1: everything' => sub {
    my $r = list('');
    is_deeply [keys_of($r)], \@sorted, 'every key, in order, no directories';
    is_deeply [prefixes_of($r)], [], 'no common prefixes without a delimiter';
    is field($r, 'Name'), 'ls', 'Name';
    is field($r, 'Prefix'), '', 'Prefix';
    is field($r, 'MaxKeys'), 1000, 'MaxKeys';
    is field($r, 'IsTruncated'), 'false', 'IsTruncated';
    is xcount($r, '/s:ListBucketResult/s:NextMarker'), 0, 'no NextMarker when complete';

    my $xc = xml_doc($r);
    for my $c ($xc->findnodes('/s:ListBucketResult/s:Contents')) {
        my $k = $xc->findvalue('s:Key', $c);
        subtest "Contents of $k" => sub {
            like $xc->findvalue('s:LastModified', $c), $ISO_MS, 'LastModified';
            is $xc->findvalue('s:ETag', $c), '"' . md5_hex($content{$k}) . '"', 'ETag';
            is $xc->findvalue('s:Size', $c), length $content{$k}, 'Size';
            is $xc->findvalue('s:StorageClass', $c), 'STANDARD', 'StorageClass';
            is $xc->findvalue('s:Owner/s:ID', $c), '0' x 32, 'Owner';
        };
    }
};

subtest 'v1: prefix' => sub {
    is_deeply [keys_of(list('prefix=a/'))], ['a/1', 'a/2', 'a/b/c', 'a/b/d'], 'a/';
    is_deeply [keys_of(list('prefix=d'))], [map { "d$_" } 0 .. 9], 'a partial name';
    is_deeply [keys_of(list('prefix=a'))], [grep { /^a/ } @sorted], 'a: files and a directory';
    is_deeply [keys_of(list('prefix=a/b/c'))], ['a/b/c'], 'a whole key';
    is_deeply [keys_of(list('prefix=nothing'))], [], 'no match';
    is field(list('prefix=a/'), 'Prefix'), 'a/', 'Prefix echoed';
};

subtest 'v1: a prefix with glob characters is literal' => sub {
    for my $p ('a*', '*', 'a/*', '?', 'a%5B', '%7Ba,b%7D', 'd%5B0-9%5D', '**') {
        is_deeply [keys_of(list("prefix=$p"))], [], "prefix $p matches nothing";
    }
};

subtest 'v1: delimiter' => sub {
    my $r = list('delimiter=/');
    is_deeply [keys_of($r)], [grep { !m{/} } @sorted], 'keys at the top';
    is_deeply [prefixes_of($r)], ['a/', 'c/'], 'directories as common prefixes';
    is field($r, 'Delimiter'), '/', 'Delimiter echoed';

    $r = list('prefix=a/&delimiter=/');
    is_deeply [keys_of($r)], ['a/1', 'a/2'], 'under a/';
    is_deeply [prefixes_of($r)], ['a/b/'], 'a/b/';

    $r = list('prefix=a&delimiter=/');
    is_deeply [keys_of($r)], ['a-b', 'a.txt'], 'partial prefix: files';
    is_deeply [prefixes_of($r)], ['a/'], 'partial prefix: the directory';

    $r = list('prefix=c/x/&delimiter=/');
    is_deeply [prefixes_of($r)], ['c/x/y/'], 'deeper';
    is_deeply [keys_of($r)], [], 'nothing else';
};

for my $d ('x', '-', '%2F%2F', 'ab') {
    my $r = s3($s, GET => "/ls?delimiter=$d");
    subtest "delimiter $d is refused" => sub {
        is $r->{status}, 400, 'status 400';
        like xval($r, '/Error/Code') // '', qr/^(InvalidDelimiter|InvalidArgument)$/, 'code';
    };
}

# Walks v1 pages; returns (keys, prefixes, pages).
sub walk_v1 {
    my ($q, $max) = @_;
    my (@k, @p, $marker, $pages);
    while (1) {
        my $m = defined $marker ? '&marker=' . key_escape($marker) : '';
        my $r = list("$q&max-keys=$max$m");
        $pages++;
        my @pk = keys_of($r);
        my @pp = prefixes_of($r);
        push @k, @pk;
        push @p, @pp;
        cmp_ok @pk + @pp, '<=', $max, "page $pages holds at most $max";
        last if field($r, 'IsTruncated') eq 'false';
        is @pk + @pp, $max, "a truncated page $pages is full";
        my $next = field($r, 'NextMarker');
        my ($last) = sort { $b cmp $a } @pk, @pp;
        if ($q =~ /delimiter/) {
            is $next, $last, 'NextMarker is the last key or prefix of the page';
        } elsif (defined $next) {
            is $next, $last, 'NextMarker, when given, is the last key';
        }
        $marker = $next // $last;
        return (\@k, \@p, $pages) if $pages > 50;
    }
    return (\@k, \@p, $pages);
}

for my $max (1, 2, 3, 7) {
    subtest "v1 pages of $max" => sub {
        my ($k, $p, $pages) = walk_v1('', $max);
        is_deeply $k, \@sorted, 'all keys once, in order';
        ($k, $p) = walk_v1('delimiter=/', $max);
        is_deeply $k, [grep { !m{/} } @sorted], 'delimited: keys once';
        is_deeply $p, ['a/', 'c/'], 'delimited: each prefix once';
        ($k, $p) = walk_v1('prefix=a/&delimiter=/', $max);
        is_deeply [@$k, @$p], ['a/1', 'a/2', 'a/b/'], 'under a/';
    };
}

subtest 'v1: marker' => sub {
    is_deeply [keys_of(list('marker=d5'))], [grep { $_ gt 'd5' } @sorted], 'exclusive';
    is_deeply [keys_of(list('marker=d55'))], [grep { $_ gt 'd55' } @sorted], 'not a key';
    is field(list('marker=d5'), 'Marker'), 'd5', 'Marker echoed';
    my $r = list('marker=a/&delimiter=/');
    ok !grep({ $_ eq 'a/' } prefixes_of($r)), 'a marker equal to a prefix skips it';
    ok !grep({ m{^a/} } keys_of($r)), 'and everything under it';
    is_deeply [keys_of(list('marker=zzz'))], [], 'past the end';
};

subtest 'max-keys' => sub {
    my $r = list('max-keys=5000');
    is field($r, 'MaxKeys'), 1000, 'capped at 1000';
    $r = list('max-keys=0');
    is_deeply [keys_of($r)], [], 'zero keys';
    for my $bad ('-1', 'abc', '1.5', '') {
        my $res = s3($s, GET => "/ls?max-keys=$bad");
        is_s3_error($res, 400, 'InvalidArgument', "max-keys=$bad");
    }
};

subtest 'encoding-type=url' => sub {
    my $r = list('encoding-type=url&prefix=e%20');
    is field($r, 'EncodingType'), 'url', 'EncodingType';
    my @k = keys_of($r);
    is scalar(@k), 1, 'one key';
    unlike $k[0], qr/ /, 'no raw space in Key';
    is unescape_url($k[0]), 'e f', 'Key decodes to the key';
    is unescape_url(field($r, 'Prefix')), 'e ', 'Prefix encoded too';

    $r = list('list-type=2&encoding-type=url&start-after=e%20');
    unlike field($r, 'StartAfter') // '', qr/ /, 'StartAfter encoded';
    is unescape_url(field($r, 'StartAfter')), 'e ', 'StartAfter decodes';

    $r = list('encoding-type=url&delimiter=/&prefix=a/');
    is field($r, 'Delimiter'), '%2F', 'Delimiter encoded' if field($r, 'Delimiter') ne '/';
    is_deeply [map { unescape_url($_) } keys_of($r)], ['a/1', 'a/2'], 'keys decode';

    is_s3_error(s3($s, GET => '/ls?encoding-type=base64'), 400, 'InvalidArgument',
                'an unknown encoding-type');
};

# ---------------------------------------------------------------- v2

subtest 'v2: fields' => sub {
    my $r = list('list-type=2');
    is_deeply [keys_of($r)], \@sorted, 'every key';
    is field($r, 'KeyCount'), scalar(@sorted), 'KeyCount';
    is field($r, 'IsTruncated'), 'false', 'IsTruncated';
    is xcount($r, '/s:ListBucketResult/s:NextContinuationToken'), 0, 'no next token';
    is xcount($r, '//s:Contents/s:Owner'), 0, 'no Owner without fetch-owner';
    $r = list('list-type=2&fetch-owner=true');
    is xcount($r, '//s:Contents/s:Owner/s:ID'), scalar(@sorted), 'Owner with fetch-owner';

    $r = list('list-type=2&delimiter=/');
    is field($r, 'KeyCount'), scalar(grep { !m{/} } @sorted) + 2, 'KeyCount counts prefixes';
};

sub walk_v2 {
    my ($q, $max) = @_;
    my (@k, @p, $token, $pages, %tokens);
    while (1) {
        my $t = defined $token ? '&continuation-token=' . uri_token($token) : '';
        my $r = list("list-type=2&$q&max-keys=$max$t");
        $pages++;
        is field($r, 'ContinuationToken'), $token, 'ContinuationToken echoed' if defined $token;
        my @pk = keys_of($r);
        my @pp = prefixes_of($r);
        is field($r, 'KeyCount'), @pk + @pp, "KeyCount of page $pages";
        push @k, @pk;
        push @p, @pp;
        last if field($r, 'IsTruncated') eq 'false';
        is @pk + @pp, $max, "truncated page $pages is full";
        $token = field($r, 'NextContinuationToken');
        ok defined $token && length $token, 'NextContinuationToken' or last;
        my ($last) = sort { $b cmp $a } @pk, @pp;
        isnt $token, $last, 'the token is opaque, not the last key';
        ok !$tokens{$token}++, 'a new token';
        return (\@k, \@p) if $pages > 50;
    }
    return (\@k, \@p);
}

sub uri_token { my ($t) = @_; $t =~ s/([^A-Za-z0-9\-._~])/sprintf '%%%02X', ord $1/ge; $t }

for my $max (1, 2, 5) {
    subtest "v2 pages of $max" => sub {
        my ($k, $p) = walk_v2('', $max);
        is_deeply $k, \@sorted, 'all keys once';
        ($k, $p) = walk_v2('delimiter=/', $max);
        is_deeply $k, [grep { !m{/} } @sorted], 'delimited keys once';
        is_deeply $p, ['a/', 'c/'], 'prefixes once';
        ($k, $p) = walk_v2('prefix=a/', $max);
        is_deeply $k, ['a/1', 'a/2', 'a/b/c', 'a/b/d'], 'with a prefix';
    };
}

subtest 'v2: start-after' => sub {
    my $r = list('list-type=2&start-after=d5');
    is_deeply [keys_of($r)], [grep { $_ gt 'd5' } @sorted], 'exclusive';
    is field($r, 'StartAfter'), 'd5', 'echoed';
    $r = list('list-type=2&start-after=a/&delimiter=/');
    ok !grep({ $_ eq 'a/' } prefixes_of($r)), 'a start-after equal to a prefix skips it';

    my $first = list('list-type=2&max-keys=2');
    my $token = field($first, 'NextContinuationToken');
    $r = list('list-type=2&max-keys=2&start-after=d8&continuation-token=' . uri_token($token));
    is_deeply [keys_of($r)], [@sorted[2, 3]], 'the token wins over start-after';
};

for my $bad ('garbage', '%21%21%21', 'AAAA', 'Zm9v', '') {
    is_s3_error(s3($s, GET => "/ls?list-type=2&continuation-token=$bad"), 400,
                'InvalidArgument', "malformed continuation token '$bad'");
}

# ---------------------------------------------------------------- buckets

subtest 'an empty bucket' => sub {
    my $r = s3($s, GET => '/empty?list-type=2');
    is $r->{status}, 200;
    is field($r, 'KeyCount'), 0, 'KeyCount 0';
    is xcount($r, '//s:Contents'), 0, 'no Contents';
    is field($r, 'IsTruncated'), 'false';
    $r = s3($s, GET => '/empty');
    is xcount($r, '//s:Contents'), 0, 'v1 too';
};

is_s3_error(s3($s, GET => '/nosuchbucket?list-type=2'), 404, 'NoSuchBucket', 'missing bucket',
            resource => '/nosuchbucket');

subtest 'a commit bucket lists that commit' => sub {
    my $head = pfs_ok($s, InspectBranch => { branch => branch_ref('ls') })
        ->{responses}[0]{head}{id};
    put_object($s, 'ls', 'later', 'x');
    my $r = s3($s, GET => "/$head.ls?list-type=2");
    is $r->{status}, 200;
    is_deeply [keys_of($r)], \@sorted, 'not the key written after';
    ok grep({ $_ eq 'later' } keys_of(list('list-type=2'))), 'the branch has it';
};

$s->stop;
done_testing;
