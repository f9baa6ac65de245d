package checks

import (
	"fmt"
	"strings"
	"testing"

	"scalestore/config"
	"scalestore/steps"
)

// What agent = "none" really does, as the lab measured it: dlm recovers
// without the lost client, so the warning must not promise a freeze.
func TestFencingOffSaysWhatHappens(t *testing.T) {
	s, f := labFacts(t)
	r := find(Preflight(s, f), "", "fencing")
	if r.Status != Warn || !strings.Contains(r.Msg, "FENCING IS OFF") || !strings.Contains(r.Msg, "keeps writing to GFS2") ||
		!strings.Contains(r.Msg, "corrupts the filesystem") || !strings.Contains(r.Msg, "split brain") || strings.Contains(r.Msg, "freezes") {
		t.Fatalf("%+v", r)
	}
}

// fencedFacts is the lab with fence_ipmilan and every host's BMC, each
// host's agent answering for its targets with the capture named for that
// target (status-on when not named).
func fencedFacts(t *testing.T, answers map[string]string) (*config.Spec, *steps.Facts) {
	t.Helper()
	s, f := labFacts(t)
	s.Fencing = config.Fencing{Agent: "fence_ipmilan", Options: map[string]string{"username": "admin", "password_script": "/root/pw.sh"},
		HostOptions: map[string]map[string]string{}}
	for i, h := range s.Hosts {
		s.Fencing.HostOptions[h.Name] = map[string]string{"ip": fmt.Sprintf("10.0.9.%d", i+1)}
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, hf := range f.Hosts {
		hf.Fence = map[string]steps.FenceStatus{}
		for _, target := range steps.FenceTargets(s, name) {
			file := answers[target]
			if file == "" {
				file = "fence-ipmilan-status-on.txt"
			}
			text := "not installed: /usr/sbin/fence_ipmilan\nrc=127"
			if file != "missing" {
				text = readCapture(t, file)
			}
			hf.Fence[target] = steps.ParseFenceStatus(text)
		}
	}
	return s, f
}

func TestFencingReachesEveryTarget(t *testing.T) {
	s, f := fencedFacts(t, nil)
	rs := Preflight(s, f)
	// each half its peer, each client the other client
	for host, target := range map[string]string{"storage0a": "storage0b", "storage0b": "storage0a", "storage1a": "storage1b", "storage1b": "storage1a", "client0": "client1", "client1": "client0"} {
		if r := find(rs, host, "fence "+target); r.Status != Pass || !strings.Contains(r.Msg, "fence_ipmilan reaches "+target+" (Status: ON)") {
			t.Errorf("%s → %s: %+v", host, target, r)
		}
	}
	if r := find(rs, "", "fencing"); r.Status != Pass {
		t.Errorf("%+v", r)
	}
}

func TestFencingPreflightRefuses(t *testing.T) {
	for _, c := range []struct {
		target, answer string
		status         Status
		host, msg      string
	}{
		{"storage0b", "fence-ipmilan-wrong-address.txt", Fail, "storage0a", "fence_ipmilan cannot query storage0b's power status: 2026-12-02 14:38:41,850 ERROR: Connection timed out (exit 1)"},
		{"client0", "fence-ipmilan-wrong-password.txt", Fail, "client1", "cannot query client0's power status: 2026-12-02 14:38:57,129 ERROR: Failed: Unable to obtain correct plug status"},
		// storage1a answers over SSH: a target that says it is off is another machine
		{"storage1a", "fence-ipmilan-status-off.txt", Fail, "storage1b", "fence_ipmilan says storage1a is powered off, but storage1a answers over SSH"},
		// discovery saw apt has fence-agents and ipmitool? not in this capture: missing and not installable
		{"storage0a", "missing", Fail, "storage0b", "fence_ipmilan is not installed, and apt has no fence-agents, ipmitool"},
	} {
		s, f := fencedFacts(t, map[string]string{c.target: c.answer})
		rs := Preflight(s, f)
		r := find(rs, c.host, "fence "+c.target)
		if r.Status != c.status || !strings.Contains(r.Msg, c.msg) || r.Hint == "" {
			t.Errorf("%s → %s (%s): %+v, want %v %q", c.host, c.target, c.answer, r, c.status, c.msg)
		}
		if !Failed(rs) {
			t.Errorf("%s: preflight passes", c.answer)
		}
	}
}

// An agent not installed yet that apply installs is a warning: the
// preflight cannot prove it before apply.
func TestFencingAgentToBeInstalled(t *testing.T) {
	s, f := fencedFacts(t, map[string]string{"client1": "missing"})
	f.Hosts["client0"].Packages["fence-agents"] = steps.PkgInstallable
	f.Hosts["client0"].Packages["ipmitool"] = steps.PkgInstalled
	r := find(Preflight(s, f), "client0", "fence client1")
	if r.Status != Warn || !strings.Contains(r.Msg, "apply installs fence-agents, ipmitool") || !strings.Contains(r.Hint, "check again after apply") {
		t.Errorf("%+v", r)
	}
}

// CentOS 5's agents come with cman, one of the stack's packages.
func TestFencingAgentComesWithTheStack(t *testing.T) {
	s, f := fencedFacts(t, map[string]string{"client1": "missing"})
	s.Cluster.Profile = config.ProfileCentOS5
	for _, r := range checkFencing(s, f) {
		if r.Host == "client0" && r.Check == "fence client1" {
			if r.Status != Warn || !strings.Contains(r.Msg, "apply installs the stack's packages, which bring it") {
				t.Errorf("%+v", r)
			}
			return
		}
	}
	t.Error("no result for client0's target client1")
}

// The postflight proves fencing once apply has installed the agent: every
// target read through it passes; an agent still missing, or a device that
// does not answer, fails (no "apply installs it" warning there); a host not
// read fails by name. Nothing without an agent.
func TestFenceHealthAfterApply(t *testing.T) {
	s, f := fencedFacts(t, map[string]string{"storage0b": "missing", "client1": "fence-ipmilan-wrong-address.txt"})
	for _, hf := range f.Hosts {
		hf.Packages = map[string]string{"fence-agents": steps.PkgInstallable, "ipmitool": steps.PkgInstallable} // would warn in preflight
	}
	delete(f.Hosts, "storage1b")
	f.Errors["storage1b"] = fmt.Errorf("read the fence status on storage1b: connection lost")
	rs := FenceHealth(s, f)
	for _, c := range []struct {
		host, check string
		status      Status
		msg         string
	}{
		{"storage0a", "fence storage0b", Fail, "fence_ipmilan is not installed"},
		{"client0", "fence client1", Fail, "cannot query client1's power status: 2026-12-02 14:38:41,850 ERROR: Connection timed out"},
		{"storage0b", "fence storage0a", Pass, "fence_ipmilan reaches storage0a (Status: ON)"},
		{"storage1b", "fencing", Fail, "connection lost"},
	} {
		if r := find(rs, c.host, c.check); r.Status != c.status || !strings.Contains(r.Msg, c.msg) {
			t.Errorf("%s %s: %+v, want %v %q", c.host, c.check, r, c.status, c.msg)
		}
	}
	if r := find(rs, "storage0a", "fence storage0b"); !strings.Contains(r.Hint, "apply again") {
		t.Errorf("missing agent's hint: %q", r.Hint)
	}
	s.Fencing = config.Fencing{Agent: "none"}
	if rs := FenceHealth(s, f); len(rs) != 0 {
		t.Errorf("without an agent: %+v", rs)
	}
}
