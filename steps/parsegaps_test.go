package steps

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// The gaps a mutation run (gremlins, on the parsers) found no test guarding;
// each test below was seen failing on the mutant it names.

// Without a @@uid section the login's uid is unknown (-1), never root's 0:
// the root check must not pass on output that does not say.
func TestDiscoveryWithoutUIDIsNotRoot(t *testing.T) {
	out := regexp.MustCompile(`(?m)^@@uid\n0\n`).ReplaceAllString(capture(t, "discover-storage0a-blank.txt"), "")
	if strings.Contains(out, "@@uid") {
		t.Fatal("the capture still has its @@uid section")
	}
	f, err := ParseDiscovery(out, "VG0", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if f.UID != -1 {
		t.Fatalf("uid read as %d from output without one, want -1 (unknown)", f.UID)
	}
}

// A disk's signatures are read from its @@wipefs section, each once; a
// disk's sub-sections with no @@disk header before them are ignored.
func TestDiscoveryReadsADisksSignatures(t *testing.T) {
	f, err := ParseDiscovery(capture(t, "discover-storage2a-ext4.txt"), "VG0", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	d := f.Disks["/dev/vdb"]
	if d == nil || strings.Join(d.Signatures, ",") != "ext4" {
		t.Fatalf("storage2a's ext4 disk read as %+v", d)
	}
	wipefs := regexp.MustCompile(`(?s)@@wipefs\n.*?\n@@`).FindString(capture(t, "discover-storage2a-ext4.txt"))
	if wipefs == "" {
		t.Fatal("no @@wipefs section in the capture")
	}
	f, err = ParseDiscovery(strings.TrimSuffix(wipefs, "@@")+"@@holders\n\n", "VG0", time.Now())
	if err != nil || len(f.Disks) != 0 {
		t.Fatalf("sub-sections without a disk read as %v, %v", f.Disks, err)
	}
}

// A disk counts as wiped only when the host's record names its identity.
func TestDiscoveryWipedOnlyForThatIdentity(t *testing.T) {
	out := capture(t, "discover-storage0a-wiped-ext4.txt")
	f, err := ParseDiscovery(out, "VG0", time.Now())
	if err != nil || !f.Disks["/dev/vdb"].Wiped {
		t.Fatalf("the recorded wipe was not seen: %+v %v", f.Disks["/dev/vdb"], err)
	}
	other := strings.Replace(out, "@@wiped\nserial=lab-storage0a-data size=67108864", "@@wiped\nserial=lab-storage0b-data size=67108864", 1)
	if other == out {
		t.Fatal("the capture's @@wiped section is not as expected")
	}
	if f, err := ParseDiscovery(other, "VG0", time.Now()); err != nil || f.Disks["/dev/vdb"].Wiped {
		t.Fatalf("a wipe recorded for another disk counts for this one: %+v %v", f.Disks["/dev/vdb"], err)
	}
}

func TestParseWipefsRefusesGarbage(t *testing.T) {
	if _, err := ParseWipefs("wipefs: /dev/vdb: probing initialization failed"); err == nil {
		t.Fatal("wipefs's error text read as no signature")
	}
}

// A resync's progress at its two ends, 0% and 100%, is a progress (from
// the real /proc/drbd of a resync, its percentage changed).
func TestProcDRBDSyncAtItsEnds(t *testing.T) {
	real := capture(t, "proc-drbd-resync-storage0a.txt")
	for _, pct := range []string{" 0.0", "100.0"} {
		text := strings.Replace(real, "sync'ed:  6.3%", "sync'ed: "+pct+"%", 1)
		if text == real {
			t.Fatal("the capture's sync line is not as expected")
		}
		devs := ParseProcDRBD(text)
		if len(devs) == 0 || !devs[0].HasSync || devs[0].SyncedPct != map[string]float64{" 0.0": 0, "100.0": 100}[pct] {
			t.Errorf("sync'ed %s%% read as %+v", pct, devs)
		}
	}
}

// Short lines never index past their end.
func TestStatusShortFields(t *testing.T) {
	if (LV{Attr: "-wi-"}).Active() {
		t.Error("a 4-character lv_attr read as active")
	}
	st, err := ParseState("storage", "@@luns\n/sys/kernel/config/target/iscsi\n")
	if err != nil || len(st.LUNs) != 0 {
		t.Fatalf("a LUN path of 6 parts read as %v (%v)", st.LUNs, err)
	}
}

// Packages: one apt has no candidate for ("(none)", the real capture's
// nfs-common) stays missing; given a candidate it becomes installable; an
// installed one stays installed whatever apt says.
func TestDiscoveryPackageCandidates(t *testing.T) {
	out := capture(t, "discover-client0-pkg-missing.txt")
	f, err := ParseDiscovery(out, "VG0", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if f.Packages["nfs-common"] != PkgMissing || f.Packages["corosync"] != PkgInstalled {
		t.Fatalf("packages read as %v", f.Packages)
	}
	cand := strings.Replace(out, "nfs-common:\n  Installed: (none)\n  Candidate: (none)", "nfs-common:\n  Installed: (none)\n  Candidate: 1:2.6.2-4", 1)
	cand = strings.Replace(cand, "@@candidates\n", "@@candidates\ncorosync:\n  Installed: 3.1.7-1\n  Candidate: 3.1.7-1\n", 1)
	if cand == out {
		t.Fatal("the capture's candidates are not as expected")
	}
	if f, err = ParseDiscovery(cand, "VG0", time.Now()); err != nil || f.Packages["nfs-common"] != PkgInstallable || f.Packages["corosync"] != PkgInstalled {
		t.Fatalf("with candidates, packages read as %v (%v)", f.Packages, err)
	}
}

// The host's own PVs are those of another VG: not ours, not a PV in no VG,
// not an mpath map.
func TestDiscoverySystemPVs(t *testing.T) {
	pvs := `@@pvs
  {
      "report": [
          {
              "pv": [
                  {"pv_name":"/dev/vda2", "vg_name":"system"},
                  {"pv_name":"/dev/mapper/mpath0", "vg_name":"VG0"},
                  {"pv_name":"/dev/mapper/mpath2", "vg_name":""},
                  {"pv_name":"/dev/vdc", "vg_name":""}
              ]
          }
      ]
  }
`
	f, err := ParseDiscovery(pvs, "VG0", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(f.SystemPVs, ",") != "/dev/vda2" {
		t.Fatalf("system PVs read as %v, want /dev/vda2", f.SystemPVs)
	}
}

// lsblk's answer with no device (the disk vanished between the test and
// the listing) is no disk, not a crash.
func TestDiscoveryEmptyLsblk(t *testing.T) {
	f, err := ParseDiscovery("@@disk /dev/vdb\n{\n   \"blockdevices\": [\n   ]\n}\n", "VG0", time.Now())
	if err != nil || f.Disks["/dev/vdb"] == nil || f.Disks["/dev/vdb"].Exists {
		t.Fatalf("an empty lsblk read as %+v (%v)", f.Disks["/dev/vdb"], err)
	}
}

// drbdmeta get-gi, as captured: the four identifiers of real metadata, none
// of a blank disk.
func TestParseDRBDGICaptures(t *testing.T) {
	gi, read := ParseDRBDGI(capture(t, "drbdmeta-get-gi-r0-storage0a.txt"))
	if strings.Join(gi, ":") != "768E937C16207805:0000000000000000:5949ED0CA772E7A8:5948ED0CA772E7A9" {
		t.Fatalf("r0's identifiers read as %v (%s)", gi, read)
	}
	if gi, read := ParseDRBDGI(capture(t, "drbdmeta-get-gi-blank.txt")); gi != nil || read == "" {
		t.Fatalf("a blank disk's get-gi read as %v %q", gi, read)
	}
	if gi, _ := ParseDRBDGI(""); gi != nil {
		t.Fatalf("no output read as %v", gi)
	}
}
