# Tracers from Perl: the four-phase operation, registered phases, counters.
use strict;
use warnings;
use Test::More;
use FindBin;
require "$FindBin::Bin/lib.pl";

use Boundarytrace qw(:phases);

my $SPIN = 200_000;    # 0.2 ms per phase

subtest 'four-phase operation' => sub {
    my $m  = Boundarytrace::Metrics->new;
    my $op = unique('four_phase');
    my $t  = $m->tracer($op);
    spin(20_000);
    is($t->phase(EXTRACT, sub { spin($SPIN); 'extracted' }), 'extracted', 'phase returns the block value');
    $t->add_gil_release;
    $t->phase(CONVERT, sub { spin($SPIN) });
    $t->set_workers(4);
    $t->phase(NETWORK, sub { spin($SPIN) });
    $t->add_gil_wait(1234);
    $t->phase('materialize', sub { spin($SPIN) });
    $t->add_items(100)->add_items(11);
    my $tm = $t->finish;
    ok($t->is_finished, 'finished');

    is($tm->{op_name}, $op, 'op_name');
    is_deeply([sort keys %{ $tm->{phases} }], [qw(convert extract materialize network)], 'four phases');
    my $sum = 0;
    for my $name (qw(extract convert network materialize)) {
        my $p = $tm->{phases}{$name};
        is($p->{entries}, 1, "$name entered once");
        cmp_ok($p->{ns}, '>=', $SPIN * 3 / 4, "$name took its time");
        $sum += $p->{ns};
    }
    cmp_ok($tm->{total_ns}, '>=', $sum, 'total >= sum of phases');
    # the GIL wait falls between phases: not unattributed (never below 0)
    my $rest = $tm->{total_ns} - $sum;
    is($tm->{unattributed_ns}, $rest > 1234 ? $rest - 1234 : 0, 'unattributed = total - phases - wait');
    is($tm->{gil_held_ns}, $tm->{phases}{extract}{ns} + $tm->{phases}{materialize}{ns}, 'GIL held');
    is($tm->{gil_released_ns}, $tm->{phases}{convert}{ns} + $tm->{phases}{network}{ns}, 'GIL released');
    is($tm->{gil_wait_ns},  1234, 'GIL wait');
    is($tm->{items},        111,  'items');
    is($tm->{gil_releases}, 1,    'GIL releases');
    is($tm->{workers},      4,    'workers');
    is($tm->{error},        0,    'no error');
    is($tm->{phase_left_open}, 0, 'nothing left open');
    like(Boundarytrace::format_timing($tm), qr/\A\Q$op\E: 111 items/, 'the timing report');

    my $s  = $m->snapshot;
    my $st = $s->stats($op);
    is($st->{count}, 1, 'one operation');
    is($st->{items}, 111, 'its items');
    is($st->{total_ns}, $tm->{total_ns}, 'its total');
    is($st->{parallel_ops}, 1, 'parallel');
    is($st->{workers_max}, 4, 'workers max');
    for my $id (EXTRACT, CONVERT, NETWORK, MATERIALIZE) {
        my $ps   = $s->phase_stats($op, $id);
        my $name = Boundarytrace::phase_name($id);
        is($ps->{name}, $name, "phase $id is $name");
        is($ps->{entries}, 1, "$name entries");
        is($ps->{sum_ns}, $tm->{phases}{$name}{ns}, "$name sum");
        is($ps->{min_ns}, $ps->{max_ns}, "$name min = max");
    }
    is($s->total($op)->{gil_held}, -1, 'the total pseudo-phase');
};

subtest 're-entered phase and guard form' => sub {
    my $m  = Boundarytrace::Metrics->new;
    my $op = unique('reentered');
    my $t  = $m->tracer($op);
    for (1 .. 3) {
        { my $g = $t->phase(CONVERT); spin(10_000) }    # ends at the end of the block
        $t->begin(NETWORK);
        spin(10_000);
        $t->end('network');
    }
    my $tm = $t->finish;
    is($tm->{phases}{convert}{entries}, 3, 'convert entered 3 times');
    is($tm->{phases}{network}{entries}, 3, 'network entered 3 times');
    ok(!exists $tm->{phases}{extract}, 'extract never entered');
    my $s = $m->snapshot;
    is($s->phase_stats($op, CONVERT)->{entries}, 3, 'snapshot entries');
    is($s->phase_stats($op, CONVERT)->{count}, 1, 'one sample');
    is($s->phase_stats($op, EXTRACT)->{count}, 0, 'not entered: count 0');
};

subtest 'a block that dies still ends its phase' => sub {
    my $m = Boundarytrace::Metrics->new;
    my $t = $m->tracer(unique('dies'));
    ok(!eval { $t->phase(EXTRACT, sub { die "boom\n" }); 1 }, 'the block died');
    is($@, "boom\n", 'its error comes through');
    $t->phase(CONVERT, sub { 1 });    # no BT_E_PHASE_OPEN: extract was ended
    my $tm = $t->finish;
    is($tm->{phases}{extract}{entries}, 1, 'extract recorded');
    is($tm->{phase_left_open}, 0, 'nothing left open');
};

subtest 'registered phase' => sub {
    my $name = unique('compress');
    my $id   = Boundarytrace::register_phase($name, 0);
    cmp_ok($id, '>=', 4, 'a new id after the built-in ones');
    is(Boundarytrace::register_phase($name, 0), $id, 'same name, same id');
    is(Boundarytrace::lookup_phase($name), $id, 'lookup');
    is_deeply([Boundarytrace::phase_info($id)], [$name, 0], 'name and GIL state');
    cmp_ok(Boundarytrace::phase_count(), '>', $id, 'count');
    dies_with('BT_E_CONFLICT', sub { Boundarytrace::register_phase($name, 1) }, 'other GIL state');

    my $m  = Boundarytrace::Metrics->new;
    my $op = unique('with_registered');
    my $t  = $m->tracer($op);
    $t->phase($name, sub { spin(50_000) });
    $t->phase($id,   sub { spin(50_000) });
    my $tm = $t->finish;
    is($tm->{phases}{$name}{entries}, 2, 'entered twice');
    is($tm->{phases}{$name}{id}, $id, 'its id');
    is($tm->{gil_released_ns}, $tm->{phases}{$name}{ns}, 'a released phase');
    my $ps = $m->snapshot->phase_stats($op, $name);
    is($ps->{name}, $name, 'snapshot by name');
    is($ps->{phase}, $id, 'its id');
    is($ps->{gil_held}, 0, 'released');
    is($ps->{entries}, 2, 'entries');
};

subtest 'counters, errors, left open' => sub {
    my $m  = Boundarytrace::Metrics->new;
    my $op = unique('flags');
    my $t  = $m->tracer($op);
    $t->set_error;
    $t->begin(NETWORK);
    my $tm = $t->finish;
    is($tm->{error}, 1, 'error flag');
    is($tm->{phase_left_open}, 1, 'finish closed the open phase');
    undef $t;    # DESTROY of a finished tracer: just frees
    { my $t2 = $m->tracer($op); $t2->add_items(5) }    # DESTROY finishes and records
    my $st = $m->snapshot->stats($op);
    is($st->{count}, 2, 'two operations');
    is($st->{errors}, 1, 'one error');
    is($st->{left_open}, 1, 'one left open');
    is($st->{items}, 5, 'the second one recorded at scope exit');
};

subtest 'global sink, bound operation, unicode' => sub {
    my $op = unique('bound');
    my $g  = Boundarytrace::metrics();
    ok($g->is_global, 'the global sink');
    $g->close;    # ignored
    my $bound = $g->op($op);
    is($bound->name, $op, 'bound name');
    for (1 .. 5) { my $t = $bound->tracer; $t->phase(EXTRACT, sub { 1 }); $t->close }
    Boundarytrace::tracer($op)->finish;
    my $s = Boundarytrace::snapshot();
    is($s->stats($op)->{count}, 6, 'six operations in the global sink');
    ok($s->has_op($op), 'listed');

    my $uni = unique("a\x{f1}adir_\x{1F680}");
    my $m = Boundarytrace::Metrics->new;
    $m->tracer($uni)->finish;
    is_deeply([$m->snapshot->ops], [$uni], 'a unicode name comes back as characters');
};

subtest 'library facts' => sub {
    is(Boundarytrace::version_string(), $Boundarytrace::VERSION, 'version string');
    is(Boundarytrace::version(), 100, 'version number 0.1.0');
    ok(Boundarytrace::is_enabled(), 'enabled');
    like(Boundarytrace::clock_source(), qr/\A(tsc|monotonic)\z/, 'clock source');
    my $a = Boundarytrace::clock_now_ns();
    spin(1000);
    cmp_ok(Boundarytrace::clock_now_ns(), '>', $a, 'the clock moves');
    my $m  = Boundarytrace::Metrics->new;
    my $op = unique('disabled');
    Boundarytrace::set_enabled(0);
    $m->tracer($op)->finish;
    Boundarytrace::set_enabled(1);
    ok(!$m->snapshot->has_op($op), 'nothing recorded while disabled');
};

subtest 'a sink closed early lives on for its tracers' => sub {
    my $m = Boundarytrace::Metrics->new;
    my $t = $m->tracer(unique('outlives'));
    $m->close;
    dies_with('BT_E_NULL', sub { $m->snapshot }, 'the closed sink');
    $t->phase(EXTRACT, sub { 1 });
    is($t->finish->{phases}{extract}{entries}, 1, 'the tracer still records');
};

done_testing;
