package ui

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/progress"
	"charm.land/bubbles/v2/spinner"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"scalestore/config"
	"scalestore/steps"
)

// engineEventMsg is one event of the engine (the tests feed them one by
// one; a run sends them in batches, eventBatchMsg).
type engineEventMsg struct{ ev steps.Event }

// runFinishedMsg is Engine.Run's return: the last message of a run.
type runFinishedMsg struct {
	sum steps.Summary
	err error
	// recordErr is why the applied spec could not be recorded
	// (config.SaveApplied) after a run that ended well.
	recordErr error
}

// feedLines is how many log lines wait for the screen at most. The lines a
// host prints beyond them before the next frame takes them are dropped from
// the live view (counted, and the count shown with the host's lines),
// except its last skipTail: the screen always ends with what the host
// printed last.
const (
	feedLines = 1024
	skipTail  = 64
)

// frame is the shortest time between two batches of events: the screen
// is redrawn once per batch.
const frame = time.Second / 60

// feed carries the engine's events to the screen without ever making the
// engine wait: Emit appends to a bounded buffer, and the run screen takes
// all of it at most once per frame (waitBatch). Only log lines are ever
// dropped, and only from the screen (the engine's Emit saw them); the
// other events (steps, actions, failures, the end) always arrive, in
// order.
type feed struct {
	mu       sync.Mutex
	items    []feedItem
	lines    int                 // log lines in items
	skipped  map[string]*skipped // host → lines past feedLines since the last batch
	skipList []string            // the hosts of skipped, in order
	ended    *runFinishedMsg
	logPath  string        // the run log, once opened
	logErr   error         // the run log could not be opened or written
	ready    chan struct{} // holds a token when items or ended may wait
}

// feedItem is a log line of a host, or (skipped > 0) the marker of lines
// dropped for it, or (ev != nil) any other event.
type feedItem struct {
	host, text string
	stderr     bool
	skipped    int
	ev         *steps.Event
}

// skipped is the lines of a host that did not fit: how many, and the last
// skipTail of them in a ring.
type skipped struct {
	n          int
	tail       [skipTail]feedItem
	next, kept int
}

// eventBatchMsg is what the engine sent since the last batch.
type eventBatchMsg struct {
	items   []feedItem
	ended   *runFinishedMsg
	logPath string
	logErr  error
	at      time.Time
}

func newFeed() *feed {
	return &feed{skipped: map[string]*skipped{}, ready: make(chan struct{}, 1)}
}

// push takes an event; it never blocks.
func (f *feed) push(ev steps.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	it := itemOf(ev)
	if it.ev == nil {
		if f.lines >= feedLines {
			s := f.skipped[ev.Host]
			if s == nil {
				s = &skipped{}
				f.skipped[ev.Host] = s
				f.skipList = append(f.skipList, ev.Host)
			}
			s.n++
			s.tail[s.next] = it
			s.next = (s.next + 1) % skipTail
			s.kept = min(s.kept+1, skipTail)
			return
		}
		f.lines++
	} else {
		f.markSkipped()
	}
	f.items = append(f.items, it)
	f.signal()
}

// finish takes Engine.Run's return, the last message of a run.
func (f *feed) finish(r runFinishedMsg) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.markSkipped()
	f.ended = &r
	f.signal()
}

// logOpened says where the run log is, or why there is none.
func (f *feed) logOpened(path string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logPath, f.logErr = path, err
	f.signal()
}

// logFailed says the run log could not be written.
func (f *feed) logFailed(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logErr = err
	f.signal()
}

// markSkipped puts what did not fit so far: for each host the marker of
// the lines dropped, then its last lines. f.mu is held.
func (f *feed) markSkipped() {
	for _, h := range f.skipList {
		s := f.skipped[h]
		if dropped := s.n - s.kept; dropped > 0 {
			f.items = append(f.items, feedItem{host: h, skipped: dropped})
		}
		for i := range s.kept {
			f.items = append(f.items, s.tail[(s.next-s.kept+i+skipTail)%skipTail])
		}
		delete(f.skipped, h)
	}
	f.skipList = f.skipList[:0]
}

func (f *feed) signal() {
	select {
	case f.ready <- struct{}{}:
	default:
	}
}

// take empties the buffer into a batch.
func (f *feed) take() eventBatchMsg {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.markSkipped()
	b := eventBatchMsg{items: f.items, ended: f.ended, logPath: f.logPath, logErr: f.logErr, at: time.Now()}
	f.items, f.lines, f.ended, f.logPath, f.logErr = make([]feedItem, 0, len(b.items)), 0, nil, "", nil
	return b
}

// waitBatch delivers the next batch of events, no sooner than a frame
// after the batch taken last.
func (f *feed) waitBatch(ctx context.Context, last time.Time) tea.Cmd {
	return func() tea.Msg {
		for {
			select {
			case <-f.ready:
			case <-ctx.Done():
				return nil
			}
			if wait := time.Until(last.Add(frame)); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					return nil
				}
			}
			if b := f.take(); len(b.items) > 0 || b.ended != nil || b.logPath != "" || b.logErr != nil {
				return b
			}
		}
	}
}

type stepState int

const (
	stepPending stepState = iota
	stepRunning
	stepDone
	stepFailed
)

type stepRow struct {
	id, title          string
	hosts              []string
	state              stepState
	changed, unchanged int
	elapsed            time.Duration
}

// logKeep is how many lines are kept per host; logShow how many are shown.
const (
	logKeep = 200
	logShow = 4
)

// logEntry is a line of a host's log, styled when it is drawn.
type logEntry struct {
	text string
	kind logKind
}

type logKind uint8

const (
	logOut     logKind = iota // a line of a command's stdout
	logErr                    // a line of its stderr
	logChanged                // an action that changed something
	logFailed                 // an action that failed
)

// hostLog is the last logKeep lines of a host, in a ring: adding one is
// O(1) and copies nothing.
type hostLog struct {
	ring    [logKeep]logEntry
	next    int // where the next line goes
	kept    int // lines in ring
	total   int // lines the host printed, skipped ones included
	skipped int // lines the screen did not keep up with
}

func (l *hostLog) add(e logEntry) {
	l.ring[l.next] = e
	l.next = (l.next + 1) % logKeep
	l.kept = min(l.kept+1, logKeep)
	l.total++
}

// last is the last n lines, oldest first.
func (l *hostLog) last(n int) []logEntry {
	n = min(n, l.kept)
	out := make([]logEntry, n)
	for i := range out {
		out[i] = l.ring[(l.next-n+i+logKeep)%logKeep]
	}
	return out
}

// logRows is the most rows a log line takes on the run screen: a longer
// one shows its start and says how much more of it the run log holds.
const logRows = 6

// render draws a line in w cells after indent: wrapped, each row after the
// first indented two more under its text, at most logRows rows. A line
// that fits (most) is one row, drawn with no wrapping at all.
func (e logEntry) render(indent string, w int) string {
	line := e.text
	switch e.kind {
	case logChanged:
		line = "✓ " + line
	case logFailed:
		line = "✗ " + line
	}
	if ansi.StringWidth(line) <= w {
		return indent + e.style(line, true)
	}
	// wrap only what logRows rows can show (a line may be megabytes)
	all := utf8.RuneCountInString(line)
	text := ansi.Truncate(line, (logRows+1)*w, "")
	rows := strings.Split(wrapIndent(text, w, 2), "\n")
	cut := len(rows) > logRows || len(text) < len(line)
	if len(rows) > logRows {
		rows = rows[:logRows-1]
	} else if cut {
		rows = rows[:len(rows)-1] // the last row may stop inside a word
	}
	var b strings.Builder
	shown := 0
	for i, r := range rows {
		if i > 0 {
			b.WriteString("\n")
		}
		shown += utf8.RuneCountInString(strings.TrimLeft(r, " "))
		b.WriteString(indent + e.style(r, i == 0))
	}
	if cut {
		b.WriteString("\n" + indent + "  " + styleDim.Render(fmt.Sprintf("… %d more characters in the run log", max(all-shown, 1))))
	}
	return b.String()
}

// style colours a row of a log line: the first carries its mark.
func (e logEntry) style(row string, first bool) string {
	switch e.kind {
	case logErr:
		return styleWarn.Render(row)
	case logChanged:
		if first {
			return stylePass.Render("✓ ") + strings.TrimPrefix(row, "✓ ")
		}
	case logFailed:
		return styleFail.Render(row)
	}
	return row
}

// schedule is how a run orders the plan (Options.Graph, Concurrency).
type schedule struct {
	graph       bool
	concurrency int
}

// runModel is the engine at work: the steps with their state, the DRBD
// sync's progress, the last lines of every host, and the failure if any.
type runModel struct {
	plan     *steps.Plan
	steps    []stepRow
	index    map[string]int
	hosts    []string
	logs     map[string]*hostLog
	dirty    bool     // the logs changed since the viewport's content was made
	drawn    []string // refreshLogs' rows of a host, kept to be reused
	sync     map[string]*steps.Progress
	syncKeys []string
	warnings []string
	failure  *steps.Event
	bar      progress.Model
	spin     spinner.Model
	vp       viewport.Model
	follow   bool

	ctx      context.Context
	feed     *feed
	spec     *config.Spec // recorded as the last applied spec after a run that ends well (nil: not)
	schedule schedule
	logPath  string // the run log: every event, none skipped
	logErr   error  // why there is no run log
	stop     chan struct{}
	cancel   context.CancelFunc

	confirmStop bool // the "stop after running commands?" question is shown
	stopping    bool // Stop is closed
	killing     bool // the run's context is cancelled
	finished    bool
	result      runFinishedMsg
	width       int
	height      int
}

var (
	keyStopYes = key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "stop after the running commands"))
	keyStopNo  = key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n", "keep going"))
	keyRunStop = key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "stop"))
	keyRunKill = key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "stop the running commands now"))
)

func newRunModel(p *steps.Plan, width, height int) *runModel {
	m := &runModel{
		plan: p, index: map[string]int{}, logs: map[string]*hostLog{}, sync: map[string]*steps.Progress{},
		bar:    progress.New(progress.WithDefaultBlend(), progress.WithoutPercentage(), progress.WithWidth(30)),
		spin:   spinner.New(spinner.WithSpinner(spinner.MiniDot)),
		vp:     viewport.New(),
		follow: true,
		stop:   make(chan struct{}),
		feed:   newFeed(),
	}
	for i, st := range p.Steps {
		m.steps = append(m.steps, stepRow{id: st.ID, title: st.Title, hosts: st.Hosts()})
		m.index[st.ID] = i
	}
	m.setSize(width, height)
	return m
}

// start runs the engine in the background. Every event goes to the run log
// as it happens; the screen gets them through the feed, a batch per frame
// at most.
func (m *runModel) start(ctx context.Context, src steps.HostSource) tea.Cmd {
	runCtx, cancel := context.WithCancel(ctx)
	m.ctx, m.cancel = ctx, cancel
	f, stop, plan, spec, sched := m.feed, m.stop, m.plan, m.spec, m.schedule
	launch := func() tea.Msg {
		go func() {
			defer cancel()
			// one run per cluster: this machine's lock and the hosts'
			unlock, err := steps.LockRun(runCtx, plan.Cluster, plan.Hosts(), src, "the wizard")
			if err != nil {
				f.finish(runFinishedMsg{err: fmt.Errorf("%w; nothing was changed", err)})
				return
			}
			defer unlock()
			logf, path, err := steps.OpenRunLog(plan.Cluster)
			f.logOpened(path, err)
			emit := f.push
			var log *runLog
			if logf != nil {
				log = &runLog{f: logf, w: bufio.NewWriter(logf)}
				log.enc = json.NewEncoder(log.w)
				emit = func(ev steps.Event) {
					if err := log.write(ev); err != nil {
						f.logFailed(fmt.Errorf("run log: %w", err))
					}
					f.push(ev)
				}
			}
			eng := &steps.Engine{Hosts: src, Stop: stop, Emit: emit, Graph: sched.graph, Parallel: sched.concurrency, Concurrency: sched.concurrency}
			sum, err := eng.Run(runCtx, plan)
			if err := log.close(); err != nil {
				f.logFailed(fmt.Errorf("run log: %w", err))
			}
			done := runFinishedMsg{sum: sum, err: err}
			if err == nil && spec != nil {
				_, done.recordErr = config.SaveApplied(spec, time.Now())
			}
			f.finish(done)
		}()
		return nil
	}
	return tea.Batch(launch, f.waitBatch(ctx, time.Time{}), m.spin.Tick)
}

// runLog writes every event of a run as a JSON line; lines are buffered,
// and everything is on disk after each other event and at the end.
type runLog struct {
	f   *os.File
	w   *bufio.Writer
	enc *json.Encoder
	err error
}

// write writes an event; it returns the first error only once.
func (l *runLog) write(ev steps.Event) error {
	if l.err != nil {
		return nil
	}
	l.err = l.enc.Encode(ev)
	if l.err == nil && ev.Kind != steps.LogLine {
		l.err = l.w.Flush()
	}
	return l.err
}

func (l *runLog) close() error {
	if l == nil {
		return nil
	}
	err := l.w.Flush()
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	if l.err != nil {
		return nil // already said
	}
	return err
}

func (m *runModel) setSize(w, h int) {
	m.width, m.height = w, h
	m.bar.SetWidth(min(max(w-54, 10), 40))
	m.vp.SetWidth(w)
	m.layout()
}

// layout gives the log viewport the rows the rest leaves.
func (m *runModel) layout() {
	used := 2 + len(m.stepWindow()) + 1 + m.extraRows()
	m.vp.SetHeight(max(m.height-used-1, logMinRows))
	m.dirty = true
}

// logMinRows is the fewest rows the log viewport gets: the steps shown
// make room for it on a short terminal.
const logMinRows = 3

// extraRows is the rows between the steps and the logs: the DRBD sync,
// the warnings, the failure and the run log's path.
func (m runModel) extraRows() int {
	n := len(m.syncKeys)
	if len(m.syncKeys) > 0 {
		n++
	}
	if m.failure != nil {
		n += 6
	}
	if len(m.warnings) > 0 {
		n++
	}
	if m.logPath != "" || m.logErr != nil {
		n++
	}
	return n
}

// refreshLogs makes the viewport's content, the last lines of every host,
// when the logs changed since it was made last.
func (m *runModel) refreshLogs() {
	if !m.dirty {
		return
	}
	m.dirty = false
	var b strings.Builder
	show := logShow
	if n := len(m.hosts); n > 0 {
		show = max(logShow, m.vp.Height()/n-1)
	}
	for _, h := range m.hosts {
		l := m.logs[h]
		head := styleBold.Render(h) + styleDim.Render(fmt.Sprintf("  (%d lines)", l.total))
		if l.skipped > 0 {
			head += styleWarn.Render(fmt.Sprintf("  %d lines skipped, see the log", l.skipped))
		}
		b.WriteString(truncate(head, m.width) + "\n")
		// the host's last lines that fit in show rows, the last one whole
		// (up to logRows rows) even when it alone takes more
		last := l.last(show)
		drawn := m.drawn[:0]
		rows := 0
		for i := len(last) - 1; i >= 0; i-- {
			r := last[i].render("  ", m.width-2)
			n := strings.Count(r, "\n") + 1
			if len(drawn) > 0 && rows+n > show {
				break
			}
			drawn = append(drawn, r)
			if rows += n; rows >= show {
				break
			}
		}
		for i := len(drawn) - 1; i >= 0; i-- {
			b.WriteString(drawn[i] + "\n")
		}
		m.drawn = drawn
	}
	m.vp.SetContent(strings.TrimRight(b.String(), "\n"))
	if m.follow {
		m.vp.GotoBottom()
	}
}

// logTo adds a line to a host's log; the screen shows it at the next frame.
func (m *runModel) logTo(host string, e logEntry) {
	m.log(host).add(e)
	m.dirty = true
}

// log is a host's log, new when the host printed nothing yet.
func (m *runModel) log(host string) *hostLog {
	if host == "" {
		host = "scalestore"
	}
	l := m.logs[host]
	if l == nil {
		l = &hostLog{}
		m.logs[host] = l
		m.hosts = append(m.hosts, host)
	}
	return l
}

// stepOf finds the row of a step, adding one for a step the plan did not list.
func (m *runModel) stepOf(ev steps.Event) *stepRow {
	i, ok := m.index[ev.Step]
	if !ok {
		m.index[ev.Step] = len(m.steps)
		m.steps = append(m.steps, stepRow{id: ev.Step, title: ev.Title})
		i = len(m.steps) - 1
	}
	return &m.steps[i]
}

func (m *runModel) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case eventBatchMsg:
		if msg.logPath != "" {
			m.logPath = msg.logPath
			m.layout()
		}
		if msg.logErr != nil {
			m.logErr = msg.logErr
			m.layout()
		}
		for _, it := range msg.items {
			m.event(it)
		}
		if msg.ended != nil {
			return m.finish(*msg.ended)
		}
		return m.feed.waitBatch(m.ctx, msg.at)
	case engineEventMsg:
		m.event(itemOf(msg.ev))
	case runFinishedMsg:
		return m.finish(msg)
	case spinner.TickMsg:
		if m.finished {
			return nil
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return cmd
	case tea.KeyPressMsg:
		return m.key(msg)
	}
	return nil
}

// itemOf is an event as the feed carries it.
func itemOf(ev steps.Event) feedItem {
	if ev.Kind == steps.LogLine {
		return feedItem{host: ev.Host, text: ev.Text, stderr: ev.Stream == "stderr"}
	}
	e := ev // only the other events go to the heap
	return feedItem{ev: &e}
}

// event takes one event of the engine (or a marker of skipped lines).
func (m *runModel) event(it feedItem) {
	switch {
	case it.ev != nil:
	case it.skipped > 0:
		l := m.log(it.host)
		l.skipped += it.skipped
		l.total += it.skipped
		m.dirty = true
		return
	case it.stderr:
		m.logTo(it.host, logEntry{text: it.text, kind: logErr})
		return
	default:
		m.logTo(it.host, logEntry{text: it.text, kind: logOut})
		return
	}
	ev := *it.ev
	switch ev.Kind {
	case steps.Warning:
		m.warnings = append(m.warnings, ev.Text)
		m.layout()
	case steps.StepStarted:
		m.stepOf(ev).state = stepRunning
		m.layout()
	case steps.ActionDone:
		if ev.Outcome == steps.Changed {
			m.logTo(ev.Host, logEntry{text: ev.Action, kind: logChanged})
		}
	case steps.ProgressMsg:
		if p := ev.Progress; p != nil {
			if _, ok := m.sync[p.Resource]; !ok {
				m.syncKeys = append(m.syncKeys, p.Resource)
			}
			pc := *p
			m.sync[p.Resource] = &pc
			m.layout()
		}
	case steps.Failed:
		if m.failure == nil {
			m.failure = &ev
		}
		m.stepOf(ev).state = stepFailed
		m.logTo(ev.Host, logEntry{text: ev.Action + ": " + ev.Error, kind: logFailed})
		m.layout()
	case steps.StepDone:
		r := m.stepOf(ev)
		if r.state != stepFailed {
			r.state = stepDone
		}
		r.changed, r.unchanged, r.elapsed = ev.Changed, ev.Unchanged, ev.Elapsed
		m.layout()
	}
}

func (m *runModel) finish(f runFinishedMsg) tea.Cmd {
	m.finished = true
	m.result = f
	m.confirmStop = false
	return emit(runEndedMsg{f})
}

// runEndedMsg tells the app the engine returned.
type runEndedMsg struct{ runFinishedMsg }

func (m *runModel) key(k tea.KeyPressMsg) tea.Cmd {
	if m.finished {
		return nil
	}
	if k.String() == "ctrl+c" {
		switch {
		case m.stopping && !m.killing:
			// a second Ctrl-C after stopping: stop the commands too
			m.killing = true
			if m.cancel != nil {
				m.cancel()
			}
		case !m.stopping:
			m.confirmStop = true
		}
		return nil
	}
	if m.confirmStop {
		switch {
		case key.Matches(k, keyStopYes):
			m.confirmStop = false
			m.stopping = true
			close(m.stop) // the engine lets running actions finish, starts no new one
		case key.Matches(k, keyStopNo):
			m.confirmStop = false
		}
		return nil
	}
	m.refreshLogs() // scroll what the screen shows
	if scroll(&m.vp, k) {
		m.follow = m.vp.AtBottom()
	}
	return nil
}

func (m *runModel) help() []key.Binding {
	switch {
	case m.finished:
		return nil
	case m.confirmStop:
		return []key.Binding{keyStopYes, keyStopNo}
	case m.stopping:
		return []key.Binding{keyRunKill}
	}
	return []key.Binding{keyRunStop, keyUp, keyDown, keyPgUp, keyPgDn}
}

// current is the index of the running (or last started) step.
func (m runModel) current() int {
	cur := 0
	for i, s := range m.steps {
		if s.state != stepPending {
			cur = i
		}
	}
	return cur
}

// stepWindow is the steps shown: a few done, the running ones, a few to come.
func (m runModel) stepWindow() []int {
	n := len(m.steps)
	show := min(n, 8)
	if m.height < 20 {
		show = min(n, 5)
	}
	// on a short terminal, fewer steps: the logs keep logMinRows rows
	show = max(min(show, m.height-2-1-m.extraRows()-1-logMinRows), min(n, 1))
	if running := m.running(); len(running) > 1 {
		return nearest(n, show, running)
	}
	start := max(min(m.current()-show/2, n-show), 0)
	var out []int
	for i := start; i < start+show; i++ {
		out = append(out, i)
	}
	return out
}

// running is the steps running now: several in a graph run.
func (m runModel) running() []int {
	var out []int
	for i, s := range m.steps {
		if s.state == stepRunning {
			out = append(out, i)
		}
	}
	return out
}

// nearest is the show steps of n (in order) nearest to the running ones:
// every running step first (the first show of them when more run), then
// the steps around them, the nearer first, the earlier of two as near.
func nearest(n, show int, running []int) []int {
	dist := make([]int, n)
	for i := range dist {
		dist[i] = n
		for _, r := range running {
			dist[i] = min(dist[i], max(i-r, r-i))
		}
	}
	in := make([]bool, n)
	picked := 0
	for d := 0; d < n && picked < show; d++ {
		for i := 0; i < n && picked < show; i++ {
			if dist[i] == d {
				in[i] = true
				picked++
			}
		}
	}
	var out []int
	for i, ok := range in {
		if ok {
			out = append(out, i)
		}
	}
	return out
}

func (m runModel) done() (int, int) {
	d := 0
	for _, s := range m.steps {
		if s.state == stepDone {
			d++
		}
	}
	return d, len(m.steps)
}

// View draws the run screen; the logs' content is made again only when
// they changed since the last frame.
func (m *runModel) view(width, height int) string {
	m.refreshLogs()
	var b strings.Builder
	d, n := m.done()
	title := fmt.Sprintf("Applying: step %d of %d", min(d+1, n), n)
	if r := len(m.running()); r > 1 {
		title = fmt.Sprintf("Applying: %d steps at once, %d of %d done", r, d, n)
	}
	switch {
	case m.finished && m.result.err == nil:
		title = fmt.Sprintf("Applied: %d steps", n)
	case m.finished:
		title = "Stopped"
	case m.killing:
		title += styleWarn.Render("  (stopping the running commands…)")
	case m.stopping:
		title += styleWarn.Render("  (stopping after the running commands…)")
	}
	b.WriteString(styleTitle.Render(title) + "\n")
	win := m.stepWindow()
	if len(win) > 0 && win[0] > 0 {
		b.WriteString(styleDim.Render(fmt.Sprintf("  … %d step(s) before", win[0])) + "\n")
	} else {
		b.WriteString("\n")
	}
	for _, i := range win {
		s := m.steps[i]
		var line string
		switch s.state {
		case stepPending:
			line = styleDim.Render("· " + s.title)
		case stepRunning:
			line = m.spin.View() + " " + styleBold.Render(s.title) + styleDim.Render("  "+strings.Join(s.hosts, ", "))
		case stepDone:
			line = stylePass.Render("✓ ") + s.title + styleDim.Render(fmt.Sprintf("  %d changed, %d unchanged · %s", s.changed, s.unchanged, s.elapsed.Round(100*time.Millisecond)))
		case stepFailed:
			line = styleFail.Render("✗ " + s.title)
		}
		b.WriteString(truncate("  "+line, m.width) + "\n")
	}
	for _, r := range m.syncKeys {
		p := m.sync[r]
		speed := ""
		if p.SpeedKiBps > 0 {
			speed = fmt.Sprintf("  %.1f MiB/s", float64(p.SpeedKiBps)/1024)
		}
		eta := ""
		if p.ETA != "" && p.Percent < 100 {
			eta = "  ETA " + p.ETA
		}
		line := fmt.Sprintf("  DRBD %s %s %s %5.1f%%%s%s", r, p.State, m.bar.ViewAs(p.Percent/100), p.Percent, speed, eta)
		b.WriteString(truncate(line, m.width) + "\n")
	}
	if len(m.syncKeys) > 0 {
		b.WriteString(truncate(styleDim.Render("  (the mirror copies every block once; the disks stay usable meanwhile)"), m.width) + "\n")
	}
	if len(m.warnings) > 0 {
		b.WriteString(truncate(styleWarn.Render(fmt.Sprintf("  ! %d warning(s): see the review; fencing and dual primary risks apply", len(m.warnings))), m.width) + "\n")
	}
	if m.failure != nil {
		b.WriteString(failureBox(m.failure, m.width, 3))
	}
	switch {
	case m.logErr != nil:
		b.WriteString(truncate(styleWarn.Render("  ! "+m.logErr.Error()), m.width) + "\n")
	case m.logPath != "":
		path := m.logPath // its end names the run: cut its start
		if over := ansi.StringWidth(path) - (m.width - 11); over > 0 {
			path = ansi.TruncateLeft(path, over+1, "…")
		}
		b.WriteString(styleDim.Render("  run log: "+path) + "\n")
	}
	b.WriteString("\n")
	if m.confirmStop {
		b.WriteString(styleModal.Render(styleBold.Render("Stop after the running commands?")+"\n"+
			wrap("y: let the commands that are running now finish, start no new one, and stop. Running apply again resumes from there.\nn: keep going.", min(m.width-4, 70))) + "\n")
	} else {
		b.WriteString(m.vp.View())
	}
	return b.String()
}

// failureBox shows a failed action: where, the command, its exit status
// and its stderr. lines > 0 (the run screen, short of room) keeps the
// command to that many lines and the stderr to its last ones; 0 shows all.
func failureBox(ev *steps.Event, width, lines int) string {
	w := min(width-4, 96)
	var b strings.Builder
	head := fmt.Sprintf("✗ %s failed on %s: %s", ev.Step, ev.Host, ev.Action)
	if lines > 0 {
		head = truncate(head, w)
	} else {
		head = wrapIndent(head, w, 2)
	}
	b.WriteString(styleDanger.Render(head) + "\n")
	if ev.Cmd != "" {
		cmd := wrapIndent("command: "+ev.Cmd, w, 9)
		if lines > 0 {
			cmd = clipLines(cmd, lines)
		}
		b.WriteString(cmd + "\n")
		b.WriteString(fmt.Sprintf("exit status %d", ev.Code) + "\n")
	} else if ev.Error != "" {
		b.WriteString(wrap("error: "+ev.Error, w) + "\n")
	}
	var tail []string
	for _, l := range strings.Split(strings.TrimSpace(ev.Stderr), "\n") {
		if strings.TrimSpace(l) != "" {
			tail = append(tail, l)
		}
	}
	if lines > 0 && len(tail) > lines {
		tail = tail[len(tail)-lines:]
	}
	for _, l := range tail {
		b.WriteString(styleWarn.Render(wrapIndent("stderr: "+l, w, 8)) + "\n")
	}
	return styleFailBox.Render(strings.TrimRight(b.String(), "\n")) + "\n"
}

// terminalProgress is the terminal's own progress bar (OSC 9;4): the DRBD
// sync while it runs, else the share of steps done.
func (m runModel) terminalProgress() *tea.ProgressBar {
	if m.failure != nil {
		return tea.NewProgressBar(tea.ProgressBarError, 100)
	}
	for _, r := range m.syncKeys {
		if p := m.sync[r]; p.Percent < 100 {
			return tea.NewProgressBar(tea.ProgressBarDefault, int(p.Percent))
		}
	}
	d, n := m.done()
	if n == 0 {
		return nil
	}
	return tea.NewProgressBar(tea.ProgressBarDefault, d*100/n)
}

// runOutcome is what the done screen reports.
type runOutcome struct {
	sum     steps.Summary
	err     error
	failure *steps.Event
	stopped bool
	logPath string // the run log ("" when there is none: logErr says why)
	logErr  error
	// recordErr: the applied spec could not be recorded
	recordErr error
}

func (m runModel) outcome(f runFinishedMsg) runOutcome {
	return runOutcome{sum: f.sum, err: f.err, failure: m.failure, stopped: errors.Is(f.err, steps.ErrStopped),
		logPath: m.logPath, logErr: m.logErr, recordErr: f.recordErr}
}
