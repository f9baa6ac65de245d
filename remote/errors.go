package remote

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ExitError is the error of a command that ran and exited with a non-zero
// status. Run returns it together with the Result (whose Code, Stdout and
// Stderr are complete).
type ExitError struct {
	Host       string // Target.Name
	Cmd        string // the command line as the remote shell received it
	Code       int    // exit status; 128+n when killed by signal n
	StderrTail string // the last lines of stderr
}

func (e *ExitError) Error() string {
	msg := fmt.Sprintf("%s: %s: exit status %d", e.Host, shortCmd(e.Cmd), e.Code)
	if e.StderrTail != "" {
		msg += ": " + e.StderrTail
	}
	return msg
}

// ErrClosed is returned by a Host or Pool used after Close.
var ErrClosed = errors.New("host closed")

// ErrSudo is wrapped by the errors of a sudo that could not be run: no
// password known and none may be asked, a wrong password, or a user who may
// not use sudo.
var ErrSudo = errors.New("sudo failed")

// errNotStarted marks a command that could not even be started because the
// connection was gone: it is safe to re-dial and try once more.
var errNotStarted = errors.New("command not started")

// shortCmd is a command line cut to fit in an error message.
func shortCmd(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " …"
	}
	const max = 120
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// tail returns the last lines of b, at most maxLines lines and about
// maxBytes bytes.
func tail(b []byte, maxLines, maxBytes int) string {
	s := strings.TrimRight(string(b), "\r\n\t ")
	if len(s) > maxBytes {
		s = s[len(s)-maxBytes:]
		if i := strings.IndexByte(s, '\n'); i >= 0 && i < len(s)-1 {
			s = s[i+1:]
		}
		s = "…" + s
	}
	lines := strings.Split(s, "\n")
	if len(lines) > maxLines {
		lines = append([]string{"…"}, lines[len(lines)-maxLines:]...)
	}
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, "\r")
	}
	return strings.Join(lines, "\n")
}

func stderrTail(b []byte) string { return tail(b, 10, 2000) }

// ErrTimeout is wrapped by the error of a connection or a command that took
// longer than its bound.
var ErrTimeout = errors.New("timed out")

// timeoutError says what did not happen in time. It wraps ErrTimeout and
// context.DeadlineExceeded.
type timeoutError struct{ msg string }

func (e *timeoutError) Error() string { return e.msg }

func (e *timeoutError) Is(target error) bool {
	return target == ErrTimeout || target == context.DeadlineExceeded
}
