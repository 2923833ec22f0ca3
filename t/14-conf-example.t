#!/usr/bin/perl
# conf-examples/local.conf is what users copy: it must pass nginx -t and
# serve S3 as it is, with only its addresses and the module path changed.

use strict;
use warnings;
use lib 't/lib';
use PfsS3::Test;

my $file = "$PfsS3::Stack::ROOT/conf-examples/local.conf";
open my $fh, '<', $file or die "$file: $!";
my $conf = do { local $/; <$fh> };
close $fh;

like $conf, qr{^load_module \S+ngx_http_pfs_s3_module\.so;}m, 'loads the module';
like $conf, qr{^\s*pfs_s3;}m, 'has a pfs_s3 location';
like $conf, qr{grpc_pass grpc://}m, 'has the grpc_pass location';

# Only what differs on a test machine: addresses, the module's path, and
# staying in the foreground for the harness.
my $n = 0;
$n += $conf =~ s{^load_module \S+;}{load_module %%MODULE%%;\ndaemon off;}m;
$n += $conf =~ s{127\.0\.0\.1:30650}{%%PFSD%%}g;
$n += $conf =~ s{127\.0\.0\.1:9000}{127.0.0.1:%%PORT%%}g;
cmp_ok $n, '>=', 3, 'addresses found where the comments say';

my $s = stack(conf => $conf);
my ($rc, $out) = $s->nginx_test;
is $rc, 0, 'nginx -t' or diag $out;

$s->start;
is s3($s, PUT => '/master.example')->{status}, 200, 'CreateBucket';
my $body = join '', map { sprintf "%09d\n", $_ } 1 .. 300_000;    # 3 MB: a temp file
my $r = s3($s, PUT => '/master.example/dir/README.md', body => $body,
           headers => { 'content-md5' => md5_b64($body) });
is $r->{status}, 200, 'PutObject through client_body_temp_path' or diag $r->{content};
$r = s3($s, GET => '/master.example/dir/README.md');
ok $r->{status} == 200 && $r->{content} eq $body, 'GetObject';
$r = s3($s, GET => '/master.example?list-type=2&delimiter=/');
is_deeply [xvals($r, '//s:CommonPrefixes/s:Prefix')], ['dir/'], 'ListObjectsV2';

ok wait_until(sub { grep { /op=GetObject .*key="dir\/README\.md"/ } $s->slurp($s->dir . '/access.log') =~ /^.*$/mg }, 5),
    'its access log format works';
$s->stop;

my @bad = grep { /\[(alert|crit|emerg)\]/ } split /\n/, $s->slurp($s->dir . '/error.log');
is scalar(@bad), 0, 'nothing alarming in its error log' or diag join "\n", @bad;

# README's minimal nginx.conf, as written there.
subtest "README's nginx.conf" => sub {
    my $readme = PfsS3::Stack->slurp("$PfsS3::Stack::ROOT/README.md");
    my ($conf) = $readme =~ /^## Configuration\n.*?^```nginx\n(.*?)^```$/ms;
    ok $conf, 'README has it' or return;
    my $n = 0;
    $n += $conf =~ s{^load_module modules/ngx_http_pfs_s3_module\.so;}
                    {load_module %%MODULE%%;\ndaemon off;\npid %%DIR%%/nginx.pid;}m;
    $n += $conf =~ s!^http \{!http {
    access_log %%DIR%%/access.log;
    client_body_temp_path %%DIR%%/client_body;
    proxy_temp_path %%DIR%%/proxy;
    fastcgi_temp_path %%DIR%%/fastcgi;
    uwsgi_temp_path %%DIR%%/uwsgi;
    scgi_temp_path %%DIR%%/scgi;!m;
    $n += $conf =~ s{server 127\.0\.0\.1:30650;}{server %%PFSD%%;};
    $n += $conf =~ s{listen 9000;}{listen 127.0.0.1:%%PORT%%;};
    is $n, 4, 'the four lines this test changes are there';
    my $m = stack(conf => $conf);
    my ($rc, $out) = $m->nginx_test;
    is $rc, 0, 'nginx -t' or diag $out;
    $m->start;
    is s3($m, PUT => '/master.readme')->{status}, 200, 'CreateBucket';
    is s3($m, PUT => '/master.readme/a/b', body => $body)->{status}, 200, 'PutObject';
    ok s3($m, GET => '/master.readme/a/b')->{content} eq $body, 'GetObject';
    $m->stop;
};

done_testing;
