package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
)

// ErrConnectionLost is wrapped by the error of a command whose connection
// dropped while it ran: whether it completed is unknown. The next command
// re-dials.
var ErrConnectionLost = errors.New("connection lost")

// request is one command to run.
type request struct {
	text   string
	in     stdinData
	onLine func(Line)
	// internal marks our own housekeeping commands (kills): they are not
	// themselves killed on cancellation.
	internal bool
}

// job follows one command's two output streams: it parses the markers, and
// knows the command's process group and exit status.
type job struct {
	mu       sync.Mutex
	out, err *streamParser
	pgid     int
	started  chan struct{} // closed at the "P" marker (pgid known)
	code     int
	outEnd   bool
	errEnd   bool
	finished bool
	done     chan struct{} // closed when both "E" markers arrived
	prompted chan struct{} // a sudo prompt was seen
}

func newJob(host string, tok token, onLine func(Line)) *job {
	j := &job{
		started:  make(chan struct{}),
		done:     make(chan struct{}),
		prompted: make(chan struct{}, 4),
		code:     -1,
	}
	j.out = &streamParser{tok: tok.full, host: host, stream: Stdout, emit: onLine}
	j.err = &streamParser{tok: tok.full, host: host, stream: Stderr, emit: onLine}
	j.out.onMarker = func(kind byte, arg []byte) {
		switch kind {
		case 'P':
			if j.pgid == 0 {
				j.pgid, _ = strconv.Atoi(string(arg))
				j.err.prompt = nil // sudo is done with its prompts
				if j.out.muted {
					j.out.restart()
				}
				close(j.started)
			}
		case 'E':
			j.code, _ = strconv.Atoi(string(arg))
			j.outEnd = true
			j.maybeDone()
		}
	}
	j.err.onMarker = func(kind byte, _ []byte) {
		switch kind {
		case 'S':
			j.err.restart()
		case 'E':
			j.errEnd = true
			j.maybeDone()
		}
	}
	j.err.onPrompt = func() {
		select {
		case j.prompted <- struct{}{}:
		default:
		}
	}
	return j
}

// muteUntilStarted drops what comes before the command's start markers
// ("P" on stdout, "S" on stderr): in a session of its own, that is what the
// login's start-up files and sudo printed.
func (j *job) muteUntilStarted() {
	j.out.muted, j.err.muted = true, true
}

// maybeDone is called with mu held.
func (j *job) maybeDone() {
	if j.outEnd && j.errEnd && !j.finished {
		j.finished = true
		close(j.done)
	}
}

// feed passes output to the job; output after the job finished (from a
// background process the command left behind) is dropped.
func (j *job) feed(st Stream, b []byte) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.finished {
		return
	}
	if st == Stdout {
		j.out.write(b)
	} else {
		j.err.write(b)
	}
}

// eof ends one stream (session mode, where the end is the channel's).
func (j *job) eof(st Stream) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if st == Stdout {
		j.out.eof()
	} else {
		j.err.eof()
	}
}

func (j *job) processGroup() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.pgid
}

func (j *job) stderrSoFar() []byte {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]byte(nil), j.err.out.Bytes()...)
}

// result builds the Result, and the *ExitError of a non-zero status.
func (j *job) result(host, cmd string, code int) (Result, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	res := Result{Code: code, Stdout: j.out.out.Bytes(), Stderr: j.err.out.Bytes()}
	if code != 0 {
		return res, &ExitError{Host: host, Cmd: cmd, Code: code, StderrTail: stderrTail(res.Stderr)}
	}
	return res, nil
}

// pump copies one output stream of a session into sink until EOF.
func pump(r io.Reader, st Stream, sink func(Stream, []byte)) error {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			sink(st, buf[:n])
		}
		if err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

// sudoMode is how commands get root on a host.
type sudoMode int

const (
	sudoNone           sudoMode = iota // login user is root, or no sudo wanted
	sudoNonInteractive                 // sudo -n: it must not need a password
	sudoStdin                          // sudo -S: a password, if asked, goes to stdin
)

func (h *sshHost) sudoMode() sudoMode {
	switch {
	case !h.e.asRoot():
		return sudoNone
	case h.d.prompt == nil && h.sec.sudoPassword() == "":
		return sudoNonInteractive
	default:
		return sudoStdin
	}
}

// wrap prefixes argv with sudo as mode says; prompt is the marker sudo -S
// prints when it wants the password.
func (m sudoMode) wrap(argv []string, prompt token) []string {
	switch m {
	case sudoNonInteractive:
		return append([]string{"sudo", "-n", "--"}, argv...)
	case sudoStdin:
		return append([]string{"sudo", "-S", "-p", string(prompt.full), "--"}, argv...)
	}
	return argv
}

// handshake waits until a freshly started remote shell or command is past
// sudo: ready closes then. A sudo prompt in between is answered with the
// password on stdin (the cached one, else the Prompter's); a second prompt
// means the password was wrong.
func (h *sshHost) handshake(ctx context.Context, mode sudoMode, ready, ended <-chan struct{},
	prompted <-chan struct{}, stdin io.Writer, stderr func() []byte) error {
	var sent string
	for {
		select {
		case <-ready:
			if sent != "" {
				h.sec.setSudoPassword(sent)
			}
			return nil
		case <-prompted:
			if sent != "" {
				h.sec.setSudoPassword("")
				return fmt.Errorf("sudo on %s as %s: incorrect password: %w", h.name, h.e.user, ErrSudo)
			}
			pw := h.sec.sudoPassword()
			if pw == "" {
				var err error
				pw, err = h.d.prompt.Secret(ctx, h.name, fmt.Sprintf("[sudo] password for %s@%s: ", h.e.user, h.name))
				if err != nil {
					return fmt.Errorf("sudo on %s: %w: %w", h.name, ErrSudo, err)
				}
			}
			if _, err := io.WriteString(stdin, pw+"\n"); err != nil {
				return fmt.Errorf("sudo on %s: write password: %w", h.name, err)
			}
			sent = pw
		case <-ended:
			select {
			case <-ready:
				continue
			default:
			}
			msg := stderrTail(stderr())
			if mode != sudoNone {
				if msg == "" {
					msg = "sudo exited"
				}
				return fmt.Errorf("sudo on %s as %s: %w: %s", h.name, h.e.user, ErrSudo, msg)
			}
			return fmt.Errorf("remote shell on %s exited at start: %s", h.name, msg)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
