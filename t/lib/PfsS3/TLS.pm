package PfsS3::TLS;

# Throwaway certificates for tests, made with the openssl command: a test CA
# and certificates it signs, for servers (with DNS and IP names) and clients.
#
#   my $ca = PfsS3::TLS->ca($dir);
#   my ($crt, $key) = $ca->issue('server', dns => ['localhost'], ip => ['127.0.0.1']);
#   my ($ccrt, $ckey) = $ca->issue('client', client => 1);
#   $ca->cert    # the CA certificate, for --cacert / --ca-bundle

use strict;
use warnings;

sub run {
    my @cmd = @_;
    my $out = `@{[ join ' ', map { quotemeta } @cmd ]} 2>&1`;
    die "@cmd: $out" if $?;
    return $out;
}

sub ca {
    my ($class, $dir, $name) = @_;
    $name ||= 'pfs-s3 test CA';
    my $self = bless { dir => $dir, serial => 1 }, $class;
    $self->{key}  = "$dir/ca.key";
    $self->{cert} = "$dir/ca.crt";
    run('openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
        'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
        '-subj', "/CN=$name", '-keyout', $self->{key}, '-out', $self->{cert},
        '-addext', 'basicConstraints=critical,CA:TRUE',
        '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    return $self;
}

sub cert { $_[0]{cert} }
sub key  { $_[0]{key} }

# issue(NAME, dns => [..], ip => [..], client => 1): (cert file, key file)
sub issue {
    my ($self, $name, %o) = @_;
    my $dir = $self->{dir};
    my ($key, $csr, $crt, $ext) = map { "$dir/$name.$_" } qw(key csr crt ext);
    my @san = ((map { "DNS:$_" } @{ $o{dns} || [] }),
               (map { "IP:$_" } @{ $o{ip} || [] }));
    open my $fh, '>', $ext or die "$ext: $!";
    print $fh "basicConstraints=CA:FALSE\n";
    print $fh "keyUsage=critical,digitalSignature,keyEncipherment\n";
    print $fh 'extendedKeyUsage=' . ($o{client} ? 'clientAuth' : 'serverAuth')
              . "\n";
    print $fh 'subjectAltName=' . join(',', @san) . "\n" if @san;
    close $fh;
    run('openssl', 'req', '-new', '-newkey', 'ec', '-pkeyopt',
        'ec_paramgen_curve:prime256v1', '-nodes', '-subj', "/CN=$name",
        '-keyout', $key, '-out', $csr);
    run('openssl', 'x509', '-req', '-in', $csr, '-CA', $self->{cert},
        '-CAkey', $self->{key}, '-set_serial', $self->{serial}++,
        '-days', '2', '-extfile', $ext, '-out', $crt);
    return ($crt, $key);
}

1;
