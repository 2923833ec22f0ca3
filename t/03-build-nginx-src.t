#!/usr/bin/perl
# The module builds against any nginx source tree named by NGINX_SRC, with
# configure flags of one's own (README "From source"), and the result still
# loads into the stock binary: --with-compat is what makes that work.  The
# tree here is a copy of Debian's (the only nginx source at hand offline),
# configured with flags other than Debian's.

use strict;
use warnings;
use lib 't/lib';
use PfsS3::Test;
use File::Temp qw(tempdir);

plan skip_all => 'the sanitized run builds its own module'
    if $ENV{PFS_S3_SANITIZED};

my $ROOT = $PfsS3::Stack::ROOT;
my $tmp = tempdir('pfs-s3-nginx-src-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $tmp;

system('cp', '-a', '/usr/share/nginx/src', "$tmp/nginx") == 0
    or BAIL_OUT('no nginx source tree (nginx-dev)');
# a tree that does not say how its binary was built
unlink "$tmp/nginx/conf_flags";
ok !-e "$tmp/nginx/conf_flags", 'the copied tree has no conf_flags';

my $flags = '--with-http_v2_module --without-http_gzip_module';
my $out = `make -s -C $ROOT module NGINX_SRC=$tmp/nginx BUILD=$tmp/build NGINX_CONFIGURE_FLAGS='$flags' 2>&1`;
is $? >> 8, 0, "make module NGINX_SRC=<tree> NGINX_CONFIGURE_FLAGS='$flags'"
    or diag $out;
my $so = "$tmp/build/ngx_http_pfs_s3_module.so";
ok -f $so, 'the module was built there';
my ($configure) = PfsS3::Stack->slurp("$tmp/build/nginx/objs/ngx_auto_config.h")
                  =~ /NGX_CONFIGURE "([^"]*)"/;
like $configure, qr/--without-http_gzip_module/, 'configured with these flags';
unlike $configure, qr/--with-http_dav_module/, '  not with Debian\'s';
like $configure, qr/--with-compat/, '  and --with-compat';

my $s = stack(module => $so);
my ($rc, $t) = $s->nginx_test;
is $rc, 0, 'the stock /usr/sbin/nginx loads it (nginx -t)' or diag $t;
$s->start;
is s3($s, PUT => '/master.tree')->{status}, 200, 'CreateBucket';
is s3($s, PUT => '/master.tree/k', body => 'built elsewhere')->{status}, 200,
    'PutObject';
is s3($s, GET => '/master.tree/k')->{content}, 'built elsewhere', 'GetObject';
$s->stop;

done_testing;
