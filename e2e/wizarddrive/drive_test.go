package main

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/vt"
)

// Every key a script can name reaches a bubbletea program as the key of that
// name, typed text arrives as typed, and the program sees the pty's size.
func TestKeysReachTheProgramByName(t *testing.T) {
	var s strings.Builder
	s.WriteString("wait /fake ready/ 20s\nwait /size: 90x25/\n")
	s.WriteString("type héllo ${WD_WORD}\nwait /text: héllo wörld$/\n")
	n := len([]rune("héllo wörld"))
	for _, k := range []string{"enter", "tab", "shift+tab", "esc", "space", "backspace", "delete",
		"up", "down", "left", "right", "home", "end", "pgup", "pgdown", "ctrl+a", "q"} {
		n++
		s.WriteString("key " + k + "\nwait " + keyCount(n, regexp.QuoteMeta(k)) + "\n")
	}
	s.WriteString("key ctrl+c\nexit 20s\n")
	t.Setenv("WD_WORD", "wörld")
	rc, out := drive(t, s.String(), []string{"--size", "90x25"}, fakeCmd(t, "keys"))
	if rc != 0 {
		t.Fatalf("exit %d:\n%s", rc, out)
	}
}

// A step that waits in vain names the script's line and shows the screen.
func TestTimeoutShowsTheStepAndTheScreen(t *testing.T) {
	start := time.Now()
	rc, out := drive(t, "wait /fake ready/ 20s\ntype abc\nwait /text: abc/\nwait /Welcome/ 300ms\n", nil, fakeCmd(t, "keys"))
	if rc != 1 {
		t.Fatalf("exit %d, want 1:\n%s", rc, out)
	}
	for _, want := range []string{
		"script.txt:4: wait /Welcome/ 300ms: timed out after 300ms; the screen (100x30):",
		"|fake ready\n|size: 100x30\n|text: abc\n",
		"+" + strings.Repeat("-", 100) + "+",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the message lacks %q:\n%s", want, out)
		}
	}
	if el := time.Since(start); el > 15*time.Second {
		t.Errorf("took %s", el)
	}
}

// A program that ends while a step waits fails that step at once, with its
// exit status, not after the step's timeout.
func TestProgramThatEndsFailsTheWaitingStep(t *testing.T) {
	start := time.Now()
	rc, out := drive(t, "wait /Welcome/ 5m\n", nil, fakeCmd(t, "exit3"))
	if rc != 1 || !strings.Contains(out, "script.txt:1: wait /Welcome/ 5m: the program ended (exit status 3) before the screen showed it") ||
		!strings.Contains(out, "|going away") {
		t.Fatalf("exit %d:\n%s", rc, out)
	}
	if el := time.Since(start); el > time.Minute {
		t.Fatalf("waited %s for a program that had ended", el)
	}
	// and exit says so too
	rc, out = drive(t, "exit 1m\n", nil, fakeCmd(t, "exit3"))
	if rc != 1 || !strings.Contains(out, "script.txt:1: exit 1m: the program ended with exit status 3") {
		t.Fatalf("exit %d:\n%s", rc, out)
	}
}

// save prints a value read off the screen and appends it to --vars.
func TestSaveReadsTheScreen(t *testing.T) {
	vars := filepath.Join(t.TempDir(), "vars")
	script := "wait /fake ready/ 20s\nkey x y\nsave runlog /run log: (\\S+2\\.jsonl)/\nkey ctrl+c\nexit\n"
	rc, out := drive(t, script, []string{"--vars", vars}, fakeCmd(t, "keys"))
	if rc != 0 || !strings.Contains(out, "wizarddrive: runlog=/var/log/fake-2.jsonl\n") {
		t.Fatalf("exit %d:\n%s", rc, out)
	}
	b, err := os.ReadFile(vars)
	if err != nil || string(b) != "runlog=/var/log/fake-2.jsonl\n" {
		t.Fatalf("vars file %q, %v", b, err)
	}
}

// --cast records the session with asciinema: a v2 cast of the pty's size
// whose output events hold what the program drew.
func TestCastIsAValidRecording(t *testing.T) {
	if _, err := exec.LookPath("asciinema"); err != nil {
		t.Skip("asciinema is not installed (apt-get install asciinema): the recording cannot be tested")
	}
	cast := filepath.Join(t.TempDir(), "demo.cast")
	script := "wait /fake ready/ 30s\nwait /size: 80x24/\ntype recorded\nwait /text: recorded/\nkey ctrl+c\nexit 30s\n"
	rc, out := drive(t, script, []string{"--size", "80x24", "--cast", cast, "--title", "fake"}, fakeCmd(t, "keys"))
	if rc != 0 {
		t.Fatalf("exit %d:\n%s", rc, out)
	}
	hdr, events := readCast(t, cast)
	if hdr.Version != 2 || hdr.Width != 80 || hdr.Height != 24 || hdr.Title != "fake" || hdr.IdleTimeLimit != 2 {
		t.Fatalf("header %+v", hdr)
	}
	if !castShows(hdr, events, "text: recorded") {
		t.Fatalf("played back, the recording never shows what the program showed:\n%q", events)
	}
	// --append adds a second session to the same file
	rc, out = drive(t, "wait /fake ready/ 30s\ntype again\nwait /text: again/\nkey ctrl+c\nexit 30s\n",
		[]string{"--size", "80x24", "--cast", cast, "--append"}, fakeCmd(t, "keys"))
	if rc != 0 {
		t.Fatalf("append: exit %d:\n%s", rc, out)
	}
	if hdr, events = readCast(t, cast); !castShows(hdr, events, "text: recorded") || !castShows(hdr, events, "text: again") {
		t.Fatalf("played back, the appended recording lacks one of the sessions:\n%q", events)
	}
}

// Under asciinema (which exits 0 whatever the program did) exit still sees
// the program's own status.
func TestCastKeepsTheExitStatus(t *testing.T) {
	if _, err := exec.LookPath("asciinema"); err != nil {
		t.Skip("asciinema is not installed (apt-get install asciinema): the recording cannot be tested")
	}
	cast := filepath.Join(t.TempDir(), "demo.cast")
	rc, out := drive(t, "wait /going away/ 30s\nexit 30s\n", []string{"--cast", cast}, fakeCmd(t, "exit3"))
	if rc != 1 || !strings.Contains(out, "script.txt:2: exit 30s: the program ended with exit status 3 (under asciinema)") {
		t.Fatalf("exit %d:\n%s", rc, out)
	}
}

type castHeader struct {
	Version       int     `json:"version"`
	Width         int     `json:"width"`
	Height        int     `json:"height"`
	Title         string  `json:"title"`
	IdleTimeLimit float64 `json:"idle_time_limit"`
}

// castShows plays the output events back on a terminal of the cast's size
// and reports whether the screen shows want at some point.
func castShows(hdr castHeader, events []string, want string) bool {
	emu := vt.NewEmulator(hdr.Width, hdr.Height)
	go func() { _, _ = io.Copy(io.Discard, emu) }() // its answers to queries (never closed: see term.stop)
	for _, data := range events {
		_, _ = emu.Write([]byte(data))
		if strings.Contains(emu.String(), want) {
			return true
		}
	}
	return false
}

// readCast parses an asciinema v2 file: its header, and the data of its
// output events (each line [time, "o", data], times rising).
func readCast(t *testing.T, path string) (castHeader, []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	var hdr castHeader
	if !sc.Scan() {
		t.Fatalf("%s is empty", path)
	}
	if err := json.Unmarshal(sc.Bytes(), &hdr); err != nil {
		t.Fatalf("%s: header: %v", path, err)
	}
	var out []string
	last := -1.0
	for n := 2; sc.Scan(); n++ {
		var ev []any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil || len(ev) != 3 {
			t.Fatalf("%s:%d: not an event [time, type, data]: %s (%v)", path, n, sc.Bytes(), err)
		}
		at, ok1 := ev[0].(float64)
		typ, ok2 := ev[1].(string)
		data, ok3 := ev[2].(string)
		if !ok1 || !ok2 || !ok3 || at < last {
			t.Fatalf("%s:%d: bad event %s", path, n, sc.Bytes())
		}
		last = at
		if typ == "o" {
			out = append(out, data)
		}
	}
	return hdr, out
}

// --pace spaces the keys typed (for a recording a person can follow): ten
// keys 50ms apart take at least 450ms, and still arrive in order.
func TestPaceSpacesTheKeys(t *testing.T) {
	start := time.Now()
	rc, out := drive(t, "wait /fake ready/ 20s\ntype abcdefghij\nwait /text: abcdefghij$/\nkey ctrl+c\nexit 20s\n",
		[]string{"--pace", "50ms"}, fakeCmd(t, "keys"))
	if rc != 0 {
		t.Fatalf("exit %d:\n%s", rc, out)
	}
	if el := time.Since(start); el < 450*time.Millisecond {
		t.Fatalf("ten keys at --pace 50ms took %s", el)
	}
}
