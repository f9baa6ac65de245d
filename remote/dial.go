package remote

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
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

// handshake dials e (directly, or through jump) and authenticates.
func (d *dialer) handshake(ctx context.Context, e *endpoint, sec *secrets, jump *ssh.Client) (*ssh.Client, error) {
	hk, err := loadHostKeys(e)
	if err != nil {
		return nil, err
	}
	auth := &authSession{d: d, ctx: ctx, e: e, sec: sec}
	defer auth.close()
	cfg := &ssh.ClientConfig{
		User:              e.user,
		Auth:              auth.methods(),
		HostKeyCallback:   d.hostKeyCallback(ctx, e, hk),
		HostKeyAlgorithms: hk.algos,
		ClientVersion:     "SSH-2.0-scalestore",
	}

	dialCtx := ctx
	if e.connectTimeout > 0 {
		var cancel context.CancelFunc
		dialCtx, cancel = context.WithTimeout(ctx, e.connectTimeout)
		defer cancel()
	}
	var conn net.Conn
	if jump != nil {
		conn, err = jump.DialContext(dialCtx, "tcp", e.addr())
	} else {
		nd := net.Dialer{KeepAlive: 15 * time.Second}
		conn, err = nd.DialContext(dialCtx, "tcp", e.addr())
	}
	if err != nil {
		return nil, err
	}

	// The handshake may wait on the person (passphrase, host key): only the
	// context bounds it.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	c, chans, reqs, err := ssh.NewClientConn(conn, e.addr(), cfg)
	if !stop() {
		if err == nil {
			c.Close()
		}
		return nil, ctx.Err()
	}
	if err != nil {
		conn.Close()
		return nil, d.explain(e, hk, auth, err)
	}
	auth.succeeded()
	d.log.Debug("connected", "host", e.name, "address", e.addr(), "user", e.user,
		"server", string(c.ServerVersion()))
	return ssh.NewClient(c, chans, reqs), nil
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
