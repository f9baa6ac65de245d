// Command wizarddrive plays a script against a terminal program, such as the
// scalestore wizard, in a pty of a fixed size, and optionally records it with
// asciinema:
//
//	wizarddrive [--size 100x30] [--pace 40ms] [--cast FILE [--append]] [--vars FILE] [--show] SCRIPT -- COMMAND [ARG...]
//
// It keeps a virtual screen of what the program prints (a terminal emulator)
// and runs the script's steps in order: each wait step waits until the screen
// shows its regexp, each type or key step sends keys (scriptFormat, or -h,
// lists the script's lines). On a step that times out, or a program that ends early, it
// prints the step and the screen and exits 1; 2 is for bad usage or a bad
// script.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"scalestore/remote"
)

const hangup = syscall.SIGHUP

type options struct {
	w, h   int
	pace   time.Duration
	cast   string
	append bool
	title  string
	vars   string
	show   bool
}

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// run is main with its arguments and its messages' writer; it returns the
// exit status.
func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("wizarddrive", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	size := fs.String("size", "100x30", "the terminal's COLUMNSxROWS")
	fs.DurationVar(&o.pace, "pace", 0, "time between two keys typed (for a watchable recording)")
	fs.StringVar(&o.cast, "cast", "", "record the session with asciinema into this .cast file )")
	fs.BoolVar(&o.append, "append", false, "with --cast: append to the recording instead of overwriting it")
	fs.StringVar(&o.title, "title", "", "with --cast: the recording's title")
	fs.StringVar(&o.vars, "vars", "", "append each save step's NAME=VALUE to this file")
	fs.BoolVar(&o.show, "show", false, "copy what the program prints to stdout")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: wizarddrive [flags] SCRIPT -- COMMAND [ARG...]")
		fs.PrintDefaults()
		fmt.Fprint(stderr, "\n"+scriptFormat)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	rest := fs.Args()
	if len(rest) < 3 || rest[1] != "--" {
		fs.Usage()
		return 2
	}
	var err error
	if o.w, o.h, err = parseSize(*size); err != nil {
		fmt.Fprintf(stderr, "wizarddrive: --size: %v\n", err)
		return 2
	}
	f, err := os.Open(rest[0])
	if err != nil {
		fmt.Fprintf(stderr, "wizarddrive: %v\n", err)
		return 2
	}
	steps, err := parseScript(rest[0], f, os.LookupEnv)
	f.Close()
	if err != nil {
		fmt.Fprintf(stderr, "wizarddrive: %v\n", err)
		return 2
	}
	if err := play(rest[0], steps, rest[2:], o, stderr); err != nil {
		fmt.Fprintf(stderr, "wizarddrive: %v\n", err)
		return 1
	}
	return 0
}

func parseSize(s string) (w, h int, err error) {
	a, b, ok := strings.Cut(s, "x")
	w, errW := strconv.Atoi(a)
	h, errH := strconv.Atoi(b)
	if !ok || errW != nil || errH != nil || w < 20 || h < 5 || w > 1000 || h > 1000 {
		return 0, 0, fmt.Errorf("%q is not COLUMNSxROWS (e.g. 100x30)", s)
	}
	return w, h, nil
}

// castArgv is argv run under asciinema rec, recording into o.cast; the
// recording's idle pauses are cut to 2 s when played. asciinema exits 0
// whatever the program's status, so the program's goes to statusFile.
func castArgv(argv []string, o options, statusFile string) []string {
	mode := "--overwrite"
	if o.append {
		mode = "--append"
	}
	sh := remote.Join(argv...) + "; echo $? >" + remote.Quote(statusFile)
	a := []string{"asciinema", "rec", mode, "-q", "-i", "2", "-c", sh}
	if o.title != "" {
		a = append(a, "-t", o.title)
	}
	return append(a, o.cast)
}

// play runs argv and the script's steps against it.
func play(name string, steps []step, argv []string, o options, stderr io.Writer) error {
	var statusFile string
	if o.cast != "" {
		if _, err := exec.LookPath("asciinema"); err != nil {
			return fmt.Errorf("--cast %s: asciinema is not installed (apt-get install asciinema)", o.cast)
		}
		dir, err := os.MkdirTemp("", "wizarddrive")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		statusFile = filepath.Join(dir, "status")
		argv = castArgv(argv, o, statusFile)
	}
	var show io.Writer
	if o.show {
		show = os.Stdout
	}
	env := append(os.Environ(), "TERM=xterm-256color")
	t, err := startTerm(argv, env, o.w, o.h, show)
	if err != nil {
		return err
	}
	defer t.stop()
	var vars io.Writer
	if o.vars != "" {
		vf, err := os.OpenFile(o.vars, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("--vars: %w", err)
		}
		defer vf.Close()
		vars = vf
	}
	for _, st := range steps {
		where := fmt.Sprintf("%s:%d: %s", name, st.line, st.src)
		var err error
		switch st.op {
		case "wait", "save":
			var val string
			val, err = t.waitFor(st)
			if err == nil && st.op == "save" {
				fmt.Fprintf(stderr, "wizarddrive: %s=%s\n", st.name, val)
				if vars != nil {
					if _, err = fmt.Fprintf(vars, "%s=%s\n", st.name, val); err != nil {
						return fmt.Errorf("--vars %s: %w", o.vars, err)
					}
				}
			}
		case "type":
			err = t.send(strings.Split(st.text, ""), o.pace)
		case "key":
			err = t.send(st.keys, o.pace)
		case "exit":
			if err = t.waitExit(st.timeout); err == nil && statusFile != "" {
				err = castStatus(statusFile)
			}
		}
		if err != nil {
			if errors.Is(err, errExited) {
				err = fmt.Errorf("%w (%v) before the screen showed it", err, exitStatus(t))
			}
			return fmt.Errorf("%s: %v; the screen (%dx%d):\n%s", where, err, o.w, o.h, t.framed())
		}
	}
	return nil
}

// castStatus reads the exit status of the program recorded by asciinema.
func castStatus(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("the program's exit status under asciinema is unknown: %w", err)
	}
	if st := strings.TrimSpace(string(b)); st != "0" {
		return fmt.Errorf("the program ended with exit status %s (under asciinema)", st)
	}
	return nil
}

// exitStatus says how the program ended, once it has.
func exitStatus(t *term) string {
	select {
	case <-t.exited:
		if t.waitErr != nil {
			return t.waitErr.Error()
		}
		return "exit status 0"
	case <-time.After(2 * time.Second):
		return "its output closed, the process still runs"
	}
}
