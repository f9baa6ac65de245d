package remote

import (
	"context"
	"errors"
)

// Prompter asks the person running scalestore for what only they know. The
// UI supplies it; a nil Prompter means an unattended run where nothing can be
// asked: encrypted keys not in the agent are skipped, password
// authentication is not attempted, unknown host keys are refused unless
// Target.AutoAcceptNew is set, and sudo runs with -n.
//
// A Pool or Host never calls its Prompter concurrently with itself.
type Prompter interface {
	// Secret asks for a password, a key passphrase or a sudo password for
	// host; prompt says which, e.g. "root@db1's password: ". The answer is
	// never logged nor put in an error or a command line.
	Secret(ctx context.Context, host, prompt string) (string, error)
	// ConfirmHostKey asks whether to trust a host key that known_hosts does
	// not hold: fingerprint is in OpenSSH's "SHA256:..." form.
	ConfirmHostKey(ctx context.Context, host, address, keyType, fingerprint string) (bool, error)
}

// ErrNoPrompter is returned (wrapped) when something must be asked and the
// run has no Prompter.
var ErrNoPrompter = errors.New("no prompter to ask with (unattended run)")

// serialPrompter lets one prompt at a time through, so that a fan-out over
// many hosts does not ask the person several things at once.
type serialPrompter struct {
	turn chan struct{} // holds a token while a prompt is on screen
	p    Prompter
}

func newSerialPrompter(p Prompter) *serialPrompter {
	if p == nil {
		return nil
	}
	return &serialPrompter{p: p, turn: make(chan struct{}, 1)}
}

func (s *serialPrompter) lock(ctx context.Context) error {
	select {
	case s.turn <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *serialPrompter) unlock() { <-s.turn }

func (s *serialPrompter) Secret(ctx context.Context, host, prompt string) (string, error) {
	if s == nil {
		return "", ErrNoPrompter
	}
	if err := s.lock(ctx); err != nil {
		return "", err
	}
	defer s.unlock()
	return s.p.Secret(ctx, host, prompt)
}

func (s *serialPrompter) ConfirmHostKey(ctx context.Context, host, address, keyType, fingerprint string) (bool, error) {
	if s == nil {
		return false, ErrNoPrompter
	}
	if err := s.lock(ctx); err != nil {
		return false, err
	}
	defer s.unlock()
	return s.p.ConfirmHostKey(ctx, host, address, keyType, fingerprint)
}
