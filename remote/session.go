package remote

// Commands run in an SSH session each: the fallback when no shell can be
// used, and the way for stdin too large to inline.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// sessionInit reports the process group the command will run in (the
// session's, which sshd made; sudo's when under sudo), marks the start of
// the command's output on both streams, then runs the command
// in the same sh, as sh -c would: $1 and $2 are the token halves, $3 the
// command, and the command sees no positional parameters.
const (
	sessionInit = `{ read -r _ _ _ _ g _ </proc/$$/stat; } 2>/dev/null || g=$$; ` +
		`printf '%s%sP%s\n' "$1" "$2" "$g"; printf '%s%sS\n' "$1" "$2" >&2; c=$3; shift 3; unset g; eval "unset c; $c"`
	sessionInitNoStdin = `exec </dev/null; ` + sessionInit
)

// runSession runs r in a session of its own.
func (c *conn) runSession(ctx context.Context, r request) (Result, error) {
	sess, err := openSession(ctx, c.client())
	if err != nil {
		if ctx.Err() != nil {
			return Result{}, fmt.Errorf("run %s on %s: open session: %w", shortCmd(r.text), c.h.name, err)
		}
		if !c.alive() {
			return Result{}, fmt.Errorf("run on %s: %w: %w", c.h.name, errNotStarted, err)
		}
		return Result{}, fmt.Errorf("run %s on %s: open session: %w", shortCmd(r.text), c.h.name, err)
	}
	closeSess := true
	defer func() {
		if closeSess {
			sess.Close()
		}
	}()
	stdin, err1 := sess.StdinPipe()
	stdout, err2 := sess.StdoutPipe()
	stderr, err3 := sess.StderrPipe()
	if err := errors.Join(err1, err2, err3); err != nil {
		return Result{}, fmt.Errorf("run %s on %s: %w", shortCmd(r.text), c.h.name, err)
	}

	tok, ptok := newToken(), newToken()
	mode := c.h.sudoMode()
	j := newJob(c.h.name, tok, r.onLine)
	j.muteUntilStarted()
	if mode == sudoStdin {
		j.err.prompt = ptok.full
	}
	script := sessionInitNoStdin
	if r.in.set {
		script = sessionInit
	}
	argv := mode.wrap([]string{"sh", "-c", script, "sh", tok.a, tok.b, r.text}, ptok)
	if err := startSession(ctx, sess, "exec "+Join(argv...)); err != nil {
		return Result{}, fmt.Errorf("run %s on %s: start: %w", shortCmd(r.text), c.h.name, err)
	}

	var wg sync.WaitGroup
	streams := make(chan struct{})
	for _, p := range []struct {
		st Stream
		r  io.Reader
	}{{Stdout, stdout}, {Stderr, stderr}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pump(p.r, p.st, j.feed)
			j.eof(p.st)
		}()
	}
	go func() {
		wg.Wait()
		close(streams)
	}()
	exited := make(chan error, 1)
	go func() { exited <- sess.Wait() }()

	if err := c.h.handshake(ctx, mode, j.started, streams, j.prompted, stdin, j.stderrSoFar); err != nil {
		if ctx.Err() != nil {
			return Result{}, fmt.Errorf("run %s on %s: %w", shortCmd(r.text), c.h.name, context.Cause(ctx))
		}
		if !c.alive() {
			return Result{}, fmt.Errorf("run %s on %s: %w", shortCmd(r.text), c.h.name, ErrConnectionLost)
		}
		return Result{}, err
	}
	if r.in.set {
		go func() {
			io.Copy(stdin, r.in.reader())
			stdin.Close()
		}()
	} else {
		stdin.Close()
	}

	select {
	case err := <-exited:
		<-streams
		code, err := exitCode(err)
		if err != nil {
			if !c.alive() {
				return Result{}, fmt.Errorf("run %s on %s: %w (%v)", shortCmd(r.text), c.h.name, ErrConnectionLost, err)
			}
			return Result{}, fmt.Errorf("run %s on %s: %w", shortCmd(r.text), c.h.name, err)
		}
		return j.result(c.h.name, r.text, code)
	case <-ctx.Done():
	}

	ctxErr := fmt.Errorf("run %s on %s: %w", shortCmd(r.text), c.h.name, context.Cause(ctx))
	pgid := j.processGroup()
	if r.internal || pgid <= 0 {
		return Result{}, ctxErr
	}
	c.h.d.log.Debug("killing a cancelled command", "host", c.h.name, "cmd", shortCmd(r.text), "pgid", pgid, "cause", context.Cause(ctx))
	go c.kill(pgid, "TERM")
	select {
	case <-exited:
		return Result{}, ctxErr
	case <-time.After(cancelWait):
	}
	closeSess = false
	go func() {
		defer sess.Close()
		select {
		case <-exited:
			return
		case <-time.After(killAfter):
		}
		c.kill(pgid, "KILL")
		select {
		case <-exited:
		case <-time.After(giveUp):
		}
	}()
	return Result{}, ctxErr
}

// openSession opens a session on client, or gives up as soon as ctx ends
// (a session opened after that is closed).
func openSession(ctx context.Context, client *ssh.Client) (*ssh.Session, error) {
	return await(ctx, client.NewSession, func(s *ssh.Session) { s.Close() })
}

// startSession starts cmd in sess, or gives up as soon as ctx ends; the
// caller then closes sess.
func startSession(ctx context.Context, sess *ssh.Session, cmd string) error {
	_, err := await(ctx, func() (struct{}, error) { return struct{}{}, sess.Start(cmd) }, nil)
	return err
}

// await runs op, which waits on the server, and returns what it gives, or
// ctx's cause as soon as ctx ends: a frozen server answers no request.
// What op gives after that goes to undo (nil: nothing to undo); op itself
// returns when the server answers or the connection is closed.
func await[T any](ctx context.Context, op func() (T, error), undo func(T)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := op()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
	}
	go func() {
		if r := <-ch; r.err == nil && undo != nil {
			undo(r.v)
		}
	}()
	var zero T
	return zero, context.Cause(ctx)
}

// exitCode maps the end of a session to an exit status, 128+n for a
// command killed by signal n, as shells report it.
func exitCode(err error) (int, error) {
	if err == nil {
		return 0, nil
	}
	var ee *ssh.ExitError
	if errors.As(err, &ee) {
		if sig := ee.Signal(); sig != "" {
			if n, ok := signalNumbers[sig]; ok {
				return 128 + n, nil
			}
			return 255, nil
		}
		return ee.ExitStatus(), nil
	}
	return -1, err
}

var signalNumbers = map[string]int{
	"HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "ABRT": 6, "FPE": 8, "KILL": 9,
	"USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15,
}
