package ui

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"scalestore/config"
	"scalestore/remote"
	"scalestore/steps"
)

// connectFunc opens the SSH side for a spec: a host source for discovery,
// the engine and the checks, and a function that closes it. Tests replace
// it with scripted hosts.
type connectFunc func(s *config.Spec, p remote.Prompter) (steps.HostSource, func())

// connectSSH is the real connectFunc: one remote.Pool for the spec's hosts,
// asking the wizard's Prompter for passwords and new host keys.
func connectSSH(s *config.Spec, p remote.Prompter) (steps.HostSource, func()) {
	pool := remote.NewPool(remote.Options{Prompter: p})
	targets := map[string]remote.Target{}
	errs := map[string]error{}
	for i := range s.Hosts {
		targets[s.Hosts[i].Name], errs[s.Hosts[i].Name] = targetFor(s, &s.Hosts[i])
	}
	src := func(ctx context.Context, name string) (remote.Host, error) {
		t, ok := targets[name]
		if !ok {
			return nil, fmt.Errorf("host %q is not in the spec", name)
		}
		if err := errs[name]; err != nil {
			return nil, err
		}
		return pool.Get(ctx, t)
	}
	return src, func() { pool.Close() }
}

// targetFor turns a spec host into an SSH target, as the apply command does
// (cli_apply.go's targetFor; kept in step with it), for an interactive run:
// new host keys are confirmed by the operator, never accepted silently.
// The spec may come from the wizard's form, whose paths are not resolved
// yet: "~/" and relative paths are resolved against the spec's file here.
func targetFor(s *config.Spec, h *config.Host) (remote.Target, error) {
	e := s.HostSSH(h)
	dir := "."
	if s.Path != "" {
		dir = filepath.Dir(s.Path)
	}
	t := remote.Target{
		Name:           h.Name,
		Address:        e.Address,
		Port:           e.Port,
		User:           e.User,
		KnownHostsFile: config.ResolvePath(dir, e.KnownHosts),
		Policy:         remote.HostKeyPolicy(e.HostKeyPolicy),
		Sudo:           e.SudoOn(),
	}
	if e.IdentityFile != "" {
		t.IdentityFiles = []string{config.ResolvePath(dir, e.IdentityFile)}
	}
	if e.Jump != "" {
		j, err := remote.ParseJump(e.Jump)
		if err != nil {
			return remote.Target{}, fmt.Errorf("host %s: ssh.jump: %w", h.Name, err)
		}
		j.KnownHostsFile, j.Policy, j.IdentityFiles = t.KnownHostsFile, t.Policy, t.IdentityFiles
		t.Jump = &j
	}
	return t, nil
}

// listDisksCmd lists a host's whole disks (not partitions, not loop or
// optical devices), for the wizard to offer as backing disks.
var listDisksCmd = remote.Argv("lsblk", "-J", "-b", "-d", "-o", "NAME,PATH,SIZE,TYPE")

// wizardModules are the kernel modules discovery looks for on a host whose
// role is not chosen yet: those of both roles.
func wizardModules(profile string) []string {
	seen := map[string]bool{}
	var out []string
	for _, role := range []string{"storage", "client"} {
		for _, m := range steps.DiscoverModules(role, profile) {
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	return out
}

// discoverHost reads one host before its role is known: its whole disks are
// listed first, then steps.DiscoverScript reads the host and every one of
// those disks, and steps.ParseDiscovery reads the answer. Read-only.
func discoverHost(ctx context.Context, src steps.HostSource, s *config.Spec, name string) (*steps.HostFacts, error) {
	h, err := src(ctx, name)
	if err != nil {
		return nil, err
	}
	res, err := h.Run(ctx, listDisksCmd, remote.RunOptions{})
	if err != nil {
		return nil, fmt.Errorf("list disks: %w", err)
	}
	devs, err := steps.ParseLsblk(string(res.Stdout))
	if err != nil {
		return nil, fmt.Errorf("list disks: %w", err)
	}
	var disks []string
	for _, d := range devs {
		if d.Type == "disk" && d.Path != "" {
			disks = append(disks, d.Path)
		}
	}
	vg := s.Volume.VG
	if vg == "" {
		vg = config.DefaultVG
	}
	profile := s.Cluster.Profile
	if profile == "" {
		profile = config.DefaultProfile
	}
	out, err := h.Run(ctx, steps.DiscoverScript(wizardModules(profile), disks), remote.RunOptions{})
	if err != nil {
		return nil, fmt.Errorf("discover %s: %w", name, err)
	}
	return steps.ParseDiscovery(string(out.Stdout), vg, time.Now())
}
