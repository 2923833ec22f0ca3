#!/usr/bin/perl
# Object versions: ListObjectVersions over the branch's commit history
# (Version and DeleteMarker entries, IsLatest, prefix, delimiter, max-keys,
# key-marker / version-id-marker paging), GetObject and HeadObject with
# versionId (x-amz-version-id, NoSuchVersion, malformed ids, other branches
# and repos), and "aws s3api list-object-versions" after three overwrites
# with each version read back.

use strict;
use warnings;
use lib 't/lib';
use PfsS3::Test;
use JSON::PP ();

my $s = stack()->start;
make_bucket($s, $_) for qw(vb other dev.vb);

my $V = '/s:ListVersionsResult';

sub versions {
    my ($query, $bucket) = @_;
    my $r = s3($s, GET => '/' . ($bucket // 'vb') . '?versions' . ($query // ''));
    die "ListObjectVersions: $r->{status} $r->{content}\n"
        unless $r->{status} == 200;
    return $r;
}

# the entries of a page, in document order: [kind, key, version, latest]
sub entries {
    my ($r) = @_;
    my $xc = xml_doc($r) or return ();
    return map {
        [ $_->localname, $xc->findvalue('s:Key', $_),
          $xc->findvalue('s:VersionId', $_), $xc->findvalue('s:IsLatest', $_) ]
    } $xc->findnodes("$V/s:Version | $V/s:DeleteMarker");
}

sub get_version {
    my ($key, $v, $bucket) = @_;
    return s3($s, GET => '/' . ($bucket // 'vb') . "/$key?versionId=$v");
}

my @puts = map { put_object($s, 'vb', 'doc', "version $_ " . ('x' x $_)) } 1 .. 3;
my @ids = map { $_->{headers}{'x-amz-version-id'} } @puts;

subtest 'three overwrites are three versions' => sub {
    my $r = versions('&prefix=doc');
    my @e = entries($r);
    is scalar @e, 3, 'three entries';
    is_deeply [ map { $_->[2] } @e ], [ reverse @ids ],
        'newest first, each the commit its PutObject answered';
    is_deeply [ map { $_->[3] } @e ], [ qw(true false false) ],
        'only the newest IsLatest';
    is_deeply [ xvals($r, "$V/s:Version/s:ETag") ],
        [ map { '"' . md5_hex("version $_ " . ('x' x $_)) . '"' } 3, 2, 1 ],
        'ETags';
    is_deeply [ xvals($r, "$V/s:Version/s:Size") ],
        [ map { length("version $_ ") + $_ } 3, 2, 1 ], 'sizes';
    like xval($r, "$V/s:Version/s:LastModified") // '',
        qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'LastModified';
    is xval($r, "$V/s:IsTruncated"), 'false', 'not truncated';
    is xval($r, "$V/s:Name"), 'vb', 'Name';

    for my $i (0 .. 2) {
        my $g = get_version('doc', $ids[$i]);
        is $g->{status}, 200, "GET version " . ($i + 1);
        is $g->{content}, "version " . ($i + 1) . ' ' . ('x' x ($i + 1)),
            '  its bytes';
        is $g->{headers}{'x-amz-version-id'}, $ids[$i], '  x-amz-version-id';
        my $h = s3($s, HEAD => "/vb/doc?versionId=$ids[$i]");
        is $h->{headers}{'content-length'}, length $g->{content},
            '  HEAD: its size';
        is $h->{headers}{'x-amz-version-id'}, $ids[$i], '  HEAD: its version';
    }
};

subtest 'deletions are DeleteMarkers' => sub {
    my $v1 = put_object($s, 'vb', 'gone', 'short-lived')->{headers}{'x-amz-version-id'};
    is s3($s, DELETE => '/vb/gone')->{status}, 204;
    my $del = pfs($s, InspectBranch => { branch => branch_ref('vb') })
        ->{responses}[0]{head}{id};
    my @e = entries(versions('&prefix=gone'));
    is_deeply \@e, [ [ 'DeleteMarker', 'gone', $del, 'true' ],
                     [ 'Version', 'gone', $v1, 'false' ] ],
        'a latest DeleteMarker named by the deleting commit, then the version';
    is get_version('gone', $v1)->{content}, 'short-lived',
        'the deleted version is still readable';
    my $r = get_version('gone', $del);
    is_s3_error($r, 405, 'MethodNotAllowed', 'the DeleteMarker has no bytes');
    is $r->{headers}{'x-amz-delete-marker'}, 'true', '  x-amz-delete-marker';
    is $r->{headers}{'x-amz-version-id'}, $del, '  x-amz-version-id';
    $r = s3($s, HEAD => "/vb/gone?versionId=$del");
    is_s3_error($r, 405, 'MethodNotAllowed', 'HEAD of the DeleteMarker',
                head => 1);
    is $r->{headers}{'x-amz-delete-marker'}, 'true', '  x-amz-delete-marker';
    is_s3_error(get_version('gone', $ids[0]), 404, 'NoSuchKey',
                'a commit from before the key existed');

    my $v2 = put_object($s, 'vb', 'gone', 'back')->{headers}{'x-amz-version-id'};
    @e = entries(versions('&prefix=gone'));
    is_deeply [ map { "$_->[0] $_->[2] $_->[3]" } @e ],
        [ "Version $v2 true", "DeleteMarker $del false", "Version $v1 false" ],
        'written again: a version over the marker';
};

subtest 'the same bytes again are no new version' => sub {
    my $v = put_object($s, 'vb', 'same', 'abc')->{headers}{'x-amz-version-id'};
    put_object($s, 'vb', 'unrelated', 'x');
    put_object($s, 'vb', 'same', 'abc');
    my @e = entries(versions('&prefix=same'));
    is scalar @e, 1, 'one version';
    is $e[0][2], $v, 'named by the commit that first wrote the bytes';
};

subtest 'prefix, delimiter, CommonPrefixes, encoding-type' => sub {
    put_object($s, 'vb', 'dir/a', '1');
    put_object($s, 'vb', 'dir/a', '2');
    put_object($s, 'vb', 'dir/sub/b', '3');
    my $r = versions('&prefix=dir/&delimiter=/');
    is_deeply [ map { "$_->[1]" } entries($r) ], [ 'dir/a', 'dir/a' ],
        'the versions at this level';
    is_deeply [ xvals($r, "$V/s:CommonPrefixes/s:Prefix") ], [ 'dir/sub/' ],
        'a common prefix';
    is xval($r, "$V/s:Delimiter"), '/', 'Delimiter';
    is xval($r, "$V/s:Prefix"), 'dir/', 'Prefix';

    $r = versions('&prefix=dir/&encoding-type=url');
    is xval($r, "$V/s:EncodingType"), 'url', 'EncodingType';
    put_object($s, 'vb', 'sp ace', 'x');
    $r = versions('&prefix=sp&encoding-type=url');
    is xval($r, "$V/s:Version/s:Key"), 'sp%20ace', 'keys url-encoded';
};

subtest 'paging with key-marker and version-id-marker' => sub {
    for my $k (qw(p/a p/b p/c p/d)) {
        put_object($s, 'vb', $k, "$k $_") for 1 .. 3;
    }
    s3($s, DELETE => '/vb/p/b');
    my @all = entries(versions('&prefix=p/'));
    is scalar @all, 13, '4 keys x 3 versions and a DeleteMarker';

    for my $size (1, 2, 5, 12) {
        my (@got, $km, $vm, $pages);
        while (1) {
            my $q = "&prefix=p/&max-keys=$size";
            $q .= "&key-marker=$km" if defined $km;
            $q .= "&version-id-marker=$vm" if defined $vm;
            my $r = versions($q);
            my @e = entries($r);
            ok @e <= $size, "max-keys $size: at most $size entries";
            push @got, @e;
            last if ++$pages > 20;
            last unless xval($r, "$V/s:IsTruncated") eq 'true';
            $km = xval($r, "$V/s:NextKeyMarker");
            $vm = xval($r, "$V/s:NextVersionIdMarker");
            is $km, $e[-1][1], '  NextKeyMarker is the last key';
            is $vm, $e[-1][2], '  NextVersionIdMarker is the last version';
        }
        is_deeply \@got, \@all, "max-keys $size: the pages make the whole";
    }

    my @after = entries(versions('&prefix=p/&key-marker=p/b'));
    is_deeply \@after, [ grep { $_->[1] gt 'p/b' } @all ],
        'key-marker alone: the keys after it';
};

subtest 'CommonPrefixes page like keys' => sub {
    put_object($s, 'vb', "cp/$_/x", 'x') for qw(a b c);
    my (@got, $km);
    for (1 .. 5) {
        my $r = versions('&prefix=cp/&delimiter=/&max-keys=1'
                         . (defined $km ? "&key-marker=$km" : ''));
        push @got, xvals($r, "$V/s:CommonPrefixes/s:Prefix");
        last unless xval($r, "$V/s:IsTruncated") eq 'true';
        $km = xval($r, "$V/s:NextKeyMarker");
        is xcount($r, "$V/s:NextVersionIdMarker"), 0,
            'no NextVersionIdMarker after a prefix';
    }
    is_deeply \@got, [ 'cp/a/', 'cp/b/', 'cp/c/' ], 'each prefix once';
};

subtest 'a commit-pinned bucket lists its own history' => sub {
    my @e = entries(versions("&prefix=doc", "$ids[1].master.vb"));
    is_deeply [ map { "$_->[2] $_->[3]" } @e ],
        [ "$ids[1] true", "$ids[0] false" ], 'as of that commit';
};

subtest 'errors' => sub {
    my $r = s3($s, GET => "/vb?versions&version-id-marker=$ids[0]");
    is_s3_error($r, 400, 'InvalidArgument', 'version-id-marker alone');
    $r = s3($s, GET => '/vb?versions&key-marker=doc&version-id-marker=zz');
    is_s3_error($r, 400, 'InvalidArgument', 'a malformed version-id-marker');
    $r = s3($s, GET => '/vb?versions&delimiter=-');
    is_s3_error($r, 400, 'InvalidDelimiter', 'another delimiter');
    $r = s3($s, GET => '/vb?versions&max-keys=many');
    is_s3_error($r, 400, 'InvalidArgument', 'max-keys not a number');
    $r = s3($s, GET => '/nob.vb?versions');
    is_s3_error($r, 404, 'NoSuchBucket', 'a missing bucket');

    my $none = ('c' x 12) . '4' . ('d' x 19);
    $r = get_version('doc', $none);
    is_s3_error($r, 404, 'NoSuchVersion', 'GET of a version that is no commit');
    is xval($r, '/Error/VersionId'), $none, '  names the version';
    is_s3_error(s3($s, HEAD => "/vb/doc?versionId=$none"), 404,
                'NoSuchVersion', 'HEAD too', head => 1);
    is_s3_error(get_version('doc', 'latest'), 400, 'InvalidArgument',
                'a malformed version id');

    my $ov = put_object($s, 'other', 'doc', 'other repo')->{headers}{'x-amz-version-id'};
    is_s3_error(get_version('doc', $ov), 404, 'NoSuchVersion',
                'a commit of another repo');

    my $dv = put_object($s, 'dev.vb', 'doc', 'dev')->{headers}{'x-amz-version-id'};
    $r = get_version('doc', $dv);
    is $r->{content}, 'dev',
        'a commit of another branch of the repo: commit ids are repo-wide';
};

subtest 'the history walked is bounded' => sub {
    put_object($s, 'vb', 'deep', "d$_") for 1 .. 70;
    my $r = versions('&prefix=deep');
    my @e = entries($r);
    is scalar @e, 64, 'the newest 64 commits of the branch';
    is get_version('deep', $e[-1][2])->{content}, 'd7',
        'the oldest listed version reads its bytes';
};

subtest 'pfs_s3_versions_depth sets how far back' => sub {
    my $d = stack(location => 'pfs_s3_versions_depth 5;')->start;
    s3($d, PUT => '/shallow');
    my @v = map { put_object($d, 'shallow', 'k', "v$_")->{headers}{'x-amz-version-id'} } 1 .. 8;
    my $r = s3($d, GET => '/shallow?versions');
    my @e = entries($r);
    is scalar @e, 5, 'five commits walked, five versions';
    is_deeply [ map { $_->[2] } @e ], [ reverse @v[3 .. 7] ], 'the newest';
    my ($rc, $out) = nginx_conf_test(location => 'pfs_s3_versions_depth 0;');
    isnt $rc, 0, 'a depth of 0 is refused by nginx -t';
    like $out, qr/pfs_s3_versions_depth|between/, '  naming the problem';
};

SKIP: {
    my $AWS = '/usr/bin/aws';
    skip_but_in_ci("$AWS missing") unless -x $AWS;
    local %ENV = %ENV;
    my (undef, $ep) = aws_cli_env($s);
    my $dir = $s->dir . '/aws-cli';

    subtest 'aws s3api list-object-versions, then each version read' => sub {
        my %bodies;
        for my $i (1 .. 3) {
            my $f = "$dir/body$i";
            open my $o, '>:raw', $f or die;
            print $o "cli version $i\n" x ($i * 1000);
            close $o;
            my $out = `$AWS --endpoint-url $ep s3api put-object --bucket vb --key cli/obj --body $f 2>&1`;
            is $?, 0, "put-object $i" or diag $out;
            my $v = JSON::PP::decode_json($out)->{VersionId};
            $bodies{$v} = "cli version $i\n" x ($i * 1000);
        }
        my $out = `$AWS --endpoint-url $ep s3api list-object-versions --bucket vb --prefix cli/ 2>&1`;
        is $?, 0, 'list-object-versions' or diag $out;
        my $j = JSON::PP::decode_json($out);
        my @v = @{ $j->{Versions} || [] };
        is scalar @v, 3, 'three versions';
        is_deeply [ sort map { $_->{VersionId} } @v ], [ sort keys %bodies ],
            'the version ids PutObject answered';
        is scalar(grep { $_->{IsLatest} } @v), 1, 'one IsLatest';
        for my $ver (@v) {
            my $f = "$dir/out-$ver->{VersionId}";
            my $g = `$AWS --endpoint-url $ep s3api get-object --bucket vb --key cli/obj --version-id $ver->{VersionId} $f 2>&1`;
            is $?, 0, "get-object --version-id" or diag $g;
            open my $in, '<:raw', $f or die;
            local $/;
            my $got = <$in>;
            ok $got eq $bodies{ $ver->{VersionId} }, '  the bytes of that version';
            is $ver->{Size}, length $got, '  Size';
        }
    };
}

done_testing;
