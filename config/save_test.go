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

func TestAppendPairBakAndRefusal(t *testing.T) {
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

// A new spec is created 0600 (it describes the infrastructure); a spec
// saved again keeps the mode its owner gave it.
func TestSaveModes(t *testing.T) {
	s := loadSample(t)
	path := filepath.Join(t.TempDir(), "c.toml")
	if err := s.Save(path); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("new spec: mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	for _, mode := range []os.FileMode{0o600, 0o640, 0o644} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		if err := s.Save(path); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{path, path + ".bak"} {
			if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != mode {
				t.Errorf("%s saved over a %v file: mode %v (%v)", filepath.Base(p), mode, fi.Mode().Perm(), err)
			}
		}
	}
}

// A symlink planted at SPEC.bak is replaced, never written through.
func TestSaveBakSymlink(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.toml")
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("precious\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := loadSample(t)
	if err := s.Save(path); err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(path)
	if err := os.Symlink(victim, path+".bak"); err != nil {
		t.Fatal(err)
	}
	s.Volume.Journals = 5
	if err := s.Save(path); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(victim); string(got) != "precious\n" {
		t.Fatalf("saving wrote through the symlink at .bak into another file: %q", got)
	}
	fi, err := os.Lstat(path + ".bak")
	if err != nil || !fi.Mode().IsRegular() {
		t.Fatalf(".bak is not a regular file: %v %v", fi, err)
	}
	if bak, _ := os.ReadFile(path + ".bak"); string(bak) != string(first) {
		t.Fatal(".bak does not hold the previous spec")
	}
}

// A spec path that cannot be read back is refused, naming it, and left alone.
func TestSaveOverADirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.toml")
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	err := loadSample(t).Save(path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("saving over a directory: %v", err)
	}
	if fi, err := os.Lstat(path); err != nil || !fi.IsDir() {
		t.Fatalf("the directory was replaced: %v %v", fi, err)
	}
}

// The wizard's Save writes the commented spec: what each key is, the
// optional keys as examples, and it loads back as the same cluster.
func TestSaveWritesComments(t *testing.T) {
	s := loadAs(t, "../sample.toml")
	path := filepath.Join(t.TempDir(), "c.toml")
	if err := s.Save(path); err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\nport = 22                # sshd port\n",
		"\n# jump = \"admin@bastion:22\"  # optional ProxyJump host",
		"\nid = 1\n",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("saved spec lacks %q:\n%s", want, out)
		}
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	sameSpec(t, back, s)
}
