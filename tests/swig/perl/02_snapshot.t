# Snapshot values against timings recorded with known, exact values.
use strict;
use warnings;
use Test::More;
use FindBin;
require "$FindBin::Bin/lib.pl";

use Boundarytrace qw(:phases);

subtest 'identical operations: exact statistics' => sub {
    my $m  = Boundarytrace::Metrics->new;
    my $op = unique('exact');
    $m->record(op_name => $op, total_ns => 5000, phases => { extract => 1000, convert => [2000, 3] },
               items => 7, gil_releases => 2, gil_wait_ns => 50, workers => 4) for 1 .. 10;
    my $s = $m->snapshot;
    is($s->op_count, 1, 'one operation');
    is_deeply($s->stats($op), {
        name => $op, count => 10, errors => 0, left_open => 0, items => 70, total_ns => 50_000,
        gil_held_ns => 10_000, gil_released_ns => 20_000, gil_wait_ns => 500, unattributed_ns => 19_500,
        gil_releases => 20, parallel_ops => 10, workers_max => 4,
    }, 'operation stats');
    is_deeply($s->phase_stats($op, EXTRACT), {
        name => 'extract', phase => 0, gil_held => 1, count => 10, entries => 10, sum_ns => 10_000,
        min_ns => 1000, max_ns => 1000, p50_ns => 1000, p90_ns => 1000, p99_ns => 1000, p999_ns => 1000,
    }, 'extract stats');
    is_deeply($s->phase_stats($op, 'convert'), {
        name => 'convert', phase => 1, gil_held => 0, count => 10, entries => 30, sum_ns => 20_000,
        min_ns => 2000, max_ns => 2000, p50_ns => 2000, p90_ns => 2000, p99_ns => 2000, p999_ns => 2000,
    }, 'convert stats');
    is_deeply($s->total($op), {
        name => 'total', phase => -1, gil_held => -1, count => 10, entries => 10, sum_ns => 50_000,
        min_ns => 5000, max_ns => 5000, p50_ns => 5000, p90_ns => 5000, p99_ns => 5000, p999_ns => 5000,
    }, 'total stats');
    is_deeply($s->phase_stats($op, Boundarytrace::GIL_WAIT), {
        name => 'GIL wait', phase => -2, gil_held => -1, count => 10, entries => 20, sum_ns => 500,
        min_ns => 50, max_ns => 50, p50_ns => 50, p90_ns => 50, p99_ns => 50, p999_ns => 50,
    }, 'GIL wait stats: 50 ns per operation over 2 releases');
    is($s->phase_stats($op, NETWORK)->{count}, 0, 'a phase never entered');
    for my $q (0, 0.001, 0.25, 0.5, 0.9, 0.99, 0.999, 1) {
        is($s->quantile($op, EXTRACT, $q), 1000, "extract quantile $q");
        is($s->quantile($op, TOTAL, $q), 5000, "total quantile $q");
    }
    is($s->quantile($op, NETWORK, 0.5), 0, 'no samples: 0');
    my $b = $s->buckets($op, EXTRACT);
    is(scalar @$b, 1, 'one bucket');
    is($b->[0][2], 10, 'holding every sample');
    ok($b->[0][0] <= 1000 && 1000 < $b->[0][1], 'around the value');
};

subtest 'small values: exact quantiles' => sub {
    my $m  = Boundarytrace::Metrics->new;
    my $op = unique('small');
    $m->record({ op_name => $op, total_ns => $_ }) for reverse 1 .. 10;
    my $s   = $m->snapshot;
    my $tot = $s->total($op);
    is_deeply([@{$tot}{qw(count sum_ns min_ns max_ns p50_ns p90_ns p99_ns p999_ns)}],
              [10, 55, 1, 10, 5, 9, 10, 10], 'count, sum, min, max, percentiles');
    is_deeply([map { $s->quantile($op, TOTAL, $_) } 0, 0.1, 0.25, 0.7, 1], [1, 1, 3, 7, 10],
              'nearest-rank quantiles');
    is_deeply($s->buckets($op, TOTAL), [map { [$_, $_ + 1, 1] } 1 .. 10], 'one exact bucket each');
};

subtest 'spread values: percentiles within 1/32' => sub {
    my $m  = Boundarytrace::Metrics->new;
    my $op = unique('spread');
    for my $i (1 .. 1000) {
        my $total = $i * 1000;
        $m->record(op_name => $op, total_ns => $total, phases => { network => $total / 2 },
                   error => ($i % 100 == 0));
    }
    my $s  = $m->snapshot;
    my $st = $s->stats($op);
    is($st->{count}, 1000, 'count');
    is($st->{errors}, 10, 'errors');
    is($st->{total_ns}, 500_500_000, 'total');
    my $tot = $s->total($op);
    is($tot->{min_ns}, 1000, 'min');
    is($tot->{max_ns}, 1_000_000, 'max');
    for ([p50_ns => 500_000], [p90_ns => 900_000], [p99_ns => 990_000], [p999_ns => 999_000]) {
        my ($k, $want) = @$_;
        cmp_ok(abs($tot->{$k} - $want) * 32, '<=', $want, "$k $tot->{$k} within 1/32 of $want");
    }
    my $q = $s->quantile($op, NETWORK, 0.5);
    cmp_ok(abs($q - 250_000) * 32, '<=', 250_000, "network median $q");
    my $n = 0;
    $n += $_->[2] for @{ $s->buckets($op, TOTAL) };
    is($n, 1000, 'bucket counts add up');
};

subtest 'take and reset' => sub {
    my $m  = Boundarytrace::Metrics->new;
    my $op = unique('intervals');
    $m->record(op_name => $op, total_ns => 100) for 1 .. 3;
    my ($i1, $c1) = $m->take;
    is($i1->stats($op)->{count}, 3, 'first interval');
    is($c1->stats($op)->{count}, 3, 'cumulative');
    $m->record(op_name => $op, total_ns => 100) for 1 .. 2;
    my ($i2, $c2) = $m->take;
    is($i2->stats($op)->{count}, 2, 'second interval');
    is($c2->stats($op)->{count}, 5, 'cumulative grows');
    my $info = $i2->info;
    is($info->{op_count}, 1, 'info: op_count');
    cmp_ok($info->{end_ns}, '>=', $info->{start_ns}, 'info: interval');
    cmp_ok($info->{phase_count}, '>=', 4, 'info: phases');
    $m->reset;
    is($m->snapshot->stats($op)->{count}, 0, 'reset zeroes, keeps the name');
};

done_testing;
