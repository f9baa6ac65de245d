package main

import (
	"errors"
	"fmt"
	"strings"

	"scalestore/config"
)

// Exit codes, all in one place, with the error types that choose them.
const (
	exitOK          = 0
	exitFailed      = 1   // failed; for status: degraded
	exitBadInput    = 2   // the spec or the command line; nothing ran
	exitRefused     = 3   // preflight refused; nothing was changed
	exitUnknown     = 4   // status: a host could not be read
	exitInterrupted = 130 // stopped by Ctrl-C (128 + SIGINT, as shells report it)
)

// exitCode maps an error to the process's exit status by its type.
func exitCode(err error) int {
	var (
		bi badInput
		ps config.Problems
		rf refused
		us unknownState
		in interrupted
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &in):
		return exitInterrupted
	case errors.As(err, &bi), errors.As(err, &ps):
		return exitBadInput
	case errors.As(err, &rf):
		return exitRefused
	case errors.As(err, &us):
		return exitUnknown
	}
	return exitFailed
}

// badInput marks errors that come from the operator's input (exit 2).
type badInput struct{ err error }

func (b badInput) Error() string { return b.err.Error() }
func (b badInput) Unwrap() error { return b.err }

// interrupted: the operator stopped the command (exit 130). changed says
// whether the plan had started changing hosts.
type interrupted struct{ changed bool }

func (i interrupted) Error() string {
	if i.changed {
		return "interrupted; the next apply resumes where this one stopped"
	}
	return "interrupted; nothing was changed"
}

// refused marks a preflight refusal (exit 3).
type refused struct{ n int }

func (r refused) Error() string {
	return fmt.Sprintf("preflight: %d check(s) failed; nothing was changed", r.n)
}

// unknownState: status could not read every host, and what it read is
// healthy (exit 4): the cluster may be healthy or not.
type unknownState struct{ hosts []string }

func (u unknownState) Error() string {
	return fmt.Sprintf("the state of %s is unknown (could not be read); what could be read is healthy", strings.Join(u.hosts, ", "))
}
