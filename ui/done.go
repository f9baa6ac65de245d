package ui

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"

	"scalestore/checks"
	"scalestore/config"
	"scalestore/steps"
)

// lvGrowth is the LV's size before and after a pair was added.
type lvGrowth struct{ before, after int64 }

// postflightMsg carries the postflight: every layer's health, the data
// check, and the LV's size now.
type postflightMsg struct {
	results []checks.Result
	lvBytes int64
}

// doneModel is the end: the postflight and the summary of a finished run,
// or what failed and how to go on.
type doneModel struct {
	spec     *config.Spec
	out      runOutcome
	grow     *lvGrowth
	path     string
	post     []checks.Result
	checking bool
	spin     spinner.Model
	width    int
}

var keyAgain = key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "apply again"))

func newDoneModel(s *config.Spec, out runOutcome, grow *lvGrowth, path string, width int) *doneModel {
	return &doneModel{spec: s, out: out, grow: grow, path: path, width: width, spin: spinner.New(spinner.WithSpinner(spinner.MiniDot))}
}

// start runs the postflight after a run that finished (checks.Postflight).
func (m *doneModel) start(ctx context.Context, src steps.HostSource, s *config.Spec) tea.Cmd {
	if m.out.err != nil {
		return nil
	}
	m.checking = true
	return tea.Batch(m.spin.Tick, func() tea.Msg {
		rs, cs := checks.Postflight(ctx, s, src, nil)
		return postflightMsg{results: rs, lvBytes: lvSize(s, cs)}
	})
}

func (m *doneModel) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case postflightMsg:
		m.checking = false
		m.post = msg.results
		if m.grow != nil {
			m.grow.after = msg.lvBytes
		}
	case spinner.TickMsg:
		if !m.checking {
			return nil
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return cmd
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, keyQuit):
			return emit(quitMsg{})
		case key.Matches(msg, keyAgain) && !m.checking:
			return emit(againMsg{})
		}
	}
	return nil
}

func (m *doneModel) setSize(w, h int) { m.width = w }

func (m *doneModel) help() []key.Binding {
	if m.checking {
		return []key.Binding{keyQuit}
	}
	return []key.Binding{keyAgain, keyQuit}
}

func (m *doneModel) view(width, height int) string {
	var b strings.Builder
	o := m.out
	switch {
	case o.err == nil && m.checking:
		b.WriteString(styleTitle.Render("Applied: checking the cluster") + "\n")
	case o.err == nil && checks.Failed(m.post):
		b.WriteString(styleWarn.Render("Applied, but the cluster is not healthy yet") + "\n")
		b.WriteString(wrap("The failed checks are below. Fix the cause and press a to apply again.", width) + "\n")
	case o.err == nil:
		b.WriteString(styleTitle.Render("Done: cluster "+m.spec.Cluster.Name+" is built and healthy") + "\n")
		b.WriteString(wrap(fmt.Sprintf("GFS2 is mounted at %s on %s. `scalestore status -f %s` checks it later.",
			m.spec.Volume.MountPoint, strings.Join(m.spec.ClientHosts(), ", "), m.path), width) + "\n")
	case o.stopped:
		b.WriteString(styleTitle.Render("Stopped on request") + "\n")
	case lockRefused(o.err):
		b.WriteString(styleWarn.Render("Refused: another run is changing cluster "+m.spec.Cluster.Name) + "\n\n")
		b.WriteString(verdictFail(wrap(o.err.Error(), width-2)) + "\n\n")
		b.WriteString(wrap("Nothing was changed. Wait for the other run to end (or stop it), then press a to apply.", width) + "\n")
		return b.String()
	default:
		b.WriteString(styleDanger.Render("The apply failed") + "\n")
	}
	if m.grow != nil && m.grow.after > 0 {
		line := fmt.Sprintf("%s grew online: %s → %s", m.spec.LVPath(), sizeText(m.grow.before), sizeText(m.grow.after))
		if m.grow.before == 0 {
			line = fmt.Sprintf("%s is now %s", m.spec.LVPath(), sizeText(m.grow.after))
		}
		b.WriteString(stylePass.Render("✓ ") + styleBold.Render(line) + styleDim.Render(" (GFS2 grown with it)") + "\n")
	}
	b.WriteString("\n")
	b.WriteString(fmt.Sprintf("%d changed, %d unchanged in %s", o.sum.Changed, o.sum.Unchanged, o.sum.Elapsed.Round(100*time.Millisecond)))
	if o.sum.Changed == 0 && o.err == nil {
		b.WriteString(styleDim.Render(" (everything was already so)"))
	}
	b.WriteString("\n")
	if slow := slowest(o.sum.StepTimes, 3); len(slow) > 0 && o.sum.Elapsed > time.Second {
		for _, st := range slow {
			b.WriteString(styleDim.Render(wrapIndent(fmt.Sprintf("  %7s  %s (%d changed)", st.Elapsed.Round(100*time.Millisecond), st.Title, st.Changed), width, 11)) + "\n")
		}
	}
	switch {
	case o.logPath != "":
		b.WriteString(styleDim.Render(wrap("run log: "+o.logPath, width)) + "\n")
	case o.logErr != nil:
		b.WriteString(styleWarn.Render(wrap("no run log: "+o.logErr.Error(), width)) + "\n")
	}
	if o.recordErr != nil {
		b.WriteString(styleWarn.Render(wrap("not recorded as the last applied spec (the welcome screen's \"changed since\" will be off): "+o.recordErr.Error(), width)) + "\n")
	}
	b.WriteString("\n")
	if o.err != nil {
		if o.failure != nil {
			b.WriteString(failureBox(o.failure, width, 0)) // all of it: the body scrolls
		} else if !o.stopped {
			b.WriteString(verdictFail(wrap(o.err.Error(), width-2)) + "\n")
		}
		b.WriteString("\n" + wrap("Nothing is lost: every step probes before it acts, so running apply again resumes where this run stopped and skips what is done. "+
			"Fix the cause, then press a to apply again (or run: scalestore apply -f "+m.path+").", width) + "\n")
		return b.String()
	}
	if m.checking {
		b.WriteString(m.spin.View() + " postflight: reading every layer and writing test data through GFS2…\n")
		return b.String()
	}
	b.WriteString(styleBold.Render("Postflight") + "\n")
	b.WriteString(renderResults(m.post, width, true))
	return b.String()
}

// lockRefused reports a run refused by the cluster's lock (this machine's
// or a host's): it changed nothing.
func lockRefused(err error) bool {
	var le *config.LockedError
	return errors.As(err, &le) || errors.Is(err, steps.ErrHostLocked)
}

// slowest returns the n longest steps.
func slowest(ts []steps.StepTime, n int) []steps.StepTime {
	c := append([]steps.StepTime(nil), ts...)
	sort.SliceStable(c, func(i, j int) bool { return c[i].Elapsed > c[j].Elapsed })
	if len(c) > n {
		c = c[:n]
	}
	return c
}
