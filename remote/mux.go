package remote

// Commands multiplexed over long-lived shells.
//
// A shell is a session running bash (or sh when there is no bash), under sudo
// when needed, whose stdin receives one script per command:
//
//	{ sh -c 'CMD' 2>&3 3>&- </dev/null & P=$!; printf '%s%sP%d\n' A B $P;
//	  wait $P; R=$?; printf '%s%sE%d\n' A B $R; printf '%s%sE\n' A B >&3; } 3>&2 2>/dev/null
//
// where A and B are the halves of a random token. The command runs in a
// process group of its own, so that cancelling it kills the group: bash with
// job control ("set -m", which needs no terminal in bash) gives every
// background job its own group for the price of a fork; plain sh needs the
// setsid program in front, an exec more. The command's stdout and stderr are
// the shell's, so they stay apart and stream as they come; the shell's own
// messages (bash's job notices) go to /dev/null. The "P" marker gives the
// process group, the "E" markers the exit status and the end of each stream.
// Every command is run by the server's /bin/sh, as in a session of its own.
// A command given stdin reads it from a base64 here-document in the same
// script.

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// shellInit reports the tools the protocol needs ("s" setsid, "b" base64,
// "j" bash), then becomes the command loop: bash when there is one, else sh.
// $1 and $2 are the token halves. The ready marker goes to stderr too: what
// the login printed there before it is not a command's.
const (
	shellInitSh = `printf '%s%sR%s\n' "$1" "$2" "$S"; printf '%s%sR\n' "$1" "$2" >&2; exec sh`
	shellInit   = `S=; command -v setsid >/dev/null 2>&1 && S=s; command -v base64 >/dev/null 2>&1 && S=${S}b; ` +
		`if command -v bash >/dev/null 2>&1; then printf '%s%sR%sj\n' "$1" "$2" "$S"; printf '%s%sR\n' "$1" "$2" >&2; exec bash --noprofile --norc; fi; ` +
		shellInitSh
	shellInitNoBash = `S=; command -v setsid >/dev/null 2>&1 && S=s; command -v base64 >/dev/null 2>&1 && S=${S}b; ` +
		shellInitSh
)

// jobControlProbe turns bash's job control on and reports ("Jy") whether a
// background job now gets a process group of its own. %[1]s and %[2]s are
// the token halves.
const jobControlProbe = `{ set -m; sleep 9 </dev/null & P=$!; J=n; ` +
	`{ read -r _ _ _ _ g _ </proc/$P/stat; } && [ "$g" = "$P" ] && J=y; kill -s KILL $P; wait $P; } 2>/dev/null; ` +
	`printf '%%s%%sJ%%s\n' %[1]s %[2]s "$J"` + "\n"

// shell is one long-lived remote shell.
type shell struct {
	sess   *ssh.Session
	stdin  io.WriteCloser
	base64 bool   // base64 is there: stdin can be inlined
	prefix string // what puts a command in a process group of its own: "" or "setsid "
	// inlineMax is the largest stdin worth inlining: bash reads its input
	// a byte at a time (~1 ms per KiB here), sh in blocks.
	inlineMax int

	mu   sync.Mutex
	sink func(Stream, []byte) // receives output; nil drops it
	eofs int
	dead chan struct{} // closed when both output streams ended
	once sync.Once
}

func (s *shell) isDead() bool {
	select {
	case <-s.dead:
		return true
	default:
		return false
	}
}

func (s *shell) close() {
	s.once.Do(func() { s.sess.Close() })
}

// pump delivers one output stream to the current sink.
func (s *shell) pump(st Stream, r io.Reader) {
	pump(r, st, func(st Stream, b []byte) {
		s.mu.Lock()
		if s.sink != nil {
			s.sink(st, b)
		}
		s.mu.Unlock()
	})
	s.mu.Lock()
	s.eofs++
	if s.eofs == 2 {
		close(s.dead)
	}
	s.mu.Unlock()
}

func (s *shell) setSink(f func(Stream, []byte)) {
	s.mu.Lock()
	s.sink = f
	s.mu.Unlock()
}

// startShell opens a shell and waits until it is ready (past sudo).
func (c *conn) startShell(ctx context.Context) (*shell, error) {
	sess, err := openSession(ctx, c.client())
	if err != nil {
		return nil, fmt.Errorf("open shell session: %w", err)
	}
	s := &shell{sess: sess, dead: make(chan struct{})}
	stdin, err1 := sess.StdinPipe()
	stdout, err2 := sess.StdoutPipe()
	stderr, err3 := sess.StderrPipe()
	if err := errors.Join(err1, err2, err3); err != nil {
		sess.Close()
		return nil, err
	}
	s.stdin = stdin

	tok, ptok := newToken(), newToken()
	mode := c.h.sudoMode()
	var (
		ready    = make(chan struct{})
		prompted = make(chan struct{}, 4)
		features []byte
		jobs     = make(chan bool, 1)
	)
	out := &streamParser{tok: tok.full}
	// ready: the marker came on both streams (they are read apart)
	readyOut, readyErr := make(chan struct{}), make(chan struct{})
	out.onMarker = func(kind byte, arg []byte) {
		switch kind {
		case 'R':
			if features == nil {
				features = append([]byte{}, arg...)
				close(readyOut)
			}
		case 'J':
			jobs <- string(arg) == "y"
		}
	}
	errp := &streamParser{tok: tok.full, onMarker: func(kind byte, arg []byte) {
		if kind == 'R' {
			select {
			case <-readyErr:
			default:
				close(readyErr)
			}
		}
	}}
	go func() {
		select {
		case <-readyOut:
		case <-s.dead:
			return
		}
		select {
		case <-readyErr:
			close(ready)
		case <-s.dead:
		}
	}()
	if mode == sudoStdin {
		errp.prompt = ptok.full
		errp.onPrompt = func() {
			select {
			case prompted <- struct{}{}:
			default:
			}
		}
	}
	s.sink = func(st Stream, b []byte) {
		if st == Stdout {
			out.write(b)
		} else {
			errp.write(b)
		}
	}
	init := shellInit
	if c.h.d.opts.plainSh {
		init = shellInitNoBash
	}
	argv := mode.wrap([]string{"sh", "-c", init, "sh", tok.a, tok.b}, ptok)
	if err := startSession(ctx, sess, "exec "+Join(argv...)); err != nil {
		sess.Close()
		return nil, fmt.Errorf("start remote shell: %w", err)
	}
	go s.pump(Stdout, stdout)
	go s.pump(Stderr, stderr)

	stderrNow := func() []byte {
		s.mu.Lock()
		defer s.mu.Unlock()
		return append([]byte(nil), errp.out.Bytes()...)
	}
	if err := c.h.handshake(ctx, mode, ready, s.dead, prompted, stdin, stderrNow); err != nil {
		s.close()
		return nil, err
	}
	f := string(features)
	s.base64 = strings.Contains(f, "b")
	jobControl := false
	if strings.Contains(f, "j") {
		if _, err := fmt.Fprintf(stdin, jobControlProbe, tok.a, tok.b); err != nil {
			s.close()
			return nil, fmt.Errorf("start remote shell: %w", err)
		}
		select {
		case jobControl = <-jobs:
		case <-s.dead:
			return nil, errors.New("remote shell exited at start")
		case <-ctx.Done():
			s.close()
			return nil, context.Cause(ctx)
		}
	}
	s.setSink(nil)
	switch {
	case jobControl:
		s.inlineMax = 16 << 10
	case strings.Contains(f, "s"):
		s.prefix = "setsid "
		s.inlineMax = inlineStdinMax
	default:
		s.close()
		return nil, errors.New("the server has neither bash nor setsid to give commands a process group")
	}
	c.h.d.log.Debug("remote shell started", "host", c.h.name, "sudo", mode != sudoNone, "job-control", jobControl)
	return s, nil
}

// shellScript is the script that runs one command in a shell.
func shellScript(tok token, prefix, text string, in stdinData) []byte {
	var b bytes.Buffer
	eof := "EOF_" + tok.a
	switch {
	case in.set && prefix == "":
		// bash: the background group is a subshell, the process group leader.
		fmt.Fprintf(&b, "{ { base64 -d | sh -c %s; } 2>&3 3>&- <<'%s' & P=$!;", Quote(text), eof)
	case in.set:
		fmt.Fprintf(&b, `{ %ssh -c 'base64 -d | sh -c "$1"' sh %s 2>&3 3>&- <<'%s' & P=$!;`, prefix, Quote(text), eof)
	default:
		fmt.Fprintf(&b, "{ %ssh -c %s 2>&3 3>&- </dev/null & P=$!;", prefix, Quote(text))
	}
	fmt.Fprintf(&b, ` printf '%%s%%sP%%d\n' %[1]s %[2]s $P; wait $P; R=$?; printf '%%s%%sE%%d\n' %[1]s %[2]s $R; printf '%%s%%sE\n' %[1]s %[2]s >&3; } 3>&2 2>/dev/null`+"\n",
		tok.a, tok.b)
	if in.set {
		enc := base64.StdEncoding.EncodeToString(in.data)
		for len(enc) > 76 {
			b.WriteString(enc[:76])
			b.WriteByte('\n')
			enc = enc[76:]
		}
		if enc != "" {
			b.WriteString(enc)
			b.WriteByte('\n')
		}
		b.WriteString(eof + "\n")
	}
	return b.Bytes()
}

// runInShell runs r in s, which it gives back (or drops) when done.
func (c *conn) runInShell(ctx context.Context, s *shell, r request) (Result, error) {
	tok := newToken()
	j := newJob(c.h.name, tok, r.onLine)
	s.mu.Lock()
	s.sink = func(st Stream, b []byte) {
		j.feed(st, b)
		select {
		case <-j.done:
			s.sink = nil // called with s.mu held
		default:
		}
	}
	s.mu.Unlock()

	script := shellScript(tok, s.prefix, r.text, r.in)
	wrote := make(chan error, 1)
	go func() {
		_, err := s.stdin.Write(script)
		wrote <- err
	}()
	for {
		select {
		case <-j.done:
			c.putShell(s)
			return j.result(c.h.name, r.text, j.code)
		case err := <-wrote:
			if err != nil {
				c.dropShell(s)
				return Result{}, c.lost(r, err)
			}
			wrote = nil
		case <-s.dead:
			select {
			case <-j.done:
				continue
			default:
			}
			c.dropShell(s)
			return Result{}, c.lost(r, errors.New("remote shell exited"))
		case <-ctx.Done():
			return Result{}, c.cancelInShell(ctx, s, j, r)
		}
	}
}

// lost explains a command whose shell or session ended before it did: the
// connection dropped, or (when it is still there) only the shell died, after
// which this connection runs a session per command.
func (c *conn) lost(r request, cause error) error {
	if !c.alive() {
		return fmt.Errorf("run %s on %s: %w (%v)", shortCmd(r.text), c.h.name, ErrConnectionLost, cause)
	}
	c.disableShells(fmt.Errorf("remote shell died: %w", cause))
	return fmt.Errorf("run %s on %s: %w", shortCmd(r.text), c.h.name, cause)
}

// Grace periods of a cancelled command.
var (
	cancelWait = time.Second      // how long Run waits for the killed command to end
	startWait  = 2 * time.Second  // how long to wait for a command's process group to be known
	killAfter  = 5 * time.Second  // SIGKILL if it has not ended after SIGTERM
	giveUp     = 30 * time.Second // then the shell is closed
)

// cancelInShell kills a cancelled command's process group and returns the
// cancellation error once the command ended, or after cancelWait at most:
// the rest goes on in the background, and the shell goes back to the pool
// once the command ended.
func (c *conn) cancelInShell(ctx context.Context, s *shell, j *job, r request) error {
	ctxErr := fmt.Errorf("run %s on %s: %w", shortCmd(r.text), c.h.name, context.Cause(ctx))
	if r.internal {
		c.dropShell(s)
		return ctxErr
	}
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		c.stopInShell(s, j, r, context.Cause(ctx))
	}()
	select {
	case <-ended:
	case <-time.After(cancelWait):
	}
	return ctxErr
}

// stopInShell kills a cancelled command's process group, TERM then KILL,
// and gives its shell back once the command ended, or drops it.
func (c *conn) stopInShell(s *shell, j *job, r request, cause error) {
	select {
	case <-j.started:
	case <-j.done:
	case <-s.dead:
	case <-time.After(startWait):
	}
	select {
	case <-j.done: // it ended meanwhile: nothing to kill
		c.putShell(s)
		return
	default:
	}
	pgid := j.processGroup()
	if pgid <= 0 {
		// The script never got going (a frozen server, or a dead shell):
		// the shell is in an unknown state.
		c.h.d.log.Debug("cancelled command never started: shell dropped", "host", c.h.name, "cmd", shortCmd(r.text), "cause", cause)
		c.dropShell(s)
		return
	}
	c.h.d.log.Debug("killing a cancelled command", "host", c.h.name, "cmd", shortCmd(r.text), "pgid", pgid, "cause", cause)
	// The signal may need a new session, whose login can be slow.
	go c.kill(pgid, "TERM")
	if c.shellFreed(s, j, killAfter) {
		return
	}
	c.h.d.log.Debug("cancelled command outlived SIGTERM: SIGKILL", "host", c.h.name, "cmd", shortCmd(r.text), "pgid", pgid)
	c.kill(pgid, "KILL")
	if !c.shellFreed(s, j, giveUp) {
		c.h.d.log.Debug("cancelled command outlived SIGKILL: shell dropped", "host", c.h.name, "cmd", shortCmd(r.text), "pgid", pgid)
		c.dropShell(s)
	}
}

// shellFreed waits up to d for j's command to end, then gives its shell
// back (or drops it when it died); false when d passed first.
func (c *conn) shellFreed(s *shell, j *job, d time.Duration) bool {
	select {
	case <-j.done:
		c.putShell(s)
		return true
	case <-s.dead:
		c.dropShell(s)
		return true
	case <-time.After(d):
		return false
	}
}
