package steps

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"scalestore/config"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func sample(t *testing.T, profile string) *config.Spec {
	t.Helper()
	data, err := os.ReadFile("../sample.toml")
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(data), `profile = "debian12"`, `profile = "`+profile+`"`, 1)
	s, err := config.Parse("sample.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./steps -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the plan now built; diff it with `go test ./steps -run Golden -update && git diff`.\nfirst difference at line %d", path, firstDiff(got, want))
	}
}

func firstDiff(a, b []byte) int {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return i + 1
		}
	}
	return min(len(al), len(bl)) + 1
}

func TestGoldenPlans(t *testing.T) {
	for _, prof := range []string{config.ProfileDebian12, config.ProfileCentOS5} {
		t.Run(prof, func(t *testing.T) {
			var b bytes.Buffer
			Build(sample(t, prof), nil).Render(&b)
			golden(t, "plan-"+prof+".golden", b.Bytes())
		})
	}
}

// The order STACK.md gives: storage (DRBD up, primary) → exports → client
// logins → multipath → corosync → dlm → lvmlockd → VG → LV → mkfs → mount.
func TestStepOrder(t *testing.T) {
	want := map[string][]string{
		config.ProfileDebian12: {"packages", "drbd-config", "drbd-metadata", "drbd-up", "drbd-initial-sync", "drbd-sync", "drbd-primary-a", "drbd-primary-b", "export", "import", "multipath", "lvm-config", "cluster-key", "cluster", "vg", "vg-lock", "lv", "lv-activate", "gfs2", "mount", "grow-lv", "grow-refresh", "grow-fs"},
		config.ProfileCentOS5:  {"packages", "drbd-config", "drbd-metadata", "drbd-up", "drbd-initial-sync", "drbd-sync", "drbd-primary-a", "drbd-primary-b", "export", "import", "multipath", "lvm-config", "vg", "lv", "lv-activate", "gfs2", "mount", "grow"},
	}
	for prof, order := range want {
		p := Build(sample(t, prof), nil)
		idx := map[string]int{}
		for i, st := range p.Steps {
			idx[st.ID] = i
		}
		for i := 1; i < len(order); i++ {
			a, okA := idx[order[i-1]]
			b, okB := idx[order[i]]
			if !okA || !okB || a >= b {
				t.Errorf("%s: step %q must come before %q", prof, order[i-1], order[i])
			}
		}
	}
}

// Every command the plan sends is valid POSIX shell, and every Run action
// can tell "already done" from "to do".
func TestCommandsAreValidShell(t *testing.T) {
	if _, err := exec.LookPath("dash"); err != nil {
		t.Skip("dash not installed")
	}
	for _, prof := range []string{config.ProfileDebian12, config.ProfileCentOS5} {
		for _, st := range Build(sample(t, prof), nil).Steps {
			for _, a := range st.Actions {
				cmds := []string{a.Cmd.String()}
				if a.Unless != nil {
					cmds = append(cmds, a.Unless.String())
				}
				if a.OnChange != nil {
					cmds = append(cmds, a.OnChange.String())
				}
				if a.Kind == Run && a.Unless == nil {
					t.Errorf("%s/%s %s: %q has no probe, so a second apply would run it again", prof, st.ID, a.Host, a.Desc)
				}
				for _, c := range cmds {
					if c == "" {
						continue
					}
					if out, err := exec.Command("dash", "-n", "-c", c).CombinedOutput(); err != nil {
						t.Errorf("%s/%s: not valid shell: %s\n%s", prof, st.ID, c, out)
					}
				}
			}
		}
	}
}

// The batched probe command of every host is valid shell, and answers for
// every probe of that host's actions.
func TestPrefetchScriptsAreValidShell(t *testing.T) {
	if _, err := exec.LookPath("dash"); err != nil {
		t.Skip("dash not installed")
	}
	for _, prof := range []string{config.ProfileDebian12, config.ProfileCentOS5} {
		p := Build(sample(t, prof), nil)
		for _, h := range p.Hosts() {
			script := PrefetchScript(p, h).String()
			if out, err := exec.Command("dash", "-n", "-c", script).CombinedOutput(); err != nil {
				t.Fatalf("%s %s: %v\n%s", prof, h, err, out)
			}
			// run for real here, with none of the stack installed: the
			// script ends normally and prints nothing but its "ok" lines,
			// and no probe of a DRBD or LVM step holds
			out, err := exec.Command("dash", "-c", script).CombinedOutput()
			if err != nil {
				t.Fatalf("%s %s: %v %q", prof, h, err, out)
			}
			for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				if l == "" {
					continue
				}
				if !strings.HasPrefix(l, "ok ") {
					t.Fatalf("%s %s: stray output %q", prof, h, l)
				}
				for _, k := range strings.Fields(l)[1:] {
					var si, ai int
					fmt.Sscanf(k, "%d/%d", &si, &ai)
					if id := p.Steps[si].ID; strings.HasPrefix(id, "drbd") || strings.HasPrefix(id, "vg") || strings.HasPrefix(id, "lv") || id == "gfs2" {
						t.Errorf("%s %s: probe of %s %q holds on a machine without the stack", prof, h, id, p.Steps[si].Actions[ai].Desc)
					}
				}
			}
		}
	}
}

func TestFilesFollowSpec(t *testing.T) {
	s := sample(t, config.ProfileDebian12)
	res := DRBDResource(s, s.Pairs[1])
	for _, want := range []string{"resource r1 {", "device /dev/drbd1;", "allow-two-primaries yes;", "after-sb-0pri discard-zero-changes;",
		"after-sb-1pri discard-secondary;", "after-sb-2pri disconnect;", "protocol C;", "on storage1a {", "address 192.168.0.12:7789;", "disk /dev/sdb;"} {
		if !strings.Contains(res, want) {
			t.Errorf("r1.res lacks %q:\n%s", want, res)
		}
	}
	mp := MultipathConf(s)
	for _, p := range s.Pairs {
		if !strings.Contains(mp, "wwid "+s.WWID(p)+"\n        alias "+p.Alias()) {
			t.Errorf("multipath.conf does not map %s to %s", s.WWID(p), p.Alias())
		}
	}
	if !strings.Contains(mp, "path_grouping_policy failover") {
		t.Error("multipath.conf must group paths for failover")
	}
	cs := CorosyncConf(s)
	if !strings.Contains(cs, "cluster_name: client") || !strings.Contains(cs, "two_node: 1") || !strings.Contains(cs, "ring0_addr: 192.168.0.21\n        name: client1\n        nodeid: 2") {
		t.Errorf("corosync.conf:\n%s", cs)
	}
	s.Clients = append(s.Clients, config.Client{Host: "storage0a", NodeID: 3})
	if strings.Contains(CorosyncConf(s), "two_node") {
		t.Error("two_node must be set only for exactly two clients")
	}
	if got := FstabLine(s); got != "/dev/VG0/LV0 /mnt/gfs2 gfs2 _netdev,noatime 0 0" {
		t.Errorf("fstab line %q", got)
	}
}

func TestSystemPVsKeptInFilter(t *testing.T) {
	s := sample(t, config.ProfileDebian12)
	f := &Facts{Hosts: map[string]*HostFacts{"client0": {SystemPVs: []string{"/dev/vda3"}}}}
	conf := LVMLocalConf(s, f.host("client0"))
	if !strings.Contains(conf, `"a|^/dev/mapper/mpath[0-9]+$|", "a|^/dev/vda3$|", "r|.*|"`) {
		t.Fatalf("filter:\n%s", conf)
	}
	if !strings.Contains(LVMLocalConf(s, f.host("client1")), `[ "a|^/dev/mapper/mpath[0-9]+$|", "r|.*|" ]`) {
		t.Fatal("client1 filter")
	}
}

func TestDLMFencing(t *testing.T) {
	s := sample(t, config.ProfileDebian12)
	if !strings.Contains(DLMConf(s), "enable_fencing=0") {
		t.Error("agent none must turn dlm fencing off, in writing")
	}
	s.Fencing = config.Fencing{Agent: "fence_ipmilan", Options: map[string]string{"ip": "10.0.0.9", "username": "admin"},
		HostOptions: map[string]map[string]string{"client1": {"plug": "2"}}}
	got := DLMConf(s)
	for _, want := range []string{"enable_fencing=1", "device scalestore /usr/sbin/fence_ipmilan ip=10.0.0.9 username=admin", "connect scalestore node=2 plug=2"} {
		if !strings.Contains(got, want) {
			t.Errorf("dlm.conf lacks %q:\n%s", want, got)
		}
	}
}

// Work that one host does for the whole cluster (make the key, the VG, the
// LV, the filesystem, grow them) sits in a step of its own: the hosts of a
// step run in parallel, so another host in it could not rely on it.
func TestClusterWideWorkHasItsOwnStep(t *testing.T) {
	single := map[string]bool{"cluster-key": true, "vg": true, "lv": true, "gfs2": true, "journals": true, "grow-lv": true, "grow-fs": true}
	for _, prof := range []string{config.ProfileDebian12, config.ProfileCentOS5} {
		for _, st := range Build(sample(t, prof), nil).Steps {
			if single[st.ID] && len(st.Hosts()) != 1 {
				t.Errorf("%s: step %s runs on %v, want only the first client", prof, st.ID, st.Hosts())
			}
		}
	}
}

// A client added with no spare journal left gets one from gfs2_jadd (which
// refuses journals under 32 MB), and corosync leaves two_node mode.
func TestAddingAClient(t *testing.T) {
	for _, tc := range []struct {
		spec     string
		journals string
		jadd     string
		twoNode  bool
	}{
		{"../lab/lab.toml", "-j 2", "gfs2_jadd -j $((2 - have)) -J 32 /mnt/gfs2", true},
		{"../lab/lab-join.toml", "-j 3", "gfs2_jadd -j $((3 - have)) -J 32 /mnt/gfs2", false},
	} {
		s, err := config.Load(tc.spec)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		Build(s, nil).Render(&b)
		text := b.String()
		for _, want := range []string{"mkfs.gfs2 -O -p lock_dlm -t lab:gfs2 " + tc.journals + " -J 8 ", tc.jadd,
			"unless: test \"$(gfs2_edit -p jindex /dev/VG0/LV0 2>/dev/null | grep -cE 'File +journal[0-9]+$')\" -ge " + tc.journals[3:]} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: the plan lacks %q", tc.spec, want)
			}
		}
		if i, j := strings.Index(text, "[journals]"), strings.Index(text, "[mount]"); i < 0 || j < i {
			t.Errorf("%s: journals must be added before the clients mount", tc.spec)
		}
		if got := strings.Contains(CorosyncConf(s), "two_node: 1"); got != tc.twoNode {
			t.Errorf("%s: two_node in corosync.conf = %v, want %v", tc.spec, got, tc.twoNode)
		}
	}
}
