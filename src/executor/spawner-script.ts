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
my $SETSID = $ARGV[0] || 0;    # setsid's syscall number, from Node; 0: use POSIX
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
  my ($out_r, $out_w, $err_r, $err_w, $st_r, $st_w);
  unless (pipe($out_r, $out_w) && pipe($err_r, $err_w) && pipe($st_r, $st_w)) {
    put("F $id pipe " . ($! + 0) . "\n");
    return;
  }
  my $pid = fork;
  if (!defined $pid) {
    put("F $id fork " . ($! + 0) . "\n");
    return;
  }
  if ($pid == 0) {
    if ($SETSID) { syscall($SETSID); } else { require POSIX; POSIX::setsid(); }
    # Reopening a standard handle keeps its descriptor number (0, 1, 2).
    open(STDIN, '<', '/dev/null');
    open(STDOUT, '>&', $out_w);
    open(STDERR, '>&', $err_w);
    unless (chdir $cwd) { syswrite($st_w, pack('aN', 'c', $! + 0)); exit 127; }
    %ENV = ();
    for my $entry (@f) {
      my $eq = index($entry, '=');
      $ENV{ substr($entry, 0, $eq) } = substr($entry, $eq + 1) if $eq > 0;
    }
    exec { $file } @argv;
    syswrite($st_w, pack('aN', 'e', $! + 0));
    exit 127;
  }
  close $out_w;
  close $err_w;
  close $st_w;
  # The status pipe is close-on-exec: end of file means the exec succeeded.
  my $status = '';
  while (1) {
    my $n = sysread($st_r, $status, 5, length $status);
    last if defined $n && ($n == 0 || length $status >= 5);
    last if !defined $n && !$!{EINTR};
  }
  close $st_r;
  if (length $status == 5) {
    my ($what, $errno) = unpack('aN', $status);
    waitpid($pid, 0);
    close $out_r;
    close $err_r;
    put("F $id " . ($what eq 'c' ? 'chdir' : 'exec') . " $errno\n");
    return;
  }
  my $step = { pid => $pid, out => $out_r, err => $err_r, open => 2, exited => 0 };
  $steps{$id} = $step;
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
  put("S $id $pid\n");
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
    next if $step->{exited};
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
  if (vec($rout, 0, 1)) {
    my $n = sysread(STDIN, $input, 65536, length $input);
    if (defined $n) {
      finish() if $n == 0;
      requests();
    }
  }
  my $exits = !$pidfd_ok;
  for my $fd (keys %readers) {
    next unless vec($rout, $fd, 1);
    my $reader = $readers{$fd} or next;
    my ($id, $kind, $handle) = @$reader;
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
