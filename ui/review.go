package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"scalestore/checks"
	"scalestore/config"
	"scalestore/steps"
)

// reviewInput is what the review shows.
type reviewInput struct {
	plan     *steps.Plan
	spec     *config.Spec
	path     string
	results  []checks.Result
	saveNote string
	newPair  *config.Pair
}

// planSummary is the plan in numbers: steps, actions, hosts, and the
// destructive actions one by one.
type planSummary struct {
	steps, actions int
	hosts          []string
	destructive    []string // "host: what"
}

func summarize(p *steps.Plan) planSummary {
	var s planSummary
	seen := map[string]bool{}
	s.steps = len(p.Steps)
	for _, st := range p.Steps {
		s.actions += len(st.Actions)
		for _, a := range st.Actions {
			if !seen[a.Host] {
				seen[a.Host] = true
				s.hosts = append(s.hosts, a.Host)
			}
			if a.Destructive {
				s.destructive = append(s.destructive, a.Host+": "+a.Desc)
			}
		}
	}
	return s
}

// reviewModel shows the plan, its destructive actions and its warnings,
// and saves and runs only on the operator's word.
type reviewModel struct {
	in       reviewInput
	vp       viewport.Model
	showPlan bool
	saving   bool
	saveErr  error
	width    int
	height   int
}

var (
	keyApply = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "save and apply"))
	keyPlan  = key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "full plan"))
	keyPgUp  = key.NewBinding(key.WithKeys("pgup", "b"), key.WithHelp("pgup", "page up"))
	keyPgDn  = key.NewBinding(key.WithKeys("pgdown", "f", "space"), key.WithHelp("pgdn", "page down"))
)

func newReviewModel(in reviewInput, width, height int) *reviewModel {
	m := &reviewModel{in: in, vp: viewport.New()}
	m.setSize(width, height)
	return m
}

func (m *reviewModel) setSize(w, h int) {
	m.width, m.height = w, h
	m.vp.SetWidth(w)
	m.vp.SetHeight(max(h-2, 4))
	m.vp.SetContent(m.content())
}

func (m reviewModel) content() string {
	if m.showPlan {
		var b strings.Builder
		m.in.plan.Render(&b)
		return wrapPlan(b.String(), m.width)
	}
	w := m.width
	in := m.in
	sum := summarize(in.plan)
	var b strings.Builder
	b.WriteString(topology(in.spec, w) + "\n\n")
	b.WriteString(wrap(styleBold.Render("Plan")+fmt.Sprintf(": %d steps, %d actions on %d hosts. ", sum.steps, sum.actions, len(sum.hosts))+
		styleDim.Render("Each action first probes its host and runs only if it is not done yet."), w) + "\n")
	if in.newPair != nil {
		b.WriteString(wrap(fmt.Sprintf("The new pair r%d (%s + %s) is built, imported on every client as %s, added to %s and %s and GFS2 grow online; what exists is left as it is.",
			in.newPair.Num(), in.newPair.A.Host, in.newPair.B.Host, in.newPair.Alias(), in.spec.Volume.VG, in.spec.LVPath()), w) + "\n")
	}
	b.WriteString("\n")
	if len(sum.destructive) > 0 {
		b.WriteString(wrap(styleDanger.Render(fmt.Sprintf("Destructive actions: %d", len(sum.destructive)))+styleDim.Render(" (they write over a disk or a device; each runs only where its probe finds it not done)"), w) + "\n")
		for _, d := range sum.destructive {
			b.WriteString(wrapIndent("  "+styleFail.Render("!")+" "+d, w, 4) + "\n")
		}
		if len(in.spec.Wipe.Devices) > 0 {
			b.WriteString(styleDanger.Render(wrap("  Disks WIPED (data erased): "+strings.Join(in.spec.Wipe.Devices, ", "), w)) + "\n")
		}
		b.WriteString("\n")
	}
	var warns []string
	warns = append(warns, in.plan.Warnings...)
	for _, r := range in.results {
		if r.Status == checks.Warn && r.Check != "fencing" {
			host := r.Host
			if host == "" {
				host = "cluster"
			}
			warns = append(warns, host+" "+r.Check+": "+r.Msg)
		}
	}
	if len(warns) > 0 {
		b.WriteString(styleWarn.Render(fmt.Sprintf("Warnings: %d", len(warns))) + "\n")
		for _, wn := range warns {
			b.WriteString(wrapIndent("  "+styleWarn.Render("!")+" "+wn, w, 4) + "\n")
		}
		b.WriteString("\n")
	}
	b.WriteString(wrap(in.saveNote, w) + "\n")
	b.WriteString(styleDim.Render(wrap("Ctrl-C while it runs lets the running commands finish and stops; running apply again resumes.", w)) + "\n")
	return b.String()
}

func (m *reviewModel) update(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	switch {
	case key.Matches(k, keyBack):
		if m.showPlan {
			m.showPlan = false
			m.vp.SetContent(m.content())
			m.vp.GotoTop()
			return nil
		}
		return emit(backMsg{})
	case key.Matches(k, keyPlan):
		m.showPlan = !m.showPlan
		m.vp.SetContent(m.content())
		m.vp.GotoTop()
	case key.Matches(k, keyApply):
		if m.saving {
			return nil
		}
		m.saving = true
		m.saveErr = nil
		return emit(applyMsg{})
	default:
		scroll(&m.vp, k)
	}
	return nil
}

// scroll moves a screen's viewport for the up/down/page keys, and says
// whether k was one of them.
func scroll(vp *viewport.Model, k tea.KeyPressMsg) bool {
	switch {
	case key.Matches(k, keyUp):
		vp.ScrollUp(1)
	case key.Matches(k, keyDown):
		vp.ScrollDown(1)
	case key.Matches(k, keyPgUp):
		vp.PageUp()
	case key.Matches(k, keyPgDn):
		vp.PageDown()
	default:
		return false
	}
	return true
}

func (m *reviewModel) help() []key.Binding {
	if m.showPlan {
		return []key.Binding{keyUp, keyDown, keyPgDn, keyPgUp, key.NewBinding(key.WithKeys("p", "esc"), key.WithHelp("p/esc", "summary")), keyApply}
	}
	return []key.Binding{keyApply, keyPlan, keyUp, keyDown, keyBack, keyCtrlC, keyPgDn, keyPgUp}
}

func (m *reviewModel) view(width, height int) string {
	var b strings.Builder
	title := "Review"
	if m.showPlan {
		title = "The full plan (every command, file and probe)"
	}
	b.WriteString(styleTitle.Render(title))
	if !m.vp.AtBottom() {
		b.WriteString(styleDim.Render("  (↓ more below)"))
	}
	b.WriteString("\n")
	if m.saveErr != nil {
		b.WriteString(styleFail.Render(wrapIndent("✗ not saved, nothing ran: "+m.saveErr.Error(), m.width, 2)) + "\n")
	}
	b.WriteString(m.vp.View())
	return b.String()
}

// wrapPlan wraps the plan's text to the screen, each continuation line
// indented under its own line's text.
func wrapPlan(text string, width int) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		indent := len(l) - len(strings.TrimLeft(l, " "))
		if strings.HasPrefix(strings.TrimLeft(l, " "), "- ") || strings.HasPrefix(strings.TrimLeft(l, " "), "$ ") || strings.HasPrefix(strings.TrimLeft(l, " "), "| ") {
			indent += 2
		}
		lines[i] = wrapIndent(l, width, min(indent+2, width/2))
	}
	return strings.Join(lines, "\n")
}
