package steps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"scalestore/config"
	"scalestore/remote"
)

// The hosts' lock: a run that changes a cluster holds, on every host of the
// spec, a kernel file lock (flock) in a command that lives as long as the
// run. Another run (from any machine) finds it held and stops before it
// changes anything. The holding command writes a line every 2 s: when the
// connection is lost (the operator's machine died), the write fails, the
// command ends and the lock is gone with it, so it is never stale.

// ErrHostLocked is wrapped by LockHosts's error when a host is locked by
// another run.
var ErrHostLocked = errors.New("locked by another scalestore run")

// hostLockExit is the holding command's exit status when the lock is held.
const hostLockExit = 75

// hostLockScript takes the cluster's lock on a host and holds it until the
// command is killed or its output breaks.
func hostLockScript(cluster, holder string) remote.Cmd {
	file := "/run/lock/scalestore-" + cluster + ".lock"
	return remote.Script(`mkdir -p /run/lock && { if flock -n 9; then printf '%%s\n' %s > %s.holder && echo locked && while echo held; do sleep 2 9>&-; done; `+
		`else echo "held by $(cat %s.holder 2>/dev/null)" >&2; exit %d; fi; } 9>>%s`,
		holder, file, file, hostLockExit, file)
}

// LockHosts takes the cluster's lock on every named host, in parallel. It
// returns once every host holds it, with the function that releases them
// all; on any failure it releases what it took and returns an error naming
// each host that refused and why. A host that cannot be reached is left
// out: the preflight refuses the run for it.
func LockHosts(ctx context.Context, cluster string, hosts HostSource, names []string, holder string) (release func(), err error) {
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	type outcome struct {
		host string
		err  error
	}
	got := make(chan outcome, len(names))
	cmd := hostLockScript(cluster, holder)
	for _, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, err := hosts(ctx, name)
			if err != nil {
				// not reached: nothing can change there, and the preflight
				// refuses the run for it
				got <- outcome{name, nil}
				return
			}
			locked := make(chan struct{})
			var once sync.Once
			done := make(chan struct{})
			var res remote.Result
			var rerr error
			go func() {
				defer close(done)
				res, rerr = h.Run(lctx, cmd, remote.RunOptions{Timeout: -1, OnLine: func(l remote.Line) {
					if l.Stream == remote.Stdout && l.Text == "locked" {
						once.Do(func() { close(locked) })
					}
				}})
			}()
			select {
			case <-locked:
				got <- outcome{name, nil}
				<-done // held until released
			case <-done:
				switch {
				case res.Code == hostLockExit:
					got <- outcome{name, fmt.Errorf("%w (%s)", ErrHostLocked, strings.TrimSpace(string(res.Stderr)))}
				case rerr != nil:
					got <- outcome{name, rerr}
				default:
					got <- outcome{name, fmt.Errorf("the lock command ended (exit %d): %s", res.Code, strings.TrimSpace(string(res.Stderr)))}
				}
			case <-ctx.Done():
				got <- outcome{name, ctx.Err()}
			}
		}()
	}
	var problems []error
	for range names {
		o := <-got
		if o.err != nil {
			problems = append(problems, fmt.Errorf("%s: %w", o.host, o.err))
		}
	}
	release = func() { cancel(); wg.Wait() }
	if len(problems) > 0 {
		release()
		return nil, fmt.Errorf("lock cluster %q on its hosts: %w", cluster, errors.Join(problems...))
	}
	return release, nil
}

// LockRun takes both locks of a run that changes a cluster: this machine's
// (config.LockCluster) and the one on every named host (LockHosts). what
// says what runs ("apply -f lab.toml", "the wizard"). The returned function
// releases both.
func LockRun(ctx context.Context, cluster string, names []string, hosts HostSource, what string) (release func(), err error) {
	unlock, err := config.LockCluster(cluster, what)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	holder := fmt.Sprintf("%s on %s (pid %d) since %s", what, host, os.Getpid(), time.Now().Format("2006-01-02 15:04:05"))
	unlockHosts, err := LockHosts(ctx, cluster, hosts, names, holder)
	if err != nil {
		unlock()
		return nil, err
	}
	return func() { unlockHosts(); unlock() }, nil
}
