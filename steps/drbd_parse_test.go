package steps

import (
	"os"
	"testing"
)

func capture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/captures/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseProcDRBD(t *testing.T) {
	devs := ParseProcDRBD(capture(t, "drbd-status-during-resync.txt"))
	if len(devs) != 1 {
		t.Fatalf("got %d devices", len(devs))
	}
	d := devs[0]
	want := DRBDDevice{Minor: 0, CState: "SyncTarget", Role: "Primary", PeerRole: "Primary", DiskState: "Inconsistent", PeerDisk: "UpToDate",
		OutOfSync: 63520, SyncedPct: 6.3, HasSync: true, Finish: "0:00:31", SpeedKiBps: 1976}
	if d != want {
		t.Fatalf("got  %+v\nwant %+v", d, want)
	}
	all := ParseProcDRBD(capture(t, "proc-drbd-dual-primary.txt"))
	if len(all) != 4 {
		t.Fatalf("dual-primary capture: %d devices, want 4 (one per host)", len(all))
	}
	for _, d := range all {
		if d.CState != "Connected" || d.Role != "Primary" || d.PeerRole != "Primary" || d.DiskState != "UpToDate" || d.PeerDisk != "UpToDate" || d.HasSync {
			t.Errorf("%+v", d)
		}
	}
	if _, ok := findMinor(devs, 0); !ok {
		t.Error("minor 0 not found")
	}
}

func FuzzParseProcDRBD(f *testing.F) {
	f.Add(capture(f, "drbd-status-during-resync.txt"))
	f.Add(capture(f, "rejoin.txt"))
	f.Fuzz(func(t *testing.T, s string) {
		for _, d := range ParseProcDRBD(s) {
			if d.SyncedPct < 0 || d.SyncedPct > 100 {
				t.Fatalf("percent out of range: %v", d.SyncedPct)
			}
		}
	})
}
