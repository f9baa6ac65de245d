package steps

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"scalestore/config"
)

func TestISCSIPortal(t *testing.T) {
	for addr, want := range map[string]string{
		"192.168.0.10":  "192.168.0.10:3260",
		"fd00::10":      "[fd00::10]:3260",
		"storage0a.lan": "storage0a.lan:3260",
	} {
		if got := iscsiPortal(addr); got != want {
			t.Errorf("iscsiPortal(%q) = %q, want %q", addr, got, want)
		}
	}
}

// With IPv6 storage addresses, iscsiadm gets [addr]:3260 (a bare
// fd00::10:3260 is read as the address fd00::10:3260) and targetcli, which
// takes the address and the port apart, the bare address.
func TestIPv6Portals(t *testing.T) {
	data, err := os.ReadFile("../sample.toml")
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(data), `address = "192.168.0.10"`, `address = "fd00::10"`, 1)
	s, err := config.Parse("sample.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	Build(s, nil).Render(&b)
	plan := b.String()
	iqn := s.TargetIQN(s.Pairs[0], "storage0a")
	for _, want := range []string{
		"iscsiadm -m discovery -t sendtargets -p '[fd00::10]:3260'",
		"iscsiadm -m node -T " + iqn + " -p '[fd00::10]:3260' --login",
		"/tpg1/portals create fd00::10 3260'",
		"log in to " + iqn + " at [fd00::10]:3260",
	} {
		if !strings.Contains(plan, want) {
			t.Errorf("the plan lacks %q", want)
		}
	}
	if strings.Contains(plan, "fd00::10:3260") {
		t.Errorf("the plan joins an IPv6 address and a port without brackets:\n%s", grepLines(plan, "fd00::10:3260"))
	}
}

func grepLines(text, s string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// DRBD's resource files of both profiles write an IPv6 replication address
// as drbd.conf(5) wants it: "address ipv6 [ADDR]:PORT".
func TestIPv6DRBDAddresses(t *testing.T) {
	data, err := os.ReadFile("../sample.toml")
	if err != nil {
		t.Fatal(err)
	}
	for _, profile := range []string{config.ProfileDebian12, config.ProfileCentOS5} {
		src := strings.Replace(string(data), `address = "192.168.0.10"`, `address = "fd00::10"`, 1)
		src = strings.Replace(src, `profile = "debian12"`, `profile = "`+profile+`"`, 1)
		s, err := config.Parse("sample.toml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		Build(s, nil).Render(&b)
		plan := b.String()
		want := fmt.Sprintf("address ipv6 [fd00::10]:%d;", s.Port(s.Pairs[0]))
		if !strings.Contains(plan, want) || strings.Contains(plan, fmt.Sprintf("fd00::10:%d", s.Port(s.Pairs[0]))) {
			t.Errorf("%s: the DRBD resource lacks %q:\n%s", profile, want, grepLines(plan, "fd00::10"))
		}
	}
}
