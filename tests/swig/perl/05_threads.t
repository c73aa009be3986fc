# Perl interpreter threads recording into one operation: exact counts.
use strict;
use warnings;
use Config;
use Test::More;
use FindBin;
require "$FindBin::Bin/lib.pl";

BEGIN {
    unless ($Config{useithreads}) {
        print "1..0 # SKIP this perl has no interpreter threads\n";
        exit 0;
    }
}
use threads;
use Boundarytrace qw(:phases);

my $THREADS = 4;
my $OPS     = 500;
my $op      = unique('threads');    # the global sink: objects do not cross threads

my @threads = map {
    my $worker = $_;
    threads->create(sub {
        for (1 .. $OPS) {
            my $t = Boundarytrace::tracer($op);
            $t->phase(EXTRACT, sub { 1 });
            $t->add_items($worker);
            $t->finish;
        }
        return 1;
    });
} 1 .. $THREADS;
is($_->join, 1, 'thread ' . $_->tid . ' done') for @threads;

my $st = Boundarytrace::snapshot()->stats($op);
is($st->{count}, $THREADS * $OPS, 'every operation counted once');
is($st->{items}, $OPS * $THREADS * ($THREADS + 1) / 2, 'every item counted once');
is(Boundarytrace::snapshot()->phase_stats($op, EXTRACT)->{entries}, $THREADS * $OPS, 'phase entries');

done_testing;
