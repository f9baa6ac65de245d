package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// RunOptions are the optional parts of a command.
type RunOptions struct {
	// Stdin is fed to the command's standard input; nil gives it /dev/null.
	Stdin io.Reader
	// Timeout bounds the command, connecting included: once it has passed,
	// the command is killed as on cancellation and Run returns an error
	// that says "timed out after" it and wraps ErrTimeout (and
	// context.DeadlineExceeded). 0 means Options.CommandTimeout; a negative
	// value means no bound.
	Timeout time.Duration
	// OnLine receives each line of stdout and stderr as it arrives, tagged
	// with the host. It is called from one goroutine at a time and must not
	// block for long: the command's output waits meanwhile.
	OnLine func(Line)
}

// Result is what a command left: its exit status and all of its output.
type Result struct {
	Code           int
	Stdout, Stderr []byte
}

// Host is one server, reached over one SSH connection that is re-dialled
// when it drops. Its methods may be called concurrently.
type Host interface {
	// Name is Target.Name.
	Name() string
	// Run runs cmd with the server's /bin/sh (as root through sudo when
	// Target.Sudo applies) and waits for it. A non-zero exit returns the
	// complete Result and an *ExitError. Cancelling ctx, or passing
	// RunOptions.Timeout, kills the command's process group on the server
	// and returns within about a second, even from a server that stopped
	// answering, with an error wrapping context.Cause(ctx) (ErrTimeout for
	// a Timeout). A connection that dropped while the command ran
	// gives an error wrapping ErrConnectionLost; the next call re-dials.
	Run(ctx context.Context, cmd Cmd, opt RunOptions) (Result, error)
	// ReadFile returns the content of a file; a missing file gives an error
	// for which errors.Is(err, fs.ErrNotExist) holds.
	ReadFile(ctx context.Context, path string) ([]byte, error)
	// WriteFile replaces a file atomically (a temporary file in the same
	// directory, synced and renamed over it) with the given mode (0 means
	// 0644) and owner ("user" or "user:group"; empty leaves the file to the
	// user running the command). When the content differs, the old file is
	// kept as PATH.scalestore.bak. The same content with another mode or
	// owner only changes those; the same content, mode and owner changes
	// nothing and returns changed == false. A symlink at path is followed;
	// missing parent directories are made.
	WriteFile(ctx context.Context, path string, data []byte, mode fs.FileMode, owner string) (changed bool, err error)
	// Close closes the connection; the Host cannot be used afterwards.
	Close() error
}

// Dial connects to t and returns it as a Host, asking p (which may be nil)
// for what only the person knows.
func Dial(ctx context.Context, t Target, p Prompter) (Host, error) {
	return DialWith(ctx, t, Options{Prompter: p})
}

// DialWith is Dial with all options.
func DialWith(ctx context.Context, t Target, o Options) (Host, error) {
	h, err := newHost(newDialer(o), t)
	if err != nil {
		return nil, err
	}
	if _, err := h.conn(ctx); err != nil {
		return nil, err
	}
	return h, nil
}

// sshHost implements Host.
type sshHost struct {
	name string
	e    *endpoint
	d    *dialer
	sec  secrets

	mu      sync.Mutex
	cur     *conn
	dialing chan struct{} // closed when the dial under way ends
	closed  bool
}

func newHost(d *dialer, t Target) (*sshHost, error) {
	e, err := resolve(t)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", t.label(), err)
	}
	return &sshHost{name: e.name, e: e, d: d}, nil
}

func (h *sshHost) Name() string { return h.name }

// conn returns the live connection, dialling one when there is none or it
// dropped. Concurrent callers share one dial.
func (h *sshHost) conn(ctx context.Context) (*conn, error) {
	for {
		h.mu.Lock()
		if h.closed {
			h.mu.Unlock()
			return nil, fmt.Errorf("%s: %w", h.name, ErrClosed)
		}
		if c := h.cur; c != nil && !c.isDead() {
			h.mu.Unlock()
			return c, nil
		}
		if ch := h.dialing; ch != nil {
			h.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, fmt.Errorf("connect to %s: %w", h.name, context.Cause(ctx))
			}
		}
		ch := make(chan struct{})
		h.dialing = ch
		old := h.cur
		h.cur = nil
		h.mu.Unlock()
		if old != nil {
			old.close()
			h.d.log.Debug("connection lost, re-dialling", "host", h.name)
		}

		l, err := h.d.connect(ctx, h.e, &h.sec)
		h.mu.Lock()
		h.dialing = nil
		close(ch)
		if err != nil {
			h.mu.Unlock()
			return nil, fmt.Errorf("connect to %s: %w", h.name, err)
		}
		if h.closed {
			h.mu.Unlock()
			l.Close()
			return nil, fmt.Errorf("%s: %w", h.name, ErrClosed)
		}
		c := newConn(h, l)
		h.cur = c
		h.mu.Unlock()
		return c, nil
	}
}

func (h *sshHost) Close() error {
	h.mu.Lock()
	c := h.cur
	h.cur, h.closed = nil, true
	h.mu.Unlock()
	if c != nil {
		c.close()
	}
	return nil
}

// inlineStdinMax is the largest stdin written into a shell's script (when
// the shell is sh; 16 KiB when it is bash); a larger one is streamed through
// a session of its own.
const inlineStdinMax = 1 << 20

func (h *sshHost) Run(ctx context.Context, cmd Cmd, opt RunOptions) (Result, error) {
	text := cmd.String()
	if strings.TrimSpace(text) == "" {
		return Result{}, fmt.Errorf("run on %s: empty command", h.name)
	}
	if strings.IndexByte(text, 0) >= 0 {
		return Result{}, fmt.Errorf("run on %s: command contains a NUL byte", h.name)
	}
	var in stdinData
	if opt.Stdin != nil {
		buf, err := io.ReadAll(io.LimitReader(opt.Stdin, inlineStdinMax+1))
		if err != nil {
			return Result{}, fmt.Errorf("run on %s: read stdin: %w", h.name, err)
		}
		in.data = buf
		if len(buf) > inlineStdinMax {
			in.rest = opt.Stdin
		}
		in.set = true
	}
	timeout := opt.Timeout
	if timeout == 0 {
		timeout = h.d.opts.commandTimeout()
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, timeout, &timeoutError{fmt.Sprintf("timed out after %s", timeout)})
		defer cancel()
	}
	start := time.Now()
	for attempt := 0; ; attempt++ {
		c, err := h.conn(ctx)
		if err != nil {
			return Result{}, err
		}
		res, err := c.run(ctx, request{text: text, in: in, onLine: opt.OnLine})
		if errors.Is(err, errNotStarted) && attempt == 0 {
			c.close()
			continue // the connection was gone before the command started
		}
		if h.d.log.Enabled(ctx, slog.LevelDebug) {
			attrs := []any{"host", h.name, "cmd", shortCmd(text), "took", time.Since(start).Round(time.Microsecond), "timeout", timeout}
			var ee *ExitError
			if err == nil || errors.As(err, &ee) {
				attrs = append(attrs, "code", res.Code)
			}
			if err != nil {
				attrs = append(attrs, "err", err)
			}
			h.d.log.Debug("run", attrs...)
		}
		return res, err
	}
}

// stdinData is a command's stdin: none, data held in memory, or data held
// in memory followed by the rest of a reader.
type stdinData struct {
	set  bool
	data []byte
	rest io.Reader
}

func (in stdinData) reader() io.Reader {
	if in.rest != nil {
		return io.MultiReader(bytes.NewReader(in.data), in.rest)
	}
	return bytes.NewReader(in.data)
}

// conn is one SSH connection to a host and the shells open on it.
type conn struct {
	h    *sshHost
	l    *link
	dead chan struct{} // closed when the transport is gone

	slots   chan struct{} // one token per shell in use or being started
	mu      sync.Mutex
	idle    []*shell
	all     map[*shell]bool
	noShell bool // shells are unusable here: a session per command
	closed  bool
}

func newConn(h *sshHost, l *link) *conn {
	c := &conn{
		h:       h,
		l:       l,
		dead:    make(chan struct{}),
		slots:   make(chan struct{}, h.d.opts.maxShells()),
		all:     make(map[*shell]bool),
		noShell: h.d.opts.SessionPerCommand,
	}
	go func() {
		l.client.Wait()
		close(c.dead)
	}()
	interval := h.d.opts.KeepAlive
	if interval == 0 {
		interval = h.e.keepAlive
	}
	if interval == 0 {
		interval = 15 * time.Second
	}
	if interval > 0 {
		go keepAlive(l.client, interval, c.dead)
	}
	return c
}

func (c *conn) client() *ssh.Client { return c.l.client }

// isDead reports whether the connection is gone (or closed by us).
func (c *conn) isDead() bool {
	select {
	case <-c.dead:
		return true
	default:
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// alive checks the transport with a round trip, for when a channel ended and
// it is not yet known whether the connection went with it.
func (c *conn) alive() bool {
	if c.isDead() {
		return false
	}
	reply := make(chan error, 1)
	go func() {
		_, _, err := c.client().SendRequest("keepalive@openssh.com", true, nil)
		reply <- err
	}()
	select {
	case err := <-reply:
		return err == nil
	case <-c.dead:
		return false
	case <-time.After(5 * time.Second):
		return false
	}
}

func (c *conn) close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	shells := make([]*shell, 0, len(c.all))
	for s := range c.all {
		shells = append(shells, s)
	}
	c.idle = nil
	c.mu.Unlock()
	for _, s := range shells {
		s.close()
	}
	c.l.Close()
}

func (c *conn) useSessions() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.noShell
}

// run runs one command on this connection: in a shell when one can be had,
// else in a session of its own.
func (c *conn) run(ctx context.Context, r request) (Result, error) {
	if r.in.rest == nil && !c.useSessions() {
		s, err := c.getShell(ctx, true)
		switch {
		case err == nil:
			if !r.in.set || (s.base64 && len(r.in.data) <= s.inlineMax) {
				return c.runInShell(ctx, s, r)
			}
			c.putShell(s)
		case ctx.Err() != nil:
			return Result{}, fmt.Errorf("run %s on %s: %w", shortCmd(r.text), c.h.name, context.Cause(ctx))
		case errors.Is(err, ErrSudo):
			return Result{}, err
		case c.isDead():
			return Result{}, fmt.Errorf("run on %s: %w: %w", c.h.name, errNotStarted, err)
		default:
			c.disableShells(err)
		}
	}
	return c.runSession(ctx, r)
}

// disableShells makes this connection run a session per command from now
// on, and closes the idle shells (their sessions may be what the server
// lacks).
func (c *conn) disableShells(cause error) {
	c.mu.Lock()
	idle := c.idle
	c.idle = nil
	for _, s := range idle {
		delete(c.all, s)
	}
	c.noShell = true
	c.mu.Unlock()
	for _, s := range idle {
		s.close()
	}
	c.h.d.log.Warn("no usable remote shell: one session per command from now on", "host", c.h.name, "err", cause)
}

// getShell takes an idle shell, or starts one while fewer than MaxShells
// exist. With wait false it returns nil at once when that would mean
// waiting or starting one.
func (c *conn) getShell(ctx context.Context, wait bool) (*shell, error) {
	if wait {
		select {
		case c.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.dead:
			return nil, errors.New("connection lost")
		}
	} else {
		select {
		case c.slots <- struct{}{}:
		default:
			return nil, nil
		}
	}
	c.mu.Lock()
	for len(c.idle) > 0 {
		s := c.idle[len(c.idle)-1]
		c.idle = c.idle[:len(c.idle)-1]
		if !s.isDead() {
			c.mu.Unlock()
			return s, nil
		}
		delete(c.all, s)
	}
	closed := c.closed
	c.mu.Unlock()
	if !wait || closed {
		<-c.slots
		return nil, nil
	}
	s, err := c.startShell(ctx)
	if err != nil {
		<-c.slots
		return nil, err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		s.close()
		<-c.slots
		return nil, fmt.Errorf("%s: %w", c.h.name, ErrClosed)
	}
	c.all[s] = true
	c.mu.Unlock()
	return s, nil
}

// putShell gives a shell back once its command is over.
func (c *conn) putShell(s *shell) {
	c.mu.Lock()
	if s.isDead() || c.closed || c.noShell {
		delete(c.all, s)
		c.mu.Unlock()
		s.close()
	} else {
		c.idle = append(c.idle, s)
		c.mu.Unlock()
	}
	<-c.slots
}

// dropShell forgets a shell that is broken or stuck.
func (c *conn) dropShell(s *shell) {
	s.close()
	c.mu.Lock()
	delete(c.all, s)
	c.mu.Unlock()
	<-c.slots
}

// kill signals the process group pgid on the server: through an idle shell
// when there is one, else through a session of its own.
func (c *conn) kill(pgid int, sig string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r := request{internal: true, text: Script("kill -s %s -- -%d 2>/dev/null || kill -s %s %d 2>/dev/null; kill -s CONT -- -%d 2>/dev/null; true",
		sig, pgid, sig, pgid, pgid).String()}
	var err error
	if s, _ := c.getShell(ctx, false); s != nil {
		_, err = c.runInShell(ctx, s, r)
	} else {
		_, err = c.runSession(ctx, r)
	}
	if err != nil {
		c.h.d.log.Warn("could not signal a cancelled command", "host", c.h.name, "pgid", pgid, "signal", sig, "err", err)
	}
}
