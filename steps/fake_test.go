package steps

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"sync"

	"scalestore/remote"
)

// fakeCluster is a scripted remote side: each host converges the way a real
// one does — a probe holds once the command it guards has run — and the
// outputs the engine parses are real captures from the lab's machines. It
// tests the engine, not the probes: a probe here holds by construction
// (and any probe it does not know holds); what each probe says on a real
// host's listings is TestEveryProbeOnBuiltAndBlankHosts's.
type fakeCluster struct {
	plan       *Plan
	mu         sync.Mutex
	done       map[string]bool   // host + "\x00" + probe text: satisfied
	guards     map[string]string // cmd text → the probe it satisfies
	files      map[string][]byte // host + path
	log        []string          // host: cmd, in the order run
	fail       map[string]string // host + cmd substring → stderr of a failing exit
	procs      map[string][]string
	after      map[string]func() // host + "\x00" + cmd: what else running it changes (f.mu held)
	running    map[string]int    // concurrent commands per step, max seen
	runs       int               // commands run, probes included
	prefetches int               // batched probe commands
}

func newFakeCluster(p *Plan) *fakeCluster {
	f := &fakeCluster{plan: p, done: map[string]bool{}, guards: map[string]string{}, files: map[string][]byte{}, fail: map[string]string{}, procs: map[string][]string{}, after: map[string]func(){}}
	for _, st := range p.Steps {
		for _, a := range st.Actions {
			if a.Unless != nil {
				f.guards[a.Host+"\x00"+a.Cmd.String()] = a.Unless.String()
			}
		}
	}
	return f
}

func (f *fakeCluster) host(name string) *fakeHost { return &fakeHost{f: f, name: name} }

func (f *fakeCluster) source() HostSource {
	return func(ctx context.Context, name string) (remote.Host, error) { return f.host(name), nil }
}

// commands lists what ran on a host (probes excluded).
func (f *fakeCluster) commands(host string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, l := range f.log {
		if h, c, _ := strings.Cut(l, ": "); h == host {
			out = append(out, c)
		}
	}
	return out
}

type fakeHost struct {
	f    *fakeCluster
	name string
}

func (h *fakeHost) Name() string { return h.name }
func (h *fakeHost) Close() error { return nil }

var (
	rePrefetchLine = regexp.MustCompile(`^if \{ .*; \} >/dev/null 2>&1 </dev/null; then echo 'ok ([\d/ ]+)'; fi$`)
	reFileProbe    = regexp.MustCompile(`^test "\$\(sha256sum < (\S+) 2>/dev/null\)" = '([0-9a-f]+)  -'`)
)

// probeHolds answers one probe as the host's state stands (f.mu held).
func (h *fakeHost) probeHolds(text string) bool {
	f := h.f
	if m := reFileProbe.FindStringSubmatch(text); m != nil {
		b, ok := f.files[h.name+m[1]]
		sum := sha256.Sum256(b)
		return ok && hex.EncodeToString(sum[:]) == m[2]
	}
	return f.done[h.name+"\x00"+text] || !isGuard(f, text)
}

func (h *fakeHost) Run(ctx context.Context, cmd remote.Cmd, opt remote.RunOptions) (remote.Result, error) {
	f := h.f
	text := cmd.String()
	f.mu.Lock()
	f.runs++
	if strings.Contains(text, "; then echo 'ok ") {
		var out strings.Builder
		// each line answers for the keys it names: the probe of the
		// first is the one they share (its batched form is tested on a
		// real shell in probe_test.go)
		for _, l := range strings.Split(text, "\n") {
			if m := rePrefetchLine.FindStringSubmatch(l); m != nil {
				var si, ai int
				fmt.Sscanf(m[1], "%d/%d", &si, &ai)
				if h.probeHolds(probeOf(f.plan.Steps[si].Actions[ai]).String()) {
					out.WriteString("ok " + m[1] + "\n")
				}
			}
		}
		f.prefetches++
		f.mu.Unlock()
		return remote.Result{Stdout: []byte(out.String())}, nil
	}
	// /proc/drbd: a resync in progress, then both halves UpToDate (real captures).
	if text == "cat /proc/drbd" {
		seq := f.procs[h.name]
		out := ""
		if len(seq) > 0 {
			out, f.procs[h.name] = seq[0], seq[1:]
		}
		f.mu.Unlock()
		return remote.Result{Stdout: []byte(out)}, nil
	}
	for k, stderr := range f.fail {
		if hh, sub, _ := strings.Cut(k, "\x00"); hh == h.name && strings.Contains(text, sub) {
			f.mu.Unlock()
			if opt.OnLine != nil {
				opt.OnLine(remote.Line{Host: h.name, Stream: remote.Stderr, Text: stderr})
			}
			return remote.Result{Code: 3, Stderr: []byte(stderr)}, &remote.ExitError{Host: h.name, Cmd: text, Code: 3, StderrTail: stderr}
		}
	}
	if probe, ok := f.guards[h.name+"\x00"+text]; ok {
		f.done[h.name+"\x00"+probe] = true
		if after := f.after[h.name+"\x00"+text]; after != nil {
			after()
		}
		if text == "corosync-keygen -l" && f.files[h.name+"/etc/corosync/authkey"] == nil {
			f.files[h.name+"/etc/corosync/authkey"] = []byte("generated-key")
		}
		f.log = append(f.log, h.name+": "+text)
		f.mu.Unlock()
		if opt.OnLine != nil {
			opt.OnLine(remote.Line{Host: h.name, Stream: remote.Stdout, Text: "ok: " + text})
		}
		return remote.Result{}, nil
	}
	// A probe (or a wait): satisfied once its guarded command ran, and
	// waits are satisfied from the start unless scripted otherwise.
	if h.probeHolds(text) {
		f.mu.Unlock()
		return remote.Result{}, nil
	}
	f.mu.Unlock()
	return remote.Result{Code: 1}, &remote.ExitError{Host: h.name, Cmd: text, Code: 1}
}

func isGuard(f *fakeCluster, text string) bool {
	for _, g := range f.guards {
		if g == text {
			return true
		}
	}
	return false
}

func (h *fakeHost) ReadFile(ctx context.Context, path string) ([]byte, error) {
	h.f.mu.Lock()
	defer h.f.mu.Unlock()
	b, ok := h.f.files[h.name+path]
	if !ok {
		return nil, fmt.Errorf("read %s: %w", path, fs.ErrNotExist)
	}
	return b, nil
}

func (h *fakeHost) WriteFile(ctx context.Context, path string, data []byte, mode fs.FileMode, owner string) (bool, error) {
	h.f.mu.Lock()
	defer h.f.mu.Unlock()
	if bytes.Equal(h.f.files[h.name+path], data) {
		return false, nil
	}
	h.f.files[h.name+path] = append([]byte(nil), data...)
	h.f.log = append(h.f.log, h.name+": write "+path)
	return true, nil
}
