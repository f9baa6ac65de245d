package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func loadLab(t *testing.T) *Spec {
	t.Helper()
	s, err := Load(filepath.Join("..", "lab", "lab.toml"))
	if err != nil {
		t.Fatal(err)
	}
	s.Fencing = Fencing{Agent: "none"} // the cases below turn fencing on from nothing
	return s
}

func withoutHosts(hs []Host, names ...string) []Host {
	return slices.DeleteFunc(hs, func(h Host) bool { return slices.Contains(names, h.Name) })
}

func TestChangesSayWhatChangedSinceTheLastApply(t *testing.T) {
	two := 2
	for _, tc := range []struct {
		name string
		edit func(last, s *Spec)
		want []string
	}{
		{"nothing", func(last, s *Spec) {}, nil},
		{"a pair added with its hosts", func(last, s *Spec) {
			last.Hosts = withoutHosts(last.Hosts, "storage2a", "storage2b")
			s.Pairs = append(s.Pairs, Pair{ID: &two, A: Half{"storage2a", "/dev/vdb"}, B: Half{"storage2b", "/dev/vdb"}})
		}, []string{"pair r2 added (storage2a, storage2b)"}},
		{"a pair removed", func(last, s *Spec) { s.Pairs = s.Pairs[:1] }, []string{"pair r1 removed (storage1a, storage1b)"}},
		{"a client added with its host", func(last, s *Spec) {
			last.Hosts = withoutHosts(last.Hosts, "client2")
			s.Clients = append(s.Clients, Client{Host: "client2", NodeID: 3})
		}, []string{"client client2 added"}},
		{"a spare host added", func(last, s *Spec) {
			s.Hosts = append(s.Hosts, Host{Name: "spare", Address: "10.0.0.30"})
		}, []string{"host spare added (10.0.0.30)"}},
		{"fencing turned on", func(last, s *Spec) {
			s.Fencing.Agent = "fence_ipmilan"
			s.Fencing.Options = map[string]string{"username": "admin"}
			s.Fencing.HostOptions = map[string]map[string]string{"storage0a": {"ip": "10.0.1.11"}}
		}, []string{"fencing.agent none → fence_ipmilan", "fencing.options.username (unset) → admin", "fencing.host_options.storage0a.ip (unset) → 10.0.1.11"}},
		{"a disk, an address and the sync rate", func(last, s *Spec) {
			s.Pairs[0].B.Disk = "/dev/vdc"
			s.Host("client1").Address = "10.0.0.99"
			s.DRBD.SyncRate = "50M"
		}, []string{"host client1: address 10.0.0.22 → 10.0.0.99", "pair r0: b.disk /dev/vdb → /dev/vdc", "drbd.sync_rate 100M → 50M"}},
		{"a mount option", func(last, s *Spec) { s.Volume.MountOptions = []string{"noatime"} }, []string{"volume.mount_options (unset) → [noatime]"}},
		{"a host removed", func(last, s *Spec) { s.Hosts = withoutHosts(s.Hosts, "client2") }, []string{"host client2 removed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			last, now := loadLab(t), loadLab(t)
			tc.edit(last, now)
			if got := Changes(last, now); !slices.Equal(got, tc.want) {
				t.Errorf("Changes:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
	if got := Changes(nil, loadLab(t)); got != nil {
		t.Errorf("with nothing recorded: %q", got)
	}
}

func TestAppliedSpecIsRecordedPerClusterAndReadBack(t *testing.T) {
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	s := loadLab(t)
	if got, err := LoadApplied("lab"); got != nil || err != nil {
		t.Fatalf("nothing recorded yet: %v, %v", got, err)
	}
	path, err := SaveApplied(s, time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(state, "scalestore", "applied", "lab.toml"); path != want {
		t.Errorf("recorded at %s, want %s (beside the run logs)", path, want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("record mode %o, want 600 (it names every host and how to reach it)", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(data), "# cluster lab as applied at 2026-12-02T15:00:00Z from ") {
		t.Errorf("the record does not say when it was applied:\n%s", data[:min(len(data), 200)])
	}
	back, err := LoadApplied("lab")
	if err != nil {
		t.Fatal(err)
	}
	if ch := Changes(back, s); len(ch) != 0 {
		t.Errorf("the record read back differs from the spec applied: %q", ch)
	}
	if got, err := LoadApplied("other"); got != nil || err != nil {
		t.Errorf("another cluster has no record: %v, %v", got, err)
	}
	if _, err := SaveApplied(&Spec{Cluster: Cluster{Name: "../x"}}, time.Now()); err == nil || !strings.Contains(err.Error(), `"../x"`) {
		t.Errorf("a name that is not a cluster name: %v", err)
	}
}

// The fence checks a run saw pass are read back as written, per cluster;
// no file is no checks; a line that is not "host target hash time" is left
// out.
func TestFenceChecksRoundTrip(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	if m, err := LoadFenceChecks("lab"); err != nil || len(m) != 0 {
		t.Fatalf("no file: %v %v", m, err)
	}
	at := time.Unix(1796256000, 0)
	in := map[string]time.Time{"storage0a\tstorage0b\t0123456789abcdef": at, "client0\tclient1\tfedcba9876543210": at.Add(time.Minute), "bad key": at}
	if err := SaveFenceChecks("lab", in); err != nil {
		t.Fatal(err)
	}
	path, _ := FenceChecksPath("lab")
	b, _ := os.ReadFile(path)
	os.WriteFile(path, append(b, "storage1a\tstorage1b\tnot-a-time\n"...), 0o600)
	out, err := LoadFenceChecks("lab")
	if err != nil || len(out) != 2 || !out["storage0a\tstorage0b\t0123456789abcdef"].Equal(at) || !out["client0\tclient1\tfedcba9876543210"].Equal(at.Add(time.Minute)) {
		t.Fatalf("%v %v", out, err)
	}
	if other, _ := LoadFenceChecks("other"); len(other) != 0 {
		t.Fatalf("another cluster's checks: %v", other)
	}
}
