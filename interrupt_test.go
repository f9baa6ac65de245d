package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/crypto/ssh"
)

// The Ctrl-C tests run the real binary on a pty, against hosts that hang
// in each way a host can: a listener that accepts and never speaks SSH, and
// an SSH server that asks a question (an unknown host key, a password) and
// then waits. Ctrl-C must end the command within 2 s, with exit 130.

// buildBinary builds scalestore once for the tests of this package.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "scalestore-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "scalestore")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// labHosts is how many hosts lab/lab.toml has: each gets its own port.
const labHosts = 9

// listen opens n loopback listeners and hands each connection to serve.
func listen(t *testing.T, n int, serve func(net.Conn)) []int {
	t.Helper()
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				t.Cleanup(func() { c.Close() })
				go serve(c)
			}
		}()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// silentListener accepts TCP connections and never answers; accepted
// counts them.
func silentListener(t *testing.T) (ports []int, accepted *atomic.Int32) {
	accepted = new(atomic.Int32)
	return listen(t, labHosts, func(net.Conn) { accepted.Add(1) }), accepted
}

// askingServer is an SSH server on loopback that completes the key
// exchange and offers only password authentication (no password works).
func askingServer(t *testing.T) (ports []int, hostKey ssh.PublicKey) {
	t.Helper()
	signer := newHostKey(t)
	cfg := &ssh.ServerConfig{PasswordCallback: func(ssh.ConnMetadata, []byte) (*ssh.Permissions, error) {
		return nil, errors.New("no")
	}}
	cfg.AddHostKey(signer)
	return listen(t, labHosts, func(c net.Conn) { ssh.NewServerConn(c, cfg) }), signer.PublicKey()
}

// newHostKey is a fresh ed25519 host key for a test's SSH server.
func newHostKey(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return signer
}

// ptySpec writes the lab's spec with every host's sshd at port on
// loopback, a fresh key and known_hosts (holding knownKey for every host
// when it is not nil), and the given host key policy.
func ptySpec(t *testing.T, ports []int, policy string, knownKey ssh.PublicKey) string {
	t.Helper()
	dir := t.TempDir()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(dir, "id_ed25519")
	os.WriteFile(keyPath, pem.EncodeToMemory(block), 0o600)
	var kh bytes.Buffer
	for _, port := range ports {
		if knownKey != nil {
			fmt.Fprintf(&kh, "[127.0.0.1]:%d %s", port, ssh.MarshalAuthorizedKey(knownKey))
		}
	}
	khPath := filepath.Join(dir, "known_hosts")
	os.WriteFile(khPath, kh.Bytes(), 0o600)
	data, err := os.ReadFile("lab/lab.toml")
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	s := regexp.MustCompile(`port = \d+`).ReplaceAllStringFunc(string(data), func(string) string {
		i++
		return fmt.Sprintf("port = %d", ports[i-1])
	})
	s = regexp.MustCompile(`identity_file = ".*"`).ReplaceAllString(s, fmt.Sprintf("identity_file = %q", keyPath))
	s = regexp.MustCompile(`known_hosts = ".*"`).ReplaceAllString(s, fmt.Sprintf("known_hosts = %q", khPath))
	s = regexp.MustCompile(`host_key_policy = ".*"`).ReplaceAllString(s, fmt.Sprintf("host_key_policy = %q", policy))
	spec := filepath.Join(dir, "spec.toml")
	if err := os.WriteFile(spec, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return spec
}

// ptyRun is the binary running on a pty; out collects what it printed.
type ptyRun struct {
	cmd  *exec.Cmd
	tty  *os.File
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{} // the process ended
	read chan struct{} // its terminal's output is all read
	err  error
}

func startPty(t *testing.T, args ...string) *ptyRun {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	r := &ptyRun{cmd: exec.Command(bin, args...), done: make(chan struct{}), read: make(chan struct{})}
	r.cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+t.TempDir(), "TERM=xterm-256color", "SSH_AUTH_SOCK=")
	r.tty, err = pty.StartWithSize(r.cmd, &pty.Winsize{Rows: 24, Cols: 80})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(r.read)
		buf := make([]byte, 4096)
		for {
			n, err := r.tty.Read(buf)
			r.mu.Lock()
			r.out.Write(buf[:n])
			r.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() { r.err = r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			r.cmd.Process.Kill()
			<-r.done
		}
		r.tty.Close()
	})
	return r
}

func (r *ptyRun) output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.out.String()
}

// waitFor waits (up to a minute: the first run builds nothing, but the
// machine may be busy) until cond holds.
func (r *ptyRun) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		select {
		case <-r.done:
			t.Fatalf("exited (%v) before %s; output:\n%s", r.err, what, r.output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within a minute; output:\n%s", what, r.output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// interrupt types Ctrl-C on the terminal and returns the exit code, failing
// unless the process ends within 2 s.
func (r *ptyRun) interrupt(t *testing.T) int {
	t.Helper()
	t0 := time.Now()
	if _, err := r.tty.Write([]byte{3}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.done:
	case <-time.After(2 * time.Second):
		// where it hangs: the Go runtime prints every goroutine on SIGQUIT
		r.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-r.done:
		case <-time.After(5 * time.Second):
		}
		t.Fatalf("still running 2 s after Ctrl-C; output:\n%s", r.output())
	}
	t.Logf("ended %s after Ctrl-C", time.Since(t0).Round(time.Millisecond))
	// what it printed last may still be in the terminal: read it all (the
	// read ends once the process has exited and the buffer is empty)
	select {
	case <-r.read:
	case <-time.After(5 * time.Second):
		t.Errorf("the terminal's output did not end after the process did")
	}
	var ee *exec.ExitError
	if errors.As(r.err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	return 0
}

func TestCtrlCWhileConnecting(t *testing.T) {
	ports, accepted := silentListener(t)
	spec := ptySpec(t, ports, "strict", nil)
	for _, args := range [][]string{
		{"check", "-f", spec},
		{"status", "-f", spec},
		{"apply", "--yes", "-f", spec},
		{"apply", "-f", spec},
	} {
		t.Run(strings.Join(args[:len(args)-2], " "), func(t *testing.T) {
			before := accepted.Load()
			r := startPty(t, args...)
			r.waitFor(t, "connection to the silent host", func() bool { return accepted.Load() > before })
			code := r.interrupt(t)
			out := r.output()
			if code != exitInterrupted || !strings.Contains(out, "interrupted") {
				t.Errorf("exit %d, want %d and \"interrupted\"; output:\n%s", code, exitInterrupted, out)
			}
			if strings.Contains(out, "preflight") {
				t.Errorf("an interrupt is not a preflight refusal; output:\n%s", out)
			}
		})
	}
}

func TestCtrlCAtAQuestion(t *testing.T) {
	ports, key := askingServer(t)
	cases := []struct {
		name   string
		policy string
		known  ssh.PublicKey // nil: the host key is unknown and asked about
		ask    string
	}{
		{"unknown host key", "accept-new", nil, "Trust it and add it to known_hosts?"},
		{"password", "strict", key, "password"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			spec := ptySpec(t, ports, c.policy, c.known)
			r := startPty(t, "apply", "-f", spec)
			r.waitFor(t, "the question", func() bool { return strings.Contains(r.output(), c.ask) })
			if code := r.interrupt(t); code != exitInterrupted {
				t.Errorf("exit %d, want %d; output:\n%s", code, exitInterrupted, r.output())
			}
		})
	}
}

func TestCtrlCWizardWhileConnecting(t *testing.T) {
	ports, accepted := silentListener(t)
	spec := ptySpec(t, ports, "strict", nil)
	r := startPty(t, "-f", spec)
	r.waitFor(t, "the welcome screen", func() bool { return strings.Contains(r.output(), "Status") })
	r.tty.Write([]byte("s"))
	r.waitFor(t, "connection to the silent host", func() bool { return accepted.Load() > 0 })
	r.interrupt(t)
}

// Under "accept-new", check and status on no terminal accept an unknown
// host key and say so with its fingerprint; on a terminal they ask.
func TestNewHostKeysAreShown(t *testing.T) {
	ports, key := askingServer(t)
	fp := ssh.FingerprintSHA256(key)
	for _, cmd := range []string{"check", "status"} {
		_, _, stderr := runBinary(t, cmd, "-f", ptySpec(t, ports, "accept-new", nil)) // a known_hosts of its own
		if n := strings.Count(stderr, "host key of "); n != 6 || !strings.Contains(stderr, "added the ssh-ed25519 host key of storage0a (") ||
			!strings.Contains(stderr, fp) {
			t.Errorf("%s: %d keys shown, want 6 with %s; stderr:\n%s", cmd, n, fp, stderr)
		}
	}
	r := startPty(t, "status", "-f", ptySpec(t, ports, "accept-new", nil))
	r.waitFor(t, "the question", func() bool { return strings.Contains(r.output(), "Trust it and add it to known_hosts?") })
	r.interrupt(t)
}
