#!/usr/bin/perl

# Configuration: the module loads into the stock nginx binary, every
# directive is accepted with good values, and a bad value is an "nginx -t"
# error that names the directive.

use strict;
use warnings;

use lib 't/lib';
use PfsS3::Test;

sub code_of { xval($_[0], '/Error/Code') // '' }

my $s = stack(no_pfsd => 1);

my ($rc, $out) = $s->nginx_test;
is $rc, 0, 'default configuration passes nginx -t' or diag $out;

$s->{http} = <<'EOF';
    pfs_s3_region eu-west-3;
    pfs_s3_default_project myproject;
    pfs_s3_default_branch main;
    pfs_s3_piece_size 2m;
    pfs_s3_max_message_size 8m;
    pfs_s3_max_xml_body_size 16k;
    pfs_s3_base_domain s3.example.com;
    pfs_s3_pfs_token $http_x_pfs_token;
EOF
($rc, $out) = $s->nginx_test;
is $rc, 0, 'every directive at http level' or diag $out;

$s->{http} = '';
$s->{server} = 'pfs_s3_base_domain S3.Example.COM;';
$s->{location} = 'pfs_s3_region us-west-2; pfs_s3_piece_size 16m;';
($rc, $out) = $s->nginx_test;
is $rc, 0, 'server and location levels' or diag $out;

my @bad = (
    [ location => 'pfs_s3;', qr/"pfs_s3" directive is duplicate/ ],
    [ location => 'pfs_s3 on;', qr/invalid number of arguments in "pfs_s3"/ ],
    [ location => 'proxy_pass http://127.0.0.1:1;',
      qr/"pfs_s3" conflicts with another content handler/ ],
    [ http => 'pfs_s3;', qr/"pfs_s3" directive is not allowed here/ ],
    [ location => 'pfs_s3_region "";', qr/"pfs_s3_region" has an invalid region/ ],
    [ location => 'pfs_s3_region US_EAST;',
      qr/"pfs_s3_region" has an invalid region "US_EAST"/ ],
    [ location => 'pfs_s3_region a b;',
      qr/invalid number of arguments in "pfs_s3_region"/ ],
    [ location => 'pfs_s3_default_project "a.b";',
      qr/"pfs_s3_default_project" has an invalid PFS name "a\.b"/ ],
    [ location => 'pfs_s3_default_project "";',
      qr/"pfs_s3_default_project" must not be empty/ ],
    [ location => 'pfs_s3_default_branch "m/n";',
      qr/"pfs_s3_default_branch" has an invalid PFS name/ ],
    [ location => 'pfs_s3_piece_size 1;',
      qr/"pfs_s3_piece_size" must be between 4k and 16m/ ],
    [ location => 'pfs_s3_piece_size 20m;',
      qr/"pfs_s3_piece_size" must be between 4k and 16m/ ],
    [ location => 'pfs_s3_piece_size lots;',
      qr/"pfs_s3_piece_size" directive invalid value/ ],
    [ location => 'pfs_s3_max_message_size 1k;',
      qr/"pfs_s3_max_message_size" must be between 64k and 64m/ ],
    [ location => 'pfs_s3_max_xml_body_size 2m;',
      qr/"pfs_s3_max_xml_body_size" must be between 1k and 1m/ ],
    [ location => 'pfs_s3_base_domain .example.com;',
      qr/"pfs_s3_base_domain" needs a host name/ ],
    [ location => 'pfs_s3_base_domain "exa mple.com";',
      qr/"pfs_s3_base_domain" has an invalid host name/ ],
    [ location => 'pfs_s3_base_domain a.com; pfs_s3_base_domain b.com;',
      qr/"pfs_s3_base_domain" directive is duplicate/ ],
    [ location => 'pfs_s3_region a; pfs_s3_region b;',
      qr/"pfs_s3_region" directive is duplicate/ ],
    [ location => 'pfs_s3_pfs_token;',
      qr/invalid number of arguments in "pfs_s3_pfs_token"/ ],
    [ location => 'pfs_s3_unknown 1;', qr/unknown directive "pfs_s3_unknown"/ ],
);

for my $case (@bad) {
    my ($where, $text, $re) = @$case;
    my $t = stack(no_pfsd => 1, $where => $text);
    my ($rc, $out) = $t->nginx_test;
    isnt $rc, 0, "nginx -t fails: $text";
    like $out, $re, "  and says why" or diag $out;
}

# The module into the stock binary, without a gRPC location: requests fail
# cleanly (the log says what is missing), nginx keeps running.

my $t = stack(no_pfsd => 1, conf => <<'EOF');
load_module %%MODULE%%;
daemon off;
pid %%DIR%%/nginx.pid;
error_log %%DIR%%/nginx-error.log info;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path %%DIR%%/client_body;
    server {
        listen 127.0.0.1:%%PORT%%;
        location / { pfs_s3; }
    }
}
EOF
$t->start_nginx;
my $res = s3($t, GET => '/');
is $res->{status}, 503, 'no grpc_pass location: 503';
is code_of($res), 'ServiceUnavailable', '  ServiceUnavailable';
ok wait_until(sub { $t->slurp($t->error_log) =~ /route \/pfs_v2\.API\/ to an internal location with grpc_pass/ }),
    '  the error log says how to fix it';
$t->stop;

done_testing;
