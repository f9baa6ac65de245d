package checks

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"scalestore/config"
	"scalestore/steps"
)

// labFacts: every host of the lab spec as discovery saw the real lab
// (storage hosts from the storage0a capture, clients from client0's).
func labFacts(t *testing.T) (*config.Spec, *steps.Facts) {
	t.Helper()
	s, err := config.Load("../lab/lab.toml")
	if err != nil {
		t.Fatal(err)
	}
	read := func(name string) string {
		b, err := os.ReadFile("../steps/testdata/captures/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	f := &steps.Facts{Hosts: map[string]*steps.HostFacts{}, Errors: map[string]error{}}
	for _, h := range s.Hosts {
		var hf *steps.HostFacts
		switch steps.Role(s, h.Name) {
		case "storage":
			hf, err = steps.ParseDiscovery(read("discover-storage0a-blank.txt"), "VG0", time.Unix(1795619767, 0))
		case "client":
			hf, err = steps.ParseDiscovery(read("discover-client0.txt"), "VG0", time.Unix(1795619768, 0))
		default:
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		hf.Hostname = h.Name
		f.Hosts[h.Name] = hf
	}
	return s, f
}

func readCapture(t *testing.T, name string) string {
	b, err := os.ReadFile("../steps/testdata/captures/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func find(rs []Result, host, check string) Result {
	for _, r := range rs {
		if r.Host == host && r.Check == check {
			return r
		}
	}
	return Result{Check: "NOT FOUND"}
}

func TestCleanLabPasses(t *testing.T) {
	s, f := labFacts(t)
	rs := Preflight(s, f)
	if Failed(rs) {
		var b strings.Builder
		Print(&b, rs)
		t.Fatalf("the blank lab must pass:\n%s", b.String())
	}
	if r := find(rs, "", "fencing"); r.Status != Warn || !strings.Contains(r.Msg, "FENCING IS OFF") {
		t.Fatalf("fencing none must warn loudly: %+v", r)
	}
}

func TestPreflightRefusals(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*config.Spec, *steps.Facts)
		host   string
		check  string
		want   Status
		msg    string
	}{
		{"disk with a filesystem", func(s *config.Spec, f *steps.Facts) {
			f.Hosts["storage1b"].Disks["/dev/vdb"].Signatures = []string{"ext4"}
		},
			"storage1b", "disk /dev/vdb", Fail, "is in use: signature ext4"},
		{"spare disk holding ext4 (real capture)", func(s *config.Spec, f *steps.Facts) {
			hf, err := steps.ParseDiscovery(readCapture(t, "discover-storage2a-ext4.txt"), "VG0", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			f.Hosts["storage1a"].Disks = hf.Disks
		}, "storage1a", "disk /dev/vdb", Fail, "is in use: signature ext4"},
		{"disk with a filesystem, named for wiping", func(s *config.Spec, f *steps.Facts) {
			f.Hosts["storage1b"].Disks["/dev/vdb"].Signatures = []string{"ext4"}
			s.Wipe.Devices = []string{"storage1b:/dev/vdb"}
		}, "storage1b", "disk /dev/vdb", Warn, "WILL BE WIPED"},
		{"mounted disk named for wiping", func(s *config.Spec, f *steps.Facts) {
			d := f.Hosts["storage1b"].Disks["/dev/vdb"]
			d.Signatures, d.Mounts = []string{"ext4"}, []string{"/srv"}
			s.Wipe.Devices = []string{"storage1b:/dev/vdb"}
		}, "storage1b", "disk /dev/vdb", Fail, "mounted at /srv"},
		{"partitioned disk", func(s *config.Spec, f *steps.Facts) {
			f.Hosts["storage0a"].Disks["/dev/vdb"].Children = []string{"vdb1"}
		},
			"storage0a", "disk /dev/vdb", Fail, "partitions/holders vdb1"},
		{"disk held by device mapper", func(s *config.Spec, f *steps.Facts) {
			f.Hosts["storage0a"].Disks["/dev/vdb"].Holders = []string{"dm-3"}
		},
			"storage0a", "disk /dev/vdb", Fail, "partitions/holders dm-3"},
		{"attached to our own DRBD device (real capture)", func(s *config.Spec, f *steps.Facts) {
			hf, err := steps.ParseDiscovery(readCapture(t, "discover-storage0a-drbd-attached.txt"), "VG0", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			f.Hosts["storage0a"].Disks = hf.Disks
		}, "storage0a", "disk /dev/vdb", Pass, "is attached to drbd0 (r0)"},
		{"attached to another DRBD device", func(s *config.Spec, f *steps.Facts) {
			d := f.Hosts["storage1a"].Disks["/dev/vdb"]
			d.Signatures, d.Children, d.Holders = []string{"drbd"}, []string{"drbd7"}, []string{"drbd7"}
		}, "storage1a", "disk /dev/vdb", Fail, "partitions/holders drbd7"},
		{"a half back after a crash: DRBD metadata and the PV inside it", func(s *config.Spec, f *steps.Facts) {
			f.Hosts["storage0a"].Disks["/dev/vdb"].Signatures = []string{"LVM2_member", "drbd"}
		}, "storage0a", "disk /dev/vdb", Warn, "already holds DRBD metadata"},
		{"stale DRBD metadata", func(s *config.Spec, f *steps.Facts) {
			f.Hosts["storage1a"].Disks["/dev/vdb"].Signatures = []string{"drbd"}
		},
			"storage1a", "disk /dev/vdb", Warn, "already holds DRBD metadata"},
		{"a package not installed, apt without it (real capture)", func(s *config.Spec, f *steps.Facts) {
			f.Hosts["client1"].Packages = discovered(t, "discover-client2-gfs2-utils-removed.txt").Packages
		}, "client1", "packages", Fail, "not installed, and apt has no candidate for: gfs2-utils"},
		{"every package installed (real capture)", func(s *config.Spec, f *steps.Facts) {
			f.Hosts["client1"].Packages = discovered(t, "discover-client0-pkg-missing.txt").Packages
		}, "client1", "packages", Pass, "installed: open-iscsi, multipath-tools"},
		{"replication peer silent (real capture)", func(s *config.Spec, f *steps.Facts) {
			f.Hosts["storage0a"].Ports = discovered(t, "discover-storage0b-peer-absent.txt").Ports
		}, "storage0a", "replication", Fail, "storage0b (10.0.0.99 port 7788) does not answer within 3 s"},
		{"replication peer with DRBD down (real capture)", func(s *config.Spec, f *steps.Facts) {
			f.Hosts["storage0b"].Ports = discovered(t, "discover-storage0b-peer-down.txt").Ports
		}, "storage0b", "replication", Pass, "storage0a (10.0.0.11 port 7788) answers"},
		{"missing disk", func(s *config.Spec, f *steps.Facts) { f.Hosts["storage0a"].Disks["/dev/vdb"].Exists = false },
			"storage0a", "disk /dev/vdb", Fail, "does not exist"},
		{"tiny disk", func(s *config.Spec, f *steps.Facts) { f.Hosts["storage0a"].Disks["/dev/vdb"].Size = 8 << 20 },
			"storage0a", "disk /dev/vdb", Fail, "below the 32 MiB minimum"},
		{"hostname differs", func(s *config.Spec, f *steps.Facts) { f.Hosts["client1"].Hostname = "debian" },
			"client1", "hostname", Fail, `uname -n is "debian", the spec calls it "client1"`},
		{"wrong OS", func(s *config.Spec, f *steps.Facts) {
			f.Hosts["client1"].OSVersion, f.Hosts["client1"].OSName = "11", "Debian GNU/Linux 11"
		},
			"client1", "os", Fail, "is not Debian 12"},
		{"module missing", func(s *config.Spec, f *steps.Facts) { delete(f.Hosts["client0"].Modules, "gfs2") },
			"client0", "modules", Fail, "lacks gfs2"},
		{"not root", func(s *config.Spec, f *steps.Facts) { f.Hosts["client0"].UID = 1000 },
			"client0", "root", Fail, "uid 1000"},
		{"clock off", func(s *config.Spec, f *steps.Facts) { f.Hosts["client0"].ClockSkew = -90 * time.Second },
			"client0", "clock", Warn, "clock is -1m30s off"},
		{"unreachable", func(s *config.Spec, f *steps.Facts) {
			delete(f.Hosts, "storage1a")
			f.Errors["storage1a"] = errors.New("connect to storage1a: connection refused")
		}, "storage1a", "ssh", Fail, "connection refused"},
		{"halves differ in size", func(s *config.Spec, f *steps.Facts) { f.Hosts["storage1b"].Disks["/dev/vdb"].Size = 128 << 20 },
			"", "pair r1 sizes", Warn, "storage1a:/dev/vdb is 64 MiB, storage1b:/dev/vdb is 128 MiB"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, f := labFacts(t)
			c.mutate(s, f)
			rs := Preflight(s, f)
			r := find(rs, c.host, c.check)
			if r.Status != c.want || !strings.Contains(r.Msg, c.msg) {
				t.Fatalf("got %+v, want %v with %q", r, c.want, c.msg)
			}
			if c.want != Pass && r.Hint == "" {
				t.Error("a warning or failure needs a hint")
			}
			if Failed(rs) != (c.want == Fail) {
				t.Errorf("Failed() = %v", Failed(rs))
			}
		})
	}
}

func discovered(t *testing.T, capture string) *steps.HostFacts {
	t.Helper()
	hf, err := steps.ParseDiscovery(readCapture(t, capture), "VG0", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return hf
}
