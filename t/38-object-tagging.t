#!/usr/bin/perl
# GetObjectTagging: PFS keeps no tags, so an existing key answers an empty
# TagSet (with its x-amz-version-id, ?versionId= honoured as by GetObject)
# and anything else the error GetObject would give.  The aws CLI v2 asks for
# it before an S3-to-S3 copy of an object above its multipart threshold
# (8 MiB): plain "aws s3 cp s3://a/big s3://b/big" must work and copy the
# bytes.  Setting or deleting tags stays 501.

use strict;
use warnings;
use lib 't/lib';
use PfsS3::Test;
use JSON::PP ();

my $s = stack()->start;

make_bucket($s, 'tsrc');
make_bucket($s, 'tdst');

my $v1 = put_object($s, 'tsrc', 'dir/k.txt', 'first')
             ->{headers}{'x-amz-version-id'};
my $v2 = put_object($s, 'tsrc', 'dir/k.txt', 'second')
             ->{headers}{'x-amz-version-id'};
ok $v1 && $v2 && $v1 ne $v2, 'two versions of the key';

subtest 'an existing key: an empty TagSet' => sub {
    my $r = s3($s, GET => '/tsrc/dir/k.txt?tagging');
    is $r->{status}, 200, 'status 200' or diag $r->{content};
    like $r->{headers}{'content-type'} // '', qr{^application/xml},
        'XML content type';
    like $r->{rid} // '', qr/^[0-9a-f]{32}$/, 'x-amz-request-id';
    is $r->{headers}{'x-amz-version-id'}, $v2,
        'x-amz-version-id: the newest version, as GetObject says';
    is s3($s, GET => '/tsrc/dir/k.txt')->{headers}{'x-amz-version-id'}, $v2,
        '  (GetObject)';
    my $xc = xml_doc($r);
    ok $xc, 'the body is XML' or return;
    is xcount($r, '/s:Tagging'), 1, 'root Tagging in the S3 namespace';
    is xcount($r, '/s:Tagging/s:TagSet'), 1, 'one TagSet';
    is xcount($r, '/s:Tagging/s:TagSet/*'), 0, 'with no Tag';
    my $l = access_log_line($s, $r) // {};
    is $l->{op}, 'GetObjectTagging', 'logged as GetObjectTagging';
    is $l->{pfs}, 'InspectFile:OK', 'one InspectFile';
};

subtest '?versionId= of an older version' => sub {
    my $r = s3($s, GET => "/tsrc/dir/k.txt?tagging&versionId=$v1");
    is $r->{status}, 200, 'status 200' or diag $r->{content};
    is $r->{headers}{'x-amz-version-id'}, $v1, 'x-amz-version-id: that one';
    is xcount($r, '/s:Tagging/s:TagSet'), 1, 'an empty TagSet';
};

is_s3_error(s3($s, GET => '/tsrc/dir/k.txt?tagging&versionId=nonsense'),
            400, 'InvalidArgument', 'a malformed versionId: InvalidArgument');
is_s3_error(s3($s, GET => '/tsrc/dir/none?tagging'), 404, 'NoSuchKey',
            'a missing key: NoSuchKey', resource => '/tsrc/dir/none');
is_s3_error(s3($s, GET => '/tsrc/dir?tagging'), 404, 'NoSuchKey',
            'a directory is no object: NoSuchKey');
is_s3_error(s3($s, GET => '/tnone/k?tagging'), 404, 'NoSuchBucket',
            'a missing bucket: NoSuchBucket');

for my $m (qw(PUT DELETE)) {
    my $r = s3($s, $m => '/tsrc/dir/k.txt?tagging',
               body => $m eq 'PUT' ? '<Tagging><TagSet/></Tagging>' : undef);
    is_s3_error($r, 501, 'NotImplemented', "$m ?tagging: still 501");
}
is s3($s, GET => '/tsrc/dir/k.txt')->{content}, 'second',
    'the object is untouched';

# ---------------------------------------------------------------- aws CLI

my $AWS = '/usr/bin/aws';
my $version = -x $AWS ? `$AWS --version 2>&1` : '';

SKIP: {
    skip_but_in_ci("$AWS is not the aws CLI v2")
        unless $version =~ m{^aws-cli/2\.};
    local %ENV = %ENV;
    my (undef, $ep) = aws_cli_env($s);

    # above the CLI's 8 MiB multipart threshold, not a multiple of a part
    my $big = join '', map { pack 'N', int rand 2**32 }
                           1 .. (9 * 1024 * 1024 + 4321) / 4;
    put_object($s, 'tsrc', 'big.bin', $big);

    subtest 'aws s3 cp s3://tsrc/big.bin s3://tdst/big.bin (no --copy-props)'
    => sub {
        my $seen = () = access_log_lines($s);
        my $out = `$AWS --endpoint-url $ep s3 cp s3://tsrc/big.bin s3://tdst/big.bin 2>&1`;
        is $?, 0, 'aws s3 cp exits 0' or diag $out;
        my $r = s3($s, GET => '/tdst/big.bin');
        is $r->{status}, 200, 'the copy exists';
        is length $r->{content}, length $big, 'its length';
        ok $r->{content} eq $big, 'the same bytes';
        my @l = access_log_lines($s);
        my @ops = map { $_->{op} // '-' } @l[$seen .. $#l];
        ok((grep { $_ eq 'GetObjectTagging' } @ops),
           'the CLI asked GetObjectTagging') or diag "@ops";
        ok((grep { $_ eq 'UploadPartCopy' } @ops),
           'and copied with UploadPartCopy') or diag "@ops";
        my $pending = s3($s, GET => '/tdst?uploads');
        is xcount($pending, '/s:ListMultipartUploadsResult/s:Upload'), 0,
            'no upload left pending';
    };

    subtest 'aws s3api get-object-tagging' => sub {
        my $out = `$AWS --endpoint-url $ep s3api get-object-tagging --bucket tsrc --key dir/k.txt 2>&1`;
        is $?, 0, 'exits 0' or diag $out;
        my $j = eval { JSON::PP::decode_json($out) } // {};
        is_deeply $j->{TagSet}, [], 'TagSet []' or diag $out;
        is $j->{VersionId},
            s3($s, HEAD => '/tsrc/dir/k.txt')->{headers}{'x-amz-version-id'},
            "VersionId: HeadObject's";
    };
}

unlike error_log_text($s), qr/\[(alert|crit|emerg)\]/,
    'no alert in the error log';

$s->stop;
done_testing;
