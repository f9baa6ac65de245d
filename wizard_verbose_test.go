package main

import (
	"strings"
	"testing"
)

// scalestore -v: the wizard's SSH layer writes its debug lines to stderr
// (they were lost: the wizard set no logger). Quitting while a host is
// still connecting gives that connection up, and says so.
func TestVerboseWizardShowsSSHDebugLines(t *testing.T) {
	ports, accepted := silentListener(t)
	spec := ptySpec(t, ports, "strict", nil)
	r := startPty(t, "-v", "-f", spec)
	r.waitFor(t, "the welcome screen", func() bool { return strings.Contains(r.output(), "Status") })
	r.tty.Write([]byte("s"))
	r.waitFor(t, "connection to the silent host", func() bool { return accepted.Load() > 0 })
	r.interrupt(t)
	if out := r.output(); !strings.Contains(out, "connect cancelled") || !strings.Contains(out, "level=DEBUG") {
		t.Fatalf("no SSH debug line with -v:\n%s", out)
	}
}
