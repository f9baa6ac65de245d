package ui

import (
	"context"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"

	"scalestore/checks"
	"scalestore/config"
	"scalestore/steps"
)

// preflightResultMsg is what preflight learnt: the facts of every host of
// the spec and the checks' verdicts.
type preflightResultMsg preflightResult

// preflightModel runs discovery for the spec and the preflight checks; a
// failure blocks the way to the review.
type preflightModel struct {
	spec    *config.Spec
	adding  bool
	running bool
	results []checks.Result
	spin    spinner.Model
	width   int
	note    string
}

var keyRecheck = key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "check again"))

func newPreflightModel(s *config.Spec, adding bool, width int) preflightModel {
	return preflightModel{spec: s, adding: adding, width: width, spin: spinner.New(spinner.WithSpinner(spinner.MiniDot))}
}

// start discovers the spec's hosts (steps.Discover) and runs
// checks.Preflight; when a pair is being added it also reads the LV's
// size, to show the growth at the end.
func (m *preflightModel) start(ctx context.Context, src steps.HostSource, s *config.Spec) tea.Cmd {
	m.running = true
	m.results = nil
	m.note = ""
	adding := m.adding
	return tea.Batch(m.spin.Tick, func() tea.Msg {
		facts := steps.Discover(ctx, s, src, 0)
		r := preflightResultMsg{facts: facts, results: checks.Preflight(s, facts)}
		if adding {
			r.lvBytes = lvSize(s, steps.ReadState(ctx, s, src))
		}
		return r
	})
}

// lvSize is the LV's size as the first client that has it sees it.
func lvSize(s *config.Spec, cs *steps.ClusterState) int64 {
	if cs == nil {
		return 0
	}
	for _, c := range s.Clients {
		if st := cs.Hosts[c.Host]; st != nil {
			for _, lv := range st.LVs {
				if lv.VG == s.Volume.VG && lv.Name == s.Volume.LV {
					return lv.Bytes()
				}
			}
		}
	}
	return 0
}

func (m preflightModel) Update(msg tea.Msg) (preflightModel, tea.Cmd) {
	switch msg := msg.(type) {
	case preflightResultMsg:
		m.running = false
		m.results = msg.results
	case spinner.TickMsg:
		if !m.running {
			return m, nil
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return m, cmd
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, keyBack):
			return m, emit(backMsg{})
		case key.Matches(msg, keyRecheck) && !m.running:
			return m, emit(recheckMsg{})
		case key.Matches(msg, keyOnward) && !m.running:
			if checks.Failed(m.results) {
				m.note = "A failed check blocks the way: nothing can run until it passes. Fix it on the host (or go back and change the choice), then press r."
				return m, nil
			}
			return m, emit(preflightDoneMsg{})
		}
	}
	return m, nil
}

// recheckMsg asks the app to run preflight again.
type recheckMsg struct{}

func (m preflightModel) blocked() bool { return !m.running && checks.Failed(m.results) }

func (m preflightModel) help() []key.Binding {
	var ks []key.Binding
	if !m.running && !m.blocked() {
		ks = append(ks, keyOnward)
	}
	if !m.running {
		ks = append(ks, keyRecheck)
	}
	return append(ks, keyBack, keyCtrlC)
}

func (m preflightModel) View(width, height int) string {
	var b strings.Builder
	b.WriteString(styleTitle.Render("Preflight checks") + "\n")
	b.WriteString(styleDim.Render(truncate("Every host is read again and checked before anything changes.", width)) + "\n\n")
	if m.running {
		b.WriteString(m.spin.View() + " reading the hosts and checking…\n")
		return b.String()
	}
	b.WriteString(renderResults(m.results, width, true))
	nf, nw := 0, 0
	for _, r := range m.results {
		switch r.Status {
		case checks.Fail:
			nf++
		case checks.Warn:
			nw++
		}
	}
	b.WriteString("\n")
	switch {
	case nf > 0:
		b.WriteString(styleFailBox.Render(styleDanger.Render(fmt.Sprintf("✗ %d check(s) failed: this blocks the review.", nf))+"\n"+
			wrap("Nothing has been changed. Fix what the hints say, then press r to check again.", min(width-4, 76))) + "\n")
	case nw > 0:
		b.WriteString(styleWarn.Render(fmt.Sprintf("! %d warning(s): read them before you go on.", nw)) + " Press enter for the review.\n")
	default:
		b.WriteString(stylePass.Render("✓ every check passed.") + " Press enter for the review.\n")
	}
	if m.note != "" {
		b.WriteString(styleWarn.Render(wrap(m.note, width)) + "\n")
	}
	return b.String()
}

// renderResults lists check results: failures and warnings each with their
// hint, and (when compact) the passes of a host folded into one line.
func renderResults(rs []checks.Result, width int, compact bool) string {
	var b strings.Builder
	var order []string
	seen := map[string]bool{}
	passes := map[string][]string{}
	shown := map[string][]checks.Result{}
	for _, r := range rs {
		h := r.Host
		if h == "" {
			h = "cluster"
		}
		if !seen[h] {
			seen[h] = true
			order = append(order, h)
		}
		if r.Status == checks.Pass && compact {
			passes[h] = append(passes[h], r.Check)
			continue
		}
		shown[h] = append(shown[h], r)
	}
	nameW := 7
	for _, h := range order {
		nameW = max(nameW, len(h))
	}
	for _, h := range order {
		if ps := passes[h]; len(ps) > 0 {
			b.WriteString(truncate(fmt.Sprintf("  %s  %-*s  %s", stylePass.Render("✓ pass"), nameW, h, styleDim.Render(strings.Join(ps, ", "))), width) + "\n")
		}
		for _, r := range shown[h] {
			var word string
			switch r.Status {
			case checks.Pass:
				word = stylePass.Render("✓ pass")
			case checks.Warn:
				word = styleWarn.Render("! warn")
			default:
				word = styleFail.Render("✗ FAIL")
			}
			line := fmt.Sprintf("  %s  %-*s  %s: %s", word, nameW, h, r.Check, r.Msg)
			b.WriteString(wrapIndent(line, width, 12+nameW) + "\n")
			if r.Hint != "" && r.Status != checks.Pass {
				b.WriteString(wrapIndent(fmt.Sprintf("%*s→ %s", 12+nameW, "", r.Hint), width, 14+nameW) + "\n")
			}
		}
	}
	return b.String()
}

// wrapIndent wraps a line to width, indenting the continuation lines.
func wrapIndent(s string, width, indent int) string {
	lines := strings.Split(wrap(s, width), "\n")
	if len(lines) <= 1 {
		return s
	}
	rest := strings.Join(lines[1:], " ")
	out := lines[0]
	for _, l := range strings.Split(wrap(rest, max(width-indent, 20)), "\n") {
		out += "\n" + strings.Repeat(" ", indent) + l
	}
	return out
}
