package steps

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"scalestore/config"
	"scalestore/remote"
)

// agentHost runs every command in a local dash, the fence agent's path
// pointed at a stub that prints a real fence_ipmilan capture; it keeps the
// scripts it ran.
type agentHost struct {
	name, agent string
	mu          *sync.Mutex
	ran         *[]string
}

func (h agentHost) Name() string { return h.name }
func (h agentHost) Close() error { return nil }
func (h agentHost) Run(ctx context.Context, c remote.Cmd, opt remote.RunOptions) (remote.Result, error) {
	script := strings.ReplaceAll(c.String(), "/usr/sbin/fence_ipmilan", h.agent)
	h.mu.Lock()
	*h.ran = append(*h.ran, h.name+": "+script)
	h.mu.Unlock()
	out, err := exec.CommandContext(ctx, "dash", "-c", script).Output()
	if err != nil {
		return remote.Result{Stdout: out}, &remote.ExitError{Host: h.name, Cmd: script, Code: 1}
	}
	return remote.Result{Stdout: out}, nil
}
func (h agentHost) ReadFile(ctx context.Context, path string) ([]byte, error) {
	return nil, fs.ErrNotExist
}
func (h agentHost) WriteFile(ctx context.Context, path string, data []byte, mode fs.FileMode, owner string) (bool, error) {
	return false, fs.ErrPermission
}

// Apply's preflight asks the fence agent only for the checks that did not
// pass lately with today's options; the postflight's checks, once the agent
// is installed, are what the next apply takes; `check` (no memo) asks every
// time.
func TestFenceChecksPassedLatelyAreNotAskedAgain(t *testing.T) {
	s := fencedLab(t, config.ProfileDebian12)
	dir := t.TempDir()
	agent := filepath.Join(dir, "fence_ipmilan")
	abs, err := filepath.Abs(filepath.Join("testdata", "captures", "fence-ipmilan-status-on.txt"))
	if err != nil {
		t.Fatal(err)
	}
	capture(t, "fence-ipmilan-status-on.txt") // it is there
	os.WriteFile(agent, []byte("#!/bin/sh\ncat >/dev/null\nsed '$d' '"+abs+"'\n"), 0o755)
	var mu sync.Mutex
	var ran []string
	src := func(ctx context.Context, name string) (remote.Host, error) {
		return agentHost{name: name, agent: agent, mu: &mu, ran: &ran}, nil
	}
	asked := func(host, target string) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range ran {
			if strings.HasPrefix(r, host+": ") && strings.Contains(r, "@@fence "+target+";") {
				return true
			}
		}
		return false
	}
	now := time.Date(2026, 12, 3, 1, 0, 0, 0, time.UTC)
	memo := &FenceMemo{Now: func() time.Time { return now }}

	// The postflight reads every target and notes the checks (status ON).
	f := ReadFence(context.Background(), s, src, memo)
	if st := f.Hosts["storage0a"].Fence["storage0b"]; st.State != FenceOn || st.Memo {
		t.Fatalf("postflight read storage0b from storage0a as %+v", st)
	}
	if !asked("storage0a", "storage0b") || !asked("client0", "client1") {
		t.Fatalf("the postflight did not ask the agent: %q", ran)
	}
	want := 0
	for _, h := range append(s.StorageHosts(), s.ClientHosts()...) {
		want += len(FenceTargets(s, h))
	}
	if n := len(memo.Snapshot()); n != want || want == 0 {
		t.Fatalf("%d checks noted, want %d", n, want)
	}

	// At once, the postflight of the same run takes them too.
	ran = nil
	if f := ReadFence(context.Background(), s, src, memo); !f.Hosts["client0"].Fence["client1"].Memo || len(ran) != 0 {
		t.Fatalf("the postflight asked again right after: %q", ran)
	}

	// Three minutes on, apply's discovery takes them and asks nothing.
	now = now.Add(3 * time.Minute)
	ran = nil
	hf, err := discoverHost(context.Background(), agentHost{name: "storage0a", agent: agent, mu: &mu, ran: &ran}, s, nil, nil, memo)
	if err != nil {
		t.Fatal(err)
	}
	st := hf.Fence["storage0b"]
	if asked("storage0a", "storage0b") || st.State != FenceOn || !st.Memo || !strings.Contains(st.Msg, "read 3m0s ago") {
		t.Fatalf("a check 3 minutes old: asked %v, read as %+v", asked("storage0a", "storage0b"), st)
	}

	// `check` has no memo: it asks.
	ran = nil
	if hf, err = DiscoverHost(context.Background(), agentHost{name: "storage0a", agent: agent, mu: &mu, ran: &ran}, s, nil, nil); err != nil {
		t.Fatal(err)
	}
	if !asked("storage0a", "storage0b") || hf.Fence["storage0b"].Memo {
		t.Fatal("check did not ask the agent")
	}

	// New options for the target: a new check.
	s2 := fencedLab(t, config.ProfileDebian12)
	s2.Fencing.HostOptions["storage0b"]["ip"] = "10.0.9.99"
	ran = nil
	if _, err = discoverHost(context.Background(), agentHost{name: "storage0a", agent: agent, mu: &mu, ran: &ran}, s2, nil, nil, memo); err != nil {
		t.Fatal(err)
	}
	if !asked("storage0a", "storage0b") {
		t.Fatal("a check made with other options was taken for the new ones")
	}

	// Past FenceFresh (the memo of the new read aside): asked again.
	now = now.Add(FenceFresh)
	ran = nil
	if hf, err = discoverHost(context.Background(), agentHost{name: "storage1a", agent: agent, mu: &mu, ran: &ran}, s, nil, nil, memo); err != nil {
		t.Fatal(err)
	}
	if !asked("storage1a", "storage1b") || hf.Fence["storage1b"].Memo {
		t.Fatalf("a check %s old was taken", FenceFresh+3*time.Minute)
	}
}
