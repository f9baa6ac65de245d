package ui

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"
	"charm.land/lipgloss/v2"

	"scalestore/config"
)

// hostsModel is the form of the cluster's name, profile, SSH defaults and
// hosts. When adding a pair to an existing spec it asks only for the hosts
// to add (none when the new storage servers are already listed).
type hostsModel struct {
	base   *config.Spec // the spec the form starts from
	adding bool
	client bool // adding a client, not a pair
	v      *hostsValues
	form   *huh.Form
	width  int
	height int
	// formHeight is the rows the form was given (fit)
	formHeight int
	// problems are what config.Validate still says about these fields once
	// the form is submitted (e.g. an address used twice).
	problems []string
}

// hostsValues are the form's fields (huh writes through these pointers).
type hostsValues struct {
	name, profile              string
	user, identity, knownHosts string
	policy                     string
	sudo                       bool
	hostLines                  string
}

func newHostsModel(s *config.Spec, adding bool, width int) *hostsModel {
	v := &hostsValues{
		name: s.Cluster.Name, profile: s.Cluster.Profile,
		user: s.SSH.User, identity: s.SSH.IdentityFile, knownHosts: s.SSH.KnownHosts,
		policy: s.SSH.HostKeyPolicy, sudo: s.SSH.SudoOn(),
	}
	if v.profile == "" {
		v.profile = config.DefaultProfile
	}
	if v.user == "" {
		v.user = config.DefaultSSHUser
	}
	if v.knownHosts == "" {
		v.knownHosts = config.DefaultKnownHost
	}
	if v.policy == "" {
		// A first-time operator has no keys in known_hosts yet: each new
		// key is shown with its fingerprint and trusted only on a key press.
		v.policy = config.PolicyAcceptNew
	}
	if !adding {
		v.hostLines = hostLinesOf(s.Hosts)
	}
	m := &hostsModel{base: s, adding: adding, v: v, width: width}
	m.reopen()
	return m
}

// newClientHostsModel is the hosts form of adding a client: only the new
// host(s).
func newClientHostsModel(s *config.Spec, width int) *hostsModel {
	m := newHostsModel(s, true, width)
	m.client = true
	m.reopen()
	return m
}

// hostLinesOf writes hosts back as the form's lines.
func hostLinesOf(hosts []config.Host) string {
	var lines []string
	for _, h := range hosts {
		l := h.Name + " " + h.Address
		switch {
		case h.SSH.Address != "" && h.SSH.Port != 0:
			l += " " + net.JoinHostPort(h.SSH.Address, strconv.Itoa(h.SSH.Port))
		case h.SSH.Address != "":
			l += " " + h.SSH.Address
		case h.SSH.Port != 0:
			l += " :" + strconv.Itoa(h.SSH.Port)
		}
		lines = append(lines, l)
	}
	return strings.Join(lines, "\n")
}

// parseHostLines reads "NAME ADDRESS [SSH-ADDRESS][:PORT]" lines. Blank
// lines and #-comments are skipped; lineOf maps each host to its line.
func parseHostLines(text string) (hosts []config.Host, lineOf []int, err error) {
	for i, raw := range strings.Split(text, "\n") {
		l := strings.TrimSpace(raw)
		if j := strings.Index(l, "#"); j >= 0 {
			l = strings.TrimSpace(l[:j])
		}
		if l == "" {
			continue
		}
		f := strings.Fields(l)
		if len(f) < 2 || len(f) > 3 {
			return nil, nil, fmt.Errorf("line %d: write NAME ADDRESS, then optionally where SSH listens (ADDRESS, ADDRESS:PORT or :PORT)", i+1)
		}
		h := config.Host{Name: f[0], Address: f[1]}
		if len(f) == 3 {
			addr, port := f[2], ""
			if hh, pp, e := net.SplitHostPort(f[2]); e == nil {
				addr, port = hh, pp
			}
			h.SSH.Address = addr
			if port != "" {
				n, e := strconv.Atoi(port)
				if e != nil || n < 1 || n > 65535 {
					return nil, nil, fmt.Errorf("line %d: SSH port %q is not a TCP port (1-65535)", i+1, port)
				}
				h.SSH.Port = n
			}
		}
		hosts = append(hosts, h)
		lineOf = append(lineOf, i+1)
	}
	return hosts, lineOf, nil
}

// spec is the base spec with the form's values.
func (m hostsModel) spec() (*config.Spec, []config.Host, error) {
	s := cloneSpec(m.base)
	v := m.v
	hosts, _, err := parseHostLines(v.hostLines)
	if err != nil {
		return nil, nil, err
	}
	if m.adding {
		s.Hosts = append(s.Hosts, hosts...)
		return s, hosts, nil
	}
	s.Cluster.Name = strings.TrimSpace(v.name)
	s.Cluster.Profile = v.profile
	s.SSH.User = strings.TrimSpace(v.user)
	s.SSH.IdentityFile = strings.TrimSpace(v.identity)
	s.SSH.KnownHosts = strings.TrimSpace(v.knownHosts)
	s.SSH.HostKeyPolicy = v.policy
	s.SSH.Sudo = nil
	if v.sudo {
		t := true
		s.SSH.Sudo = &t
	}
	s.Hosts = hosts
	return s, nil, nil
}

// problems runs config's validation on the spec so far and returns the
// problems of the keys that start with one of prefixes. The wizard has no
// rules of its own: what config refuses is what the form shows, next to
// the field, naming the key.
func problemsOf(s *config.Spec, prefixes ...string) []config.Problem {
	c := cloneSpec(s)
	err := c.Validate()
	var ps config.Problems
	if !errors.As(err, &ps) {
		return nil
	}
	var out []config.Problem
	for _, p := range ps {
		for _, pre := range prefixes {
			if p.Key == pre || strings.HasPrefix(p.Key, pre+".") || strings.HasPrefix(p.Key, pre+"[") {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// fieldError turns problems into one error for a form field.
func fieldError(ps []config.Problem) error {
	if len(ps) == 0 {
		return nil
	}
	var msgs []string
	for _, p := range ps {
		msgs = append(msgs, p.Key+": "+p.Msg)
	}
	return errors.New(strings.Join(msgs, "; "))
}

// validateField checks one field's value in the spec the form describes.
func (m hostsModel) validateField(set func(*hostsValues, string), keyPrefix string) func(string) error {
	return func(val string) error {
		saved := *m.v
		set(m.v, val)
		s, _, err := m.spec()
		*m.v = saved
		if err != nil {
			return nil // the hosts field reports its own syntax errors
		}
		return fieldError(problemsOf(s, keyPrefix))
	}
}

// validateHosts checks the hosts' lines: their syntax, then what config
// says of each host (reported with its line), then the counts a cluster needs.
func (m hostsModel) validateHosts(val string) error {
	hosts, lineOf, err := parseHostLines(val)
	if err != nil {
		return err
	}
	saved := m.v.hostLines
	m.v.hostLines = val
	s, _, _ := m.spec()
	m.v.hostLines = saved
	first := len(m.base.Hosts)
	if !m.adding {
		first = 0
		if len(hosts) < 3 {
			return errors.New("host: list at least three hosts: two storage servers (one pair) and a client")
		}
	}
	var msgs []string
	for _, p := range problemsOf(s, "host") {
		var i int
		if _, err := fmt.Sscanf(p.Key, "host[%d]", &i); err == nil && i-first >= 0 && i-first < len(lineOf) {
			msgs = append(msgs, fmt.Sprintf("line %d: %s: %s", lineOf[i-first], p.Key, p.Msg))
		} else if p.Key != "host" || !m.adding {
			msgs = append(msgs, p.Key+": "+p.Msg)
		}
	}
	if len(msgs) > 0 {
		return errors.New(strings.Join(msgs, "; "))
	}
	return nil
}

// examplePlaceholder is a text area's placeholder of example lines, written
// as comments. The text area draws only a placeholder's first line in the
// placeholder style (bubbles v2.2.1): the others carry that style themselves.
func examplePlaceholder(lines ...string) string {
	out := "# for example:"
	for _, l := range lines {
		out += "\n" + stylePlaceholder.Render("# "+l)
	}
	return out
}

// exampleClusterName is the cluster name the form suggests.
const exampleClusterName = "storage"

// required refuses an empty field with what to type (a placeholder is an
// example, not a value), then checks the value with validate.
func required(key, what string, validate func(string) error) func(string) error {
	return func(val string) error {
		if strings.TrimSpace(val) == "" {
			return errors.New(key + ": " + what)
		}
		return validate(val)
	}
}

func formKeyMap() *huh.KeyMap {
	km := huh.NewDefaultKeyMap()
	km.Quit.SetEnabled(false) // ctrl+c is the wizard's
	// The hosts field is a list: enter starts a new line, tab moves on.
	km.Text.NewLine = key.NewBinding(key.WithKeys("enter", "ctrl+j"), key.WithHelp("enter", "new line"))
	km.Text.Next = key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next"))
	km.Text.Submit = key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "done"))
	km.Text.Editor.SetEnabled(false)
	km.Select.Filter.SetEnabled(false)
	return km
}

func (m hostsModel) buildForm() *huh.Form {
	v := m.v
	hostsField := huh.NewText().
		Title("Hosts").
		Description("One host per line: NAME ADDRESS [SSH-ADDRESS][:PORT]\n" +
			"NAME must be the host's own name (uname -n); ADDRESS is its cluster LAN address.\n" +
			"Add where SSH listens only if it differs, e.g. 127.0.0.1:2211 or :2222.").
		Placeholder(examplePlaceholder("storage0a 10.0.0.11", "storage0b 10.0.0.12", "client0   10.0.0.21")).
		Lines(7).
		ShowLineNumbers(true).
		ExternalEditor(false).
		Value(&v.hostLines).
		Validate(m.validateHosts)
	var groups []*huh.Group
	if m.adding {
		var spare []string
		for _, h := range m.base.Hosts {
			if !inUse(m.base, h.Name) {
				spare = append(spare, h.Name)
			}
		}
		desc := "The new pair needs two storage servers the cluster does not use yet."
		example := examplePlaceholder("storage2a 10.0.0.15", "storage2b 10.0.0.16")
		if m.client {
			desc = "The new client is a host the cluster does not use yet."
			example = examplePlaceholder("client2 10.0.0.23")
		}
		if len(spare) > 0 {
			desc += " Already listed and free: " + strings.Join(spare, ", ") + "."
		}
		desc += " Add any other hosts here (or leave this empty)."
		hostsField.Title("Hosts to add").Description(desc + "\nOne per line: NAME ADDRESS [SSH-ADDRESS][:PORT]").
			Placeholder(example)
		groups = append(groups, huh.NewGroup(hostsField))
	} else {
		groups = append(groups,
			huh.NewGroup(
				huh.NewInput().Title("Cluster name").
					Description("corosync's cluster_name and the first half of the GFS2 lock table (1-32 of A-Z a-z 0-9 _ -)").
					Placeholder("e.g. "+exampleClusterName).Value(&v.name).
					Validate(required("cluster.name", "type a name (e.g. "+exampleClusterName+")",
						m.validateField(func(v *hostsValues, s string) { v.name = s }, "cluster.name"))),
				huh.NewSelect[string]().Title("Profile").
					Options(
						huh.NewOption("debian12: Debian 12, LIO iSCSI, corosync 3 + dlm + lvmlockd", config.ProfileDebian12),
						huh.NewOption("centos5: the 2008 stack, GNBD + cman + clvmd", config.ProfileCentOS5),
					).Value(&v.profile),
			).Title("The cluster"),
			huh.NewGroup(
				huh.NewInput().Title("SSH user").Description("root, or a user with sudo rights").Value(&v.user).
					Validate(m.validateField(func(v *hostsValues, s string) { v.user = s }, "ssh.user")),
				huh.NewConfirm().Title("Run commands through sudo?").Description("only for a user other than root").Value(&v.sudo),
				huh.NewInput().Title("Identity file").Description("private key; leave empty to use ssh-agent and ~/.ssh/id_*").
					Placeholder("e.g. ~/.ssh/id_ed25519").Value(&v.identity).
					Validate(m.validateField(func(v *hostsValues, s string) { v.identity = s }, "ssh.identity_file")),
				huh.NewInput().Title("known_hosts file").Value(&v.knownHosts).
					Validate(m.validateField(func(v *hostsValues, s string) { v.knownHosts = s }, "ssh.known_hosts")),
				huh.NewSelect[string]().Title("Unknown host keys").
					Options(
						huh.NewOption("accept-new: show the fingerprint, trust it when I press y", config.PolicyAcceptNew),
						huh.NewOption("strict: refuse hosts not already in known_hosts", config.PolicyStrict),
					).Value(&v.policy),
			).Title("How to reach the hosts (SSH)"),
			huh.NewGroup(hostsField),
		)
	}
	f := huh.NewForm(groups...).
		WithTheme(formTheme()).
		WithKeyMap(formKeyMap()).
		WithShowHelp(false).
		WithShowErrors(false).
		WithWidth(min(max(m.width-2, 40), 100))
	return f
}

// inUse reports whether a host is a half of a pair or a client.
func inUse(s *config.Spec, host string) bool {
	for _, p := range s.Pairs {
		if p.A.Host == host || p.B.Host == host {
			return true
		}
	}
	for _, c := range s.Clients {
		if c.Host == host {
			return true
		}
	}
	return false
}

func (m *hostsModel) Init() tea.Cmd { return m.form.Init() }

// reopen starts the form again with its values, for coming back to it.
func (m *hostsModel) reopen() {
	m.form, m.formHeight = m.buildForm(), 0
	m.fit()
}

// reopenAtHosts starts the form again with its values, on the list of
// hosts: what an operator comes back from discovery to change.
func (m *hostsModel) reopenAtHosts() tea.Cmd {
	m.reopen()
	cmds := []tea.Cmd{m.form.Init()}
	for range 2 { // the hosts are the last of the form's (at most) three groups
		if _, onHosts := m.form.GetFocusedField().(*huh.Text); onHosts {
			break
		}
		cmds = append(cmds, m.form.NextGroup())
	}
	return tea.Batch(cmds...)
}

func (m *hostsModel) setSize(w, h int) {
	m.width, m.height = w, h
	m.form, m.formHeight = m.form.WithWidth(min(max(w-2, 40), 100)), 0
	m.fit()
}

// fit gives the form the rows its title, the problems and the field errors
// leave, so that the errors show under it.
func (m *hostsModel) fit() {
	if m.height <= 0 {
		return // not sized yet
	}
	m.form, m.formHeight = fitForm(m.form, m.formHeight, m.height-lipgloss.Height(m.head())-lineCount(formErrors(m.form, m.width)))
}

// fitForm sizes a form to height rows when it was sized to another height
// (a form keeps 8 rows at least: the body then scrolls).
func fitForm(f *huh.Form, was, height int) (*huh.Form, int) {
	height = max(height, 8)
	if height == was {
		return f, was
	}
	return sizeForm(f, height), height
}

// sizeForm lets a form take the height its tallest group needs, up to height.
func sizeForm(f *huh.Form, height int) *huh.Form {
	nf, _ := f.Update(tea.WindowSizeMsg{Width: 0, Height: height})
	return nf.(*huh.Form)
}

// lineCount is the number of lines of s, each ended by a newline.
func lineCount(s string) int { return strings.Count(s, "\n") }

// formErrors shows the focused group's validation errors, wrapped, each
// naming its key.
func formErrors(f *huh.Form, width int) string {
	var b strings.Builder
	for _, err := range f.Errors() {
		for _, e := range strings.Split(err.Error(), "; ") {
			b.WriteString(styleFail.Render(wrapIndent("✗ "+e, width, 2)) + "\n")
		}
	}
	return b.String()
}

func (m *hostsModel) update(msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyPressMsg); ok && key.Matches(k, keyBack) {
		return emit(backMsg{})
	}
	f, cmd := m.form.Update(msg)
	m.form = f.(*huh.Form)
	if m.form.State == huh.StateCompleted {
		return m.submit()
	}
	if _, ok := msg.(tea.KeyPressMsg); ok {
		m.fit() // a key may have shown or cleared an error
	}
	return cmd
}

// submit checks the whole of what the form gives once more (problems
// across fields, like an address used twice) and moves on.
func (m *hostsModel) submit() tea.Cmd {
	s, added, err := m.spec()
	var msgs []string
	if err != nil {
		msgs = append(msgs, err.Error())
	} else {
		prefixes := []string{"cluster", "ssh", "host"}
		for _, p := range problemsOf(s, prefixes...) {
			if m.adding && p.Key == "host" {
				continue
			}
			msgs = append(msgs, p.Key+": "+p.Msg)
		}
	}
	if len(msgs) > 0 {
		// Start the form again with the values kept and the problems shown.
		m.problems = msgs
		m.reopen()
		return m.form.Init()
	}
	m.problems = nil
	return emit(hostsDoneMsg{spec: s, added: added})
}

// keyFormMoves are the keys a form's fields use to move in their text
// and lists: the body scrolls with the page keys instead.
var keyFormMoves = key.NewBinding(key.WithKeys("up", "down", "home", "end"))

func (m *hostsModel) help() []key.Binding {
	return append(m.form.KeyBinds(), keyBack, keyCtrlC, keyFormMoves)
}

// head is the form's title and the problems its last submit found.
func (m *hostsModel) head() string {
	title := "Cluster, SSH and hosts"
	if m.adding {
		title = "New storage servers"
	}
	if m.client {
		title = "The new client's host"
	}
	return styleTitle.Render(title) + problemLines(m.problems, m.width)
}

// problemLines shows the problems a submit found, each wrapped, on lines
// of their own.
func problemLines(ps []string, width int) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString("\n" + styleFail.Render(wrapIndent("✗ "+p, width, 2)))
	}
	return b.String()
}

func (m *hostsModel) view(width, height int) string {
	return m.head() + "\n" + m.form.View() + "\n" + formErrors(m.form, m.width)
}
