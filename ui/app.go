// Package ui is scalestore's terminal wizard: a bubbletea program that takes
// an operator from nothing (or an existing spec) to a running cluster, one
// screen at a time. Each screen is its own model (welcome.go … done.go);
// app.go moves between them. Every piece of I/O (SSH, the engine, saving
// the spec) runs in a tea.Cmd, never inside Update.
package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"scalestore/checks"
	"scalestore/config"
	"scalestore/steps"
)

// DefaultSpecPath is where a new cluster's spec is saved when Options.SpecPath is empty.
const DefaultSpecPath = "scalestore.toml"

// Options configure the wizard.
type Options struct {
	// SpecPath is the cluster spec. When it exists, the wizard opens it
	// (add a storage pair, apply again, status); when it does not, the
	// wizard builds a new cluster and saves its spec there. Empty means
	// DefaultSpecPath in the current directory.
	SpecPath string
	// In and Out are the terminal; nil means stdin and stdout. Tests pass
	// pipes.
	In  io.Reader
	Out io.Writer
	// Width and Height set the initial window size when Out is not a
	// terminal (tests); 0 lets the terminal tell.
	Width, Height int

	// Logger gets the SSH layer's debug records (main's -v); nil: none.
	Logger *slog.Logger

	// Graph runs the plan as a graph (main's --schedule graph): each step
	// on each host as soon as what it needs is done (steps.Engine.Graph).
	Graph bool
	// Concurrency caps the hosts working at once (main's --concurrency;
	// 0: no cap).
	Concurrency int

	// connect opens the SSH side; nil means connectSSH (tests script it).
	connect connectFunc
	// discover reads the hosts for preflight; nil means steps.Discover
	// (tests pin the hosts' clock skew).
	discover discoverFunc
}

// ErrApplyFailed is returned (wrapped) by Run when the operator quits after
// an apply that failed or was stopped; running apply again resumes it.
var ErrApplyFailed = errors.New("apply did not finish")

// Run runs the wizard until the operator quits. It returns nil after a
// normal quit, an error wrapping ErrApplyFailed when the last apply failed
// or was stopped, or the terminal's error.
func Run(ctx context.Context, o Options) error {
	ctx, cancel := context.WithCancel(ctx)
	a := newApp(ctx, o)
	// Cancel first: a host still connecting gives up, so closing the SSH
	// side does not wait for it.
	defer func() { cancel(); a.close() }()
	opts := []tea.ProgramOption{tea.WithContext(ctx)}
	if o.In != nil {
		opts = append(opts, tea.WithInput(o.In))
	}
	if o.Out != nil {
		opts = append(opts, tea.WithOutput(o.Out))
	}
	if o.Width > 0 && o.Height > 0 {
		opts = append(opts, tea.WithWindowSize(o.Width, o.Height))
	}
	final, err := tea.NewProgram(a, opts...).Run()
	if err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		return err
	}
	if fa, ok := final.(*app); ok && fa.result != nil {
		return fa.result
	}
	return nil
}

// mode is what the operator came to do.
type mode int

const (
	modeNew       mode = iota // build a new cluster
	modeAddPair               // add a storage pair to an existing spec
	modeApply                 // apply an existing spec again
	modeAddClient             // add a client to an existing spec
)

// screen names the wizard's screens, in order.
type screen int

const (
	scrWelcome screen = iota
	scrHosts
	scrDiscover
	scrPairs
	scrSettings
	scrPreflight
	scrReview
	scrRun
	scrDone
)

var screenNames = [...]string{"Welcome", "Hosts", "Discovery", "Pairs", "Settings", "Preflight", "Review", "Apply", "Done"}

// Transitions: the screens ask the app to move on with these messages.
type (
	startNewMsg       struct{}
	startAddPairMsg   struct{}
	startAddClientMsg struct{}
	startApplyMsg     struct{}
	backMsg           struct{}
	quitMsg           struct{}
	hostsDoneMsg      struct {
		spec  *config.Spec
		added []config.Host
	}
	discoverDoneMsg struct{ facts *steps.Facts }
	pairsDoneMsg    struct {
		pairs   []config.Pair
		clients []config.Client
		wipe    []string
	}
	settingsDoneMsg  struct{ spec *config.Spec }
	preflightDoneMsg struct{}
	applyMsg         struct{} // review: save the spec and run
	againMsg         struct{} // done: apply again
	savedMsg         struct {
		spec *config.Spec
		err  error
	}
)

func emit(m tea.Msg) tea.Cmd { return func() tea.Msg { return m } }

// app is the wizard's state machine.
type app struct {
	ctx      context.Context
	specPath string
	connect  connectFunc
	readAll  discoverFunc // preflight's reading of the hosts
	prompter *prompter
	clock    func() time.Time // time.Now; tests move their own
	// schedule is how runs order the plan (Options.Graph, Concurrency)
	schedule schedule

	mode   mode
	screen screen
	width  int
	height int

	// spec is the cluster being built or the one opened; loaded is the
	// spec as the file holds it (nil for a new cluster); loadErr is why
	// the file could not be opened.
	spec    *config.Spec
	loaded  *config.Spec
	loadErr error
	// lastApplied is the spec of the last apply recorded on this machine
	// (config.SaveApplied; nil: none), appliedErr why it could not be read.
	lastApplied *config.Spec
	appliedErr  error
	added       []config.Host   // add-pair: hosts appended with the pair
	newPair     *config.Pair    // add-pair: the pair appended
	newClients  []config.Client // add-client: the clients appended
	facts       *steps.Facts    // the wizard's discovery (every disk of every host)
	pre         preflightResult

	src      steps.HostSource
	closeSrc func()

	prompts []promptModel // questions from SSH: the first is on screen

	// the screens (page.go): each made when the wizard first reaches it
	welcome   *welcomeModel
	hosts     *hostsModel
	discover  *discoverModel
	pairs     *pairsModel
	settings  *settingsModel
	preflight *preflightModel
	review    *reviewModel
	run       *runModel
	done      *doneModel

	help    help.Model
	body    viewport.Model // the body, when it is taller than the room
	allKeys bool           // ? shows every key of the screen
	// following: the body keeps the screen's cursor in sight, after a
	// resize too: from entering a screen or a key on it (the first
	// welcome screen shows its top until a key: a spec's errors are read
	// from their start).
	following bool
	result    error // what Run returns
}

func newApp(ctx context.Context, o Options) *app {
	a := &app{ctx: ctx, specPath: o.SpecPath, connect: o.connect, readAll: o.discover, prompter: newPrompter(), clock: time.Now, help: helpModel(), body: viewport.New(), width: 80, height: 24}
	a.schedule = schedule{graph: o.Graph, concurrency: o.Concurrency}
	if a.specPath == "" {
		a.specPath = DefaultSpecPath
	}
	if a.connect == nil {
		a.connect = connectSSH(o.Logger)
	}
	if a.readAll == nil {
		a.readAll = steps.Discover
	}
	if o.Width > 0 {
		a.width, a.height = o.Width, o.Height
	}
	if _, err := os.Stat(a.specPath); err == nil {
		a.loaded, a.loadErr = config.Load(a.specPath)
		a.spec = a.loaded
	} else if !errors.Is(err, os.ErrNotExist) {
		a.loadErr = err
	}
	if a.loaded != nil {
		a.lastApplied, a.appliedErr = config.LoadApplied(a.loaded.Cluster.Name)
	}
	a.welcome = a.newWelcome()
	return a
}

// newWelcome is the welcome screen of the spec as the file holds it, with
// what changed since the last apply recorded on this machine.
func (a *app) newWelcome() *welcomeModel {
	m := newWelcome(a.specPath, a.loaded, a.loadErr)
	m.applied, m.appliedErr = a.lastApplied != nil, a.appliedErr
	m.changes = config.Changes(a.lastApplied, a.loaded)
	return m
}

func (a *app) close() {
	if a.closeSrc != nil {
		a.closeSrc()
		a.closeSrc = nil
	}
}

// hostsSource opens (or reuses) the SSH side for the current spec.
func (a *app) hostsSource() steps.HostSource {
	if a.src == nil {
		a.src, a.closeSrc = a.connect(a.spec, a.prompter)
	}
	return a.src
}

// resetSource forgets the SSH side (the hosts changed, or a fixed
// known_hosts or key is to be read again) and returns the command that
// closes it: closing waits for the connections, so it never runs in Update.
func (a *app) resetSource() tea.Cmd {
	closeSrc := a.closeSrc
	a.src, a.closeSrc = nil, nil
	if closeSrc == nil {
		return nil
	}
	return func() tea.Msg { closeSrc(); return nil }
}

func (a *app) Init() tea.Cmd {
	return waitPrompt(a.ctx, a.prompter.ch)
}

func (a *app) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		a.width, a.height = msg.Width, msg.Height
		a.help.SetWidth(msg.Width - 2)
		a.resize()
		if a.following {
			a.followCursor() // a smaller body may have left it out of sight
		}
		return a, nil
	case promptMsg:
		if len(a.prompts) == 0 {
			a.body.GotoTop() // the question is read from its start, not where the screen was scrolled
		}
		a.prompts = append(a.prompts, newPromptModel(msg))
		return a, waitPrompt(a.ctx, a.prompter.ch)
	case quitMsg:
		return a, tea.Quit
	}
	// A question from SSH takes the keyboard until it is answered (but for
	// the keys that scroll it, when it is taller than the room).
	if len(a.prompts) > 0 {
		if k, ok := msg.(tea.KeyPressMsg); ok {
			if a.scrollBody(k) {
				return a, nil
			}
			var cmd tea.Cmd
			a.prompts[0], cmd = a.prompts[0].Update(msg)
			if a.prompts[0].done {
				a.prompts = a.prompts[1:]
			}
			return a, cmd
		}
	}
	if k, ok := msg.(tea.KeyPressMsg); ok {
		if k.String() == "ctrl+c" && a.screen != scrRun {
			return a, tea.Quit
		}
		if a.allKeys || (key.Matches(k, keyAllKeys) && !a.typing()) {
			a.allKeys = !a.allKeys // any key closes the list
			return a, nil
		}
		if a.scrollBody(k) {
			return a, nil
		}
	}
	if cmd, ok := a.transition(msg); ok {
		return a, cmd
	}
	cmd := a.page().update(msg)
	if _, ok := msg.(tea.KeyPressMsg); ok {
		a.following = true
		a.followCursor()
	}
	return a, cmd
}

// transition handles the messages that move between screens.
func (a *app) transition(msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case startNewMsg:
		a.mode = modeNew
		a.spec = &config.Spec{Path: a.specPath}
		a.hosts = newHostsModel(a.spec, false, a.width)
		return a.enter(scrHosts, a.hosts.Init()), true
	case startAddPairMsg:
		a.mode = modeAddPair
		a.spec = cloneSpec(a.loaded)
		a.added = nil
		a.hosts = newHostsModel(a.spec, true, a.width)
		return a.enter(scrHosts, a.hosts.Init()), true
	case startAddClientMsg:
		a.mode = modeAddClient
		a.spec = cloneSpec(a.loaded)
		a.added, a.newClients = nil, nil
		a.hosts = newClientHostsModel(a.spec, a.width)
		return a.enter(scrHosts, a.hosts.Init()), true
	case startApplyMsg:
		a.mode = modeApply
		a.spec = a.loaded
		return a.startPreflight(), true
	case backMsg:
		return a.back(), true
	case hostsDoneMsg:
		a.spec = msg.spec
		a.added = msg.added
		closeOld := a.resetSource()
		a.discover = newDiscoverModel(a.discoverNames(), a.clock)
		return a.enter(scrDiscover, tea.Batch(closeOld, a.discover.start(a.ctx, a.hostsSource(), a.spec))), true
	case rediscoverMsg:
		closeOld := a.resetSource()
		return tea.Batch(closeOld, a.discover.start(a.ctx, a.hostsSource(), a.spec)), true
	case statusWantedMsg:
		return readStatus(a.ctx, a.hostsSource(), msg.spec), true
	case discoverDoneMsg:
		a.facts = msg.facts
		a.pairs = newPairsModel(a.spec, a.facts, a.mode == modeAddPair || a.mode == modeAddClient, a.discoverNames())
		a.pairs.as.client = a.mode == modeAddClient
		return a.enter(scrPairs, nil), true
	case pairsDoneMsg:
		s := cloneSpec(a.spec)
		s.Pairs, s.Clients = msg.pairs, msg.clients
		s.Wipe.Devices = msg.wipe
		a.spec = s
		if a.mode == modeAddClient {
			a.newClients = msg.clients[len(a.loaded.Clients):]
			return a.startPreflight(), true
		}
		if a.mode == modeAddPair {
			np := msg.pairs[len(msg.pairs)-1]
			a.newPair = &np
			return a.startPreflight(), true
		}
		a.settings = newSettingsModel(a.spec, a.width)
		return a.enter(scrSettings, a.settings.Init()), true
	case settingsDoneMsg:
		if err := msg.spec.Validate(); err != nil { // fills the defaults
			a.settings.problems = []string{err.Error()}
			return nil, true
		}
		a.spec = msg.spec
		return a.startPreflight(), true
	case preflightResultMsg:
		a.pre = preflightResult(msg)
		return a.preflight.update(msg), true
	case preflightDoneMsg:
		plan := steps.Build(a.spec, a.pre.facts)
		a.review = newReviewModel(a.reviewInput(plan), a.width, a.height)
		return a.enter(scrReview, a.review.probe(a.ctx, a.hostsSource())), true
	case reprobeMsg:
		return a.review.probe(a.ctx, a.hostsSource()), true
	case applyMsg:
		return a.save(), true
	case savedMsg:
		if msg.err != nil {
			a.review.saveErr = msg.err
			a.review.saving = false
			return nil, true
		}
		// The SSH connections made for discovery and preflight go on: the
		// hosts are the same, and nobody is asked for a password twice.
		a.spec = msg.spec
		a.loaded = msg.spec
		plan := steps.Build(a.spec, a.pre.facts)
		a.run = newRunModel(plan, a.width, a.height)
		a.run.spec = a.spec
		a.run.schedule = a.schedule
		return a.enter(scrRun, a.run.start(a.ctx, a.hostsSource())), true
	case recheckMsg:
		return a.startPreflight(), true
	case runEndedMsg:
		if msg.err == nil && msg.recordErr == nil {
			a.lastApplied, a.appliedErr = a.spec, nil
		}
		a.result = nil
		if msg.err != nil {
			a.result = fmt.Errorf("%w: %v", ErrApplyFailed, msg.err)
		}
		var grow *lvGrowth
		if a.mode == modeAddPair {
			grow = &lvGrowth{before: a.pre.lvBytes}
		}
		a.done = newDoneModel(a.spec, a.run.outcome(msg.runFinishedMsg), grow, a.specPath, a.width)
		return a.enter(scrDone, a.done.start(a.ctx, a.hostsSource(), a.spec)), true
	case againMsg:
		a.mode = modeApply
		return a.startPreflight(), true
	}
	return nil, false
}

// discoverNames are the hosts the wizard reads: every host of a new cluster;
// when adding a pair, only those not yet in a pair or a client.
func (a *app) discoverNames() []string {
	var out []string
	for _, h := range a.spec.Hosts {
		if (a.mode == modeAddPair || a.mode == modeAddClient) && steps.Role(a.spec, h.Name) != "" {
			continue
		}
		out = append(out, h.Name)
	}
	return out
}

func (a *app) startPreflight() tea.Cmd {
	a.preflight = newPreflightModel(a.spec, a.mode == modeAddPair, a.width)
	a.preflight.discover = a.readAll
	return a.enter(scrPreflight, a.preflight.start(a.ctx, a.hostsSource(), a.spec))
}

func (a *app) reviewInput(plan *steps.Plan) reviewInput {
	in := reviewInput{plan: plan, spec: a.spec, path: a.specPath, results: a.pre.results}
	in.built = a.lastApplied != nil && a.lastApplied.Cluster.Name == a.spec.Cluster.Name
	switch a.mode {
	case modeNew:
		in.saveNote = "The spec is saved to " + a.specPath + " before anything runs."
		if _, err := os.Stat(a.specPath); err == nil {
			in.saveNote = a.specPath + " exists and is replaced (the old one is kept as " + a.specPath + ".bak)."
		}
	case modeAddPair:
		in.saveNote = fmt.Sprintf("Pair r%d is appended to %s (its comments and the rest of it are kept) before anything runs.", a.newPair.Num(), a.specPath)
		in.newPair = a.newPair
	case modeAddClient:
		var names []string
		for _, c := range a.newClients {
			names = append(names, c.Host)
		}
		in.saveNote = fmt.Sprintf("Client %s is appended to %s (its comments and the rest of it are kept) before anything runs.", strings.Join(names, ", "), a.specPath)
	case modeApply:
		in.saveNote = "The spec in " + a.specPath + " is used as it is."
	}
	return in
}

// save writes the spec (a new file, or the pair appended) and loads it back:
// the run uses exactly what the file says.
func (a *app) save() tea.Cmd {
	path, s, m := a.specPath, a.spec, a.mode
	var pair config.Pair
	if a.newPair != nil {
		pair = *a.newPair
	}
	added, clients := a.added, a.newClients
	return func() tea.Msg {
		var err error
		switch m {
		case modeNew:
			err = s.Save(path)
		case modeAddPair:
			err = config.AppendPair(path, pair, added...)
		case modeAddClient:
			for i, c := range clients {
				if i > 0 {
					added = nil // with the first
				}
				if err = config.AppendClient(path, c, added...); err != nil {
					break
				}
			}
		}
		if err != nil {
			return savedMsg{err: err}
		}
		loaded, err := config.Load(path)
		return savedMsg{spec: loaded, err: err}
	}
}

func (a *app) back() tea.Cmd {
	switch a.screen {
	case scrHosts:
		a.welcome = a.newWelcome()
		return a.enter(scrWelcome, nil)
	case scrDiscover:
		return a.enter(scrHosts, a.hosts.reopenAtHosts())
	case scrPairs:
		return a.enter(scrDiscover, nil)
	case scrSettings:
		return a.enter(scrPairs, nil)
	case scrPreflight:
		switch a.mode {
		case modeNew:
			a.settings.reopen()
			return a.enter(scrSettings, a.settings.Init())
		case modeAddPair, modeAddClient:
			return a.enter(scrPairs, nil)
		}
		return a.enter(scrWelcome, nil)
	case scrReview:
		return a.enter(scrPreflight, nil)
	}
	return nil
}

func (a *app) enter(s screen, cmd tea.Cmd) tea.Cmd {
	a.screen = s
	a.body.GotoTop()
	a.resize()
	a.following = true
	a.followCursor()
	return cmd
}

// bodySize is the room a screen has between the header and the help line.
func (a *app) bodySize() (int, int) {
	return max(a.width-2, 20), max(a.height-4, 6)
}

func (a *app) resize() {
	a.page().setSize(a.bodySize())
}

// keys are the keys the screen on show (or the question over it) handles.
func (a *app) keys() []key.Binding {
	if len(a.prompts) > 0 {
		return a.prompts[0].help()
	}
	return a.page().help()
}

// The keys that scroll a body taller than the room: the arrows when the
// screen has no use for them, else the page keys.
var (
	keyScroll     = key.NewBinding(key.WithKeys("up", "down", "pgup", "pgdown", "home", "end"), key.WithHelp("↑/↓", "scroll"))
	keyScrollPage = key.NewBinding(key.WithKeys("pgup", "pgdown", "home", "end"), key.WithHelp("pgup/pgdn", "scroll"))
)

// hints are the key-hint bar's keys: how to scroll when part of the body
// is hidden (first: a narrow bar cuts its end), then the screen's keys that
// have a help text.
func (a *app) hints(over bool) []key.Binding {
	var out []key.Binding
	if over {
		out = append(out, a.scrollKey())
	}
	for _, k := range a.keys() {
		if k.Help().Key != "" {
			out = append(out, k)
		}
	}
	return out
}

// keyAllKeys lists every key of the screen when the bar cannot hold them.
var keyAllKeys = key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "all keys"))

// footer is the key-hint bar. When its keys do not fit, it shows those
// that do and then "? all keys" (but for a screen whose fields take text:
// there ? is typed).
func (a *app) footer(over bool) string {
	ks := a.hints(over)
	bar := a.help.ShortHelpView(ks)
	if !strings.HasSuffix(strings.TrimSpace(plain(bar)), "…") || a.typing() {
		return bar
	}
	for n := len(ks) - 1; n > 0; n-- {
		if bar := a.help.ShortHelpView(append(ks[:n:n], keyAllKeys)); !strings.HasSuffix(strings.TrimSpace(plain(bar)), "…") {
			return bar
		}
	}
	return bar
}

// typing reports whether the screen (or the question on it) has a field
// that takes text: those screens list keyFormMoves.
func (a *app) typing() bool {
	for _, k := range a.keys() {
		if slices.Equal(k.Keys(), keyFormMoves.Keys()) {
			return true
		}
	}
	return false
}

// keyList is the body ? shows: every key of the screen and what it does.
func (a *app) keyList() string {
	var b strings.Builder
	b.WriteString(styleTitle.Render("Keys") + styleDim.Render("  (any key goes back)") + "\n\n")
	for _, k := range a.hints(false) {
		b.WriteString("  " + styleKey.Render(k.Help().Key) + "  " + k.Help().Desc + "\n")
	}
	return b.String()
}

// scrollKey is how the body scrolls on this screen.
func (a *app) scrollKey() key.Binding {
	for _, k := range a.keys() {
		if slices.Contains(k.Keys(), "up") || slices.Contains(k.Keys(), "down") {
			return keyScrollPage
		}
	}
	return keyScroll
}

// layoutBody draws the body; one taller than the room goes into the
// body's viewport (over is then true).
func (a *app) layoutBody() (body string, over bool) {
	w, h := a.bodySize()
	switch {
	case len(a.prompts) > 0:
		body = a.prompts[0].View(w)
	case a.allKeys:
		body = a.keyList()
	default:
		body = a.page().view(w, h)
	}
	body = strings.TrimRight(body, "\n")
	if lipgloss.Height(body) <= h {
		return body, false
	}
	a.body.SetWidth(w)
	a.body.SetHeight(h - 1) // the last line says what is hidden
	a.body.SetContent(body)
	return body, true
}

// scrollBody scrolls a body taller than the room for a scroll key the
// screen does not handle itself; it reports whether it did.
func (a *app) scrollBody(k tea.KeyPressMsg) bool {
	for _, b := range a.keys() {
		if key.Matches(k, b) {
			return false
		}
	}
	if !key.Matches(k, a.scrollKey()) {
		return false
	}
	if _, over := a.layoutBody(); !over {
		return false
	}
	switch k.String() {
	case "up":
		a.body.ScrollUp(1)
	case "down":
		a.body.ScrollDown(1)
	case "pgup":
		a.body.PageUp()
	case "pgdown":
		a.body.PageDown()
	case "home":
		a.body.GotoTop()
	case "end":
		a.body.GotoBottom()
	}
	return true
}

// followCursor scrolls a body taller than the room so that the screen's
// cursor (the line that starts with "> ") is in sight.
func (a *app) followCursor() {
	body, over := a.layoutBody()
	if !over {
		return
	}
	for i, l := range strings.Split(plain(body), "\n") {
		if !strings.HasPrefix(l, "> ") {
			continue
		}
		switch top, rows := a.body.YOffset(), a.body.Height(); {
		case i < top:
			a.body.SetYOffset(i)
		case i >= top+rows:
			a.body.SetYOffset(i - rows + 1)
		}
		return
	}
}

// scrolled is the body's viewport and the line under it that says how much
// is hidden below (or, at the end, above).
func (a *app) scrolled() string {
	below := a.body.TotalLineCount() - a.body.YOffset() - a.body.VisibleLineCount()
	hint := fmt.Sprintf("↓ %d more lines", below)
	if below <= 0 {
		hint = fmt.Sprintf("↑ %d lines above", a.body.YOffset())
	}
	return a.body.View() + "\n" + styleDim.Render(hint)
}

// header is the title line: the brand, what is being done, and where.
func (a *app) header() string {
	what := "new cluster"
	switch {
	case a.screen == scrWelcome:
		what = ""
	case a.mode == modeAddPair:
		what = "add a storage pair"
	case a.mode == modeAddClient:
		what = "add a client"
	case a.mode == modeApply:
		what = "apply"
	}
	var crumbs []string
	n, at := 0, 0
	for s := scrHosts; s <= scrDone; s++ {
		if !a.visits(s) {
			continue
		}
		n++
		if s == a.screen {
			at = n
			crumbs = append(crumbs, styleCrumbNow.Render(screenNames[s]))
		} else {
			crumbs = append(crumbs, styleCrumb.Render(screenNames[s]))
		}
	}
	left := styleBrand.Render("scalestore")
	if what != "" {
		left += " " + styleBold.Render(what)
	}
	line := left
	if a.screen != scrWelcome {
		trail := strings.Join(crumbs, styleCrumb.Render(" › "))
		if lipgloss.Width(left)+2+lipgloss.Width(trail) <= a.width-2 {
			line = left + "  " + trail
		} else {
			line = left + "  " + styleCrumbNow.Render(screenNames[a.screen]) + styleCrumb.Render(fmt.Sprintf(" (step %d of %d)", at, n))
		}
	}
	return line
}

// visits reports whether the current mode passes through a screen.
func (a *app) visits(s screen) bool {
	switch a.mode {
	case modeAddPair, modeAddClient:
		return s != scrSettings
	case modeApply:
		return s >= scrPreflight
	}
	return true
}

func (a *app) View() tea.View {
	w, h := a.bodySize()
	body, over := a.layoutBody()
	if over {
		body = a.scrolled()
	}
	if pad := h - lipgloss.Height(body); pad > 0 {
		body += strings.Repeat("\n", pad)
	}
	content := styleApp.Render(a.header() + "\n\n" + body + "\n" + truncate(a.footer(over), w))
	v := tea.NewView(content)
	v.AltScreen = true
	v.WindowTitle = "scalestore"
	if a.screen == scrRun && !a.run.finished {
		v.ProgressBar = a.run.terminalProgress()
	}
	return v
}

// cloneSpec copies a spec deeply enough for the wizard to change its lists.
func cloneSpec(s *config.Spec) *config.Spec {
	if s == nil {
		return &config.Spec{}
	}
	c := *s
	c.Hosts = append([]config.Host(nil), s.Hosts...)
	c.Pairs = append([]config.Pair(nil), s.Pairs...)
	c.Clients = append([]config.Client(nil), s.Clients...)
	c.Wipe.Devices = append([]string(nil), s.Wipe.Devices...)
	return &c
}

// preflightResult is what the preflight screen learnt.
type preflightResult struct {
	facts   *steps.Facts
	results []checks.Result
	lvBytes int64 // add-pair: LV size before the run (0: unknown)
}
