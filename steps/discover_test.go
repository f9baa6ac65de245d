package steps

import (
	"strings"
	"testing"
	"time"
)

func TestParseDiscoveryStorage(t *testing.T) {
	now := time.Unix(1795619767, 0)
	f, err := ParseDiscovery(capture(t, "discover-storage0a-blank.txt"), "VG0", now)
	if err != nil {
		t.Fatal(err)
	}
	if f.OSID != "debian" || f.OSVersion != "12" || f.Hostname != "storage0a" || f.Kernel != "6.1.0-56-amd64" || f.UID != 0 {
		t.Fatalf("%+v", f)
	}
	if !f.HasClock || f.ClockSkew != 0 {
		t.Fatalf("clock skew %v", f.ClockSkew)
	}
	for _, m := range []string{"drbd", "target_core_mod", "target_core_iblock", "iscsi_target_mod"} {
		if !f.Modules[m] {
			t.Errorf("module %s not seen", m)
		}
	}
	d := f.Disks["/dev/vdb"]
	if d == nil || !d.Exists || d.Size != 64<<20 || len(d.Signatures) != 0 || len(d.Children) != 0 || len(d.Mounts) != 0 || len(d.Holders) != 0 {
		t.Fatalf("disk %+v", d)
	}
	if len(f.SystemPVs) != 0 {
		t.Fatalf("system PVs %v", f.SystemPVs)
	}
}

func TestParseDiscoveryClient(t *testing.T) {
	f, err := ParseDiscovery(capture(t, "discover-client0.txt"), "VG0", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if f.Hostname != "client0" || len(f.Disks) != 0 || !f.Modules["gfs2"] || !f.Modules["dlm"] {
		t.Fatalf("%+v", f)
	}
}

func TestParseDiscoveryMissingDisk(t *testing.T) {
	f, err := ParseDiscovery("@@hostname\nx\n@@disk /dev/sdz\n", "VG0", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if d := f.Disks["/dev/sdz"]; d == nil || d.Exists {
		t.Fatalf("a missing disk must be seen as missing: %+v", d)
	}
}

func TestParseDiscoveryBadJSON(t *testing.T) {
	_, err := ParseDiscovery("@@pvs\n{not json\n", "VG0", time.Now())
	if err == nil || !strings.Contains(err.Error(), "pvs") {
		t.Fatalf("bad JSON not reported: %v", err)
	}
}

func FuzzParseDiscovery(f *testing.F) {
	f.Add(capture(f, "discover-storage0a-blank.txt"))
	f.Add(capture(f, "discover-client0.txt"))
	f.Fuzz(func(t *testing.T, s string) {
		hf, err := ParseDiscovery(s, "VG0", time.Now())
		if err == nil && hf == nil {
			t.Fatal("nil facts without error")
		}
	})
}
