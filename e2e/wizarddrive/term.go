package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/x/vt"
	"github.com/creack/pty"
)

// term runs a program in a pty and keeps a virtual screen of what it prints.
type term struct {
	cmd  *exec.Cmd
	ptmx *os.File
	w, h int

	mu  sync.Mutex
	emu *vt.Emulator

	changed chan struct{} // a token after each write to the screen
	eof     chan struct{} // closed when the program's output has ended
	exited  chan struct{} // closed when the program has ended
	waitErr error         // its exit status, once exited is closed
}

// startTerm starts argv in a pty of w columns and h rows; show, when not nil,
// gets a copy of everything the program prints.
func startTerm(argv []string, env []string, w, h int, show io.Writer) (*term, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: uint16(w), Rows: uint16(h)})
	if err != nil {
		return nil, fmt.Errorf("start %s in a pty: %w", argv[0], err)
	}
	t := &term{cmd: cmd, ptmx: ptmx, w: w, h: h, emu: vt.NewEmulator(w, h),
		changed: make(chan struct{}, 1), eof: make(chan struct{}), exited: make(chan struct{})}
	go t.read(show)
	// the emulator's answers to the program's queries (cursor position,
	// device attributes, colours) go back to the program
	go func() { _, _ = io.Copy(ptmx, t.emu) }()
	go func() { t.waitErr = cmd.Wait(); close(t.exited) }()
	return t, nil
}

func (t *term) read(show io.Writer) {
	defer close(t.eof)
	buf := make([]byte, 32*1024)
	for {
		n, err := t.ptmx.Read(buf)
		if n > 0 {
			t.mu.Lock()
			_, _ = t.emu.Write(buf[:n])
			t.mu.Unlock()
			if show != nil {
				_, _ = show.Write(buf[:n])
			}
			select {
			case t.changed <- struct{}{}:
			default:
			}
		}
		if err != nil {
			return // EIO once the program and its children closed the pty
		}
	}
}

// screen is the text the screen shows now, one line a row, trailing blanks cut.
func (t *term) screen() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.emu.String()
}

// send writes keys to the program, pace apart (none when pace is 0).
func (t *term) send(keys []string, pace time.Duration) error {
	if pace <= 0 {
		_, err := io.WriteString(t.ptmx, strings.Join(keys, ""))
		return err
	}
	for _, k := range keys {
		if _, err := io.WriteString(t.ptmx, k); err != nil {
			return err
		}
		time.Sleep(pace)
	}
	return nil
}

var errExited = errors.New("the program ended")

// waitFor waits until re matches the screen and returns its first group (or
// the whole match); errExited when the program's output ended before.
func (t *term) waitFor(st step) (string, error) {
	timer := time.NewTimer(st.timeout)
	defer timer.Stop()
	ended := false
	for {
		if m := st.re.FindStringSubmatch(t.screen()); m != nil {
			return m[len(m)-1], nil
		}
		if ended {
			return "", errExited
		}
		select {
		case <-t.changed:
		case <-t.eof:
			ended = true // look once more at the last of the output
		case <-timer.C:
			return "", fmt.Errorf("timed out after %s", st.timeout)
		}
	}
}

// waitExit waits until the program ends and its output is read.
func (t *term) waitExit(timeout time.Duration) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for _, ch := range []chan struct{}{t.exited, t.eof} {
		select {
		case <-ch:
		case <-timer.C:
			return fmt.Errorf("the program did not end within %s", timeout)
		}
	}
	if t.waitErr != nil {
		return fmt.Errorf("the program ended with %w", t.waitErr)
	}
	return nil
}

// stop ends the program if it still runs (hangup, as a closed terminal
// does, then kill) and frees the pty.
func (t *term) stop() {
	select {
	case <-t.exited:
	default:
		_ = t.cmd.Process.Signal(hangup)
		select {
		case <-t.exited:
		case <-time.After(5 * time.Second):
			_ = t.cmd.Process.Kill()
			<-t.exited
		}
	}
	_ = t.ptmx.Close()
	// The emulator is not closed: vt's Close races with the Read that
	// copies its answers; that copy stays blocked until the process ends.
}

// framed draws the screen in a box, for messages.
func (t *term) framed() string {
	lines := strings.Split(t.screen(), "\n")
	for len(lines) < t.h {
		lines = append(lines, "")
	}
	bar := "+" + strings.Repeat("-", t.w) + "+\n"
	var b strings.Builder
	b.WriteString(bar)
	for _, l := range lines {
		b.WriteString("|" + l + "\n")
	}
	b.WriteString(bar)
	return b.String()
}
