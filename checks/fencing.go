package checks

import (
	"fmt"
	"sort"
	"strings"

	"scalestore/config"
	"scalestore/steps"
)

// FencingOffMsg is what running without fencing really does (measured on
// the lab: dlm with enable_fencing=0 removes a lost client at once, and the
// others' GFS2 goes on).
const FencingOffMsg = "FENCING IS OFF: a client cut off from the others but still running keeps writing to GFS2 " +
	"while they recover without it (dlm does not wait for it) and replay its journal, which corrupts the filesystem; " +
	"a cut replication link lets both halves of a pair take writes (split brain: clients read different data)"

// checkFencing: without an agent, the loud warning; with one, every host
// must be able to query the power status of each target it may have to
// fence (a storage half its peer, a client the other clients) through the
// agent, as discovery asked it: a fencing setup that cannot fence fails
// preflight here, not at 3 a.m.
func checkFencing(s *config.Spec, f *steps.Facts) []Result {
	if !s.Fencing.On() {
		return []Result{{Check: "fencing", Status: Warn, Msg: FencingOffMsg,
			Hint: "set fencing.agent and every host's target under fencing.host_options for production; \"none\" is for labs"}}
	}
	rs := []Result{{Check: "fencing", Status: Pass, Msg: fmt.Sprintf("fence agent %s; storage halves fence their peer (the b-half after %d s), dlm fences lost clients",
		s.Fencing.Agent, s.Fencing.Delay())}}
	return append(rs, fenceTargets(s, f, true)...)
}

// FenceHealth is the postflight's fencing check: apply has installed the
// agent, so every host must now read the power status of each target it may
// have to fence through it (f from steps.ReadFence). Nothing without an
// agent: preflight warned already.
func FenceHealth(s *config.Spec, f *steps.Facts) []Result {
	if !s.Fencing.On() {
		return nil
	}
	var rs []Result
	for _, h := range s.Hosts {
		if err := f.Errors[h.Name]; err != nil && len(steps.FenceTargets(s, h.Name)) > 0 {
			rs = append(rs, Result{Check: "fencing", Host: h.Name, Status: Fail, Msg: err.Error()})
		}
	}
	return append(rs, fenceTargets(s, f, false)...)
}

// fenceTargets checks each host's fence targets as f read them. before:
// preflight, where an agent apply will install only warns.
func fenceTargets(s *config.Spec, f *steps.Facts, before bool) []Result {
	agent := s.Fencing.Agent
	var rs []Result
	for _, h := range s.Hosts {
		hf := f.Hosts[h.Name]
		if hf == nil {
			continue // not reached: its ssh result says so
		}
		for _, target := range steps.FenceTargets(s, h.Name) {
			r := Result{Check: "fence " + target, Host: h.Name}
			st, ok := hf.Fence[target]
			opts := optList(s.Fencing.Target(target))
			try := fmt.Sprintf("on %s: printf 'action=status\\n%s\\n' | %s", h.Name, strings.Join(opts, "\\n"), steps.AgentPath(s))
			switch {
			case !ok:
				r.Status, r.Msg = Fail, fmt.Sprintf("%s's power status through %s was not read", target, agent)
				r.Hint = try
			case st.State == steps.FenceOn:
				r.Status, r.Msg = Pass, fmt.Sprintf("%s reaches %s (%s)", agent, target, st.Msg)
			case st.State == steps.FenceOff && reached(f, target):
				r.Status = Fail
				r.Msg = fmt.Sprintf("%s says %s is powered off, but %s answers over SSH: its target names another machine", agent, target, target)
				r.Hint = "fix fencing.host_options." + target + " (" + strings.Join(optList(s.Fencing.HostOptions[target]), " ") + ")"
			case st.State == steps.FenceOff:
				r.Status, r.Msg = Pass, fmt.Sprintf("%s reaches %s, which is powered off", agent, target)
			case st.State == steps.FenceMissing && before && installable(s, hf):
				pkgs := strings.Join(steps.AgentPackages(s), ", ")
				if pkgs == "" {
					pkgs = "the stack's packages, which bring it"
				}
				r.Status = Warn
				r.Msg = fmt.Sprintf("%s is not installed yet (apply installs %s): that it reaches %s is not proven", agent, pkgs, target)
				r.Hint = "run scalestore check again after apply"
			case st.State == steps.FenceMissing && !before:
				r.Status, r.Msg = Fail, fmt.Sprintf("%s is not installed", agent)
				r.Hint = "run scalestore apply again (it installs " + strings.Join(steps.AgentPackages(s), ", ") + ")"
			case st.State == steps.FenceMissing:
				r.Status, r.Msg = Fail, fmt.Sprintf("%s is not installed, and apt has no %s", agent, strings.Join(steps.AgentPackages(s), ", "))
				r.Hint = "install the fence agents on " + h.Name + ", or name another fencing.agent"
			default:
				r.Status, r.Msg = Fail, fmt.Sprintf("%s cannot query %s's power status: %s", agent, target, st.Msg)
				r.Hint = "check the address and credentials of " + target + "'s fence device (fencing.host_options." + target +
					", fencing.options, the password_script's file on " + h.Name + "); try it " + try
			}
			rs = append(rs, r)
		}
	}
	return rs
}

// reached reports whether discovery reached host over SSH.
func reached(f *steps.Facts, host string) bool { return f.Errors[host] == nil && f.Hosts[host] != nil }

// installable: every package of the agent is installed or apt has it (a
// profile whose stack's packages bring the agent names none).
func installable(s *config.Spec, hf *steps.HostFacts) bool {
	for _, p := range steps.AgentPackages(s) {
		if st := hf.Packages[p]; st != steps.PkgInstalled && st != steps.PkgInstallable {
			return false
		}
	}
	return true
}

func optList(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
