#!/usr/bin/perl
# Error log lines of an S3 request name the S3 operation, the bucket, the
# key and the PFS calls made so far with their status, after nginx's own
# context; a failure of PFS the operator must look into has a line saying
# which call failed and how.  Keys are escaped so that they cannot forge
# lines.  pfsd logs one line per RPC at info level with its duration.

use strict;
use warnings;
use lib 't/lib';
use PfsS3::Test;
use File::Temp qw(tempdir);
use JSON::PP ();
use PfsS3::Examples;

sub lines_matching {
    my ($s, $re) = @_;
    return grep { /$re/ } split /\n/, error_log_text($s);
}

subtest 'PFS unreachable: nginx upstream line with the S3 context' => sub {
    my $s = stack()->start;
    is s3($s, PUT => '/master.logs')->{status}, 200, 'CreateBucket';
    $s->stop_pfsd;
    # (a key PFS cannot store is answered before any PFS call; quotes and
    # backslashes it can store)
    my $r = s3($s, GET => '/master.logs/dir/a%22%2C%20s3%3A%20x%5C.txt');
    is $r->{status}, 503, 'GetObject is 503';
    my @l = lines_matching($s, qr/connect\(\) failed/);
    ok @l, 'nginx logs the failed connection' or diag error_log_text($s);
    like $l[0], qr{subrequest: "/pfs_v2\.API/InspectFile", upstream: "grpc://[^"]+", host: "[^"]+", s3: GetObject, bucket: "master\.logs", key: "dir/a\\x22, s3: x\\x5c\.txt"$},
        'followed by operation, bucket and the escaped key';
    $s->stop;
};

subtest 'PFS answers an error: which call, its status and message' => sub {
    # A gRPC peer that answers every call INTERNAL "disk on fire" (trailers
    # only), served by the same nginx on a unix socket.
    my $s = stack(no_pfsd => 1, pfsd_upstream => 'unix:%%DIR%%/fake-pfs.sock',
                  http => <<'EOF');
    server {
        listen unix:%%DIR%%/fake-pfs.sock http2;
        location / {
            add_header content-type application/grpc always;
            add_header grpc-status 13 always;
            add_header grpc-message "disk on fire" always;
            return 200;
        }
    }
EOF
    $s->start;
    my $r = s3($s, GET => '/master.logs/k.txt');
    is_s3_error($r, 500, 'InternalError', 'GetObject is 500 InternalError');
    my @l = lines_matching($s, qr/pfs_s3: PFS/);
    is scalar(@l), 1, 'one line for the failure' or diag error_log_text($s);
    like $l[0] // '', qr{\[error\] .*pfs_s3: PFS InspectFile failed: INTERNAL "disk on fire"}, 'names the call, the status and the message';
    like $l[0] // '', qr{request: "GET /master\.logs/k\.txt HTTP/1\.1", .*s3: GetObject, bucket: "master\.logs", key: "k\.txt", pfs: InspectFile:INTERNAL$},
        'and the request, operation, bucket, key and PFS status';
    $s->stop;
};

subtest 'PFS refuses the token: an info line, not an error' => sub {
    my $dir = tempdir(CLEANUP => 1);
    open my $fh, '>', "$dir/tokens" or die;
    print $fh "tok-alice alice\n";
    close $fh;
    my $s = stack(auth_tokens => "$dir/tokens")->start;
    is_s3_error(s3($s, PUT => '/master.logs'), 403, 'AccessDenied', 'CreateBucket without a token');
    my @l = lines_matching($s, qr/pfs_s3: PFS/);
    like $l[0] // '', qr{\[info\] .*pfs_s3: PFS CreateRepo failed: UNAUTHENTICATED ".+".*, s3: CreateBucket, bucket: "master\.logs", pfs: CreateRepo:UNAUTHENTICATED$},
        'info line with the call and the S3 context' or diag error_log_text($s);
    $s->stop;
};

subtest 'a request that works logs nothing at error level' => sub {
    my $s = stack(error_log_level => 'warn')->start;
    s3($s, PUT => '/master.quiet');
    s3($s, PUT => '/master.quiet/k', body => 'x');
    s3($s, GET => '/master.quiet/k');
    is s3($s, GET => '/master.quiet/none')->{status}, 404, 'NoSuchKey';
    is error_log_text($s) =~ s/^.*\[notice\].*\n//mgr, '', 'empty error log';

    # pfsd: one line per RPC, at info, with the duration.
    my @rpc = grep { / rpc / } split /\n/, $s->slurp($s->pfsd_log);
    ok scalar(@rpc) >= 6, 'pfsd logged the RPCs';
    like $_, qr{^\S+Z info rpc pfs_v2\.API/\w+ peer=\S+ status=\w+ \d+\.\d{3}ms in=\d+ out=\d+}, "pfsd: $_"
        for @rpc[0 .. 1];
    ok scalar(grep { m{rpc pfs_v2\.API/InspectFile .*status=NOT_FOUND} } @rpc),
        'pfsd: the failed InspectFile of the missing key, with its status';
    $s->stop;
};

subtest "README's access log formats, as written there" => sub {
    my $readme = PfsS3::Stack->slurp("$PfsS3::Stack::ROOT/README.md");
    my ($plain) = $readme =~ /```nginx\n(log_format pfs_s3 .*?)```/s;
    my ($json) = $readme =~ /```nginx\n(log_format pfs_s3_json .*?)```/s;
    ok $plain && $json, 'README has both formats' or return;
    my $norm = sub { my ($t) = @_; $t =~ s/\s+/ /g; $t };
    my ($fmt) = $plain =~ /^(log_format .*?;)/s;
    for my $ex (qw(local.conf container.conf)) {
        my $text = PfsS3::Stack->slurp("$PfsS3::Stack::ROOT/conf-examples/$ex");
        ok index($norm->($text), $norm->($fmt)) >= 0, "  the same format in $ex";
    }
    $plain =~ s{/var/log/nginx/s3-access\.log}{%%DIR%%/plain.log} or fail('plain path');
    $json =~ s{/var/log/nginx/s3-access\.json}{%%DIR%%/json.log} or fail('json path');
    my $server = <<'EOF';
    upstream pfsd { server %%PFSD%%; keepalive 4; }
    server {
        listen 127.0.0.1:%%PORT%%;
        location / { pfs_s3; }
        location ~ ^/(pfs_v2|auth_v2|versionpb_v2)\.API/ {
            internal;
            grpc_pass grpc://pfsd;
        }
    }
EOF
    my $s = stack(conf => conf_d_main("$plain\n$json\n$server"))->start;
    s3($s, PUT => '/master.fmt');
    s3($s, PUT => '/master.fmt/d/%22q%22%5Cb.txt', body => 'x');
    s3($s, GET => '/master.fmt/nope');
    s3($s, GET => '/');
    my @json;
    ok wait_until(sub { @json = grep { length } split /\n/, $s->slurp($s->dir . '/json.log');
                        @json >= 4 }, 5), 'four JSON lines';
    my @rec = map { eval { JSON::PP::decode_json($_) } } @json;
    is scalar(@rec), 4, 'each line is a JSON object' or diag join "\n", @json;
    is_deeply [ map { $_->{op} } @rec ],
        [qw(CreateBucket PutObject GetObject ListBuckets)], 'op';
    is $rec[1]{key}, 'd/"q"\\b.txt', 'a key with quotes and a backslash, exactly';
    is $rec[1]{pfs}, 'InspectFile:NOT_FOUND,ModifyFile:OK,InspectFile:OK', 'pfs';
    is $rec[2]{error}, 'NoSuchKey', 'error';
    is $rec[2]{status}, 404, 'status is a number';
    is $rec[3]{bucket}, '', 'empty values are ""';
    like $rec[0]{request_id}, qr/^[0-9a-f]{32}$/, 'request id';
    my @plain = split /\n/, $s->slurp($s->dir . '/plain.log');
    like $plain[1], qr{"PUT /master\.fmt/d/%22q%22%5Cb\.txt HTTP/1\.1" 200 \d+ [\d.]+ op=PutObject bucket=master\.fmt key="d/\\x22q\\x22\\x5Cb\.txt" error=- rid=[0-9a-f]{32} pfs=InspectFile:NOT_FOUND,ModifyFile:OK,InspectFile:OK$},
        'the plain format, with the key escaped by nginx';
    like $plain[3], qr{op=ListBuckets bucket=- key="-" error=-}, 'empty values are -';
    $s->stop;
};

done_testing;
