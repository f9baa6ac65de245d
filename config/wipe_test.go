package config

import (
	"os"
	"strings"
	"testing"
)

// TestWipeEntries: a [wipe] entry names a pair half's disk and the
// identity it had when marked; what the spec says is what WipeOf returns.
func TestWipeEntries(t *testing.T) {
	cases := []struct {
		name, entry string
		want        WipeDevice
		err         string // substring of check's problem ("" when it passes)
	}{
		{"serial and size", `storage0a:/dev/sdb serial=lab-storage0a-data size=1073741824`,
			WipeDevice{Host: "storage0a", Disk: "/dev/sdb", Serial: "lab-storage0a-data", Size: 1073741824}, ""},
		{"wwn serial size", `storage0a:/dev/sdb wwn=0x5000c500a1b2c3d4 serial=Z1D2X3 size=4000787030016`,
			WipeDevice{Host: "storage0a", Disk: "/dev/sdb", WWN: "0x5000c500a1b2c3d4", Serial: "Z1D2X3", Size: 4000787030016}, ""},
		// a hand-written path alone still loads: check shows the disk's
		// identity and refuses it there (the spec cannot know it)
		{"path only", `storage0a:/dev/sdb`, WipeDevice{Host: "storage0a", Disk: "/dev/sdb"}, ""},
		{"bad size", `storage0a:/dev/sdb serial=x size=1G`, WipeDevice{}, `wipe.devices[0]: "storage0a:/dev/sdb serial=x size=1G": size "1G" is not a size in bytes`},
		{"unknown field", `storage0a:/dev/sdb model=QEMU`, WipeDevice{}, `"model=QEMU" is not one of wwn=, serial=, size=`},
		{"serial twice", `storage0a:/dev/sdb serial=a serial=b`, WipeDevice{}, `"serial=b" is not one of`},
		{"shell in serial", `storage0a:/dev/sdb serial=$(reboot)`, WipeDevice{}, `"serial=$(reboot)" is not one of`},
		{"no host", `/dev/sdb serial=x size=1`, WipeDevice{}, `write each device as "host:/dev/path"`},
		{"not a half", `storage0a:/dev/sdc serial=x size=1`, WipeDevice{}, `wipe.devices[0]: "storage0a:/dev/sdc" is not the disk of any pair half`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := strings.Replace(sampleTOML(t), `devices = []`, `devices = ["`+c.entry+`"]`, 1)
			s, err := Parse("spec.toml", []byte(src))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("want a problem with %q, got %v", c.err, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, ok := s.WipeOf(c.want.Host, c.want.Disk)
			if !ok || got != c.want {
				t.Fatalf("WipeOf = %+v, %v; want %+v", got, ok, c.want)
			}
			if got.String() != c.entry {
				t.Fatalf("written back as %q, not %q", got.String(), c.entry)
			}
			if got.HasIdentity() == (c.want.Serial == "" && c.want.WWN == "") {
				t.Fatalf("HasIdentity() = %v for %q", got.HasIdentity(), c.entry)
			}
			if s.MayWipe("storage0b", "/dev/sdb") {
				t.Fatal("storage0b:/dev/sdb is not named, yet MayWipe says it may be wiped")
			}
		})
	}
}

func sampleTOML(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../sample.toml")
	if err != nil {
		t.Fatal(err)
	}
	src := string(data)
	if !strings.Contains(src, `devices = []`) {
		t.Fatal("sample.toml no longer has an empty [wipe] devices list")
	}
	return src
}
