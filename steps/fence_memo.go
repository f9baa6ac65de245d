package steps

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"scalestore/config"
	"scalestore/remote"
)

// FenceFresh is how long a fence check that passed counts for apply's
// preflight: a host that read a target's power status through the agent,
// with the options the spec gives today, less than this ago is not asked
// again (the agent is a Python start and a BMC round trip on every host:
// most of a second apply's discovery on a slow host). As with Pacemaker's
// monitor of a fence device, a check proves the device answered then, not
// that it still does; `scalestore check` always asks.
const FenceFresh = 10 * time.Minute

// FenceMemo is the fence checks that passed, by host, target and options
// (config.LoadFenceChecks keeps them on this machine between runs).
type FenceMemo struct {
	mu      sync.Mutex
	Checked map[string]time.Time
	Now     func() time.Time // default time.Now
}

func (m *FenceMemo) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// Snapshot is a copy of the checks, to save.
func (m *FenceMemo) Snapshot() map[string]time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]time.Time, len(m.Checked))
	for k, v := range m.Checked {
		out[k] = v
	}
	return out
}

// fenceMemoKey names a check: the host, the target, and a hash of the agent
// and the target's options (new options are a new check; the hash keeps
// the options, which name a password file, out of the file).
func fenceMemoKey(s *config.Spec, host, target string) string {
	opts := s.Fencing.Target(target)
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", AgentPath(s))
	for _, k := range keys {
		fmt.Fprintf(h, "%s=%s\n", k, opts[k])
	}
	return host + "\t" + target + "\t" + hex.EncodeToString(h.Sum(nil))[:16]
}

// fresh says how long ago host's check of target passed, if less than
// FenceFresh ago with today's options.
func (m *FenceMemo) fresh(s *config.Spec, host, target string) (time.Duration, bool) {
	if m == nil {
		return 0, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	at, ok := m.Checked[fenceMemoKey(s, host, target)]
	age := m.now().Sub(at)
	return age, ok && age >= 0 && age < FenceFresh
}

// record notes host's checks that read a target powered on (the only
// answer that proves the agent, the options and the device all work).
func (m *FenceMemo) record(s *config.Spec, host string, st map[string]FenceStatus) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Checked == nil {
		m.Checked = map[string]time.Time{}
	}
	for target, fs := range st {
		if fs.State == FenceOn && !fs.Memo {
			m.Checked[fenceMemoKey(s, host, target)] = m.now()
		}
	}
}

// fenceQueries are host's targets and their options, less those skip says
// were checked lately (their status: from the memo).
func fenceQueries(s *config.Spec, host string, m *FenceMemo) ([]FenceQuery, map[string]FenceStatus) {
	var q []FenceQuery
	memo := map[string]FenceStatus{}
	for _, t := range FenceTargets(s, host) {
		if age, ok := m.fresh(s, host, t); ok {
			memo[t] = FenceStatus{State: FenceOn, Memo: true,
				Msg: fmt.Sprintf("Status: ON, read %s ago from this machine; read again after %s", age.Round(time.Second), FenceFresh)}
			continue
		}
		q = append(q, FenceQuery{Target: t, Options: s.Fencing.Target(t)})
	}
	return q, memo
}

// fenceScript prints each target's power status through the agent as an
// "@@fence TARGET" section, then "rc=N" (127: not installed). The options
// go on the agent's stdin, as the fence-peer handler gives them: nothing in
// argv.
func fenceScript(agent string, qs []FenceQuery) string {
	var b strings.Builder
	for _, fq := range qs {
		lines := []string{"action=status"}
		for _, k := range sortedKeys(fq.Options) {
			lines = append(lines, k+"="+fq.Options[k])
		}
		a := remote.Quote(agent)
		b.WriteString("echo @@fence " + remote.Quote(fq.Target) + "; if [ -x " + a + " ]; then printf '%s\\n' " + remote.Join(lines...) +
			" | " + a + ` 2>&1; echo "rc=$?"; else echo ` + remote.Quote("not installed: "+agent) + "; echo rc=127; fi; ")
	}
	return b.String()
}

// parseFenceSections reads fenceScript's output.
func parseFenceSections(out string) map[string]FenceStatus {
	st := map[string]FenceStatus{}
	target, text := "", ""
	flush := func() {
		if target != "" {
			st[target] = ParseFenceStatus(text)
		}
	}
	for _, l := range strings.SplitAfter(out, "\n") {
		if t, ok := strings.CutPrefix(strings.TrimRight(l, "\n"), "@@fence "); ok {
			flush()
			target, text = strings.Trim(t, "'"), ""
			continue
		}
		text += l
	}
	flush()
	return st
}

// ReadFence asks the fence agent on every host for the power status of
// each target it may have to fence (FenceTargets), as discovery does, but
// for the checks m says passed lately (this run's preflight, when the agent
// was there already), and notes the checks that pass in m (nil: every check
// runs, none is noted): the postflight's proof that fencing works once
// apply has installed the agent. Read-only.
func ReadFence(ctx context.Context, s *config.Spec, hosts HostSource, m *FenceMemo) *Facts {
	f := &Facts{Hosts: map[string]*HostFacts{}, Errors: map[string]error{}}
	if !s.Fencing.On() {
		return f
	}
	names := append(s.StorageHosts(), s.ClientHosts()...)
	res := remote.FanOut(ctx, names, 0, func(ctx context.Context, name string) (map[string]FenceStatus, error) {
		h, err := hosts(ctx, name)
		if err != nil {
			return nil, err
		}
		qs, st := fenceQueries(s, name, m)
		if len(qs) == 0 {
			return st, nil
		}
		out, err := h.Run(ctx, remote.Cmd{Script: fenceScript(AgentPath(s), qs) + "true"}, remote.RunOptions{Timeout: ReadTimeout})
		if err != nil {
			return nil, fmt.Errorf("read the fence status on %s: %w", name, err)
		}
		for t, fs := range parseFenceSections(string(out.Stdout)) {
			st[t] = fs
		}
		return st, nil
	})
	for name, o := range res {
		if o.Err != nil {
			f.Errors[name] = o.Err
			continue
		}
		f.Hosts[name] = &HostFacts{Fence: o.Value}
		m.record(s, name, o.Value)
	}
	return f
}
