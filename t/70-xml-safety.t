#!/usr/bin/perl
# XML request bodies are untrusted: no DTD (so no entity expansion and no
# external entity, whatever encoding the document claims), no network, a
# size limit enforced before the body is held in memory, libxml2's depth
# limit.  Each bad document is 400 MalformedXML, never a 500, and the
# worker stays small and serving.  Error documents stay well-formed XML
# whatever bytes the request carried.

use strict;
use warnings;
use lib 't/lib';
use PfsS3::Test;
use IO::Select;
use IO::Socket::INET;
use Encode ();
use Time::HiRes qw(time);

my $s = stack()->start;
make_bucket($s, 'x');

sub malformed {
    my ($target, $body, $name, %o) = @_;
    my $t0 = time;
    my $r = s3($s, PUT => $target, body => $body, %o);
    is_s3_error($r, 400, 'MalformedXML', $name);
    cmp_ok time - $t0, '<', 5, "$name: answered at once";
    return $r;
}

my $laughs = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    . join('', map { my $p = $_ - 1; "<!ENTITY lol$_ \"" . ("&lol$p;" x 10) . '">' } 1 .. 9)
    . ']><VersioningConfiguration><Status>&lol9;</Status></VersioningConfiguration>';
$laughs =~ s/&lol0;/&lol;/g;

malformed('/x?versioning', $laughs, 'billion laughs');

# an external entity pointing at a local file and at a listening socket
my $listener = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                     LocalPort => 0, Proto => 'tcp') or die;
my $lport = $listener->sockport;
$listener->blocking(0);

malformed('/xxe-file', '<?xml version="1.0"?><!DOCTYPE c [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
          . '<CreateBucketConfiguration><LocationConstraint>&e;</LocationConstraint>'
          . '</CreateBucketConfiguration>', 'external entity (file)');
malformed('/xxe-net', qq{<?xml version="1.0"?><!DOCTYPE c SYSTEM "http://127.0.0.1:$lport/x.dtd">}
          . '<CreateBucketConfiguration/>', 'external DTD (network)');
malformed('/x?versioning', qq{<!DOCTYPE v [<!ENTITY % p SYSTEM "http://127.0.0.1:$lport/p">%p;]>}
          . '<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>',
          'parameter entity (network)');
ok !$listener->accept, 'nothing connected to the entity URLs';

# the same attacks in encodings libxml2 would detect by itself
my $utf16 = Encode::encode('UTF-16', '<?xml version="1.0" encoding="UTF-16"?>'
    . '<!DOCTYPE v [<!ENTITY a "Suspended">]><VersioningConfiguration>'
    . '<Status>&a;</Status></VersioningConfiguration>');
malformed('/x?versioning', $utf16, 'UTF-16 document with a DTD');
malformed('/x?versioning', Encode::encode('UTF-16LE', "\x{feff}<VersioningConfiguration>"
          . '<Status>Enabled</Status></VersioningConfiguration>'),
          'UTF-16 without a DTD is not S3 XML either');

# depth: libxml2 stops at 256 levels without XML_PARSE_HUGE
malformed('/x?versioning', '<VersioningConfiguration>' . ('<a>' x 5000)
          . ('</a>' x 5000) . '</VersioningConfiguration>', '5000 levels deep');

# size: refused from Content-Length before the body is read
my $big = '<CreateBucketConfiguration>' . (' ' x (65 * 1024))
          . '</CreateBucketConfiguration>';
malformed('/too-big', $big, 'CreateBucketConfiguration over 64k');
malformed('/x?versioning', '<VersioningConfiguration>' . ('<!-- -->' x 10000)
          . '</VersioningConfiguration>', 'VersioningConfiguration over 64k');

subtest 'a 64 MiB body is refused without being read or held in memory' => sub {
    my ($w) = worker_pids($s);
    my $before = rss_kib($w);
    my $t0 = time;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s->port)
        or die "connect: $!";
    PfsS3::Test::syswrite_all($sock, "PUT /huge HTTP/1.1\r\nHost: x\r\nContent-Length: "
                        . (64 * 1024 * 1024) . "\r\n\r\n<CreateBucketConfiguration>");
    my $got = '';
    my $sel = IO::Select->new($sock);
    while ($got !~ /\r\n\r\n.*<\/Error>/s && time - $t0 < 10 && $sel->can_read(10)) {
        sysread($sock, $got, 65536, length $got) or last;
    }
    close $sock;
    like $got, qr{^HTTP/1.1 400}, 'refused';
    like $got, qr{<Code>MalformedXML</Code>}, 'MalformedXML';
    cmp_ok time - $t0, '<', 3, 'before the body was sent';
    cmp_ok rss_kib($w) - $before, '<', 8 * 1024, 'worker RSS grew less than 8 MiB';
};

subtest 'a chunked body over the limit is refused once read' => sub {
    my $chunk = 'x' x 8192;
    my $body = ("2000\r\n$chunk\r\n" x 20) . "0\r\n\r\n";
    my $r = raw_http($s, "PUT /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                       . "Connection: close\r\n\r\n$body", timeout => 20);
    is $r->{status}, 400, 'refused';
    like $r->{content}, qr{<Code>MalformedXML</Code>}, 'MalformedXML';
};

for my $bad ('', '<', '<VersioningConfiguration>', "\0\0\0", "\xff\xfe\x00<",
             '<VersioningConfiguration><Status>Enabled</Status></Wrong>',
             '<Other><Status>Enabled</Status></Other>',
             '<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration><x/>')
{
    my $name = 'bad versioning document ' . unpack('H*', substr($bad, 0, 12));
    malformed('/x?versioning', $bad, $name);
}

is s3($s, PUT => '/x?versioning', body => '<VersioningConfiguration>'
      . '<Status>Enabled</Status></VersioningConfiguration>')->{status}, 200,
    'a good document still works';
is s3($s, HEAD => '/xxe-file')->{status}, 404, 'no bucket came of the refused documents';

# error documents: bytes a client sent come back in Key and Resource
for my $key ('%EF%BF%BF', '%EF%BF%BE', 'a%01b', '%C3%28', '%1B%5D%5D%3E', '%F4%8F%BF%BF') {
    my $r = s3($s, GET => "/x/$key");
    is_s3_error($r, ($key =~ /^%C3%28$/ ? 400 : 404),
                ($key =~ /^%C3%28$/ ? 'InvalidURI' : 'NoSuchKey'),
                "GET key $key: a well-formed error document");
}

my $log = error_log_text($s);
unlike $log, qr/\[(alert|emerg|crit)\]|signal \d+/, 'no crash or alert in the error log';

done_testing;
