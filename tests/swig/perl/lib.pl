# Helpers shared by the Perl tests (required, not a test).
use strict;
use warnings;
use Time::HiRes ();

my $seq = 0;

# A name no other test uses: the phase table and the global sink are process-wide.
sub unique { my ($base) = @_; return "perl_${base}_" . $$ . '_' . ++$seq }

# Busy-waits at least $ns nanoseconds.
sub spin {
    my ($ns) = @_;
    my $end = Time::HiRes::clock_gettime(Time::HiRes::CLOCK_MONOTONIC()) + $ns / 1e9;
    1 while Time::HiRes::clock_gettime(Time::HiRes::CLOCK_MONOTONIC()) < $end;
}

# A fresh directory for files a test writes.
sub tmpdir {
    my ($name) = @_;
    require File::Path;
    require File::Spec;
    my $base = $ENV{BT_TEST_TMPDIR} || File::Spec->tmpdir;
    my $dir = File::Spec->catdir($base, 'out', $name);
    File::Path::make_path($dir);
    return $dir;
}

# Runs $code, expects a Boundarytrace::Error named $status. Returns the error.
sub dies_with {
    my ($status, $code, $what) = @_;
    my $ok = eval { $code->(); 1 };
    my $err = $@;
    if ($ok) {
        Test::More::fail("$what: should die with $status");
        return;
    }
    my $good = ref $err && $err->isa('Boundarytrace::Error') && $err->name eq $status
        && "$err" =~ /\A\Q$status\E: /;
    Test::More::ok($good, "$what: dies with $status") or Test::More::diag("got: $err");
    return $err;
}

1;
