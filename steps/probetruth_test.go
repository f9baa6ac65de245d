package steps

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"scalestore/config"
)

// holdsWith runs a probe on the stub host as holds does, with the file
// tests (test -e, -d, -b) of the given paths answered as the built or blank
// host has them: sysfs and device nodes that no listing shows and this
// machine does not have.
func (h *stubHost) holdsWith(script string, paths map[string]bool) bool {
	for path, there := range paths {
		re := regexp.MustCompile(`test -[bde] '?` + regexp.QuoteMeta(path) + `'?(\s|$)`)
		script = re.ReplaceAllString(script, strconv.FormatBool(there)+"$1")
	}
	return h.holds(script)
}

// hostState is what one host shows a probe: real listings of the lab's
// hosts behind stub programs (as newStubHost takes them), a section of a
// capture made of several listings (program → file and "@@section"), the
// file tests of paths no listing shows, and files it does not have.
type hostState struct {
	captures map[string]string
	sections map[string][2]string
	paths    map[string]bool
	absent   []string
	// probes are the probe captures (e2e/probecapture) of this side, by
	// host of the plan: a host without one is listed as waiting for it.
	probes map[string]string
	// noCapture, when set, is why this side is not run: the lab commands
	// whose output would let it run.
	noCapture string
}

// probeRow is what a group of the plan's probes reads, on a built host and
// on a blank one. file rows are the probes of WriteFile actions: they read
// the file the action writes, which the built host has as the plan writes
// it and the blank one does not have.
type probeRow struct {
	match        string // regexp on "step-id: action description"
	file         bool
	built, blank hostState
}

// no is a side of a row that needs a capture the lab has not given yet.
func no(cmds string) hostState { return hostState{noCapture: "no capture yet: " + cmds} }

// Built hosts: storage1a (r1 Primary/Primary UpToDate, exported) and client0
// of the grown lab (three pairs). Blank hosts show the same plan's probes
// what a host shows before apply.
var (
	builtDRBD   = map[string]string{"/proc/drbd": "proc-drbd-storage1a.txt"}
	blankDRBD   = map[string]string{"/proc/drbd": "proc-drbd-crashed-half-down.txt"} // DRBD loaded, no resource listed
	builtUnits  = map[string]string{"systemctl": "systemctl-show-units-client0.txt"}
	blankUnits  = map[string]string{"systemctl": "systemctl-show-units-storage0a.txt"} // none of the client's units is enabled or running there
	builtMounts = map[string]string{"/proc/mounts": "proc-mounts-client0.txt"}
	blankMounts = map[string]string{"/proc/mounts": "proc-mounts-storage0a.txt"} // no GFS2 mounted
	builtPVs    = map[string]string{"pvs": "pvs-segments-client0.txt"}
	// what the plan's probes read on a built storage half and client at the
	// end of the e2e, and on the spares before apply (e2e/probecapture)
	builtProbes = map[string]string{"storage1a": "probes-built-storage1a.txt", "client0": "probes-built-client0.txt"}
	blankProbes = map[string]string{"storage1a": "probes-blank-storage2a.txt", "client0": "probes-blank-client2.txt"}
)

var probeTable = []probeRow{
	{match: `: write /`, file: true},
	// the role's packages, the fence agent's with them or not: the built
	// hosts have them all (the lab runs fenced); a host with one removed
	// is the blank side
	{match: `^packages: install `, built: hostState{probes: builtProbes},
		blank: hostState{probes: map[string]string{"client0": "probes-client2-gfs2-utils-removed.txt", "storage1a": "probes-storage2b-targetcli-removed.txt"}}},
	{match: `^modules: load `, built: hostState{probes: builtProbes}, blank: hostState{probes: blankProbes}},
	{match: `^drbd-metadata: create DRBD metadata`, built: hostState{captures: builtDRBD},
		blank: hostState{probes: blankProbes, absent: []string{"/proc/drbd"}}}, // DRBD not loaded yet there
	{match: `^drbd-up: attach and connect`, built: hostState{probes: builtProbes},
		blank: hostState{captures: blankDRBD, paths: map[string]bool{"/sys/block/drbd1": false}}},
	{match: `^drbd-initial-sync: wait until .* is connected`, built: hostState{captures: builtDRBD}, blank: hostState{captures: blankDRBD}},
	{match: `^drbd-initial-sync: (mark|make) `, built: hostState{captures: builtDRBD},
		blank: hostState{probes: blankProbes, absent: []string{"/proc/drbd"}}},
	{match: `^drbd-sync: wait until `, built: hostState{captures: builtDRBD}, blank: hostState{captures: blankDRBD}},
	{match: `^drbd-primary-[ab]: make `, built: hostState{captures: builtDRBD}, blank: hostState{captures: blankDRBD}},
	{match: `^export: disable the boot-time restore`, built: hostState{probes: builtProbes},
		// the lab's image never enabled it (probes-blank-storage2a.txt has no
		// rtslib-fb-targetctl.service in any .wants): there the probe holds, rightly
		blank: no("ls /etc/systemd/system/*.wants/ on a host where installing targetcli-fb enabled rtslib-fb-targetctl.service")},
	// the LIO objects in configfs, and the saved config naming them
	{match: `^export: export `, built: hostState{probes: builtProbes, captures: map[string]string{"/etc/rtslib-fb-target/saveconfig.json": "saveconfig-storage1a.json"}},
		blank: hostState{probes: blankProbes, absent: []string{"/etc/rtslib-fb-target/saveconfig.json"}}}, // never exported nor saved
	{match: `^(import|multipath|cluster|lv-boot): start `, built: hostState{captures: builtUnits}, blank: hostState{captures: blankUnits}},
	// probes-built-storage1a.txt's systemctl show: scalestore-drbd.service active and enabled
	{match: `^storage-boot: start `, built: hostState{probes: builtProbes}, blank: hostState{captures: blankUnits}},
	{match: `^import: log in to `, built: hostState{captures: map[string]string{"/sys/class/iscsi_session/": "iscsi-targetnames-client0.txt"}},
		blank: hostState{absent: []string{"/sys/class/iscsi_session/"}}}, // no session
	{match: `^multipath: mpath[0-9]+ has both paths`, built: hostState{captures: map[string]string{"multipathd": "multipathd-paths-client0.txt"}},
		blank: hostState{paths: map[string]bool{"/dev/mapper/mpath0": false, "/dev/mapper/mpath1": false, "/dev/mapper/mpath2": false}}},
	{match: `^cluster-key: generate the corosync authkey`, built: hostState{probes: builtProbes}, blank: hostState{probes: blankProbes}},
	{match: `^cluster: wait until the cluster is quorate`, built: hostState{sections: map[string][2]string{"corosync-quorumtool": {"state-client0-healthy.txt", "@@quorum"}}},
		blank: hostState{probes: blankProbes}},
	{match: `^(vg|lv|grow-lv): `, built: hostState{captures: builtPVs}, blank: hostState{probes: blankProbes}},
	{match: `^vg-lock: start `, built: hostState{probes: builtProbes}, blank: hostState{probes: blankProbes}},
	{match: `^lv-activate: activate `, built: hostState{probes: builtProbes}, blank: hostState{probes: blankProbes}},
	{match: `^gfs2: mkfs.gfs2 `, built: hostState{probes: builtProbes}, blank: hostState{probes: blankProbes}},
	{match: `^journals: add journals`, built: hostState{probes: builtProbes}, blank: hostState{probes: blankProbes}},
	{match: `^mount: create /mnt/gfs2`, built: hostState{paths: map[string]bool{"/mnt/gfs2": true}}, // proc-mounts-client0.txt has GFS2 mounted there
		blank: hostState{paths: map[string]bool{"/mnt/gfs2": false}}},
	{match: `^mount: set the fstab entry`, built: hostState{probes: builtProbes}, blank: hostState{probes: blankProbes}},
	{match: `^mount: mount /mnt/gfs2`, built: hostState{captures: builtMounts}, blank: hostState{captures: blankMounts}},
	{match: `^grow-fs: grow GFS2`, built: hostState{probes: builtProbes}, blank: hostState{probes: blankProbes}},
}

// on sets a stub host up as the side says; it returns the probe text to run
// (file tests answered, absent files moved where nothing is).
func (st hostState) on(t *testing.T, host, probe string) (*stubHost, string) {
	var h *stubHost
	if f := st.probes[host]; f != "" {
		var points func(string) string
		h, points = loadProbeCapture(t, f).host(t, st.captures)
		probe = points(probe)
	} else {
		h = newStubHost(t, st.captures)
	}
	for prog, sec := range st.sections {
		abs, err := filepath.Abs(filepath.Join("testdata", "captures", sec[0]))
		if err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(abs); err != nil || !strings.Contains(string(b), sec[1]+"\n") {
			t.Fatalf("capture %s has no section %s (%v)", sec[0], sec[1], err)
		}
		script := fmt.Sprintf("#!/bin/sh\nexec awk '$0 == \"%s\" {on=1; next} /^@@/ {on=0} on' '%s'\n", sec[1], abs)
		if err := os.WriteFile(filepath.Join(h.dir, prog), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range st.absent {
		probe = strings.ReplaceAll(probe, a, filepath.Join(t.TempDir(), "absent", a))
	}
	return h, probe
}

// Every probe of the plan says what it claims: run with dash on a built
// host's real listings it holds, and on a blank host's it does not. A probe
// whose listing has no capture yet is listed (go test -v shows them), not
// skipped in silence; a probe no row covers fails the test.
func TestEveryProbeOnBuiltAndBlankHosts(t *testing.T) {
	var waiting []string
	ran := 0
	// the lab's plan, and the same with a fence agent (fence handlers,
	// storage boot unit)
	for _, p := range []*Plan{Build(loadLab(t, "lab-grow.toml"), nil), Build(fencedLab(t, config.ProfileDebian12), nil)} {
		for _, host := range []string{"storage1a", "client0"} {
			for _, st := range p.Steps {
				for _, a := range st.Actions {
					pr := probeOf(a)
					if a.Host != host || pr == nil {
						continue
					}
					name := st.ID + ": " + a.Desc
					var rows []probeRow
					for _, r := range probeTable {
						if regexp.MustCompile(r.match).MatchString(name) {
							rows = append(rows, r)
						}
					}
					if len(rows) != 1 {
						t.Errorf("%s on %s: %d rows of probeTable cover its probe, want 1\n%s", name, host, len(rows), pr)
						continue
					}
					r := rows[0]
					if r.file {
						ran++
						checkFileProbe(t, host, a)
						continue
					}
					for _, side := range []struct {
						state hostState
						built bool
					}{{r.built, true}, {r.blank, false}} {
						which := map[bool]string{true: "built", false: "blank"}[side.built]
						why := side.state.noCapture
						if side.state.probes != nil && side.state.probes[host] == "" {
							why = "no probe capture of a " + which + " " + map[bool]string{true: "client", false: "storage"}[host == "client0"] + " host yet"
						}
						if why != "" {
							waiting = append(waiting, fmt.Sprintf("%-9s %s %-60.60s %s", host, which, name, why))
							continue
						}
						ran++
						h, text := side.state.on(t, host, pr.String())
						if got := h.holdsWith(text, side.state.paths); got != side.built {
							t.Errorf("%s on a %s %s: the probe holds = %v, want %v\n%s", name, which, host, got, side.built, text)
						}
					}
				}
			}
		}
	}
	if ran == 0 {
		t.Fatal("no probe was run")
	}
	t.Logf("%d probe checks run; not run for want of a capture (%d):\n%s", ran, len(waiting), strings.Join(waiting, "\n"))
}

// checkFileProbe runs a WriteFile's probe on a copy of its path under a
// temporary root: it holds where the file is as the plan writes it, and
// not where it is missing, differs or has another mode.
func checkFileProbe(t *testing.T, host string, a Action) {
	root := t.TempDir()
	text := strings.ReplaceAll(probeOf(a).String(), a.Path, root+a.Path)
	h := newStubHost(t, nil)
	if h.holds(text) {
		t.Errorf("%s on a blank %s: holds without the file", a.Desc, host)
	}
	if err := os.MkdirAll(filepath.Dir(root+a.Path), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		content string
		mode    os.FileMode
		want    bool
	}{{a.Content, a.Mode, true}, {a.Content + "#\n", a.Mode, false}, {a.Content, a.Mode ^ 0o004, false}} {
		if err := os.WriteFile(root+a.Path, []byte(tc.content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(root+a.Path, tc.mode); err != nil {
			t.Fatal(err)
		}
		if got := h.holds(text); got != tc.want {
			t.Errorf("%s on %s (mode %o, content as planned %v): holds = %v, want %v", a.Desc, host, tc.mode, tc.content == a.Content, got, tc.want)
		}
	}
}

// centos5's DRBD probes read DRBD 8.2's /proc/drbd ("st:" roles): on its
// layout each says what the minor shows (r0 Connected Primary/Primary
// UpToDate, r1 SyncSource Primary/Secondary UpToDate/Inconsistent), and on
// a /proc/drbd that lists no resource none holds. The other centos5 probes
// have no capture at all: there is no CentOS 5 lab.
func TestCentOS5DRBDProbesOnDRBD82(t *testing.T) {
	s := sample(t, "centos5")
	p := Build(s, nil)
	want := map[string]map[string]bool{ // host → step: holds on the 8.2 layout
		"storage0a": {"drbd-up": true, "drbd-initial-sync": true, "drbd-sync": true, "drbd-primary-a": true},
		"storage1a": {"drbd-up": true, "drbd-initial-sync": true, "drbd-sync": false, "drbd-primary-a": true},
	}
	// these probes grep /proc/drbd themselves: it is read where the
	// fixture is
	h := newStubHost(t, nil)
	on := func(capture, probe string) bool {
		abs, err := filepath.Abs(filepath.Join("testdata", "captures", capture))
		if err != nil {
			t.Fatal(err)
		}
		return h.holds(strings.ReplaceAll(probe, "/proc/drbd", abs))
	}
	seen := 0
	for _, st := range p.Steps {
		for _, a := range st.Actions {
			w, ok := want[a.Host][st.ID]
			pr := probeOf(a)
			if !ok || pr == nil {
				continue
			}
			seen++
			if got := on("proc-drbd-8.2-layout.txt", pr.String()); got != w {
				t.Errorf("%s: %s on %s: holds = %v on DRBD 8.2's /proc/drbd, want %v\n%s", st.ID, a.Desc, a.Host, got, w, pr)
			}
			if on("proc-drbd-crashed-half-down.txt", pr.String()) {
				t.Errorf("%s: %s on %s: holds with no resource listed\n%s", st.ID, a.Desc, a.Host, pr)
			}
		}
	}
	if seen < 8 {
		t.Fatalf("only %d DRBD probes found in the centos5 plan", seen)
	}
}
