# Counts, times and sizes are unsigned in C: a negative, fractional, oversized
# or non-numeric one dies with a Boundarytrace::Error BT_E_INVALID (never a raw
# SWIG error), and nothing is recorded; the whole unsigned range goes in and
# comes back exactly.
use strict;
use warnings;
use Test::More;
use FindBin;
require "$FindBin::Bin/lib.pl";

use Boundarytrace qw(:phases);

my $INVALID = 'BT_E_INVALID: ' . Boundarytrace::status_message(-2);

subtest 'negative counts die with BT_E_INVALID' => sub {
    my $m  = Boundarytrace::Metrics->new;
    my $op = unique('negative');
    my $t  = $m->tracer($op);
    my $e = dies_with('BT_E_INVALID', sub { $t->add_items(-1) }, 'add_items(-1)');
    isa_ok($e, 'Boundarytrace::Error');
    is($e && $e->status, -2, 'status -2');
    is($e && $e->message, "$INVALID (in bt_tracer_add_items: n must not be negative: -1)", 'message');
    $e = dies_with('BT_E_INVALID', sub { $t->add_gil_wait(-1) }, 'add_gil_wait(-1)');
    is($e && $e->message, "$INVALID (in bt_tracer_add_gil_wait: ns must not be negative: -1)", 'message');
    $e = dies_with('BT_E_INVALID', sub { $t->set_workers(-3) }, 'set_workers(-3)');
    is($e && $e->message, "$INVALID (in bt_tracer_set_workers: workers must not be negative: -3)", 'message');
    dies_with('BT_E_INVALID', sub { $t->add_items(-1e30) }, 'a large negative number');
    dies_with('BT_E_INVALID', sub { $t->add_items("-7") }, 'a negative string');
    dies_with('BT_E_INVALID', sub { Boundarytrace::timeline_start(-1) }, 'timeline_start(-1)');
    my $s = $m->snapshot;
    dies_with('BT_E_INVALID', sub { Boundarytrace::Raw::bt_snapshot_op_stats($s->{ptr}, -1) }, 'index -1');
    my $tm = $t->finish;
    is($tm->{items}, 0, 'no items recorded');
    is($tm->{gil_wait_ns}, 0, 'no GIL wait recorded');
    is($tm->{workers}, 0, 'no workers recorded');
};

subtest 'values out of range or not integers' => sub {
    my $t = Boundarytrace::Metrics->new->tracer(unique('range'));
    my $e = dies_with('BT_E_INVALID', sub { $t->set_workers(2**32) }, 'workers 2^32');
    is($e && $e->message, "$INVALID (in bt_tracer_set_workers: workers is out of range: 4294967296)",
       'message');
    dies_with('BT_E_INVALID', sub { $t->add_items(2**64) }, 'items 2^64');
    dies_with('BT_E_INVALID', sub { $t->add_items('18446744073709551616') }, 'items 2^64 as a string');
    $e = dies_with('BT_E_INVALID', sub { $t->add_items('many') }, 'not a number');
    is($e && $e->message, "$INVALID (in bt_tracer_add_items: n is not an integer: 'many')", 'message');
    dies_with('BT_E_INVALID', sub { $t->add_items(1.5) }, 'a fraction');
    dies_with('BT_E_INVALID', sub { $t->add_items(9**9**9) }, 'infinity');
    dies_with('BT_E_INVALID', sub { $t->add_items(-sin(9**9**9)) }, 'NaN');
    dies_with('BT_E_INVALID', sub { $t->add_items([]) }, 'a reference');
    dies_with('BT_E_INVALID', sub { $t->add_items(undef) }, 'undef');
    $t->set_workers(4294967295);
    is($t->finish->{workers}, 4294967295, 'the largest uint32 is fine');
};

subtest 'the whole unsigned range' => sub {
    my $m  = Boundarytrace::Metrics->new;
    my $op = unique('range64');
    my $t  = $m->tracer($op);
    $t->add_items(18446744073709551615);    # 2^64 - 1: an unsigned IV
    $t->add_gil_wait('9223372036854775808'); # 2^63, as a string
    $t->add_items(0)->add_items('0')->add_items(2.0 - 2);
    my $tm = $t->finish;
    is($tm->{items}, '18446744073709551615', 'items 2^64 - 1');
    is($tm->{gil_wait_ns}, '9223372036854775808', 'GIL wait 2^63');
    is($m->snapshot->stats($op)->{items}, '18446744073709551615', 'in the snapshot too');
    my $rec = unique('range64_record');
    $m->record(op_name => $rec, total_ns => '9223372036854775818', items => 18446744073709551615,
               gil_wait_ns => '18446744073709551615', phases => { network => 9223372036854775808 });
    my $st = $m->snapshot->stats($rec);
    is_deeply([@{$st}{qw(total_ns items gil_wait_ns gil_released_ns)}],
              ['9223372036854775818', '18446744073709551615', '18446744073709551615', '9223372036854775808'],
              'a recorded timing takes the whole range');
    dies_with('BT_E_INVALID', sub { $m->record(op_name => $rec, total_ns => 2**64) }, 'total_ns 2^64');
    dies_with('BT_E_INVALID', sub { $m->record(op_name => $rec, total_ns => 1.5) }, 'total_ns 1.5');
};

done_testing;
