package remote

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestResolveFromSSHConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	err := os.WriteFile(cfg, []byte(`
Host db1 db2
    HostName %h.example.net
    User admin
    Port 2200
    IdentityFile ~/.ssh/db_key
    IdentityFile /keys/%r@%h
    UserKnownHostsFile /kh/one /kh/two
    StrictHostKeyChecking yes
    ServerAliveInterval 7
    ProxyJump jumper@bastion:2222,inner

Host bastion
    HostName 10.0.0.1
    ProxyJump none
    StrictHostKeyChecking accept-new

Host inner
    User innie

Host legacy
    ProxyCommand nc %h %p

Host *
    User fallback
    IdentityAgent none
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	home, _ := os.UserHomeDir()

	e, err := resolve(Target{Name: "db1", SSHConfigFile: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if e.hostname != "db1.example.net" || e.user != "admin" || e.port != 2200 || e.name != "db1" {
		t.Fatalf("endpoint %+v", e)
	}
	if strings.Join(e.identityFiles, " ") != home+"/.ssh/db_key /keys/admin@db1.example.net" {
		t.Fatalf("identity files %q", e.identityFiles)
	}
	if e.knownHostsFile != "/kh/one" || e.knownHosts[1] != "/kh/two" || e.policy != PolicyStrict {
		t.Fatalf("known hosts %q %q %s", e.knownHostsFile, e.knownHosts, e.policy)
	}
	if e.agentSocket != "" || e.keepAlive != 7*time.Second {
		t.Fatalf("agent %q keepalive %v", e.agentSocket, e.keepAlive)
	}
	// ProxyJump a,b: through a (bastion), then b (inner), then db1.
	inner := e.jump
	if inner == nil || inner.hostname != "inner" || inner.user != "innie" || inner.port != 22 {
		t.Fatalf("last hop %+v", inner)
	}
	bastion := inner.jump
	if bastion == nil || bastion.hostname != "10.0.0.1" || bastion.user != "jumper" || bastion.port != 2222 || bastion.jump != nil {
		t.Fatalf("first hop %+v", bastion)
	}
	if bastion.policy != PolicyAcceptNew {
		t.Fatalf("a jump host's policy comes from its own config: %s", bastion.policy)
	}

	// The Target's fields win over the config.
	e, err = resolve(Target{Name: "x", Address: "db2", User: "root", Port: 22, Policy: PolicyAcceptNew,
		IdentityFiles: []string{"/k"}, KnownHostsFile: "/kh", SSHConfigFile: cfg, Jump: &Target{Name: "j", Address: "10.1.1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if e.name != "x" || e.hostname != "db2.example.net" || e.user != "root" || e.port != 22 || e.identityFiles[0] != "/k" ||
		e.knownHostsFile != "/kh" || len(e.knownHosts) != 1 || e.policy != PolicyAcceptNew {
		t.Fatalf("endpoint %+v", e)
	}
	if e.jump == nil || e.jump.hostname != "10.1.1.1" || e.jump.user != "fallback" || e.jump.knownHostsFile != "/kh" {
		t.Fatalf("explicit jump %+v", e.jump)
	}

	// Unknown hosts fall to "Host *"; ProxyCommand is refused.
	e, err = resolve(Target{Name: "10.9.9.9", SSHConfigFile: cfg, IdentityFiles: []string{"none"}})
	if err != nil || e.user != "fallback" || e.port != 22 || len(e.identityFiles) != 0 || e.policy != PolicyStrict {
		t.Fatalf("fallback: %+v %v", e, err)
	}
	if _, err := resolve(Target{Name: "legacy", SSHConfigFile: cfg}); err == nil || !strings.Contains(err.Error(), "ProxyCommand") {
		t.Fatalf("ProxyCommand: %v", err)
	}
	if _, err := resolve(Target{Name: "x", SSHConfigFile: filepath.Join(dir, "missing")}); err == nil {
		t.Fatal("a named config file that is missing must be an error")
	}
	if _, err := resolve(Target{Name: "x", SSHConfigFile: "none", Policy: "yolo"}); err == nil {
		t.Fatal("unknown policy accepted")
	}
	if _, err := resolve(Target{}); err == nil {
		t.Fatal("empty target accepted")
	}
	if e, err := resolve(Target{Name: "x", SSHConfigFile: "none", IdentityAgent: "/a.sock"}); err != nil || e.agentSocket != "/a.sock" {
		t.Fatalf("agent socket %v", err)
	}
}

func TestParseJumpHop(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Target{
		"host":            {Name: "host", Address: "host"},
		"u@host:2022":     {Name: "host", Address: "host", User: "u", Port: 2022},
		"ssh://u@[::1]:2": {Name: "::1", Address: "::1", User: "u", Port: 2},
		"a@b@10.0.0.1":    {Name: "10.0.0.1", Address: "10.0.0.1", User: "a@b"},
	} {
		got, err := ParseJump(in)
		if err != nil || got.Name != want.Name || got.User != want.User || got.Port != want.Port {
			t.Errorf("%q: %+v %v", in, got, err)
		}
	}
	for _, bad := range []string{"host:0", "host:x", "u@"} {
		if _, err := ParseJump(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
