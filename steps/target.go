package steps

import (
	"fmt"
	"path/filepath"

	"scalestore/config"
	"scalestore/remote"
)

// TargetFor turns a spec host into an SSH target. "~/" and relative paths
// are resolved against the spec's file (a spec from the wizard's form is not
// resolved yet). New host keys are accepted without asking only when the run
// is unattended and the spec's policy is accept-new.
func TargetFor(s *config.Spec, h *config.Host, unattended bool) (remote.Target, error) {
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
		AutoAcceptNew:  unattended && e.HostKeyPolicy == config.PolicyAcceptNew,
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
		j.KnownHostsFile, j.Policy, j.AutoAcceptNew, j.IdentityFiles = t.KnownHostsFile, t.Policy, t.AutoAcceptNew, t.IdentityFiles
		t.Jump = &j
	}
	return t, nil
}
