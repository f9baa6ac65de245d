package ui

import (
	"errors"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"scalestore/checks"
	"scalestore/config"
	"scalestore/steps"
)

// diskState is what the wizard tells about a disk before it may back a
// pair: blank, already holding DRBD metadata, or in use (and why).
type diskState struct {
	path     string
	size     int64
	use      []string // why it is in use; empty when blank
	ours     bool     // it holds DRBD metadata only: attached as it is
	wipeable bool     // in use, but no mount nor holder: it may be wiped when the operator says so
	tooSmall bool
	id       config.WipeDevice // its identity (WWN, serial, size), recorded with a wipe mark
}

// classifyDisk reads a discovered disk the way preflight's disk check does:
// a signature, partition, mount or holder means data; DRBD metadata alone
// is a previous scalestore run; a mounted or held disk is never wiped.
func classifyDisk(d *steps.Disk) diskState {
	u := checks.UseOf(d, "")
	return diskState{path: d.Path, size: d.Size, tooSmall: d.Size < checks.MinDiskBytes,
		use: u.Use, ours: u.DRBD && u.Blank(), wipeable: u.Wipeable, id: d.Identity("")}
}

func (ds diskState) blank() bool { return len(ds.use) == 0 }

// label is the disk's state in a few words.
func (ds diskState) label() string {
	switch {
	case ds.tooSmall:
		return fmt.Sprintf("too small (under %s)", sizeText(checks.MinDiskBytes))
	case ds.ours && ds.blank():
		return "DRBD metadata: kept if it is the pair's (preflight compares)"
	case ds.blank():
		return "blank"
	case ds.wipeable:
		return "in use: " + strings.Join(ds.use, "; ")
	}
	return "in use, never wiped: " + ds.use[len(ds.use)-1]
}

// details is everything known about a disk that is not blank.
func (ds diskState) details() string {
	if ds.blank() {
		return ""
	}
	return ds.path + ": " + strings.Join(ds.use, "; ")
}

// errNeedsWipe: an in-use disk was picked without the wipe mark.
var errNeedsWipe = errors.New("needs the wipe mark")

type halfPick struct {
	host, disk string
	wipe       bool
	id         config.WipeDevice // the disk's identity, for the [wipe] entry
}

type pairDraft struct {
	id     int
	halves []halfPick
	locked bool // already in the spec: shown, not changed
	pair   config.Pair
}

// assignment is the pure state of the pairs screen: which host is which
// half of which pair, with which disk, and which hosts are clients.
type assignment struct {
	pairs   []pairDraft
	clients []string
	locked  map[string]bool // hosts whose role is fixed by the spec
	adding  bool            // add-pair: one new pair, clients kept
	client  bool            // add-client (with adding): new clients only, pairs kept
	nextID  int
	oldWipe []string
	oldCli  []config.Client
}

func newAssignment(s *config.Spec, adding bool) *assignment {
	a := &assignment{locked: map[string]bool{}, adding: adding}
	if adding {
		for _, p := range s.Pairs {
			a.pairs = append(a.pairs, pairDraft{id: p.Num(), locked: true, pair: p,
				halves: []halfPick{{host: p.A.Host, disk: p.A.Disk}, {host: p.B.Host, disk: p.B.Disk}}})
			a.locked[p.A.Host], a.locked[p.B.Host] = true, true
		}
		for _, c := range s.Clients {
			a.clients = append(a.clients, c.Host)
			a.locked[c.Host] = true
		}
		a.nextID = s.NextPairID()
		a.oldWipe = s.Wipe.Devices
		a.oldCli = s.Clients
	}
	return a
}

// roleOf says what a host is: "pair r0 · a", "client" or "".
func (a *assignment) roleOf(host string) string {
	for _, p := range a.pairs {
		for i, h := range p.halves {
			if h.host == host {
				return fmt.Sprintf("pair r%d · %c", p.id, 'a'+i)
			}
		}
	}
	for _, c := range a.clients {
		if c == host {
			return "client"
		}
	}
	return ""
}

func (a *assignment) half(host string) *halfPick {
	for i := range a.pairs {
		for j := range a.pairs[i].halves {
			if a.pairs[i].halves[j].host == host {
				return &a.pairs[i].halves[j]
			}
		}
	}
	return nil
}

// addHalf makes host a storage half backed by disk. A disk in use is taken
// only with wipe set, and never when it is mounted or held.
func (a *assignment) addHalf(host string, ds diskState, wipe bool) error {
	if a.locked[host] {
		return fmt.Errorf("%s is already %s in the spec; that stays as it is", host, a.roleOf(host))
	}
	if a.client {
		return errors.New("adding a client keeps the pairs as they are: mark the new client (c)")
	}
	if r := a.roleOf(host); r != "" {
		return fmt.Errorf("%s is already %s: clear it first (x)", host, r)
	}
	switch {
	case ds.tooSmall:
		return fmt.Errorf("%s is %s, below the %s minimum", ds.path, sizeText(ds.size), sizeText(checks.MinDiskBytes))
	case !ds.blank() && !ds.wipeable:
		return fmt.Errorf("%s:%s is %s: unmount and free it first; a mounted or held disk is never wiped", host, ds.path, strings.Join(ds.use, "; "))
	case !ds.blank() && !wipe:
		return fmt.Errorf("%s:%s has data (%s): %w", host, ds.path, strings.Join(ds.use, "; "), errNeedsWipe)
	case !ds.blank() && a.adding:
		return fmt.Errorf("%s:%s has data (%s); to reuse it in an existing cluster, add \"%s:%s\" under [wipe] devices in the spec by hand, or pick a blank disk", host, ds.path, strings.Join(ds.use, "; "), host, ds.path)
	}
	pick := halfPick{host: host, disk: ds.path, wipe: wipe && !ds.blank(), id: ds.id}
	for i := range a.pairs {
		if !a.pairs[i].locked && len(a.pairs[i].halves) == 1 {
			a.pairs[i].halves = append(a.pairs[i].halves, pick)
			return nil
		}
	}
	if a.adding {
		for _, p := range a.pairs {
			if !p.locked {
				return errors.New("this run adds one pair, and it has both halves; clear one (x) to change it")
			}
		}
	}
	a.pairs = append(a.pairs, pairDraft{id: a.newID(), halves: []halfPick{pick}})
	return nil
}

func (a *assignment) newID() int {
	id := a.nextID
	for _, p := range a.pairs {
		if p.id >= id {
			id = p.id + 1
		}
	}
	return id
}

// clear takes a host's role away; a pair left without halves goes, and the
// new pairs are renumbered so the ids stay dense.
func (a *assignment) clear(host string) error {
	if a.locked[host] {
		return fmt.Errorf("%s is %s in the spec; that stays as it is", host, a.roleOf(host))
	}
	for i := range a.pairs {
		for j, h := range a.pairs[i].halves {
			if h.host == host {
				a.pairs[i].halves = append(a.pairs[i].halves[:j], a.pairs[i].halves[j+1:]...)
				if len(a.pairs[i].halves) == 0 {
					a.pairs = append(a.pairs[:i], a.pairs[i+1:]...)
				}
				a.renumber()
				return nil
			}
		}
	}
	for i, c := range a.clients {
		if c == host {
			a.clients = append(a.clients[:i], a.clients[i+1:]...)
			return nil
		}
	}
	return nil
}

func (a *assignment) renumber() {
	id := a.nextID
	for i := range a.pairs {
		if !a.pairs[i].locked {
			a.pairs[i].id = id
			id++
		}
	}
}

// toggleClient makes a host a client, or takes that away.
func (a *assignment) toggleClient(host string) error {
	if a.adding && !a.client {
		return errors.New("adding a pair keeps the clients as they are")
	}
	if a.locked[host] {
		return fmt.Errorf("%s is already %s in the spec; that stays as it is", host, a.roleOf(host))
	}
	if a.roleOf(host) == "client" {
		return a.clear(host)
	}
	if r := a.roleOf(host); r != "" {
		return fmt.Errorf("%s is already %s: clear it first (x)", host, r)
	}
	a.clients = append(a.clients, host)
	return nil
}

// result is the pairs, clients and wipe list for the spec, or what is
// still missing.
func (a *assignment) result() ([]config.Pair, []config.Client, []string, error) {
	if a.client {
		return a.clientResult()
	}
	var pairs []config.Pair
	var wipe []string
	newPairs := 0
	for _, p := range a.pairs {
		if p.locked {
			pairs = append(pairs, p.pair)
			continue
		}
		if len(p.halves) != 2 {
			return nil, nil, nil, fmt.Errorf("pair r%d has one half (%s): pick the second storage server", p.id, p.halves[0].host)
		}
		newPairs++
		id := p.id
		pairs = append(pairs, config.Pair{ID: &id,
			A: config.Half{Host: p.halves[0].host, Disk: p.halves[0].disk},
			B: config.Half{Host: p.halves[1].host, Disk: p.halves[1].disk}})
		for _, h := range p.halves {
			if h.wipe {
				id := h.id
				id.Host, id.Disk = h.host, h.disk
				wipe = append(wipe, id.String())
			}
		}
	}
	if newPairs == 0 {
		return nil, nil, nil, errors.New("no pair yet: make two storage servers halves of a pair (s)")
	}
	if a.adding {
		return pairs, a.oldCli, append(append([]string(nil), a.oldWipe...), wipe...), nil
	}
	if len(a.clients) == 0 {
		return nil, nil, nil, errors.New("no client yet: mark at least one host as a client (c)")
	}
	var clients []config.Client
	for _, c := range a.clients {
		clients = append(clients, config.Client{Host: c})
	}
	return pairs, clients, wipe, nil
}

// clientResult is add-client's result: the pairs as they are, the clients
// with the new ones after them.
func (a *assignment) clientResult() ([]config.Pair, []config.Client, []string, error) {
	var pairs []config.Pair
	for _, p := range a.pairs {
		pairs = append(pairs, p.pair)
	}
	clients := append([]config.Client(nil), a.oldCli...)
	for _, c := range a.clients {
		if !a.locked[c] {
			clients = append(clients, config.Client{Host: c})
		}
	}
	if len(clients) == len(a.oldCli) {
		return nil, nil, nil, errors.New("no new client yet: mark the host that joins as a client (c)")
	}
	return pairs, clients, a.oldWipe, nil
}

// pairsModel is the screen where hosts become pair halves (with a disk
// each) or clients.
type pairsModel struct {
	spec   *config.Spec
	facts  *steps.Facts
	hosts  []string // every host of the spec, in order
	free   map[string]bool
	cursor int
	as     *assignment
	note   string // the last refusal or hint
	warn   bool

	// the disk picker, open for one host
	picking    string
	disks      []diskState
	diskCursor int
	wipeMark   map[string]bool // host:disk the operator marked for wiping
}

var (
	keyStorage = key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "storage half"))
	keyClient  = key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "client"))
	keyClear   = key.NewBinding(key.WithKeys("x", "backspace"), key.WithHelp("x", "clear"))
	keyPick    = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "use this disk"))
	keyWipe    = key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "mark for wiping"))
	keyClose   = key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel"))
)

func newPairsModel(s *config.Spec, f *steps.Facts, adding bool, discovered []string) *pairsModel {
	m := &pairsModel{spec: s, facts: f, as: newAssignment(s, adding), free: map[string]bool{}, wipeMark: map[string]bool{}}
	for _, n := range discovered {
		m.free[n] = true
	}
	for _, h := range s.Hosts {
		if adding && !m.free[h.Name] && !m.as.locked[h.Name] {
			continue
		}
		m.hosts = append(m.hosts, h.Name)
	}
	// start on the first host that can be chosen
	for i, h := range m.hosts {
		if m.free[h] {
			m.cursor = i
			break
		}
	}
	return m
}

func (m pairsModel) hostFacts(h string) *steps.HostFacts {
	if m.facts == nil {
		return nil
	}
	return m.facts.Hosts[h]
}

// openPicker opens the disk list of a host.
func (m *pairsModel) openPicker(host string) {
	hf := m.hostFacts(host)
	if hf == nil {
		m.note, m.warn = host+" was not discovered: it has no disks to offer", true
		return
	}
	m.picking = host
	m.disks = nil
	m.diskCursor = 0
	for _, d := range sortedDisks(hf) {
		m.disks = append(m.disks, classifyDisk(d))
	}
	// start on the first blank disk
	for i, d := range m.disks {
		if d.blank() && !d.tooSmall {
			m.diskCursor = i
			break
		}
	}
	m.note = ""
	if len(m.disks) == 0 {
		m.picking = ""
		m.note, m.warn = host+" has no disk", true
	}
}

func (m *pairsModel) update(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	if m.picking != "" {
		return m.updatePicker(k)
	}
	host := ""
	if m.cursor < len(m.hosts) {
		host = m.hosts[m.cursor]
	}
	m.note, m.warn = "", false
	switch {
	case key.Matches(k, keyBack):
		return emit(backMsg{})
	case key.Matches(k, keyUp):
		m.cursor = max(m.cursor-1, 0)
	case key.Matches(k, keyDown):
		m.cursor = min(m.cursor+1, len(m.hosts)-1)
	case key.Matches(k, keyStorage):
		if m.as.locked[host] {
			m.note, m.warn = fmt.Sprintf("%s is %s in the spec; that stays as it is", host, m.as.roleOf(host)), true
		} else if r := m.as.roleOf(host); r != "" {
			m.note, m.warn = fmt.Sprintf("%s is already %s: clear it first (x)", host, r), true
		} else {
			m.openPicker(host)
		}
	case key.Matches(k, keyClient):
		if err := m.as.toggleClient(host); err != nil {
			m.note, m.warn = err.Error(), true
		}
	case key.Matches(k, keyClear):
		if err := m.as.clear(host); err != nil {
			m.note, m.warn = err.Error(), true
		}
	case key.Matches(k, keyOnward):
		pairs, clients, wipe, err := m.as.result()
		if err != nil {
			m.note, m.warn = err.Error(), true
			return nil
		}
		return emit(pairsDoneMsg{pairs: pairs, clients: clients, wipe: wipe})
	}
	return nil
}

func (m *pairsModel) updatePicker(k tea.KeyPressMsg) tea.Cmd {
	m.note, m.warn = "", false
	d := m.disks[m.diskCursor]
	mark := m.picking + ":" + d.path
	switch {
	case key.Matches(k, keyClose):
		m.picking = ""
	case key.Matches(k, keyUp):
		m.diskCursor = max(m.diskCursor-1, 0)
	case key.Matches(k, keyDown):
		m.diskCursor = min(m.diskCursor+1, len(m.disks)-1)
	case key.Matches(k, keyWipe):
		switch {
		case d.blank():
			m.note = d.path + " is blank: nothing to wipe"
		case !d.wipeable:
			m.note, m.warn = d.path+" is "+strings.Join(d.use, "; ")+": a mounted or held disk is never wiped", true
		case !d.id.HasIdentity():
			m.note, m.warn = d.path+" has no WWN nor serial: scalestore wipes only a disk it can tell from another one given the same name later. Wipe it by hand, or pick another disk.", true
		default:
			m.wipeMark[mark] = !m.wipeMark[mark]
		}
	case key.Matches(k, keyPick):
		err := m.as.addHalf(m.picking, d, m.wipeMark[mark])
		switch {
		case errors.Is(err, errNeedsWipe):
			m.note, m.warn = fmt.Sprintf("%s:%s has data (%s). It can back a pair only if it is wiped: press w to mark it for wiping, then enter.", m.picking, d.path, strings.Join(d.use, "; ")), true
		case err != nil:
			m.note, m.warn = err.Error(), true
		default:
			m.picking = ""
		}
	}
	return nil
}

// setSize: the table is drawn at the size view is given.
func (m *pairsModel) setSize(int, int) {}

func (m *pairsModel) help() []key.Binding {
	if m.picking != "" {
		return []key.Binding{keyUp, keyDown, keyPick, keyWipe, keyClose}
	}
	ks := []key.Binding{keyUp, keyDown}
	if !m.as.client {
		ks = append(ks, keyStorage)
	}
	if !m.as.adding || m.as.client {
		ks = append(ks, keyClient)
	}
	return append(ks, keyClear, keyOnward, keyBack)
}

func (m *pairsModel) view(width, height int) string {
	var b strings.Builder
	if m.picking != "" {
		b.WriteString(styleTitle.Render("Pick the disk "+m.picking+" mirrors") + "\n\n")
	} else if m.as.client {
		b.WriteString(styleTitle.Render("The new client") + "\n")
		b.WriteString(wrap("Mark the host that joins as a client (c): it imports every pair and mounts the filesystem. The pairs and the other clients stay as they are.", width) + "\n\n")
	} else if m.as.adding {
		b.WriteString(styleTitle.Render("The new pair") + "\n")
		b.WriteString(wrap("Pick the two new storage servers and the disk each one mirrors (s). The existing pairs and the clients stay as they are.", width) + "\n\n")
	} else {
		b.WriteString(styleTitle.Render("Pairs and clients") + "\n")
		b.WriteString(wrap("Make storage servers halves of a pair, two per pair, each with the disk it mirrors (s). Mark the hosts that mount the filesystem as clients (c).", width) + "\n\n")
	}
	nameW, roleW := 4, 4
	roles := map[string]string{}
	for _, h := range m.hosts {
		nameW = max(nameW, len(h))
		roles[h] = m.roleText(h)
		roleW = max(roleW, ansi.StringWidth(roles[h]))
	}
	b.WriteString(styleDim.Render(fmt.Sprintf("  %-*s  %-*s  %s", nameW, "HOST", roleW, "ROLE", "DISK")) + "\n")
	for i, h := range m.hosts {
		disk := ""
		if hp := m.as.half(h); hp != nil {
			disk = hp.disk
			if hf := m.hostFacts(h); hf != nil && hf.Disks[hp.disk] != nil {
				disk += " " + sizeText(hf.Disks[hp.disk].Size)
			}
			if hp.wipe {
				disk += " " + styleDanger.Render("WIPE")
			}
		} else if m.as.roleOf(h) == "" && m.hostFacts(h) != nil {
			disk = styleDim.Render(freeDisks(m.hostFacts(h)))
		}
		cur := "  "
		name := fmt.Sprintf("%-*s", nameW, h)
		if i == m.cursor && m.picking == "" {
			cur = styleSelected.Render("> ")
			name = styleSelected.Render(name)
		}
		role := roles[h] + strings.Repeat(" ", roleW-ansi.StringWidth(roles[h]))
		b.WriteString(wrapIndent(cur+name+"  "+role+"  "+disk, width, nameW+roleW+6) + "\n")
	}
	if m.picking != "" {
		b.WriteString("\n" + styleBold.Render("Disks on "+m.picking) + styleDim.Render("  (enter: use it · w: mark an in-use disk for wiping)") + "\n")
		for i, d := range m.disks {
			cur := "  "
			path := fmt.Sprintf("%-10s", d.path)
			if i == m.diskCursor {
				cur = styleSelected.Render("> ")
				path = styleSelected.Render(path)
			}
			state := d.label()
			switch {
			case m.wipeMark[m.picking+":"+d.path]:
				state = styleDanger.Render("MARKED FOR WIPING: ") + state
			case d.blank() && !d.tooSmall:
				state = stylePass.Render(state)
			default:
				state = styleWarn.Render(state)
			}
			b.WriteString(wrapIndent(fmt.Sprintf("%s%s %9s  %s", cur, path, sizeText(d.size), state), width, 24) + "\n") // under the state
		}
		if len(m.disks) > 0 {
			d := m.disks[m.diskCursor]
			if det := d.details(); det != "" {
				b.WriteString(styleDim.Render(wrapIndent("  "+det, width, 4)) + "\n")
			}
			if m.wipeMark[m.picking+":"+d.path] {
				b.WriteString("\n" + styleFailBox.Render(wrap(fmt.Sprintf("WIPE: every byte on %s:%s (%s) will be ERASED when the plan runs. This cannot be undone. Press w again to take the mark away.", m.picking, d.path, strings.Join(d.use, "; ")), min(width-4, 76))) + "\n")
			}
		}
	} else {
		b.WriteString("\n" + m.summary(width))
	}
	if m.note != "" {
		st := styleDim
		if m.warn {
			st = styleWarn
		}
		b.WriteString("\n" + st.Render(wrap(m.note, width)) + "\n")
	}
	return b.String()
}

// roleText is a host's role as the table shows it: "pair r0 · a",
// "client", "—" for none, and "(kept)" after a role the spec fixes.
func (m *pairsModel) roleText(h string) string {
	role := m.as.roleOf(h)
	if role == "" {
		role = "—"
	}
	if m.as.locked[h] {
		role += " (kept)"
	}
	return role
}

// freeDisks lists the blank disks of a host in a few words.
func freeDisks(hf *steps.HostFacts) string {
	var blank []string
	for _, d := range sortedDisks(hf) {
		ds := classifyDisk(d)
		if ds.blank() && !ds.tooSmall {
			blank = append(blank, strings.TrimPrefix(d.Path, "/dev/")+" "+sizeText(d.Size))
		}
	}
	if len(blank) == 0 {
		return "no blank disk"
	}
	return "blank: " + strings.Join(blank, ", ")
}

// summary says what the assignment makes so far.
func (m pairsModel) summary(width int) string {
	var b strings.Builder
	for _, p := range m.as.pairs {
		var hs []string
		for _, h := range p.halves {
			hs = append(hs, h.host+":"+h.disk)
		}
		if len(hs) == 1 {
			hs = append(hs, styleWarn.Render("(pick the b half)"))
		}
		line := fmt.Sprintf("  pair r%d  %s", p.id, strings.Join(hs, " ══ "))
		if p.locked {
			line = styleDim.Render(line)
		}
		b.WriteString(wrapIndent(line, width, 11) + "\n")
	}
	if len(m.as.clients) > 0 {
		b.WriteString(wrapIndent("  clients  "+strings.Join(m.as.clients, ", "), width, 11) + "\n")
	}
	return b.String()
}
