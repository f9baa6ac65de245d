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
	// the captures are of the lab before it had BMCs: fencing.agent = "none"
	s.Fencing = config.Fencing{Agent: "none"}
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
		{"mount point holds another filesystem", func(s *config.Spec, f *steps.Facts) {
			f.Hosts["client0"].MountPoint.Mounted = [][]string{{"/dev/vdc", "ext4"}}
		}, "client0", "mount point", Fail, "/mnt/gfs2 is already a mount of /dev/vdc (ext4)"},
		{"fstab names another filesystem for the mount point", func(s *config.Spec, f *steps.Facts) {
			f.Hosts["client1"].MountPoint.Fstab = [][]string{{"UUID=1234", "xfs"}}
		}, "client1", "mount point", Fail, "/etc/fstab already mounts UUID=1234 (xfs) at /mnt/gfs2"},
		{"mount point not readable", func(s *config.Spec, f *steps.Facts) {
			f.Hosts["client0"].MountPoint = steps.MountPointFacts{Err: errors.New("could not read /etc/fstab (rc=2)")}
		}, "client0", "mount point", Fail, "could not read /etc/fstab"},
		{"our GFS2 already mounted (a second apply)", func(s *config.Spec, f *steps.Facts) {
			f.Hosts["client0"].MountPoint.Mounted = [][]string{{"/dev/mapper/VG0-LV0", "gfs2"}}
			f.Hosts["client0"].MountPoint.Fstab = [][]string{{"/dev/VG0/LV0", "gfs2"}}
		}, "client0", "mount point", Pass, "has this cluster's GFS2 mounted"},
		{"a blank client (real capture)", func(s *config.Spec, f *steps.Facts) {},
			"client0", "mount point", Pass, "/mnt/gfs2 is free"},
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
			d := f.Hosts["storage1b"].Disks["/dev/vdb"]
			d.Signatures, d.Serial = []string{"ext4"}, "lab-storage1b-data"
			s.Wipe.Devices = []string{"storage1b:/dev/vdb serial=lab-storage1b-data size=67108864"}
		}, "storage1b", "disk /dev/vdb", Warn, "WILL BE WIPED"},
		{"mounted disk named for wiping", func(s *config.Spec, f *steps.Facts) {
			d := f.Hosts["storage1b"].Disks["/dev/vdb"]
			d.Signatures, d.Mounts, d.Serial = []string{"ext4"}, []string{"/srv"}, "lab-storage1b-data"
			s.Wipe.Devices = []string{"storage1b:/dev/vdb serial=lab-storage1b-data size=67108864"}
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
		// DRBD metadata is adopted only when it is this pair's (real
		// captures: discovery on the lab's storage0a, drbdmeta get-gi)
		{"a half back after a crash, its peer running the pair", func(s *config.Spec, f *steps.Facts) {
			f.Hosts["storage0a"].Disks = discovered(t, "discover-storage0a-drbd-attached.txt").Disks
			withMetadata(t, f, "storage0b", "drbdmeta-get-gi-r0-storage0b-crashed.txt", "LVM2_member", "drbd")
		}, "storage0b", "disk /dev/vdb", Pass, "holds r0's DRBD metadata (storage0a has r0 attached)"},
		{"both halves down, sharing a generation", func(s *config.Spec, f *steps.Facts) {
			withMetadata(t, f, "storage0a", "drbdmeta-get-gi-r0-storage0a.txt", "drbd")
			withMetadata(t, f, "storage0b", "drbdmeta-get-gi-r0-storage0b-crashed.txt", "LVM2_member", "drbd")
		}, "storage0a", "disk /dev/vdb", Pass, "shares generation 768E937C16207805 with storage0b"},
		{"an apply stopped after create-md", func(s *config.Spec, f *steps.Facts) {
			withMetadata(t, f, "storage1a", "drbdmeta-get-gi-just-created.txt", "drbd")
			withMetadata(t, f, "storage1b", "drbdmeta-get-gi-just-created.txt", "drbd")
		}, "storage1b", "disk /dev/vdb", Pass, "shares generation 0000000000000004 with storage1a"},
		{"a replaced half: the other one blank", func(s *config.Spec, f *steps.Facts) {
			withMetadata(t, f, "storage0a", "drbdmeta-get-gi-r0-storage0a.txt", "drbd")
			f.Hosts["storage0b"].Disks = discovered(t, "discover-storage0a-serial-blank.txt").Disks
		}, "storage0a", "disk /dev/vdb", Pass, "storage0b's disk is blank (a replaced half"},
		{"DRBD metadata and ext4 of another cluster", func(s *config.Spec, f *steps.Facts) {
			f.Hosts["storage0a"].Disks = discovered(t, "discover-storage0a-drbd-ext4-foreign.txt").Disks
			withMetadata(t, f, "storage0b", "drbdmeta-get-gi-r0-storage0a.txt", "drbd")
		}, "storage0a", "disk /dev/vdb", Fail, "holds DRBD metadata that is not r0's: its generation identifiers (2F4C9A7E31B8D0C5:0000000000000000:9D0E7B2A6C4F1E83:0000000000000000) share none with storage0b's"},
		{"another cluster's metadata, its peer blank but metadata unreadable", func(s *config.Spec, f *steps.Facts) {
			withMetadata(t, f, "storage1a", "drbdmeta-get-gi-blank.txt", "drbd")
		}, "storage1a", "disk /dev/vdb", Fail, "its generation identifiers could not be read: no DRBD metadata (drbdmeta exit 1)"},
		{"another cluster's metadata named for wiping", func(s *config.Spec, f *steps.Facts) {
			f.Hosts["storage0a"].Disks = discovered(t, "discover-storage0a-drbd-ext4-foreign.txt").Disks
			withMetadata(t, f, "storage0b", "drbdmeta-get-gi-r0-storage0a.txt", "drbd")
			s.Wipe.Devices = []string{"storage0a:/dev/vdb serial=lab-storage0a-data size=67108864"}
		}, "storage0a", "disk /dev/vdb", Warn, "/dev/vdb (serial=lab-storage0a-data size=67108864) holds DRBD metadata and signature ext4: it WILL BE WIPED"},
		{"the other half of a disk named for wiping", func(s *config.Spec, f *steps.Facts) {
			f.Hosts["storage0a"].Disks = discovered(t, "discover-storage0a-drbd-ext4-foreign.txt").Disks
			withMetadata(t, f, "storage0b", "drbdmeta-get-gi-r0-storage0a.txt", "drbd")
			s.Wipe.Devices = []string{"storage0a:/dev/vdb serial=lab-storage0a-data size=67108864"}
		}, "storage0b", "disk /dev/vdb", Pass, "storage0a's disk is named under [wipe]: once wiped, it syncs from this one"},
		{"attached to our own DRBD device, and named for wiping", func(s *config.Spec, f *steps.Facts) {
			f.Hosts["storage0a"].Disks = discovered(t, "discover-storage0a-drbd-attached.txt").Disks
			f.Hosts["storage0a"].Disks["/dev/vdb"].Serial = "lab-storage0a-data" // the capture predates lsblk's SERIAL column
			s.Wipe.Devices = []string{"storage0a:/dev/vdb serial=lab-storage0a-data size=67108864"}
		}, "storage0a", "disk /dev/vdb", Fail, "is attached to drbd0 (r0) and named under [wipe]: a disk in use is never wiped"},
		// a [wipe] entry holds only for the disk it was written for
		{"named for wiping without its identity", func(s *config.Spec, f *steps.Facts) {
			f.Hosts["storage0a"].Disks = discovered(t, "discover-storage0a-drbd-ext4-foreign.txt").Disks
			s.Wipe.Devices = []string{"storage0a:/dev/vdb"}
		}, "storage0a", "disk /dev/vdb", Fail, "/dev/vdb is named under [wipe] without its identity; the disk there now is serial=lab-storage0a-data size=67108864"},
		{"named for wiping, another disk there now", func(s *config.Spec, f *steps.Facts) {
			f.Hosts["storage0a"].Disks = discovered(t, "discover-storage0a-drbd-ext4-foreign.txt").Disks
			s.Wipe.Devices = []string{"storage0a:/dev/vdb serial=lab-storage1b-data size=67108864"}
		}, "storage0a", "disk /dev/vdb", Fail, "/dev/vdb is not the disk marked for wiping: it is serial=lab-storage0a-data size=67108864, [wipe] names serial=lab-storage1b-data size=67108864"},
		{"named for wiping, no WWN nor serial", func(s *config.Spec, f *steps.Facts) {
			f.Hosts["storage0a"].Disks["/dev/vdb"].Signatures = []string{"ext4"}
			s.Wipe.Devices = []string{"storage0a:/dev/vdb size=67108864"}
		}, "storage0a", "disk /dev/vdb", Fail, "has no WWN nor serial (size=67108864)"},
		{"wiped once already, data on it again", func(s *config.Spec, f *steps.Facts) {
			f.Hosts["storage0a"].Disks = discovered(t, "discover-storage0a-wiped-ext4.txt").Disks
			s.Wipe.Devices = []string{"storage0a:/dev/vdb serial=lab-storage0a-data size=67108864"}
		}, "storage0a", "disk /dev/vdb", Fail, "is in use: signature ext4"},
		{"wiped once already: the hint says so", func(s *config.Spec, f *steps.Facts) {
			f.Hosts["storage0a"].Disks = discovered(t, "discover-storage0a-wiped-ext4.txt").Disks
			s.Wipe.Devices = []string{"storage0a:/dev/vdb serial=lab-storage0a-data size=67108864"}
			if r := find(Preflight(s, f), "storage0a", "disk /dev/vdb"); !strings.Contains(r.Hint, "wiped it once already (/var/lib/scalestore/wiped on storage0a lists serial=lab-storage0a-data size=67108864)") {
				t.Errorf("hint %q", r.Hint)
			}
		}, "storage0a", "disk /dev/vdb", Fail, "is in use: signature ext4"},
		{"a package not installed, apt without it (real capture)", func(s *config.Spec, f *steps.Facts) {
			f.Hosts["client1"].Packages = discovered(t, "discover-client2-gfs2-utils-removed.txt").Packages
		}, "client1", "packages", Fail, "not installed, and apt has no candidate for: gfs2-utils"},
		{"every package installed (real capture)", func(s *config.Spec, f *steps.Facts) {
			f.Hosts["client1"].Packages = discovered(t, "discover-client0-pkg-missing.txt").Packages
		}, "client1", "packages", Pass, "installed: open-iscsi, multipath-tools"},
		{"replication peer silent (real capture)", func(s *config.Spec, f *steps.Facts) {
			f.Hosts["storage0a"].Ports = discovered(t, "discover-storage0b-peer-absent.txt").Ports
		}, "storage0a", "replication", Fail, "storage0b (10.0.0.99 port 7788) does not answer within 10 s"},
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

// withMetadata gives host's disk (the lab's blank one) DRBD metadata as
// drbdmeta get-gi read it (a real capture), and the signatures wipefs shows.
func withMetadata(t *testing.T, f *steps.Facts, host, capture string, sigs ...string) {
	t.Helper()
	d := f.Hosts[host].Disks["/dev/vdb"]
	d.Signatures = sigs
	d.DRBDGI, d.DRBDRead = steps.ParseDRBDGI(readCapture(t, capture))
}

func discovered(t *testing.T, capture string) *steps.HostFacts {
	t.Helper()
	hf, err := steps.ParseDiscovery(readCapture(t, capture), "VG0", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return hf
}
