package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// loginServer is an SSH server on loopback that lets any key log in and
// then refuses every session: each host is reached (the SSH layer logs the
// connection) and cannot be read, so check refuses and status says UNKNOWN.
func loginServer(t *testing.T) (ports []int, hostKey ssh.PublicKey) {
	t.Helper()
	signer := newHostKey(t)
	cfg := &ssh.ServerConfig{PublicKeyCallback: func(ssh.ConnMetadata, ssh.PublicKey) (*ssh.Permissions, error) {
		return nil, nil
	}}
	cfg.AddHostKey(signer)
	return listen(t, labHosts, func(c net.Conn) {
		_, chans, reqs, err := ssh.NewServerConn(c, cfg)
		if err != nil {
			return
		}
		go ssh.DiscardRequests(reqs)
		for ch := range chans {
			ch.Reject(ssh.Prohibited, "no sessions here")
		}
	}), signer.PublicKey()
}

// runBinary runs the real program on pipes (no terminal) with its own
// state directory, and returns its exit code, stdout and stderr.
func runBinary(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	c := exec.Command(bin, args...)
	c.Env = append(os.Environ(), "XDG_STATE_HOME="+t.TempDir(), "SSH_AUTH_SOCK=")
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	err = c.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return c.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

var runLogLine = regexp.MustCompile(`(?m)^run log: (/\S+\.jsonl)$`)

// runLogOf returns the run log's path the command printed on stderr (the
// last line but for the error) and its content.
func runLogOf(t *testing.T, stderr string) (string, string) {
	t.Helper()
	m := runLogLine.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no \"run log: PATH\" on stderr:\n%s", stderr)
	}
	b, err := os.ReadFile(m[1])
	if err != nil {
		t.Fatalf("the run log it named: %v", err)
	}
	return m[1], string(b)
}

// Every command that touches hosts writes the run log and names it, a
// refused or failed one too; the SSH layer's records are in it.
func TestEveryHostCommandWritesTheRunLog(t *testing.T) {
	ports, key := loginServer(t)
	spec := ptySpec(t, ports, "strict", key)
	checked := []string{`"kind":"check"`, `"host":"storage0a"`, `"msg":"connected"`, `"level":"ERROR","msg":"end","err":"preflight: 6 check(s) failed`}
	for _, c := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"check", "-f", spec}, exitRefused, checked},
		{[]string{"check", "--json", "-f", spec}, exitRefused, checked},
		{[]string{"status", "-f", spec}, exitUnknown, []string{`"kind":"check"`, `"status":"unknown"`, `"msg":"connected"`, `"msg":"end","err":"the state of`}},
		{[]string{"apply", "--dry-run", "-f", spec}, exitRefused, checked},
		// the lock, taken before preflight, cannot run a command there
		{[]string{"apply", "--yes", "-f", spec}, exitFailed, []string{`"msg":"connected"`, `"msg":"end","err":"lock cluster \"lab\" on its hosts: `}},
	} {
		t.Run(strings.Join(c.args[:len(c.args)-2], " "), func(t *testing.T) {
			code, stdout, stderr := runBinary(t, c.args...)
			if slices.Contains(c.args, "--json") {
				jsonLinesWithSchema(t, stdout)
			}
			if code != c.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, c.code, stderr)
			}
			path, log := runLogOf(t, stderr)
			if !strings.HasPrefix(filepath.Base(path), "lab-") {
				t.Errorf("run log %s is not named for the cluster", path)
			}
			for _, want := range c.want {
				if !strings.Contains(log, want) {
					t.Errorf("run log %s lacks %s:\n%s", path, want, log)
				}
			}
		})
	}
}

// -v shows the SSH layer's debug records on stderr; without it they go to
// the run log only.
func TestVerboseShowsDebugLines(t *testing.T) {
	ports, key := loginServer(t)
	spec := ptySpec(t, ports, "strict", key)
	debug := regexp.MustCompile(`(?m)^time=\S+ level=DEBUG msg=connected host=storage0a `)
	for _, v := range []string{"-v", "--verbose"} {
		_, _, stderr := runBinary(t, "check", v, "-f", spec)
		if !debug.MatchString(stderr) {
			t.Errorf("check %s: no debug line for storage0a's connection on stderr:\n%s", v, stderr)
		}
	}
	_, _, stderr := runBinary(t, "check", "-f", spec)
	if strings.Contains(stderr, "level=DEBUG") {
		t.Errorf("check without -v printed debug lines:\n%s", stderr)
	}
	if _, log := runLogOf(t, stderr); !strings.Contains(log, `"level":"DEBUG","msg":"connected","host":"storage0a"`) {
		t.Errorf("without -v the run log still holds the debug records; it has:\n%s", log)
	}
}

// jsonLinesWithSchema: stdout is JSON lines only (the run log's path went
// to stderr), each with "schema": 1.
func jsonLinesWithSchema(t *testing.T, stdout string) {
	t.Helper()
	if stdout == "" {
		t.Fatal("--json printed nothing")
	}
	for _, l := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		var v struct {
			Schema int `json:"schema"`
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil || v.Schema != 1 {
			t.Errorf("--json line %q: schema %d, %v; want JSON with schema 1", l, v.Schema, err)
		}
	}
}
