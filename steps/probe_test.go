package steps

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"scalestore/config"
)

// stubHost puts programs on PATH that print real captures from the lab in
// place of systemctl, iscsiadm, pvs and multipathd, and runs shell there.
type stubHost struct {
	t   *testing.T
	dir string
}

// newStubHost stubs programs (name → capture) and files cat reads (path
// prefix → capture); cat reads any other file for real.
func newStubHost(t *testing.T, captures map[string]string) *stubHost {
	t.Helper()
	if _, err := exec.LookPath("dash"); err != nil {
		t.Skip("dash not installed")
	}
	dir := t.TempDir()
	catCases := ""
	for name, capture := range captures {
		abs, err := filepath.Abs(filepath.Join("testdata", "captures", capture))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(abs); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(name, "/") {
			catCases += fmt.Sprintf("  '%s'*) exec /bin/cat '%s' ;;\n", name, abs)
			continue
		}
		script := fmt.Sprintf("#!/bin/sh\n/bin/cat '%s'\n", abs)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cat := "#!/bin/sh\ncase \"$1\" in\n" + catCases + "esac\nexec /bin/cat \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "cat"), []byte(cat), 0o755); err != nil {
		t.Fatal(err)
	}
	return &stubHost{t: t, dir: dir}
}

// reMapNode is the probes' check of a map's device node: udev makes it, no
// listing shows it, and this machine has none; the stub host takes it as
// there.
var reMapNode = regexp.MustCompile(`test -b /dev/mapper/mpath[0-9]+ `)

// holds runs a probe alone, the way the engine does when it re-probes.
func (h *stubHost) holds(script string) bool {
	cmd := exec.Command("dash", "-c", reMapNode.ReplaceAllString(script, "true "))
	cmd.Env = append(os.Environ(), "PATH="+h.dir+":"+os.Getenv("PATH"))
	return cmd.Run() == nil
}

// prefetch runs the host's batched probe script and returns the keys it
// answered for.
func (h *stubHost) prefetch(p *Plan, host string) map[string]bool {
	cmd := exec.Command("dash", "-c", reMapNode.ReplaceAllString(PrefetchScript(p, host).String(), "true "))
	cmd.Env = append(os.Environ(), "PATH="+h.dir+":"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		h.t.Fatalf("prefetch on %s: %v\n%s", host, err, out)
	}
	keys := map[string]bool{}
	for _, l := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(l, "ok "); ok {
			for _, k := range strings.Fields(rest) {
				keys[k] = true
			}
		} else if l != "" {
			h.t.Fatalf("prefetch on %s: stray output %q", host, l)
		}
	}
	return keys
}

// sharedProbes are the shared probes of a host's actions, by "step/action".
func sharedProbes(p *Plan, host string) map[string]Action {
	m := map[string]Action{}
	for si, st := range p.Steps {
		for ai, a := range st.Actions {
			if pr := probeOf(a); a.Host == host && pr != nil {
				if _, _, ok := splitShared(pr.String()); ok {
					m[fmt.Sprintf("%d/%d", si, ai)] = a
				}
			}
		}
	}
	return m
}

func loadLab(t *testing.T, name string) *config.Spec {
	t.Helper()
	s, err := config.Load(filepath.Join("..", "lab", name))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// unfencedLab is a lab spec with fencing.agent = "none", the lab as it ran
// before it had BMCs (the captures of a built cluster come from that lab).
func unfencedLab(t *testing.T, name string) *config.Spec {
	t.Helper()
	s := loadLab(t, name)
	s.Fencing = config.Fencing{Agent: "none"}
	return s
}

// The shared probes read real listings of a built cluster: alone and
// batched they answer alike, and what they say is what the listing says.
func TestSharedProbesOnRealListings(t *testing.T) {
	p := Build(unfencedLab(t, "lab-grow.toml"), nil)
	client := map[string]string{
		"systemctl":                 "systemctl-show-units-client0.txt",
		"/sys/class/iscsi_session/": "iscsi-targetnames-client0.txt",
		"pvs":                       "pvs-segments-client0.txt",
		"multipathd":                "multipathd-paths-client0.txt",
		"/proc/mounts":              "proc-mounts-client0.txt",
	}
	degraded := map[string]string{}
	for k, v := range client {
		degraded[k] = v
	}
	degraded["systemctl"] = "systemctl-show-units-storage0a.txt" // nothing of the client's runs there
	degraded["multipathd"] = "multipathd-paths-one-failed.txt"   // mpath0 lost a path
	degraded["/proc/mounts"] = "proc-mounts-storage0a.txt"       // no GFS2 there

	for _, tc := range []struct {
		name, host string
		captures   map[string]string
		fails      []string // descriptions of the probes that must not hold; all others hold
	}{
		{"client healthy", "client0", client, nil},
		{"client degraded", "client0", degraded, []string{"start iscsid and log in at boot", "start multipathd.service now and at boot",
			"start corosync.service now and at boot", "start dlm.service, lvmlockd.service now and at boot",
			"start scalestore-lv.service now and at boot",
			"mpath0 has both paths", "mount /mnt/gfs2"}},
		{"storage healthy", "storage1a", map[string]string{"/proc/drbd": "proc-drbd-storage1a.txt",
			"/etc/rtslib-fb-target/saveconfig.json": "saveconfig-storage1a.json"}, nil},
		{"storage resyncing", "storage0a", map[string]string{"/proc/drbd": "proc-drbd-resync-storage0a.txt",
			"/etc/rtslib-fb-target/saveconfig.json": "saveconfig-storage0a.json"},
			[]string{"wait until r0 is UpToDate on both halves"}},
		{"storage without DRBD", "storage0a", map[string]string{"/proc/drbd": "proc-mounts-storage0a.txt",
			"/etc/rtslib-fb-target/saveconfig.json": "proc-mounts-storage0a.txt"},
			[]string{"wait until r0 is connected to its peer", "mark r0 in sync without copying (skip_initial_sync: brand-new disks)",
				"wait until r0 is UpToDate on both halves", "make storage0a primary for r0",
				"create DRBD metadata for r0 on /dev/vdb"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newStubHost(t, tc.captures)
			batched := h.prefetch(p, tc.host)
			probes := sharedProbes(p, tc.host)
			if len(probes) < 5 {
				t.Fatalf("only %d shared probes on %s", len(probes), tc.host)
			}
			for key, a := range probes {
				alone := h.holds(probeOf(a).String())
				if alone != batched[key] {
					t.Errorf("%q: alone %v, batched %v", a.Desc, alone, batched[key])
				}
				want := true
				for _, f := range tc.fails {
					want = want && a.Desc != f
				}
				if alone != want {
					t.Errorf("%q holds = %v, want %v on these listings", a.Desc, alone, want)
				}
			}
		})
	}
}

// The prefetch reads every file a host's plan writes with one query; it
// answers as the one-file probe does, for files right, wrong, missing or
// with the wrong mode.
func TestBatchedFileProbes(t *testing.T) {
	h := newStubHost(t, nil)
	dir := t.TempDir()
	path := func(n string) string { return filepath.Join(dir, n) }
	os.WriteFile(path("right"), []byte("A\n"), 0o644)
	os.WriteFile(path("wrong"), []byte("B\n"), 0o644)
	os.WriteFile(path("mode"), []byte("C\n"), 0o644)
	os.WriteFile(path("right-too"), []byte("D\n"), 0o600)
	st := Step{ID: "files", Title: "files", Actions: []Action{
		write("h", path("right"), "A\n", 0o644, nil),
		write("h", path("wrong"), "A\n", 0o644, nil),
		write("h", path("mode"), "C\n", 0o600, nil),
		write("h", path("missing"), "E\n", 0o644, nil),
		write("h", path("right-too"), "D\n", 0o600, nil),
	}}
	p := &Plan{Steps: []Step{st}}
	batched := h.prefetch(p, "h")
	want := []bool{true, false, false, false, true}
	for i, a := range st.Actions {
		alone := h.holds(probeOf(a).String())
		if alone != want[i] || batched[fmt.Sprintf("0/%d", i)] != want[i] {
			t.Errorf("%s: alone %v, batched %v, want %v", filepath.Base(a.Path), alone, batched[fmt.Sprintf("0/%d", i)], want[i])
		}
	}
	if n := strings.Count(PrefetchScript(p, "h").String(), "sha256sum"); n != 1 {
		t.Errorf("the batched script runs sha256sum %d times, want once for all files", n)
	}
}

// A half whose VM was killed boots with DRBD down: /proc/drbd lists no
// minor, "drbdadm dstate" reads "Consistent" from the metadata, and
// "drbdadm dump-md" refuses the unclean metadata. Its metadata exists and
// its sync was started long ago: neither create-md nor the skip-sync
// new-current-uuid may run (the lab's rejoin found the first; the blank-disk
// guard stopped it).
func TestCrashedHalfKeepsItsMetadata(t *testing.T) {
	p := Build(loadLab(t, "lab.toml"), nil)
	h := newStubHost(t, map[string]string{"/proc/drbd": "proc-drbd-crashed-half-down.txt"})
	abs := func(n string) string { a, _ := filepath.Abs(filepath.Join("testdata", "captures", n)); return a }
	drbdadm := fmt.Sprintf("#!/bin/sh\ncase \"$1\" in\n  dstate) exec /bin/cat '%s' ;;\n  dump-md) head -1 '%s' >&2; exit 1 ;;\nesac\nexit 10\n",
		abs("drbdadm-dstate-crashed-half-down.txt"), abs("drbdadm-dump-md-crashed-half-down.txt"))
	if err := os.WriteFile(filepath.Join(h.dir, "drbdadm"), []byte(drbdadm), 0o755); err != nil {
		t.Fatal(err)
	}
	batched := h.prefetch(p, "storage0a")
	want := map[string]bool{
		"create DRBD metadata for r0 on /dev/vdb":                              true,
		"mark r0 in sync without copying (skip_initial_sync: brand-new disks)": true,
		"wait until r0 is connected to its peer":                               false,
		"make storage0a primary for r0":                                        false,
		"wait until r0 is UpToDate on both halves":                             false,
	}
	seen := 0
	for key, a := range sharedProbes(p, "storage0a") {
		w, ok := want[a.Desc]
		if !ok {
			continue
		}
		seen++
		if alone := h.holds(probeOf(a).String()); alone != w || batched[key] != w {
			t.Errorf("%q: alone %v, batched %v, want %v", a.Desc, alone, batched[key], w)
		}
	}
	if seen != len(want) {
		t.Fatalf("found %d of the %d probes", seen, len(want))
	}
}
