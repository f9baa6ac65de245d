package checks

import (
	"errors"
	"strings"
	"testing"

	"scalestore/config"
	"scalestore/steps"
)

func healthyState(t *testing.T) (*config.Spec, *steps.ClusterState) {
	t.Helper()
	s, err := config.Load("../lab/lab.toml")
	if err != nil {
		t.Fatal(err)
	}
	cs := &steps.ClusterState{Hosts: map[string]*steps.HostState{}, Errors: map[string]error{}}
	for host, file := range map[string]string{"storage0a": "state-storage0a-healthy.txt", "client0": "state-client0-healthy.txt"} {
		role := steps.Role(s, host)
		st, err := steps.ParseState(role, readCapture(t, file))
		if err != nil {
			t.Fatal(err)
		}
		cs.Hosts[host] = st
	}
	return s, cs
}

func TestHealthOfTheBuiltLab(t *testing.T) {
	s, cs := healthyState(t)
	rs := Health(s, cs)
	if len(rs) != 9 {
		t.Fatalf("%d results, want 2 for storage0a and 7 for client0: %+v", len(rs), rs)
	}
	for _, r := range rs {
		if r.Status != Pass {
			t.Errorf("%s %s: %v %s", r.Host, r.Check, r.Status, r.Msg)
		}
	}
	if r := find(rs, "client0", "mpath1"); r.Msg != "2 of 2 paths active" {
		t.Fatalf("%+v", r)
	}
}

func TestHealthDegraded(t *testing.T) {
	cases := []struct {
		name        string
		mutate      func(*steps.ClusterState)
		host, check string
		want        Status
		msg         string
	}{
		{"one path down", func(cs *steps.ClusterState) { cs.Hosts["client0"].Maps[0].Paths[1].State = "failed faulty running" },
			"client0", "mpath0", Warn, "only 1 of 2 paths active: running on one half"},
		{"map missing", func(cs *steps.ClusterState) { cs.Hosts["client0"].Maps = cs.Hosts["client0"].Maps[:1] },
			"client0", "mpath1", Fail, "mpath1 is not mapped"},
		{"split brain", func(cs *steps.ClusterState) {
			d := &cs.Hosts["storage0a"].DRBD[0]
			d.CState, d.PeerRole, d.PeerDisk = "StandAlone", "Unknown", "DUnknown"
		}, "storage0a", "drbd r0", Fail, "StandAlone Primary/Unknown UpToDate/DUnknown"},
		{"resyncing", func(cs *steps.ClusterState) {
			d := &cs.Hosts["storage0a"].DRBD[0]
			d.CState, d.DiskState, d.SyncedPct = "SyncTarget", "Inconsistent", 42.5
		}, "storage0a", "drbd r0", Warn, "42.5% synced"},
		{"not exported", func(cs *steps.ClusterState) { cs.Hosts["storage0a"].LUNs = nil },
			"storage0a", "export r0", Fail, "is not exported"},
		{"no quorum", func(cs *steps.ClusterState) { cs.Hosts["client0"].Quorate = false },
			"client0", "cluster", Fail, "not quorate"},
		{"lockspace not started", func(cs *steps.ClusterState) { cs.Hosts["client0"].Lockspaces = []string{"gfs2"} },
			"client0", "vg lock", Fail, "VG0's lockspace is not started"},
		{"not mounted", func(cs *steps.ClusterState) { cs.Hosts["client0"].Mounts = nil },
			"client0", "mount", Fail, "GFS2 not mounted at /mnt/gfs2"},
		{"session lost", func(cs *steps.ClusterState) { cs.Hosts["client0"].Sessions = cs.Hosts["client0"].Sessions[1:] },
			"client0", "import", Fail, "3 of 4 iSCSI sessions"},
		{"host down", func(cs *steps.ClusterState) {
			delete(cs.Hosts, "storage0a")
			cs.Errors["storage0a"] = errors.New("connect to storage0a: connection refused")
		}, "storage0a", "ssh", Unknown, "connection refused"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, cs := healthyState(t)
			c.mutate(cs)
			r := find(Health(s, cs), c.host, c.check)
			if r.Status != c.want || !strings.Contains(r.Msg, c.msg) || r.Hint == "" {
				t.Fatalf("got %+v, want %v %q with a hint", r, c.want, c.msg)
			}
		})
	}
}
