package remote

import (
	"context"
	"fmt"
	"sync"
)

// Pool keeps one Host per Target.Name, shared by everything that works on
// that host; each Host re-dials by itself when its connection drops. The
// Pool's hosts share one Prompter (one prompt at a time) and the keys
// decrypted for them.
type Pool struct {
	d *dialer

	mu     sync.Mutex
	hosts  map[string]*poolEntry
	closed bool
}

type poolEntry struct {
	key   string        // the Target it was made for
	ready chan struct{} // closed once host or err is set
	host  *sshHost
	err   error
}

// NewPool returns an empty Pool.
func NewPool(o Options) *Pool {
	return &Pool{d: newDialer(o), hosts: make(map[string]*poolEntry)}
}

// Get returns the Host for t.Name, connecting on first use. A Target that
// changed since the Host was made replaces it. A failed connection is not
// remembered: the next Get tries again.
func (p *Pool) Get(ctx context.Context, t Target) (Host, error) {
	key := fmt.Sprintf("%#v", targetKey(t))
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, fmt.Errorf("%s: %w", t.label(), ErrClosed)
		}
		e, ok := p.hosts[t.label()]
		if ok && e.key != key {
			select {
			case <-e.ready:
				delete(p.hosts, t.label())
				if e.host != nil {
					go e.host.Close()
				}
				ok = false
			default:
			}
		}
		if !ok {
			e = &poolEntry{key: key, ready: make(chan struct{})}
			p.hosts[t.label()] = e
			p.mu.Unlock()
			e.host, e.err = p.dial(ctx, t)
			p.mu.Lock()
			if e.err != nil {
				delete(p.hosts, t.label())
			}
			close(e.ready)
			p.mu.Unlock()
			if e.err != nil {
				return nil, e.err
			}
			return e.host, nil
		}
		p.mu.Unlock()
		select {
		case <-e.ready:
		case <-ctx.Done():
			return nil, fmt.Errorf("connect to %s: %w", t.label(), context.Cause(ctx))
		}
		if e.err == nil && e.key == key {
			return e.host, nil
		}
		// It failed, or was made for another Target: go round again.
	}
}

func (p *Pool) dial(ctx context.Context, t Target) (*sshHost, error) {
	h, err := newHost(p.d, t)
	if err != nil {
		return nil, err
	}
	if _, err := h.conn(ctx); err != nil {
		return nil, err
	}
	return h, nil
}

// Close closes every Host of the Pool.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	hosts := p.hosts
	p.hosts = nil
	p.mu.Unlock()
	for _, e := range hosts {
		<-e.ready
		if e.host != nil {
			e.host.Close()
		}
	}
	return nil
}

// targetKey is t with its jump chain flattened, to compare Targets.
func targetKey(t Target) []any {
	var k []any
	for hop := &t; hop != nil; hop = hop.Jump {
		c := *hop
		c.Jump = nil
		k = append(k, fmt.Sprintf("%#v", c))
	}
	return k
}
