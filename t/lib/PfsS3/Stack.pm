package PfsS3::Stack;

# Starts and stops the real parts a test needs: pfsd on a free loopback port
# with its own data directory, and nginx with the built module and a
# per-test configuration.  Used by Perl tests (through PfsS3::Test) and by
# Python and JavaScript tests (through the t/lib/stack command), so every test
# runs the stack the same way.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(sleep time);

our $ROOT = abs_path(dirname(__FILE__) . '/../../..');

sub new {
    my ($class, %opt) = @_;

    my $dir = $opt{dir};
    if ($dir) {
        make_path($dir);
        $dir = abs_path($dir);
    } else {
        $dir = tempdir('pfs-s3-test-XXXXXX', TMPDIR => 1,
                       CLEANUP => !$ENV{PFS_S3_TEST_KEEP});
        # Started as root, nginx's workers run as "nobody": they must be
        # able to reach client_body_temp_path and the other temp paths
        # inside this directory (tempdir makes it 0700).
        chmod 0755, $dir;
    }

    my $self = bless {
        dir         => $dir,
        pfsd_bin    => $ENV{PFSD_BIN} || "$ROOT/build/pfsd",
        module      => $ENV{PFS_S3_MODULE}
                       || "$ROOT/build/ngx_http_pfs_s3_module.so",
        nginx_bin   => $ENV{NGINX_BIN} || '/usr/sbin/nginx',
        auth_tokens => $opt{auth_tokens},
        pids        => {},
        %opt,
        dir         => $dir,
    }, $class;

    return $self;
}

sub dir { $_[0]{dir} }

# A port nobody listens on right now.  There is a window before the server
# binds it; start_* retry with a new port when the server fails to bind.
sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, Proto => 'tcp', ReuseAddr => 1)
        or die "free_port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

sub wait_port {
    my ($port, $pid, $timeout) = @_;
    my $deadline = time + ($timeout || 20);
    while (time < $deadline) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port, Proto => 'tcp');
        if ($s) { close $s; return 1; }
        return 0 if $pid && waitpid($pid, WNOHANG) == $pid;
        sleep 0.02;
    }
    return 0;
}

sub spawn {
    my ($self, $name, $log, @cmd) = @_;
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $log or die "$log: $!";
        open STDERR, '>&', \*STDOUT;
        setpgrp(0, 0);
        exec @cmd or die "exec $cmd[0]: $!";
    }
    $self->{pids}{$name} = $pid;
    return $pid;
}

# ---------------------------------------------------------------- pfsd

sub pfsd_addr { "127.0.0.1:$_[0]{pfsd_port}" }
sub pfsd_port { $_[0]{pfsd_port} }
sub pfsd_data { $_[0]{dir} . '/pfsd-data' }
sub pfsd_log  { $_[0]{dir} . '/pfsd.log' }

sub start_pfsd {
    my ($self) = @_;
    die "pfsd not built: $self->{pfsd_bin} (run make)\n" unless -x $self->{pfsd_bin};

    for my $try (1 .. 5) {
        my $port = $self->{pfsd_port_fixed} || free_port();
        my @cmd = ($self->{pfsd_bin}, '--listen', "127.0.0.1:$port",
                   '--data', $self->pfsd_data);
        push @cmd, '--auth-tokens', $self->{auth_tokens} if $self->{auth_tokens};
        push @cmd, @{ $self->{pfsd_args} || [] };
        unshift @cmd, @{ $self->{pfsd_wrapper} } if $self->{pfsd_wrapper};

        my $pid = $self->spawn('pfsd', $self->pfsd_log, @cmd);
        if (wait_port($port, $pid, 30)) {
            $self->{pfsd_port} = $port;
            $self->{pfsd_port_fixed} = $port;   # restarts reuse the address
            return $self;
        }
        delete $self->{pids}{pfsd};
        kill 'KILL', $pid;
        waitpid $pid, 0;
        last if $self->{pfsd_port_fixed};
    }
    die "pfsd did not start; log:\n" . $self->slurp($self->pfsd_log);
}

sub stop_pfsd {
    my ($self, $signal) = @_;
    $self->stop_process('pfsd', $signal || 'TERM');
}

sub restart_pfsd {
    my ($self) = @_;
    $self->stop_pfsd;
    $self->start_pfsd;
}

# ---------------------------------------------------------------- nginx

sub port     { $_[0]{port} }
sub endpoint { 'http://127.0.0.1:' . $_[0]{port} }
sub error_log  { $_[0]{dir} . '/nginx-error.log' }
sub access_log { $_[0]{dir} . '/nginx-access.log' }

# The default configuration: one server with the S3 location and the
# internal gRPC location.  Tests replace parts of it with the options
#   http => '...', server => '...', location => '...', workers => N,
#   master_process => 'on'|'off', conf => full text (placeholders below).
# Placeholders: %%PFSD%% (host:port), %%PORT%%, %%DIR%%, %%MODULE%%.
sub default_conf {
    my ($self) = @_;
    my $workers = $self->{workers} || 1;
    my $master  = $self->{master_process} || 'on';
    my $http    = $self->{http} // '';
    my $server  = $self->{server} // '';
    my $loc     = $self->{location} // '';
    my $level   = $self->{error_log_level} || 'info';
    return <<"EOF";
load_module %%MODULE%%;
worker_processes $workers;
master_process $master;
daemon off;
pid %%DIR%%/nginx.pid;
error_log %%DIR%%/nginx-error.log $level;

events {
    worker_connections 1024;
}

http {
    log_format pfs_s3 '\$remote_addr "\$request" \$status \$body_bytes_sent '
                      'op=\$pfs_s3_operation bucket=\$pfs_s3_bucket '
                      'key=\$pfs_s3_key error=\$pfs_s3_error_code '
                      'rid=\$pfs_s3_request_id pfs=\$pfs_s3_pfs_status';
    access_log %%DIR%%/nginx-access.log pfs_s3;

    client_body_temp_path %%DIR%%/client_body;
    proxy_temp_path %%DIR%%/proxy;
    fastcgi_temp_path %%DIR%%/fastcgi;
    uwsgi_temp_path %%DIR%%/uwsgi;
    scgi_temp_path %%DIR%%/scgi;

    upstream pfsd {
        server %%PFSD%%;
        keepalive 16;
    }
$http
    server {
        listen 127.0.0.1:%%PORT%%;
        client_max_body_size 0;
$server
        location / {
            pfs_s3;
$loc
        }

        location ~ ^/(pfs_v2|auth_v2|versionpb_v2)\\.API/ {
            internal;
            grpc_pass grpc://pfsd;
        }
    }
}
EOF
}

sub write_conf {
    my ($self) = @_;
    my $conf = $self->{conf} // $self->default_conf;
    my $pfsd = $self->{pfsd_port} ? $self->pfsd_addr : ($self->{pfsd_upstream} || '127.0.0.1:1');
    $conf =~ s/%%PFSD%%/$pfsd/g;
    $conf =~ s/%%PORT%%/$self->{port}/g;
    $conf =~ s/%%DIR%%/$self->{dir}/g;
    $conf =~ s/%%MODULE%%/$self->{module}/g;
    my $file = "$self->{dir}/nginx.conf";
    open my $fh, '>', $file or die "$file: $!";
    print $fh $conf;
    close $fh;
    return $file;
}

sub nginx_cmd {
    my ($self, @extra) = @_;
    my @cmd = ($self->{nginx_bin}, '-p', "$self->{dir}/", '-c',
               "$self->{dir}/nginx.conf", '-e', $self->error_log, @extra);
    unshift @cmd, @{ $self->{nginx_wrapper} } if $self->{nginx_wrapper};
    return @cmd;
}

# nginx -t on the current configuration: (exit status, output).
sub nginx_test {
    my ($self) = @_;
    $self->{port} ||= free_port();
    $self->write_conf;
    my $cmd = join ' ', map { quotemeta } $self->{nginx_bin}, '-t', '-p',
              "$self->{dir}/", '-c', "$self->{dir}/nginx.conf", '-e',
              $self->error_log;
    my $out = `$cmd 2>&1`;
    return ($? >> 8, $out);
}

sub start_nginx {
    my ($self) = @_;
    die "module not built: $self->{module} (run make)\n" unless -f $self->{module};
    for my $try (1 .. 5) {
        $self->{port} = $self->{port_fixed} || free_port();
        $self->write_conf;
        my $pid = $self->spawn('nginx', "$self->{dir}/nginx.out", $self->nginx_cmd);
        if (wait_port($self->{port}, $pid, 60)) {
            $self->{port_fixed} = $self->{port};
            return $self;
        }
        delete $self->{pids}{nginx};
        kill 'KILL', $pid;
        waitpid $pid, 0;
        last if $self->{port_fixed};
    }
    die "nginx did not start; output:\n" . $self->slurp("$self->{dir}/nginx.out")
        . $self->slurp($self->error_log);
}

sub reload_nginx {
    my ($self) = @_;
    $self->write_conf;
    kill 'HUP', $self->{pids}{nginx};
}

sub stop_nginx {
    my ($self, $signal) = @_;
    $self->stop_process('nginx', $signal || 'QUIT');
}

# ---------------------------------------------------------------- both

sub start {
    my ($self) = @_;
    $self->start_pfsd unless $self->{no_pfsd};
    $self->start_nginx unless $self->{no_nginx};
    return $self;
}

# Whether a process has ended.  Our own children are reaped by waitpid; a
# process started by an earlier t/lib/stack command is not our child
# (waitpid answers -1 at once), so its end is seen with kill 0.
sub gone {
    my ($pid) = @_;
    my $r = waitpid($pid, WNOHANG);
    return 1 if $r == $pid;
    return $r == -1 && !kill(0, $pid);
}

sub stop_process {
    my ($self, $name, $signal) = @_;
    my $pid = delete $self->{pids}{$name} or return;
    kill $signal, $pid;
    my $deadline = time + 20;
    while (time < $deadline) {
        return if gone($pid);
        sleep 0.02;
    }
    kill 'KILL', -$pid;
    kill 'KILL', $pid;
    waitpid $pid, 0;
}

sub stop {
    my ($self) = @_;
    $self->stop_nginx;
    $self->stop_pfsd;
}

sub slurp {
    my ($self, $file) = @_;
    open my $fh, '<', $file or return '';
    local $/;
    return scalar <$fh>;
}

sub DESTROY {
    my ($self) = @_;
    local $?;
    for my $name (keys %{ $self->{pids} }) {
        my $pid = $self->{pids}{$name};
        kill 'KILL', -$pid;
        kill 'KILL', $pid;
        waitpid $pid, 0;
    }
}

1;
