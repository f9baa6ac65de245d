package remote

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestFanOutCapAndOutcomes(t *testing.T) {
	t.Parallel()
	names := []string{"a", "b", "c", "d", "e", "f", "g", "h", "a"}
	var running, peak atomic.Int32
	start := time.Now()
	out := FanOut(context.Background(), names, 3, func(ctx context.Context, name string) (string, error) {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
		switch name {
		case "c":
			return "", fmt.Errorf("%s: broken", name)
		case "d":
			panic("boom")
		}
		return strings.ToUpper(name), nil
	})
	if len(out) != 8 {
		t.Fatalf("%d outcomes for 8 distinct names", len(out))
	}
	if p := peak.Load(); p != 3 {
		t.Fatalf("peak concurrency %d, want 3", p)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 2*time.Second {
		t.Fatalf("8 jobs of 100ms, 3 at a time, took %v", d)
	}
	if out["a"].Value != "A" || out["a"].Err != nil || out["h"].Value != "H" {
		t.Fatalf("outcomes %+v", out)
	}
	if out["c"].Err == nil || !strings.Contains(out["d"].Err.Error(), "panic: boom") {
		t.Fatalf("errors %v / %v", out["c"].Err, out["d"].Err)
	}
	err := Errs(out)
	if err == nil || !strings.HasPrefix(err.Error(), "c: broken\nd: panic: boom") {
		t.Fatalf("Errs: %v", err)
	}
	if Errs(map[string]Outcome[int]{"x": {Value: 1}}) != nil {
		t.Fatal("Errs of successes")
	}
}

func TestFanOutCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	out := FanOut(ctx, []string{"a", "b", "c", "d"}, 1, func(ctx context.Context, name string) (int, error) {
		calls.Add(1)
		cancel()
		<-ctx.Done()
		return 0, ctx.Err()
	})
	if calls.Load() != 1 || len(out) != 4 {
		t.Fatalf("%d calls, %d outcomes", calls.Load(), len(out))
	}
	for n, o := range out {
		if !errors.Is(o.Err, context.Canceled) {
			t.Fatalf("%s: %v", n, o.Err)
		}
	}
}

// FanOut over real servers through a Pool: one command per host, at most
// two at a time, every result in its place.
func TestFanOutOverPool(t *testing.T) {
	t.Parallel()
	targets := map[string]Target{}
	var names []string
	for i := range 4 {
		s := startSSHD(t, sshdOptions{})
		name := fmt.Sprintf("node%d", i)
		targets[name] = s.target(t, name)
		names = append(names, name)
	}
	pool := NewPool(Options{})
	defer pool.Close()
	run := func() map[string]Outcome[string] {
		return FanOut(ctxT(t), names, 2, func(ctx context.Context, name string) (string, error) {
			h, err := pool.Get(ctx, targets[name])
			if err != nil {
				return "", err
			}
			res, err := h.Run(ctx, Script("echo %s; test %s != node3", name, name), RunOptions{})
			return strings.TrimSpace(string(res.Stdout)), err
		})
	}
	for range 2 { // the second round reuses the Pool's connections
		out := run()
		for _, n := range names {
			if out[n].Value != n {
				t.Fatalf("%s: %+v", n, out[n])
			}
		}
		var ee *ExitError
		if !errors.As(out["node3"].Err, &ee) || ee.Host != "node3" || Errs(out) == nil {
			t.Fatalf("node3: %v", out["node3"].Err)
		}
	}
	h1, _ := pool.Get(ctxT(t), targets["node1"])
	h2, _ := pool.Get(ctxT(t), targets["node1"])
	if h1 != h2 {
		t.Fatal("the Pool made two hosts for one name")
	}
}
