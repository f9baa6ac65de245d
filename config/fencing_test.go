package config

import (
	"os"
	"strings"
	"testing"
)

// targets is a host_options line giving every host of sample.toml its own
// BMC address, but for the hosts named in skip.
func targets(skip ...string) string {
	var parts []string
	for i, h := range []string{"storage0a", "storage0b", "storage1a", "storage1b", "client0", "client1"} {
		if !strings.Contains(" "+strings.Join(skip, " ")+" ", " "+h+" ") {
			parts = append(parts, h+` = { ip = "192.168.0.`+string(rune('0'+i))+`" }`)
		}
	}
	return "host_options = { " + strings.Join(parts, ", ") + " }"
}

// withAgent is the sample with fence_ipmilan, the given lines after it.
func withAgent(t *testing.T, lines ...string) error {
	t.Helper()
	return mutate(t, `agent = "none"`, "agent = \"fence_ipmilan\"\n"+strings.Join(lines, "\n"))
}

func TestFencingCoversEveryHost(t *testing.T) {
	if err := withAgent(t, `options = { username = "admin", password_script = "/root/pw.sh" }`, targets()); err != nil {
		t.Fatalf("every host has its target: %v", err)
	}
	for _, h := range []string{"storage0a", "storage1b", "client1"} {
		err := withAgent(t, targets(h))
		want := "fencing.host_options: " + h + " has no fence target"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s without a target accepted; want %q, got %v", h, want, err)
		}
	}
	// a target's entry with no option in it is no target
	err := withAgent(t, strings.Replace(targets(), `client0 = { ip = "192.168.0.4" }`, `client0 = { }`, 1))
	if want := "fencing.host_options: client0 has no fence target"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("an empty target accepted; want %q, got %v", want, err)
	}
}

func TestFencingHostOptionsNameHosts(t *testing.T) {
	err := withAgent(t, strings.Replace(targets(), "client1 =", "client9 =", 1))
	if want := `fencing.host_options.client9: "client9" is not a host of the spec`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("want %q, got %v", want, err)
	}
}

func TestFencingStorageDelay(t *testing.T) {
	s, err := Parse("spec.toml", []byte(strings.Replace(sampleText(t), `agent = "none"`, "agent = \"fence_ipmilan\"\n"+targets(), 1)))
	if err != nil {
		t.Fatal(err)
	}
	if s.Fencing.Delay() != DefaultStorageDelay || DefaultStorageDelay != 10 {
		t.Errorf("storage_delay left out: %d, want 10", s.Fencing.Delay())
	}
	if err := withAgent(t, targets(), "storage_delay = 25"); err != nil {
		t.Errorf("storage_delay = 25 refused: %v", err)
	}
	for _, v := range []string{"-1", "121"} {
		err := withAgent(t, targets(), "storage_delay = "+v)
		if want := "fencing.storage_delay: " + v + " is not a delay in seconds"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("storage_delay = %s: want %q, got %v", v, want, err)
		}
	}
}

func TestFencingActionIsOurs(t *testing.T) {
	err := withAgent(t, `options = { action = "reboot" }`, targets())
	if want := "fencing.options.action: is scalestore's to set"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("want %q, got %v", want, err)
	}
}

func TestFencingTargetMergesOptions(t *testing.T) {
	f := Fencing{Agent: "fence_ipmilan", Options: map[string]string{"username": "admin", "ip": "10.0.0.1"},
		HostOptions: map[string]map[string]string{"s0b": {"ip": "10.0.0.2"}}}
	got := f.Target("s0b")
	if got["ip"] != "10.0.0.2" || got["username"] != "admin" || len(got) != 2 {
		t.Errorf("target of s0b: %v", got)
	}
	if f.Options["ip"] != "10.0.0.1" {
		t.Errorf("Target changed the common options: %v", f.Options)
	}
}

func sampleText(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../sample.toml")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
