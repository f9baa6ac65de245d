package steps

import (
	"context"
	"io"
	"testing"
	"time"

	"scalestore/config"
)

func BenchmarkBuildPlan(b *testing.B) {
	s := sample(&testing.T{}, config.ProfileDebian12)
	b.ReportAllocs()
	for b.Loop() {
		Build(s, nil).Render(io.Discard)
	}
}

func BenchmarkParseState(b *testing.B) {
	text := capture(b, "state-client0-healthy.txt")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseState("client", text); err != nil {
			b.Fatal(err)
		}
	}
}

// Re-apply of a built cluster through the scripted hosts: the engine's own
// cost, batched probes against one command per probe, side by side.
func BenchmarkReapply(b *testing.B) {
	s := sample(&testing.T{}, config.ProfileDebian12)
	p := Build(s, nil)
	f := newFakeCluster(p)
	f.files["client0/etc/corosync/authkey"] = []byte("k")
	if _, err := (&Engine{Hosts: f.source(), Poll: time.Millisecond}).Run(context.Background(), p); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name       string
		noPrefetch bool
	}{{"batched-probes", false}, {"probe-per-action", true}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				f.runs = 0
				if _, err := (&Engine{Hosts: f.source(), NoPrefetch: c.noPrefetch, Poll: time.Millisecond}).Run(context.Background(), p); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(f.runs), "remote-cmds/op")
		})
	}
}
