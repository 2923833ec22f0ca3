#!/usr/bin/perl
# Multipart edge cases: the gateway's multipart repo is no bucket; Abort and
# Complete touch only their own upload, even when another upload lives
# inside its directory (a key "K/<id>"); ListParts and ListMultipartUploads
# paging corner cases; Complete documents with whitespace around values.

use strict;
use warnings;
use lib 't/lib';
use PfsS3::Test;

my $s = stack()->start;
make_bucket($s, 'mp');

subtest 'the multipart repo is no bucket' => sub {
    my $id = create_upload($s, 'mp', 'secret');
    is upload_part($s, 'mp', 'secret', $id, 1, 'part data')->{status}, 200, 'a part';
    my $part = "default/mp/user/master/latest/secret/$id/1";
    my $g = pfs($s, GlobFile => { commit => { branch => { name => 'master',
                repo => { name => '_s3gateway_multipart_', type => 'user',
                          project => { name => 'default' } } } }, pattern => "/**/$id/1" });
    is scalar(@{ $g->{responses} || [] }), 1, 'the part is a file of the multipart repo';

    for my $b ('master._s3gateway_multipart_.default', 'master._s3gateway_multipart_',
               '_s3gateway_multipart_', 'master._s3gateway_multipart_.other') {
        is_s3_error(s3($s, GET => "/$b?list-type=2"), 404, 'NoSuchBucket', "$b: ListObjectsV2");
        is_s3_error(s3($s, GET => "/$b?uploads"), 404, 'NoSuchBucket', "$b: ListMultipartUploads");
        is_s3_error(s3($s, GET => "/$b/$part"), 404, 'NoSuchBucket', "$b: GetObject of a part");
        is_s3_error(s3($s, HEAD => "/$b/$part"), 404, undef, "$b: HeadObject of a part");
        is_s3_error(s3($s, PUT => "/$b/$part", body => 'evil'), 404, 'NoSuchBucket', "$b: PutObject");
        is_s3_error(s3($s, DELETE => "/$b/$part"), 404, 'NoSuchBucket', "$b: DeleteObject");
        is_s3_error(s3($s, PUT => "/$b"), 404, 'NoSuchBucket', "$b: CreateBucket");
        is_s3_error(s3($s, DELETE => "/$b"), 404, 'NoSuchBucket', "$b: DeleteBucket");
        is_s3_error(s3($s, PUT => '/mp/stolen', headers => { 'x-amz-copy-source' => "/$b/$part" }),
                    404, 'NoSuchBucket', "$b: CopyObject from it");
        is_s3_error(s3($s, PUT => "/mp/secret?partNumber=2&uploadId=$id",
                       headers => { 'x-amz-copy-source' => "/$b/$part" }),
                    404, 'NoSuchBucket', "$b: UploadPartCopy from it");
    }
    is s3($s, HEAD => '/mp/stolen')->{status}, 404, 'nothing was copied';

    # the upload is untouched and normal buckets work as before
    my $r = s3($s, GET => "/mp/secret?uploadId=$id");
    is_deeply [xvals($r, '//s:Part/s:PartNumber')], [1], 'the upload still has its one part';
    is s3($s, DELETE => "/mp/secret?uploadId=$id")->{status}, 204, 'Abort';
    is s3($s, GET => '/mp?list-type=2')->{status}, 200, 'a normal bucket lists';
    is s3($s, PUT => '/master.other_repo')->{status}, 200, 'a normal bucket is created';
    is put_object($s, 'master.other_repo', 'k', 'v')->{status}, 200, 'and written';
};

sub mp_files {
    my ($pattern) = @_;
    my $g = pfs($s, GlobFile => { commit => { branch => { name => 'master',
                repo => { name => '_s3gateway_multipart_', type => 'user',
                          project => { name => 'default' } } } }, pattern => $pattern });
    return sort map { $_->{file}{path} } grep { $_->{file}{path} !~ m{/$} } @{ $g->{responses} || [] };
}

subtest 'Abort and Complete leave an upload of the key "<key>/<uploadId>" alone' => sub {
    # Abort of (n, X) while (n/X, Y) lives in X's directory
    my $x = create_upload($s, 'mp', 'n');
    is upload_part($s, 'mp', 'n', $x, 1, 'outer')->{status}, 200, 'a part of n';
    my $y = create_upload($s, 'mp', "n/$x");
    is upload_part($s, 'mp', "n/$x", $y, 1, 'inner')->{status}, 200, "a part of n/$x";
    is s3($s, DELETE => "/mp/n?uploadId=$x")->{status}, 204, 'Abort n';
    is_s3_error(s3($s, GET => "/mp/n?uploadId=$x"), 404, 'NoSuchUpload', 'n is gone');
    my $r = s3($s, GET => "/mp/n/$x?uploadId=$y");
    is $r->{status}, 200, "ListParts of n/$x still answers" or diag $r->{content};
    is_deeply [xvals($r, '//s:Part/s:PartNumber')], [1], 'with its part';
    is_deeply [mp_files("/**/n/$x/*")], [], "nothing of n's upload is left";
    is_deeply [xvals(s3($s, GET => "/mp?uploads&prefix=n/"), "//s:Upload/s:Key")],
                  ["n/$x"], "n/$x is still listed";

    # Complete of (m, X) likewise
    my $mx = create_upload($s, 'mp', 'm');
    my $e = upload_part($s, 'mp', 'm', $mx, 1, 'the object')->{headers}{etag};
    my $my = create_upload($s, 'mp', "m/$mx");
    my $ie = upload_part($s, 'mp', "m/$mx", $my, 1, 'inner part')->{headers}{etag};
    $r = s3($s, POST => "/mp/m?uploadId=$mx",
            body => "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>$e</ETag></Part></CompleteMultipartUpload>");
    is $r->{status}, 200, 'Complete m' or diag $r->{content};
    is s3($s, GET => '/mp/m')->{content}, 'the object', 'm holds its part';
    is_deeply [mp_files("/**/m/$mx/*")], [], "nothing of m's upload is left";
    $r = s3($s, GET => "/mp/m/$mx?uploadId=$my");
    is_deeply [xvals($r, '//s:Part/s:PartNumber')], [1], "the upload of m/$mx keeps its part";
    is s3($s, DELETE => "/mp/m/$mx?uploadId=$my")->{status}, 204, "Abort m/$mx";
    is s3($s, DELETE => "/mp/n/$x?uploadId=$y")->{status}, 204, "Abort n/$x";
    is_deeply [mp_files('/**/mp/**')], [], 'no file of the bucket\'s uploads is left';
};

subtest 'ListParts max-parts=0; Complete values with whitespace around them' => sub {
    my $id = create_upload($s, 'mp', 'ws');
    my $e1 = upload_part($s, 'mp', 'ws', $id, 1, 'x' x (5 * 1024 * 1024))->{headers}{etag};
    my $e2 = upload_part($s, 'mp', 'ws', $id, 2, 'tail')->{headers}{etag};
    my $r = s3($s, GET => "/mp/ws?uploadId=$id&max-parts=0");
    is $r->{status}, 200, 'ListParts max-parts=0' or diag $r->{content};
    is xval($r, '//s:IsTruncated'), 'false', 'a page of nothing is not truncated';
    is xcount($r, '//s:Part'), 0, 'no part';
    is xcount($r, '//s:NextPartNumberMarker'), 0, 'no NextPartNumberMarker';
    $r = s3($s, GET => "/mp/ws?uploadId=$id&max-parts=1");
    is xval($r, '//s:IsTruncated'), 'true', 'max-parts=1 of two: truncated';
    is xval($r, '//s:NextPartNumberMarker'), 1, 'NextPartNumberMarker 1';

    # as a pretty-printer writes it
    $r = s3($s, POST => "/mp/ws?uploadId=$id", body => <<"XML");
<CompleteMultipartUpload>
  <Part>
    <PartNumber>
      1
    </PartNumber>
    <ETag>\t$e1\r\n</ETag>
  </Part>
  <Part><PartNumber> 2 </PartNumber><ETag>
$e2
</ETag></Part>
</CompleteMultipartUpload>
XML
    is $r->{status}, 200, 'Complete with whitespace around PartNumber and ETag' or diag $r->{content};
    ok s3($s, GET => '/mp/ws')->{content} eq ('x' x (5 * 1024 * 1024)) . 'tail', 'the object';
};

subtest 'ListMultipartUploads: markers and common prefixes in path order' => sub {
    my $d = create_upload($s, 'mp', 'd');
    my $da = create_upload($s, 'mp', 'd/a');
    my $r = s3($s, GET => '/mp?uploads&prefix=d&key-marker=d');
    is_deeply [xvals($r, '//s:Upload/s:Key')], ['d/a'], 'key-marker=d skips d only, not d/a';

    my %all;
    for my $k ('p', 'p/0', 'p/z', 'p/0/x') {
        $all{"$k " . create_upload($s, 'mp', $k)} = 1 for 1 .. 3;
    }
    $r = s3($s, GET => '/mp?uploads&prefix=p');
    my @keys = xvals($r, '//s:Upload/s:Key');
    my @ids = xvals($r, '//s:Upload/s:UploadId');
    is_deeply [sort map { "$keys[$_] $ids[$_]" } 0 .. $#keys], [sort keys %all], 'one page: all twelve';

    for my $max (1, 2, 5) {
        my ($km, $im, @seen) = ('', '');
        for (1 .. 20) {
            my $q = s3($s, GET => "/mp?uploads&prefix=p&max-uploads=$max&key-marker="
                                  . key_escape($km) . "&upload-id-marker=$im");
            my @k = xvals($q, '//s:Upload/s:Key');
            my @i = xvals($q, '//s:Upload/s:UploadId');
            push @seen, map { "$k[$_] $i[$_]" } 0 .. $#k;
            last unless xval($q, '//s:IsTruncated') eq 'true';
            ($km, $im) = (xval($q, '//s:NextKeyMarker'), xval($q, '//s:NextUploadIdMarker') // '');
        }
        is_deeply [sort @seen], [sort keys %all], "pages of $max: each upload once";
    }

    $r = s3($s, GET => '/mp?uploads&prefix=p&delimiter=/');
    is_deeply [xvals($r, '//s:Upload/s:Key')], [('p') x 3], 'delimited: the uploads of p';
    is_deeply [xvals($r, '//s:CommonPrefixes/s:Prefix')], ['p/'], 'delimited: p/ once';

    for (keys %all, "d $d", "d/a $da") {
        my ($k, $id) = split / /;
        s3($s, DELETE => '/mp/' . key_escape($k) . "?uploadId=$id");
    }
    is xcount(s3($s, GET => '/mp?uploads'), '//s:Upload'), 0, 'all aborted';
};

subtest 'an UploadPart whose upload is aborted while its body is sent leaves no part' => sub {
    my $id = create_upload($s, 'mp', 'race');
    my @chunks = ('a' x 1000, 'b' x 1000, '');
    my $abort;
    my $r = s3($s, PUT => "/mp/race?partNumber=1&uploadId=$id",
               headers => { 'content-length' => 2000 },
               body => sub {
                   $abort //= s3($s, DELETE => "/mp/race?uploadId=$id");
                   return shift @chunks;
               });
    is $abort->{status}, 204, 'the Abort, sent after the part\'s headers';
    is_s3_error($r, 404, 'NoSuchUpload', 'the UploadPart');
    is_deeply [mp_files("/**/race/$id/*")], [], 'no part file is left';
    is_s3_error(s3($s, DELETE => "/mp/race?uploadId=$id"), 404, 'NoSuchUpload', 'a second Abort');
};

unlike error_log_text($s), qr/\[(alert|emerg|crit)\]|exited on signal/, 'no alert in the error log';
$s->stop;
done_testing;
