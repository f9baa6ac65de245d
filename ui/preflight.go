package ui

import (
	"context"

	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

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
	vp      viewport.Model
	width   int
	height  int
	note    string
	// discover reads the hosts (steps.Discover; nil: it)
	discover discoverFunc
}

var keyRecheck = key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "check again"))

func newPreflightModel(s *config.Spec, adding bool, width int) *preflightModel {
	return &preflightModel{spec: s, adding: adding, width: width, vp: viewport.New(), spin: spinner.New(spinner.WithSpinner(spinner.MiniDot))}
}

func (m *preflightModel) setSize(w, h int) {
	m.width, m.height = w, h
	m.vp.SetWidth(w)
	m.vp.SetHeight(max(h-lipglossHeight(m.verdict(w))-3, 3))
	m.vp.SetContent(renderResults(m.results, w, true))
}

// start discovers the spec's hosts (steps.Discover) and runs
// checks.Preflight; when a pair is being added it also reads the LV's
// size, to show the growth at the end.
func (m *preflightModel) start(ctx context.Context, src steps.HostSource, s *config.Spec) tea.Cmd {
	m.running = true
	m.results = nil
	m.note = ""
	adding := m.adding
	discover := m.discover
	if discover == nil {
		discover = steps.Discover
	}
	return tea.Batch(m.spin.Tick, func() tea.Msg {
		facts := discover(ctx, s, src, 0)
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

func (m *preflightModel) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case preflightResultMsg:
		m.running = false
		m.results = msg.results
		m.setSize(m.width, m.height)
	case spinner.TickMsg:
		if !m.running {
			return nil
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return cmd
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, keyBack):
			return emit(backMsg{})
		case key.Matches(msg, keyRecheck) && !m.running:
			return emit(recheckMsg{})
		case scroll(&m.vp, msg):
		case key.Matches(msg, keyOnward) && !m.running:
			if checks.Failed(m.results) {
				m.note = "A failed check blocks the way: nothing can run until it passes. Fix it on the host (or go back and change the choice), then press r."
				return nil
			}
			return emit(preflightDoneMsg{})
		}
	}
	return nil
}

// recheckMsg asks the app to run preflight again.
type recheckMsg struct{}

func (m preflightModel) blocked() bool { return !m.running && checks.Failed(m.results) }

func (m *preflightModel) help() []key.Binding {
	var ks []key.Binding
	switch {
	case !m.running && !m.blocked():
		ks = append(ks, keyOnward)
	case m.blocked():
		ks = append(ks, key.NewBinding(key.WithKeys("enter"))) // says why not
	}
	if !m.running {
		ks = append(ks, keyRecheck)
	}
	if !m.vp.AtTop() || !m.vp.AtBottom() {
		ks = append(ks, keyUp, keyDown)
	}
	ks = append(ks, keyBack, keyCtrlC)
	if !m.vp.AtTop() || !m.vp.AtBottom() {
		ks = append(ks, keyPgDn, keyPgUp)
	}
	return ks
}

// verdict is the line (or box) that says whether the way is open.
func (m preflightModel) verdict(width int) string {
	nf, nw := 0, 0
	for _, r := range m.results {
		switch r.Status {
		case checks.Fail, checks.Unknown:
			nf++
		case checks.Warn:
			nw++
		}
	}
	switch {
	case nf > 0:
		return styleFailBox.Render(styleDanger.Render(fmt.Sprintf("✗ %d check(s) failed: this blocks the review.", nf)) + "\n" +
			wrap("Nothing has been changed. Fix what the hints say, then press r to check again.", min(width-4, 76)))
	case nw > 0:
		return styleWarn.Render(fmt.Sprintf("! %d warning(s): read them before you go on.", nw)) + " Press enter for the review."
	}
	return stylePass.Render("✓ every check passed.") + " Press enter for the review."
}

func (m *preflightModel) view(width, height int) string {
	var b strings.Builder
	b.WriteString(styleTitle.Render("Preflight checks") + "\n")
	if m.running {
		b.WriteString(styleDim.Render(wrap("Every host is read again and checked before anything changes.", width)) + "\n\n")
		b.WriteString(m.spin.View() + " reading the hosts and checking…\n")
		return b.String()
	}
	b.WriteString(m.verdict(width) + "\n")
	if m.note != "" {
		b.WriteString(styleWarn.Render(wrap(m.note, width)) + "\n")
	}
	b.WriteString("\n" + m.vp.View())
	return b.String()
}

// renderResults lists check results, worst first: failures, then
// warnings, each with its hint (a hint said once is not repeated), then
// (when compact) the passes of each host folded into one line.
func renderResults(rs []checks.Result, width int, compact bool) string {
	var b strings.Builder
	nameW := 7
	for _, r := range rs {
		nameW = max(nameW, len(r.Host))
	}
	host := func(r checks.Result) string {
		if r.Host == "" {
			return "cluster"
		}
		return r.Host
	}
	hints := map[string]bool{}
	for _, st := range []checks.Status{checks.Fail, checks.Unknown, checks.Warn} {
		for _, r := range rs {
			if r.Status != st {
				continue
			}
			word := styleFail.Render("✗ FAIL")
			switch st {
			case checks.Warn:
				word = styleWarn.Render("! warn")
			case checks.Unknown:
				word = styleWarn.Render("? unkn")
			}
			line := fmt.Sprintf("  %s  %-*s  %s: %s", word, nameW, host(r), r.Check, r.Msg)
			b.WriteString(wrapIndent(line, width, 12+nameW) + "\n")
			if r.Hint != "" && !hints[r.Hint] {
				hints[r.Hint] = true
				b.WriteString(wrapIndent(fmt.Sprintf("%*s→ %s", 12+nameW, "", r.Hint), width, 14+nameW) + "\n")
			}
		}
	}
	var order []string
	passes := map[string][]string{}
	for _, r := range rs {
		if r.Status != checks.Pass {
			continue
		}
		if !compact {
			b.WriteString(wrapIndent(fmt.Sprintf("  %s  %-*s  %s: %s", stylePass.Render("✓ pass"), nameW, host(r), r.Check, r.Msg), width, 12+nameW) + "\n")
			continue
		}
		if _, ok := passes[host(r)]; !ok {
			order = append(order, host(r))
		}
		passes[host(r)] = append(passes[host(r)], r.Check)
	}
	for _, h := range order {
		b.WriteString(wrapIndent(fmt.Sprintf("  %s  %-*s  %s", stylePass.Render("✓ pass"), nameW, h, styleDim.Render(strings.Join(passes[h], ", "))), width, 12+nameW) + "\n")
	}
	return b.String()
}

// wrapIndent wraps a line to width, indenting the continuation lines; a
// word longer than a line is broken where the line ends.
func wrapIndent(s string, width, indent int) string {
	lines := strings.Split(wrap(s, width), "\n")
	if len(lines) <= 1 {
		return s
	}
	out := strings.TrimRight(lines[0], " ")
	n, w := ansi.StringWidth(out), ansi.StringWidth(s)
	after := ansi.Cut(ansi.Strip(s), n, w)
	n += len(after) - len(strings.TrimLeft(after, " ")) // the blanks where it breaks
	rest := ansi.Cut(s, n, w)
	for _, l := range strings.Split(wrap(rest, max(width-indent, 20)), "\n") {
		out += "\n" + strings.Repeat(" ", indent) + strings.TrimRight(l, " ")
	}
	return out
}

func lipglossHeight(s string) int { return lipgloss.Height(s) }
