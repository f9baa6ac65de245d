package ui

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"
	"charm.land/lipgloss/v2"

	"scalestore/checks"
	"scalestore/config"
)

// Fencing choices of the settings form.
const (
	fenceAgent = "agent"
	fenceNone  = "none"
)

// fencingOffWarning says in plain words what running without fencing
// risks: what preflight says of it (measured on the lab), and where it may be.
const fencingOffWarning = checks.FencingOffMsg + ". Run without fencing only in a lab."

// settingsModel is the form of the volume, the filesystem and fencing.
type settingsModel struct {
	base       *config.Spec
	v          *settingsValues
	form       *huh.Form
	formHeight int // the rows the form was given (fit)
	width      int
	height     int
	problems   []string
}

type settingsValues struct {
	vg, lv, fsName, journals, journalMB, mount string
	skipSync                                   bool
	fencing, agent, agentOpts                  string
	noFencingOK                                bool
	// targets are each fenced host's own options (fencing.host_options),
	// name=value, for every storage half and client
	targetHosts []string
	targets     map[string]*string
}

func newSettingsModel(s *config.Spec, width int) *settingsModel {
	v := &settingsValues{vg: s.Volume.VG, lv: s.Volume.LV, fsName: s.Volume.FSName, mount: s.Volume.MountPoint,
		skipSync: s.DRBD.SkipInitialSync, fencing: fenceAgent, agent: s.Fencing.Agent}
	if v.vg == "" {
		v.vg = config.DefaultVG
	}
	if v.lv == "" {
		v.lv = config.DefaultLV
	}
	if v.fsName == "" {
		v.fsName = config.DefaultFSName
	}
	if v.mount == "" {
		v.mount = config.DefaultMount
	}
	v.journals = strconv.Itoa(len(s.Clients) + 2)
	if s.Volume.Journals > 0 {
		v.journals = strconv.Itoa(s.Volume.Journals)
	}
	if s.Volume.JournalSizeMB > 0 {
		v.journalMB = strconv.Itoa(s.Volume.JournalSizeMB)
	}
	if s.Fencing.Agent == "none" {
		v.fencing, v.agent, v.noFencingOK = fenceNone, "", true
	}
	var opts []string
	for k, val := range s.Fencing.Options {
		opts = append(opts, k+"="+val)
	}
	sort.Strings(opts)
	v.agentOpts = strings.Join(opts, " ")
	v.targets = map[string]*string{}
	for _, h := range append(s.StorageHosts(), s.ClientHosts()...) {
		var kv []string
		for k, val := range s.Fencing.HostOptions[h] {
			kv = append(kv, k+"="+val)
		}
		sort.Strings(kv)
		t := strings.Join(kv, " ")
		v.targetHosts, v.targets[h] = append(v.targetHosts, h), &t
	}
	m := &settingsModel{base: s, v: v, width: width}
	m.reopen()
	return m
}

// spec is the base spec with the form's values; a number that does not
// parse is reported under its key.
func (m settingsModel) spec() (*config.Spec, error) {
	s := cloneSpec(m.base)
	v := m.v
	s.Volume.VG, s.Volume.LV, s.Volume.FSName = strings.TrimSpace(v.vg), strings.TrimSpace(v.lv), strings.TrimSpace(v.fsName)
	s.Volume.MountPoint = strings.TrimSpace(v.mount)
	n, err := strconv.Atoi(strings.TrimSpace(v.journals))
	if err != nil {
		return nil, fmt.Errorf("volume.journals: %q is not a number", v.journals)
	}
	s.Volume.Journals = n
	s.Volume.JournalSizeMB = 0
	if t := strings.TrimSpace(v.journalMB); t != "" {
		if s.Volume.JournalSizeMB, err = strconv.Atoi(t); err != nil {
			return nil, fmt.Errorf("volume.journal_size_mb: %q is not a number", t)
		}
	}
	s.DRBD.SkipInitialSync = v.skipSync
	s.Fencing = config.Fencing{Agent: strings.TrimSpace(v.agent), StorageDelay: m.base.Fencing.StorageDelay}
	if v.fencing == fenceNone {
		s.Fencing.Agent = "none"
		return s, nil
	}
	if s.Fencing.Options, err = fenceOptions("fencing.options", v.agentOpts); err != nil {
		return nil, err
	}
	for _, h := range v.targetHosts {
		opts, err := fenceOptions("fencing.host_options."+h, *v.targets[h])
		if err != nil {
			return nil, err
		}
		if opts != nil {
			if s.Fencing.HostOptions == nil {
				s.Fencing.HostOptions = map[string]map[string]string{}
			}
			s.Fencing.HostOptions[h] = opts
		}
	}
	return s, nil
}

// fenceOptions parses "name=value …" (nil when empty); key names the
// spec's key in errors.
func fenceOptions(key, text string) (map[string]string, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	opts := map[string]string{}
	for _, kv := range strings.Fields(text) {
		k, val, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("%s: write each option as name=value (%q)", key, kv)
		}
		opts[k] = val
	}
	return opts, nil
}

// validate checks a field: its value in the spec, through config.
func (m settingsModel) validate(set func(*settingsValues, string), prefix string) func(string) error {
	return func(val string) error {
		saved := *m.v
		targets := map[string]string{}
		for h, t := range m.v.targets {
			targets[h] = *t
		}
		set(m.v, val)
		s, err := m.spec()
		*m.v = saved
		for h, t := range targets {
			*m.v.targets[h] = t
		}
		if err != nil {
			if strings.HasPrefix(err.Error(), prefix) {
				return err
			}
			return nil
		}
		return fieldError(problemsOf(s, prefix))
	}
}

func (m settingsModel) buildForm() *huh.Form {
	v := m.v
	in := func(title, desc string, val *string, set func(*settingsValues, string), k string) *huh.Input {
		return huh.NewInput().Title(title).Description(desc).Value(val).Validate(m.validate(set, k))
	}
	f := huh.NewForm(
		huh.NewGroup(
			in("Volume group", "shared LVM volume group over every pair's mpathN", &v.vg, func(v *settingsValues, s string) { v.vg = s }, "volume.vg"),
			in("Logical volume", "takes all of the volume group and grows with it", &v.lv, func(v *settingsValues, s string) { v.lv = s }, "volume.lv"),
			in("Filesystem name", "GFS2 lock table second half (1-30 of A-Z a-z 0-9 _ -)", &v.fsName, func(v *settingsValues, s string) { v.fsName = s }, "volume.fs_name"),
			in("Journals", "one per client, plus spares for clients added later", &v.journals, func(v *settingsValues, s string) { v.journals = s }, "volume.journals"),
			in("Journal size (MB)", "empty: mkfs.gfs2's default (128); small volumes need small journals (8 minimum)", &v.journalMB, func(v *settingsValues, s string) { v.journalMB = s }, "volume.journal_size_mb"),
			in("Mount point", "where every client mounts the filesystem", &v.mount, func(v *settingsValues, s string) { v.mount = s }, "volume.mount_point"),
			huh.NewConfirm().Title("Skip the initial DRBD sync?").
				Description("Only for brand-new, empty disks: both halves are marked in sync without copying.").
				Value(&v.skipSync),
		).Title("Volume and filesystem"),
		huh.NewGroup(
			huh.NewSelect[string]().Title("Fencing").
				Description("With an agent, a storage half powers its pair's other half off when their link breaks, and the clients power off a client they lost, before going on.").
				Options(
					huh.NewOption("use a fence agent (production)", fenceAgent),
					huh.NewOption("none: nobody is powered off; a cut-off host can corrupt the data (lab only)", fenceNone),
				).Value(&v.fencing),
		).Title("Fencing"),
		huh.NewGroup(
			in("Fence agent", "e.g. fence_ipmilan, fence_virsh (installed on the clients)", &v.agent, func(v *settingsValues, s string) { v.agent = s }, "fencing.agent"),
			huh.NewInput().Title("Agent options").
				Description("name=value pairs for every node, e.g. ip=10.0.0.1 username=admin password_script=/root/fence-pw (never a password)").
				Value(&v.agentOpts).
				Validate(m.validate(func(v *settingsValues, s string) { v.agentOpts = s }, "fencing.options")),
		).Title("Fence agent").WithHideFunc(func() bool { return v.fencing != fenceAgent }),
		huh.NewGroup(m.targetFields()...).Title("Fence targets").
			Description("Each host's own options: how the agent reaches the power of that host.").
			WithHideFunc(func() bool { return v.fencing != fenceAgent || len(v.targetHosts) == 0 }),
		huh.NewGroup(
			huh.NewConfirm().Title("Run without fencing?").
				Description("Read the warning above: it is what running without fencing risks.").
				Affirmative("Yes, this is a lab").Negative("No").
				Value(&v.noFencingOK).
				Validate(func(ok bool) error {
					if !ok {
						return errors.New("choose \"Yes, this is a lab\", or go back (shift+tab) and pick a fence agent")
					}
					return nil
				}),
		).Title("Fencing is off").WithHideFunc(func() bool { return v.fencing != fenceNone }),
	).WithTheme(formTheme()).WithKeyMap(formKeyMap()).WithShowHelp(false).WithShowErrors(false).
		WithWidth(min(max(m.width-2, 40), 100))
	return f
}

// targetFields are the fence target inputs, one per storage half and
// client.
func (m settingsModel) targetFields() []huh.Field {
	var fs []huh.Field
	for _, h := range m.v.targetHosts {
		key := "fencing.host_options." + h
		fs = append(fs, huh.NewInput().Title(h+"'s fence target").
			Description("name=value, e.g. ip=<the address of its BMC>, or plug=<its outlet> on a shared power switch").
			Value(m.v.targets[h]).
			Validate(m.validate(func(v *settingsValues, s string) { *v.targets[h] = s }, key)))
	}
	return fs
}

func (m *settingsModel) Init() tea.Cmd { return m.form.Init() }

// reopen starts the form again with its values, for coming back to it.
func (m *settingsModel) reopen() {
	m.form, m.formHeight = m.buildForm(), 0
	m.fit()
}

func (m *settingsModel) setSize(w, h int) {
	m.width, m.height = w, h
	m.form, m.formHeight = m.form.WithWidth(min(max(w-2, 40), 100)), 0
	m.fit()
}

// fit gives the form the rows its title, the problems, the fencing warning
// and the field errors leave, so that the errors show under it.
func (m *settingsModel) fit() {
	if m.height <= 0 {
		return // not sized yet
	}
	m.form, m.formHeight = fitForm(m.form, m.formHeight, m.height-lipgloss.Height(m.head())-lineCount(formErrors(m.form, m.width)))
}

func (m *settingsModel) update(msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyPressMsg); ok && key.Matches(k, keyBack) {
		return emit(backMsg{})
	}
	f, cmd := m.form.Update(msg)
	m.form = f.(*huh.Form)
	if m.form.State == huh.StateCompleted {
		return m.submit()
	}
	if _, ok := msg.(tea.KeyPressMsg); ok {
		m.fit() // a key may have shown an error or the fencing warning
	}
	return cmd
}

func (m *settingsModel) submit() tea.Cmd {
	s, err := m.spec()
	var msgs []string
	if err != nil {
		msgs = append(msgs, err.Error())
	} else if err := s.Validate(); err != nil { // also fills the defaults
		var ps config.Problems
		if errors.As(err, &ps) {
			for _, p := range ps {
				msgs = append(msgs, p.Key+": "+p.Msg)
			}
		} else {
			msgs = append(msgs, err.Error())
		}
	}
	if len(msgs) > 0 {
		m.problems = msgs
		m.reopen()
		return m.form.Init()
	}
	m.problems = nil
	return emit(settingsDoneMsg{spec: s})
}

func (m *settingsModel) help() []key.Binding {
	return append(m.form.KeyBinds(), keyBack, keyCtrlC, keyFormMoves)
}

// head is the form's title, the problems its last submit found and, when
// fencing is off, the warning.
func (m *settingsModel) head() string {
	h := styleTitle.Render("Volume, filesystem and fencing") + problemLines(m.problems, m.width)
	if m.v.fencing == fenceNone {
		h += "\n" + styleWarnBox.Width(min(m.width, 80)).Render(styleWarn.Render("! ")+wrap(fencingOffWarning, min(m.width, 80)-6))
	}
	return h
}

func (m *settingsModel) view(width, height int) string {
	return m.head() + "\n" + m.form.View() + "\n" + formErrors(m.form, m.width)
}
