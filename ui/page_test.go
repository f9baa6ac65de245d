package ui

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"scalestore/config"
	"scalestore/remote"
	"scalestore/steps"
)

// TestRetryClosesTheSSHSideOutsideUpdate: r on discovery after a failure
// starts again on a new SSH side; the old one's close (it waits for its
// connections) runs in a command, never inside Update.
func TestRetryClosesTheSSHSideOutsideUpdate(t *testing.T) {
	f := newFakeHosts(t)
	f.fail["client1"] = errors.New("connect to client1: connection refused")
	release := make(chan struct{})
	closed := make(chan struct{}, 4)
	connects := 0
	path := filepath.Join(t.TempDir(), "scalestore.toml")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	t.Cleanup(func() { close(release) })
	a := newApp(ctx, Options{SpecPath: path, Width: 80, Height: 24, connect: func(s *config.Spec, p remote.Prompter) (steps.HostSource, func()) {
		connects++
		src, _ := f.connect(s, p)
		return src, func() { <-release; closed <- struct{}{} }
	}})
	h := newHarness(t, a)
	h.keys("n")
	h.send(hostsDoneMsg{spec: labSpec(path)})
	h.waitFor("discovery to finish", a.discover.finished)
	if a.discover.ready() || connects != 1 {
		t.Fatalf("client1 was read, or %d connects:\n%s", connects, h.screen())
	}
	delete(f.fail, "client1")

	pressed := make(chan struct{})
	go func() { h.keys("r"); close(pressed) }()
	select {
	case <-pressed:
	case <-time.After(10 * time.Second):
		t.Fatal("r blocked the wizard: Update waits for the old SSH side to close")
	}
	h.waitFor("every host read", a.discover.ready)
	if connects != 2 {
		t.Fatalf("r did not read the hosts again on a new SSH side (%d connects):\n%s", connects, h.screen())
	}
	release <- struct{}{} // the close may finish now: it runs in a command
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the old SSH side was never closed")
	}
}
