package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The real scalestore wizard, driven by testdata/unreachable.txt: a new
// cluster's hosts form filled in field by field, then discovery, which shows
// each of the three hosts refused (ports 1-3 of this machine: nothing is
// ever contacted, let alone applied), then ctrl+c ends the wizard with
// status 0 and no spec written.
func TestDrivesTheRealWizard(t *testing.T) {
	if testing.Short() {
		t.Skip("builds scalestore")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "scalestore")
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = "/usr/local/go/bin/go"
	}
	build := exec.Command(gobin, "build", "-o", bin, "scalestore")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build scalestore: %v\n%s", err, out)
	}
	t.Setenv("KNOWN_HOSTS", filepath.Join(dir, "known_hosts"))
	spec := filepath.Join(dir, "scalestore.toml")
	args := []string{"--size", "100x30", "testdata/unreachable.txt", "--", bin, "-f", spec}
	var sb strings.Builder
	rc := run(args, &sb)
	out := sb.String()
	if rc != 0 {
		t.Fatalf("exit %d:\n%s", rc, out)
	}
	if _, err := os.Stat(spec); !os.IsNotExist(err) {
		t.Fatalf("the wizard wrote %s (or it cannot be read: %v) without an apply", spec, err)
	}
}
