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

// welcomeModel is the first screen: start a new cluster, or pick what to do
// with the existing spec.
type welcomeModel struct {
	path    string
	spec    *config.Spec
	loadErr error
	choices []choice
	cursor  int

	// what changed since the last apply recorded on this machine
	applied    bool // one is recorded
	appliedErr error
	changes    []string

	statusRunning bool
	status        []checks.Result
	spin          spinner.Model
}

type choice struct {
	key   string
	label string
	desc  string
	msg   tea.Msg
}

// statusMsg carries the cluster's health read for the welcome screen.
type statusMsg struct{ results []checks.Result }

// statusWantedMsg asks the app to read the health of spec (readStatus).
type statusWantedMsg struct{ spec *config.Spec }

var (
	keyUp     = key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up"))
	keyDown   = key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down"))
	keyEnter  = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "choose"))
	keyQuit   = key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit"))
	keyBack   = key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back a screen"))
	keyCtrlC  = key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit"))
	keyRetry  = key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "retry"))
	keyOnward = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "continue"))
)

func newWelcome(path string, s *config.Spec, loadErr error) *welcomeModel {
	m := &welcomeModel{path: path, spec: s, loadErr: loadErr, spin: spinner.New(spinner.WithSpinner(spinner.MiniDot))}
	switch {
	case loadErr != nil:
		m.choices = []choice{{"q", "Quit", "fix the spec, then start again", quitMsg{}}}
	case s != nil:
		m.choices = []choice{
			{"a", "Add a storage pair", "two more servers; the filesystem grows online", startAddPairMsg{}},
			{"c", "Add a client", "one more host mounts the filesystem", startAddClientMsg{}},
			{"r", "Apply again", "finish or repair; what is done stays as it is", startApplyMsg{}},
			{"s", "Status", "read every layer on every host (read-only)", nil},
			{"q", "Quit", "", quitMsg{}},
		}
	default:
		m.choices = []choice{
			{"n", "Create a new cluster", "hosts, disks, pairs and clients, step by step", startNewMsg{}},
			{"q", "Quit", "", quitMsg{}},
		}
	}
	return m
}

// changesView says what changed in the spec since the last apply.
func (m *welcomeModel) changesView(width int) string {
	switch {
	case m.appliedErr != nil:
		return styleWarn.Render(wrap("The last applied spec cannot be read: "+m.appliedErr.Error(), width)) + "\n\n"
	case !m.applied:
		return styleDim.Render(wrap("No apply of this cluster is recorded on this machine yet.", width)) + "\n\n"
	case len(m.changes) == 0:
		return styleDim.Render(wrap("Unchanged since the last apply.", width)) + "\n\n"
	}
	var b strings.Builder
	b.WriteString(styleBold.Render(fmt.Sprintf("Changed since the last apply (%d):", len(m.changes))) + "\n")
	for _, c := range m.changes {
		b.WriteString(wrapIndent("  • "+c, width, 4) + "\n")
	}
	return b.String() + "\n"
}

func (m *welcomeModel) choose(i int) tea.Cmd {
	c := m.choices[i]
	if c.key == "s" {
		if m.statusRunning {
			return nil
		}
		m.statusRunning = true
		m.status = nil
		return tea.Batch(m.spin.Tick, emit(statusWantedMsg{m.spec}))
	}
	return emit(c.msg)
}

// readStatus reads every layer (steps.ReadState) and judges it (checks.Health).
func readStatus(ctx context.Context, src steps.HostSource, s *config.Spec) tea.Cmd {
	return func() tea.Msg {
		return statusMsg{checks.Health(s, steps.ReadState(ctx, s, src))}
	}
}

func (m *welcomeModel) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case statusMsg:
		m.statusRunning = false
		m.status = msg.results
		return nil
	case spinner.TickMsg:
		if !m.statusRunning {
			return nil
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return cmd
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, keyUp):
			m.cursor = (m.cursor + len(m.choices) - 1) % len(m.choices)
		case key.Matches(msg, keyDown):
			m.cursor = (m.cursor + 1) % len(m.choices)
		case key.Matches(msg, keyEnter):
			return m.choose(m.cursor)
		default:
			for i, c := range m.choices {
				if msg.String() == c.key {
					m.cursor = i
					return m.choose(i)
				}
			}
		}
	}
	return nil
}

// setSize: the welcome screen is drawn at the size view is given.
func (m *welcomeModel) setSize(int, int) {}

func (m *welcomeModel) help() []key.Binding {
	ks := []key.Binding{keyUp, keyDown, keyEnter, keyQuit}
	for _, c := range m.choices {
		if c.key != "q" {
			ks = append(ks, key.NewBinding(key.WithKeys(c.key))) // shown on the screen, with the choice
		}
	}
	return ks
}

func (m *welcomeModel) view(width, height int) string {
	var b strings.Builder
	switch {
	case m.loadErr != nil:
		b.WriteString(styleTitle.Render(wrap("The spec "+m.path+" cannot be opened", width)) + "\n\n")
		for _, l := range strings.Split(m.loadErr.Error(), "\n") {
			b.WriteString(styleFail.Render(wrapIndent("  ✗ "+l, width, 4)) + "\n")
		}
		b.WriteString("\n" + wrap("Fix the lines above in an editor (sample.toml explains every key), then start scalestore again. The wizard never overwrites a spec it cannot read.", width) + "\n\n")
	case m.spec != nil:
		b.WriteString(wrap(styleTitle.Render(fmt.Sprintf("Cluster %q", m.spec.Cluster.Name))+styleDim.Render("  "+m.path+" · profile "+m.spec.Cluster.Profile), width) + "\n\n")
		b.WriteString(topology(m.spec, width) + "\n\n")
		b.WriteString(m.changesView(width))
	default:
		b.WriteString(styleTitle.Render("Build shared cluster storage") + "\n\n")
		b.WriteString(wrap("scalestore turns ordinary Linux servers into shared storage over SSH: storage servers in DRBD-mirrored pairs, each half exported over iSCSI, every client importing all of them, multipath joining each pair, shared LVM on top and GFS2 mounted on every client.", width) + "\n\n")
		b.WriteString(wrap("You need: root SSH access (or sudo) to every server, one empty disk on each storage server, and at least one client. Nothing is changed before you review the plan.", width) + "\n\n")
		b.WriteString(styleDim.Render(wrap("The spec will be saved to "+m.path, width)) + "\n\n")
	}
	for i, c := range m.choices {
		cur := "  "
		label := c.label
		if i == m.cursor {
			cur = styleSelected.Render("> ")
			label = styleSelected.Render(label)
		}
		line := cur + styleKey.Render(c.key) + "  " + label
		if c.desc != "" {
			line += styleDim.Render("  " + c.desc)
		}
		b.WriteString(wrapIndent(line, width, 5) + "\n")
	}
	if m.statusRunning {
		b.WriteString("\n" + m.spin.View() + " reading every layer on every host…\n")
	}
	if m.status != nil {
		b.WriteString("\n" + styleBold.Render("Status") + "\n")
		b.WriteString(renderResults(m.status, width, false))
	}
	return b.String()
}
