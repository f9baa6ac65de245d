package steps

import (
	"context"
	"errors"
	"fmt"

	"scalestore/config"
	"scalestore/remote"
)

// Connect opens the SSH side of a spec, as the CLI and the wizard both do:
// one remote.Pool (with o's prompter, logger and timeouts) for the spec's
// hosts, the HostSource that discovery, the engine and the checks use, and
// a function that closes the pool. unattended is TargetFor's.
//
// A host whose SSH settings make no target (a bad ssh.jump) is named in
// err; the source is usable all the same and returns that error for that
// host, so a caller may refuse the spec or go on with the other hosts.
func Connect(s *config.Spec, unattended bool, o remote.Options) (src HostSource, closePool func(), err error) {
	targets := map[string]remote.Target{}
	bad := map[string]error{}
	var errs []error
	for i := range s.Hosts {
		name := s.Hosts[i].Name
		t, err := TargetFor(s, &s.Hosts[i], unattended)
		if err != nil {
			bad[name] = err
			errs = append(errs, err)
			continue
		}
		targets[name] = t
	}
	pool := remote.NewPool(o)
	src = func(ctx context.Context, name string) (remote.Host, error) {
		if err := bad[name]; err != nil {
			return nil, err
		}
		t, ok := targets[name]
		if !ok {
			return nil, fmt.Errorf("host %q is not in the spec", name)
		}
		return pool.Get(ctx, t)
	}
	return src, func() { pool.Close() }, errors.Join(errs...)
}
