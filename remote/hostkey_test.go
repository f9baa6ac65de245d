package remote

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestHostKeyUnknownRefusedUnderStrict(t *testing.T) {
	t.Parallel()
	s := startSSHD(t, sshdOptions{})
	tg := s.target(t, "db1")
	tg.KnownHostsFile = filepath.Join(t.TempDir(), "known_hosts") // does not exist yet
	p := &fakePrompter{confirm: true}
	_, err := DialWith(ctxT(t), tg, Options{Prompter: p})
	var hke *HostKeyError
	if !errors.As(err, &hke) || hke.Changed {
		t.Fatalf("want an unknown-key HostKeyError, got %v", err)
	}
	fp := ssh.FingerprintSHA256(s.f.hostKeys["ed25519"])
	for _, want := range []string{"connect to db1", fp, tg.KnownHostsFile, "strict"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if len(p.confirmed()) != 0 {
		t.Fatal("strict policy asked the prompter")
	}
	if _, err := os.Stat(tg.KnownHostsFile); !os.IsNotExist(err) {
		t.Fatal("strict policy wrote known_hosts")
	}
}

func TestHostKeyChangedRefusedUnderEveryPolicy(t *testing.T) {
	t.Parallel()
	s := startSSHD(t, sshdOptions{})
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	otherPub, _ := ssh.NewPublicKey(other.Public())
	kh := writeKnownHosts(t,
		"# a comment",
		"[127.0.0.1]:"+strconv.Itoa(s.port)+" "+strings.TrimSpace(string(ssh.MarshalAuthorizedKey(otherPub))))
	before, _ := os.ReadFile(kh)
	for _, c := range []struct {
		policy HostKeyPolicy
		auto   bool
	}{{PolicyStrict, false}, {PolicyAcceptNew, false}, {PolicyAcceptNew, true}, {"", true}} {
		tg := s.target(t, "db1")
		tg.KnownHostsFile, tg.Policy, tg.AutoAcceptNew = kh, c.policy, c.auto
		p := &fakePrompter{confirm: true}
		_, err := DialWith(ctxT(t), tg, Options{Prompter: p})
		var hke *HostKeyError
		if !errors.As(err, &hke) || !hke.Changed {
			t.Fatalf("policy %q auto %v: want a changed-key error, got %v", c.policy, c.auto, err)
		}
		fp := ssh.FingerprintSHA256(s.f.hostKeys["ed25519"])
		for _, want := range []string{"CHANGED", fp, kh + ":2", "ssh-keygen -R"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %q", err, want)
			}
		}
		if hke.Line != 2 || hke.KnownHostsFile != kh {
			t.Errorf("error points at %s:%d", hke.KnownHostsFile, hke.Line)
		}
		if len(p.confirmed()) != 0 {
			t.Error("a changed key was offered for confirmation")
		}
	}
	if after, _ := os.ReadFile(kh); string(after) != string(before) {
		t.Fatal("known_hosts was modified")
	}
}

func TestHostKeyAcceptNew(t *testing.T) {
	t.Parallel()
	s := startSSHD(t, sshdOptions{})
	fp := ssh.FingerprintSHA256(s.f.hostKeys["ed25519"])
	dir := t.TempDir()

	// Declined: refused, nothing written.
	tg := s.target(t, "db1")
	tg.KnownHostsFile = filepath.Join(dir, "sub", "known_hosts")
	tg.Policy = PolicyAcceptNew
	no := &fakePrompter{confirm: false}
	if _, err := DialWith(ctxT(t), tg, Options{Prompter: no}); err == nil || !strings.Contains(err.Error(), "declined") {
		t.Fatalf("declined: %v", err)
	}
	if _, err := os.Stat(tg.KnownHostsFile); !os.IsNotExist(err) {
		t.Fatal("a declined key was recorded")
	}
	// No Prompter and no AutoAcceptNew: refused.
	if _, err := DialWith(ctxT(t), tg, Options{}); err == nil || !errors.Is(err, ErrNoPrompter) {
		t.Fatalf("unattended: %v", err)
	}

	// Confirmed: the prompter saw the fingerprint, the key is appended in
	// OpenSSH's "[host]:port" form, and a strict connection then works.
	yes := &fakePrompter{confirm: true}
	whoami(t, dial(t, tg, Options{Prompter: yes}), "root")
	if c := yes.confirmed(); len(c) != 1 || c[0] != "db1 127.0.0.1:"+strconv.Itoa(s.port)+" ssh-ed25519 "+fp {
		t.Fatalf("confirmations %q", c)
	}
	b, _ := os.ReadFile(tg.KnownHostsFile)
	if string(b) != s.knownHostsLine("ed25519")+"\n" {
		t.Fatalf("known_hosts:\n%s\nwant:\n%s", b, s.knownHostsLine("ed25519"))
	}
	tg.Policy = PolicyStrict
	whoami(t, dial(t, tg, Options{}), "root")

	// AutoAcceptNew (unattended), hashed as the config asks, appended to a
	// file without a final newline.
	cfg := filepath.Join(dir, "config")
	os.WriteFile(cfg, []byte("Host *\n  HashKnownHosts yes\n"), 0o600)
	kh := filepath.Join(dir, "known_hosts2")
	os.WriteFile(kh, []byte("# no newline"), 0o600)
	tg = s.target(t, "db2")
	tg.KnownHostsFile, tg.Policy, tg.AutoAcceptNew, tg.SSHConfigFile = kh, PolicyAcceptNew, true, cfg
	whoami(t, dial(t, tg, Options{}), "root")
	b, _ = os.ReadFile(kh)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || lines[0] != "# no newline" || !strings.HasPrefix(lines[1], "|1|") ||
		strings.Contains(lines[1], "127.0.0.1") || !strings.Contains(lines[1], " ssh-ed25519 ") {
		t.Fatalf("hashed known_hosts:\n%s", b)
	}
	tg.Policy, tg.AutoAcceptNew = PolicyStrict, false
	whoami(t, dial(t, tg, Options{}), "root")
}

// The pitfall: the server has several host keys and known_hosts only one of
// them; the client must offer only that type, or it is told of another key
// and takes it for a changed one.
func TestHostKeyAlgorithmsFromKnownHosts(t *testing.T) {
	t.Parallel()
	s := startSSHD(t, sshdOptions{hostKeys: []string{"rsa", "ecdsa", "ed25519"}})
	for _, typ := range []string{"ed25519", "rsa", "ecdsa"} {
		tg := s.target(t, "db1")
		tg.KnownHostsFile = writeKnownHosts(t, s.knownHostsLine(typ))
		h, err := DialWith(ctxT(t), tg, Options{})
		if err != nil {
			t.Fatalf("known_hosts with only %s: %v", typ, err)
		}
		whoami(t, h, "root")
		h.Close()
	}
}

// Every host key accepted and written to known_hosts is shown through
// Options.OnNewHostKey, whether confirmed or accepted unattended; a declined
// or already known key is not.
func TestHostKeyAcceptedIsReported(t *testing.T) {
	t.Parallel()
	s := startSSHD(t, sshdOptions{})
	want := "db1 127.0.0.1:" + strconv.Itoa(s.port) + " ssh-ed25519 " + ssh.FingerprintSHA256(s.f.hostKeys["ed25519"])
	var mu sync.Mutex
	var seen []string
	opts := func(p Prompter) Options {
		return Options{Prompter: p, OnNewHostKey: func(host, address, keyType, fingerprint string) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, strings.Join([]string{host, address, keyType, fingerprint}, " "))
		}}
	}
	reported := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}

	tg := s.target(t, "db1")
	tg.KnownHostsFile = filepath.Join(t.TempDir(), "known_hosts")
	tg.Policy = PolicyAcceptNew
	if _, err := DialWith(ctxT(t), tg, opts(&fakePrompter{confirm: false})); err == nil {
		t.Fatal("a declined key connected")
	}
	if r := reported(); len(r) != 0 {
		t.Fatalf("declined key reported: %q", r)
	}
	whoami(t, dial(t, tg, opts(&fakePrompter{confirm: true})), "root")
	if r := reported(); len(r) != 1 || r[0] != want {
		t.Fatalf("confirmed key: reported %q, want %q", r, want)
	}
	// Known now: not reported again.
	whoami(t, dial(t, tg, opts(nil)), "root")
	if r := reported(); len(r) != 1 {
		t.Fatalf("known key reported: %q", r)
	}

	// Unattended (AutoAcceptNew, as check and status run), into a new file.
	tg.KnownHostsFile, tg.AutoAcceptNew = filepath.Join(t.TempDir(), "known_hosts"), true
	whoami(t, dial(t, tg, opts(nil)), "root")
	if r := reported(); len(r) != 2 || r[1] != want {
		t.Fatalf("key accepted unattended: reported %q, want a second %q", r, want)
	}
}
