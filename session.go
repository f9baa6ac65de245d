package main

import (
	"fmt"
	"os"

	"scalestore/config"
	"scalestore/remote"
	"scalestore/steps"
)

// session is what apply, check and status share: the spec and its SSH
// side (steps.Connect, as the wizard's).
type session struct {
	spec  *config.Spec
	hosts steps.HostSource
	close func()
}

// newSession opens SSH for the spec's hosts; a host whose SSH settings
// make no target is bad input.
func newSession(s *config.Spec, unattended bool, p remote.Prompter) (*session, error) {
	src, closePool, err := steps.Connect(s, unattended, remote.Options{Prompter: p, OnNewHostKey: showNewHostKey})
	if err != nil {
		closePool()
		return nil, badInput{err}
	}
	return &session{spec: s, hosts: src, close: closePool}, nil
}

// readOnlySession loads the spec and opens SSH for check and status:
// nothing changed on the hosts. On a terminal, an unknown host key (under
// "accept-new") is shown and confirmed; without one it is accepted and
// shown.
func readOnlySession(file string) (*config.Spec, *session, error) {
	s, err := loadSpec(file)
	if err != nil {
		return nil, nil, err
	}
	var p remote.Prompter
	interactive := isTerminal(os.Stdin)
	if interactive {
		p = termPrompter{in: os.Stdin}
	}
	ss, err := newSession(s, !interactive, p)
	if err != nil {
		return nil, nil, err
	}
	return s, ss, nil
}

// showNewHostKey says on stderr which host key was added to known_hosts
// (under host_key_policy "accept-new"), so no key is trusted unseen.
func showNewHostKey(host, address, keyType, fingerprint string) {
	fmt.Fprintf(os.Stderr, "scalestore: added the %s host key of %s (%s) to known_hosts: %s\n", keyType, host, address, fingerprint)
}
