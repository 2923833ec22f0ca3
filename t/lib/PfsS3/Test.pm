package PfsS3::Test;

# Helpers for Perl tests: the stack harness plus Test::More.  Tests do
#
#   use lib 't/lib';   # prove is run from the top of the tree
#   use PfsS3::Test;
#   my $s = stack(location => '...')->start;
#
# HTTP and XML helpers for S3 requests grow here as the module does.

use strict;
use warnings;

use Test::More;
use PfsS3::Stack;

use Exporter 'import';
our @EXPORT = (@Test::More::EXPORT, qw(stack));

sub stack { PfsS3::Stack->new(@_) }

1;
