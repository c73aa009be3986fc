# Debian packages of the SWIG wrappers (swig/) and their tests (tests/swig/):
#   swig                  the generator (UseSWIG finds it)
#   default-jdk-headless  javac, jar and jni.h for the Java wrapper
#   maven                 fetches the JUnit 5 console launcher for swig_java
#   libperl-dev           perl.h for the Perl wrapper (perl, prove, Test::More,
#                         JSON::PP and threads come with perl itself)
#   tcl-dev               tcl.h and the stub library (Tcl 8.6) for the Tcl wrapper;
#                         tclsh and tcltest come with it
# shellcheck shell=bash
BT_DEBS+=(swig default-jdk-headless maven libperl-dev tcl-dev)
