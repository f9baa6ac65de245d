package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// termPrompter asks on the controlling terminal. A question ends when its
// context does (Ctrl-C): the terminal's echo is restored.
type termPrompter struct{ in *os.File }

func (tp termPrompter) Secret(ctx context.Context, host, prompt string) (string, error) {
	fmt.Fprintf(os.Stderr, "%s", prompt)
	fd := int(tp.in.Fd())
	saved, _ := term.GetState(fd)
	s, err := readCtx(ctx, func() (string, error) {
		b, err := term.ReadPassword(fd)
		return string(b), err
	})
	if err != nil && saved != nil {
		term.Restore(fd, saved)
	}
	fmt.Fprintln(os.Stderr)
	return s, err
}

func (tp termPrompter) ConfirmHostKey(ctx context.Context, host, address, keyType, fingerprint string) (bool, error) {
	fmt.Fprintf(os.Stderr, "The %s host key of %s (%s) is not known.\n  %s\nTrust it and add it to known_hosts? [y/N] ", keyType, host, address, fingerprint)
	return readYes(ctx, tp.in)
}

// readYes reads one answer line: true for y or yes. It returns ctx's error
// when ctx ends first.
func readYes(ctx context.Context, in io.Reader) (bool, error) {
	ans, err := readCtx(ctx, func() (string, error) {
		var b [64]byte
		n, err := in.Read(b[:])
		if n > 0 {
			err = nil
		}
		return string(b[:n]), err
	})
	ans = strings.ToLower(strings.TrimSpace(ans))
	return ans == "y" || ans == "yes", err
}

// readCtx runs a blocking read and returns early when ctx ends (the read
// is left behind: the process is about to end).
func readCtx(ctx context.Context, read func() (string, error)) (string, error) {
	type answer struct {
		s   string
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		s, err := read()
		ch <- answer{s, err}
	}()
	select {
	case a := <-ch:
		return a.s, a.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }
