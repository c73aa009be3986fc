# Bad input dies with a Boundarytrace::Error naming the status.
use strict;
use warnings;
use Test::More;
use FindBin;
require "$FindBin::Bin/lib.pl";

use Boundarytrace qw(:phases);

subtest 'the error object' => sub {
    my $t = Boundarytrace::tracer(unique('msg'));
    my $err = dies_with('BT_E_UNKNOWN_PHASE', sub { $t->begin(99) }, 'unknown phase id');
    isa_ok($err, 'Boundarytrace::Error');
    is($err->status, -4, 'status code');
    is($err->message, 'BT_E_UNKNOWN_PHASE: ' . Boundarytrace::status_message(-4) . ' (in bt_phase_begin)',
       'message: name, sentence, call');
    is("$err", $err->message . "\n", 'stringifies to the message');
};

subtest 'every message reads NAME: sentence (in call[: detail])' => sub {
    my $s = sub { Boundarytrace::status_message($_[0]) };
    my $msg = sub { my ($code) = @_; eval { $code->(); 1 } ? 'no error' : ref $@ ? $@->message : "raw: $@" };
    my $m = Boundarytrace::Metrics->new;
    my $op = unique('messages');
    $m->record(op_name => $op, total_ns => 1);
    my $snap = $m->snapshot;
    my $t = $m->tracer(unique('messages_tracer'));
    is($msg->(sub { $snap->export('yaml') }),
       'BT_E_INVALID: ' . $s->(-2) . " (in bt_snapshot_export: unknown format 'yaml'; one of: "
       . 'folded json openmetrics prometheus text)', 'a format name');
    is($msg->(sub { $snap->export('99999999999999999999') }),
       'BT_E_INVALID: ' . $s->(-2) . " (in bt_snapshot_export: format '99999999999999999999')",
       'a format code');
    is($msg->(sub { $m->record(op_name => $op, totl_ns => 1) }),
       'BT_E_INVALID: ' . $s->(-2) . " (in bt_metrics_record: unknown key 'totl_ns')", 'a timing key');
    is($msg->(sub { Boundarytrace::tracer("nul\0inside") }),
       'BT_E_NAME: ' . $s->(-3) . ' (in bt_tracer_new: the string holds a NUL character)', 'a NUL in a name');
    is($msg->(sub { $t->begin(2**40) }),
       'BT_E_UNKNOWN_PHASE: ' . $s->(-4) . " (in bt_phase_begin: phase id '1099511627776')", 'a phase id');
    is($msg->(sub { $snap->quantile($op, TOTAL, 'soon') }),
       'BT_E_INVALID: ' . $s->(-2) . " (in bt_snapshot_quantile: q is not a number: 'soon')", 'a quantile');
    is($msg->(sub { $snap->stats('absent') }),
       'BT_E_NOT_FOUND: ' . $s->(-12) . ' (in bt_snapshot_find)', 'a status of the library');
    like($msg->(sub { $snap->write('/nonexistent-dir-of-boundarytrace/x.json') }),
         qr/\ABT_E_IO: \Q${\ $s->(-14)}\E \(in bt_snapshot_write: [^()]+\)\z/, 'I/O: the reason');
    $m->close;
    is($msg->(sub { $m->snapshot }),
       'BT_E_NULL: ' . $s->(-1) . ' (in bt_metrics_snapshot: the sink is closed)', 'a closed sink');
    is($msg->(sub { $m->tracer('x') }),
       'BT_E_NULL: ' . $s->(-1) . ' (in bt_tracer_new: the sink is closed)', 'a tracer of a closed sink');
};

subtest 'no names of before 0.1.0' => sub {
    ok(!Boundarytrace::Tracer->can($_), "no Tracer->$_") for qw(gil_release gil_wait items workers error);
    ok(!Boundarytrace->can($_), "no Boundarytrace::$_")
        for qw(trace_start trace_stop trace_info trace_export trace_write);
    ok(!defined &Boundarytrace::Raw::bt_phase_info, 'no raw bt_phase_info');
};

subtest 'unknown phases' => sub {
    my $t = Boundarytrace::tracer(unique('unknown_phase'));
    dies_with('BT_E_UNKNOWN_PHASE', sub { $t->begin(-5) }, 'negative id');
    dies_with('BT_E_UNKNOWN_PHASE', sub { $t->end(32) }, 'id past the table');
    dies_with('BT_E_UNKNOWN_PHASE', sub { Boundarytrace::phase_info(99) }, 'phase_info');
    dies_with('BT_E_NOT_FOUND', sub { $t->begin('no such phase') }, 'unknown name');
    dies_with('BT_E_NOT_FOUND', sub { Boundarytrace::lookup_phase(unique('never')) }, 'lookup');
};

subtest 'phase state' => sub {
    my $t = Boundarytrace::tracer(unique('phase_state'));
    dies_with('BT_E_PHASE_NOT_OPEN', sub { $t->end(EXTRACT) }, 'end without begin');
    $t->begin(EXTRACT);
    dies_with('BT_E_PHASE_OPEN', sub { $t->begin(CONVERT) }, 'begin while open');
    dies_with('BT_E_PHASE_NOT_OPEN', sub { $t->end(CONVERT) }, 'end of another phase');
    $t->end(EXTRACT);
};

subtest 'use after finish, closed objects' => sub {
    my $t = Boundarytrace::tracer(unique('after_finish'));
    $t->finish;
    dies_with('BT_E_FINISHED', sub { $t->finish }, 'finish twice');
    dies_with('BT_E_FINISHED', sub { $t->begin(EXTRACT) }, 'begin');
    dies_with('BT_E_FINISHED', sub { $t->add_items(1) }, 'add_items');
    dies_with('BT_E_FINISHED', sub { $t->add_gil_release }, 'add_gil_release');
    dies_with('BT_E_FINISHED', sub { $t->set_error }, 'set_error');
    $t->close;
    dies_with('BT_E_NULL', sub { $t->begin(EXTRACT) }, 'closed tracer');

    my $m = Boundarytrace::Metrics->new;
    my $s = $m->snapshot;
    $s->close;
    $s->close;    # idempotent
    ok($s->is_closed, 'closed');
    dies_with('BT_E_NULL', sub { $s->op_count }, 'closed snapshot');
    dies_with('BT_E_NULL', sub { $s->export('json') }, 'closed snapshot export');
    $m->close;
    dies_with('BT_E_NULL', sub { $m->snapshot }, 'closed sink');
    dies_with('BT_E_NULL', sub { $m->record(op_name => 'x', total_ns => 1) }, 'closed sink record');
    dies_with('BT_E_NULL', sub { $m->tracer('x') }, 'closed sink tracer');
};

subtest 'bad names' => sub {
    for my $bad ('', "tab\there", "new\nline", 'x' x 256, "nul\0inside") {
        (my $shown = $bad) =~ s/([^ -~])/sprintf '\\x%02x', ord $1/ge;
        $shown = substr($shown, 0, 20);
        dies_with('BT_E_NAME', sub { Boundarytrace::tracer($bad) }, "tracer '$shown'");
        dies_with('BT_E_NAME', sub { Boundarytrace::register_phase($bad, 1) }, "phase '$shown'");
    }
    dies_with('BT_E_NULL', sub { Boundarytrace::tracer(undef) }, 'undef name');
    ok(Boundarytrace::tracer('x' x 255)->finish, 'the longest name is fine');
    my $m = Boundarytrace::Metrics->new;
    dies_with('BT_E_NAME', sub { $m->op('') }, 'op');
    dies_with('BT_E_NAME', sub { $m->record(op_name => '', total_ns => 1) }, 'record');
    dies_with('BT_E_NULL', sub { $m->record(total_ns => 1) }, 'record without a name');
    my $s = $m->snapshot;
    dies_with('BT_E_NAME', sub { $s->stats('') }, 'snapshot lookup');
    dies_with('BT_E_NOT_FOUND', sub { $s->stats('absent') }, 'absent operation');
};

subtest 'bad values' => sub {
    my $m  = Boundarytrace::Metrics->new;
    my $op = unique('bad_values');
    dies_with('BT_E_INVALID', sub { $m->record(op_name => $op, total_ns => 10, phases => { extract => 100 }) },
              'phases longer than the total');
    my $e = dies_with('BT_E_INVALID', sub { $m->record(op_name => $op, totl_ns => 10) }, 'unknown key');
    like("$e", qr/unknown key 'totl_ns'/, 'the message names the key');
    dies_with('BT_E_INVALID', sub { $m->record(op_name => $op, total_ns => -1) }, 'negative');
    dies_with('BT_E_INVALID', sub { $m->record(op_name => $op, total_ns => 'soon') }, 'not a number');
    dies_with('BT_E_NOT_FOUND', sub { $m->record(op_name => $op, total_ns => 9, phases => { nope => 1 }) },
              'unknown phase name');
    dies_with('BT_E_UNKNOWN_PHASE', sub { $m->record(op_name => $op, total_ns => 9, phases => { 31 => 1 }) },
              'unregistered phase id');
    dies_with('BT_E_INVALID', sub { $m->record([]) }, 'not a hash');
    $m->record(op_name => $op, total_ns => 10);
    my $s = $m->snapshot;
    is($s->stats($op)->{count}, 1, 'failed records recorded nothing');
    dies_with('BT_E_INVALID', sub { $s->quantile($op, TOTAL, 1.5) }, 'quantile above 1');
    dies_with('BT_E_INVALID', sub { $s->quantile($op, TOTAL, 'nan') }, 'quantile NaN');
    dies_with('BT_E_UNKNOWN_PHASE', sub { $s->phase_stats($op, 77) }, 'phase stats of an unknown id');
    dies_with('BT_E_INVALID', sub { $s->export('yaml') }, 'unknown format');
    dies_with('BT_E_INVALID', sub { Boundarytrace::timeline_start(0) }, 'timeline capacity 0');
};

subtest 'I/O failure' => sub {
    my $s = Boundarytrace::Metrics->new->snapshot;
    my $e = dies_with('BT_E_IO', sub { $s->write('/nonexistent-dir-of-boundarytrace/x.json') }, 'missing dir');
    like("$e", qr/No such file or directory/, 'says why');
    dies_with('BT_E_IO', sub { Boundarytrace::timeline_write('/nonexistent-dir-of-boundarytrace/t.json') },
              'timeline file');
    dies_with('BT_E_INVALID', sub { $s->write('', 'json') }, 'empty path');
};

done_testing;
