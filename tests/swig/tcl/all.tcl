# Runs the tcltest files of the Tcl wrapper in this interpreter and exits
# non-zero when a test failed (or none ran): tcltest 2.5's runAllTests does not.
# CTest runs it with TCLLIBPATH pointing at the built package.
package require Tcl 8.6
package require tcltest 2.5
namespace import ::tcltest::*
tcltest::configure {*}$argv

set ::bt_all 1
foreach file [lsort [glob -directory [file dirname [file normalize [info script]]] *.test]] {
    puts "==== [file tail $file]"
    source $file
}
set total $::tcltest::numTests(Total)
set failed $::tcltest::numTests(Failed)
cleanupTests
exit [expr {$failed > 0 || $total == 0}]
