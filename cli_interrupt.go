package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// interrupts: until the plan starts changing hosts, the first SIGINT or
// SIGTERM cancels everything at once (connecting, discovery, a question:
// nothing has changed). Once it runs (started), the first closes stop
// (finish the running commands, start no new one) and the second cancels
// the commands too.
type interrupts struct {
	ctx     context.Context
	cancel  context.CancelFunc
	stop    chan struct{}
	ch      chan os.Signal
	mu      sync.Mutex
	running bool
	n       int
}

func newInterrupts(parent context.Context) *interrupts {
	ctx, cancel := context.WithCancel(parent)
	ir := &interrupts{ctx: ctx, cancel: cancel, stop: make(chan struct{}), ch: make(chan os.Signal, 2)}
	signal.Notify(ir.ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		for {
			select {
			case <-ir.ch:
			case <-ctx.Done():
				return
			}
			ir.mu.Lock()
			ir.n++
			n, running := ir.n, ir.running
			ir.mu.Unlock()
			if running && n == 1 {
				fmt.Fprintln(os.Stderr, "\nscalestore: stopping after the running commands (Ctrl-C again to stop them now)")
				close(ir.stop)
				continue
			}
			fmt.Fprintln(os.Stderr, "\nscalestore: interrupted")
			cancel()
			return
		}
	}()
	return ir
}

// started marks the start of the changes: the next signal stops gently.
func (ir *interrupts) started() {
	ir.mu.Lock()
	ir.running = true
	ir.mu.Unlock()
}

// err is the interrupted error when a signal arrived, else nil.
func (ir *interrupts) err() error {
	ir.mu.Lock()
	defer ir.mu.Unlock()
	if ir.n == 0 {
		return nil
	}
	return interrupted{changed: ir.running}
}

func (ir *interrupts) release() { signal.Stop(ir.ch); ir.cancel() }
