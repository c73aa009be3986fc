# Helpers of the Tcl tests (sourced by each .test file).
package require tcltest 2.5
namespace import ::tcltest::*
package require boundarytrace

namespace eval ::bttest {
    variable seq 0
}

# A name no other test uses: the phase table and the global sink are process-wide.
proc ::bttest::unique {base} {
    variable seq
    return "tcl_${base}_[pid]_[incr seq]"
}

# Busy-waits at least ns nanoseconds.
proc ::bttest::spin {ns} {
    set end [expr {[clock microseconds] + ($ns + 999) / 1000}]
    while {[clock microseconds] < $end} {}
}

# Runs script; returns "STATUS | errorCode | message prefix ok" for an error.
proc ::bttest::status {script} {
    if {![catch {uplevel 1 $script} msg opts]} { return "no error: $msg" }
    set code [dict get $opts -errorcode]
    set name [lindex $code 1]
    set shaped [string match "$name: *" $msg]
    return [list [lindex $code 0] $name $shaped]
}

# A fresh directory for files a test writes.
proc ::bttest::tmpdir {name} {
    if {[info exists ::env(BT_TEST_TMPDIR)]} {
        set base $::env(BT_TEST_TMPDIR)
    } else {
        set base [::tcltest::temporaryDirectory]
    }
    set dir [file join $base out $name]
    file mkdir $dir
    return $dir
}

proc ::bttest::slurp {path} {
    set fh [open $path r]
    fconfigure $fh -encoding utf-8
    set text [read $fh]
    close $fh
    return $text
}
