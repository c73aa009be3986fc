# Many processes, one picture: a sink shared through a directory
# (Boundarytrace::Metrics->open_shared), the directory merged
# (Boundarytrace::Snapshot->read_shared), a forked child's counts and flight
# recorder, and the errors of each.
use strict;
use warnings;
use Test::More;
use FindBin;
use Errno ();
use File::Temp ();
use JSON::PP ();
use POSIX ();
require "$FindBin::Bin/lib.pl";

use Boundarytrace ();

# A fresh directory (mkdtemp) for each subtest; the shared directory is made in it.
sub fresh { File::Temp::tempdir("$_[0]-XXXXXX", DIR => tmpdir('shared'), CLEANUP => 1) }

sub strerror { local $! = $_[0]; return "$!" }

subtest 'open_shared, record, read_shared' => sub {
    my $dir = fresh('sink') . '/shared';    # missing: created with mode 0700
    my $op  = unique('shared');
    my $m   = Boundarytrace::Metrics->open_shared($dir);
    is($m->shared_dir, $dir, 'shared_dir names the directory');
    ok(!$m->is_global, 'not the global sink');
    is((stat $dir)[2] & 07777, 0700, 'the directory is made with mode 0700');
    $m->record(op_name => $op, total_ns => 1000) for 1 .. 3;

    my $s = Boundarytrace::Snapshot->read_shared($dir);
    isa_ok($s, 'Boundarytrace::Snapshot');
    is($s->stats($op)->{count}, 3, 'read_shared gives the count');
    is($s->total($op)->{sum_ns}, 3000, 'and the times');
    my $info = $s->info;
    is($info->{processes}, 1, 'one process slot');
    is($info->{dropped}, 0, 'nothing dropped');
    is($info->{skipped}, 0, 'nothing skipped');
    is_deeply($s->skipped, [], 'skipped: an empty list');

    my $again = Boundarytrace::read_shared($dir);
    is($again->stats($op)->{count}, 3, 'Boundarytrace::read_shared is the same');
    my $own = $m->snapshot;
    is($own->stats($op)->{count}, 3, "the sink's own snapshot merges the directory");
    is($own->info->{processes}, 1, '... of one process');

    my $private = Boundarytrace::Metrics->new->snapshot->info;
    is_deeply([ @{$private}{qw(processes dropped skipped)} ], [ 0, 0, 0 ],
              'a private snapshot: processes, dropped, skipped are 0');
    is(Boundarytrace::Metrics->new->shared_dir, undef, 'a private sink has no shared_dir');
};

subtest 'a forked child adds its counts and leaves its flight recorder' => sub {
    my $dir = fresh('fork');
    my $op  = unique('forked');
    my $child_op = unique('child_traced');
    Boundarytrace::timeline_start(64);
    my $m = Boundarytrace::Metrics->open_shared($dir);
    $m->record(op_name => $op, total_ns => 10) for 1 .. 3;
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        # The child takes a slot of its own at its first record. Its counts are
        # in the slot file as they are made: _exit keeps Test::More quiet.
        my $ok = eval {
            $m->record(op_name => $op, total_ns => 10) for 1 .. 2;
            $m->tracer($child_op)->add_items(7)->finish;
            1;
        };
        print STDERR "child: $@" unless $ok;
        POSIX::_exit($ok ? 0 : 1);
    }
    waitpid($pid, 0);
    is($?, 0, 'the child recorded and exited 0');
    Boundarytrace::timeline_stop();

    my $s = Boundarytrace::read_shared($dir);
    is($s->stats($op)->{count}, 5, "the child's counts are added");
    is($s->stats($child_op)->{count}, 1, "and its operation");
    is($s->info->{processes}, 2, 'processes: parent and child');

    my $json = Boundarytrace::timeline_export_shared($dir, $pid);
    my $doc  = JSON::PP->new->utf8->decode($json);
    my @ops  = grep { ($_->{cat} // '') eq 'operation' && $_->{name} eq $child_op } @{ $doc->{traceEvents} };
    is(scalar @ops, 1, "the child's flight recorder holds its operation after it is gone");
    is($ops[0]{args}{items}, 7, '... with its items') if @ops;

    my $m2 = Boundarytrace::Metrics->open_shared($dir);    # a second sink: a second slot
    $m2->record(op_name => $op, total_ns => 10);
    my $s2 = Boundarytrace::read_shared($dir);
    is($s2->stats($op)->{count}, 6, 'a second sink in this process adds its counts');
    is($s2->info->{processes}, 3, '... in a slot of its own');
    like(Boundarytrace::timeline_export_shared($dir, $pid), qr/\Q$child_op\E/,
         "the child's recorder is kept aside when its slot is taken over");
};

subtest 'take and reset are refused on a shared sink' => sub {
    my $dir = fresh('take');
    my $op  = unique('refused');
    my $m   = Boundarytrace::Metrics->open_shared($dir);
    $m->record(op_name => $op, total_ns => 1);
    for my $verb (qw(take reset)) {
        my $e = dies_with('BT_E_INVALID', sub { $m->$verb }, $verb);
        like("$e", qr/\(in bt_metrics_$verb: this sink is shared through the directory \Q$dir\E: its figures belong to every process writing there; read them with snapshot\)/,
             "$verb: the message says why");
        is($e->status, -2, "$verb: status -2") if $e;
    }
    is($m->snapshot->stats($op)->{count}, 1, 'the counts are untouched');
};

subtest 'a directory group or others may write into is refused' => sub {
    my $open = fresh('unsafe') . '/open';
    mkdir $open or die "mkdir $open: $!";
    chmod 0777, $open or die "chmod $open: $!";
    my $denied = strerror(Errno::EACCES());
    for my $case ([ 'bt_metrics_open_shared', sub { Boundarytrace::Metrics->open_shared($open) } ],
                  [ 'bt_snapshot_read_shared', sub { Boundarytrace::Snapshot->read_shared($open) } ],
                  [ 'bt_timeline_export_shared', sub { Boundarytrace::timeline_export_shared($open, $$) } ]) {
        my ($call, $code) = @$case;
        my $e = dies_with('BT_E_IO', $code, $call) or next;
        is($e->message,
           'BT_E_IO: ' . Boundarytrace::status_message(-14) . " (in $call: $open: $denied; a shared directory"
           . ' must be your own and not writable by group or others, and this one is mode 0777)',
           "$call: names the directory, errno's text and the rule");
    }
    my $e = dies_with('BT_E_IO', sub { Boundarytrace::read_shared(fresh('missing') . '/none') }, 'a missing directory');
    like("$e", qr/\(in bt_snapshot_read_shared: .*\/none: \Q${\ strerror(Errno::ENOENT())}\E\)\n\z/,
         'a missing directory: its name and the reason, no rule') if $e;
};

subtest 'bad arguments' => sub {
    my $dir = fresh('args');
    my $m = Boundarytrace::Metrics->open_shared($dir);
    dies_with('BT_E_INVALID', sub { Boundarytrace::Metrics->open_shared('') }, 'open_shared of an empty string');
    dies_with('BT_E_INVALID', sub { Boundarytrace::Snapshot->read_shared('') }, 'read_shared of an empty string');
    dies_with('BT_E_INVALID', sub { Boundarytrace::timeline_export_shared('', $$) }, 'export_shared of an empty string');
    dies_with('BT_E_NULL', sub { Boundarytrace::Metrics->open_shared(undef) }, 'open_shared of undef');
    my $e = dies_with('BT_E_INVALID', sub { Boundarytrace::read_shared("$dir\0x") }, 'a NUL in the directory');
    like("$e", qr/the path holds a NUL character/, '... says so') if $e;
    dies_with('BT_E_INVALID', sub { Boundarytrace::timeline_export_shared($dir, 0) }, 'pid 0');
    $e = dies_with('BT_E_INVALID', sub { Boundarytrace::timeline_export_shared($dir, -1) }, 'pid -1');
    like("$e", qr/pid must not be negative: -1/, '... says so') if $e;
    dies_with('BT_E_INVALID', sub { Boundarytrace::timeline_export_shared($dir, 'abc') }, 'pid abc');
    $e = dies_with('BT_E_NOT_FOUND', sub { Boundarytrace::timeline_export_shared($dir, getppid()) },
                   'the recorder of a process that never wrote there');
    is($e->message, 'BT_E_NOT_FOUND: ' . Boundarytrace::status_message(-12) . ' (in bt_timeline_export_shared)',
       '... the plain message') if $e;
};

subtest 'skipped files: (path, reason) pairs' => sub {
    my $dir = fresh('skipped');
    my $op  = unique('beside_garbage');
    my $m   = Boundarytrace::Metrics->open_shared($dir);
    $m->record(op_name => $op, total_ns => 5);
    my $bad = "$dir/slot-99.bt";
    open my $fh, '>', $bad or die "$bad: $!";
    print $fh 'not a slot at all' x 8;
    close $fh;
    my $s = Boundarytrace::read_shared($dir);
    is($s->stats($op)->{count}, 1, 'the good slot is merged');
    is($s->info->{skipped}, 1, 'info counts the file left out');
    my $skipped = $s->skipped;
    is(scalar @$skipped, 1, 'skipped lists it');
    is($skipped->[0][0], $bad, '... its path');
    like($skipped->[0][1], qr/\S/, "... and why: $skipped->[0][1]");
};

done_testing;
