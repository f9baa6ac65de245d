package ui

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"scalestore/config"
	"scalestore/steps"
)

// growPlan is the plan of the test cluster (two pairs, two clients).
func growPlan(t testing.TB) (*config.Spec, *steps.Plan) {
	s, err := config.Load(filepath.Join(testdata, "grow.toml"))
	if err != nil {
		t.Fatal(err)
	}
	return s, steps.Build(s, nil)
}

// atRun is the app on the run screen of the test cluster, with the engine
// not started: the tests feed the events.
func atRun(t *testing.T) *harness {
	s, p := growPlan(t)
	t.Chdir(testdata)
	h := newTestApp(t, "grow.toml", nil)
	a := h.app()
	a.mode, a.spec = modeApply, s
	a.run = newRunModel(p, 78, 20)
	a.screen = scrRun
	return h
}

func ev(kind steps.EventKind, step string, f func(*steps.Event)) tea.Msg {
	e := steps.Event{Kind: kind, Step: step, Time: time.Unix(1795619767, 0)}
	if f != nil {
		f(&e)
	}
	return engineEventMsg{e}
}

// syncEvents are the events of a run up to the DRBD resync, as the engine
// emits them; the progress is what it reads from /proc/drbd during a real
// resync (steps/testdata/captures/drbd-status-during-resync.txt).
func syncEvents(t *testing.T, p *steps.Plan) []tea.Msg {
	var msgs []tea.Msg
	msgs = append(msgs, ev(steps.RunStarted, "", nil))
	for _, w := range p.Warnings {
		w := w
		msgs = append(msgs, ev(steps.Warning, "", func(e *steps.Event) { e.Text = w }))
	}
	for _, st := range p.Steps {
		st := st
		msgs = append(msgs, ev(steps.StepStarted, st.ID, func(e *steps.Event) { e.Title = st.Title }))
		if st.ID == "drbd-sync" {
			break
		}
		msgs = append(msgs,
			ev(steps.LogLine, st.ID, func(e *steps.Event) { e.Host = "storage0a"; e.Text = "ok: " + st.Title; e.Stream = "stdout" }),
			ev(steps.ActionDone, st.ID, func(e *steps.Event) { e.Host = "storage0a"; e.Action = st.Title; e.Outcome = steps.Changed }),
			ev(steps.StepDone, st.ID, func(e *steps.Event) {
				e.Title = st.Title
				e.Changed = 2
				e.Unchanged = 1
				e.Elapsed = 1500 * time.Millisecond
			}))
	}
	var d steps.DRBDDevice
	for _, dd := range steps.ParseProcDRBD(capture(t, "drbd-status-during-resync.txt")) {
		if dd.Minor == 0 {
			d = dd
		}
	}
	msgs = append(msgs, ev(steps.ProgressMsg, "drbd-sync", func(e *steps.Event) {
		e.Host = "storage0b"
		e.Progress = &steps.Progress{Resource: "r0", Percent: d.SyncedPct, SpeedKiBps: d.SpeedKiBps, ETA: d.Finish, State: d.CState, Disks: d.DiskState + "/" + d.PeerDisk}
	}))
	return msgs
}

func TestRunShowsSyncProgress(t *testing.T) {
	h := atRun(t)
	a := h.app()
	h.send(syncEvents(t, a.run.plan)...)
	s := h.screen()
	for _, want := range []string{"DRBD r0 SyncTarget", "6.3%", "1.9 MiB/s", "ETA 0:00:31", "✓ ", "2 changed, 1 unchanged", "storage0a", "ok: "} {
		if !strings.Contains(s, want) {
			t.Errorf("run screen lacks %q:\n%s", want, s)
		}
	}
	if !strings.ContainsAny(s, "█▌") {
		t.Errorf("no progress bar drawn:\n%s", s)
	}
	if pb := a.run.terminalProgress(); pb == nil || pb.Value != 6 {
		t.Errorf("terminal progress %+v", pb)
	}
	// the spinner's frame changes with time: fix it for the golden file
	a.run.spin.Spinner.Frames = []string{"*"}
	golden(t, "run-sync", h.screen())
}

func TestRunShowsTheFailedCommand(t *testing.T) {
	h := atRun(t)
	a := h.app()
	h.send(syncEvents(t, a.run.plan)[:4]...)
	stderr := "wipefs: error: /dev/vdb: probing initialization failed: Device or resource busy\nrefusing to write /dev/vdb: it holds a signature, partition, mount or holder"
	fail := ev(steps.Failed, "drbd-metadata", func(e *steps.Event) {
		e.Host, e.Action = "storage1b", "create DRBD metadata for r1 on /dev/vdb"
		e.Cmd, e.Code, e.Stderr = "set -e; if [ -n \"$(wipefs -n /dev/vdb)\" ]; then echo refusing; exit 3; fi; drbdadm create-md --force r1", 3, stderr
		e.Error = "exit status 3"
	})
	h.send(fail)
	s := h.screen()
	for _, want := range []string{"✗ drbd-metadata failed on storage1b", "exit status 3", "stderr: refusing to write /dev/vdb", "command: set -e;"} {
		if !strings.Contains(s, want) {
			t.Errorf("run screen lacks %q:\n%s", want, s)
		}
	}
	// the engine returns: the done screen keeps the failure and says how to go on
	h.send(runFinishedMsg{sum: steps.Summary{Changed: 9, Unchanged: 3, Elapsed: 12 * time.Second}, err: &steps.StepError{Step: "drbd-metadata", Host: "storage1b", Action: "create DRBD metadata"}})
	if a.screen != scrDone {
		t.Fatalf("screen %v", a.screen)
	}
	s = h.screen()
	for _, want := range []string{"The apply failed", "exit status 3", "stderr: wipefs: error", "stderr: refusing to write /dev/vdb", "resumes where this run stopped"} {
		if !strings.Contains(s, want) {
			t.Errorf("done screen lacks %q:\n%s", want, s)
		}
	}
	golden(t, "done-failed", s)
	if a.result == nil {
		t.Fatal("Run would return nil after a failed apply")
	}
	h.keys("q")
	if !h.quit {
		t.Fatal("q did not quit")
	}
}

func TestCtrlCOnTheRunClosesStop(t *testing.T) {
	h := atRun(t)
	a := h.app()
	h.send(syncEvents(t, a.run.plan)[:3]...)
	stop := a.run.stop
	h.keys("ctrl+c")
	if h.quit {
		t.Fatal("Ctrl-C killed the wizard during a run")
	}
	s := h.screen()
	if !strings.Contains(s, "Stop after the running commands?") {
		t.Fatalf("no question:\n%s", s)
	}
	select {
	case <-stop:
		t.Fatal("Stop closed before the operator said yes")
	default:
	}
	h.keys("n")
	if a.run.confirmStop || a.run.stopping {
		t.Fatal("n did not keep going")
	}
	h.keys("ctrl+c", "y")
	select {
	case <-stop:
	default:
		t.Fatal("y did not close Engine.Stop")
	}
	if h.quit || !strings.Contains(h.screen(), "stopping after the running commands") {
		t.Fatalf("quit=%v\n%s", h.quit, h.screen())
	}
	// a second Ctrl-C cancels the running commands (the run's context)
	cancelled := false
	a.run.cancel = func() { cancelled = true }
	h.keys("ctrl+c")
	if !cancelled || h.quit {
		t.Fatalf("second Ctrl-C: cancelled=%v quit=%v", cancelled, h.quit)
	}
	// the engine ends with ErrStopped: the done screen says stopped
	h.send(runFinishedMsg{err: steps.ErrStopped})
	if a.screen != scrDone || !strings.Contains(h.screen(), "Stopped on request") {
		t.Fatalf("%s", h.screen())
	}
}

func TestRunEngineEventsThroughTheChannel(t *testing.T) {
	// the real engine on scripted hosts: every event arrives as a message
	f := newFakeHosts(t)
	h := newTestApp(t, filepath.Join(testdata, "grow.toml"), f)
	a := h.app()
	_, p := growPlan(t)
	a.run = newRunModel(p, 78, 20)
	a.screen = scrRun
	h.run(a.run.start(a.ctx, a.hostsSource()))
	h.waitFor("the engine to return", func() bool { return a.screen == scrDone })
	if a.done.out.err != nil || a.done.out.sum.Unchanged == 0 {
		t.Fatalf("%+v", a.done.out)
	}
	if lp := a.done.out.logPath; lp == "" || !strings.Contains(h.screen(), "run log: ") {
		t.Errorf("the done screen does not show the run log (%q):\n%s", lp, h.screen())
	} else if b, err := os.ReadFile(lp); err != nil || !strings.Contains(string(b), `"kind":"run-done"`) {
		t.Errorf("run log %s: %v\n%.500s", lp, err, b)
	}
	if f.locks != len(p.Hosts()) {
		t.Errorf("the run locked %d hosts, want every host of the plan (%d)", f.locks, len(p.Hosts()))
	}
	for _, r := range a.run.steps {
		if r.state != stepDone {
			t.Fatalf("step %s left %v", r.id, r.state)
		}
	}
}

// TestRunSkipsWhatTheScreenCannotTake: the lines an engine prints faster
// than the screen takes them are dropped from the live view but for the
// last ones, with a marker saying how many; every other event arrives, in
// order, and the screen ends with the last line printed.
func TestRunSkipsWhatTheScreenCannotTake(t *testing.T) {
	m := newRunModel(floodPlan(), 78, 20)
	f := m.feed
	f.push(steps.Event{Kind: steps.StepStarted, Step: "flood", Title: "Print a lot"})
	const printed = 5000
	for i := 1; i <= printed; i++ {
		f.push(steps.Event{Kind: steps.LogLine, Step: "flood", Host: "storage0a", Stream: "stdout", Text: strconv.Itoa(i)})
	}
	f.push(steps.Event{Kind: steps.LogLine, Step: "flood", Host: "storage0a", Stream: "stderr", Text: "seq: write error: No space left on device"})
	f.push(steps.Event{Kind: steps.ActionDone, Step: "flood", Host: "storage0a", Action: "seq", Outcome: steps.Changed})
	f.push(steps.Event{Kind: steps.StepDone, Step: "flood", Title: "Print a lot", Changed: 1})
	b := f.take()
	m.update(b)

	skipped := printed + 1 - feedLines - skipTail
	s := plain(m.view(m.width, m.height))
	for _, want := range []string{
		fmt.Sprintf("storage0a  (%d lines)  %d lines skipped, see the log", printed+2, skipped), // and the ✓ line
		"\n  " + strconv.Itoa(printed) + " ",
		"seq: write error",
		"✓ seq",
		"✓ Print a lot  1 changed",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("run screen lacks %q:\n%s", want, s)
		}
	}
	// the marker stands where the lines were dropped: after the first
	// feedLines lines, before the last skipTail
	var texts []string
	for _, it := range b.items {
		switch {
		case it.skipped > 0:
			texts = append(texts, fmt.Sprintf("skipped %d", it.skipped))
		case it.ev != nil:
			texts = append(texts, string(it.ev.Kind))
		default:
			texts = append(texts, it.text)
		}
	}
	want := []string{"step-started", "1"}
	got := []string{texts[0], texts[1]}
	want = append(want, strconv.Itoa(feedLines), fmt.Sprintf("skipped %d", skipped), strconv.Itoa(printed-skipTail+2))
	got = append(got, texts[feedLines], texts[feedLines+1], texts[feedLines+2])
	want = append(want, "seq: write error: No space left on device", "action", "step-done")
	got = append(got, texts[len(texts)-3:]...)
	if strings.Join(got, "|") != strings.Join(want, "|") || len(texts) != 1+feedLines+1+skipTail+2 {
		t.Errorf("the batch holds %d items: %q, want %q", len(texts), got, want)
	}
	// the feed is empty again, and takes lines again
	f.push(steps.Event{Kind: steps.LogLine, Host: "storage0a", Text: "again"})
	if b := f.take(); len(b.items) != 1 || b.items[0].text != "again" {
		t.Errorf("after a batch the feed holds %+v", b.items)
	}
}

// A wizard run never runs while another run holds the cluster: it stops
// before any action and says who holds it.
func TestRunRefusedWhileTheClusterIsLocked(t *testing.T) {
	f := newFakeHosts(t)
	h := newTestApp(t, filepath.Join(testdata, "grow.toml"), f)
	a := h.app()
	_, p := growPlan(t)
	release, err := config.LockCluster(p.Cluster, "apply -f other.toml")
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	a.run = newRunModel(p, 78, 20)
	a.screen = scrRun
	h.run(a.run.start(a.ctx, a.hostsSource()))
	h.waitFor("the run to end", func() bool { return a.screen == scrDone })
	var le *config.LockedError
	if !errors.As(a.done.out.err, &le) || !strings.Contains(h.screen(), "is being changed by another scalestore run") {
		t.Errorf("err %v; screen:\n%s", a.done.out.err, h.screen())
	}
	// a refusal, not a failure: nothing ran, nothing is to resume
	if s := h.screen(); !strings.Contains(s, "Refused: another run is changing cluster lab") || strings.Contains(s, "The apply failed") ||
		!strings.Contains(s, "Nothing was changed") || strings.Contains(s, "resumes where this run stopped") {
		t.Errorf("the refusal is not titled as one:\n%s", s)
	}
	h.send(tea.WindowSizeMsg{Width: 60, Height: 15})
	if s := h.screen(); !strings.Contains(s, "Refused: another run is changing") {
		t.Errorf("at 60x15 the refusal's title is not on the screen:\n%s", s)
	}
	if len(f.acted) > 0 || f.locks > 0 {
		t.Errorf("a refused run acted (%v) or locked hosts (%d)", f.acted, f.locks)
	}
}

// aptBroken is a long stderr line, as apt prints it on one line.
const aptBroken = "E: Unable to correct problems, you have held broken packages. The following packages have unmet dependencies: gfs2-utils : Depends: libc6 (>= 2.38) but 2.36-9+deb12u4 is to be installed; dlm-controld : Depends: libdlmcontrol3 (= 4.2.0-2) but it is not going to be installed"

// A long log line wraps on the run screen (each row under the first
// indented under its text): every word of it can be read, at 80x24 and, by
// scrolling the log with the arrows, at 60x15. A line longer than a few
// rows shows its start and says the rest is in the run log.
func TestRunWrapsLongLogLines(t *testing.T) {
	huge := "stdout:" + strings.Repeat(" 0123456789abcdef", 300) + " THE-END"
	for _, sz := range sizes {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) {
			h := atRun(t)
			a := h.app()
			h.send(syncEvents(t, a.run.plan)[:4]...)
			h.send(ev(steps.LogLine, "packages", func(e *steps.Event) { e.Host, e.Stream, e.Text = "client1", "stdout", huge }))
			h.send(ev(steps.LogLine, "packages", func(e *steps.Event) { e.Host, e.Stream, e.Text = "client0", "stderr", aptBroken }))
			h.resize(sz[0], sz[1])
			a.run.spin.Spinner.Frames = []string{"*"}
			// every row of the log's viewport, as drawn while the arrows
			// scroll it from its end to its top
			at := map[int]string{}
			for i := 0; ; i++ {
				screen := h.screen() // a frame: the log's content is made
				for j, l := range strings.Split(plain(a.run.vp.View()), "\n") {
					if !strings.Contains(screen, strings.TrimSpace(l)) {
						t.Fatalf("the log's row %q is not on the screen:\n%s", l, screen)
					}
					at[a.run.vp.YOffset()+j] = strings.TrimRight(l, " ")
				}
				if a.run.vp.AtTop() {
					break
				}
				if i > 50 {
					t.Fatalf("the log never scrolled to its top:\n%s", h.screen())
				}
				h.keys("up")
			}
			var rows []string
			for i := 0; i < len(at); i++ {
				rows = append(rows, at[i])
			}
			read := squeeze(strings.Join(rows, "\n"))
			if !strings.Contains(read, squeeze(aptBroken)) {
				t.Errorf("the long stderr line cannot be read whole:\n%s", strings.Join(rows, "\n"))
			}
			if !strings.Contains(read, squeeze(huge[:200])) || strings.Contains(read, "THE-END") ||
				!strings.Contains(strings.Join(rows, " "), "more characters in the run log") {
				t.Errorf("the huge line is not shown by its start with its rest in the run log:\n%s", strings.Join(rows, "\n"))
			}
			for i := 0; !a.run.vp.AtBottom(); i++ {
				if i > 50 {
					t.Fatal("the log never scrolled back to its end")
				}
				h.keys("down")
			}
			golden(t, fmt.Sprintf("run-long-line-%dx%d", sz[0], sz[1]), h.screen())
		})
	}
}
