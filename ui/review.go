package ui

import (
	"context"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	"charm.land/bubbles/v2/textinput"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

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
	// built: the cluster was built before (a successful apply of it is
	// recorded on this machine, config.SaveApplied): any change to it is
	// confirmed by typing its name.
	built bool
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

// reviewProbedMsg is what the probes said will really change
// (steps.Review); err is why they could not say.
type reviewProbedMsg struct {
	changes []steps.Change
	err     error
}

// reviewModel probes the hosts first (as apply --dry-run does), then shows
// what will really change, its destructive actions and the warnings, and
// saves and runs only on the operator's word: with destructive actions,
// the cluster's name typed.
type reviewModel struct {
	in       reviewInput
	vp       viewport.Model
	showPlan bool
	saving   bool
	saveErr  error
	width    int
	height   int

	probing  bool
	changes  []steps.Change
	probeErr error
	spin     spinner.Model

	confirming bool // the typed confirmation is asked
	confirm    textinput.Model
	wrongName  string // what was typed instead of the cluster's name
}

var (
	keyApply   = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "save and apply"))
	keyConfirm = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "confirm"))
	keyReprobe = key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "probe again"))
	keyPlan    = key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "full plan"))
	keyPgUp    = key.NewBinding(key.WithKeys("pgup", "b"), key.WithHelp("pgup", "page up"))
	keyPgDn    = key.NewBinding(key.WithKeys("pgdown", "f", "space"), key.WithHelp("pgdn", "page down"))
)

func newReviewModel(in reviewInput, width, height int) *reviewModel {
	m := &reviewModel{in: in, vp: viewport.New(), spin: spinner.New(spinner.WithSpinner(spinner.MiniDot))}
	m.confirm = textinput.New()
	m.confirm.Prompt = "> "
	m.confirm.SetWidth(34)
	m.setSize(width, height)
	return m
}

// probe asks the hosts what the plan will really change: a dry run, in a
// command. Enter does nothing until they have answered.
func (m *reviewModel) probe(ctx context.Context, src steps.HostSource) tea.Cmd {
	m.probing, m.probeErr, m.changes = true, nil, nil
	m.vp.SetContent(m.content())
	plan := m.in.plan
	return tea.Batch(m.spin.Tick, func() tea.Msg {
		cs, err := steps.Review(ctx, plan, src)
		return reviewProbedMsg{changes: cs, err: err}
	})
}

// changesBuilt says whether the run changes a cluster that was built
// before: it was, and the probes found something to change (or could not
// say what is done already).
func (m *reviewModel) changesBuilt() bool {
	return m.in.built && (m.probeErr != nil || len(m.changes) > 0)
}

// mustType says whether going on takes the cluster's name, typed: the run
// has destructive actions, or it changes a cluster that was built before.
// A first build with nothing destructive, and a run with nothing to change,
// go on a key.
func (m *reviewModel) mustType() bool {
	return len(m.destructive()) > 0 || m.changesBuilt()
}

// whyType says why the cluster's name is asked for.
func (m *reviewModel) whyType() string {
	name := m.in.spec.Cluster.Name
	d := len(m.destructive())
	switch {
	case m.changesBuilt() && m.probeErr != nil && d > 0:
		return fmt.Sprintf("This changes the running cluster %s, and the probes could not say what is done already: the plan's %d destructive actions below may run.", name, d)
	case m.changesBuilt() && m.probeErr != nil:
		return fmt.Sprintf("This changes the running cluster %s (the probes could not say what is done already).", name)
	case m.changesBuilt() && d > 0:
		return fmt.Sprintf("This changes the running cluster %s, and %d of its actions write over the disks and devices below.", name, d)
	case m.changesBuilt() && len(m.changes) == 1:
		return fmt.Sprintf("This changes the running cluster %s: the action below.", name)
	case m.changesBuilt():
		return fmt.Sprintf("This changes the running cluster %s: the %d actions below.", name, len(m.changes))
	}
	return "They write over the disks and devices below."
}

// destructive lists the destructive actions that will run ("host: what"):
// those the probes found to do, or, when the probes could not answer,
// every destructive action of the plan.
func (m *reviewModel) destructive() []string {
	if m.probeErr != nil {
		return summarize(m.in.plan).destructive
	}
	var out []string
	for _, c := range steps.Destructive(m.changes) {
		out = append(out, c.Host+": "+c.Action)
	}
	return out
}

func (m *reviewModel) setSize(w, h int) {
	m.width, m.height = w, h
	m.vp.SetWidth(w)
	m.vp.SetContent(m.content())
	m.layout()
}

// layout gives the viewport the rows the lines above it leave.
func (m *reviewModel) layout() {
	m.vp.SetHeight(max(m.height-lipgloss.Height(m.head()), 4))
}

func (m reviewModel) content() string {
	if m.showPlan {
		var b strings.Builder
		m.in.plan.Render(&b)
		return wrapPlan(b.String(), m.width)
	}
	w := m.width
	in := m.in
	if m.confirming {
		return m.confirmContent()
	}
	sum := summarize(in.plan)
	var b strings.Builder
	b.WriteString(topology(in.spec, w) + "\n\n")
	switch {
	case m.probing:
		b.WriteString(wrap(m.spin.View()+" "+styleBold.Render("Probing the hosts")+fmt.Sprintf(": which of the plan's %d actions on %d hosts are not done yet (nothing is changed)…", sum.actions, len(sum.hosts)), w) + "\n")
	case m.probeErr != nil:
		b.WriteString(styleFail.Render(wrapIndent("✗ the hosts could not be probed: "+m.probeErr.Error(), w, 2)) + "\n")
		b.WriteString(wrap(styleBold.Render("Plan")+fmt.Sprintf(": %d steps, %d actions on %d hosts; each first probes its host and runs only if it is not done yet. Press r to probe again.", sum.steps, sum.actions, len(sum.hosts)), w) + "\n")
	case len(m.changes) == 0:
		b.WriteString(wrap(styleBold.Render("Nothing to change")+fmt.Sprintf(": the probes say all %d actions of the plan are already so.", sum.actions), w) + "\n")
	default:
		hosts := map[string]bool{}
		for _, c := range m.changes {
			hosts[c.Host] = true
		}
		b.WriteString(wrap(styleBold.Render("Will change")+fmt.Sprintf(": %d of the plan's %d actions, on %d hosts; the probes say the other %d are already so.",
			len(m.changes), sum.actions, len(hosts), sum.actions-len(m.changes)), w) + "\n")
	}
	if in.newPair != nil {
		b.WriteString(wrap(fmt.Sprintf("The new pair r%d (%s + %s) is built, imported on every client as %s, added to %s and %s and GFS2 grow online; what exists is left as it is.",
			in.newPair.Num(), in.newPair.A.Host, in.newPair.B.Host, in.newPair.Alias(), in.spec.Volume.VG, in.spec.LVPath()), w) + "\n")
	}
	b.WriteString("\n")
	if d := m.destructive(); len(d) > 0 && !m.probing {
		note := " (they write over a disk or a device; the run asks for the cluster's name)"
		if m.probeErr != nil {
			note = " (every one of the plan: the probes could not say which will run)"
		}
		b.WriteString(wrap(styleDanger.Render(fmt.Sprintf("Destructive actions: %d", len(d)))+styleDim.Render(note), w) + "\n")
		for _, x := range d {
			b.WriteString(wrapIndent("  "+styleFail.Render("!")+" "+x, w, 4) + "\n")
		}
		if len(in.spec.Wipe.Devices) > 0 {
			b.WriteString(styleDanger.Render(wrap("  Disks WIPED (data erased): "+strings.Join(in.spec.Wipe.Devices, ", "), w)) + "\n")
		}
		b.WriteString("\n")
	}
	if m.changesBuilt() && !m.probing {
		b.WriteString(wrap(styleWarn.Render(fmt.Sprintf("Cluster %s is running", in.spec.Cluster.Name))+
			styleDim.Render(" (built before: its last apply is recorded on this machine); enter asks for its name, typed, before it changes."), w) + "\n\n")
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

// confirmContent lists, under the typed confirmation, what it confirms:
// the destructive actions, and on a cluster built before the other
// changes too.
func (m *reviewModel) confirmContent() string {
	var b strings.Builder
	for _, x := range m.destructive() {
		b.WriteString(wrapIndent("  "+styleFail.Render("!")+" "+x, m.width, 4) + "\n")
	}
	if m.changesBuilt() {
		for _, c := range m.changes {
			if !c.Destructive {
				b.WriteString(wrapIndent("  · "+c.Host+": "+c.Action, m.width, 4) + "\n")
			}
		}
	}
	if len(m.in.spec.Wipe.Devices) > 0 {
		b.WriteString(styleDanger.Render(wrap("  Disks WIPED (data erased): "+strings.Join(m.in.spec.Wipe.Devices, ", "), m.width)) + "\n")
	}
	return b.String()
}

func (m *reviewModel) refresh() {
	m.vp.SetContent(m.content())
	m.layout()
}

func (m *reviewModel) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case reviewProbedMsg:
		m.probing = false
		m.changes, m.probeErr = msg.changes, msg.err
		m.refresh()
		return nil
	case spinner.TickMsg:
		if !m.probing {
			return nil
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		m.vp.SetContent(m.content())
		return cmd
	}
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	if m.confirming {
		return m.updateConfirm(k)
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
	case key.Matches(k, keyReprobe) && m.probeErr != nil:
		return emit(reprobeMsg{})
	case key.Matches(k, keyApply):
		if m.saving || m.probing {
			return nil
		}
		if m.mustType() {
			m.confirming, m.showPlan, m.wrongName = true, false, ""
			m.confirm.SetValue("")
			m.refresh()
			m.vp.GotoTop()
			return m.confirm.Focus()
		}
		return m.apply()
	default:
		scroll(&m.vp, k)
	}
	return nil
}

// reprobeMsg asks the app to probe the hosts again.
type reprobeMsg struct{}

func (m *reviewModel) apply() tea.Cmd {
	m.saving = true
	m.saveErr = nil
	return emit(applyMsg{})
}

// updateConfirm takes the keys of the typed confirmation: the cluster's
// name and enter run; esc goes back to the review.
func (m *reviewModel) updateConfirm(k tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(k, keyCancel):
		m.confirming = false
		m.confirm.Blur()
		m.refresh()
		return nil
	case key.Matches(k, keyConfirm):
		if m.saving {
			return nil
		}
		if typed := strings.TrimSpace(m.confirm.Value()); typed != m.in.spec.Cluster.Name {
			m.wrongName = typed
			m.layout()
			return nil
		}
		m.wrongName = ""
		return m.apply()
	case k.String() == "pgup" || k.String() == "pgdown": // b, f and space are typed

		scroll(&m.vp, k)
		return nil
	}
	var cmd tea.Cmd
	m.confirm, cmd = m.confirm.Update(k)
	return cmd
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
	if m.confirming {
		return []key.Binding{keyConfirm, key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back to the review")), keyCtrlC, keyFormMoves,
			key.NewBinding(key.WithKeys("pgup", "pgdown"), key.WithHelp("pgup/pgdn", "scroll"))}
	}
	if m.probing {
		return []key.Binding{keyPlan, keyUp, keyDown, keyBack, keyCtrlC, keyPgDn, keyPgUp}
	}
	if m.probeErr != nil {
		return []key.Binding{keyApply, keyReprobe, keyPlan, keyUp, keyDown, keyBack, keyCtrlC, keyPgDn, keyPgUp}
	}
	if m.showPlan {
		return []key.Binding{keyUp, keyDown, keyPgDn, keyPgUp, key.NewBinding(key.WithKeys("p", "esc"), key.WithHelp("p/esc", "summary")), keyApply}
	}
	return []key.Binding{keyApply, keyPlan, keyUp, keyDown, keyBack, keyCtrlC, keyPgDn, keyPgUp}
}

// head is what the review shows above its viewport: the title, a save
// error, and the typed confirmation.
func (m *reviewModel) head() string {
	var b strings.Builder
	title := "Review"
	switch {
	case m.confirming && len(m.destructive()) > 0:
		title = fmt.Sprintf("Confirm: %d destructive actions on cluster %s", len(m.destructive()), m.in.spec.Cluster.Name)
	case m.confirming:
		title = fmt.Sprintf("Confirm: changes to the running cluster %s", m.in.spec.Cluster.Name)
	case m.showPlan:
		title = "The full plan (every command, file and probe)"
	}
	b.WriteString(styleTitle.Render(wrap(title, m.width)))
	if !m.vp.AtBottom() {
		b.WriteString(styleDim.Render("  (↓ more below)"))
	}
	b.WriteString("\n")
	if m.saveErr != nil {
		b.WriteString(styleFail.Render(wrapIndent("✗ not saved, nothing ran: "+m.saveErr.Error(), m.width, 2)) + "\n")
	}
	if m.confirming {
		b.WriteString(wrap(m.whyType()+" Type the cluster's name, "+styleBold.Render(m.in.spec.Cluster.Name)+", and press enter to save and run:", m.width) + "\n")
		b.WriteString(m.confirm.View() + "\n")
		if m.wrongName != "" {
			b.WriteString(styleFail.Render(wrapIndent(fmt.Sprintf("✗ %q is not the cluster's name (%s): nothing ran", m.wrongName, m.in.spec.Cluster.Name), m.width, 2)) + "\n")
		}
	}
	return b.String()
}

func (m *reviewModel) view(width, height int) string {
	return m.head() + m.vp.View()
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
