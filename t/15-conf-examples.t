#!/usr/bin/perl
# The deployment recipes in conf-examples/ as users copy them: each passes
# nginx -t, and each serves real requests with only its addresses, file
# paths and ports changed (every change is listed here and must apply, so
# an example that drifts fails this test).  Certificates come from a test
# CA made for this run; clients are curl (HTTP/2) and the aws CLI.

use strict;
use warnings;
use lib 't/lib';
use PfsS3::Test;
use PfsS3::TLS;
use PfsS3::Examples;
use File::Temp qw(tempdir);

my $AWS = '/usr/bin/aws';
my $ex = "$PfsS3::Stack::ROOT/conf-examples";
my $tmp = tempdir('pfs-s3-examples-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $tmp;

my $ca = PfsS3::TLS->ca($tmp);
my ($crt, $key) = $ca->issue('server',
    dns => ['s3.example.com', '*.s3.example.com', 'localhost',
            'pachd.example.com'],
    ip  => ['127.0.0.1']);
my ($ccrt, $ckey) = $ca->issue('nginx-client', client => 1);
my $other = PfsS3::TLS->ca(tempdir(DIR => $tmp), 'another CA');
my ($occrt, $ockey) = $other->issue('stranger', client => 1);

sub slurp_file {
    my ($f) = @_;
    open my $fh, '<', $f or die "$f: $!";
    local $/;
    return scalar <$fh>;
}

my @tls_files = (
    qr{/etc/ssl/certs/s3\.example\.com\.pem} => $crt,
    qr{/etc/ssl/private/s3\.example\.com\.key} => $key,
    qr{\n\s*listen \[::\]:443 ssl http2;} => '',
    qr{listen 443 ssl http2;} => 'listen 127.0.0.1:%%PORT%% ssl http2;',
);

sub curl {
    my ($s, @args) = @_;
    my $port = $s->port;
    my @cmd = ('curl', '-sS', '--max-time', '60', '--cacert', $ca->cert,
               '--resolve', "s3.example.com:$port:127.0.0.1",
               '--resolve', "data.s3.example.com:$port:127.0.0.1", @args);
    my $out = `@{[ join ' ', map { quotemeta } @cmd ]} 2>&1`;
    return ($? >> 8, $out);
}

sub aws {
    my ($endpoint, @args) = @_;
    my $bundle = $ca->cert;
    (undef, $bundle, @args) = @args if $args[0] eq '--ca-bundle';
    local $ENV{AWS_ACCESS_KEY_ID} = 'x';
    local $ENV{AWS_SECRET_ACCESS_KEY} = 'x';
    local $ENV{AWS_DEFAULT_REGION} = 'us-east-1';
    local $ENV{AWS_CONFIG_FILE} = '/dev/null';
    local $ENV{AWS_SHARED_CREDENTIALS_FILE} = '/dev/null';
    my @cmd = ($AWS, '--endpoint-url', $endpoint, '--ca-bundle', $bundle,
               @args);
    my $out = `@{[ join ' ', map { quotemeta } @cmd ]} 2>&1`;
    return ($? >> 8, $out);
}

my $payload = join '', map { sprintf "%07d\n", $_ } 1 .. 200_000;   # 1.6 MB
my $pfile = "$tmp/payload";
open my $pf, '>', $pfile or die;
print $pf $payload;
close $pf;

# ------------------------------------------------------------ tls.conf
subtest 'tls.conf: HTTPS with HTTP/2, curl and aws CLI' => sub {
    my $conf = adapt('tls.conf', slurp_file("$ex/tls.conf"), @tls_files,
        qr{server 127\.0\.0\.1:30650;} => 'server %%PFSD%%;',
        qr{/var/log/nginx/s3-access\.log} => '%%DIR%%/s3-access.log');
    my $s = stack(conf => conf_d_main($conf));
    my ($rc, $out) = $s->nginx_test;
    is $rc, 0, 'nginx -t' or diag $out;
    $s->start;
    my $base = 'https://s3.example.com:' . $s->port;

    ($rc, $out) = curl($s, '--http2', '-i', '-X', 'PUT', "$base/master.photos");
    like $out, qr{^HTTP/2 200}m, 'CreateBucket over HTTP/2' or diag $out;
    ($rc, $out) = curl($s, '--http2', '-i', '-T', $pfile,
                       "$base/master.photos/a/payload.txt");
    like $out, qr{^HTTP/2 200}m, 'PutObject over HTTP/2' or diag $out;
    like $out, qr{^etag: "${\ md5_hex($payload)}"}mi, 'its ETag is the MD5';
    ($rc, $out) = curl($s, '--http2', '-o', "$tmp/got", '-w', '%{http_version} %{http_code}',
                       "$base/master.photos/a/payload.txt");
    is $out, '2 200', 'GetObject over HTTP/2';
    ok slurp_file("$tmp/got") eq $payload, 'same bytes';
    ($rc, $out) = curl($s, '--http2', '-i', '-r', '8-15',
                       "$base/master.photos/a/payload.txt");
    like $out, qr{^HTTP/2 206.*\r?\n\r?\n0000002\n\z}s, 'a range over HTTP/2';

    # The aws CLI (HTTP/1.1) trusting the test CA.
    my $ep = 'https://localhost:' . $s->port;
    ($rc, $out) = aws($ep, 's3', 'cp', $pfile, 's3://master.photos/b/by-aws');
    is $rc, 0, 'aws s3 cp up over TLS' or diag $out;
    ($rc, $out) = aws($ep, 's3', 'cp', 's3://master.photos/b/by-aws', "$tmp/aws-got");
    is $rc, 0, 'aws s3 cp down over TLS' or diag $out;
    ok slurp_file("$tmp/aws-got") eq $payload, 'same bytes through the aws CLI';
    ($rc, $out) = aws($ep, 's3api', 'list-objects-v2', '--bucket', 'master.photos');
    like $out, qr{"Key": "a/payload.txt".*"Key": "b/by-aws"}s, 'aws s3api list-objects-v2';

    # Trusting another CA, the client refuses: the test CA is really in use.
    ($rc, $out) = aws($ep, '--ca-bundle', $other->cert, 's3', 'ls');
    isnt $rc, 0, 'a client trusting another CA refuses the server';
    like $out, qr{SSL|certificate}i, '  for its certificate' or diag $out;

    my $log = '';
    wait_until(sub { ($log = $s->slurp($s->dir . '/s3-access.log')) =~ /ListBuckets/ }, 5);
    like $log, qr{"GET /master\.photos/b/by-aws HTTP/1\.1" 200 1600000 \S+ TLSv1\.[23] op=GetObject bucket=master\.photos key="b/by-aws" error=- rid=\w{32} pfs=InspectFile:OK,GetFile:OK},
        'its access log format';
    like $log, qr{"GET /master\.photos/a/payload\.txt HTTP/2\.0" 200 .* pfs=InspectFile:OK,GetFile:OK},
        'GetFile ends OK over HTTP/2';
    $s->stop;
};

# ------------------------------------------------------------ virtual-host.conf
subtest 'virtual-host.conf: buckets under a wildcard domain' => sub {
    my $conf = adapt('virtual-host.conf', slurp_file("$ex/virtual-host.conf"),
        @tls_files, qr{server 127\.0\.0\.1:30650;} => 'server %%PFSD%%;');
    my $s = stack(conf => conf_d_main($conf));
    my ($rc, $out) = $s->nginx_test;
    is $rc, 0, 'nginx -t' or diag $out;
    $s->start;
    my $port = $s->port;
    my $vhost = "https://data.s3.example.com:$port";

    ($rc, $out) = curl($s, '--http2', '-i', '-X', 'PUT', "$vhost/");
    like $out, qr{^HTTP/2 200}m, 'CreateBucket by host name' or diag $out;
    ($rc, $out) = curl($s, '-i', '-T', $pfile, "$vhost/dir/x.txt");
    like $out, qr{^HTTP/\S+ 200}m, 'PutObject by host name' or diag $out;
    ($rc, $out) = curl($s, '-o', "$tmp/vh", '-w', '%{http_code}',
                       "https://s3.example.com:$port/data/dir/x.txt");
    is $out, '200', 'read back in path style';
    ok slurp_file("$tmp/vh") eq $payload, 'same bytes';
    ($rc, $out) = curl($s, "$vhost/?list-type=2&delimiter=/");
    like $out, qr{<Name>data</Name>.*<Prefix>dir/</Prefix>}s,
        'ListObjectsV2 by host name names the bucket';
    ($rc, $out) = curl($s, '-i', "$vhost/dir/none");
    like $out, qr{^HTTP/\S+ 404.*<Code>NoSuchKey</Code>}s, 'a missing key by host name';
    $s->stop;
};

# ------------------------------------------------------------ pachyderm-grpcs.conf
subtest 'pachyderm-grpcs.conf: grpcs:// with client certificates' => sub {
    my $base = slurp_file("$ex/pachyderm-grpcs.conf");
    my @common = (
        qr{server pachd-0\.example\.com:30650 } => 'server %%PFSD%% ',
        qr{\n\s*server pachd-1\.example\.com:30650 [^\n]*} => '',
        qr{listen 9000;} => 'listen 127.0.0.1:%%PORT%%;',
        qr{/etc/nginx/pfs/ca\.crt} => $ca->cert,
    );
    my $conf = adapt('pachyderm-grpcs.conf', $base, @common,
        qr{/etc/nginx/pfs/client\.crt} => $ccrt,
        qr{/etc/nginx/pfs/client\.key} => $ckey);
    my @tls = ('--tls-cert', $crt, '--tls-key', $key, '--tls-client-ca', $ca->cert);
    my $s = stack(conf => conf_d_main($conf), pfsd_args => \@tls);
    my ($rc, $out) = $s->nginx_test;
    is $rc, 0, 'nginx -t' or diag $out;
    $s->start;
    like $s->slurp($s->pfsd_log), qr{tls on with client certificates},
        'pfsd serves TLS and asks for client certificates';
    is s3($s, PUT => '/master.grpcs')->{status}, 200, 'CreateBucket through grpcs';
    my $r = s3($s, PUT => '/master.grpcs/k', body => $payload);
    is $r->{status}, 200, 'PutObject through grpcs' or diag $r->{content};
    $r = s3($s, GET => '/master.grpcs/k');
    ok $r->{status} == 200 && $r->{content} eq $payload, 'GetObject through grpcs';
    # Kept-alive connections: several requests, few TLS connections.
    s3($s, HEAD => '/master.grpcs/k') for 1 .. 10;
    my %peers = map { $_ => 1 } $s->slurp($s->pfsd_log) =~ /peer=(\S+)/g;
    cmp_ok scalar(keys %peers), '<=', 3, 'upstream keepalive reuses connections'
        or diag join ' ', keys %peers;
    $s->stop_nginx;

    # nginx without a client certificate, or with one from another CA, or
    # speaking plain text: pfsd refuses the connection and S3 clients get
    # 503 ServiceUnavailable.
    my %bad = (
        'no client certificate' => adapt('no cert', $base, @common,
            qr{\n\s*grpc_ssl_certificate\s[^\n]*} => '',
            qr{\n\s*grpc_ssl_certificate_key\s[^\n]*} => ''),
        'a certificate from another CA' => adapt('other CA', $base, @common,
            qr{/etc/nginx/pfs/client\.crt} => $occrt,
            qr{/etc/nginx/pfs/client\.key} => $ockey),
        'plain grpc://' => adapt('plain', $base, @common,
            qr{grpc_pass grpcs://} => 'grpc_pass grpc://',
            qr{/etc/nginx/pfs/client\.crt} => $ccrt,
            qr{/etc/nginx/pfs/client\.key} => $ckey),
    );
    for my $case (sort keys %bad) {
        my $b = stack(conf => conf_d_main($bad{$case}), no_pfsd => 1,
                      pfsd_upstream => $s->pfsd_addr);
        $b->start;
        my $r = s3($b, GET => '/master.grpcs/k');
        is_s3_error($r, 503, 'ServiceUnavailable', $case);
        $b->stop;
    }

    # nginx checks pfsd's certificate too: a name it does not hold fails.
    my $wrong = adapt('wrong name', $base, @common,
        qr{/etc/nginx/pfs/client\.crt} => $ccrt,
        qr{/etc/nginx/pfs/client\.key} => $ckey,
        qr{grpc_ssl_name pachd\.example\.com} => 'grpc_ssl_name pachd.example.org');
    my $w = stack(conf => conf_d_main($wrong), no_pfsd => 1, pfsd_upstream => $s->pfsd_addr);
    $w->start;
    is_s3_error(s3($w, GET => '/master.grpcs/k'), 503, 'ServiceUnavailable',
                'a PFS certificate for another name');
    like $w->slurp($w->error_log), qr{upstream SSL certificate does not match}, 'and the error log says why';
    $w->stop;
    $s->stop;

    # pfsd refuses to start with TLS files that cannot work, and says why.
    my $pfsd = "$PfsS3::Stack::ROOT/build/pfsd";
    my @start = ($pfsd, '--listen', '127.0.0.1:0', '--data', "$tmp/never");
    my $o = `@{[ join ' ', map { quotemeta } @start, '--tls-cert', $crt, '--tls-key', $ckey ]} 2>&1`;
    like $o, qr{--tls-key \S+ is not the key of --tls-cert}, 'pfsd: a key that does not match';
    $o = `@{[ join ' ', map { quotemeta } @start, '--tls-cert', $crt ]} 2>&1`;
    like $o, qr{--tls-cert and --tls-key go together}, 'pfsd: a certificate without its key';
    $o = `@{[ join ' ', map { quotemeta } @start, '--tls-cert', "$tmp/none", '--tls-key', $key ]} 2>&1`;
    like $o, qr{--tls-cert \S+/none: No such file}, 'pfsd: a missing file';
};

# ------------------------------------------------------------ ingress-nginx.yaml
subtest 'ingress-nginx.yaml: the ConfigMap snippets' => sub {
    my $yaml = slurp_file("$ex/ingress-nginx.yaml");
    my %snip;
    while ($yaml =~ /^  ([\w-]+-snippet): \|\n((?:    .*\n|\n)+)/mg) {
        my ($k, $v) = ($1, $2);
        $v =~ s/^    //mg;
        $snip{$k} = $v;
    }
    ok $snip{'main-snippet'} && $snip{'http-snippet'}, 'main-snippet and http-snippet';
    my $main = adapt('main-snippet', $snip{'main-snippet'},
        qr{/etc/nginx/modules/ngx_http_pfs_s3_module\.so} => '%%MODULE%%');
    my $http = adapt('http-snippet', $snip{'http-snippet'},
        qr{pachd\.pachyderm\.svc\.cluster\.local:30650} => '%%PFSD%%',
        qr{listen 9000;} => 'listen 127.0.0.1:%%PORT%%;');
    my $s = stack(conf => conf_d_main($http, main => $main));
    my ($rc, $out) = $s->nginx_test;
    is $rc, 0, 'nginx -t' or diag $out;
    $s->start;
    is s3($s, PUT => '/master.ingress')->{status}, 200, 'CreateBucket';
    my $r = s3($s, PUT => '/master.ingress/k', body => 'x' x 1000);
    is $r->{status}, 200, 'PutObject';
    is s3($s, GET => '/master.ingress/k')->{content}, 'x' x 1000, 'GetObject';
    $s->stop;
};

# ------------------------------------------------------------ load-balancer.conf
subtest 'load-balancer.conf: replicas behind a balancer' => sub {
    my $pfsd = stack(no_nginx => 1)->start;
    my @replicas = map {
        stack(no_pfsd => 1, pfsd_upstream => $pfsd->pfsd_addr)->start
    } 1 .. 2;
    my $conf = adapt('load-balancer.conf', slurp_file("$ex/load-balancer.conf"),
        @tls_files,
        qr{server 10\.0\.0\.11:9000 } => 'server 127.0.0.1:' . $replicas[0]->port . ' ',
        qr{server 10\.0\.0\.12:9000 } => 'server 127.0.0.1:' . $replicas[1]->port . ' ',
        qr{\n\s*server 10\.0\.0\.13:9000 [^\n]*} => '');
    my $lb = stack(conf => conf_d_main($conf, main => ''), no_pfsd => 1);
    my ($rc, $out) = $lb->nginx_test;
    is $rc, 0, 'nginx -t (the balancer has no module)' or diag $out;
    $lb->start;
    my $ep = 'https://localhost:' . $lb->port;
    ($rc, $out) = aws($ep, 's3', 'mb', 's3://master.lb');
    is $rc, 0, 'aws s3 mb through the balancer' or diag $out;
    for my $i (1 .. 4) {
        ($rc, $out) = aws($ep, 's3', 'cp', $pfile, "s3://master.lb/k$i");
        is $rc, 0, "aws s3 cp k$i through the balancer" or diag $out;
    }
    # Every object can be read from every replica.
    for my $rep (@replicas) {
        my @got = grep { s3($rep, GET => "/master.lb/k$_")->{content} eq $payload } 1 .. 4;
        is scalar(@got), 4, 'replica on port ' . $rep->port . ' reads every object';
    }
    for my $rep (@replicas) {
        my @puts = grep { ($_->{op} // "") eq "PutObject" } access_log_lines($rep);
        ok scalar(@puts), 'replica on port ' . $rep->port . ' took some PUTs';
    }
    $lb->stop;
    $_->stop for @replicas;
    $pfsd->stop;
};

done_testing;
