package steps

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"scalestore/config"
)

// Each real fence_ipmilan capture reads as the state it shows.
func TestParseFenceStatusCaptures(t *testing.T) {
	for file, want := range map[string]FenceStatus{
		"fence-ipmilan-status-on.txt":      {State: FenceOn, Msg: "Status: ON"},
		"fence-ipmilan-status-off.txt":     {State: FenceOff, Msg: "Status: OFF"},
		"fence-ipmilan-wrong-address.txt":  {State: FenceError, Msg: "2026-12-02 14:38:41,850 ERROR: Connection timed out (exit 1)"},
		"fence-ipmilan-wrong-password.txt": {State: FenceError, Msg: "2026-12-02 14:38:57,129 ERROR: Failed: Unable to obtain correct plug status or plug is not available (exit 1)"},
		"fence-ipmilan-off.txt":            {State: FenceError, Msg: "Success: Powered OFF (exit 0)"}, // not a status answer
	} {
		if got := ParseFenceStatus(capture(t, file)); got != want {
			t.Errorf("%s: %+v, want %+v", file, got, want)
		}
	}
	for text, want := range map[string]string{
		"not installed: /usr/sbin/fence_ipmilan\nrc=127": FenceMissing,
		"Status: ON\n":      FenceError, // cut short: no rc
		"":                  FenceError,
		"Status: ON\nrc=2":  FenceError,
		"Status: OFF\nrc=0": FenceError,
	} {
		if got := ParseFenceStatus(text); got.State != want {
			t.Errorf("%q: %+v, want %s", text, got, want)
		}
	}
}

func FuzzParseFenceStatus(f *testing.F) {
	for _, c := range []string{"status-on", "status-off", "wrong-address", "wrong-password", "off-fails"} {
		f.Add(capture(f, "fence-ipmilan-"+c+".txt"))
	}
	f.Add("not installed: /sbin/fence_x\nrc=127")
	f.Fuzz(func(t *testing.T, s string) {
		got := ParseFenceStatus(s)
		switch got.State {
		case FenceOn, FenceOff, FenceMissing:
		case FenceError:
			if got.Msg == "" {
				t.Fatalf("an error with no message: %q", s)
			}
		default:
			t.Fatalf("state %q for %q", got.State, s)
		}
	})
}

// Discovery on a storage half asks the agent for its peer's power status,
// on a client for every other client's, options on stdin; run with dash
// on this machine against a stub agent that answers with real captures by
// the target's address.
func TestDiscoverFenceTargets(t *testing.T) {
	s := fencedLab(t, config.ProfileDebian12)
	dir := t.TempDir()
	byIP := map[string]string{
		s.Fencing.HostOptions["storage0b"]["ip"]: "fence-ipmilan-status-on.txt",
		s.Fencing.HostOptions["client1"]["ip"]:   "fence-ipmilan-wrong-password.txt",
		s.Fencing.HostOptions["storage1a"]["ip"]: "fence-ipmilan-status-off.txt",
	}
	var cases strings.Builder
	for ip, file := range byIP {
		os.WriteFile(filepath.Join(dir, file), []byte(capture(t, file)), 0o644)
		// the capture's output, then its exit code
		cases.WriteString("*ip=" + ip + "*) sed '$d' \"$D/" + file + "\"; exit $(sed -n '$s/^rc=//p' \"$D/" + file + "\") ;;\n")
	}
	agent := filepath.Join(dir, "fence_ipmilan")
	os.WriteFile(agent, []byte("#!/bin/sh\nin=$(cat); echo \"$#:$in\" >> \"$D/calls\"\ncase \"$in\" in\n"+cases.String()+"esac\nexit 1\n"), 0o755)

	discover := func(host string) *HostFacts {
		q := Query{Profile: s.Cluster.Profile, Agent: agent}
		for _, tg := range FenceTargets(s, host) {
			q.Fence = append(q.Fence, FenceQuery{Target: tg, Options: s.Fencing.Target(tg)})
		}
		cmd := exec.Command("dash", "-c", DiscoverScript(q).String())
		cmd.Env = []string{"PATH=/usr/bin:/bin:/usr/sbin:/sbin", "D=" + dir}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		hf, err := ParseDiscovery(string(out), "VG0", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return hf
	}
	if got := discover("storage0a").Fence; len(got) != 1 || got["storage0b"].State != FenceOn {
		t.Errorf("storage0a: %+v", got)
	}
	if got := discover("storage1b").Fence; len(got) != 1 || got["storage1a"].State != FenceOff {
		t.Errorf("storage1b: %+v", got)
	}
	got := discover("client0").Fence
	if len(got) != 1 || got["client1"].State != FenceError || !strings.Contains(got["client1"].Msg, "Unable to obtain correct plug status") {
		t.Errorf("client0: %+v", got)
	}
	calls, _ := os.ReadFile(filepath.Join(dir, "calls"))
	if !strings.HasPrefix(string(calls), "0:action=status\nip="+s.Fencing.HostOptions["storage0b"]["ip"]+"\nlanplus=1\npassword_script=/root/fence-pw.sh\nusername=admin\n") {
		t.Errorf("the agent's argv count and stdin: %q", calls)
	}
	q := Query{Agent: filepath.Join(dir, "fence_nothere"), Fence: []FenceQuery{{Target: "storage0b"}}}
	out, _ := exec.Command("dash", "-c", DiscoverScript(q).String()).Output()
	hf, _ := ParseDiscovery(string(out), "VG0", time.Now())
	if hf.Fence["storage0b"].State != FenceMissing {
		t.Errorf("a missing agent: %+v", hf.Fence)
	}
}
