package remote

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh/agent"
)

// whoami runs id -un on h and checks the answer.
func whoami(t *testing.T, h Host, want string) {
	t.Helper()
	res, err := h.Run(ctxT(t), Argv("id", "-un"), RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(res.Stdout)); got != want {
		t.Fatalf("logged in as %q, want %q", got, want)
	}
}

func TestAuthAgent(t *testing.T) {
	t.Parallel()
	s := startSSHD(t, sshdOptions{})
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: s.f.agentKey}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				agent.ServeAgent(keyring, c)
			}()
		}
	}()
	tg := s.target(t, "db1")
	tg.IdentityFiles = []string{"none"}
	tg.IdentityAgent = sock
	whoami(t, dial(t, tg, Options{}), "root")

	// Without the agent, nothing else can log in.
	tg.IdentityAgent = "none"
	_, err = DialWith(ctxT(t), tg, Options{})
	if err == nil || !strings.Contains(err.Error(), "authentication as "+s.f.user+" failed") {
		t.Fatalf("without agent: %v", err)
	}
}

// TestAuthKeyFile also logs in as root itself, without sudo: the only test
// that does (see fixture.user).
func TestAuthKeyFile(t *testing.T) {
	t.Parallel()
	s := startSSHD(t, sshdOptions{})
	tg := s.target(t, "db1")
	tg.User, tg.Sudo = "root", false
	whoami(t, dial(t, tg, Options{}), "root")
}

func TestAuthEncryptedKey(t *testing.T) {
	t.Parallel()
	s := startSSHD(t, sshdOptions{})
	tg := s.target(t, "db1")
	tg.IdentityFiles = []string{s.f.encKey}

	// The passphrase is asked through the Prompter, once for every host of
	// a Pool; a wrong answer is asked again.
	p := &fakePrompter{answers: map[string]string{"passphrase for key '" + s.f.encKey: s.f.encPassphrase}}
	pool := NewPool(Options{Prompter: p})
	defer pool.Close()
	h1, err := pool.Get(ctxT(t), tg)
	if err != nil {
		t.Fatal(err)
	}
	whoami(t, h1, "root")
	tg2 := tg
	tg2.Name = "db2"
	h2, err := pool.Get(ctxT(t), tg2)
	if err != nil {
		t.Fatal(err)
	}
	whoami(t, h2, "root")
	if asked := p.asked(); len(asked) != 1 {
		t.Fatalf("prompts %q, want one passphrase prompt", asked)
	}

	// No Prompter: the key is skipped and authentication fails clearly.
	_, err = DialWith(ctxT(t), tg, Options{})
	if err == nil || !strings.Contains(err.Error(), "authentication as "+s.f.user+" failed") {
		t.Fatalf("encrypted key without prompter: %v", err)
	}

	// A wrong passphrase three times fails, naming the key.
	bad := &fakePrompter{answers: map[string]string{"passphrase": "wrong"}}
	_, err = DialWith(ctxT(t), tg, Options{Prompter: bad})
	if err == nil || len(bad.asked()) != 3 || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("wrong passphrase: %v after %q", err, bad.asked())
	}
}

func TestAuthPassword(t *testing.T) {
	t.Parallel()
	s := startSSHD(t, sshdOptions{password: true})
	const pw = "S3cret pass'word"
	user := addUser(t, pw, "")
	tg := s.target(t, "db1")
	tg.User, tg.Sudo = user, false
	tg.IdentityFiles = []string{"none"}

	var logs syncBuffer
	p := &fakePrompter{answers: map[string]string{user + "@127.0.0.1's password": pw}}
	h := dial(t, tg, Options{Prompter: p, Logger: debugLogger(&logs)})
	whoami(t, h, user)
	if asked := p.asked(); len(asked) != 1 {
		t.Fatalf("prompts %q", asked)
	}

	// A re-dial uses the password it was given, without asking again.
	s.restart()
	whoami(t, h, user)
	if asked := p.asked(); len(asked) != 1 {
		t.Fatalf("prompts after re-dial %q", asked)
	}

	// A wrong password: asked three times, then a clear error.
	bad := &fakePrompter{answers: map[string]string{"password": "nope"}}
	_, err := DialWith(ctxT(t), tg, Options{Prompter: bad})
	if err == nil || !strings.Contains(err.Error(), "authentication as "+user+" failed") || len(bad.asked()) != 3 {
		t.Fatalf("wrong password: %v after %q", err, bad.asked())
	}
	if strings.Contains(logs.String(), pw) {
		t.Fatal("the password reached the log")
	}
}

func TestSSHConfigAliasAndProxyJump(t *testing.T) {
	t.Parallel()
	jump := startSSHD(t, sshdOptions{debug: true})
	s := startSSHD(t, sshdOptions{})
	kh := writeKnownHosts(t, s.knownHostsLine("ed25519"), jump.knownHostsLine("ed25519"))
	cfg := filepath.Join(t.TempDir(), "config")
	err := os.WriteFile(cfg, []byte(`
Host bastion
    HostName 127.0.0.1
    Port `+strconv.Itoa(jump.port)+`
    User `+s.f.user+`
    IdentityFile `+s.f.userKey+`

Host storage-*
    User `+s.f.user+`
    IdentityFile `+s.f.userKey+`
    IdentityAgent none

Host storage-direct
    HostName 127.0.0.1
    Port `+strconv.Itoa(s.port)+`

Host storage-jumped
    HostName 127.0.0.1
    Port `+strconv.Itoa(s.port)+`
    ProxyJump bastion
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}

	// An alias resolved from the config alone.
	h := dial(t, Target{Name: "storage-direct", SSHConfigFile: cfg, KnownHostsFile: kh, Policy: PolicyStrict}, Options{})
	whoami(t, h, s.f.user)
	if strings.Contains(jump.log(), "direct-tcpip") {
		t.Fatal("the direct alias went through the jump host")
	}

	// ProxyJump from the config.
	h = dial(t, Target{Name: "db1", Address: "storage-jumped", SSHConfigFile: cfg, KnownHostsFile: kh, Policy: PolicyStrict, Sudo: true}, Options{})
	whoami(t, h, "root")
	if !strings.Contains(jump.log(), "port "+strconv.Itoa(s.port)) || !strings.Contains(jump.log(), "direct-tcpip") {
		t.Fatalf("no forwarding through the jump host in its log:\n%s", jump.log())
	}

	// ProxyJump from the Target: the jump host takes the target's key and
	// known_hosts.
	tg := s.target(t, "db2")
	tg.KnownHostsFile = kh
	tg.Jump = &Target{Name: "bastion", Address: "127.0.0.1", Port: jump.port, User: s.f.user}
	h = dial(t, tg, Options{})
	whoami(t, h, "root")
	if n := strings.Count(jump.log(), "direct-tcpip"); n < 2 {
		t.Fatalf("second jump not seen (%d forwards)", n)
	}

	// A jump host that refuses us is named in the error.
	bad := jump.target(t, "bastion")
	bad.IdentityFiles = []string{"none"}
	tg.Jump = &bad
	_, err = DialWith(ctxT(t), tg, Options{})
	if err == nil || !strings.Contains(err.Error(), "connect to db2: via jump host bastion") {
		t.Fatalf("bad jump: %v", err)
	}
}

func TestSudoWithoutPassword(t *testing.T) {
	t.Parallel()
	s := startSSHD(t, sshdOptions{})
	user := addUser(t, "unused-pw", "NOPASSWD")
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			tg := s.target(t, "db1")
			tg.User = user
			tg.Sudo = true
			// No Prompter: sudo -n. A Prompter would fail the test if asked.
			for _, p := range []Prompter{nil, &fakePrompter{}} {
				o := m.opts
				o.Prompter = p
				h := dial(t, tg, o)
				whoami(t, h, "root")
				dir := t.TempDir()
				if changed, err := h.WriteFile(ctxT(t), dir+"/f", []byte("x"), 0o600, "root:root"); err != nil || !changed {
					t.Fatalf("write as root: %v", err)
				}
				if fp, ok := p.(*fakePrompter); ok && len(fp.asked()) > 0 {
					t.Fatalf("asked %q", fp.asked())
				}
			}
			// Without Sudo, the same user is itself.
			tg.Sudo = false
			whoami(t, dial(t, tg, m.opts), user)
		})
	}
}

func TestSudoWithPassword(t *testing.T) {
	t.Parallel()
	s := startSSHD(t, sshdOptions{})
	const pw = "sudo-Pa55 w0rd$(x)"
	user := addUser(t, pw, "PASSWD")
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			tg := s.target(t, "db1")
			tg.User = user
			tg.Sudo = true

			var logs syncBuffer
			p := &fakePrompter{answers: map[string]string{"[sudo] password for " + user + "@db1": pw}}
			h := dial(t, tg, Options{Prompter: p, Logger: debugLogger(&logs), SessionPerCommand: m.opts.SessionPerCommand})
			whoami(t, h, "root")
			// Every process's argv, while the sudo shell runs: no password.
			out, err := exec.Command("ps", "-eo", "args").Output()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(out), pw) {
				t.Fatal("the sudo password is in a process's argv")
			}
			res, err := h.Run(ctxT(t), Argv("ps", "-eo", "args"), RunOptions{})
			if err != nil || strings.Contains(string(res.Stdout), pw) || !strings.Contains(string(res.Stdout), "sudo") {
				t.Fatalf("ps on the host: %v", err)
			}
			// More commands (and files) do not ask again.
			if _, err := h.WriteFile(ctxT(t), t.TempDir()+"/f", []byte("x"), 0o600, "root"); err != nil {
				t.Fatal(err)
			}
			_, err = h.Run(ctxT(t), Script("echo failing >&2; exit 4"), RunOptions{})
			if err == nil || strings.Contains(err.Error(), pw) {
				t.Fatalf("error %v", err)
			}
			if asked := p.asked(); len(asked) != 1 {
				t.Fatalf("prompts %q, want one", asked)
			}
			if strings.Contains(logs.String(), pw) {
				t.Fatal("the sudo password reached the log")
			}

			// A wrong password is an ErrSudo that does not hold it.
			bad := &fakePrompter{answers: map[string]string{"[sudo]": "wrong-" + pw}}
			hb := dial(t, tg, Options{Prompter: bad, SessionPerCommand: m.opts.SessionPerCommand})
			_, err = hb.Run(ctxT(t), Argv("true"), RunOptions{})
			if !errors.Is(err, ErrSudo) || !strings.Contains(err.Error(), "incorrect password") || strings.Contains(err.Error(), pw) {
				t.Fatalf("wrong sudo password: %v", err)
			}

			// No Prompter: sudo -n, which fails saying a password is needed.
			hn := dial(t, tg, Options{SessionPerCommand: m.opts.SessionPerCommand})
			_, err = hn.Run(ctxT(t), Argv("true"), RunOptions{})
			if !errors.Is(err, ErrSudo) || !strings.Contains(err.Error(), "password is required") {
				t.Fatalf("sudo -n: %v", err)
			}
		})
	}
}

// Keyboard-interactive, as sshd offers passwords through PAM: the
// question goes to the Prompter as it is.
func TestAuthKeyboardInteractive(t *testing.T) {
	t.Parallel()
	s := startSSHD(t, sshdOptions{pam: true, extra: []string{"KbdInteractiveAuthentication yes"}})
	const pw = "kbd-Interactive pw"
	user := addUser(t, pw, "")
	tg := s.target(t, "db1")
	tg.User, tg.Sudo = user, false
	tg.IdentityFiles = []string{"none"}
	p := &fakePrompter{answers: map[string]string{"(" + user + "@127.0.0.1) Password:": pw}}
	whoami(t, dial(t, tg, Options{Prompter: p}), user)
	if asked := p.asked(); len(asked) != 1 {
		t.Fatalf("prompts %q", asked)
	}
}
