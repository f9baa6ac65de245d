package steps

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"scalestore/config"
	"scalestore/remote"
)

// boundedHost is a fake host that records the bound (RunOptions.Timeout)
// the engine gives each command.
type boundedHost struct {
	*fakeHost
	mu     *sync.Mutex
	bounds map[string]time.Duration // host + "\x00" + command → its bound
}

func (h boundedHost) Run(ctx context.Context, cmd remote.Cmd, opt remote.RunOptions) (remote.Result, error) {
	h.mu.Lock()
	h.bounds[h.name+"\x00"+cmd.String()] = opt.Timeout
	h.mu.Unlock()
	return h.fakeHost.Run(ctx, cmd, opt)
}

// Every command the engine runs is bounded, so that a hung one (a pvs, a
// mount) fails the run instead of blocking it: probes (batched, one by
// one, and the polls of a wait) briefly, actions generously (or as long as
// the action says).
func TestEveryCommandIsBounded(t *testing.T) {
	s := sample(t, config.ProfileDebian12)
	p := Build(s, nil)
	f := newFakeCluster(p)
	var mu sync.Mutex
	bounds := map[string]time.Duration{}
	src := func(ctx context.Context, name string) (remote.Host, error) {
		return boundedHost{fakeHost: f.host(name), mu: &mu, bounds: bounds}, nil
	}
	e := &Engine{Hosts: src, Emit: func(Event) {}, Poll: time.Millisecond}
	if _, err := e.Run(context.Background(), p); err != nil {
		t.Fatal(err)
	}

	want := map[string]time.Duration{}
	for _, h := range p.Hosts() {
		want[h+"\x00"+PrefetchScript(p, h).String()] = probeTimeout
	}
	for _, st := range p.Steps {
		for _, a := range st.Actions {
			switch a.Kind {
			case Run:
				want[a.Host+"\x00"+a.Cmd.String()] = actionBound(a)
				if a.Unless != nil {
					want[a.Host+"\x00"+a.Unless.String()] = probeTimeout
				}
			case Wait:
				want[a.Host+"\x00"+a.Cmd.String()] = probeTimeout
			case WriteFile, CopySecret:
				if a.OnChange != nil {
					want[a.Host+"\x00"+a.OnChange.String()] = actionBound(a)
				}
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bounds) == 0 {
		t.Fatal("no command ran")
	}
	for cmd, got := range bounds {
		w, ok := want[cmd]
		if !ok {
			if got <= 0 || got > actionTimeout {
				t.Errorf("%q: bound %v", cmd, got)
			}
			continue
		}
		if got != w {
			t.Errorf("%q: bound %v, want %v", cmd, got, w)
		}
	}
}

// Discovery and the state status reads are bounded as probes are: a host
// whose pvs or lsblk hangs gives an error, not a wizard that waits forever.
func TestReadsAreBounded(t *testing.T) {
	s := sample(t, config.ProfileDebian12)
	f := newFakeCluster(Build(s, nil))
	var mu sync.Mutex
	bounds := map[string]time.Duration{}
	src := func(ctx context.Context, name string) (remote.Host, error) {
		return boundedHost{fakeHost: f.host(name), mu: &mu, bounds: bounds}, nil
	}
	Discover(context.Background(), s, src, 0)
	ReadState(context.Background(), s, src)
	h, _ := src(context.Background(), s.Pairs[0].A.Host)
	DiscoverHost(context.Background(), h, s, nil, AllDisks)
	mu.Lock()
	defer mu.Unlock()
	kinds := map[string]bool{}
	for cmd, got := range bounds {
		for _, k := range []string{"echo @@os", "lsblk -J -b -d", StateScript("client").String()[:10]} {
			if strings.Contains(cmd, k) {
				kinds[k] = true
			}
		}
		if got != ReadTimeout {
			t.Errorf("%.60q: bound %v, want %v", cmd, got, ReadTimeout)
		}
	}
	if len(kinds) != 3 {
		t.Errorf("not every kind of read ran: %v", kinds)
	}
}
