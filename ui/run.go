package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/progress"
	"charm.land/bubbles/v2/spinner"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"scalestore/steps"
)

// The engine's events, one message per event, named for what happened.
type (
	runStartedMsg   struct{ ev steps.Event }
	runWarningMsg   struct{ ev steps.Event }
	stepStartedMsg  struct{ ev steps.Event }
	actionDoneMsg   struct{ ev steps.Event }
	logLineMsg      struct{ ev steps.Event }
	syncProgressMsg struct{ ev steps.Event }
	actionFailedMsg struct{ ev steps.Event }
	stepDoneMsg     struct{ ev steps.Event }
	runDoneMsg      struct{ ev steps.Event }
	// runFinishedMsg is Engine.Run's return: the last message of a run.
	runFinishedMsg struct {
		sum steps.Summary
		err error
	}
)

// eventMsg turns an engine event into its message.
func eventMsg(ev steps.Event) tea.Msg {
	switch ev.Kind {
	case steps.RunStarted:
		return runStartedMsg{ev}
	case steps.Warning:
		return runWarningMsg{ev}
	case steps.StepStarted:
		return stepStartedMsg{ev}
	case steps.ActionDone:
		return actionDoneMsg{ev}
	case steps.LogLine:
		return logLineMsg{ev}
	case steps.ProgressMsg:
		return syncProgressMsg{ev}
	case steps.Failed:
		return actionFailedMsg{ev}
	case steps.StepDone:
		return stepDoneMsg{ev}
	case steps.RunDone:
		return runDoneMsg{ev}
	}
	return nil
}

// waitEvent delivers the run's next message.
func waitEvent(ctx context.Context, ch <-chan tea.Msg) tea.Cmd {
	return func() tea.Msg {
		select {
		case m := <-ch:
			return m
		case <-ctx.Done():
			return nil
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

// runModel is the engine at work: the steps with their state, the DRBD
// sync's progress, the last lines of every host, and the failure if any.
type runModel struct {
	plan     *steps.Plan
	steps    []stepRow
	index    map[string]int
	hosts    []string
	logs     map[string][]string
	sync     map[string]*steps.Progress
	syncKeys []string
	warnings []string
	failure  *steps.Event
	bar      progress.Model
	spin     spinner.Model
	vp       viewport.Model
	follow   bool

	ctx    context.Context
	events chan tea.Msg
	stop   chan struct{}
	cancel context.CancelFunc

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

func newRunModel(p *steps.Plan, width, height int) runModel {
	m := runModel{
		plan: p, index: map[string]int{}, logs: map[string][]string{}, sync: map[string]*steps.Progress{},
		bar:    progress.New(progress.WithDefaultBlend(), progress.WithoutPercentage(), progress.WithWidth(30)),
		spin:   spinner.New(spinner.WithSpinner(spinner.MiniDot)),
		vp:     viewport.New(),
		follow: true,
		stop:   make(chan struct{}),
		events: make(chan tea.Msg, 1024),
	}
	for i, st := range p.Steps {
		m.steps = append(m.steps, stepRow{id: st.ID, title: st.Title, hosts: st.Hosts()})
		m.index[st.ID] = i
	}
	m.setSize(width, height)
	return m
}

// start runs the engine in the background; its events come back one
// message at a time through waitEvent.
func (m *runModel) start(ctx context.Context, src steps.HostSource) tea.Cmd {
	runCtx, cancel := context.WithCancel(ctx)
	m.ctx, m.cancel = ctx, cancel
	ch, stop, plan := m.events, m.stop, m.plan
	launch := func() tea.Msg {
		go func() {
			defer cancel()
			send := func(msg tea.Msg) {
				select {
				case ch <- msg:
				case <-ctx.Done(): // the wizard is gone
				}
			}
			eng := &steps.Engine{Hosts: src, Stop: stop, Emit: func(ev steps.Event) {
				if msg := eventMsg(ev); msg != nil {
					send(msg)
				}
			}}
			sum, err := eng.Run(runCtx, plan)
			send(runFinishedMsg{sum: sum, err: err})
		}()
		return nil
	}
	return tea.Batch(launch, waitEvent(ctx, ch), m.spin.Tick)
}

func (m *runModel) setSize(w, h int) {
	m.width, m.height = w, h
	m.bar.SetWidth(min(max(w-54, 10), 40))
	m.vp.SetWidth(w)
	m.layout()
}

// layout gives the log viewport the rows the rest leaves.
func (m *runModel) layout() {
	used := 2 + len(m.stepWindow()) + 1 + len(m.syncKeys)
	if len(m.syncKeys) > 0 {
		used++
	}
	if m.failure != nil {
		used += 6
	}
	if len(m.warnings) > 0 {
		used++
	}
	m.vp.SetHeight(max(m.height-used-1, 3))
	m.refreshLogs()
}

func (m *runModel) refreshLogs() {
	var b strings.Builder
	show := logShow
	if n := len(m.hosts); n > 0 {
		show = max(logShow, m.vp.Height()/n-1)
	}
	for _, h := range m.hosts {
		lines := m.logs[h]
		b.WriteString(styleBold.Render(h) + styleDim.Render(fmt.Sprintf("  (%d lines)", len(lines))) + "\n")
		for _, l := range lines[max(len(lines)-show, 0):] {
			b.WriteString("  " + truncate(l, m.width-2) + "\n")
		}
	}
	m.vp.SetContent(strings.TrimRight(b.String(), "\n"))
	if m.follow {
		m.vp.GotoBottom()
	}
}

func (m *runModel) logTo(host, line string) {
	if host == "" {
		host = "scalestore"
	}
	if _, ok := m.logs[host]; !ok {
		m.hosts = append(m.hosts, host)
	}
	l := append(m.logs[host], line)
	if len(l) > logKeep {
		l = l[len(l)-logKeep:]
	}
	m.logs[host] = l
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

func (m runModel) Update(msg tea.Msg) (runModel, tea.Cmd) {
	next := waitEvent(m.ctx, m.events)
	if m.ctx == nil {
		next = nil // not started (tests feed the events)
	}
	switch msg := msg.(type) {
	case runStartedMsg:
		return m, next
	case runWarningMsg:
		m.warnings = append(m.warnings, msg.ev.Text)
		m.layout()
		return m, next
	case stepStartedMsg:
		r := m.stepOf(msg.ev)
		r.state = stepRunning
		m.layout()
		return m, next
	case actionDoneMsg:
		if msg.ev.Outcome == steps.Changed {
			m.logTo(msg.ev.Host, stylePass.Render("✓ ")+msg.ev.Action)
			m.refreshLogs()
		}
		return m, next
	case logLineMsg:
		line := msg.ev.Text
		if msg.ev.Stream == "stderr" {
			line = styleWarn.Render(line)
		}
		m.logTo(msg.ev.Host, line)
		m.refreshLogs()
		return m, next
	case syncProgressMsg:
		p := msg.ev.Progress
		if p != nil {
			if _, ok := m.sync[p.Resource]; !ok {
				m.syncKeys = append(m.syncKeys, p.Resource)
			}
			pc := *p
			m.sync[p.Resource] = &pc
			m.layout()
		}
		return m, next
	case actionFailedMsg:
		if m.failure == nil {
			ev := msg.ev
			m.failure = &ev
		}
		r := m.stepOf(msg.ev)
		r.state = stepFailed
		m.logTo(msg.ev.Host, styleFail.Render("✗ "+msg.ev.Action+": "+msg.ev.Error))
		m.layout()
		return m, next
	case stepDoneMsg:
		r := m.stepOf(msg.ev)
		if r.state != stepFailed {
			r.state = stepDone
		}
		r.changed, r.unchanged, r.elapsed = msg.ev.Changed, msg.ev.Unchanged, msg.ev.Elapsed
		m.layout()
		return m, next
	case runDoneMsg:
		return m, next
	case runFinishedMsg:
		m.finished = true
		m.result = msg
		m.confirmStop = false
		return m, emit(runEndedMsg{msg})
	case spinner.TickMsg:
		if m.finished {
			return m, nil
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return m, cmd
	case tea.KeyPressMsg:
		return m.key(msg)
	}
	return m, nil
}

// runEndedMsg tells the app the engine returned.
type runEndedMsg struct{ runFinishedMsg }

func (m runModel) key(k tea.KeyPressMsg) (runModel, tea.Cmd) {
	if m.finished {
		return m, nil
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
		return m, nil
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
		return m, nil
	}
	if scroll(&m.vp, k) {
		m.follow = m.vp.AtBottom()
	}
	return m, nil
}

func (m runModel) help() []key.Binding {
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
	start := max(min(m.current()-show/2, n-show), 0)
	var out []int
	for i := start; i < start+show; i++ {
		out = append(out, i)
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

func (m runModel) View() string {
	var b strings.Builder
	d, n := m.done()
	title := fmt.Sprintf("Applying: step %d of %d", min(d+1, n), n)
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
		b.WriteString(styleDim.Render("  (the mirror copies every block once; the disks stay usable meanwhile)") + "\n")
	}
	if len(m.warnings) > 0 {
		b.WriteString(truncate(styleWarn.Render(fmt.Sprintf("  ! %d warning(s): see the review; fencing and dual primary risks apply", len(m.warnings))), m.width) + "\n")
	}
	if m.failure != nil {
		b.WriteString(failureBox(m.failure, m.width, 3))
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
// and the last lines of its stderr.
func failureBox(ev *steps.Event, width, stderrLines int) string {
	w := min(width-4, 96)
	var b strings.Builder
	b.WriteString(styleDanger.Render(truncate(fmt.Sprintf("✗ %s failed on %s: %s", ev.Step, ev.Host, ev.Action), w)) + "\n")
	if ev.Cmd != "" {
		b.WriteString(clipLines(wrapIndent("command: "+ev.Cmd, w, 9), 3) + "\n")
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
	if stderrLines > 0 && len(tail) > stderrLines {
		tail = tail[len(tail)-stderrLines:]
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
}

func (m runModel) outcome(f runFinishedMsg) runOutcome {
	return runOutcome{sum: f.sum, err: f.err, failure: m.failure, stopped: errors.Is(f.err, steps.ErrStopped)}
}
