# Every export format from Perl, JSON checked with JSON::PP.
use strict;
use warnings;
use Test::More;
use FindBin;
use JSON::PP ();
require "$FindBin::Bin/lib.pl";

use Boundarytrace qw(:phases);

my $m  = Boundarytrace::Metrics->new;
my $op = unique('export');
$m->record(op_name => $op, total_ns => 1000, phases => { extract => 100, network => [300, 2] },
           items => 3, gil_releases => 1, gil_wait_ns => 20) for 1 .. 3;
my $s = $m->snapshot;

# Sample lines of a text exposition: "name{labels}" => value, and family => type.
sub samples {
    my ($text) = @_;
    my (%s, %types);
    for my $line (split /\n/, $text) {
        if ($line =~ /\A# TYPE (\S+) (\S+)\z/) { $types{$1} = $2; next }
        next if $line =~ /\A#/ || $line eq '';
        my ($k, $v) = $line =~ /\A(.+) (\S+)\z/ or die "bad sample line: $line";
        die "duplicate sample $k" if exists $s{$k};
        $s{$k} = $v;
    }
    return (\%s, \%types);
}

subtest 'JSON' => sub {
    my $doc = JSON::PP->new->decode($s->export('json'));
    is($doc->{schema}, 'boundarytrace.snapshot', 'schema');
    is($doc->{version}, 1, 'version');
    is_deeply($doc->{phases}[0], { id => 0, name => 'extract', gil_held => JSON::PP::true }, 'phase table');
    is(scalar @{ $doc->{operations} }, 1, 'one operation');
    my $o = $doc->{operations}[0];
    is($o->{name}, $op, 'name');
    is_deeply([@{$o}{qw(count items total_ns gil_held_ns gil_released_ns gil_wait_ns unattributed_ns gil_releases)}],
              [3, 9, 3000, 300, 900, 60, 1740, 3], 'figures');
    is_deeply([sort keys %{ $o->{phases} }], [qw(extract network)], 'entered phases only');
    is($o->{phases}{network}{entries}, 6, 'entries');
    is($o->{total}{p50_ns}, 1000, 'total p50');
    my $n = 0;
    $n += $_->[2] for @{ $o->{phases}{network}{buckets} };
    is($n, 3, 'buckets add up to the count');
};

subtest 'Prometheus' => sub {
    my $text = $s->export('prometheus');
    my ($smp, $types) = samples($text);
    my $l = qq({op="$op"});
    is($types->{boundarytrace_operations_total}, 'counter', 'counter family');
    is($types->{boundarytrace_phase_seconds}, 'histogram', 'histogram family');
    is($smp->{"boundarytrace_operations_total$l"}, 3, 'operations');
    is($smp->{"boundarytrace_items_total$l"}, 9, 'items');
    is($smp->{"boundarytrace_gil_releases_total$l"}, 3, 'GIL releases');
    is($smp->{"boundarytrace_gil_wait_seconds_total$l"}, '0.00000006', 'GIL wait in seconds');
    is($smp->{qq(boundarytrace_phase_entries_total{op="$op",phase="network"})}, 6, 'phase entries');
    is($smp->{"boundarytrace_operation_seconds_count$l"}, 3, 'histogram count');
    is($smp->{"boundarytrace_operation_seconds_sum$l"}, '0.000003', 'histogram sum');
    is($smp->{qq(boundarytrace_operation_seconds_bucket{op="$op",le="+Inf"})}, 3, '+Inf bucket');
    is($smp->{qq(boundarytrace_operation_seconds_bucket{op="$op",le="0.000000512"})}, 0, 'below');
    is($smp->{qq(boundarytrace_operation_seconds_bucket{op="$op",le="0.000001024"})}, 3, 'above');
    unlike($text, qr/# EOF/, 'no EOF marker');
};

subtest 'OpenMetrics' => sub {
    my $text = $s->export('openmetrics');
    like($text, qr/# EOF\n\z/, 'ends with # EOF');
    my ($smp, $types) = samples($text);
    is($types->{boundarytrace_operations}, 'counter', 'family without _total');
    like($text, qr/^# UNIT boundarytrace_operation_seconds seconds$/m, 'unit');
    is($smp->{qq(boundarytrace_operations_total{op="$op"})}, 3, 'operations');
    is($smp->{qq(boundarytrace_phase_seconds_count{op="$op",phase="extract"})}, 3, 'phase count');
};

subtest 'folded and text' => sub {
    my %frames = map { split / / } split /\n/, $s->export('folded');
    is_deeply(\%frames, { "$op;extract" => 300, "$op;network" => 900, "$op;GIL_wait" => 60,
                          "$op;unattributed" => 1740 },
              'frames add up to the total');
    my $text = $s->export('text');
    is($text, $s->format, 'text = format');
    like($text, qr/\Q$op\E: 3 ops, 0 errors, 9 items/, 'report line');
};

subtest 'files' => sub {
    my $dir = tmpdir($op);
    for my $f (qw(text json prometheus openmetrics folded)) {
        my $path = "$dir/snapshot-$f.out";
        $s->write($path, $f);
        open my $fh, '<:encoding(UTF-8)', $path or die "$path: $!";
        local $/;
        is(scalar <$fh>, $s->export($f), "$f file");
    }
    my %suffix = ('a.json' => 'json', 'a.prom' => 'prometheus', 'a.om' => 'openmetrics',
                  'a.folded' => 'folded', 'a.txt' => 'text');
    for my $name (sort keys %suffix) {
        is(Boundarytrace::format_for_path($name), $suffix{$name}, "$name names $suffix{$name}");
        $s->write("$dir/$name");
        open my $fh, '<:encoding(UTF-8)', "$dir/$name" or die $!;
        local $/;
        is(scalar <$fh>, $s->export($suffix{$name}), "$name written in its format");
    }
    opendir my $dh, $dir or die $!;
    is(scalar(grep { !/\A\.\.?\z/ } readdir $dh), 10, 'no temporary files left');
};

subtest 'Chrome trace of the timeline' => sub {
    my $traced = unique('traced');
    Boundarytrace::timeline_start(8);
    for my $i (1 .. 10) {
        my $t = $m->tracer($traced);
        $t->phase(EXTRACT, sub { spin(2000) });
        $t->phase(NETWORK, sub { spin(2000) });
        $t->add_items($i);
        $t->close;
    }
    is_deeply(Boundarytrace::timeline_info(), { capacity => 8, kept => 8, dropped => 2, active => 1 },
              'ring state');
    my $doc = JSON::PP->new->decode(Boundarytrace::timeline_export());
    my @x = grep { $_->{ph} eq 'X' } @{ $doc->{traceEvents} };
    my @ops = grep { $_->{cat} eq 'operation' } @x;
    is(scalar @ops, 8, 'eight operation slices');
    is(scalar(grep { $_->{cat} eq 'phase' } @x), 16, 'two phase slices each');
    ok(!grep({ $_->{name} ne $traced } @ops), 'all ours');
    ok(!grep({ !exists $_->{args}{items} } @ops), 'items in args');
    is($doc->{otherData}{dropped}, 2, 'dropped counted');
    my $path = tmpdir($traced) . '/trace.json';
    Boundarytrace::timeline_write($path);
    open my $fh, '<:raw', $path or die $!;
    local $/;
    ok(JSON::PP->new->utf8->decode(scalar <$fh>), 'the file parses');
    Boundarytrace::timeline_stop();
    is(Boundarytrace::timeline_info()->{active}, 0, 'stopped');
};

done_testing;
