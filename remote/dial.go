package remote

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// dialer holds what the hosts of one Pool (or one Dial) share: options, the
// serialised Prompter and the decrypted keys.
type dialer struct {
	opts   Options
	prompt *serialPrompter // nil: nothing can be asked
	log    *slog.Logger
	keys   *keyCache
}

func newDialer(o Options) *dialer {
	return &dialer{opts: o, prompt: newSerialPrompter(o.Prompter), log: o.logger(), keys: newKeyCache()}
}

// link is an authenticated SSH connection and the jump connections under it.
type link struct {
	client *ssh.Client
	jumps  []*ssh.Client // innermost last
}

func (l *link) Close() error {
	err := l.client.Close()
	for i := len(l.jumps) - 1; i >= 0; i-- {
		l.jumps[i].Close()
	}
	return err
}

// connect opens an authenticated connection to e, through its jump hosts.
func (d *dialer) connect(ctx context.Context, e *endpoint, sec *secrets) (*link, error) {
	l := &link{}
	var jump *ssh.Client
	if e.jump != nil {
		jl, err := d.connect(ctx, e.jump, sec)
		if err != nil {
			return nil, fmt.Errorf("via jump host %s: %w", e.jump.name, err)
		}
		l.jumps = append(jl.jumps, jl.client)
		jump = jl.client
	}
	client, err := d.handshake(ctx, e, sec, jump)
	if err != nil {
		for _, j := range l.jumps {
			j.Close()
		}
		return nil, err
	}
	l.client = client
	return l, nil
}

// defaultConnectTimeout bounds the TCP connection, and then the SSH
// handshake, when neither Options nor the ssh config say.
const defaultConnectTimeout = 10 * time.Second

// handshakeMore is the time a handshake gets beyond the connect timeout
// once the server has sent its banner (sshd's own LoginGraceTime is 2 min).
// Measured on the lab: six emulated VMs on two busy cores took over 10 s.
const handshakeMore = 50 * time.Second

// connectTimeout is e's bound on the TCP connection and on the handshake.
func (d *dialer) connectTimeout(e *endpoint) time.Duration {
	switch {
	case d.opts.ConnectTimeout > 0:
		return d.opts.ConnectTimeout
	case e.connectTimeout > 0:
		return e.connectTimeout
	}
	return defaultConnectTimeout
}

// handshake dials e (directly, or through jump) and authenticates. The TCP
// connection and the handshake are bounded by connectTimeout each; the
// handshake's clock stops while the person is asked something.
func (d *dialer) handshake(ctx context.Context, e *endpoint, sec *secrets, jump *ssh.Client) (*ssh.Client, error) {
	hk, err := loadHostKeys(e)
	if err != nil {
		return nil, err
	}
	limit := d.connectTimeout(e)
	more := d.opts.handshakeMore
	if more == 0 {
		more = handshakeMore
	}
	timer := &handshakeTimer{limit: limit, more: more}
	auth := &authSession{d: d, ctx: ctx, e: e, sec: sec, timer: timer}
	defer auth.close()
	cfg := &ssh.ClientConfig{
		User:              e.user,
		Auth:              auth.methods(),
		HostKeyCallback:   d.hostKeyCallback(ctx, e, hk, timer),
		HostKeyAlgorithms: hk.algos,
		ClientVersion:     "SSH-2.0-scalestore",
	}

	start := time.Now()
	dialCtx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var conn net.Conn
	if jump != nil {
		conn, err = jump.DialContext(dialCtx, "tcp", e.addr())
	} else {
		nd := net.Dialer{KeepAlive: 15 * time.Second}
		conn, err = nd.DialContext(dialCtx, "tcp", e.addr())
	}
	if err != nil {
		// (The dialer's own deadline may fire before dialCtx says so.)
		if ctx.Err() == nil && time.Since(start) >= limit {
			d.log.Debug("connect timed out", "host", e.name, "address", e.addr(), "stage", "tcp", "timeout", limit, "err", err)
			return nil, &timeoutError{fmt.Sprintf("no TCP connection to %s within %s", e.addr(), limit)}
		}
		return nil, err
	}

	// Closing conn ends the handshake, except through a jump host that
	// stopped answering: then it is abandoned, and ends when connect closes
	// the jump connections.
	type handshake struct {
		c     ssh.Conn
		chans <-chan ssh.NewChannel
		reqs  <-chan *ssh.Request
		err   error
	}
	rc := &readCounter{Conn: conn}
	timer.banner = func() bool { return !rc.none() }
	expiredCh := make(chan struct{})
	timer.start(func() {
		conn.Close()
		close(expiredCh)
	})
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	done := make(chan handshake, 1)
	go func() {
		c, chans, reqs, err := ssh.NewClientConn(rc, e.addr(), cfg)
		done <- handshake{c, chans, reqs, err}
	}()
	var hs handshake
	finished := false
	select {
	case hs = <-done:
		finished = true
	case <-ctx.Done():
	case <-expiredCh:
	}
	expired := timer.stop()
	if stopped := stop(); !finished || !stopped || expired {
		closeConn := func(hs handshake) {
			if hs.err == nil {
				hs.c.Close()
			}
		}
		if finished {
			closeConn(hs)
		} else {
			go func() { closeConn(<-done) }()
		}
		conn.Close()
		if ctx.Err() != nil {
			d.log.Debug("connect cancelled", "host", e.name, "address", e.addr(), "cause", context.Cause(ctx))
			return nil, context.Cause(ctx)
		}
		stage, msg := "handshake", fmt.Sprintf("%s did not finish the SSH handshake within %s", e.addr(), timer.total())
		if rc.none() {
			stage, msg = "banner", fmt.Sprintf("%s sent no SSH banner within %s", e.addr(), limit)
		}
		d.log.Debug("connect timed out", "host", e.name, "address", e.addr(), "stage", stage, "timeout", limit)
		return nil, &timeoutError{msg}
	}
	if hs.err != nil {
		conn.Close()
		return nil, d.explain(e, hk, auth, hs.err)
	}
	auth.succeeded()
	d.log.Debug("connected", "host", e.name, "address", e.addr(), "user", e.user,
		"server", string(hs.c.ServerVersion()))
	return ssh.NewClient(hs.c, hs.chans, hs.reqs), nil
}

// readCounter is a connection that knows whether anything was read from it.
type readCounter struct {
	net.Conn
	n atomic.Int64
}

func (r *readCounter) Read(b []byte) (int, error) {
	n, err := r.Conn.Read(b)
	r.n.Add(int64(n))
	return n, err
}

func (r *readCounter) none() bool { return r.n.Load() == 0 }

// handshakeTimer calls expire when a handshake takes longer than limit; the
// time spent asking the person does not count. Once the server has spoken
// (banner says so), the handshake gets more time once: key exchange and
// login cost seconds of CPU on a slow or busy server, which a silent one
// does not deserve.
type handshakeTimer struct {
	limit    time.Duration
	more     time.Duration // granted once when banner() holds at the limit
	banner   func() bool
	extended bool
	mu       sync.Mutex
	t        *time.Timer
	paused   int
	expired  bool
}

func (h *handshakeTimer) start(expire func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.t = time.AfterFunc(h.limit, func() {
		h.mu.Lock()
		if h.paused > 0 || h.expired {
			h.mu.Unlock()
			return
		}
		if !h.extended && h.more > 0 && h.banner != nil && h.banner() {
			h.extended = true
			h.t.Reset(h.more)
			h.mu.Unlock()
			return
		}
		h.expired = true
		h.mu.Unlock()
		expire()
	})
}

// total is the time the handshake had.
func (h *handshakeTimer) total() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.extended {
		return h.limit + h.more
	}
	return h.limit
}

// pause stops the clock while the person is asked; resume starts it again,
// with the whole limit ahead.
func (h *handshakeTimer) pause() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.paused++
	if h.t != nil {
		h.t.Stop()
	}
}

func (h *handshakeTimer) resume() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.paused--
	if h.paused == 0 && h.t != nil && !h.expired {
		h.t.Reset(h.limit)
	}
}

// stop ends the timer and reports whether it expired.
func (h *handshakeTimer) stop() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.paused++ // for good: a timer func already under way does nothing
	if h.t != nil {
		h.t.Stop()
	}
	return h.expired
}

// explain turns a handshake error into one that says what to do.
func (d *dialer) explain(e *endpoint, hk *hostKeys, auth *authSession, err error) error {
	var hke *HostKeyError
	if errors.As(err, &hke) {
		return hke
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "unable to authenticate"):
		tried := "nothing (no agent key, no usable key file, no prompter for a password)"
		if len(auth.tried) > 0 {
			tried = strings.Join(auth.tried, ", ")
		}
		return fmt.Errorf("authentication as %s failed (offered %s): %w", e.user, tried, err)
	case strings.Contains(msg, "no common algorithm for host key") && len(hk.algos) > 0:
		return fmt.Errorf("the server offers none of the host key types known_hosts holds for %s (%s): "+
			"its host key may have changed: %w", e.addr(), strings.Join(hk.algos, ", "), err)
	}
	return err
}

// keepAlive sends keepalive requests on c every interval until done is
// closed, and closes c after three unanswered ones.
func keepAlive(c *ssh.Client, interval time.Duration, done <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	missed := 0
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		reply := make(chan error, 1)
		go func() {
			_, _, err := c.SendRequest("keepalive@openssh.com", true, nil)
			reply <- err
		}()
		select {
		case <-done:
			return
		case err := <-reply:
			if err != nil {
				c.Close()
				return
			}
			missed = 0
		case <-time.After(interval):
			if missed++; missed >= 3 {
				c.Close()
				return
			}
		}
	}
}
