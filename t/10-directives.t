#!/usr/bin/perl
# Configuration: every pfs_s3 directive accepts its documented values, and
# each kind of misconfiguration fails `nginx -t` with a message that names
# the directive (so an operator knows which line to fix).

use strict;
use warnings;
use lib 't/lib';
use PfsS3::Test;

sub conf_ok {
    my ($name, %opt) = @_;
    my ($rc, $out) = nginx_conf_test(%opt);
    is $rc, 0, "accepted: $name" or diag $out;
    like $out, qr/test is successful/, "nginx -t says so: $name";
}

# conf_fails(name, qr/expected message/, location => ..., ...)
sub conf_fails {
    my ($name, $re, %opt) = @_;
    my ($rc, $out) = nginx_conf_test(%opt);
    isnt $rc, 0, "refused: $name";
    like $out, $re, "message: $name" or diag $out;
    unlike $out, qr/test is successful/, "not successful: $name";
}

# ---------------------------------------------------------------- valid

conf_ok('the harness configuration');

conf_ok('every directive with a valid value',
    http => q{
    pfs_s3_region eu-west-3;
    pfs_s3_default_project default;
    pfs_s3_default_branch master;
    pfs_s3_piece_size 2m;
    pfs_s3_max_message_size 8m;
    pfs_s3_max_xml_body_size 16k;
    pfs_s3_pfs_token "$http_x_token";
    pfs_s3_create_project on;
},
    server => q{
        pfs_s3_base_domain s3.Example.COM;
},
    location => q{
            pfs_s3_default_branch dev-1_x;
            pfs_s3_piece_size 4m;
});

conf_ok('bounds are inclusive',
    location => q{
            pfs_s3_piece_size 4k;
            pfs_s3_max_message_size 64m;
            pfs_s3_max_xml_body_size 1m;
});

conf_ok('a pfs_s3 location nested in a prefix location',
    server => q{
        location /s3/ {
            location /s3/x/ { pfs_s3; }
        }
});

# ---------------------------------------------------------------- pfs_s3

conf_fails('pfs_s3 takes no argument', qr/invalid number of arguments in "pfs_s3"/,
    location => 'pfs_s3_region x; pfs_s3 on;');

conf_fails('pfs_s3 twice', qr/"pfs_s3" directive is duplicate/,
    location => 'pfs_s3;');

conf_fails('pfs_s3 outside a location', qr/"pfs_s3" directive is not allowed here/,
    server => 'pfs_s3;');

conf_fails('pfs_s3 where another module already handles the location',
    qr/"pfs_s3" directive conflicts|"pfs_s3".*(content handler|duplicate)/,
    server => q{
        location /other/ {
            proxy_pass http://127.0.0.1:1;
            pfs_s3;
        }
});

# ---------------------------------------------------------------- base domain

for my $bad ('.s3.example.com', 's3.example.com.', 's3_example.com',
             'http://s3.example.com', 's3.example.com:9000', '')
{
    conf_fails("pfs_s3_base_domain \"$bad\"", qr/pfs_s3_base_domain/,
        server => qq{pfs_s3_base_domain "$bad";});
}

conf_fails('pfs_s3_base_domain twice', qr/"pfs_s3_base_domain" directive is duplicate/,
    server => 'pfs_s3_base_domain a.example; pfs_s3_base_domain b.example;');

conf_fails('pfs_s3_base_domain without a value',
    qr/invalid number of arguments in "pfs_s3_base_domain"/,
    server => 'pfs_s3_base_domain;');

# ---------------------------------------------------------------- region

for my $bad ('US-EAST-1', 'us east', 'us_east_1', '') {
    conf_fails("pfs_s3_region \"$bad\"", qr/pfs_s3_region/,
        http => qq{pfs_s3_region "$bad";});
}

conf_fails('pfs_s3_region twice', qr/"pfs_s3_region" directive is duplicate/,
    http => 'pfs_s3_region us-east-1; pfs_s3_region us-east-2;');

# ---------------------------------------------------------------- project, branch

for my $d (qw(pfs_s3_default_project pfs_s3_default_branch)) {
    for my $bad ('a.b', 'a/b', 'with space', '') {
        conf_fails("$d \"$bad\"", qr/\Q$d\E/, location => qq{$d "$bad";});
    }
    conf_fails("$d with two values", qr/invalid number of arguments in "\Q$d\E"/,
        location => "$d a b;");
}

# ---------------------------------------------------------------- sizes

my %sizes = (
    pfs_s3_piece_size        => ['1k', '17m', '16385k'],
    pfs_s3_max_message_size  => ['1k', '65m'],
    pfs_s3_max_xml_body_size => ['512', '2m'],
);

for my $d (sort keys %sizes) {
    for my $bad (@{ $sizes{$d} }) {
        conf_fails("$d $bad is out of bounds", qr/"\Q$d\E" must be between/,
            location => "$d $bad;");
    }
    conf_fails("$d not a size", qr/"[^"]*" in "\Q$d\E"|\Q$d\E/,
        location => "$d lots;");
    conf_fails("$d twice", qr/"\Q$d\E" directive is duplicate/,
        location => "$d 1m; $d 1m;");
}

# ---------------------------------------------------------------- token

conf_fails('pfs_s3_create_project yes', qr/invalid value "yes" in "pfs_s3_create_project"/,
    location => 'pfs_s3_create_project yes;');

conf_fails('pfs_s3_pfs_token without a value',
    qr/invalid number of arguments in "pfs_s3_pfs_token"/,
    location => 'pfs_s3_pfs_token;');

conf_fails('pfs_s3_pfs_token with a bad variable', qr/unknown "no_such_variable_x" variable/,
    location => 'pfs_s3_pfs_token $no_such_variable_x;');

# ---------------------------------------------------------------- variables

conf_ok('every $pfs_s3_ variable in a log_format',
    http => q{
    log_format all '$pfs_s3_operation $pfs_s3_bucket $pfs_s3_key '
                   '$pfs_s3_error_code $pfs_s3_request_id $pfs_s3_pfs_status';
});

conf_fails('an unknown $pfs_s3_ variable', qr/unknown "pfs_s3_nope" variable/,
    http => q{log_format bad '$pfs_s3_nope';});

# ---------------------------------------------------------------- README

# README's directive and variable tables against the module's source: no
# directive or variable undocumented or documented but gone, each
# directive with its contexts as the command table says and a default.
subtest 'README documents every directive and variable' => sub {
    my $root = $PfsS3::Stack::ROOT;
    my $src = PfsS3::Stack->slurp("$root/ngx_http_pfs_s3_module.c");
    my $vars = PfsS3::Stack->slurp("$root/src/ngx_http_pfs_s3_variables.c");
    my $readme = PfsS3::Stack->slurp("$root/README.md");

    my %code;
    while ($src =~ /\{ ngx_string\("(pfs_s3\w*)"\),\s*([^,]+),/g) {
        my ($name, $flags) = ($1, $2);
        $code{$name} = join ', ', grep { $flags =~ /NGX_HTTP_\U${_}\E_CONF\b/ }
                                   qw(main srv loc);
    }
    ok keys(%code) >= 10, scalar(keys %code) . ' directives in the command table';

    my ($table) = $readme =~ /^### Directives\n(.*?)\n(?=#)/ms;
    ok $table, 'README has a directive table' or return;
    my %doc;
    for (grep { /^\| `pfs_s3/ } split /\n/, $table) {
        my (undef, $syntax, $context, $default) = split /\s*(?<!\\)\|\s*/;
        my ($name) = $syntax =~ /^`(pfs_s3\w*)/;
        $context = join ', ', map { { http => 'main', server => 'srv',
                                      location => 'loc' }->{$_} // $_ }
                              split /,\s*/, $context;
        $doc{$name} = [$context, $default];
    }
    for my $d (sort keys %code) {
        ok $doc{$d}, "$d is documented" or next;
        is $doc{$d}[0], $code{$d}, "  $d: its contexts";
        ok length $doc{$d}[1], "  $d: its default";
    }
    ok $code{$_}, "README's $_ exists" for sort keys %doc;

    my @code_vars = sort $vars =~ /ngx_string\("(pfs_s3_\w+)"\)/g;
    my ($vtable) = $readme =~ /^### Access log variables\n(.*?)\n(?=[^|\n])/ms;
    my @doc_vars = sort +($vtable // '') =~ /^\| `\$(pfs_s3_\w+)`/mg;
    ok @code_vars >= 6, scalar(@code_vars) . ' variables';
    is_deeply \@doc_vars, \@code_vars, 'README lists every variable';
};

done_testing;
