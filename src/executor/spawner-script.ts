// Slipway's process spawner: a small long-lived Perl process that starts the
// step processes of every job for Slipway (see spawner.ts for why and for
// the protocol). perl-base is Essential on Debian and Ubuntu; when perl is
// missing Slipway spawns from Node instead.
//
// Requests on stdin, each a header line and a payload:
//   R <id> <length>\n<cwd>\0<file>\0<argc>\0<argv...>\0<NAME=value...>   start
//   D <id> 0\n                                        stop reading its output
// Replies on stdout:
//   S <id> <pid>\n           started (after exec: setsid and chdir are done)
//   F <id> <what> <errno>\n  could not start; what is chdir, exec, pipe or fork
//   O <id> <length>\n<bytes> output on stdout;  E ... on stderr
//   X <id> <wait status>\n   the process exited (the raw waitpid status)
//   C <id>\n                 its stdout and stderr are closed
// On end of input the remaining process groups are killed and the helper exits.
//
// The Perl source is kept here as a string (run with `perl -e`) so that it
// ships inside Slipway's single-file bundle.

export const SPAWNER_SCRIPT = String.raw`
$0 = 'slipway-spawner';
use strict;
# No POSIX module and no warnings: they triple Perl's start-up time.
# System call numbers for this architecture, from Node (0: unknown).
my ($SETSID, $DUP3, $SETAFFINITY, $GETAFFINITY) = map { $_ || 0 } @ARGV[0 .. 3];

# The spawner stays on the CPU it started on: after each fork its writes
# fault (copy-on-write), and while its memory is known to several CPUs each
# fault flushes their TLBs with interprocessor interrupts, slow on VMs.
# Steps get the original CPU set back before exec.
my $cpus = "\0" x 128;
my $pinned = 0;
if ($SETAFFINITY && $GETAFFINITY && syscall($GETAFFINITY, 0, length $cpus, $cpus) > 0) {
  my @stat = split / /, ((do { local (@ARGV, $/) = ('/proc/self/stat'); <> } // '') =~ s/^.*\) //sr);
  my $cpu = $stat[36];
  if (defined $cpu && $cpu =~ /^\d+$/ && vec($cpus, $cpu, 1)) {
    my $one = "\0" x length $cpus;
    vec($one, $cpu, 1) = 1;
    $pinned = syscall($SETAFFINITY, 0, length $one, $one) == 0;
  }
}
open(my $NULL, '<', '/dev/null') or die "slipway spawner: /dev/null: $!\n";
my $NULL_FD = fileno $NULL;
my $WNOHANG = 1;               # the same on every Linux architecture

my $PIDFD_OPEN = 434;    # same number on x86_64, arm64 and the other asm-generic tables
my %steps;               # id => { pid, out, err, pidfd, exited, open }
my %readers;             # fileno => [id, 'O' | 'E' | 'P', handle]
my $input = '';
my $pidfd_ok = 1;
$SIG{CHLD} = sub { };    # wakes select when pidfd_open is unavailable
$SIG{PIPE} = 'DEFAULT';

sub put {
  my ($bytes) = @_;
  while (length $bytes) {
    my $n = syswrite(STDOUT, $bytes);
    if (!defined $n) { next if $!{EINTR} || $!{EAGAIN}; finish(); }
    substr($bytes, 0, $n, '');
  }
}

sub start {
  my ($id, $payload) = @_;
  my @f = split /\0/, $payload, -1;
  my ($cwd, $file, $argc) = splice(@f, 0, 3);
  my @argv = splice(@f, 0, $argc);
  # Everything that allocates happens here, before the fork: each page the
  # child writes before exec is a copy-on-write fault, and those are slow on
  # small VMs. The child makes only system calls.
  unless (chdir $cwd) {
    put("F $id chdir " . ($! + 0) . "\n");
    return;
  }
  %ENV = ();
  for my $entry (@f) {
    my $eq = index($entry, '=');
    $ENV{ substr($entry, 0, $eq) } = substr($entry, $eq + 1) if $eq > 0;
  }
  my ($out_r, $out_w, $err_r, $err_w, $st_r, $st_w);
  unless (pipe($out_r, $out_w) && pipe($err_r, $err_w) && pipe($st_r, $st_w)) {
    put("F $id pipe " . ($! + 0) . "\n");
    return;
  }
  my ($out_fd, $err_fd) = (fileno $out_w, fileno $err_w);
  my $pid = fork;
  if (!defined $pid) {
    put("F $id fork " . ($! + 0) . "\n");
    return;
  }
  if ($pid == 0) {
    syscall($SETAFFINITY, 0, length $cpus, $cpus) if $pinned;
    if ($SETSID && $DUP3) {
      syscall($SETSID);
      syscall($DUP3, $NULL_FD, 0, 0);
      syscall($DUP3, $out_fd, 1, 0);
      syscall($DUP3, $err_fd, 2, 0);
    } else {
      require POSIX;
      POSIX::setsid();
      # Reopening a standard handle keeps its descriptor number (0, 1, 2).
      open(STDIN, '<&', $NULL);
      open(STDOUT, '>&', $out_w);
      open(STDERR, '>&', $err_w);
    }
    exec { $file } @argv;
    syswrite($st_w, pack('aN', 'e', $! + 0));
    exit 127;
  }
  close $out_w;
  close $err_w;
  close $st_w;
  # The status pipe is close-on-exec: its end of file means the exec
  # succeeded. It is read in the main loop, which meanwhile serves the other
  # steps; until then the step's exit is not reported.
  my $step = { pid => $pid, out => $out_r, err => $err_r, open => 2, exited => 0, starting => 1, status => '' };
  $steps{$id} = $step;
  $readers{ fileno $st_r } = [$id, 'T', $st_r];
  $readers{ fileno $out_r } = [$id, 'O', $out_r];
  $readers{ fileno $err_r } = [$id, 'E', $err_r];
  if ($pidfd_ok) {
    my $fd = syscall($PIDFD_OPEN, $pid, 0);
    if ($fd >= 0) {
      open(my $handle, '<&=', $fd);
      $step->{pidfd} = $handle;
      $readers{$fd} = [$id, 'P', $handle];
    } else {
      $pidfd_ok = 0;
    }
  }
}

sub started {
  my ($id, $handle) = @_;
  my $step = $steps{$id} or return;
  my $n = sysread($handle, $step->{status}, 5 - length $step->{status}, length $step->{status});
  return if !defined $n && $!{EINTR};
  return if $n && length $step->{status} < 5;
  delete $readers{ fileno $handle };
  close $handle;
  if (length $step->{status} == 5) {
    my ($what, $errno) = unpack('aN', $step->{status});
    waitpid($step->{pid}, 0);
    for my $key ('out', 'err', 'pidfd') {
      my $h = $step->{$key} or next;
      delete $readers{ fileno $h };
      close $h;
    }
    delete $steps{$id};
    put("F $id exec $errno\n");
    return;
  }
  $step->{starting} = 0;
  put("S $id $step->{pid}\n");
}

sub close_output {
  my ($id, $which) = @_;
  my $step = $steps{$id} or return;
  my $handle = $step->{$which} or return;
  delete $readers{ fileno $handle };
  close $handle;
  $step->{$which} = undef;
  $step->{open}--;
  put("C $id\n") if $step->{open} == 0;
  forget($id);
}

sub forget {
  my ($id) = @_;
  my $step = $steps{$id};
  delete $steps{$id} if $step && $step->{exited} && $step->{open} == 0;
}

sub reap {
  for my $id (keys %steps) {
    my $step = $steps{$id};
    next if $step->{exited} || $step->{starting};
    next unless waitpid($step->{pid}, $WNOHANG) == $step->{pid};
    $step->{exited} = 1;
    if (my $handle = delete $step->{pidfd}) {
      delete $readers{ fileno $handle };
      close $handle;
    }
    put("X $id $?\n");
    forget($id);
  }
}

# Still registered, and not replaced by another reader under the same number.
sub live {
  my ($reader) = @_;
  my $fd = fileno $reader->[2];
  return defined $fd && defined $readers{$fd} && $readers{$fd} == $reader;
}

sub finish {
  for my $step (values %steps) { kill('KILL', -$step->{pid}) unless $step->{exited}; }
  exit 0;
}

sub requests {
  while ($input =~ /\A([RD]) (\d+) (\d+)\n/) {
    my ($type, $id, $length) = ($1, $2, $3);
    my $header = length($&);
    return if length($input) < $header + $length;
    my $payload = substr($input, $header, $length);
    substr($input, 0, $header + $length, '');
    if ($type eq 'R') {
      start($id, $payload);
    } else {
      close_output($id, 'out');
      close_output($id, 'err');
    }
  }
}

binmode STDIN;
binmode STDOUT;
while (1) {
  my $rin = '';
  vec($rin, 0, 1) = 1;
  vec($rin, $_, 1) = 1 for keys %readers;
  my $ready = select(my $rout = $rin, undef, undef, $pidfd_ok ? undef : 0.05);
  if ($ready < 0) {
    die "slipway spawner: select: $!\n" unless $!{EINTR};
    reap();
    next;
  }
  # The ready readers as they are now: requests below may close descriptors
  # and open new ones under the same numbers, which must not be read blindly.
  my @ready = map { $readers{$_} } grep { vec($rout, $_, 1) } keys %readers;
  if (vec($rout, 0, 1)) {
    my $n = sysread(STDIN, $input, 65536, length $input);
    if (defined $n) {
      finish() if $n == 0;
      requests();
    }
  }
  my $exits = !$pidfd_ok;
  # Starts first, so that a step's S comes before its output and its exit.
  for my $reader (grep { $_->[1] eq 'T' } @ready) { started($reader->[0], $reader->[2]) if live($reader); }
  for my $reader (@ready) {
    next unless live($reader);
    my ($id, $kind, $handle) = @$reader;
    next if $kind eq 'T';
    if ($kind eq 'P') { $exits = 1; next; }
    my $n = sysread($handle, my $bytes, 65536);
    next if !defined $n && $!{EINTR};
    if ($n) {
      put("$kind $id $n\n$bytes");
    } else {
      close_output($id, $kind eq 'O' ? 'out' : 'err');
    }
  }
  reap() if $exits;
}
`;
