package remote

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
)

// Outcome is what fn gave for one host in FanOut.
type Outcome[T any] struct {
	Value T
	Err   error
}

// FanOut calls fn for every name, at most limit at a time (limit <= 0: all
// at once), and returns each name's outcome. A name listed twice is done
// once. Names not started when ctx ends get ctx's error; a panic in fn
// becomes that name's error.
func FanOut[T any](ctx context.Context, names []string, limit int, fn func(ctx context.Context, name string) (T, error)) map[string]Outcome[T] {
	out := make(map[string]Outcome[T], len(names))
	if limit <= 0 || limit > len(names) {
		limit = len(names)
	}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		sem  = make(chan struct{}, max(limit, 1))
		seen = make(map[string]bool, len(names))
	)
	set := func(name string, o Outcome[T]) {
		mu.Lock()
		out[name] = o
		mu.Unlock()
	}
	for _, name := range names {
		if seen[name] {
			continue
		}
		seen[name] = true
		if ctx.Err() != nil {
			set(name, Outcome[T]{Err: fmt.Errorf("%s: %w", name, ctx.Err())})
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			set(name, Outcome[T]{Err: fmt.Errorf("%s: %w", name, ctx.Err())})
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			defer func() {
				if r := recover(); r != nil {
					set(name, Outcome[T]{Err: fmt.Errorf("%s: panic: %v\n%s", name, r, debug.Stack())})
				}
			}()
			v, err := fn(ctx, name)
			set(name, Outcome[T]{Value: v, Err: err})
		}()
	}
	wg.Wait()
	return out
}

// Errs joins the errors of outcomes, in name order; nil when every name
// succeeded.
func Errs[T any](outcomes map[string]Outcome[T]) error {
	names := make([]string, 0, len(outcomes))
	for n, o := range outcomes {
		if o.Err != nil {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	errs := make([]error, len(names))
	for i, n := range names {
		errs[i] = outcomes[n].Err
	}
	return errors.Join(errs...)
}
