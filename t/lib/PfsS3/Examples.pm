package PfsS3::Examples;

# Helpers for tests of conf-examples/: the examples are files for
# /etc/nginx/conf.d/ (http level), and tests run them the way Debian's
# nginx.conf includes them.
#
#   my $text = adapt($name, $text, qr{...} => 'replacement', ...);
#   my $conf = conf_d_main($snippet, main => 'load_module %%MODULE%%;');

use strict;
use warnings;
use Test::More;

use Exporter 'import';
our @EXPORT = qw(adapt conf_d_main);

# Applies [regex, replacement] pairs; each must match at least once, so an
# example that drifts from what its test changes fails the test.
sub adapt {
    my ($name, $text, @subst) = @_;
    while (my ($re, $to) = splice @subst, 0, 2) {
        my $n = $text =~ s/$re/$to/g;
        ok $n, "$name: found $re" or diag $text;
    }
    return $text;
}

# A minimal main configuration around an http-level snippet:
#   main      the module loading line(s) (default: load_module %%MODULE%%;)
#   dir       where pid, logs and temp files go (default %%DIR%%, the
#             harness's placeholder)
#   daemon    0 when the command line says "daemon off" itself
#   error_log its target and level (default <dir>/nginx-error.log info)
sub conf_d_main {
    my ($snippet, %o) = @_;
    my $main = $o{main} // 'load_module %%MODULE%%;';
    my $dir = $o{dir} // '%%DIR%%';
    my $daemon = ($o{daemon} // 1) ? "daemon off;\n" : '';
    my $error_log = $o{error_log} // "$dir/nginx-error.log info";
    my $temp = join '', map { "    ${_}_temp_path $dir/$_;\n" }
                        qw(client_body proxy fastcgi uwsgi scgi);
    return "$main\n${daemon}worker_processes 1;\npid $dir/nginx.pid;\n"
         . "error_log $error_log;\nevents { worker_connections 256; }\n"
         . "http {\n    include /etc/nginx/mime.types;\n"
         . "    access_log $dir/nginx-access.log;\n$temp$snippet\n}\n";
}

1;
