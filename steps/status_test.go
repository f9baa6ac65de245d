package steps

import "testing"

func TestParseMultipathLL(t *testing.T) {
	maps := ParseMultipathLL(capture(t, "multipath-ll.txt"))
	if len(maps) < 2 {
		t.Fatalf("%d maps", len(maps))
	}
	m := maps[0]
	if m.Alias != "mpath0" || m.WWID != "360014055a1e000100004000800000000" || len(m.Paths) != 2 || m.Ready() != 2 {
		t.Fatalf("%+v", m)
	}
	if m.Paths[0].Dev != "sda" || m.Paths[0].Group != "active" || m.Paths[1].Dev != "sdd" || m.Paths[1].Group != "enabled" {
		t.Fatalf("paths %+v", m.Paths)
	}
}

func TestParseISCSISessions(t *testing.T) {
	ss := ParseISCSISessions(capture(t, "multipath-ll.txt"))
	if len(ss) < 4 || ss[0].Portal != "10.0.0.11:3260" || ss[0].Target != "iqn.2003-01.org.lab:s1a.r0" {
		t.Fatalf("%+v", ss)
	}
}

func FuzzParseStatus(f *testing.F) {
	f.Add(capture(f, "multipath-ll.txt"))
	f.Add(capture(f, "state-client0-healthy.txt"))
	f.Add(capture(f, "state-storage0a-healthy.txt"))
	f.Fuzz(func(t *testing.T, s string) {
		for _, m := range ParseMultipathLL(s) {
			if m.Ready() > len(m.Paths) {
				t.Fatal("more ready paths than paths")
			}
		}
		ParseISCSISessions(s)
		ParseQuorate(s)
		ParseDLMLockspaces(s)
		ParseLVs(s)
		ParseFindmnt(s)
		ParseState("client", s)
		ParseState("storage", s)
	})
}

func TestParseStateHealthyClient(t *testing.T) {
	st, err := ParseState("client", capture(t, "state-client0-healthy.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Sessions) != 4 || !st.Quorate || len(st.Maps) != 2 || st.Maps[1].Alias != "mpath1" || st.Maps[1].Ready() != 2 {
		t.Fatalf("%+v", st)
	}
	// failover grouping: one active group and one enabled group per map
	if g := st.Maps[0].Paths[0].Group + "/" + st.Maps[0].Paths[1].Group; g != "active/enabled" {
		t.Fatalf("path groups %s: multipath must group the halves for failover", g)
	}
	want := map[string]bool{"gfs2": true, "lvm_VG0": true, "lvm_global": true}
	for _, l := range st.Lockspaces {
		delete(want, l)
	}
	if len(want) != 0 {
		t.Fatalf("lockspaces %v", st.Lockspaces)
	}
	if len(st.LVs) != 1 || !st.LVs[0].Active() || st.LVs[0].Bytes() != 120<<20 || st.LVs[0].Name != "LV0" {
		t.Fatalf("lvs %+v", st.LVs)
	}
	if len(st.Mounts) != 1 || st.Mounts[0].Target != "/mnt/gfs2" || st.Mounts[0].FSType != "gfs2" || st.Mounts[0].Source != "/dev/mapper/VG0-LV0" {
		t.Fatalf("mounts %+v", st.Mounts)
	}
}

func TestParseStateHealthyStorage(t *testing.T) {
	st, err := ParseState("storage", capture(t, "state-storage0a-healthy.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(st.DRBD) != 1 || st.DRBD[0].Role != "Primary" || st.DRBD[0].PeerRole != "Primary" ||
		len(st.LUNs) != 1 || st.LUNs[0] != "iqn.2003-01.org.scalestore:lab.storage0a.r0" {
		t.Fatalf("%+v", st)
	}
}

// storage0a's VM killed under writes: its path failed, the other carries on.
func TestParseMultipathOnePathDown(t *testing.T) {
	maps := ParseMultipathLL(capture(t, "multipath-ll-one-path-down.txt"))
	if len(maps) != 2 || maps[0].Ready() != 1 || maps[1].Ready() != 2 {
		t.Fatalf("%+v", maps)
	}
	if p := maps[0].Paths[0]; p.State != "failed faulty running" || p.Group != "enabled" {
		t.Fatalf("failed path %+v", p)
	}
	if p := maps[0].Paths[1]; p.Group != "active" {
		t.Fatalf("the surviving path must carry the I/O: %+v", p)
	}
}
