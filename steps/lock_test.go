package steps

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"scalestore/config"
	"scalestore/remote"
)

// shellHost is a remote.Host that runs commands with dash on this machine,
// in their own process group (killed when the context ends), streaming
// lines as they come: enough to run the hosts' lock for real (flock(1) on
// /run/lock).
type shellHost struct{ name string }

func (h shellHost) Name() string { return h.name }
func (h shellHost) Close() error { return nil }
func (h shellHost) ReadFile(context.Context, string) ([]byte, error) {
	return nil, errors.New("not supported")
}
func (h shellHost) WriteFile(context.Context, string, []byte, fs.FileMode, string) (bool, error) {
	return false, errors.New("not supported")
}

func (h shellHost) Run(ctx context.Context, cmd remote.Cmd, opt remote.RunOptions) (remote.Result, error) {
	c := exec.Command("dash", "-c", cmd.String())
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.StdoutPipe()
	if err != nil {
		return remote.Result{}, err
	}
	if err := c.Start(); err != nil {
		return remote.Result{}, err
	}
	stop := context.AfterFunc(ctx, func() { syscall.Kill(-c.Process.Pid, syscall.SIGKILL) })
	defer stop()
	var stdout bytes.Buffer
	sc := bufio.NewScanner(io.TeeReader(out, &stdout))
	for sc.Scan() {
		if opt.OnLine != nil {
			opt.OnLine(remote.Line{Host: h.name, Stream: remote.Stdout, Text: sc.Text()})
		}
	}
	err = c.Wait()
	res := remote.Result{Code: c.ProcessState.ExitCode(), Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		err = nil
	}
	return res, err
}

func TestLockHostsOneRunAtATime(t *testing.T) {
	if _, err := exec.LookPath("flock"); err != nil {
		t.Skip("flock(1) not installed")
	}
	s := &config.Spec{Cluster: config.Cluster{Name: "locktest" + strings.ReplaceAll(t.Name(), "/", "-")}}
	src := func(ctx context.Context, name string) (remote.Host, error) { return shellHost{name}, nil }
	ctx := context.Background()
	release, err := LockHosts(ctx, s.Cluster.Name, src, []string{"storage0a"}, "apply on operator-1 pid 1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = LockHosts(ctx, s.Cluster.Name, src, []string{"storage0a"}, "apply on operator-2 pid 2")
	if !errors.Is(err, ErrHostLocked) {
		t.Fatalf("second run: %v, want ErrHostLocked", err)
	}
	for _, want := range []string{"storage0a", "operator-1 pid 1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal does not name %q: %v", want, err)
		}
	}
	release()
	again, err := LockHosts(ctx, s.Cluster.Name, src, []string{"storage0a"}, "apply on operator-2 pid 2")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	again()
}

// The lock ends with the holder's output: a run whose connection is gone
// (the operator's machine died) leaves no stale lock.
func TestHostLockEndsWhenItsOutputBreaks(t *testing.T) {
	if _, err := exec.LookPath("flock"); err != nil {
		t.Skip("flock(1) not installed")
	}
	s := &config.Spec{Cluster: config.Cluster{Name: "locktest-broken"}}
	c := exec.Command("dash", "-c", hostLockScript(s.Cluster.Name, "dead operator").String())
	out, _ := c.StdoutPipe()
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "locked\n" {
		t.Fatalf("first line %q, want locked", line)
	}
	out.Close() // the connection is gone
	if err := c.Wait(); err == nil {
		t.Fatal("the holder went on after its output broke")
	}
	src := func(ctx context.Context, name string) (remote.Host, error) { return shellHost{name}, nil }
	release, err := LockHosts(context.Background(), s.Cluster.Name, src, []string{"storage0a"}, "next run")
	if err != nil {
		t.Fatalf("stale lock: %v", err)
	}
	release()
}
