# A tracer still unfinished when the program ends is finished and recorded,
# wherever it is held: a file lexical, a package global, a global hash, a cycle.
# Each case runs in a child perl that exits with the tracer alive and dumps the
# global sink at exit (BOUNDARYTRACE_DUMP).
use strict;
use warnings;
use Test::More;
use FindBin;
use File::Basename qw(dirname);
use JSON::PP ();
require "$FindBin::Bin/lib.pl";

use Boundarytrace ();

my $lib = dirname($INC{'Boundarytrace.pm'});
my $dir = tmpdir(unique('exit'));

# Runs $code in a child perl with $op in $ARGV[0]; returns its dumped operations by name.
sub child_ops {
    my ($name, $code, $op) = @_;
    my $dump = "$dir/$name.json";
    unlink $dump;
    local $ENV{BOUNDARYTRACE_DUMP} = $dump;
    my $rc = system($^X, "-I$lib", '-MBoundarytrace', '-e', $code, $op);
    is($rc, 0, "$name: the child exits 0");
    open my $fh, '<:raw', $dump or do { fail("$name: no dump at $dump: $!"); return {} };
    local $/;
    my $doc = JSON::PP->new->utf8->decode(scalar <$fh>);
    return { map { $_->{name} => $_ } @{ $doc->{operations} } };
}

my %cases = (
    lexical    => 'my $t = Boundarytrace::tracer($ARGV[0]); $t->add_items(3);',
    global     => 'our $t = Boundarytrace::tracer($ARGV[0]); $t->add_items(3);',
    global_var => '$main::t = Boundarytrace::tracer($ARGV[0]); $main::t->add_items(3);',
    hash       => 'our %h = (t => Boundarytrace::tracer($ARGV[0])); $h{t}->add_items(3);',
    cycle      => 'my $t = Boundarytrace::tracer($ARGV[0]); $t->add_items(3); $t->{me} = $t;',
    phase_open => 'our $t = Boundarytrace::tracer($ARGV[0]); $t->add_items(3); $t->begin(2);',
    user_end   => 'our $t = Boundarytrace::tracer($ARGV[0]); END { $t->add_items(3) if $t }',
    exit_call  => 'our $t = Boundarytrace::tracer($ARGV[0]); $t->add_items(3); exit 0;',
);
for my $name (sort keys %cases) {
    my $op  = unique($name);
    my $ops = child_ops($name, $cases{$name}, $op);
    my $o   = $ops->{$op};
    ok($o, "$name: recorded") or next;
    is($o->{count}, 1, "$name: once");
    is($o->{items}, 3, "$name: with its items");
    is($o->{left_open}, $name eq 'phase_open' ? 1 : 0, "$name: left open as it was");
}

# Finished already, or freed: recorded once, not again at the end.
my $op  = unique('finished');
my $ops = child_ops('finished', 'our $t = Boundarytrace::tracer($ARGV[0]); $t->add_items(3); $t->finish;
                               our $u = Boundarytrace::tracer($ARGV[0]); $u->close;', $op);
is($ops->{$op} && $ops->{$op}{count}, 2, 'finished and closed tracers: recorded once each');

done_testing;
