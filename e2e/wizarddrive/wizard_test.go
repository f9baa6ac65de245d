package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  string
)

// scalestoreBin builds the scalestore program once for the tests (TestMain
// removes it).
func scalestoreBin(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds scalestore")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "wizarddrive-test")
		if err != nil {
			buildErr = err.Error()
			return
		}
		gobin, err := exec.LookPath("go")
		if err != nil {
			gobin = "/usr/local/go/bin/go"
		}
		builtBin = filepath.Join(dir, "scalestore")
		if out, err := exec.Command(gobin, "build", "-o", builtBin, "scalestore").CombinedOutput(); err != nil {
			buildErr = "go build scalestore: " + err.Error() + "\n" + string(out)
		}
	})
	if buildErr != "" {
		t.Fatal(buildErr)
	}
	return builtBin
}

// The real scalestore wizard, driven by testdata/unreachable.txt: a new
// cluster's hosts form filled in field by field, then discovery, which shows
// each of the three hosts refused (ports 1-3 of this machine: nothing is
// ever contacted, let alone applied), then ctrl+c ends the wizard with
// status 0 and no spec written.
func TestDrivesTheRealWizard(t *testing.T) {
	bin := scalestoreBin(t)
	dir := t.TempDir()
	t.Setenv("KNOWN_HOSTS", filepath.Join(dir, "known_hosts"))
	spec := filepath.Join(dir, "scalestore.toml")
	var out strings.Builder
	if rc := run([]string{"--size", "100x30", "testdata/unreachable.txt", "--", bin, "-f", spec}, &out); rc != 0 {
		t.Fatalf("exit %d:\n%s", rc, out.String())
	}
	if _, err := os.Stat(spec); !os.IsNotExist(err) {
		t.Fatalf("the wizard wrote %s (or it cannot be read: %v) without an apply", spec, err)
	}
}

// make demo's first script, up to discovery, on the real wizard: its welcome,
// hosts form and the six lab hosts are typed as the wizard expects them. The
// wizard runs in a network namespace of its own with no network at all
// (unshare --net), so the lab's addresses are unreachable: every host fails
// discovery, and ctrl+c ends it. The rest of the script needs the lab.
func TestDemoNewClusterUpToDiscovery(t *testing.T) {
	bin := scalestoreBin(t)
	if out, err := exec.Command("unshare", "--net", "--", "true").CombinedOutput(); err != nil {
		t.Skipf("unshare --net does not work here (%v: %s): the wizard cannot be cut off from the lab", err, out)
	}
	src, err := os.ReadFile("../demo/new-cluster.txt")
	if err != nil {
		t.Fatal(err)
	}
	head, _, ok := strings.Cut(string(src), "\nwait /Every host was read/")
	if !ok {
		t.Fatal("new-cluster.txt has no step waiting for discovery's end")
	}
	script := head + "\nwait /✗ storage0a/ 60s\nwait /✗ client1/ 60s\nkey ctrl+c\nexit 30s\n"
	dir := t.TempDir()
	t.Setenv("LAB_DIR", dir)
	spec := filepath.Join(dir, "scalestore.toml")
	rc, out := drive(t, script, nil, []string{"unshare", "--net", "--", bin, "-f", spec})
	if rc != 0 {
		t.Fatalf("exit %d:\n%s", rc, out)
	}
	if _, err := os.Stat(spec); !os.IsNotExist(err) {
		t.Fatalf("the wizard wrote %s (or it cannot be read: %v) without an apply", spec, err)
	}
}
