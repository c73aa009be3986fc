package Boundarytrace;
# Perl binding of boundarytrace: trace where time goes across a language
# boundary. A thin layer over the SWIG module Boundarytrace::Raw (generated
# from swig/boundarytrace.i); see the POD at the end.
use strict;
use warnings;

use Boundarytrace::Raw ();
use Exporter qw(import);

our $VERSION = '0.1.0';

use constant {
    EXTRACT     => 0,
    CONVERT     => 1,
    NETWORK     => 2,
    MATERIALIZE => 3,
    TOTAL       => -1,
    GIL_WAIT    => -2,    # the wait to get the GIL back, per operation that released it
};

our @EXPORT_OK   = qw(EXTRACT CONVERT NETWORK MATERIALIZE TOTAL GIL_WAIT);
our %EXPORT_TAGS = (phases => [@EXPORT_OK], all => [@EXPORT_OK]);

# bt_format values by name.
our %FORMATS = (
    text        => 0,
    json        => 1,
    prometheus  => 2,
    openmetrics => 3,
    folded      => 4,
);
my %FORMAT_NAMES = reverse %FORMATS;

my $R = 'Boundarytrace::Raw';

# ---- library ------------------------------------------------------------------

sub version        { Boundarytrace::Raw::bt_version() }
sub version_string { Boundarytrace::Raw::bt_version_string() }
sub set_enabled    { Boundarytrace::Raw::bt_set_enabled($_[0] ? 1 : 0); return }
sub is_enabled     { Boundarytrace::Raw::bt_is_enabled() ? 1 : 0 }
sub clock_now_ns   { Boundarytrace::Raw::bt_clock_now_ns() }
sub clock_source   { Boundarytrace::Raw::bt_clock_source() }
sub status_name    { Boundarytrace::Raw::bt_status_name($_[0]) }
sub status_message { Boundarytrace::Raw::bt_status_str($_[0]) }

# ---- phases -------------------------------------------------------------------

sub register_phase {
    my ($name, $gil_held) = @_;
    return Boundarytrace::Raw::bt_phase_register($name, $gil_held ? 1 : 0);
}

sub lookup_phase { Boundarytrace::Raw::bt_phase_lookup($_[0]) }

# (name, gil_held) of a phase id.
sub phase_info {
    my ($name, $held) = Boundarytrace::Raw::bt_phase_get_info(_phase_id($_[0]));
    return ($name, $held ? 1 : 0);
}

sub phase_name  { (phase_info($_[0]))[0] }
sub phase_count { Boundarytrace::Raw::bt_phase_count() }

# A phase given by id (an integer) or by name.
sub _phase_id {
    my ($phase) = @_;
    return $phase if defined $phase && $phase =~ /\A-?[0-9]+\z/;
    return Boundarytrace::Raw::bt_phase_lookup($phase);
}

# ---- formats ------------------------------------------------------------------

sub _format_code {
    my ($format, $context) = @_;
    return $format if defined $format && $format =~ /\A[0-9]+\z/;
    my $code = defined $format ? $FORMATS{lc $format} : undef;
    Boundarytrace::Error->throw(-2, $context,
        "unknown format '" . ($format // 'undef') . "'; one of: " . join(' ', sort keys %FORMATS))
        unless defined $code;
    return $code;
}

# The format name a file name asks for by its suffix.
sub format_for_path { $FORMAT_NAMES{ Boundarytrace::Raw::bt_format_for_path($_[0]) } }

# The human report of one timing (a hash reference, as finish returns).
sub format_timing { Boundarytrace::Raw::bt_timing_format($_[0]) }

# ---- sinks ----------------------------------------------------------------------

sub metrics     { Boundarytrace::Metrics->global }
sub new_metrics { Boundarytrace::Metrics->new }

# A tracer recording into the global sink.
sub tracer { my ($op, %opt) = @_; Boundarytrace::Tracer->new($op, %opt) }

# Records a timing measured elsewhere into the global sink.
sub record { Boundarytrace::Metrics->global->record(@_) }

sub snapshot { Boundarytrace::Metrics->global->snapshot }

# Many processes, one picture: a sink shared through a directory, and the
# directory merged (see Boundarytrace::Metrics->open_shared).
sub open_shared { Boundarytrace::Metrics->open_shared(@_) }
sub read_shared { Boundarytrace::Snapshot->read_shared(@_) }

# ---- timeline: the ring of individual operations (Chrome Trace Event JSON) -------

sub timeline_start  { Boundarytrace::Raw::bt_timeline_start($_[0]); return }
sub timeline_stop   { Boundarytrace::Raw::bt_timeline_stop(); return }
sub timeline_info   { Boundarytrace::Raw::bt_timeline_get_info() }
sub timeline_export { Boundarytrace::Raw::bt_timeline_export() }
sub timeline_write  { Boundarytrace::Raw::bt_timeline_write($_[0]); return }

# timeline_export_shared(DIR, PID): the flight recorder of process PID in the
# shared directory DIR, as timeline_export's JSON.
sub timeline_export_shared { Boundarytrace::Raw::bt_timeline_export_shared($_[0], $_[1]) }

# =====================================================================================
package Boundarytrace::Error;
# What every failed call dies with: {status, name, message}. Made by the C layer
# for a failed bt_status, or by this module for its own argument checks.
use overload '""' => sub { $_[0]->{message} . "\n" }, fallback => 1;

sub status  { $_[0]->{status} }
sub name    { $_[0]->{name} }
sub message { $_[0]->{message} }

sub new {
    my ($class, $status, $context, $detail) = @_;
    my $name = Boundarytrace::Raw::bt_status_name($status);
    my $msg  = "$name: " . Boundarytrace::Raw::bt_status_str($status) . " (in $context";
    $msg .= ": $detail" if defined $detail;
    $msg .= ')';
    return bless { status => $status, name => $name, message => $msg }, $class;
}

sub throw { my $class = shift; die $class->new(@_) }

# =====================================================================================
package Boundarytrace::_Handle;

# A new interpreter thread starts without copies of these objects: a copy
# would free the same C handle a second time.
sub CLONE_SKIP { 1 }
# Owns one C handle and frees it when the last Perl reference goes: a tracer
# holds its sink's handle, so a sink closed early is freed after its tracers.
sub new {
    my ($class, $ptr, $free) = @_;
    return bless { ptr => $ptr, free => $free }, $class;
}

sub DESTROY {
    my ($self) = @_;
    return if ${^GLOBAL_PHASE} eq 'DESTRUCT';    # order is arbitrary then; the process ends
    my ($ptr, $free) = delete @{$self}{qw(ptr free)};
    $free->($ptr) if $free && $ptr;
}

# =====================================================================================
package Boundarytrace::Metrics;

sub CLONE_SKIP { 1 }    # see Boundarytrace::_Handle

my $GLOBAL;

sub global {
    $GLOBAL ||= bless { h => Boundarytrace::_Handle->new(Boundarytrace::Raw::bt_metrics_global(), undef),
                        global => 1 }, __PACKAGE__;
    return $GLOBAL;
}

sub new {
    my ($class) = @_;
    my $ptr = Boundarytrace::Raw::bt_metrics_new();
    return bless { h => Boundarytrace::_Handle->new($ptr, \&Boundarytrace::Raw::bt_metrics_free) },
        $class;
}

# open_shared(DIR): a sink whose figures live in the directory DIR, shared by
# every process that opens it (bt_metrics_open_shared). A missing DIR is
# created with mode 0700; one that group or others may write into, or of
# another user, dies with BT_E_IO (EACCES). Each sink takes a slot of its own
# there; snapshot merges the whole directory; take and reset die with
# BT_E_INVALID (the figures belong to every process).
sub open_shared {
    my ($class, $dir) = @_;
    my $ptr = Boundarytrace::Raw::bt_metrics_open_shared($dir);
    return bless { h => Boundarytrace::_Handle->new($ptr, \&Boundarytrace::Raw::bt_metrics_free),
                   shared_dir => $dir }, $class;
}

# The directory of a sink made by open_shared, else undef.
sub shared_dir { $_[0]->{shared_dir} }

# The library answers BT_E_INVALID to take and reset only on a shared sink
# (open_shared, or the global sink under BOUNDARYTRACE_SHARED_DIR): say so.
sub _shared_refusal {
    my ($self, $call, $err) = @_;
    return $err unless ref $err && eval { $err->isa('Boundarytrace::Error') }
        && $err->name eq 'BT_E_INVALID' && (defined $self->{shared_dir} || $self->{global});
    my $where = defined $self->{shared_dir} ? "the directory $self->{shared_dir}" : 'BOUNDARYTRACE_SHARED_DIR';
    return Boundarytrace::Error->new($err->status, $call,
        "this sink is shared through $where: its figures belong to every process writing there; "
        . 'read them with snapshot');
}

# The sink's handle for `call`. A closed sink must not become NULL in a call
# (NULL means the global sink): it dies with BT_E_NULL (in CALL: the sink is closed).
sub _handle {
    my ($self, $call) = @_;
    return $self->{h} || Boundarytrace::Error->throw(-1, $call, 'the sink is closed');
}
sub _ptr { $_[0]->_handle($_[1])->{ptr} }

sub is_global { $_[0]->{global} ? 1 : 0 }

# Binds an operation name once (bt_op_lookup).
sub op {
    my ($self, $name) = @_;
    my $op = Boundarytrace::Raw::bt_op_lookup($self->_ptr('bt_op_lookup'), $name);
    return bless { ptr => $op, h => $self->_handle('bt_op_lookup'), metrics => $self },
        'Boundarytrace::Op';
}

sub tracer { my ($self, $op) = @_; Boundarytrace::Tracer->new($op, metrics => $self) }

# record(op_name => NAME, total_ns => N, phases => {extract => NS | [NS, ENTRIES]}, ...)
# or record(\%timing).
sub record {
    my $self = shift;
    my $timing = @_ == 1 ? $_[0] : {@_};
    Boundarytrace::Raw::bt_metrics_record($self->_ptr('bt_metrics_record'), $timing);
    return;
}

sub reset {
    my ($self) = @_;
    my $ptr = $self->_ptr('bt_metrics_reset');
    eval { Boundarytrace::Raw::bt_metrics_reset($ptr); 1 } or die $self->_shared_refusal('bt_metrics_reset', $@);
    return;
}

sub snapshot {
    my ($self) = @_;
    return Boundarytrace::Snapshot->_new(
        Boundarytrace::Raw::bt_metrics_snapshot($self->_ptr('bt_metrics_snapshot')));
}

# (interval snapshot, cumulative snapshot)
sub take {
    my ($self) = @_;
    my $ptr = $self->_ptr('bt_metrics_take');
    my ($interval, $cumulative);
    eval { ($interval, $cumulative) = Boundarytrace::Raw::bt_metrics_take($ptr); 1 }
        or die $self->_shared_refusal('bt_metrics_take', $@);
    return (Boundarytrace::Snapshot->_new($interval), Boundarytrace::Snapshot->_new($cumulative));
}

# Lets go of a private sink: freed now, or when its last tracer is gone.
# Later calls die with BT_E_NULL. The global sink ignores it.
sub close {
    my ($self) = @_;
    delete $self->{h} unless $self->{global};
    return;
}

# =====================================================================================
package Boundarytrace::Op;

sub CLONE_SKIP { 1 }    # see Boundarytrace::_Handle

sub name    { Boundarytrace::Raw::bt_op_name($_[0]->{ptr}) }
sub metrics { $_[0]->{metrics} }
sub tracer  { Boundarytrace::Tracer->new($_[0]) }

# =====================================================================================
package Boundarytrace::Tracer;

use Scalar::Util ();

sub CLONE_SKIP { 1 }    # see Boundarytrace::_Handle

# The unfinished tracers of this interpreter, held weakly, so that the program's
# end records them. A tracer in a file lexical is destroyed (and recorded) as
# the program ends, but one in a package global, a global structure or a cycle
# lives into global destruction, where objects go in no useful order and
# DESTROY does nothing: the END block below finishes those first.
my %LIVE;

# A new interpreter thread inherits none of these objects (CLONE_SKIP).
sub CLONE { %LIVE = () }

# Runs after the END blocks of code loaded later (END blocks run last-defined
# first), so a program's own END blocks still find their tracers unfinished.
# Finishes only (records); freeing is left to the process' end, as in global
# destruction. $@ and the exit status are kept.
END {
    local ($@, $!, $?);
    for my $t (grep { defined } values %LIVE) {
        eval { $t->finish if $t->{ptr} && !$t->{finished} };
    }
    %LIVE = ();
}

# new(NAME), new(NAME, metrics => $m), or new($op) for a bound operation.
sub new {
    my ($class, $op, %opt) = @_;
    my ($ptr, $h);
    if (ref $op && eval { $op->isa('Boundarytrace::Op') }) {
        $h   = $op->{h};
        $ptr = Boundarytrace::Raw::bt_tracer_new_op($op->{ptr});
    } else {
        my $metrics = $opt{metrics} || Boundarytrace::Metrics->global;
        $h   = $metrics->_handle('bt_tracer_new');
        $ptr = Boundarytrace::Raw::bt_tracer_new($h->{ptr}, $op);
    }
    my $self = bless { ptr => $ptr, h => $h, finished => 0 }, $class;
    Scalar::Util::weaken($LIVE{ Scalar::Util::refaddr($self) } = $self);
    return $self;
}

sub begin { Boundarytrace::Raw::bt_phase_begin($_[0]->{ptr}, Boundarytrace::_phase_id($_[1])); $_[0] }
sub end   { Boundarytrace::Raw::bt_phase_end($_[0]->{ptr}, Boundarytrace::_phase_id($_[1])); $_[0] }

# phase(PHASE, sub { ... }) runs the block inside the phase, ending it even when
# the block dies, and returns what the block returns. phase(PHASE) alone
# returns a guard that ends the phase when it goes out of scope.
sub phase {
    my ($self, $phase, $code) = @_;
    my $id = Boundarytrace::_phase_id($phase);
    $self->begin($id);
    return Boundarytrace::_PhaseGuard->_new($self, $id) unless $code;
    my $want = wantarray;
    my @r;
    my $ok = eval {
        if ($want) { @r = $code->() }
        elsif (defined $want) { $r[0] = $code->() }
        else { $code->() }
        1;
    };
    if (!$ok) {
        my $err = $@;
        eval { $self->end($id) };
        die $err;
    }
    $self->end($id);
    return $want ? @r : $r[0];
}

sub add_items       { Boundarytrace::Raw::bt_tracer_add_items($_[0]->{ptr}, $_[1]); $_[0] }
sub add_gil_release { Boundarytrace::Raw::bt_tracer_add_gil_release($_[0]->{ptr}); $_[0] }
sub add_gil_wait    { Boundarytrace::Raw::bt_tracer_add_gil_wait($_[0]->{ptr}, $_[1]); $_[0] }
sub set_workers     { Boundarytrace::Raw::bt_tracer_set_workers($_[0]->{ptr}, $_[1]); $_[0] }
sub set_error       { Boundarytrace::Raw::bt_tracer_set_error($_[0]->{ptr}); $_[0] }

# Stops the clock, records, and returns the timing as a hash reference.
sub finish {
    my ($self) = @_;
    my $timing = eval { Boundarytrace::Raw::bt_tracer_finish_timing($self->{ptr}) };
    if (!$timing) {
        my $err = $@;
        $self->{finished} = 1 if ref $err && ($err->name eq 'BT_E_FINISHED' || $err->name eq 'BT_E_NOMEM');
        die $err;
    }
    $self->{finished} = 1;
    delete $LIVE{ Scalar::Util::refaddr($self) };
    return $timing;
}

sub is_finished { $_[0]->{finished} || !$_[0]->{ptr} ? 1 : 0 }

# Finishes unless finished, then frees. Later calls die with BT_E_NULL.
sub close {
    my ($self) = @_;
    my $ptr = $self->{ptr} or return;
    my $ok = eval { $self->finish unless $self->{finished}; 1 };
    my $err = $@;
    delete $LIVE{ Scalar::Util::refaddr($self) };
    delete $self->{ptr};
    Boundarytrace::Raw::bt_tracer_free($ptr);
    delete $self->{h};
    die $err unless $ok;
    return;
}

sub DESTROY {
    my ($self) = @_;
    return if ${^GLOBAL_PHASE} eq 'DESTRUCT';
    local ($@, $!, $?);
    eval { $self->close };
}

# =====================================================================================
package Boundarytrace::_PhaseGuard;

sub CLONE_SKIP { 1 }    # see Boundarytrace::_Handle

sub _new { my ($class, $tracer, $id) = @_; bless { t => $tracer, id => $id }, $class }
sub id   { $_[0]->{id} }

# Ends the phase now (a second call does nothing).
sub end {
    my ($self) = @_;
    my $t = delete $self->{t} or return;
    $t->end($self->{id});
    return;
}

sub DESTROY {
    my ($self) = @_;
    return if ${^GLOBAL_PHASE} eq 'DESTRUCT';
    local ($@, $!, $?);
    eval { $self->end };
}

# =====================================================================================
package Boundarytrace::Snapshot;

sub CLONE_SKIP { 1 }    # see Boundarytrace::_Handle

sub _new { my ($class, $ptr) = @_; bless { ptr => $ptr }, $class }

# read_shared(DIR): every slot of the shared directory DIR, live and gone, and
# its archive merged into a new cumulative snapshot (bt_snapshot_read_shared).
# info counts the processes merged, the records dropped and the files
# skipped; skipped names those files.
sub read_shared {
    my ($class, $dir) = @_;
    return $class->_new(Boundarytrace::Raw::bt_snapshot_read_shared($dir));
}

sub _index {
    my ($self, $op) = @_;
    return Boundarytrace::Raw::bt_snapshot_find($self->{ptr}, $op);
}

sub op_count { Boundarytrace::Raw::bt_snapshot_op_count($_[0]->{ptr}) }

# Operation names, sorted.
sub ops {
    my ($self) = @_;
    my $n = $self->op_count;
    return map { Boundarytrace::Raw::bt_snapshot_op_stats($self->{ptr}, $_)->{name} } 0 .. $n - 1;
}

sub has_op {
    my ($self, $op) = @_;
    return scalar grep { $_ eq $op } $self->ops;
}

# Aggregates of one operation (a hash reference); dies BT_E_NOT_FOUND without it.
sub stats {
    my ($self, $op) = @_;
    return Boundarytrace::Raw::bt_snapshot_op_stats($self->{ptr}, $self->_index($op));
}

# Distribution of one phase (id or name, or TOTAL) of one operation.
sub phase_stats {
    my ($self, $op, $phase) = @_;
    return Boundarytrace::Raw::bt_snapshot_phase_stats($self->{ptr}, $self->_index($op),
        Boundarytrace::_phase_id($phase));
}

sub total { $_[0]->phase_stats($_[1], Boundarytrace::TOTAL) }

sub quantile {
    my ($self, $op, $phase, $q) = @_;
    return Boundarytrace::Raw::bt_snapshot_quantile($self->{ptr}, $self->_index($op),
        Boundarytrace::_phase_id($phase), $q);
}

# Non-empty histogram buckets: [[lower_ns, upper_ns, count], ...]
sub buckets {
    my ($self, $op, $phase) = @_;
    return Boundarytrace::Raw::bt_snapshot_buckets($self->{ptr}, $self->_index($op),
        Boundarytrace::_phase_id($phase));
}

# {op_count, start_ns, end_ns, phase_count, dropped, processes, skipped}: the
# last three for a shared directory (0 otherwise).
sub info   { Boundarytrace::Raw::bt_snapshot_get_info($_[0]->{ptr}) }

# The files a merge of a shared directory left out: [[PATH, REASON], ...].
sub skipped {
    my ($self) = @_;
    my $n = $self->info->{skipped};
    return [ map { [ Boundarytrace::Raw::bt_snapshot_get_skipped($self->{ptr}, $_) ] } 0 .. $n - 1 ];
}
sub format { Boundarytrace::Raw::bt_snapshot_format($_[0]->{ptr}) }

# export('json' | 'prometheus' | 'openmetrics' | 'folded' | 'text')
sub export {
    my ($self, $format) = @_;
    return Boundarytrace::Raw::bt_snapshot_export($self->{ptr},
        Boundarytrace::_format_code($format, 'bt_snapshot_export'));
}

# write(PATH) in the format its suffix names, or write(PATH, FORMAT).
sub write {
    my ($self, $path, $format) = @_;
    my $code = defined $format ? Boundarytrace::_format_code($format, 'bt_snapshot_write')
                               : Boundarytrace::Raw::bt_format_for_path($path);
    Boundarytrace::Raw::bt_snapshot_write($self->{ptr}, $code, $path);
    return;
}

# Frees the snapshot now; later calls die with BT_E_NULL.
sub close {
    my ($self) = @_;
    my $ptr = delete $self->{ptr} or return;
    Boundarytrace::Raw::bt_snapshot_free($ptr);
    return;
}

sub is_closed { $_[0]->{ptr} ? 0 : 1 }

sub DESTROY {
    my ($self) = @_;
    return if ${^GLOBAL_PHASE} eq 'DESTRUCT';
    $self->close;
}

1;

__END__

=head1 NAME

Boundarytrace - where did the time go between Perl and native code?

=head1 SYNOPSIS

    use Boundarytrace qw(:phases);

    my $t = Boundarytrace::Tracer->new('insert_many');
    $t->phase(EXTRACT, sub { read_args() });
    $t->phase(NETWORK, sub { send_recv() });
    $t->add_items(100);
    my $timing = $t->finish;              # hash reference, times in ns

    my $snap = Boundarytrace::snapshot(); # the global sink
    print $snap->format;
    my $json = $snap->export('json');

=head1 DESCRIPTION

A thin layer over C<Boundarytrace::Raw>, the SWIG wrapper of the C API
(C<boundarytrace/bt.h>). Tracers time operations with phases (the built-in
C<EXTRACT CONVERT NETWORK MATERIALIZE>, or phases registered with
C<register_phase(NAME, GIL_HELD)>; a phase is given by id or by name);
sinks (C<Boundarytrace::Metrics>, global or private) aggregate them;
snapshots (C<Boundarytrace::Snapshot>) report counts, per-phase statistics,
quantiles and every export format.

A tracer's counters: C<add_items(N)>, C<add_gil_release>, C<add_gil_wait(NS)>,
C<set_workers(N)>, C<set_error> (each returns the tracer, so they chain);
C<finish> returns the timing. The timeline keeps individual operations for
Chrome Trace Event JSON: C<timeline_start(CAPACITY)>, C<timeline_stop>,
C<timeline_info>, C<timeline_export>, C<timeline_write(PATH)>.

Many processes (the workers of a pre-fork server) share one picture through
a directory: C<< Boundarytrace::Metrics->open_shared(DIR) >> opens a sink
recording into it (each sink a slot of its own; C<take> and C<reset> die with
C<BT_E_INVALID>), C<< Boundarytrace::Snapshot->read_shared(DIR) >> merges
every slot, live and gone (C<< ->info >> gains C<processes>, C<dropped> and
C<skipped>; C<< ->skipped >> lists C<[PATH, REASON]> of the files left out),
and C<timeline_export_shared(DIR, PID)> gives the flight recorder a process
left there. A directory refused dies with C<BT_E_IO>, naming it and why.

Every failed call dies with a C<Boundarytrace::Error> object: C<< ->name >>
(e.g. C<BT_E_UNKNOWN_PHASE>), C<< ->status >> (the negative code) and
C<< ->message >>; it stringifies to "BT_E_...: sentence (in call)".
A closed tracer, sink or snapshot dies with C<BT_E_NULL>.

Results are hash references: C<finish> gives op_name, total_ns,
unattributed_ns, gil_held_ns, gil_released_ns, gil_wait_ns, items,
gil_releases, workers, flags, error, phase_left_open and
C<< phases => {NAME => {id, ns, entries}} >>; C<stats> gives the bt_op_stats
fields, C<phase_stats> the bt_phase_stats fields (count entries sum_ns min_ns
max_ns p50_ns p90_ns p99_ns p999_ns). C<record> takes the same keys as
C<finish> returns (phases as C<NS>, C<[NS, ENTRIES]> or C<{ns, entries}>).

=cut
