package ui

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"scalestore/config"
	"scalestore/remote"
	"scalestore/steps"
)

// floodLines is what the flooding command prints: `seq 200000`.
const floodLines = 200000

// floodPlan is one step whose one command prints floodLines lines.
func floodPlan() *steps.Plan {
	return &steps.Plan{Cluster: "flood", Profile: "debian12", Steps: []steps.Step{{
		ID: "flood", Title: "Print a lot", Layer: "test",
		Actions: []steps.Action{{Host: "storage0a", Kind: steps.Run, Desc: "seq", Cmd: remote.Argv("seq", strconv.Itoa(floodLines))}},
	}}}
}

// flood is a scripted remote side whose `seq` prints its lines as fast as
// the engine takes them (the SSH layer streams a real `seq 200000` in
// 0.21 s); every other command is the harness's fakeHost. It samples the
// heap as the lines go out, and says when half of them are out.
type flood struct {
	*fakeHosts
	lines  []string
	middle chan struct{} // closed when half the lines are out
	mu     sync.Mutex
	heap   []uint64 // live heap after a GC, every floodLines/10 lines
}

func newFlood(t testing.TB) *flood {
	f := &flood{fakeHosts: newFakeHosts(t), lines: make([]string, floodLines)}
	for i := range f.lines {
		f.lines[i] = strconv.Itoa(i + 1)
	}
	return f
}

// source gives the engine the flooding hosts; middle is closed once per run.
func (f *flood) source() steps.HostSource {
	f.middle = make(chan struct{})
	f.heap = nil
	return func(ctx context.Context, name string) (remote.Host, error) {
		return &floodHost{fakeHost: &fakeHost{f: f.fakeHosts, name: name}, fl: f}, nil
	}
}

type floodHost struct {
	*fakeHost
	fl *flood
}

func (h *floodHost) Run(ctx context.Context, cmd remote.Cmd, opt remote.RunOptions) (remote.Result, error) {
	if cmd.String() != "seq "+strconv.Itoa(floodLines) {
		return h.fakeHost.Run(ctx, cmd, opt)
	}
	var ms runtime.MemStats
	for i, l := range h.fl.lines {
		if i%(floodLines/10) == 0 && i > 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			h.fl.mu.Lock()
			h.fl.heap = append(h.fl.heap, ms.HeapAlloc)
			h.fl.mu.Unlock()
		}
		if i == floodLines/2 {
			close(h.fl.middle)
		}
		opt.OnLine(remote.Line{Stream: remote.Stdout, Text: l})
	}
	return remote.Result{}, nil
}

func (f *flood) heapSamples() []uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]uint64(nil), f.heap...)
}

// floodApp is the wizard on its run screen, as the tea.Program sees it: it
// starts the engine and notes when the stop question is first drawn and
// when the engine's return reaches the wizard.
type floodApp struct {
	*app
	start    tea.Cmd
	asked    chan struct{}
	askedAt  time.Time
	ended    chan struct{}
	endedAt  time.Time
	askedOne sync.Once
}

func (f *floodApp) Init() tea.Cmd { return tea.Batch(f.app.Init(), f.start) }

func (f *floodApp) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	_, cmd := f.app.Update(msg)
	if _, ok := msg.(runEndedMsg); ok {
		f.endedAt = time.Now()
		close(f.ended)
	}
	return f, cmd
}

func (f *floodApp) View() tea.View {
	v := f.app.View()
	if strings.Contains(v.Content, "Stop after the running commands?") {
		f.askedOne.Do(func() { f.askedAt = time.Now(); close(f.asked) })
	}
	return v
}

// raceDetector reports whether the test runs under -race, which slows
// everything down several times: the 100 ms bound is then not checked.
func raceDetector() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// TestFloodOfOutput: a command that prints 200 000 lines as fast as it can
// does not slow the run down (the wizard takes at most 1.5 times what the
// --json printer takes for the same stream), the memory stays flat, and a
// Ctrl-C pressed in the middle of it is answered within 100 ms.
func TestFloodOfOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("200 000 lines twice")
	}
	fl := newFlood(t)

	// The --json printer (apply --json): every event a JSON line on stdout
	// and in the run log, as cli_apply.go's printer does (package main:
	// not importable here).
	logf, _, err := steps.OpenRunLog("printer")
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	out, log := json.NewEncoder(io.Discard), json.NewEncoder(logf)
	eng := &steps.Engine{Hosts: fl.source(), Emit: func(e steps.Event) { log.Encode(e); out.Encode(e) }}
	t0 := time.Now()
	if _, err := eng.Run(context.Background(), floodPlan()); err != nil {
		t.Fatal(err)
	}
	printer := time.Since(t0)

	// The wizard: the real tea.Program on pipes, at 80x24.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, fa, p, keys, done, t1 := runFloodApp(ctx, filepath.Join(testdata, "grow.toml"), fl.source())
	defer keys.Close()

	select {
	case <-fl.middle:
	case <-time.After(30 * time.Second):
		t.Fatal("the engine never got half of the lines out")
	}
	pressed := time.Now()
	if _, err := keys.Write([]byte{0x03}); err != nil { // Ctrl-C
		t.Fatal(err)
	}
	select {
	case <-fa.asked:
		d := fa.askedAt.Sub(pressed)
		t.Logf("Ctrl-C answered after %s", d)
		if d > 100*time.Millisecond && !raceDetector() {
			t.Errorf("Ctrl-C in the middle of the flood answered after %s (want <= 100ms)", d)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Ctrl-C in the middle of the flood never brought the stop question")
	}
	select {
	case <-fa.ended:
	case <-time.After(120 * time.Second):
		t.Fatalf("the run did not end within 2 minutes (the --json printer took %s)", printer)
	}
	wizard := fa.endedAt.Sub(t1)
	t.Logf("%d lines: --json printer %s, wizard %s", floodLines, printer, wizard)
	if wizard > printer*3/2 {
		t.Errorf("the wizard took %s for %d lines, more than 1.5 x the --json printer's %s", wizard, floodLines, printer)
	}
	p.Quit()
	if err := <-done; err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		t.Fatal(err)
	}

	// the memory stays flat: the live heap late in the flood is the heap
	// early in it, give or take 1 MiB (keeping the 160 000 lines between the
	// two samples would take 5 MiB at least)
	heap := fl.heapSamples()
	t.Logf("live heap every %d lines: %v", floodLines/10, heap)
	if len(heap) < 9 {
		t.Fatalf("heap sampled %d times", len(heap))
	}
	if first, last := heap[0], heap[len(heap)-1]; last > first+1<<20 {
		t.Errorf("the heap grew with the flood: %v", heap)
	}
	// the last line reached the run screen, and every line is counted
	floodShownAndLogged(t, a, "(200001 lines)", "run log: …", filepath.Base(a.run.logPath)+"\n")
}

// runFloodApp starts the real tea.Program on pipes at 80x24, on the run
// screen of the flood plan against src: the app, its program, the pipe
// that types keys, where Run's error arrives, and when it started.
func runFloodApp(ctx context.Context, specPath string, src steps.HostSource) (*app, *floodApp, *tea.Program, *io.PipeWriter, chan error, time.Time) {
	a := newApp(ctx, Options{SpecPath: specPath, Width: 80, Height: 24,
		connect: func(*config.Spec, remote.Prompter) (steps.HostSource, func()) { return src, func() {} }})
	a.mode = modeApply
	a.run = newRunModel(floodPlan(), 78, 20)
	a.screen = scrRun
	fa := &floodApp{app: a, start: a.run.start(ctx, src), asked: make(chan struct{}), ended: make(chan struct{})}
	in, keys := io.Pipe()
	p := tea.NewProgram(fa, tea.WithContext(ctx), tea.WithInput(in), tea.WithOutput(io.Discard), tea.WithWindowSize(80, 24))
	done := make(chan error, 1)
	start := time.Now()
	go func() { _, err := p.Run(); done <- err }()
	return a, fa, p, keys, done, start
}

// floodShownAndLogged: after a flood run, the run screen shows storage0a's
// last line (and what more is asked), and the run log has every line in
// order and the run's end, whatever the screen skipped.
func floodShownAndLogged(t *testing.T, a *app, screenWants ...string) {
	t.Helper()
	screen := plain(a.run.view(a.run.width, a.run.height))
	for _, want := range append([]string{"storage0a", "\n  " + strconv.Itoa(floodLines) + " "}, screenWants...) {
		if !strings.Contains(screen, want) {
			t.Errorf("run screen after the flood lacks %q:\n%s", want, screen)
		}
	}
	b, err := os.ReadFile(a.run.logPath)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for l := range strings.Lines(string(b)) {
		var e steps.Event
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("run log %s: %v: %q", a.run.logPath, err, l)
		}
		if e.Kind == steps.LogLine {
			if n++; e.Text != strconv.Itoa(n) {
				t.Fatalf("run log %s: line %d is %q", a.run.logPath, n, e.Text)
			}
		}
	}
	if n != floodLines || !strings.Contains(string(b[max(0, len(b)-200):]), `"kind":"run-done"`) {
		t.Errorf("run log %s holds %d of the %d lines, and ends %q", a.run.logPath, n, floodLines, b[max(0, len(b)-200):])
	}
}

// TestMain keeps the run logs the tests write (the wizard writes one per
// run) in a temporary state directory.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "scalestore-ui-state")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_STATE_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
