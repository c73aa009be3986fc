# boundarytrace — Tcl binding: trace where time goes across a language boundary.
#
# A thin TclOO layer over the SWIG commands ::boundarytrace_raw::bt_* (generated
# from swig/boundarytrace.i). Quick use:
#
#   package require boundarytrace
#   set t [boundarytrace::Tracer new insert_many]
#   $t phase extract { read_args }
#   $t phase network { send_recv }
#   $t add_items 100
#   set timing [$t finish]          ;# a dict, times in ns
#   $t destroy
#   set s [boundarytrace::snapshot]
#   puts [$s format]; puts [$s export json]; $s destroy
#
# Phases are given by name (extract convert network materialize, or a name
# registered with `boundarytrace::phase register NAME HELD`) or by id.
# Every failure is a Tcl error whose result starts with the status name
# ("BT_E_UNKNOWN_PHASE: unknown phase id (in bt_phase_begin)") and whose
# errorCode is {BOUNDARYTRACE BT_E_UNKNOWN_PHASE}. A closed object answers
# BT_E_NULL.

package require Tcl 8.6
package require boundarytrace_raw 0.1.0

namespace eval ::boundarytrace {
    namespace export version version_string enabled clock_now clock_source \
        phase format_for_path format_timing metrics tracer record snapshot read_shared \
        timeline Tracer Metrics Snapshot Op

    # Built-in phase ids.
    variable EXTRACT 0
    variable CONVERT 1
    variable NETWORK 2
    variable MATERIALIZE 3
    variable TOTAL -1
    variable GIL_WAIT -2

    # bt_format values by name.
    variable formats {text 0 json 1 prometheus 2 openmetrics 3 folded 4}

    # Users of each sink handle: the sink object itself and its live tracers.
    # The C sink is freed when the count reaches 0 (never the global one).
    variable refs
    array set refs {}

    namespace path ::boundarytrace_raw
}

# An error shaped like the C layer's.
proc ::boundarytrace::Fail {status context {detail ""}} {
    set name [bt_status_name $status]
    set msg "$name: [bt_status_str $status] (in $context"
    if {$detail ne ""} { append msg ": $detail" }
    append msg ")"
    return -code error -errorcode [list BOUNDARYTRACE $name] $msg
}

# A phase given by id or by name.
proc ::boundarytrace::PhaseId {phase} {
    if {[string is entier -strict $phase]} { return $phase }
    return [bt_phase_lookup $phase]
}

proc ::boundarytrace::FormatCode {format context} {
    variable formats
    if {[string is entier -strict $format]} { return $format }
    set key [string tolower $format]
    if {![dict exists $formats $key]} {
        Fail -2 $context "unknown format '$format'; one of: [dict keys $formats]"
    }
    return [dict get $formats $key]
}

proc ::boundarytrace::Retain {h} {
    variable refs
    incr refs($h)
}

proc ::boundarytrace::Release {h} {
    variable refs
    if {![info exists refs($h)]} { return }
    if {[incr refs($h) -1] <= 0} {
        unset refs($h)
        if {$h ne [bt_metrics_global]} { bt_metrics_free $h }
    }
}

# ---- library ---------------------------------------------------------------------

proc ::boundarytrace::version {} { bt_version }
proc ::boundarytrace::version_string {} { bt_version_string }
proc ::boundarytrace::clock_now {} { bt_clock_now_ns }
proc ::boundarytrace::clock_source {} { bt_clock_source }

# enabled ?BOOL?: queries, or switches recording on or off for the process.
proc ::boundarytrace::enabled {args} {
    if {[llength $args] > 1} {
        return -code error "wrong # args: should be \"boundarytrace::enabled ?bool?\""
    }
    if {[llength $args] == 1} { bt_set_enabled [expr {[lindex $args 0] ? 1 : 0}] }
    return [bt_is_enabled]
}

# ---- phases ----------------------------------------------------------------------

namespace eval ::boundarytrace::phase {
    namespace export register lookup info count
    namespace ensemble create
    namespace path ::boundarytrace_raw
}
proc ::boundarytrace::phase::register {name held} {
    bt_phase_register $name [expr {$held ? 1 : 0}]
}
proc ::boundarytrace::phase::lookup {name} { bt_phase_lookup $name }
# info PHASE: a dict {id N name NAME gil_held BOOL}
proc ::boundarytrace::phase::info {phase} {
    set id [::boundarytrace::PhaseId $phase]
    lassign [bt_phase_get_info $id] name held
    return [dict create id $id name $name gil_held $held]
}
proc ::boundarytrace::phase::count {} { bt_phase_count }

# ---- formats ---------------------------------------------------------------------

proc ::boundarytrace::format_for_path {path} {
    variable formats
    set code [bt_format_for_path $path]
    dict for {name value} $formats { if {$value == $code} { return $name } }
    return text
}

# The human report of one timing (a dict, as finish returns).
proc ::boundarytrace::format_timing {timing} { bt_timing_format $timing }

# ---- sinks -----------------------------------------------------------------------

namespace eval ::boundarytrace::metrics {
    namespace export global new open_shared
    namespace ensemble create
}
# The global sink object (one per interpreter).
proc ::boundarytrace::metrics::global {} {
    set obj ::boundarytrace::GlobalMetrics
    if {[::info commands $obj] eq ""} {
        ::boundarytrace::Metrics create $obj -global
    }
    return $obj
}
# A new private sink object.
proc ::boundarytrace::metrics::new {} { ::boundarytrace::Metrics new }
# open_shared DIR: a sink object whose figures live in the directory DIR, shared
# by every process that opens it (bt_metrics_open_shared). A missing DIR is
# created with mode 0700; one that group or others may write into, or of
# another user, fails with BT_E_IO (EACCES). Each sink takes a slot of its own
# there; snapshot merges the whole directory; take and reset fail with
# BT_E_INVALID (the figures belong to every process).
proc ::boundarytrace::metrics::open_shared {dir} { ::boundarytrace::Metrics new -shared $dir }

# tracer OP ?METRICS?: a new tracer.
proc ::boundarytrace::tracer {op {metrics ""}} { Tracer new $op $metrics }

# Records a timing dict into the global sink.
proc ::boundarytrace::record {timing} { [metrics global] record $timing }

# A snapshot of the global sink.
proc ::boundarytrace::snapshot {} { [metrics global] snapshot }

# read_shared DIR: a Snapshot object of every slot of the shared directory DIR,
# live and gone, and its archive merged (bt_snapshot_read_shared). Its info
# counts the processes merged, the records dropped and the files skipped;
# its skipped method names those files.
proc ::boundarytrace::read_shared {dir} { Snapshot new [bt_snapshot_read_shared $dir] }

# ---- timeline: the ring of individual operations (Chrome Trace Event JSON) ------

namespace eval ::boundarytrace::timeline {
    namespace export start stop info export write export_shared
    namespace ensemble create
    namespace path ::boundarytrace_raw
}
proc ::boundarytrace::timeline::start {capacity} { bt_timeline_start $capacity; return }
proc ::boundarytrace::timeline::stop {} { bt_timeline_stop; return }
# info: a dict {capacity N kept N dropped N active BOOL}
proc ::boundarytrace::timeline::info {} { bt_timeline_get_info }
proc ::boundarytrace::timeline::export {} { bt_timeline_export }
proc ::boundarytrace::timeline::write {path} { bt_timeline_write $path; return }
# export_shared DIR PID: the flight recorder of process PID in the shared
# directory DIR, as export's JSON.
proc ::boundarytrace::timeline::export_shared {dir pid} { bt_timeline_export_shared $dir $pid }

# ---- classes ---------------------------------------------------------------------

# A sink: `Metrics new` (private), `Metrics new -shared DIR` (shared through a
# directory, as `metrics open_shared DIR`) or `metrics global`.
oo::class create ::boundarytrace::Metrics {
    variable h global shared_dir
    constructor {args} {
        namespace path [list {*}[namespace path] ::boundarytrace ::boundarytrace_raw]
        set shared_dir ""
        set h ""
        set global 0
        if {$args eq "-global"} {
            set global 1
            set h [bt_metrics_global]
        } elseif {[llength $args] == 0} {
            set h [bt_metrics_new]
        } elseif {[llength $args] == 2 && [lindex $args 0] eq "-shared"} {
            set h [bt_metrics_open_shared [lindex $args 1]]
            set shared_dir [lindex $args 1]
        } else {
            return -code error "wrong # args: should be \"Metrics new ?-shared dir?\""
        }
        Retain $h
    }
    destructor { my close }

    # The C handle for CALL; a closed sink fails with BT_E_NULL (in CALL: the
    # sink is closed), as NULL would mean the global sink.
    method handle {{call "boundarytrace::Metrics handle"}} {
        if {$h eq ""} { Fail -1 $call "the sink is closed" }
        return $h
    }
    method is_global {} { return $global }
    # The directory of a sink made by open_shared, else "".
    method shared_dir {} { return $shared_dir }

    # The library answers BT_E_INVALID to take and reset only on a shared sink
    # (open_shared, or the global sink under BOUNDARYTRACE_SHARED_DIR): say so.
    method SharedRefusal {call result opts} {
        if {[lindex [dict get $opts -errorcode] 1] ne "BT_E_INVALID" || ($shared_dir eq "" && !$global)} {
            return -options $opts $result
        }
        if {$shared_dir ne ""} {
            set where "the directory $shared_dir"
        } else {
            set where BOUNDARYTRACE_SHARED_DIR
        }
        Fail -2 $call "this sink is shared through $where: its figures belong to every process\
            writing there; read them with snapshot"
    }

    # A tracer recording into this sink.
    method tracer {op} { ::boundarytrace::Tracer new $op [self] }

    # Binds an operation name once.
    method op {name} { ::boundarytrace::Op new [self] [bt_op_lookup [my handle bt_op_lookup] $name] }

    # Records a timing dict: op_name total_ns phases {extract NS convert {NS ENTRIES}}
    # items gil_releases gil_wait_ns workers error (the keys finish returns).
    method record {timing} { bt_metrics_record [my handle bt_metrics_record] $timing; return }

    method reset {} {
        set mh [my handle bt_metrics_reset]
        if {[catch {bt_metrics_reset $mh} result opts]} {
            my SharedRefusal bt_metrics_reset $result $opts
        }
        return
    }

    # A Snapshot object; destroy it when done.
    method snapshot {} { ::boundarytrace::Snapshot new [bt_metrics_snapshot [my handle bt_metrics_snapshot]] }

    # {interval cumulative}: two Snapshot objects.
    method take {} {
        set mh [my handle bt_metrics_take]
        if {[catch {bt_metrics_take $mh} pair opts]} {
            my SharedRefusal bt_metrics_take $pair $opts
        }
        lassign $pair interval cumulative
        list [::boundarytrace::Snapshot new $interval] [::boundarytrace::Snapshot new $cumulative]
    }

    # Lets go of the sink: freed now, or when its last tracer is gone.
    method close {} {
        if {$h eq "" || $global} { return }
        set old $h
        set h ""
        Release $old
    }
}

# An operation name bound in one sink.
oo::class create ::boundarytrace::Op {
    variable metrics op
    constructor {m handle} {
        namespace path [list {*}[namespace path] ::boundarytrace ::boundarytrace_raw]
        set metrics $m
        set op $handle
    }
    method handle {{call "boundarytrace::Op handle"}} {
        $metrics handle $call ;# fails when the sink is closed
        return $op
    }
    method metrics {} { return $metrics }
    method name {} { bt_op_name [my handle bt_op_name] }
    method tracer {} { ::boundarytrace::Tracer new [self] }
}

# One traced operation. `Tracer new OP ?METRICS?`, OP a name or an Op object.
oo::class create ::boundarytrace::Tracer {
    variable t mh finished
    constructor {op {metrics ""}} {
        namespace path [list {*}[namespace path] ::boundarytrace ::boundarytrace_raw]
        set finished 0
        if {[::info object isa object $op] && [::info object isa typeof $op ::boundarytrace::Op]} {
            set mh [[$op metrics] handle bt_tracer_new_op]
            set t [bt_tracer_new_op [$op handle bt_tracer_new_op]]
        } else {
            if {$metrics eq ""} { set metrics [::boundarytrace::metrics global] }
            set mh [$metrics handle bt_tracer_new]
            set t [bt_tracer_new $mh $op]
        }
        Retain $mh
    }
    destructor { catch {my close} }

    method begin {phase} { bt_phase_begin $t [PhaseId $phase]; return }
    method end {phase} { bt_phase_end $t [PhaseId $phase]; return }

    # phase PHASE SCRIPT: runs SCRIPT in the caller inside the phase, ending the
    # phase however the script ends, and returns what it returns.
    method phase {phase script} {
        set id [PhaseId $phase]
        bt_phase_begin $t $id
        set code [catch {uplevel 1 $script} result opts]
        if {[catch {bt_phase_end $t $id} endresult endopts] && $code == 0} {
            return -options $endopts $endresult
        }
        dict incr opts -level
        return -options $opts $result
    }

    method add_items {n} { bt_tracer_add_items $t $n; return }
    method add_gil_release {} { bt_tracer_add_gil_release $t; return }
    method add_gil_wait {ns} { bt_tracer_add_gil_wait $t $ns; return }
    method set_workers {n} { bt_tracer_set_workers $t $n; return }
    method set_error {} { bt_tracer_set_error $t; return }

    # Stops the clock, records, and returns the timing dict: op_name total_ns
    # unattributed_ns gil_held_ns gil_released_ns gil_wait_ns items gil_releases
    # workers flags error phase_left_open phases {NAME {id N ns N entries N} ...}
    method finish {} {
        if {[catch {bt_tracer_finish_timing $t} timing opts]} {
            if {[lindex [dict get $opts -errorcode] 1] in {BT_E_FINISHED BT_E_NOMEM}} {
                set finished 1
            }
            return -options $opts $timing
        }
        set finished 1
        return $timing
    }
    method finished {} { expr {$finished || $t eq "NULL"} }

    # Finishes unless finished, then frees; later calls fail with BT_E_NULL.
    method close {} {
        if {$t eq "NULL"} { return }
        set code 0
        if {!$finished} { set code [catch {my finish} result opts] }
        bt_tracer_free $t
        set t NULL
        Release $mh
        if {$code} { return -options $opts $result }
        return
    }
}

# An immutable copy of a sink's aggregates. Destroy it (or close it) when done.
oo::class create ::boundarytrace::Snapshot {
    variable s
    constructor {handle} {
        namespace path [list {*}[namespace path] ::boundarytrace ::boundarytrace_raw]
        set s $handle
    }
    destructor { my close }

    method Index {op} { bt_snapshot_find $s $op }

    method count {} { bt_snapshot_op_count $s }

    # Operation names, sorted.
    method ops {} {
        set names {}
        for {set i 0} {$i < [bt_snapshot_op_count $s]} {incr i} {
            lappend names [dict get [bt_snapshot_op_stats $s $i] name]
        }
        return $names
    }

    # Aggregates of one operation: a dict of the bt_op_stats fields.
    method stats {op} { bt_snapshot_op_stats $s [my Index $op] }

    # Distribution of one phase (name, id, or -1 for the total): a dict of
    # name phase gil_held count entries sum_ns min_ns max_ns p50_ns p90_ns p99_ns p999_ns.
    method phase {op phase} { bt_snapshot_phase_stats $s [my Index $op] [PhaseId $phase] }
    method total {op} { bt_snapshot_phase_stats $s [my Index $op] -1 }
    # The GIL wait per operation that released the GIL (-2, BT_PHASE_GIL_WAIT).
    method gil_wait {op} { bt_snapshot_phase_stats $s [my Index $op] -2 }

    method quantile {op phase q} { bt_snapshot_quantile $s [my Index $op] [PhaseId $phase] $q }

    # Non-empty histogram buckets: {{lower_ns upper_ns count} ...}
    method buckets {op phase} { bt_snapshot_buckets $s [my Index $op] [PhaseId $phase] }

    # A dict: op_count start_ns end_ns phase_count, and for a shared directory
    # dropped processes skipped (0 otherwise).
    method info {} { bt_snapshot_get_info $s }

    # The files a merge of a shared directory left out: {{path reason} ...}
    method skipped {} {
        set files {}
        for {set i 0} {$i < [dict get [bt_snapshot_get_info $s] skipped]} {incr i} {
            lappend files [bt_snapshot_get_skipped $s $i]
        }
        return $files
    }
    method format {} { bt_snapshot_format $s }

    # export json|prometheus|openmetrics|folded|text
    method export {format} { bt_snapshot_export $s [FormatCode $format bt_snapshot_export] }

    # write PATH ?FORMAT?: atomically, in FORMAT or the one the suffix names.
    method write {path {format ""}} {
        if {$format eq ""} {
            set code [bt_format_for_path $path]
        } else {
            set code [FormatCode $format bt_snapshot_write]
        }
        bt_snapshot_write $s $code $path
        return
    }

    # Frees the snapshot now; later calls fail with BT_E_NULL.
    method close {} {
        if {$s ne "NULL"} {
            bt_snapshot_free $s
            set s NULL
        }
        return
    }
}

package provide boundarytrace 0.1.0
