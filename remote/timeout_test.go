package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// silentServer accepts TCP connections and never says a word, like a host
// whose sshd is wedged or a port that is not SSH. accepted receives each
// connection as it is accepted, heard each one once the client's first
// bytes (its SSH banner: the handshake began) arrived.
func silentServer(t *testing.T) (addr string, accepted, heard <-chan net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	acc, hrd := make(chan net.Conn, 16), make(chan net.Conn, 16)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			select {
			case acc <- c:
			default:
			}
			go func() {
				if _, err := c.Read(make([]byte, 1)); err == nil {
					select {
					case hrd <- c:
					default:
					}
				}
				io.Copy(io.Discard, c)
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String(), acc, hrd
}

// silentTarget is a Target for the silent server at addr that reads nothing
// from the environment.
func silentTarget(t *testing.T, name, addr string) Target {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return Target{Name: name, Address: host, Port: n, IdentityFiles: []string{"none"}, IdentityAgent: "none",
		KnownHostsFile: filepath.Join(t.TempDir(), "known_hosts"), Policy: PolicyStrict, SSHConfigFile: "none"}
}

// A host that accepts TCP and never speaks SSH fails the dial after the
// connect timeout (Options, else the ssh config's ConnectTimeout), with an
// error naming the host, its address and what did not come in time.
func TestDialNoBannerTimesOut(t *testing.T) {
	t.Parallel()
	addr, _, _ := silentServer(t)
	cfg := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(cfg, []byte("Host *\n  ConnectTimeout 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		opts   Options
		config string
		limit  time.Duration
	}{
		{"options", Options{ConnectTimeout: time.Second}, "none", time.Second},
		{"ssh-config", Options{}, cfg, 2 * time.Second},
		{"default", Options{}, "none", defaultConnectTimeout},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tg := silentTarget(t, "storage0a", addr)
			tg.SSHConfigFile = c.config
			ctx, cancel := context.WithTimeout(context.Background(), c.limit+30*time.Second)
			defer cancel()
			start := time.Now()
			_, err := DialWith(ctx, tg, c.opts)
			took := time.Since(start)
			if err == nil {
				t.Fatal("dial to a silent server succeeded")
			}
			if want := "connect to storage0a: " + addr + " sent no SSH banner within " + c.limit.String(); err.Error() != want {
				t.Fatalf("error %q, want %q", err, want)
			}
			if !errors.Is(err, ErrTimeout) || ctx.Err() != nil {
				t.Fatalf("want ErrTimeout before the test's deadline, got %v", err)
			}
			if took > c.limit+5*time.Second {
				t.Errorf("a %v timeout took %v", c.limit, took)
			}
		})
	}
}

// Cancelling the context while the server has not answered ends the dial
// at once.
func TestDialCancelledDuringHandshake(t *testing.T) {
	t.Parallel()
	addr, accepted, _ := silentServer(t)
	tg := silentTarget(t, "storage0a", addr)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cancelled time.Time
	go func() {
		<-accepted
		cancelled = time.Now()
		cancel()
	}()
	_, err := DialWith(ctx, tg, Options{ConnectTimeout: time.Minute})
	took := time.Since(cancelled)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "storage0a") {
		t.Fatalf("want a cancellation naming storage0a, got %v", err)
	}
	if took > 2*time.Second {
		t.Errorf("the dial returned %v after cancellation", took)
	}
}

// slowPrompter confirms host keys after a delay, as a person reading the
// fingerprint does.
type slowPrompter struct {
	fakePrompter
	delay time.Duration
}

func (p *slowPrompter) ConfirmHostKey(ctx context.Context, host, address, keyType, fingerprint string) (bool, error) {
	select {
	case <-time.After(p.delay):
	case <-ctx.Done():
		return false, ctx.Err()
	}
	return p.fakePrompter.ConfirmHostKey(ctx, host, address, keyType, fingerprint)
}

// The handshake timeout does not run while the person is asked: a host key
// confirmed after several times the timeout still connects.
func TestHandshakeTimeoutPausesWhileAsking(t *testing.T) {
	t.Parallel()
	s := startSSHD(t, sshdOptions{})
	tg := s.target(t, "db1")
	tg.KnownHostsFile = filepath.Join(t.TempDir(), "known_hosts")
	tg.Policy = PolicyAcceptNew
	p := &slowPrompter{fakePrompter: fakePrompter{confirm: true}, delay: 6 * time.Second}
	whoami(t, dial(t, tg, Options{Prompter: p, ConnectTimeout: 2 * time.Second}), "root")
	if len(p.confirmed()) != 1 {
		t.Fatalf("confirmations %q", p.confirmed())
	}
}

// freeze stops sshd and every process under it with SIGSTOP: the TCP
// connections stay up and nothing answers. thaw (also run when the test
// ends) resumes them.
func (s *testSSHD) freeze(t *testing.T) (thaw func()) {
	// A process forked while the tree was read escapes a single pass, and
	// SIGSTOP takes effect a moment after it is sent: stop and read again
	// until no new process appears and every one is really stopped.
	var frozen []int
	seen := map[int]bool{}
	deadline := time.Now().Add(20 * time.Second)
	for {
		more := false
		for _, pid := range append(descendants(s.cmd.Process.Pid), s.cmd.Process.Pid) {
			if !seen[pid] {
				seen[pid], more = true, true
				frozen = append(frozen, pid)
				syscall.Kill(pid, syscall.SIGSTOP)
			}
		}
		if !more && allStopped(frozen) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd's processes %v did not all stop", frozen)
		}
		time.Sleep(5 * time.Millisecond)
	}
	thaw = func() {
		for _, pid := range frozen {
			syscall.Kill(pid, syscall.SIGCONT)
		}
	}
	t.Cleanup(thaw)
	return thaw
}

// allStopped: every process is in the stopped state (or gone, or a zombie).
func allStopped(pids []int) bool {
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue // gone
		}
		// "PID (COMM) STATE …": COMM may hold spaces and parentheses
		i := bytes.LastIndexByte(b, ')')
		if i < 0 || i+2 >= len(b) || !bytes.ContainsRune([]byte("TtZX"), rune(b[i+2])) {
			return false // running or sleeping still (a zombie cannot stop, nor act)
		}
	}
	return true
}

// A command on a server that froze after the connection was made returns
// soon after its context ends or its Timeout passes, whether it needs a new
// session ("fresh": no shell yet, or a session per command) or finds a
// shell ready ("warm").
func TestRunReturnsWhenServerFrozen(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		for _, warm := range []bool{false, true} {
			for _, bound := range []string{"ctx", "timeout"} {
				name := m.name + "/fresh/" + bound
				if warm {
					name = m.name + "/warm/" + bound
				}
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					s := startSSHD(t, sshdOptions{})
					h := dial(t, s.target(t, "db1"), m.opts)
					if warm {
						if _, err := h.Run(ctxT(t), Argv("true"), RunOptions{}); err != nil {
							t.Fatal(err)
						}
					}
					s.freeze(t)
					const limit = 2 * time.Second
					ctx, run, want := ctxT(t), RunOptions{Timeout: limit}, "timed out after 2s"
					if bound == "ctx" {
						var cancel context.CancelFunc
						ctx, cancel = context.WithTimeout(context.Background(), limit)
						defer cancel()
						run, want = RunOptions{}, context.DeadlineExceeded.Error()
					}
					start := time.Now()
					done := make(chan error, 1)
					go func() {
						_, err := h.Run(ctx, Argv("true"), run)
						done <- err
					}()
					select {
					case err := <-done:
						took := time.Since(start)
						if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "on db1") ||
							!strings.HasSuffix(err.Error(), want) {
							t.Fatalf("want an error naming db1 ending in %q, got %v", want, err)
						}
						if took > limit+1500*time.Millisecond {
							t.Errorf("Run returned %v after it began, with a bound of %v", took, limit)
						}
						t.Logf("returned after %v: %v", took, err)
					case <-time.After(20 * time.Second):
						t.Fatal("Run on a frozen server did not return 18s after its bound passed")
					}
				})
			}
		}
	}
}

// A command that hangs is killed once RunOptions.Timeout (or, when that is
// zero, Options.CommandTimeout) has passed, and its error says so, with the
// host and the command.
func TestRunTimeoutKillsHungCommand(t *testing.T) {
	t.Parallel()
	s := startSSHD(t, sshdOptions{})
	for i, m := range modes {
		for _, via := range []string{"run-options", "options"} {
			t.Run(m.name+"/"+via, func(t *testing.T) {
				t.Parallel()
				var logs syncBuffer
				opts, run := m.opts, RunOptions{Timeout: time.Second}
				opts.Logger = debugLogger(&logs)
				if via == "options" {
					opts.CommandTimeout, run.Timeout = time.Second, 0
				}
				h := dial(t, s.target(t, "db1"), opts)
				// A unique duration finds the command with pgrep (the
				// server is on this machine).
				marker := fmt.Sprintf("%d.%09d", 1000+i, time.Now().Nanosecond())
				start := time.Now()
				_, err := h.Run(ctxT(t), Argv("sleep", marker), run)
				took := time.Since(start)
				if want := "run sleep " + marker + " on db1: timed out after 1s"; err == nil || err.Error() != want {
					t.Fatalf("got error %v, want %q", err, want)
				}
				if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("%v wraps neither ErrTimeout nor context.DeadlineExceeded", err)
				}
				if took > 4*time.Second {
					t.Errorf("a 1s timeout returned after %v", took)
				}
				waitFor(t, 10*time.Second, func() bool { return len(pgrep("sleep "+marker)) == 0 })
				// The debug log tells what was killed on which host, and why.
				if want := `msg="killing a cancelled command" host=db1 cmd="sleep ` + marker + `" pgid=`; !strings.Contains(logs.String(), want) ||
					!strings.Contains(logs.String(), `cause="timed out after 1s"`) {
					t.Errorf("the debug log does not say %q with the cause:\n%s", want, logs.String())
				}
				// The host goes on working.
				if res, err := h.Run(ctxT(t), Argv("echo", "next"), run); err != nil || string(res.Stdout) != "next\n" {
					t.Fatalf("after a timeout: %q %v", res.Stdout, err)
				}
			})
		}
	}
}

// droppingServer listens on a port whose accept queue is full, so the
// kernel drops further SYNs, as a firewall that drops packets does.
func droppingServer(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
	for range 16 { // nothing accepts: connect until one gets no answer
		c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
		if err != nil {
			return addr
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Fatal("the accept queue never filled")
	return ""
}

// A host that drops the TCP connection's SYN fails the dial after the
// connect timeout, not after the kernel's two minutes of retries.
func TestDialDroppedSYNTimesOut(t *testing.T) {
	t.Parallel()
	addr := droppingServer(t)
	tg := silentTarget(t, "storage0a", addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	_, err := DialWith(ctx, tg, Options{ConnectTimeout: time.Second})
	took := time.Since(start)
	if want := "connect to storage0a: no TCP connection to " + addr + " within 1s"; err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("%v does not wrap ErrTimeout", err)
	}
	if took > 10*time.Second {
		t.Errorf("the dial took %v", took)
	}
}

// Reading and writing files on a server that froze returns soon after the
// context ends, a write too large to inline (a session of its own) too.
func TestFilesReturnWhenServerFrozen(t *testing.T) {
	t.Parallel()
	s := startSSHD(t, sshdOptions{})
	h := dial(t, s.target(t, "db1"), Options{})
	if _, err := h.Run(ctxT(t), Argv("true"), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	s.freeze(t)
	const limit = 2 * time.Second
	for _, c := range []struct {
		name string
		op   func(ctx context.Context) error
	}{
		{"read", func(ctx context.Context) error {
			_, err := h.ReadFile(ctx, "/etc/hostname")
			return err
		}},
		{"write", func(ctx context.Context) error {
			_, err := h.WriteFile(ctx, "/tmp/scalestore-frozen-write", make([]byte, 2<<20), 0o600, "")
			return err
		}},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), limit)
		defer cancel()
		start := time.Now()
		done := make(chan error, 1)
		go func() { done <- c.op(ctx) }()
		select {
		case err := <-done:
			took := time.Since(start)
			if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "on db1") {
				t.Fatalf("%s: want a deadline error naming db1, got %v", c.name, err)
			}
			if took > limit+1500*time.Millisecond {
				t.Errorf("%s returned %v after it began, with a %v context", c.name, took, limit)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s on a frozen server did not return 18s after its context ended", c.name)
		}
	}
}

// Through a jump host that freezes once it has opened the channel to the
// target, the dial still ends at the handshake timeout, and at once when
// its context ends.
func TestDialThroughFrozenJumpHost(t *testing.T) {
	t.Parallel()
	for _, by := range []string{"timeout", "ctx"} {
		t.Run(by, func(t *testing.T) {
			t.Parallel()
			jump := startSSHD(t, sshdOptions{})
			addr, _, heard := silentServer(t)
			tg := silentTarget(t, "storage0a", addr)
			jt := jump.target(t, "bastion")
			jt.Sudo = false
			tg.Jump = &jt
			opts := Options{ConnectTimeout: 2 * time.Second}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if by == "ctx" {
				opts.ConnectTimeout = time.Minute
			}
			froze := make(chan time.Time, 1)
			go func() {
				<-heard // the handshake through the jump host is under way
				jump.freeze(t)
				froze <- time.Now()
				if by == "ctx" {
					cancel()
				}
			}()
			done := make(chan error, 1)
			go func() {
				_, err := DialWith(ctx, tg, opts)
				done <- err
			}()
			select {
			case err := <-done:
				took := time.Since(<-froze)
				want := "connect to storage0a: " + addr + " sent no SSH banner within 2s"
				if by == "ctx" {
					if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "storage0a") {
						t.Fatalf("want a cancellation naming storage0a, got %v", err)
					}
				} else if err == nil || err.Error() != want {
					t.Fatalf("got %v, want %q", err, want)
				}
				if took > 4*time.Second {
					t.Errorf("the dial returned %v after the jump host froze", took)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("the dial through a frozen jump host did not return")
			}
		})
	}
}
