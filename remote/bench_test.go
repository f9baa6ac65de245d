package remote

// Benchmarks against real local sshd servers:
//
//	go test -run XXX -bench . -benchmem ./remote/
//
// They log in as a throwaway user whose login shell is /bin/sh, so that the
// figures show sshd's own cost per session rather than the dotfiles of the
// machine's root (a bash .bashrc that runs pyenv costs ~150 ms a session).

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/crypto/ssh"
)

// benchTarget is a Target for the fixture's user, without sudo.
func benchTarget(b *testing.B, s *testSSHD, name string) Target {
	tg := s.target(b, name)
	tg.Sudo = false
	return tg
}

// BenchmarkRunTrue measures one short command ("true") on a connected host:
// through our Host (long-lived shell, and one session per command), a bare
// x/crypto session per command, and the OpenSSH client (a connection per
// command, and one multiplexed over a ControlMaster). Each against an sshd
// with Debian's PAM session stack (UsePAM yes, as servers run it) and one
// without (UsePAM no: sshd's bare per-session cost), as a user whose login
// shell is /bin/sh; and as root, whose login shell is bash running the
// machine's ~/.bashrc at every session, as real logins do.
func BenchmarkRunTrue(b *testing.B) {
	for _, c := range []struct {
		name string
		pam  bool
		root bool
	}{{"pam", true, false}, {"nopam", false, false}, {"root-bashrc", true, true}} {
		b.Run(c.name, func(b *testing.B) {
			s := startSSHD(b, sshdOptions{pam: c.pam})
			tg := benchTarget(b, s, "bench")
			if c.root {
				tg.User = "root"
			}
			benchRunTrue(b, s, tg)
		})
	}
}

func benchRunTrue(b *testing.B, s *testSSHD, tg Target) {
	user := tg.User
	ctx := context.Background()

	b.Run("host-shell", func(b *testing.B) {
		h := dial(b, tg, Options{})
		b.ReportAllocs()
		for b.Loop() {
			if _, err := h.Run(ctx, Argv("true"), RunOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("host-session", func(b *testing.B) {
		h := dial(b, tg, Options{SessionPerCommand: true})
		b.ReportAllocs()
		for b.Loop() {
			if _, err := h.Run(ctx, Argv("true"), RunOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("xcrypto-session", func(b *testing.B) {
		client := rawClient(b, s, user)
		b.ReportAllocs()
		for b.Loop() {
			sess, err := client.NewSession()
			if err != nil {
				b.Fatal(err)
			}
			if err := sess.Run("true"); err != nil {
				b.Fatal(err)
			}
			sess.Close()
		}
	})
	sshArgs := []string{"-F", "none", "-i", s.f.userKey, "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
		"-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + tg.KnownHostsFile,
		"-p", strconv.Itoa(s.port), "-l", user}
	b.Run("openssh-client", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if out, err := exec.Command("ssh", append(sshArgs, "127.0.0.1", "true")...).CombinedOutput(); err != nil {
				b.Fatalf("%v: %s", err, out)
			}
		}
	})
	b.Run("openssh-controlmaster", func(b *testing.B) {
		dir, err := os.MkdirTemp("", "cm")
		if err != nil {
			b.Fatal(err)
		}
		defer os.RemoveAll(dir)
		cm := append(sshArgs, "-o", "ControlPath="+filepath.Join(dir, "s"), "-o", "ControlMaster=auto", "-o", "ControlPersist=60")
		if out, err := exec.Command("ssh", append(cm, "127.0.0.1", "true")...).CombinedOutput(); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
		defer exec.Command("ssh", append(cm, "-O", "exit", "127.0.0.1")...).Run()
		b.ReportAllocs()
		for b.Loop() {
			if out, err := exec.Command("ssh", append(cm, "127.0.0.1", "true")...).CombinedOutput(); err != nil {
				b.Fatalf("%v: %s", err, out)
			}
		}
	})
}

// rawClient is a bare x/crypto client, checking the host key it expects.
func rawClient(b *testing.B, s *testSSHD, user string) *ssh.Client {
	pem, err := os.ReadFile(s.f.userKey)
	if err != nil {
		b.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		b.Fatal(err)
	}
	client, err := ssh.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)), &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.FixedHostKey(s.f.hostKeys["ed25519"]),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { client.Close() })
	return client
}

// BenchmarkDial measures connecting: TCP, key exchange, public key
// authentication, and the first command (which starts the shell).
func BenchmarkDial(b *testing.B) {
	s := startSSHD(b, sshdOptions{})
	tg := benchTarget(b, s, "bench")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		h, err := Dial(ctx, tg, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := h.Run(ctx, Argv("true"), RunOptions{}); err != nil {
			b.Fatal(err)
		}
		h.Close()
	}
}

// BenchmarkFanOut16 runs one command on 16 servers (connected beforehand,
// through a Pool), all at once or one after the other: all at once takes
// about as long as the slowest host, one after the other the sum.
func BenchmarkFanOut16(b *testing.B) {
	const n = 16
	pool := NewPool(Options{})
	b.Cleanup(func() { pool.Close() })
	targets := map[string]Target{}
	var names []string
	ctx := context.Background()
	for i := range n {
		s := startSSHD(b, sshdOptions{})
		name := fmt.Sprintf("node%02d", i)
		targets[name] = benchTarget(b, s, name)
		names = append(names, name)
		if _, err := pool.Get(ctx, targets[name]); err != nil {
			b.Fatal(err)
		}
	}
	for _, cmd := range []struct {
		name string
		cmd  Cmd
	}{{"true", Argv("true")}, {"sleep50ms", Argv("sleep", "0.05")}} {
		for _, mode := range []struct {
			name  string
			limit int
		}{{"parallel", n}, {"sequential", 1}} {
			b.Run(cmd.name+"/"+mode.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					out := FanOut(ctx, names, mode.limit, func(ctx context.Context, name string) (Result, error) {
						h, err := pool.Get(ctx, targets[name])
						if err != nil {
							return Result{}, err
						}
						return h.Run(ctx, cmd.cmd, RunOptions{})
					})
					if err := Errs(out); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
