package ui

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"charm.land/bubbles/v2/spinner"

	"scalestore/config"
	"scalestore/remote"
	"scalestore/steps"
)

// The counter under the hosts tells those read from those that failed:
// a host that could not be read is never counted as read.
func TestDiscoveryCountsFailuresApart(t *testing.T) {
	h, _ := atDiscovery(t, nil)
	a := h.app()
	a.discover.pending = map[string]bool{"storage0a": true, "storage0b": true, "client0": true, "client1": true}
	a.discover.errs = map[string]error{}
	h.send(hostDiscoveredMsg{host: "storage0a", facts: facts(t, capture(t, "discover-storage0a-blank.txt"), "storage0a")},
		hostDiscoveredMsg{host: "client0", err: errors.New("connect to client0: dial tcp 10.0.0.21:22: connect: connection refused")},
		hostDiscoveredMsg{host: "client1", err: errors.New("connect to client1: dial tcp 10.0.0.22:22: connect: connection refused")})
	s := h.screen()
	if !strings.Contains(s, "1 read, 2 failed, 1 connecting") || strings.Contains(s, "3 of 4") {
		t.Fatalf("the counter does not tell the failures apart:\n%s", s)
	}
}

// hangingHosts is a remote side whose hosts never answer until the test ends.
func hangingHosts(t *testing.T) connectFunc {
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	return func(*config.Spec, remote.Prompter) (steps.HostSource, func()) {
		return func(ctx context.Context, name string) (remote.Host, error) {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-stop:
				return nil, errors.New("test over")
			}
		}, func() {}
	}
}

// testClock is a clock the test moves.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// A host still connecting shows how long it has been trying, moved on by
// the screen's tick.
func TestDiscoveryShowsHowLongAHostHasBeenConnecting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "scalestore.toml")
	h := newTestApp(t, path, nil)
	a := h.app()
	a.connect = hangingHosts(t)
	clock := &testClock{now: time.Unix(1795619767, 0)}
	a.clock = clock.Now
	h.keys("n")
	h.send(hostsDoneMsg{spec: labSpec(path)})
	if s := h.screen(); !strings.Contains(s, "0 read, 0 failed, 4 connecting") {
		t.Fatalf("%s", s)
	}
	clock.add(12*time.Second + 300*time.Millisecond)
	h.send(spinner.TickMsg{})
	if s := h.screen(); strings.Count(s, "connecting… 12s") != 4 {
		t.Fatalf("no elapsed time next to the hosts connecting:\n%s", s)
	}
	clock.add(time.Minute)
	h.send(spinner.TickMsg{})
	if s := h.screen(); strings.Count(s, "connecting… 1m12s") != 4 {
		t.Fatalf("the elapsed time did not move on:\n%s", s)
	}
}

// Esc on discovery goes back to the list of hosts, the field an operator
// comes back to change; tab from there starts discovery again.
func TestEscFromDiscoveryOpensTheHostsList(t *testing.T) {
	h := newTestApp(t, filepath.Join(t.TempDir(), "new.toml"), nil)
	h.keys("n")
	fillClusterAndSSH(h, "lab")
	h.typ("storage0a 10.0.0.11\nstorage0b 10.0.0.12\nclient0 10.0.0.21").keys("tab")
	a := h.app()
	if a.screen != scrDiscover {
		t.Fatalf("not at discovery:\n%s", h.screen())
	}
	h.keys("esc")
	s := h.screen()
	if a.screen != scrHosts || !strings.Contains(s, "┃ Hosts") || !strings.Contains(s, "1 storage0a 10.0.0.11") || !strings.Contains(s, "enter new line") {
		t.Fatalf("esc did not open the hosts list:\n%s", s)
	}
	h.typ("\nclient1 10.0.0.22").keys("tab")
	if a.screen != scrDiscover || len(a.spec.Hosts) != 4 || a.spec.Cluster.Name != "lab" {
		t.Fatalf("the hosts list did not go on to discovery with the host added (%v, %d hosts):\n%s", a.screen, len(a.spec.Hosts), h.screen())
	}
}

// At 60 columns a host's OS, kernel and disks do not fit on a line: they
// wrap under the host, never cut.
func TestDiscoveredHostWrapsAt60Columns(t *testing.T) {
	h, _ := atDiscovery(t, nil)
	h.resize(60, 15)
	a := h.app()
	a.discover.pending = map[string]bool{"storage0a": true, "storage0b": true, "client0": true, "client1": true}
	a.discover.errs = map[string]error{}
	h.send(hostDiscoveredMsg{host: "storage0a", facts: facts(t, readTestdata(t, "discover-storage-disks.txt"), "storage0a")})
	whole := wholeBody(h, "down")
	if strings.Contains(strings.ReplaceAll(whole, "connecting…", ""), "…") {
		t.Fatalf("a line is cut:\n%s", whole)
	}
	for _, want := range []string{"✓ storage0a Debian GNU/Linux 12 (bookworm), kernel 6.1.0-56-amd64", "disks: vda 20 GiB, vdb 64 MiB, vdc 1 GiB"} {
		if !strings.Contains(squeeze(whole), squeeze(want)) {
			t.Errorf("%q cannot be read:\n%s", want, whole)
		}
	}
}
