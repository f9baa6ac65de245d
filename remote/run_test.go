package remote

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// modes runs a test against the shell multiplexer and against one session
// per command: both must behave the same.
var modes = []struct {
	name string
	opts Options
}{
	{"shell", Options{}},                          // bash with job control
	{"shell-sh", Options{plainSh: true}},          // sh and setsid
	{"session", Options{SessionPerCommand: true}}, // a session per command
}

func TestRunOutputAndExitStatus(t *testing.T) {
	t.Parallel()
	s := startSSHD(t, sshdOptions{})
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			h := dial(t, s.target(t, "db1"), m.opts)
			ctx := ctxT(t)

			res, err := h.Run(ctx, Argv("echo", "hello", "world"), RunOptions{})
			if err != nil || string(res.Stdout) != "hello world\n" || res.Code != 0 {
				t.Fatalf("echo: %+v %v", res, err)
			}

			// Separate streams, exact bytes, output without a trailing newline.
			var mu sync.Mutex
			var lines []Line
			res, err = h.Run(ctx, Script("echo out1; echo err1 >&2; printf out2; printf err2 >&2"), RunOptions{
				OnLine: func(l Line) { mu.Lock(); lines = append(lines, l); mu.Unlock() },
			})
			if err != nil {
				t.Fatal(err)
			}
			if string(res.Stdout) != "out1\nout2" || string(res.Stderr) != "err1\nerr2" {
				t.Fatalf("stdout %q stderr %q", res.Stdout, res.Stderr)
			}
			got := map[Stream][]string{}
			for _, l := range lines {
				if l.Host != "db1" {
					t.Errorf("line tagged %q", l.Host)
				}
				got[l.Stream] = append(got[l.Stream], l.Text)
			}
			if strings.Join(got[Stdout], ",") != "out1,out2" || strings.Join(got[Stderr], ",") != "err1,err2" {
				t.Fatalf("lines %+v", lines)
			}

			// Non-zero exit: *ExitError with host, command, code and stderr tail.
			res, err = h.Run(ctx, Script("echo partial; for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo line$i >&2; done; exit 3"), RunOptions{})
			var ee *ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("want *ExitError, got %v", err)
			}
			if ee.Host != "db1" || ee.Code != 3 || res.Code != 3 || !strings.Contains(ee.Cmd, "exit 3") {
				t.Fatalf("exit error %+v, result %+v", ee, res)
			}
			if !strings.HasSuffix(ee.StderrTail, "line11\nline12") || strings.Contains(ee.StderrTail, "line2\n") {
				t.Fatalf("stderr tail %q", ee.StderrTail)
			}
			if string(res.Stdout) != "partial\n" || !strings.Contains(err.Error(), "exit status 3") {
				t.Fatalf("result %q, error %q", res.Stdout, err)
			}

			// Killed by a signal: 128+n as a shell reports it.
			_, err = h.Run(ctx, Script("kill -s TERM $$"), RunOptions{})
			if !errors.As(err, &ee) || ee.Code != 143 {
				t.Fatalf("killed by TERM: %v", err)
			}

			// A command that reads stdin gets /dev/null unless given some.
			start := time.Now()
			res, err = h.Run(ctx, Argv("cat"), RunOptions{})
			if err != nil || len(res.Stdout) != 0 || time.Since(start) > 5*time.Second {
				t.Fatalf("cat without stdin: %q %v", res.Stdout, err)
			}
			res, err = h.Run(ctx, Script("cat; echo; wc -c"), RunOptions{Stdin: strings.NewReader("piped in")})
			if err != nil || string(res.Stdout) != "piped in\n0\n" {
				t.Fatalf("cat with stdin: %q %v", res.Stdout, err)
			}

			// Binary stdin and stdout, bigger than the inline limit.
			for _, n := range []int{0, 1, 100_000, inlineStdinMax, inlineStdinMax + 12345} {
				data := make([]byte, n)
				rand.Read(data)
				sum := sha256.Sum256(data)
				res, err = h.Run(ctx, Script("sha256sum | cut -c1-64"), RunOptions{Stdin: bytes.NewReader(data)})
				if err != nil || strings.TrimSpace(string(res.Stdout)) != hex.EncodeToString(sum[:]) {
					t.Fatalf("stdin of %d bytes: %q %v", n, res.Stdout, err)
				}
				res, err = h.Run(ctx, Script("cat"), RunOptions{Stdin: bytes.NewReader(data)})
				if err != nil || !bytes.Equal(res.Stdout, data) {
					t.Fatalf("echo back %d bytes: got %d bytes, %v", n, len(res.Stdout), err)
				}
			}

			// The command sees no positional parameters nor our variables.
			res, err = h.Run(ctx, Script(`printf '[%%s]' "$#" "$0" "$c" "$g" "$P" "$R"`), RunOptions{})
			if err != nil || string(res.Stdout) != "[0][sh][][][][]" {
				t.Fatalf("command environment: %q %v", res.Stdout, err)
			}

			// A shell syntax error is the command's failure, not the shell's.
			_, err = h.Run(ctx, Cmd{Script: "if then fi ("}, RunOptions{})
			if !errors.As(err, &ee) || ee.Code != 2 {
				t.Fatalf("syntax error: %v", err)
			}
			if res, err := h.Run(ctx, Argv("true"), RunOptions{}); err != nil || res.Code != 0 {
				t.Fatalf("after a syntax error: %v", err)
			}
		})
	}
}

func TestRunStreamsLinesAsTheyArrive(t *testing.T) {
	t.Parallel()
	s := startSSHD(t, sshdOptions{})
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			h := dial(t, s.target(t, "db1"), m.opts)
			if _, err := h.Run(ctxT(t), Argv("true"), RunOptions{}); err != nil { // shell started
				t.Fatal(err)
			}
			type stamped struct {
				Line
				at time.Time
			}
			var mu sync.Mutex
			var got []stamped
			_, err := h.Run(ctxT(t), Script("echo a; echo e >&2; sleep 2; echo b"), RunOptions{OnLine: func(l Line) {
				mu.Lock()
				got = append(got, stamped{l, time.Now()})
				mu.Unlock()
			}})
			end := time.Now()
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 3 {
				t.Fatalf("lines %+v", got)
			}
			at := map[string]stamped{}
			for _, l := range got {
				at[l.Text] = l
			}
			if at["a"].Stream != Stdout || at["e"].Stream != Stderr || at["b"].Stream != Stdout {
				t.Fatalf("streams %+v", got)
			}
			// a and e came while the command slept, long before b and the end.
			for _, first := range []string{"a", "e"} {
				if gap := at["b"].at.Sub(at[first].at); gap < time.Second {
					t.Errorf("%s came only %v before b: not streamed", first, gap)
				}
				if gap := end.Sub(at[first].at); gap < time.Second {
					t.Errorf("%s came only %v before the command ended", first, gap)
				}
			}
		})
	}
}

func TestRunCancelKillsRemoteProcess(t *testing.T) {
	t.Parallel()
	s := startSSHD(t, sshdOptions{})
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			h := dial(t, s.target(t, "db1"), m.opts)
			// A unique duration finds our processes with pgrep, here, since
			// the server is on this machine; the child process checks that
			// the whole group goes, not only the shell.
			marker := fmt.Sprintf("%d.%03d", 300+time.Now().Nanosecond()%1000, time.Now().Nanosecond()%997)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			var started time.Time
			go func() {
				_, err := h.Run(ctx, Script("sleep %s & sleep %s; echo never", marker, marker), RunOptions{})
				done <- err
			}()
			waitFor(t, 10*time.Second, func() bool { return len(pgrep("^sleep "+marker+"$")) == 2 })
			started = time.Now()
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("want context.Canceled, got %v", err)
				}
				d := time.Since(started)
				if d > 2*time.Second {
					t.Errorf("cancellation took %v", d)
				}
				t.Logf("Run returned %v after cancel", d)
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return after cancellation")
			}
			waitFor(t, 10*time.Second, func() bool { return len(pgrep("sleep "+marker)) == 0 })
			if d := time.Since(started); d > 5*time.Second {
				t.Errorf("the remote processes took %v to go", d)
			} else {
				t.Logf("remote processes gone %v after cancel", d)
			}

			// The host goes on working, and a command that ignores TERM is
			// killed all the same.
			if res, err := h.Run(ctxT(t), Argv("echo", "still here"), RunOptions{}); err != nil || string(res.Stdout) != "still here\n" {
				t.Fatalf("after cancel: %q %v", res.Stdout, err)
			}
			ctx, cancel = context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			stubborn := marker + "1"
			_, err := h.Run(ctx, Script("trap '' TERM; sleep %s", stubborn), RunOptions{})
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("want deadline exceeded, got %v", err)
			}
			waitFor(t, 20*time.Second, func() bool { return len(pgrep("sleep "+stubborn)) == 0 })
		})
	}
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %v", timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRunConcurrentCommandsOnOneHost(t *testing.T) {
	t.Parallel()
	s := startSSHD(t, sshdOptions{})
	h := dial(t, s.target(t, "db1"), Options{})
	ctx := ctxT(t)
	var wg sync.WaitGroup
	start := time.Now()
	errs := make(chan error, 12)
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := h.Run(ctx, Script("sleep 1; echo %d", i), RunOptions{})
			if err == nil && strings.TrimSpace(string(res.Stdout)) != fmt.Sprint(i) {
				err = fmt.Errorf("command %d got %q", i, res.Stdout)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// 12 commands on 4 shells: three rounds (3s), not twelve.
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("12 concurrent 1s commands took %v", d)
	}
}

func TestRunRedialsAfterDroppedConnection(t *testing.T) {
	t.Parallel()
	s := startSSHD(t, sshdOptions{})
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			h := dial(t, s.target(t, "db1"), m.opts)
			ctx := ctxT(t)
			if _, err := h.Run(ctx, Argv("true"), RunOptions{}); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				_, err := h.Run(ctx, Argv("sleep", "30"), RunOptions{})
				done <- err
			}()
			time.Sleep(300 * time.Millisecond)
			s.kill()
			select {
			case err := <-done:
				if !errors.Is(err, ErrConnectionLost) {
					t.Fatalf("want ErrConnectionLost, got %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not notice the server died")
			}
			// While the server is down the next command cannot connect...
			if _, err := h.Run(ctx, Argv("true"), RunOptions{}); err == nil || !strings.Contains(err.Error(), "connect to db1") {
				t.Fatalf("with sshd down: %v", err)
			}
			// ...and once it is back, the next command re-dials.
			s.restart()
			if res, err := h.Run(ctx, Argv("echo", "back"), RunOptions{}); err != nil || string(res.Stdout) != "back\n" {
				t.Fatalf("after restart: %q %v", res.Stdout, err)
			}
		})
	}
}

func TestRunShellDeathFallsBackToSessions(t *testing.T) {
	t.Parallel()
	s := startSSHD(t, sshdOptions{})
	var logs syncBuffer
	h := dial(t, s.target(t, "db1"), Options{Logger: debugLogger(&logs)})
	ctx := ctxT(t)
	// The command's parent is the shell: killing it kills the shell.
	if _, err := h.Run(ctx, Script("kill -KILL $PPID; sleep 1"), RunOptions{}); err == nil {
		t.Fatal("killing the shell under a command must fail that command")
	}
	for i := range 3 {
		res, err := h.Run(ctx, Script("echo %d; exit %d", i, i), RunOptions{})
		if res.Code != i || string(res.Stdout) != fmt.Sprintf("%d\n", i) || (i == 0) != (err == nil) {
			t.Fatalf("after the shell died: %+v %v", res, err)
		}
	}
	if !strings.Contains(logs.String(), "job-control=true") {
		t.Fatalf("bash job control not used:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "one session per command") {
		t.Fatalf("fallback not logged:\n%s", logs.String())
	}
}

func TestReadAndWriteFile(t *testing.T) {
	t.Parallel()
	s := startSSHD(t, sshdOptions{})
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			h := dial(t, s.target(t, "db1"), m.opts)
			ctx := ctxT(t)
			dir := t.TempDir() // the server is this machine
			p := dir + "/conf d/it's.conf"
			if err := exec.Command("mkdir", "-p", dir+"/conf d").Run(); err != nil {
				t.Fatal(err)
			}
			stat := func(p string) string {
				out, err := exec.Command("stat", "-c", "%a %U:%G %i %Y", p).Output()
				if err != nil {
					return "missing"
				}
				return strings.TrimSpace(string(out))
			}

			_, err := h.ReadFile(ctx, p)
			if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "db1") {
				t.Fatalf("missing file: %v", err)
			}

			changed, err := h.WriteFile(ctx, p, []byte("v1\n"), 0o640, "nobody:nogroup")
			if err != nil || !changed {
				t.Fatalf("create: %v %v", changed, err)
			}
			if st := stat(p); !strings.HasPrefix(st, "640 nobody:nogroup ") {
				t.Fatalf("mode/owner: %s", st)
			}
			if b, err := h.ReadFile(ctx, p); err != nil || string(b) != "v1\n" {
				t.Fatalf("read: %q %v", b, err)
			}
			if stat(p+".scalestore.bak") != "missing" {
				t.Fatal("backup of a file that did not exist")
			}

			// Same content, mode and owner: nothing happens at all.
			before := stat(p)
			time.Sleep(1100 * time.Millisecond) // mtime has a 1s resolution in stat %Y
			changed, err = h.WriteFile(ctx, p, []byte("v1\n"), 0o640, "nobody:nogroup")
			if err != nil || changed || stat(p) != before {
				t.Fatalf("identical write: changed=%v err=%v stat %s → %s", changed, err, before, stat(p))
			}

			// Same content, another mode: changed, but no backup.
			changed, err = h.WriteFile(ctx, p, []byte("v1\n"), 0o600, "nobody:nogroup")
			if err != nil || !changed || !strings.HasPrefix(stat(p), "600 ") || stat(p+".scalestore.bak") != "missing" {
				t.Fatalf("mode change: %v %v %s", changed, err, stat(p))
			}

			// New content: replaced atomically (new inode), old one kept.
			oldInode := strings.Fields(stat(p))[2]
			data := make([]byte, 70000)
			rand.Read(data)
			changed, err = h.WriteFile(ctx, p, data, 0o644, "")
			if err != nil || !changed {
				t.Fatalf("replace: %v %v", changed, err)
			}
			if b, _ := h.ReadFile(ctx, p); !bytes.Equal(b, data) {
				t.Fatal("binary content changed in transit")
			}
			st := strings.Fields(stat(p))
			if st[0] != "644" || st[1] != "root:root" || st[2] == oldInode {
				t.Fatalf("replaced file: %v (old inode %s)", st, oldInode)
			}
			if b, err := h.ReadFile(ctx, p+".scalestore.bak"); err != nil || string(b) != "v1\n" {
				t.Fatalf("backup: %q %v", b, err)
			}
			out, _ := exec.Command("ls", "-A", dir+"/conf d").Output()
			if strings.Contains(string(out), ".scalestore.") && strings.Count(string(out), "\n") != 2 {
				t.Fatalf("temporary files left: %s", out)
			}

			// A missing directory is made (as /etc/dlm is, on a fresh client).
			if changed, err := h.WriteFile(ctx, dir+"/nodir/x", []byte("x"), 0o644, ""); err != nil || !changed {
				t.Fatalf("write into a missing directory: %v %v", changed, err)
			}
			if b, err := os.ReadFile(dir + "/nodir/x"); err != nil || string(b) != "x" {
				t.Fatalf("file in the new directory: %q %v", b, err)
			}
			// Failure: a parent that is a file, reported with the path.
			_, err = h.WriteFile(ctx, dir+"/nodir/x/y", []byte("x"), 0o644, "")
			if err == nil || !strings.Contains(err.Error(), "nodir") {
				t.Fatalf("write under a file: %v", err)
			}
		})
	}
}

// A server that stops answering (its processes frozen: the TCP connection
// stays up) is found out by keepalives: the command under way fails, and
// the next one re-dials once the server answers again.
func TestKeepAliveDetectsDeadServer(t *testing.T) {
	t.Parallel()
	s := startSSHD(t, sshdOptions{})
	h := dial(t, s.target(t, "db1"), Options{KeepAlive: 100 * time.Millisecond})
	ctx := ctxT(t)
	if _, err := h.Run(ctx, Argv("true"), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := h.Run(ctx, Argv("sleep", "30"), RunOptions{})
		done <- err
	}()
	time.Sleep(300 * time.Millisecond)
	thaw := s.freeze(t)
	start := time.Now()
	select {
	case err := <-done:
		if !errors.Is(err, ErrConnectionLost) {
			t.Fatalf("want ErrConnectionLost, got %v", err)
		}
		t.Logf("dead server noticed after %v", time.Since(start))
	case <-time.After(10 * time.Second):
		t.Fatal("a frozen server was not noticed")
	}
	thaw()
	if res, err := h.Run(ctx, Argv("echo", "again"), RunOptions{}); err != nil || string(res.Stdout) != "again\n" {
		t.Fatalf("after the server came back: %q %v", res.Stdout, err)
	}
}

// What a login's start-up files print (bash runs ~/.bashrc for sshd's
// commands) is not the command's output, in any mode.
func TestLoginNoiseIsNotOutput(t *testing.T) {
	t.Parallel()
	s := startSSHD(t, sshdOptions{})
	user := addUser(t, "pw", "NOPASSWD")
	if out, err := exec.Command("usermod", "-s", "/bin/bash", user).CombinedOutput(); err != nil {
		t.Fatalf("usermod: %v %s", err, out)
	}
	rc := "/home/" + user + "/.bashrc"
	if err := os.WriteFile(rc, []byte("echo NOISE-OUT; echo NOISE-ERR >&2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, m := range modes {
		for _, sudo := range []bool{false, true} {
			tg := s.target(t, "db1")
			tg.User, tg.Sudo = user, sudo
			var lines []string
			var mu sync.Mutex
			h := dial(t, tg, m.opts)
			res, err := h.Run(ctxT(t), Script("echo out; echo err >&2"), RunOptions{OnLine: func(l Line) {
				mu.Lock()
				lines = append(lines, l.Text)
				mu.Unlock()
			}})
			if err != nil || string(res.Stdout) != "out\n" || string(res.Stderr) != "err\n" || len(lines) != 2 {
				t.Fatalf("%s sudo=%v: stdout %q stderr %q lines %q %v", m.name, sudo, res.Stdout, res.Stderr, lines, err)
			}
		}
	}
}
