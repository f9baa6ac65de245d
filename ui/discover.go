package ui

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"

	"scalestore/config"
	"scalestore/steps"
)

// hostDiscoveredMsg is one host read by discovery: its facts, or why it
// could not be read.
type hostDiscoveredMsg struct {
	host  string
	facts *steps.HostFacts
	err   error
}

// discoverModel connects to every host in parallel and shows each one as
// it is read.
type discoverModel struct {
	names   []string
	facts   map[string]*steps.HostFacts
	errs    map[string]error
	pending map[string]bool
	spin    spinner.Model
	clock   func() time.Time     // the app's clock (tests move it)
	started map[string]time.Time // when each host pending began
	now     time.Time            // the clock at the last spinner tick
}

var keyDiscoverOn = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "continue"))

// rediscoverMsg asks the app for a new SSH side (a fixed known_hosts or
// key is read again) and to read the hosts not read yet.
type rediscoverMsg struct{}

func newDiscoverModel(names []string, clock func() time.Time) *discoverModel {
	return &discoverModel{
		names: names, clock: clock, started: map[string]time.Time{},
		facts: map[string]*steps.HostFacts{}, errs: map[string]error{}, pending: map[string]bool{},
		spin: spinner.New(spinner.WithSpinner(spinner.MiniDot)),
	}
}

// start reads every host not read yet, each in its own command (tea runs
// them in parallel).
func (m *discoverModel) start(ctx context.Context, src steps.HostSource, s *config.Spec) tea.Cmd {
	cmds := []tea.Cmd{m.spin.Tick}
	m.now = m.clock()
	for _, n := range m.names {
		if m.facts[n] != nil || m.pending[n] {
			continue
		}
		delete(m.errs, n)
		m.pending[n] = true
		m.started[n] = m.now
		cmds = append(cmds, func() tea.Msg {
			f, err := discoverHost(ctx, src, s, n)
			return hostDiscoveredMsg{host: n, facts: f, err: err}
		})
	}
	return tea.Batch(cmds...)
}

func (m discoverModel) finished() bool { return len(m.pending) == 0 }

// ready reports whether every host was read.
func (m discoverModel) ready() bool { return m.finished() && len(m.errs) == 0 }

func (m discoverModel) result() *steps.Facts {
	f := &steps.Facts{Hosts: map[string]*steps.HostFacts{}, Errors: map[string]error{}}
	for n, hf := range m.facts {
		f.Hosts[n] = hf
	}
	for n, e := range m.errs {
		f.Errors[n] = e
	}
	return f
}

func (m *discoverModel) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case hostDiscoveredMsg:
		delete(m.pending, msg.host)
		if msg.err != nil {
			m.errs[msg.host] = msg.err
		} else {
			m.facts[msg.host] = msg.facts
		}
	case spinner.TickMsg:
		if m.finished() {
			return nil
		}
		m.now = m.clock() // the hosts connecting show how long they have been
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return cmd
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, keyBack):
			return emit(backMsg{})
		case key.Matches(msg, keyRetry) && m.finished() && len(m.errs) > 0:
			return emit(rediscoverMsg{})
		case key.Matches(msg, keyDiscoverOn) && m.ready():
			return emit(discoverDoneMsg{facts: m.result()})
		}
	}
	return nil
}

// setSize: the list is drawn at the size view is given.
func (m *discoverModel) setSize(int, int) {}

func (m *discoverModel) help() []key.Binding {
	var ks []key.Binding
	if m.ready() {
		ks = append(ks, keyDiscoverOn)
	}
	if m.finished() && len(m.errs) > 0 {
		ks = append(ks, keyRetry)
	}
	return append(ks, keyBack, keyCtrlC)
}

// hostSummary is two lines about a discovered host: OS and kernel, disks.
func hostSummary(hf *steps.HostFacts) (string, string) {
	os := hf.OSName
	if os == "" {
		os = "unknown OS"
	}
	var disks []string
	for _, d := range sortedDisks(hf) {
		disks = append(disks, fmt.Sprintf("%s %s", strings.TrimPrefix(d.Path, "/dev/"), sizeText(d.Size)))
	}
	if len(disks) == 0 {
		return os + ", kernel " + hf.Kernel, "no disks"
	}
	return os + ", kernel " + hf.Kernel, "disks: " + strings.Join(disks, ", ")
}

// sortedDisks lists a host's discovered disks by path.
func sortedDisks(hf *steps.HostFacts) []*steps.Disk {
	var out []*steps.Disk
	for _, d := range hf.Disks {
		if d.Exists {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func (m *discoverModel) view(width, height int) string {
	var b strings.Builder
	b.WriteString(styleTitle.Render("Discovering the hosts") + "\n")
	b.WriteString(styleDim.Render(wrap("Each host is read once over SSH (read-only): OS, kernel, modules, disks.", width)) + "\n\n")
	nameW := 4
	for _, n := range m.names {
		nameW = max(nameW, len(n))
	}
	for _, n := range m.names {
		var line string
		label := fmt.Sprintf("%-*s  ", nameW, n)
		switch {
		case m.pending[n]:
			line = m.spin.View() + " " + label + styleDim.Render("connecting…")
			if t0, ok := m.started[n]; ok && m.now.Sub(t0) >= time.Second {
				el := m.now.Sub(t0).Truncate(time.Second)
				line += styleDim.Render(" " + el.String())
			}
		case m.errs[n] != nil:
			line = styleFail.Render("✗ ") + label + styleFail.Render(m.errs[n].Error())
		case m.facts[n] != nil:
			first, second := hostSummary(m.facts[n])
			line = stylePass.Render("✓ ") + label + first + "\n" + wrapIndent(strings.Repeat(" ", nameW+4)+styleDim.Render(second), width, nameW+4)
		default:
			line = "  " + label
		}
		first, rest, _ := strings.Cut(line, "\n")
		b.WriteString(wrapIndent(first, width, nameW+4) + "\n")
		if rest != "" {
			b.WriteString(rest + "\n")
		}
	}
	b.WriteString("\n")
	switch {
	case !m.finished():
		b.WriteString(styleDim.Render(fmt.Sprintf("%d read, %d failed, %d connecting", len(m.facts), len(m.errs), len(m.pending))) + "\n")
	case len(m.errs) > 0:
		b.WriteString(wrap(styleWarn.Render(fmt.Sprintf("%d host(s) could not be read.", len(m.errs)))+
			" Fix the address, port, user or key (esc goes back to the hosts), or press r to try again.", width) + "\n")
	default:
		b.WriteString(stylePass.Render("Every host was read.") + " Press enter to choose the pairs and the clients.\n")
	}
	return b.String()
}
