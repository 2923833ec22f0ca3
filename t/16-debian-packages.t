#!/usr/bin/perl
# The Debian packages as a Debian admin gets them: scripts/build-debs builds
# libnginx-mod-http-pfs-s3 and pfsd from a fresh copy of the tree with
# dpkg-buildpackage; they are installed with dpkg; the stock /usr/sbin/nginx
# loads the module through the package's load snippet (the include line of
# Debian's nginx.conf) and serves the packaged example tls.conf in front of
# the packaged pfsd running as its system user; then both are purged.
# Needs root (dpkg -i), as CI runs.

use strict;
use warnings;
use lib 't/lib';
use PfsS3::Test;
use PfsS3::Examples;
use File::Temp qw(tempdir);
use POSIX ();
use Time::HiRes qw(time);

skip_all_but_in_ci('installs packages: needs root') if $> != 0;

my $ROOT = $PfsS3::Stack::ROOT;
my $MOD_PKG = 'libnginx-mod-http-pfs-s3';
my $SNIPPET = '/etc/nginx/modules-enabled/50-mod-http-pfs-s3.conf';
my $EXAMPLES = "/usr/share/doc/$MOD_PKG/examples";

sub sh {
    my $cmd = join ' ', map { quotemeta } @_;
    my $out = `$cmd 2>&1`;
    return ($? >> 8, $out);
}

sub installed {
    my ($pkg) = @_;
    my ($rc, $out) = sh('dpkg-query', '-W', '-f=${Status}', $pkg);
    return $rc == 0 && $out =~ /install ok installed/;
}

# Two runs of the suite on one machine take turns here: the packages are
# installed system-wide.
use Fcntl qw(:flock);
open my $lock, '>', '/var/lock/pfs-s3-debian-packages-test.lock' or die "lock: $!";
flock $lock, LOCK_EX or die "flock: $!";

# A machine of its own (CI) has neither; elsewhere the test leaves the
# packages someone installed alone.
for my $p ($MOD_PKG, 'pfsd') {
    skip_all_but_in_ci("$p is installed already and this test purges it")
        if installed($p);
}

my $tmp = tempdir('pfs-s3-debs-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $tmp;

# ------------------------------------------------------------ build
my $t0 = time;
my ($rc, $out) = sh("$ROOT/scripts/build-debs", "$tmp/debs");
my $secs = time - $t0;
is $rc, 0, 'scripts/build-debs' or diag $out;
diag sprintf 'package build: %.1f s (%s)', $secs, $out =~ /(built .*)/ ? $1 : '';

my ($mod_deb) = glob "$tmp/debs/${MOD_PKG}_*_*.deb";
my ($pfsd_deb) = glob "$tmp/debs/pfsd_*_*.deb";
ok $mod_deb && $pfsd_deb, 'both packages were made' or BAIL_OUT('no packages');

# ------------------------------------------------------------ contents
(undef, my $abi) = sh('sh', '-c', q{sed -n 's/^nginx:abi=//p' /usr/share/nginx/src/debian/libnginx-mod.abisubstvars});
chomp $abi;
like $abi, qr/^nginx-abi-/, "this nginx's ABI is $abi";
(undef, my $deps) = sh('dpkg-deb', '-f', $mod_deb, 'Depends');
like $deps, qr/(^|, )\Q$abi\E(,|$)/m, 'the module depends on the nginx ABI dh_nginx computed';
(undef, my $files) = sh('dpkg-deb', '-c', $mod_deb);
like $files, qr{ \./usr/lib/nginx/modules/ngx_http_pfs_s3_module\.so$}m, 'module .so';
like $files, qr{ \./usr/share/nginx/modules-available/mod-http-pfs-s3\.conf$}m,
    'mod-http-pfs-s3.conf load snippet';
like $files, qr{ \./usr/share/doc/$MOD_PKG/examples/tls\.conf$}m, 'examples';
(undef, $files) = sh('dpkg-deb', '-c', $pfsd_deb);
like $files, qr{ \./usr/sbin/pfsd$}m, 'pfsd binary';
like $files, qr{ \./lib/systemd/system/pfsd\.service$}m, 'systemd unit';
like $files, qr{ \./etc/default/pfsd$}m, '/etc/default/pfsd';
unlike $files, qr{build/}, 'nothing of a build directory';

# ------------------------------------------------------------ install
($rc, $out) = sh('dpkg', '-i', $mod_deb, $pfsd_deb);
is $rc, 0, 'dpkg -i both' or diag $out;
my $purge = sub { sh('dpkg', '--purge', $MOD_PKG, 'pfsd') };
END { $purge->() if $purge && $> == 0 }

ok -l $SNIPPET, "$SNIPPET enabled on install";
is +(sh('cat', $SNIPPET))[1],
    "load_module modules/ngx_http_pfs_s3_module.so;\n", '  and it loads the module';
my @pw = getpwnam('pfsd');
ok @pw, 'system user pfsd';
cmp_ok $pw[2], '<', 1000, '  with a system uid';
my @st = stat '/var/lib/pfsd';
ok @st && $st[4] == $pw[2], '/var/lib/pfsd belongs to pfsd';
if (-x '/usr/bin/systemd-analyze') {
    ($rc, $out) = sh('systemd-analyze', 'verify', '/lib/systemd/system/pfsd.service');
    is $rc, 0, 'systemd-analyze verify pfsd.service' or diag $out;
}

# ------------------------------------------------------------ serve
# nginx with Debian's prefix (no -p: the snippet's modules/ path is relative
# to it) and Debian's include of modules-enabled, serving the packaged
# tls.conf; pfsd is the packaged binary, as the pfsd user.
package DebStack {
    our @ISA = ('PfsS3::Stack');
    sub nginx_cmd {
        my ($self, @extra) = @_;
        return ($self->{nginx_bin}, '-c', "$self->{dir}/nginx.conf",
                '-e', $self->error_log, @extra);
    }
    sub nginx_test {
        my ($self) = @_;
        $self->{port} ||= PfsS3::Stack::free_port();
        $self->write_conf;
        my $out = `$self->{nginx_bin} -t -c $self->{dir}/nginx.conf -e $self->{dir}/nginx-error.log 2>&1`;
        return ($? >> 8, $out);
    }
}
package main;

# The certificate as README's "From nothing to an HTTPS endpoint" makes
# it (self-signed, trusted by clients with --ca-bundle / --cacert), for
# localhost, in this test's directory.
my $readme = PfsS3::Stack->slurp("$ROOT/README.md");
my ($recipe) = $readme =~ /^### From nothing to an HTTPS endpoint\n(.*?)\n## /ms;
ok $recipe, 'README has the HTTPS recipe';
like $recipe, qr{^sudo cp \Q$EXAMPLES\E/tls\.conf /etc/nginx/conf\.d/}m,
    '  which copies the packaged tls.conf';
my ($openssl) = ($recipe // '') =~ /^sudo (openssl req .*?[^\\])\n/ms;
ok $openssl, '  and makes a certificate with openssl' or BAIL_OUT('no recipe');
$openssl =~ s{\\\n\s*}{ }g;    # the shell's line continuations
$openssl =~ s{s3\.example\.com}{localhost}g;
$openssl =~ s{/etc/ssl/(certs|private)/}{$tmp/}g;
($rc, $out) = sh('sh', '-c', $openssl);
is $rc, 0, "README's openssl line" or diag $out;
my ($crt, $key) = ("$tmp/localhost.pem", "$tmp/localhost.key");
open my $fh, '<', "$EXAMPLES/tls.conf" or die "$EXAMPLES/tls.conf: $!";
my $tls = do { local $/; <$fh> };
close $fh;
$tls = adapt('packaged tls.conf', $tls,
    qr{/etc/ssl/certs/s3\.example\.com\.pem} => $crt,
    qr{/etc/ssl/private/s3\.example\.com\.key} => $key,
    qr{\n\s*listen \[::\]:443 ssl http2;} => '',
    qr{listen 443 ssl http2;} => 'listen 127.0.0.1:%%PORT%% ssl http2;',
    qr{server 127\.0\.0\.1:30650;} => 'server %%PFSD%%;',
    qr{/var/log/nginx/s3-access\.log} => '%%DIR%%/s3-access.log');

my $conf = conf_d_main($tls, main => 'include /etc/nginx/modules-enabled/*.conf;');
my $s = DebStack->new(conf => $conf, pfsd_bin => '/usr/sbin/pfsd',
                      nginx_bin => '/usr/sbin/nginx',
                      pfsd_wrapper => ['setpriv', '--reuid=pfsd', '--regid=pfsd',
                                       '--init-groups', '--']);
mkdir $s->pfsd_data;
chown $pw[2], $pw[3], $s->pfsd_data;

($rc, $out) = $s->nginx_test;
is $rc, 0, 'stock nginx -t loads the packaged module' or diag $out;
$s->start;
like $s->slurp($s->pfsd_log), qr{pfsd listening on}, 'packaged pfsd runs';
my ($uid) = $s->slurp("/proc/$s->{pids}{pfsd}/status") =~ /^Uid:\s+(\d+)/m;
is $uid, $pw[2], '  as the pfsd user';

my $ep = 'https://localhost:' . $s->port;
my @aws = ('env', 'AWS_ACCESS_KEY_ID=x', 'AWS_SECRET_ACCESS_KEY=x',
           'AWS_DEFAULT_REGION=us-east-1', 'AWS_CONFIG_FILE=/dev/null',
           '/usr/bin/aws', '--endpoint-url', $ep, '--ca-bundle', $crt);
($rc, $out) = sh(@aws, 's3', 'mb', 's3://master.packaged');
is $rc, 0, 'aws s3 mb' or diag $out;
my $body = join '', map { "line $_\n" } 1 .. 100_000;
open my $bf, '>', "$tmp/body" or die;
print $bf $body;
close $bf;
($rc, $out) = sh(@aws, 's3', 'cp', "$tmp/body", 's3://master.packaged/dir/body');
is $rc, 0, 'aws s3 cp up' or diag $out;
($rc, $out) = sh(@aws, 's3', 'cp', 's3://master.packaged/dir/body', "$tmp/back");
is $rc, 0, 'aws s3 cp down' or diag $out;
ok -s "$tmp/back" == length($body) && `cmp $tmp/body $tmp/back 2>&1` eq '',
    'same bytes through the packaged module and pfsd';
($rc, $out) = sh('curl', '-sS', '--http2', '--cacert', $crt, '-o', "$tmp/curl",
                 '-w', '%{http_version} %{http_code}', "$ep/master.packaged/dir/body");
is $out, '2 200', 'curl --http2 --cacert';
ok -s "$tmp/curl" == length($body), '  the whole object';

# README's client lines of the recipe, as written but for the host name
# and port ("/etc/hosts" is not ours to change here).
my @client = grep { m{^(export |/usr/bin/aws |curl )} } split /\n/, $recipe;
is scalar(@client), 4, "README's recipe: export, two aws lines, curl";
my $script = join "\n", 'set -e', map {
    s{https://s3\.example\.com}{$ep}gr
        =~ s{/etc/ssl/certs/s3\.example\.com\.pem}{$crt}gr
} @client;
open my $sf, '>', "$tmp/recipe.sh" or die;
print $sf "$script\n";
close $sf;
($rc, $out) = sh('env', 'AWS_CONFIG_FILE=/dev/null', 'sh', "$tmp/recipe.sh");
is $rc, 0, "README's aws and curl lines run" or diag $out;
my $release = PfsS3::Stack->slurp('/etc/os-release');
ok length($release) && substr($out, -length $release) eq $release,
    '  and curl prints /etc/os-release back from S3' or diag $out;
$s->stop;

# ------------------------------------------------------------ container
# The Dockerfile's command, scripts/container-start, on the installed
# packages with conf-examples/container.conf (what the image serves).
subtest 'scripts/container-start with container.conf' => sub {
    my $c = PfsS3::Stack->slurp("$ROOT/conf-examples/container.conf");
    my $port = PfsS3::Stack::free_port();
    my $pport = PfsS3::Stack::free_port();
    $c = adapt('container.conf', $c,
        qr{listen 9000;} => "listen 127.0.0.1:$port;",
        qr{server 127\.0\.0\.1:30650;} => "server 127.0.0.1:$pport;");
    my $d = "$tmp/container";
    mkdir $d;
    open my $cf, '>', "$d/nginx.conf" or die;
    print $cf conf_d_main($c, main => 'include /etc/nginx/modules-enabled/*.conf;',
                          dir => $d, daemon => 0, error_log => 'stderr');
    close $cf;
    my $start = sub {
        my $pid = fork // die;
        if (!$pid) {
            open STDOUT, '>>', "$d/out.log";
            open STDERR, '>>', "$d/err.log";
            setpgrp(0, 0);
            $ENV{PFSD_LISTEN} = "127.0.0.1:$pport";
            $ENV{PFSD_DATA} = "$d/data";
            $ENV{NGINX_CONF} = "$d/nginx.conf";
            exec "$ROOT/scripts/container-start" or die;
        }
        return $pid;
    };
    my $reap = sub {
        my ($pid, $secs) = @_;
        my $t = time + $secs;
        while (time < $t) {
            return $? >> 8 if waitpid($pid, POSIX::WNOHANG()) == $pid;
            select undef, undef, undef, 0.05;
        }
        kill 'KILL', -$pid;
        waitpid $pid, 0;
        return undef;
    };
    my $pid;
    # Whatever fails, nothing started here outlives the test.
    my $guard = PfsS3::Test::Guard->new(sub { kill 'KILL', -$pid if $pid });
    $pid = $start->();
    ok PfsS3::Stack::wait_port($port, $pid, 30)
       && PfsS3::Stack::wait_port($pport, $pid, 30),
        'nginx and pfsd listen' or diag PfsS3::Stack->slurp("$d/err.log");
    my $box = bless { port => $port }, 'PfsS3::Stack';
    is s3($box, PUT => '/master.box')->{status}, 200, 'CreateBucket';
    is s3($box, PUT => '/master.box/k', body => 'boxed')->{status}, 200, 'PutObject';
    is s3($box, GET => '/master.box/k')->{content}, 'boxed', 'GetObject';
    ok wait_until(sub { PfsS3::Stack->slurp("$d/out.log")
                        =~ /op=GetObject bucket=master\.box key="k"/ }, 5),
        'the access log goes to stdout';
    like(PfsS3::Stack->slurp("$d/err.log"),
         qr{info rpc pfs_v2\.API/GetFile .*status=OK}, "pfsd's log goes to stderr");
    my @st = stat "$d/data";
    is $st[4], $pw[2], 'the data directory belongs to pfsd';
    kill 'TERM', $pid;
    is $reap->($pid, 20), 0, 'SIGTERM: both stop, exit status 0';

    # pfsd dying takes the container down (its orchestrator restarts it).
    $pid = $start->();
    PfsS3::Stack::wait_port($pport, $pid, 30);
    my ($pfsd_pid) = grep { (readlink("/proc/$_/exe") // '') eq '/usr/sbin/pfsd' }
                     map { m{/proc/(\d+)} ? $1 : () } glob '/proc/[0-9]*';
    ok $pfsd_pid, 'pfsd is running';
    kill 'KILL', $pfsd_pid if $pfsd_pid;
    my $rc = $reap->($pid, 20);
    ok defined $rc && $rc != 0, 'pfsd killed: the container exits with an error';
    ok !PfsS3::Stack::wait_port($port, undef, 0.2), '  and nginx is gone';
};

package PfsS3::Test::Guard {
    sub new { bless { f => $_[1] }, $_[0] }
    sub DESTROY { $_[0]{f}->() }
}

# ------------------------------------------------------------ purge
($rc, $out) = $purge->();
is $rc, 0, 'dpkg --purge both' or diag $out;
ok !-e $SNIPPET && !-l $SNIPPET, 'the load snippet is gone';
ok !-e '/usr/lib/nginx/modules/ngx_http_pfs_s3_module.so', 'the module is gone';
$purge = undef;

done_testing;
