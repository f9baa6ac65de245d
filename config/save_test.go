package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSaveLoadsBack(t *testing.T) {
	s := loadSample(t)
	path := filepath.Join(t.TempDir(), "c.toml")
	if err := s.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Pairs) != 2 || back.Pairs[1].Num() != 1 || back.Pairs[1].B.Disk != "/dev/sdb" || back.Volume.Journals != 4 || back.Fencing.Agent != "none" {
		t.Fatalf("round trip lost something: %+v", back)
	}
	if back.WWID(back.Pairs[1]) != s.WWID(s.Pairs[1]) {
		t.Fatal("a saved spec must keep every pair's serial")
	}
}

func TestSaveRefusesInvalid(t *testing.T) {
	s := loadSample(t)
	s.Volume.FSName = "bad name"
	path := filepath.Join(t.TempDir(), "c.toml")
	if err := s.Save(path); err == nil || !strings.Contains(err.Error(), "volume.fs_name") {
		t.Fatalf("invalid spec saved: %v", err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Fatal("a file was written for an invalid spec")
	}
}

func TestAppendPairKeepsComments(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.toml")
	data, _ := os.ReadFile("../sample.toml")
	os.WriteFile(path, data, 0o644)
	s, _ := Load(path)
	id := s.NextPairID()
	if id != 2 {
		t.Fatalf("next id %d", id)
	}
	p := Pair{ID: &id, A: Half{Host: "storage2a", Disk: "/dev/sdb"}, B: Half{Host: "storage2b", Disk: "/dev/sdb"}}
	err := AppendPair(path, p, Host{Name: "storage2a", Address: "192.168.0.14"}, Host{Name: "storage2b", Address: "192.168.0.15"})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(out), string(data)) {
		t.Fatal("the existing file (and its comments) must stay as it was")
	}
	g, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Pairs) != 3 || g.Pairs[2].Alias() != "mpath2" {
		t.Fatalf("pair not added: %+v", g.Pairs)
	}
	if _, err := os.Stat(path + ".bak"); err != nil {
		t.Fatal("the previous file must be kept as .bak")
	}
	// A pair naming an unknown host is refused, and the file is unchanged.
	bad := Pair{ID: &id, A: Half{Host: "nope", Disk: "/dev/sdb"}, B: Half{Host: "storage2b", Disk: "/dev/sdb"}}
	if err := AppendPair(path, bad); err == nil {
		t.Fatal("a bad pair was appended")
	}
	after, _ := os.ReadFile(path)
	if string(after) != string(out) {
		t.Fatal("a refused append changed the file")
	}
}
