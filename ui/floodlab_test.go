package ui

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"scalestore/config"
)

// TestFloodOnTheLab is TestFloodOfOutput on a real host: the lab's
// storage0a prints `seq 200000` over SSH, the wizard's run screen shows it
// to the last line, and the run log holds every line in order. It runs when
// SCALESTORE_LAB_SPEC names the lab's spec (make e2e sets it); the spec's
// host keys and SSH key are used as they are.
func TestFloodOnTheLab(t *testing.T) {
	specPath := os.Getenv("SCALESTORE_LAB_SPEC")
	if specPath == "" {
		t.Skip("SCALESTORE_LAB_SPEC is not set: no lab to run on")
	}
	s, err := config.Load(specPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src, closeSrc := connectSSH(nil)(s, nil)
	defer closeSrc()
	a, fa, p, keys, done, t0 := runFloodApp(ctx, specPath, src)
	defer keys.Close()
	select {
	case <-fa.ended:
	case <-time.After(10 * time.Minute):
		t.Fatal("the run did not end within 10 minutes")
	}
	t.Logf("%d lines from storage0a through the wizard in %s", floodLines, fa.endedAt.Sub(t0))
	p.Quit()
	if err := <-done; err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		t.Fatal(err)
	}
	if err := a.done.out.err; err != nil {
		t.Fatalf("the run failed: %v", err)
	}
	floodShownAndLogged(t, a, "run log: ")
}
