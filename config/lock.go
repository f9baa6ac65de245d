package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// StateDir is where scalestore keeps its own files on the operator's
// machine: $XDG_STATE_HOME/scalestore (default ~/.local/state/scalestore).
func StateDir() (string, error) {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find the state directory: %w", err)
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "scalestore"), nil
}

// LockedError says another run holds a cluster's lock.
type LockedError struct {
	Cluster string
	Holder  string // what the holder wrote: pid, command, start time
	Path    string
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("cluster %q is being changed by another scalestore run (%s; lock %s): wait for it to end, or stop it",
		e.Cluster, e.Holder, e.Path)
}

// LockCluster takes this machine's lock of a cluster for a run that changes
// it (apply, the wizard's run), so two runs never change one cluster at
// once. The lock is a kernel file lock: it ends with the process, even one
// that is killed, and is never stale. what describes the run (e.g.
// "apply -f lab.toml"). The returned function releases it.
func LockCluster(cluster, what string) (release func(), err error) {
	dir, err := StateDir()
	if err != nil {
		return nil, err
	}
	dir = filepath.Join(dir, "locks")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lock cluster %q: %w", cluster, err)
	}
	path := filepath.Join(dir, cluster+".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock cluster %q: %w", cluster, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			holder, _ := os.ReadFile(path)
			h := strings.TrimSpace(string(holder))
			if h == "" {
				h = "holder unknown"
			}
			return nil, &LockedError{Cluster: cluster, Holder: h, Path: path}
		}
		return nil, fmt.Errorf("lock cluster %q (%s): %w", cluster, path, err)
	}
	f.Truncate(0)
	fmt.Fprintf(f, "pid %d, %s, since %s\n", os.Getpid(), what, time.Now().Format("2006-01-02 15:04:05"))
	return func() {
		f.Truncate(0)
		f.Close() // closing drops the flock
	}, nil
}
