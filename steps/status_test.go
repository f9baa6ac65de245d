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
