#!/usr/bin/perl
# scripts/up, the README's run command, on free ports and a temporary state
# directory: it starts pfsd and nginx, S3 works through it (a PUT and GET,
# then the README's aws CLI lines exactly as written), running it again
# restarts both with the data kept, a taken port is refused by name, and
# `scripts/up stop` leaves nothing running.

use strict;
use warnings;
use lib 't/lib';
use PfsS3::Test;
use File::Path qw(make_path);
use IO::Socket::INET;

plan skip_all => 'scripts/up serves build/, not the module under test '
    . '(PFS_S3_MODULE is set)' if $ENV{PFS_S3_MODULE} || $ENV{NGINX_BIN};

my $ROOT = $PfsS3::Stack::ROOT;
my $AWS = '/usr/bin/aws';
my $up = "$ROOT/scripts/up";
my $h = stack(no_pfsd => 1, no_nginx => 1);     # a temporary directory
my $run = $h->dir . '/run';
my $work = $h->dir . '/work';
make_path($work);
my $port = PfsS3::Stack::free_port();
my $pfsd_port;
do { $pfsd_port = PfsS3::Stack::free_port() } while $pfsd_port == $port;

$ENV{PFS_S3_PORT} = $port;
$ENV{PFSD_PORT} = $pfsd_port;
$ENV{PFS_S3_RUN} = $run;
delete $ENV{PFS_S3_SKIP_BUILD};

sub sh {
    my (@cmd) = @_;
    my $out = `@cmd 2>&1`;
    return ($? >> 8, $out);
}

sub pid_of {
    my ($name) = @_;
    open my $fh, '<', "$run/$name.pid" or return 0;
    my $pid = <$fh> // 0;
    chomp $pid;
    return $pid;
}

sub listening {
    my ($p) = @_;
    my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $p, Proto => 'tcp');
    return $c ? 1 : 0;
}

# s3() needs only an endpoint: a harness object pointed at our port.
$h->{port} = $port;

END {
    # Never leave processes behind, whatever failed.
    system("$up stop >/dev/null 2>&1") if $run && -d $run;
}

my ($rc, $out) = sh($up);
is $rc, 0, 'scripts/up' or diag $out;
like $out, qr{S3 endpoint http://127\.0\.0\.1:$port\b}, 'prints the endpoint';
like $out, qr{aws --endpoint-url http://127\.0\.0\.1:$port s3 }, 'prints an aws CLI example';
ok -d "$run/data", 'pfsd data in PFS_S3_RUN/data';
ok kill(0, pid_of('pfsd')) && kill(0, pid_of('nginx')), 'both run';

is s3($h, PUT => '/master.up')->{status}, 200, 'CreateBucket through scripts/up';
my $body = join '', map { "line $_\n" } 1 .. 200_000;     # 2 MB: streamed to PFS
my $r = s3($h, PUT => '/master.up/dir/obj', body => $body);
is $r->{status}, 200, 'PUT' or diag $r->{content};
$r = s3($h, GET => '/master.up/dir/obj');
ok $r->{status} == 200 && $r->{content} eq $body, 'GET: same bytes';

# ---- the README's aws CLI lines, verbatim but for the port
SKIP: {
    skip_but_in_ci("$AWS missing", 5) unless -x $AWS;
    open my $fh, '<', "$ROOT/README.md" or die;
    my $readme = do { local $/; <$fh> };
    my ($block) = $readme =~ /Then, with the aws CLI v2.*?```sh\n(.*?)```/s;
    ok $block && $block =~ /s3 cp myfile\.csv s3:\/\/master\.foo\.bar\n/,
        'README has the example block';
    $block //= '';
    $block =~ s/127\.0\.0\.1:9000/127.0.0.1:$port/g;
    $block =~ s/^aws /$AWS /mg;
    my $script = "$work/readme.sh";
    open my $sfh, '>', $script or die;
    print $sfh "set -ex\n$block";
    close $sfh;
    local %ENV = map { $_ => $ENV{$_} } grep { !/^AWS_/ } keys %ENV;
    $ENV{AWS_CONFIG_FILE} = "$work/none";
    $ENV{AWS_SHARED_CREDENTIALS_FILE} = "$work/none";
    $ENV{AWS_EC2_METADATA_DISABLED} = 'true';
    $ENV{HOME} = $work;
    ($rc, $out) = sh("cd $work && bash $script");
    is $rc, 0, 'the README lines run without error' or diag $out;
    like $out, qr{^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+20 myfile\.csv$}m, 'ls shows myfile.csv';
    ok -s "$work/copy.csv" && `cat $work/copy.csv` eq "id,name\n1,one\n2,two\n",
        'copy.csv came back with the same bytes';
    is s3($h, GET => '/master.foo.bar/myfile.csv')->{status}, 404, 'rm removed it';
}

# ---- again: a clean restart, data kept
my ($pfsd1, $nginx1) = (pid_of('pfsd'), pid_of('nginx'));
($rc, $out) = sh($up);
is $rc, 0, 'scripts/up again' or diag $out;
like $out, qr/stopping nginx.*stopping pfsd/s, 'it stopped the running ones first';
ok pid_of('pfsd') != $pfsd1 && pid_of('nginx') != $nginx1, 'new processes';
ok !kill(0, $pfsd1) && !kill(0, $nginx1), 'the old ones are gone';
$r = s3($h, GET => '/master.up/dir/obj');
ok $r->{status} == 200 && $r->{content} eq $body, 'the object survived the restart';

($rc, $out) = sh("$up status");
like $out, qr/pfsd runs.*nginx runs/s, 'status';

# ---- stop
my ($pfsd2, $nginx2) = (pid_of('pfsd'), pid_of('nginx'));
($rc, $out) = sh("$up stop");
is $rc, 0, 'scripts/up stop' or diag $out;
ok !kill(0, $pfsd2) && !kill(0, $nginx2), 'nothing left running';
ok !listening($port) && !listening($pfsd_port), 'ports closed';
($rc, $out) = sh("$up stop");
is $rc, 0, 'stop when stopped is fine';

# ---- a port someone else holds is refused by name, nothing started
my $squat = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => $port, Proto => 'tcp', ReuseAddr => 1);
SKIP: {
    skip 'could not hold the port', 3 unless $squat;
    local $ENV{PFS_S3_SKIP_BUILD} = 1;
    ($rc, $out) = sh($up);
    isnt $rc, 0, 'scripts/up with the S3 port taken fails';
    like $out, qr/port $port is taken/, '... naming the port';
    ok !pid_of('pfsd') || !kill(0, pid_of('pfsd')), '... and starts no pfsd';
}

done_testing;
