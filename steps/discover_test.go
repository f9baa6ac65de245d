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
	f.Add(capture(f, "discover-storage0b-peer-absent.txt"))
	f.Add(capture(f, "discover-client2-gfs2-utils-removed.txt"))
	f.Fuzz(func(t *testing.T, s string) {
		hf, err := ParseDiscovery(s, "VG0", time.Now())
		if err == nil && hf == nil {
			t.Fatal("nil facts without error")
		}
	})
}

// Packages (installed, installable, missing) and the replication peer's
// port, from real discoveries on the lab.
func TestParseDiscoveryPackagesAndPorts(t *testing.T) {
	for _, tc := range []struct {
		capture string
		pkgs    map[string]string
		port    string
		state   string
	}{
		{"discover-storage1a-peer-connected.txt", map[string]string{"drbd-utils": PkgInstalled, "targetcli-fb": PkgInstalled, "dbus": PkgInstalled},
			"10.0.0.14 7789", PortRefused},
		{"discover-storage0b-peer-down.txt", nil, "10.0.0.11 7788", PortRefused},
		{"discover-storage0b-peer-absent.txt", nil, "10.0.0.99 7788", PortTimeout},
		{"discover-client0-pkg-missing.txt", map[string]string{"gfs2-utils": PkgInstalled, "nfs-common": PkgMissing}, "", ""},
		{"discover-client2-gfs2-utils-removed.txt", map[string]string{"gfs2-utils": PkgMissing, "corosync": PkgInstalled}, "", ""},
	} {
		f, err := ParseDiscovery(capture(t, tc.capture), "VG0", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		for p, want := range tc.pkgs {
			if f.Packages[p] != want {
				t.Errorf("%s: package %s is %q, want %q", tc.capture, p, f.Packages[p], want)
			}
		}
		if tc.port != "" && f.Ports[tc.port] != tc.state {
			t.Errorf("%s: port %q is %q, want %q (all: %v)", tc.capture, tc.port, f.Ports[tc.port], tc.state, f.Ports)
		}
	}
	// apt's candidate: a version makes a missing package installable
	got := parseAptPolicy(capture(t, "apt-cache-policy-storage0a.txt"))
	if got["drbd-utils"] != "9.22.0-1" || got["nfs-common"] != "(none)" {
		t.Fatalf("apt-cache policy read as %v", got)
	}
}

// The mount point's sections: a failed read is an error, never "nothing
// there" (a check that cannot run refuses).
func TestParseMountPointSections(t *testing.T) {
	base := "@@os\nID=debian\n@@mounted\n/dev/mapper/VG0-LV0 gfs2\nrc=0\n@@fstab\n"
	f, err := ParseDiscovery(base+"/dev/VG0/LV0 gfs2\nrc=0\n", "VG0", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	m := f.MountPoint
	if !m.Read || m.Err != nil || len(m.Mounted) != 1 || m.Mounted[0][0] != "/dev/mapper/VG0-LV0" || len(m.Fstab) != 1 || m.Fstab[0][1] != "gfs2" {
		t.Errorf("read %+v", m)
	}
	f, err = ParseDiscovery(base+"awk: cannot open /etc/fstab (No such file or directory)\nrc=2\n", "VG0", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if f.MountPoint.Read || f.MountPoint.Err == nil || !strings.Contains(f.MountPoint.Err.Error(), "could not read /etc/fstab") {
		t.Errorf("a failed fstab read gave %+v", f.MountPoint)
	}
}
