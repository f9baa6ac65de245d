package ui

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
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

var update = flag.Bool("update", false, "rewrite the golden screens in testdata/")

// testdata is the absolute path of testdata/ (some tests change directory).
var testdata = func() string {
	p, err := filepath.Abs("testdata")
	if err != nil {
		panic(err)
	}
	return p
}()

// harness drives a tea model the way the tea runtime does, without a
// terminal: messages go to Update, the commands it returns run, and what
// they return goes back in. A command still running after a short wait
// (a tick, a blink, a wait for the next engine event) is kept and its
// message delivered whenever it arrives.
type harness struct {
	t       *testing.T
	m       tea.Model
	queue   []tea.Msg
	pending []chan tea.Msg
	quit    bool
}

func newHarness(t *testing.T, m tea.Model) *harness {
	t.Helper()
	h := &harness{t: t, m: m}
	h.run(m.Init())
	h.settle()
	return h
}

func (h *harness) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	ch := make(chan tea.Msg, 1)
	go func() { ch <- cmd() }()
	select {
	case msg := <-ch:
		h.queue = append(h.queue, msg)
	case <-time.After(3 * time.Millisecond):
		h.pending = append(h.pending, ch)
	}
}

// waitPending waits up to d for one kept command to deliver.
func (h *harness) waitPending(d time.Duration) bool {
	if len(h.pending) == 0 {
		return false
	}
	cases := []reflect.SelectCase{{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(time.After(d))}}
	for _, ch := range h.pending {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
	}
	i, v, _ := reflect.Select(cases)
	if i == 0 {
		return false
	}
	h.pending = append(h.pending[:i-1], h.pending[i:]...)
	if msg, ok := v.Interface().(tea.Msg); ok {
		h.queue = append(h.queue, msg)
	} else {
		h.queue = append(h.queue, nil)
	}
	return true
}

// settle processes messages until none is ready.
func (h *harness) settle() { h.settleWithin(10 * time.Millisecond) }

func (h *harness) settleWithin(quiet time.Duration) {
	for i := 0; i < 5000; i++ {
		if len(h.queue) == 0 {
			// collect late messages that have arrived
			var still []chan tea.Msg
			for _, ch := range h.pending {
				select {
				case msg := <-ch:
					h.queue = append(h.queue, msg)
				default:
					still = append(still, ch)
				}
			}
			h.pending = still
			// a command that is merely slow to be scheduled gets a moment
			if len(h.queue) == 0 && (quiet == 0 || !h.waitPending(quiet)) {
				return
			}
		}
		msg := h.queue[0]
		h.queue = h.queue[1:]
		h.deliver(msg)
	}
	h.t.Fatal("the model never settled")
}

func (h *harness) deliver(msg tea.Msg) {
	if msg == nil {
		return
	}
	switch m := msg.(type) {
	case tea.QuitMsg:
		h.quit = true
		return
	case tea.BatchMsg:
		for _, c := range m {
			h.run(c)
		}
		return
	}
	// tea.Sequence's message is an unexported []Cmd
	if v := reflect.ValueOf(msg); v.Kind() == reflect.Slice && v.Type().Elem() == reflect.TypeOf(tea.Cmd(nil)) {
		for i := 0; i < v.Len(); i++ {
			h.run(v.Index(i).Interface().(tea.Cmd))
			h.settle()
		}
		return
	}
	var cmd tea.Cmd
	h.m, cmd = h.m.Update(msg)
	h.run(cmd)
}

// send delivers messages and settles after each.
func (h *harness) send(msgs ...tea.Msg) *harness {
	h.t.Helper()
	for _, m := range msgs {
		h.deliver(m)
		h.settle()
	}
	return h
}

// keys presses keys by name ("enter", "tab", "ctrl+c", "x").
func (h *harness) keys(names ...string) *harness {
	h.t.Helper()
	for _, n := range names {
		h.send(press(n))
	}
	return h
}

// typ types text, one key press per character ("\n" presses enter).
func (h *harness) typ(s string) *harness {
	h.t.Helper()
	for _, r := range s {
		if r == '\n' {
			h.send(press("enter"))
			continue
		}
		h.deliver(tea.KeyPressMsg{Code: r, Text: string(r)})
		h.settleWithin(0)
	}
	h.settle()
	return h
}

// waitFor settles until cond holds.
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s; screen:\n%s", what, h.screen())
		}
		time.Sleep(5 * time.Millisecond)
		h.settle()
	}
}

func (h *harness) screen() string { return plain(h.m.View().Content) }

func (h *harness) app() *app { return h.m.(*app) }

func press(name string) tea.KeyPressMsg {
	switch name {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "shift+tab":
		return tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "pgup":
		return tea.KeyPressMsg{Code: tea.KeyPgUp}
	case "pgdown":
		return tea.KeyPressMsg{Code: tea.KeyPgDown}
	case "home":
		return tea.KeyPressMsg{Code: tea.KeyHome}
	case "end":
		return tea.KeyPressMsg{Code: tea.KeyEnd}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "space":
		return tea.KeyPressMsg{Code: ' ', Text: " "}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	}
	r := []rune(name)
	if len(r) != 1 {
		panic("unknown key " + name)
	}
	return tea.KeyPressMsg{Code: r[0], Text: name}
}

// golden compares a screen with testdata/NAME.golden.
func golden(t *testing.T, name, got string) {
	t.Helper()
	// trailing blanks are padding, not content
	lines := strings.Split(got, "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " ")
	}
	got = strings.Join(lines, "\n")
	path := filepath.Join(testdata, name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./ui -update)", err)
	}
	if string(want) != got {
		t.Errorf("screen %s differs from %s (go test ./ui -update refreshes it)\n--- got\n%s\n--- want\n%s", name, path, got, want)
	}
}

// capture reads a real capture of the lab's hosts.
func capture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, "..", "..", "steps", "testdata", "captures", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func readTestdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// asHost rewrites a discovery capture's host name.
func asHost(out, name string) string {
	lines := strings.Split(out, "\n")
	for i := range lines {
		if lines[i] == "@@hostname" && i+1 < len(lines) {
			lines[i+1] = name
		}
	}
	return strings.Join(lines, "\n")
}

// facts parses a discovery capture as the wizard would get it, at the
// time it was taken (the captures come from different days: their clocks
// are not off).
func facts(t testing.TB, out, host string) *steps.HostFacts {
	t.Helper()
	now := time.Unix(1795619767, 0)
	if _, rest, ok := strings.Cut(out, "@@clock\n"); ok {
		if n, err := strconv.ParseInt(strings.Fields(rest)[0], 10, 64); err == nil {
			now = time.Unix(n, 0)
		}
	}
	f, err := steps.ParseDiscovery(asHost(out, host), "VG0", now)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// fakeHosts is a scripted remote side: discovery gets the real captures
// (renamed per host), whose disks are blank, and the hosts' state is what
// those captures show: a blank host answers every probe of the plan "not
// done" (the batched prefetch says nothing holds) until the action it
// guards has run, so a run executes its actions. A host listed in built is
// a host of the cluster already built: every probe holds there. Every other
// command succeeds with no output (waits hold, the postflight's listings are
// empty). It records what ran.
type fakeHosts struct {
	t      testing.TB
	mu     sync.Mutex
	ran    []string
	locks  int                      // the run's locks taken on hosts
	acted  []string                 // host: command of an action that ran (probes excluded)
	disks  map[string]string        // host → discovery output
	fail   map[string]error         // host → connect error
	built  map[string]bool          // hosts whose probes all hold
	guards map[string]string        // host + "\x00" + action command → its probe
	probes map[string]bool          // host + "\x00" + probe: a probe of the plan
	done   map[string]bool          // host + "\x00" + probe: its action ran
	files  map[string]string        // host + path: written
	state  map[string]string        // host → its answer to steps.StateScript (none: empty)
	spec   *config.Spec             // the spec of the last connect
	next   *config.Spec             // a spec not saved yet whose probes the review asks (expect)
	skew   map[string]time.Duration // host → its clock's skew as preflight finds it (none: 0)
	closed bool
}

func newFakeHosts(t testing.TB) *fakeHosts {
	return &fakeHosts{t: t, disks: map[string]string{}, fail: map[string]error{}, built: map[string]bool{},
		guards: map[string]string{}, probes: map[string]bool{}, done: map[string]bool{}, files: map[string]string{}, state: map[string]string{}, skew: map[string]time.Duration{}}
}

// learn notes the probes of the plan and the commands they guard (f.mu
// held). The run starts with the batched probes: by then the spec is
// complete, and saved (the wizard saves before it runs; the connection may
// be older than a pair the spec gained).
func (f *fakeHosts) learn(s *config.Spec) {
	if saved, err := config.Load(s.Path); err == nil {
		s = saved
	}
	f.learnPlan(s)
	if f.next != nil {
		f.learnPlan(f.next)
	}
}

// expect tells the hosts of a spec the wizard has not saved yet (a pair
// added): the review probes its plan before the save.
func (f *fakeHosts) expect(s *config.Spec) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next = s
}

func (f *fakeHosts) learnPlan(s *config.Spec) {
	for _, st := range steps.Build(s, nil).Steps {
		for _, a := range st.Actions {
			if a.Kind == steps.Run && a.Unless != nil {
				f.guards[a.Host+"\x00"+a.Cmd.String()] = a.Unless.String()
				f.probes[a.Host+"\x00"+a.Unless.String()] = true
			}
		}
	}
}

// discover reads the hosts as preflight does (steps.Discover), each host's
// clock skew pinned to skew's (0 unless set): steps.Discover measures it
// against the wall clock, and the captures' clocks are of other days.
func (f *fakeHosts) discover(ctx context.Context, s *config.Spec, src steps.HostSource, parallel int) *steps.Facts {
	facts := steps.Discover(ctx, s, src, parallel)
	f.mu.Lock()
	defer f.mu.Unlock()
	for name, hf := range facts.Hosts {
		if hf != nil && hf.HasClock {
			hf.ClockSkew = f.skew[name]
		}
	}
	return facts
}

func (f *fakeHosts) connect(s *config.Spec, p remote.Prompter) (steps.HostSource, func()) {
	f.mu.Lock()
	f.spec = s
	f.mu.Unlock()
	return func(ctx context.Context, name string) (remote.Host, error) {
		if err := f.fail[name]; err != nil {
			return nil, err
		}
		if s.Host(name) == nil {
			return nil, fmt.Errorf("host %q is not in the spec", name)
		}
		return &fakeHost{f: f, name: name}, nil
	}, func() { f.mu.Lock(); f.closed = true; f.mu.Unlock() }
}

func (f *fakeHosts) commands() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.ran...)
}

// actions lists the commands of actions that ran, as "host: command".
func (f *fakeHosts) actions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.acted...)
}

type fakeHost struct {
	f    *fakeHosts
	name string
}

func (h *fakeHost) Name() string { return h.name }
func (h *fakeHost) Close() error { return nil }

// rePrefetchKeys is the keys a line of the batched probe script answers for.
var rePrefetchKeys = regexp.MustCompile(`(?m); then echo '(ok [\d/ ]+)'; fi$`)

func (h *fakeHost) Run(ctx context.Context, cmd remote.Cmd, opt remote.RunOptions) (remote.Result, error) {
	text := cmd.String()
	f := h.f
	if strings.Contains(text, "flock -n 9") {
		// the run's lock on the host: taken, and held until the run ends
		f.mu.Lock()
		f.locks++
		f.mu.Unlock()
		opt.OnLine(remote.Line{Host: h.name, Stream: remote.Stdout, Text: "locked"})
		<-ctx.Done()
		return remote.Result{Code: -1}, ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ran = append(f.ran, h.name+": "+text)
	key := h.name + "\x00" + text
	switch {
	case text == "lsblk -J -b -d -o NAME,PATH,SIZE,TYPE":
		return remote.Result{Stdout: []byte(`{"blockdevices":[{"name":"vda","path":"/dev/vda","size":21474836480,"type":"disk"},{"name":"vdb","path":"/dev/vdb","size":67108864,"type":"disk"},{"name":"sr0","path":"/dev/sr0","size":1024,"type":"rom"}]}`)}, nil
	case text == steps.StateScript("storage").String() || text == steps.StateScript("client").String():
		return remote.Result{Stdout: []byte(f.state[h.name])}, nil
	case strings.HasPrefix(text, "echo @@os"):
		out := f.disks[h.name]
		if out == "" {
			if strings.HasPrefix(h.name, "client") {
				out = capture(f.t, "discover-client0.txt")
			} else {
				out = capture(f.t, "discover-storage0a-blank.txt")
			}
		}
		return remote.Result{Stdout: []byte(asHost(out, h.name))}, nil
	case strings.Contains(text, "; then echo 'ok "):
		// the batched probes: all hold on a built host, none on a blank one
		if f.spec != nil {
			f.learn(f.spec)
		}
		var out strings.Builder
		for _, m := range rePrefetchKeys.FindAllStringSubmatch(text, -1) {
			if f.built[h.name] {
				out.WriteString(m[1] + "\n")
			}
		}
		return remote.Result{Stdout: []byte(out.String())}, nil
	case f.probes[key] && !f.built[h.name] && !f.done[key]:
		return remote.Result{Code: 1}, &remote.ExitError{Host: h.name, Cmd: text, Code: 1}
	}
	if probe, ok := f.guards[key]; ok {
		f.done[h.name+"\x00"+probe] = true
		f.acted = append(f.acted, h.name+": "+text)
	}
	return remote.Result{}, nil
}

func (h *fakeHost) ReadFile(ctx context.Context, path string) ([]byte, error) {
	if path == "/etc/corosync/authkey" {
		return []byte("test-key"), nil
	}
	return nil, fmt.Errorf("read %s: %w", path, fs.ErrNotExist)
}

// WriteFile changes a blank host's file once; a built host has them all.
func (h *fakeHost) WriteFile(ctx context.Context, path string, data []byte, mode fs.FileMode, owner string) (bool, error) {
	f := h.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.built[h.name] || f.files[h.name+path] == string(data) {
		return false, nil
	}
	f.files[h.name+path] = string(data)
	f.acted = append(f.acted, h.name+": write "+path)
	return true, nil
}

// newTestApp is the wizard on a spec path with scripted hosts, at 80x24.
func newTestApp(t *testing.T, specPath string, f *fakeHosts) *harness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	o := Options{SpecPath: specPath, Width: 80, Height: 24}
	if f != nil {
		o.connect, o.discover = f.connect, f.discover
	} else {
		o.connect = func(*config.Spec, remote.Prompter) (steps.HostSource, func()) {
			return func(ctx context.Context, name string) (remote.Host, error) {
				return nil, fmt.Errorf("test: no SSH")
			}, func() {}
		}
	}
	a := newApp(ctx, o)
	h := newHarness(t, a)
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	return h
}

// copyFile copies a testdata file into a temporary directory.
func copyFile(t *testing.T, name string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(dst, []byte(readTestdata(t, name)), 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

var _ = bytes.Buffer{}
