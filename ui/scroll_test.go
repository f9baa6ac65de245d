package ui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"scalestore/checks"
	"scalestore/steps"
)

// sizes are the terminals every screen is tried at.
var sizes = [][2]int{{80, 24}, {60, 15}}

// healthyLab makes f answer the state probes of grow.toml's built cluster
// (two pairs, two clients) as the lab's healthy hosts did: the real
// captures, renamed per host.
func healthyLab(t *testing.T, f *fakeHosts) {
	storage := capture(t, "state-storage0a-healthy.txt")
	_, exports, _ := strings.Cut(storage, "@@targets")
	r1 := "@@drbd\n" + capture(t, "proc-drbd-storage1a.txt") + "@@targets" + strings.ReplaceAll(exports, "storage0a.r0", "storage1a.r1")
	f.state["storage0a"] = storage
	f.state["storage0b"] = strings.ReplaceAll(storage, "storage0a", "storage0b")
	f.state["storage1a"] = r1
	f.state["storage1b"] = strings.ReplaceAll(r1, "storage1a", "storage1b")
	f.state["client0"] = capture(t, "state-client0-healthy.txt")
	f.state["client1"] = capture(t, "state-client0-healthy.txt")
}

// resize sends the wizard a new terminal size.
func (h *harness) resize(w, ht int) *harness {
	return h.send(tea.WindowSizeMsg{Width: w, Height: ht})
}

// wholeBody scrolls a body taller than the screen from its top to its end
// with the given key and returns every line drawn, in order: what an
// operator can read by scrolling.
func wholeBody(h *harness, down string) string {
	h.t.Helper()
	a := h.app()
	_, rows := a.bodySize()
	for i := 0; a.body.YOffset() > 0; i++ {
		if i > 100 {
			h.t.Fatalf("pgup never reached the top:\n%s", h.screen())
		}
		h.keys("pgup")
	}
	lines := map[int]string{}
	for i := 0; ; i++ {
		screen := strings.Split(h.screen(), "\n")
		for j, l := range screen[2 : 2+rows-1] { // under the header, above the hint line
			lines[a.body.YOffset()+j] = strings.TrimRight(l, " ")
		}
		if !strings.Contains(screen[2+rows-1], "more lines") {
			break
		}
		if i > 100 {
			h.t.Fatalf("%s never reached the end:\n%s", down, h.screen())
		}
		h.keys(down)
	}
	var out []string
	for i := 0; i < len(lines); i++ {
		out = append(out, lines[i])
	}
	return strings.Join(out, "\n")
}

// squeeze drops every blank: a line wrapped reads the same as it unwrapped.
func squeeze(s string) string { return strings.Join(strings.Fields(s), "") }

// The status of a healthy six-host cluster (22 rows) on the welcome screen
// does not fit at 80x24 nor at 60x15: the screen says how much is hidden,
// the key hints say how to scroll, and every row can be read in full.
func TestWelcomeStatusScrolls(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir()) // no other test's record of the last apply
	for _, sz := range sizes {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) {
			f := newFakeHosts(t)
			healthyLab(t, f)
			t.Chdir(filepath.Dir(copyFile(t, "grow.toml")))
			h := newTestApp(t, "grow.toml", f).resize(sz[0], sz[1])
			a := h.app()
			h.keys("s")
			h.waitFor("the status", func() bool { return a.welcome.status != nil })
			rs := a.welcome.status
			if len(rs) < 20 || checks.Failed(rs) {
				t.Fatalf("%d rows, failed %v: the fake is not the healthy lab: %+v", len(rs), checks.Failed(rs), rs)
			}
			s := h.screen()
			golden(t, fmt.Sprintf("welcome-status-%dx%d", sz[0], sz[1]), s)
			if !strings.Contains(s, "more lines") || !strings.Contains(s, "pgup/pgdn scroll •") {
				t.Fatalf("nothing says the status goes on, nor how to scroll:\n%s", s)
			}
			body := squeeze(wholeBody(h, "pgdown"))
			for _, r := range rs {
				if row := squeeze("✓ pass " + r.Host + " " + r.Check + ": " + r.Msg); !strings.Contains(body, row) {
					t.Errorf("row %q cannot be read by scrolling; the body read:\n%s", row, wholeBody(h, "pgdown"))
				}
			}
			// at the end nothing more is hidden, and the choices still work
			if s := h.screen(); strings.Contains(s, "more lines") || !strings.Contains(s, "lines above") {
				t.Fatalf("at the end:\n%s", s)
			}
			h.keys("a")
			if a.screen != scrHosts {
				t.Fatalf("a did not start adding a pair: %v", a.screen)
			}
		})
	}
}

// Three bad host lines give three errors under the hosts field: each can
// be read in full (none hides behind the key-hint bar).
func TestHostsFormErrorsAllReadable(t *testing.T) {
	for _, sz := range sizes {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) {
			h := newTestApp(t, filepath.Join(t.TempDir(), "new.toml"), nil).resize(sz[0], sz[1])
			h.keys("n")
			fillClusterAndSSH(h, "lab")
			h.typ("storage_0a 10.0.0.11\nstorage_0b 10.0.0.12\nclient_0 10.0.0.21").keys("tab")
			if h.app().screen != scrHosts {
				t.Fatalf("bad host names went through to %v", h.app().screen)
			}
			s := h.screen()
			body := squeeze(s)
			switch {
			case sz == sizes[0] && strings.Contains(s, "more lines"):
				t.Fatalf("at %dx%d the form leaves no room for its errors:\n%s", sz[0], sz[1], s)
			case strings.Contains(s, "more lines"):
				body = squeeze(wholeBody(h, "pgdown"))
			}
			for i, name := range []string{"storage_0a", "storage_0b", "client_0"} {
				if want := squeeze(fmt.Sprintf(`✗ line %d: host[%d].name: %q is not a valid host name`, i+1, i, name)); !strings.Contains(body, want) {
					t.Errorf("error %d cannot be read:\n%s\nby scrolling:\n%s", i+1, s, wholeBody(h, "pgdown"))
				}
			}
		})
	}
}

// A spec that does not load shows each of its problems wrapped, none cut
// with "…", and all of them can be read by scrolling.
func TestSpecErrorsWrapAndScroll(t *testing.T) {
	spec := strings.NewReplacer(`name = "storage0a"`, `name = "storage_0a.with-a-name-far-too-long-for-a-host-of-the-cluster"`,
		`address = "10.0.0.12"`, `address = "10.0.0.11"`, `address = "10.0.0.13"`, `address = "not an address"`,
		`disk = "/dev/vdb" }`, `disk = "vdb" }`, `name = "lab"`, `name = "a lab"`).Replace(readTestdata(t, "grow.toml"))
	for _, sz := range sizes {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.toml")
			if err := os.WriteFile(path, []byte(spec), 0o644); err != nil {
				t.Fatal(err)
			}
			h := newTestApp(t, path, nil).resize(sz[0], sz[1])
			a := h.app()
			if a.loadErr == nil {
				t.Fatal("the broken spec loaded")
			}
			problems := strings.Split(a.loadErr.Error(), "\n")
			if len(problems) < 5 {
				t.Fatalf("only %d problems: %v", len(problems), a.loadErr)
			}
			s := h.screen()
			whole := wholeBody(h, "pgdown")
			if strings.Contains(whole, "…") || !strings.Contains(s, "more lines") {
				t.Fatalf("a problem is cut, or nothing says more follow:\n%s\nby scrolling:\n%s", s, whole)
			}
			body := squeeze(whole)
			for _, p := range problems {
				if !strings.Contains(body, squeeze("✗ "+p)) {
					t.Errorf("problem %q cannot be read by scrolling:\n%s", p, wholeBody(h, "pgdown"))
				}
			}
		})
	}
}

// An unknown host key's question at 60x15 is taller than the screen: it
// scrolls (the fingerprint and what to compare it with can both be read),
// and y still answers it.
func TestHostKeyQuestionScrolls(t *testing.T) {
	h := newTestApp(t, filepath.Join(t.TempDir(), "x.toml"), nil).resize(60, 15)
	a := h.app()
	got := make(chan bool, 1)
	const fp = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"
	go func() {
		ok, _ := a.prompter.ConfirmHostKey(context.Background(), "storage0a", "127.0.0.1:2211", "ssh-ed25519", fp)
		got <- ok
	}()
	h.waitFor("the question", func() bool { return len(a.prompts) > 0 })
	s := h.screen()
	if !strings.Contains(s, "more lines") || !strings.Contains(s, "scroll") {
		t.Fatalf("the question is cut with no way to scroll:\n%s", s)
	}
	body := squeeze(strings.ReplaceAll(wholeBody(h, "down"), "║", "")) // the modal's border
	for _, want := range []string{fp, "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub", "Press y to trust it"} {
		if !strings.Contains(body, squeeze(want)) {
			t.Errorf("%q cannot be read:\n%s", want, wholeBody(h, "down"))
		}
	}
	h.keys("y")
	select {
	case ok := <-got:
		if !ok {
			t.Fatal("y did not trust the key")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no answer")
	}
}

// After a failed run at 60x15, the done screen holds all of the failed
// command and its stderr (the run screen cuts the command to three lines):
// every part of it can be read by scrolling with the arrows.
func TestDoneShowsTheWholeFailedCommand(t *testing.T) {
	h := atRun(t).resize(60, 15)
	a := h.app()
	h.send(syncEvents(t, a.run.plan)[:4]...)
	cmd := "set -e; if [ -n \"$(wipefs -n /dev/vdb)\" ]; then echo refusing to write /dev/vdb: it holds a signature, partition, mount or holder; exit 3; fi; drbdadm create-md --force r1; drbdadm up r1 && drbdadm primary --force r1 # the end of the command"
	h.send(ev(steps.Failed, "drbd-metadata", func(e *steps.Event) {
		e.Host, e.Action = "storage1b", "create DRBD metadata for r1 on /dev/vdb"
		e.Cmd, e.Code, e.Stderr = cmd, 3, "refusing to write /dev/vdb: it holds a signature, partition, mount or holder"
		e.Error = "exit status 3"
	}))
	h.send(runFinishedMsg{err: &steps.StepError{Step: "drbd-metadata", Host: "storage1b", Action: "create DRBD metadata"}})
	if a.screen != scrDone {
		t.Fatalf("screen %v", a.screen)
	}
	if s := h.screen(); !strings.Contains(s, "↑/↓ scroll") || !strings.Contains(s, "more lines") {
		t.Fatalf("the failure does not fit, and nothing says so:\n%s", s)
	}
	body := squeeze(strings.ReplaceAll(wholeBody(h, "down"), "│", "")) // the box's border
	for _, want := range []string{"command: " + cmd, "exit status 3", "stderr: refusing to write /dev/vdb"} {
		if !strings.Contains(body, squeeze(want)) {
			t.Errorf("%q cannot be read:\n%s", want, wholeBody(h, "down"))
		}
	}
}

// The review lists each destructive action in full, wrapped, at 80 and at
// 60 columns: an operator reads what will be overwritten before saying yes.
func TestReviewShowsEachDestructiveActionInFull(t *testing.T) {
	s := onePairSpec("x.toml")
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	p := steps.Build(s, labFacts(t))
	sum := summarize(p)
	// blank hosts: every destructive action of the plan will run
	f := newFakeHosts(t)
	src, _ := f.connect(s, nil)
	changes, err := steps.Review(context.Background(), p, src)
	if err != nil {
		t.Fatal(err)
	}
	for _, sz := range sizes {
		m := newReviewModel(reviewInput{plan: p, spec: s, path: "x.toml"}, sz[0]-2, sz[1]-4)
		m.update(reviewProbedMsg{changes: changes})
		content := plain(m.content())
		for _, l := range strings.Split(content, "\n") {
			if strings.Contains(l, "…") {
				t.Errorf("at %d columns a line is cut: %q", sz[0], l)
			}
		}
		for _, d := range sum.destructive {
			if !strings.Contains(squeeze(content), squeeze("! "+d)) {
				t.Errorf("at %d columns the review does not show %q in full:\n%s", sz[0], d, content)
			}
		}
	}
}

// At 60 columns the preflight's opening line and the done screen's
// slowest steps (the plan's own titles) wrap, never cut.
func TestPreflightAndDoneWrapAt60Columns(t *testing.T) {
	pf := newPreflightModel(onePairSpec("x.toml"), false, 58)
	pf.running = true
	if v := plain(pf.view(58, 11)); strings.Contains(strings.ReplaceAll(v, "checking…", ""), "…") {
		t.Errorf("preflight cuts a line:\n%s", v)
	}
	s, p := growPlan(t)
	var times []steps.StepTime // the three longest titles are the slowest
	for _, st := range p.Steps {
		times = append(times, steps.StepTime{ID: st.ID, Title: st.Title, Elapsed: time.Duration(len(st.Title)) * time.Second, Changed: 1})
	}
	times = slowest(times, 3)
	m := newDoneModel(s, runOutcome{sum: steps.Summary{Elapsed: time.Minute, StepTimes: times}}, nil, "grow.toml", 58)
	v := plain(m.view(58, 11))
	for _, st := range times {
		if !strings.Contains(squeeze(v), squeeze(st.Title+" (1 changed)")) {
			t.Errorf("the slow step %q is cut:\n%s", st.Title, v)
		}
	}
}

// A row far down selected at 80x24, then the terminal shrinks to 60x15:
// the body scrolls so that the selected row (the line that starts with
// "> ") is still in sight, on every screen with one.
func TestResizeKeepsTheSelectedRowInSight(t *testing.T) {
	cases := []struct {
		name   string
		setup  func(t *testing.T) *harness
		keys   []string
		cursor string // the selected row's start
	}{
		{"pairs of an added pair: the last host", func(t *testing.T) *harness {
			t.Chdir(filepath.Dir(copyFile(t, "grow.toml")))
			h := newTestApp(t, "grow.toml", newFakeHosts(t))
			h.keys("a", "tab")
			h.waitFor("discovery", h.app().discover.ready)
			return h.keys("enter")
		}, []string{"down"}, "> storage2b"},
		{"welcome of a built cluster: the last choice", func(t *testing.T) *harness {
			t.Chdir(filepath.Dir(copyFile(t, "grow.toml")))
			return newTestApp(t, "grow.toml", nil)
		}, []string{"down", "down", "down", "down"}, "> q"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := c.setup(t)
			h.keys(c.keys...)
			before := h.screen()
			var row string
			for _, l := range strings.Split(before, "\n") {
				if l = strings.TrimSpace(l); strings.HasPrefix(l, c.cursor) {
					row = l
				}
			}
			if row == "" {
				t.Fatalf("at 80x24 no row starting %q is selected:\n%s", c.cursor, before)
			}
			h.resize(60, 15)
			after := h.screen()
			if !strings.Contains(after, "more lines") && !strings.Contains(after, "lines above") {
				t.Fatalf("at 60x15 the body fits: nothing to scroll\n%s", after)
			}
			if !strings.Contains(squeeze(after), squeeze(row)) {
				t.Errorf("after the resize the selected row %q is out of sight:\n%s", row, after)
			}
		})
	}
}
