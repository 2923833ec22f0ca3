#!/usr/bin/perl
# Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket,
# GetBucketLocation, Get/PutBucketVersioning; bucket names that address a
# branch, a repo in a project, or a (read-only) commit.

use strict;
use warnings;
use lib 't/lib';
use PfsS3::Test;

my $s = stack(http => 'pfs_s3_region eu-west-3;')->start;

my $ISO_MS = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

sub bucket_names { xvals(s3($s, GET => '/'), '//s:Buckets/s:Bucket/s:Name') }

# ---------------------------------------------------------------- create

subtest 'CreateBucket' => sub {
    my $r = s3($s, PUT => '/alpha');
    is $r->{status}, 200 or diag $r->{content};
    is $r->{headers}{location}, '/alpha', 'Location header';
    ok $r->{rid}, 'request id';

    my $info = pfs($s, InspectBranch => { branch => branch_ref('alpha') });
    is $info->{code}, 0, 'the master branch of repo alpha exists in PFS';
};

is_s3_error(s3($s, PUT => '/alpha'), 409, 'BucketAlreadyOwnedByYou',
            'CreateBucket twice', resource => '/alpha');

subtest 'CreateBucket of a second branch of an existing repo' => sub {
    my $r = s3($s, PUT => '/dev.alpha');
    is $r->{status}, 200 or diag $r->{content};
    my $info = pfs($s, InspectBranch => { branch => branch_ref('alpha', 'dev') });
    is $info->{code}, 0, 'branch dev exists';
    is_s3_error(s3($s, PUT => '/dev.alpha'), 409, 'BucketAlreadyOwnedByYou', 'again');
    is_s3_error(s3($s, PUT => '/dev.alpha.default'), 409, 'BucketAlreadyOwnedByYou',
                'the same bucket with its project spelled out');
};

subtest 'CreateBucket with a CreateBucketConfiguration' => sub {
    my $xml = '<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            . '<LocationConstraint>eu-west-3</LocationConstraint></CreateBucketConfiguration>';
    my $r = s3($s, PUT => '/withconf', body => $xml);
    is $r->{status}, 200, 'the configured region' or diag $r->{content};

    $xml =~ s/eu-west-3/ap-south-1/;
    $r = s3($s, PUT => '/otherregion', body => $xml);
    is_s3_error($r, 400, 'InvalidLocationConstraint', 'another region');
    is pfs($s, InspectRepo => { repo => repo_ref('otherregion') })->{code}, 5,
        'no repo was created';

    $r = s3($s, PUT => '/emptyconf',
            body => '<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>');
    is $r->{status}, 200, 'no constraint';
};

for my $bad (
    ['not XML'          => 'this is not xml'],
    ['unclosed'         => '<CreateBucketConfiguration><LocationConstraint>eu-west-3'],
    ['wrong root'       => '<Foo><LocationConstraint>eu-west-3</LocationConstraint></Foo>'],
    ['external entity'  => '<?xml version="1.0"?><!DOCTYPE c [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                           . '<CreateBucketConfiguration><LocationConstraint>&x;</LocationConstraint>'
                           . '</CreateBucketConfiguration>'],
    ['entity expansion' => '<?xml version="1.0"?><!DOCTYPE c [<!ENTITY a "aaaaaaaaaa">'
                           . '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
                           . '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
                           . '<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
                           . '<CreateBucketConfiguration><LocationConstraint>&d;</LocationConstraint>'
                           . '</CreateBucketConfiguration>'],
    )
{
    my ($name, $body) = @$bad;
    my $r = s3($s, PUT => '/badxml', body => $body);
    is_s3_error($r, 400, 'MalformedXML', "CreateBucket with $name");
    unlike $r->{content}, qr/root:|aaaaaaaaaa/, "$name: nothing expanded";
}
is pfs($s, InspectRepo => { repo => repo_ref('badxml') })->{code}, 5,
    'no repo was created by the bad configurations';

subtest 'an XML body over pfs_s3_max_xml_body_size (64k default) is refused' => sub {
    my $body = '<CreateBucketConfiguration>' . ('<!-- pad -->' x 7000)
             . '</CreateBucketConfiguration>';
    my $r = s3($s, PUT => '/bigxml', body => $body);
    is $r->{status}, 400, 'status 400' or diag $r->{content};
    like xval($r, '/Error/Code') // '', qr/^(MalformedXML|MaxMessageLengthExceeded|EntityTooLarge)$/,
        'an S3 code for it';
    is pfs($s, InspectRepo => { repo => repo_ref('bigxml') })->{code}, 5, 'no repo';
};

for my $bad ('a.b.c.d', 'UPPER_ok.but$not', 'x.', '.x') {
    is_s3_error(s3($s, PUT => "/$bad"), 400, 'InvalidBucketName', "CreateBucket $bad");
}

subtest 'a branch name PFS refuses (UUID v4)' => sub {
    my $r = s3($s, PUT => '/0123456789ab4def0123456789abcdef.alpha');
    ok $r->{status} >= 400 && $r->{status} < 500, "4xx ($r->{status})"
        or diag $r->{content};
};

subtest 'CreateBucket in a project' => sub {
    pfs_ok($s, CreateProject => { project => { name => 'proj' } });
    my $r = s3($s, PUT => '/master.inproj.proj');
    is $r->{status}, 200 or diag $r->{content};
    is pfs($s, InspectBranch => { branch => branch_ref('inproj', 'master', 'proj') })->{code},
        0, 'branch in project proj';
    is pfs($s, InspectRepo => { repo => repo_ref('inproj') })->{code}, 5,
        'not in the default project';

    $r = s3($s, PUT => '/master.x.noproject');
    ok $r->{status} == 404 || $r->{status} == 400,
        "a missing project is a client error ($r->{status})" or diag $r->{content};
};

# ---------------------------------------------------------------- list

subtest 'ListBuckets' => sub {
    pfs_ok($s, CreateRepo => { repo => repo_ref('specrepo', 'default', 'spec') });
    pfs_ok($s, CreateBranch => { branch => { name => 'master',
                                             repo => repo_ref('specrepo', 'default', 'spec') } });
    pfs_ok($s, CreateRepo => { repo => repo_ref('_s3gateway_multipart_') });
    pfs_ok($s, CreateBranch => { branch => branch_ref('_s3gateway_multipart_') });
    pfs_ok($s, CreateRepo => { repo => repo_ref('nobranch') });

    my $r = s3($s, GET => '/');
    is $r->{status}, 200;
    like $r->{headers}{'content-type'}, qr{^application/xml};
    is xval($r, '/s:ListAllMyBucketsResult/s:Owner/s:ID'), '0' x 32, 'Owner ID';
    is xval($r, '/s:ListAllMyBucketsResult/s:Owner/s:DisplayName'), 'pachyderm',
        'Owner DisplayName';

    my @names = xvals($r, '//s:Buckets/s:Bucket/s:Name');
    my %have = map { $_ => 1 } @names;
    ok $have{'master.alpha.default'}, 'branch buckets are listed';
    ok $have{'dev.alpha.default'}, 'every branch of a repo';
    ok $have{'master.inproj.proj'}, 'other projects';
    ok !grep({ /specrepo/ } @names), 'non-user repos are hidden';
    ok !grep({ /_s3gateway_multipart_/ } @names), 'the multipart repo is hidden';
    ok !grep({ /nobranch/ } @names), 'a repo without branches has no bucket';
    is scalar(@names), scalar(keys %have), 'no duplicates';

    my @dates = xvals($r, '//s:Buckets/s:Bucket/s:CreationDate');
    is scalar(@dates), scalar(@names), 'a CreationDate per bucket';
    like $_, $ISO_MS, "CreationDate $_" for @dates;
};

subtest 'HEAD / is ListBuckets without a body' => sub {
    my $r = s3($s, HEAD => '/');
    is $r->{status}, 200;
    is $r->{content}, '';
};

# ---------------------------------------------------------------- head, location, versioning

subtest 'HeadBucket' => sub {
    my $r = s3($s, HEAD => '/alpha');
    is $r->{status}, 200;
    is $r->{headers}{'x-amz-bucket-region'}, 'eu-west-3', 'x-amz-bucket-region';
    is $r->{content}, '', 'no body';

    for my $b ('missing', 'nobranch', 'feature.alpha', 'master.alpha.otherproj') {
        $r = s3($s, HEAD => "/$b");
        is $r->{status}, 404, "HeadBucket $b: 404";
        is $r->{content}, '', 'no body';
        ok $r->{rid}, 'request id';
    }
};

subtest 'GetBucketLocation' => sub {
    my $r = s3($s, GET => '/alpha?location');
    is $r->{status}, 200;
    is xval($r, '/s:LocationConstraint'), 'eu-west-3', 'the configured region';
    is_s3_error(s3($s, GET => '/missing?location'), 404, 'NoSuchBucket', 'missing bucket',
                resource => '/missing');
};

subtest 'GetBucketLocation with the default region says nothing' => sub {
    my $s2 = stack()->start;
    make_bucket($s2, 'b');
    my $r = s3($s2, GET => '/b?location');
    is $r->{status}, 200;
    is xval($r, '/s:LocationConstraint'), '', 'us-east-1 is an empty constraint';
    is s3($s2, HEAD => '/b')->{headers}{'x-amz-bucket-region'}, 'us-east-1';
    $s2->stop;
};

subtest 'GetBucketVersioning' => sub {
    my $r = s3($s, GET => '/alpha?versioning');
    is $r->{status}, 200;
    is xval($r, '/s:VersioningConfiguration/s:Status'), 'Enabled', 'PFS keeps every version';
    is_s3_error(s3($s, GET => '/missing?versioning'), 404, 'NoSuchBucket', 'missing bucket');
};

subtest 'PutBucketVersioning' => sub {
    my $en = '<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
           . '<Status>Enabled</Status></VersioningConfiguration>';
    my $r = s3($s, PUT => '/alpha?versioning', body => $en);
    is $r->{status}, 200, 'Enabled is accepted' or diag $r->{content};

    (my $su = $en) =~ s/Enabled/Suspended/;
    is_s3_error(s3($s, PUT => '/alpha?versioning', body => $su), 501, 'NotImplemented',
                'Suspended cannot be done');
    is_s3_error(s3($s, PUT => '/alpha?versioning', body => '<Versioning'), 400, 'MalformedXML',
                'bad XML');
    (my $odd = $en) =~ s/Enabled/Sometimes/;
    is_s3_error(s3($s, PUT => '/alpha?versioning', body => $odd), 400, 'MalformedXML',
                'unknown status');
    is_s3_error(s3($s, PUT => '/missing?versioning', body => $en), 404, 'NoSuchBucket',
                'missing bucket');
};

# ---------------------------------------------------------------- commit buckets

subtest 'a bucket that names a commit' => sub {
    my $head = pfs_ok($s, InspectBranch => { branch => branch_ref('alpha') })
        ->{responses}[0]{head}{id};
    like $head, qr/^[0-9a-f]{32}$/, 'head commit id';

    for my $b ("$head.alpha", "$head.master.alpha", "$head.master.alpha.default") {
        my $r = s3($s, HEAD => "/$b");
        is $r->{status}, 200, "HeadBucket $b";
        $r = s3($s, GET => "/$b?location");
        is $r->{status}, 200, "GetBucketLocation $b";
    }

    my $r = s3($s, HEAD => '/0123456789ab4def0123456789abcdef.alpha');
    is $r->{status}, 404, 'a missing commit is a missing bucket';

    is_s3_error(s3($s, PUT => "/$head.alpha"), 400, 'InvalidBucketName',
                'CreateBucket of a commit');
    is_s3_error(s3($s, DELETE => "/$head.alpha"), 405, 'MethodNotAllowed',
                'DeleteBucket of a commit is refused');
    is_s3_error(s3($s, PUT => "/$head.alpha/k", body => 'x'), 405, 'MethodNotAllowed',
                'PutObject into a commit is refused');
    is_s3_error(s3($s, DELETE => "/$head.alpha/k"), 405, 'MethodNotAllowed',
                'DeleteObject in a commit is refused');
    is pfs($s, InspectBranch => { branch => branch_ref('alpha') })
        ->{responses}[0]{head}{id}, $head, 'no commit was made';
};

# ---------------------------------------------------------------- delete

subtest 'DeleteBucket' => sub {
    make_bucket($s, 'gone');
    my $r = s3($s, DELETE => '/gone');
    is $r->{status}, 204 or diag $r->{content};
    is $r->{content}, '', 'no body';
    is s3($s, HEAD => '/gone')->{status}, 404, 'gone';
    ok !grep({ $_ eq 'master.gone.default' } bucket_names()), 'not listed';
    is pfs($s, InspectRepo => { repo => repo_ref('gone') })->{code}, 5,
        'the repo went with its last branch';

    is_s3_error(s3($s, DELETE => '/gone'), 404, 'NoSuchBucket', 'twice',
                resource => '/gone');
};

subtest 'DeleteBucket of one branch keeps the repo' => sub {
    my $r = s3($s, DELETE => '/dev.alpha');
    is $r->{status}, 204 or diag $r->{content};
    is pfs($s, InspectBranch => { branch => branch_ref('alpha', 'dev') })->{code}, 5,
        'branch dev deleted';
    is pfs($s, InspectRepo => { repo => repo_ref('alpha') })->{code}, 0, 'repo alpha kept';
    is s3($s, HEAD => '/alpha')->{status}, 200, 'master still a bucket';
};

subtest 'DeleteBucket of a bucket holding objects' => sub {
    make_bucket($s, 'full');
    put_object($s, 'full', 'deep/down/k', 'data');
    is_s3_error(s3($s, DELETE => '/full'), 409, 'BucketNotEmpty', 'refused');
    is s3($s, HEAD => '/full')->{status}, 200, 'still there';
    is s3($s, DELETE => '/full/deep/down/k')->{status}, 204, 'delete the object';
    is s3($s, DELETE => '/full')->{status}, 204, 'then the bucket';
};

is_s3_error(s3($s, DELETE => '/never'), 404, 'NoSuchBucket', 'DeleteBucket of a missing bucket');

subtest 'DeleteBucket in a project' => sub {
    my $r = s3($s, DELETE => '/master.inproj.proj');
    is $r->{status}, 204 or diag $r->{content};
    is pfs($s, InspectRepo => { repo => repo_ref('inproj', 'proj') })->{code}, 5, 'repo gone';
    is pfs($s, InspectProject => { project => { name => 'proj' } })->{code}, 0,
        'the project is not ours to delete';
};


# pfs_s3_create_project on: CreateBucket makes a missing project (what
# "aws s3 mb s3://master.foo.bar" users expect); once, then the repo.
subtest 'pfs_s3_create_project on' => sub {
    my $p = stack(location => 'pfs_s3_create_project on;')->start;
    my $r = s3($p, PUT => '/master.foo.bar');
    is $r->{status}, 200, 'CreateBucket in a missing project' or diag $r->{content};
    is pfs($p, InspectProject => { project => { name => 'bar' } })->{code}, 0,
        'the project exists';
    is pfs($p, InspectBranch => { branch => branch_ref('foo', 'master', 'bar') })->{code}, 0,
        'and the branch';
    put_object($p, 'master.foo.bar', 'k', 'v');
    is s3($p, GET => '/master.foo.bar/k')->{content}, 'v', 'usable';
    is s3($p, PUT => '/dev.foo2.bar')->{status}, 200, 'another repo in it';
    wait_until(sub { access_log_lines($p) >= 4 }, 5);
    my @l = grep { ($_->{bucket} // '') eq 'master.foo.bar' && $_->{op} eq 'CreateBucket' }
        access_log_lines($p);
    is $l[0]{pfs}, 'CreateRepo:NOT_FOUND,CreateProject:OK,CreateRepo:OK,CreateBranch:OK',
        'PFS calls: CreateRepo, CreateProject, CreateRepo, CreateBranch';
    $p->stop;
};

$s->stop;
done_testing;
