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
