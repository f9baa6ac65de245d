package config

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestLockClusterOneRunAtATime(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	release, err := LockCluster("lab", "apply -f lab.toml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = LockCluster("lab", "the wizard")
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second lock of the same cluster: %v, want a LockedError", err)
	}
	if !strings.Contains(err.Error(), "apply -f lab.toml") || !strings.Contains(err.Error(), "another scalestore run") {
		t.Errorf("the refusal does not say who holds the lock: %v", err)
	}
	other, err := LockCluster("other", "apply")
	if err != nil {
		t.Fatalf("another cluster is not locked: %v", err)
	}
	other()
	release()
	again, err := LockCluster("lab", "apply")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	again()
}

// A run that is killed leaves no stale lock: the kernel drops it with the
// process. The holder here is a real process (flock(1)) that is killed.
func TestLockClusterDiesWithItsHolder(t *testing.T) {
	if _, err := exec.LookPath("flock"); err != nil {
		t.Skip("flock(1) not installed")
	}
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	dir, _ := StateDir()
	os.MkdirAll(dir+"/locks", 0o700)
	holder := exec.Command("flock", "-o", dir+"/locks/lab.lock", "sleep", "600")
	holder.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	// wait for the holder to have the lock: our attempt is refused
	for {
		rel, err := LockCluster("lab", "apply")
		if err == nil {
			rel() // flock(1) has not locked yet
			time.Sleep(10 * time.Millisecond)
			continue
		}
		var le *LockedError
		if !errors.As(err, &le) {
			t.Fatal(err)
		}
		break
	}
	syscall.Kill(-holder.Process.Pid, syscall.SIGKILL) // flock(1) and its sleep
	holder.Wait()
	// the kernel drops the lock once the killed processes are gone (the
	// child may still be exiting): wait for that, with a deadline
	deadline := time.Now().Add(30 * time.Second)
	for {
		release, err := LockCluster("lab", "apply")
		if err == nil {
			release()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the lock of a killed run is stale: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
