package ui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"scalestore/checks"
	"scalestore/config"
	"scalestore/remote"
	"scalestore/steps"
)

// labSpec is a new cluster's spec as the hosts form leaves it.
func labSpec(path string) *config.Spec {
	s := &config.Spec{Path: path}
	s.Cluster.Name = "lab"
	s.SSH.HostKeyPolicy = config.PolicyAcceptNew
	for _, h := range [][2]string{{"storage0a", "10.0.0.11"}, {"storage0b", "10.0.0.12"}, {"client0", "10.0.0.21"}, {"client1", "10.0.0.22"}} {
		s.Hosts = append(s.Hosts, config.Host{Name: h[0], Address: h[1]})
	}
	return s
}

// atDiscovery is the wizard of a new cluster whose hosts form is done.
func atDiscovery(t *testing.T, f *fakeHosts) (*harness, string) {
	path := filepath.Join(t.TempDir(), "scalestore.toml")
	h := newTestApp(t, path, f)
	h.keys("n")
	h.send(hostsDoneMsg{spec: labSpec(path)})
	return h, path
}

func TestDiscoveryShowsEachHost(t *testing.T) {
	// hosts that never answer: the screen shows them pending
	h, _ := atDiscovery(t, nil)
	a := h.app()
	if a.screen != scrDiscover {
		t.Fatal(a.screen)
	}
	// the hosts' answers arrive one by one (real captures)
	a.discover.pending = map[string]bool{"storage0a": true, "storage0b": true, "client0": true, "client1": true}
	a.discover.errs = map[string]error{}
	h.send(hostDiscoveredMsg{host: "storage0a", facts: facts(t, readTestdata(t, "discover-storage-disks.txt"), "storage0a")})
	s := h.screen()
	if !strings.Contains(s, "storage0a  Debian GNU/Linux 12 (bookworm), kernel 6.1.0-56-amd64") || !strings.Contains(s, "disks: vda 20 GiB, vdb 64 MiB, vdc 1 GiB") ||
		!strings.Contains(s, "1 read, 0 failed, 3 connecting") || !strings.Contains(s, "connecting…") {
		t.Fatalf("after one host:\n%s", s)
	}
	h.send(hostDiscoveredMsg{host: "storage0b", facts: facts(t, capture(t, "discover-storage0a-blank.txt"), "storage0b")},
		hostDiscoveredMsg{host: "client0", facts: facts(t, capture(t, "discover-client0.txt"), "client0")},
		hostDiscoveredMsg{host: "client1", err: errors.New(`connect to client1: host key of client1 (10.0.0.22:22) is unknown (ssh-ed25519 key SHA256:abc) and the host key policy is strict`)})
	s = h.screen()
	golden(t, "discover-one-failed", s)
	h.keys("enter")
	if a.screen != scrDiscover {
		t.Fatal("enter went on with a host not read")
	}
	if !strings.Contains(s, "press r to try again") {
		t.Fatalf("no way out shown:\n%s", s)
	}
}

func TestDiscoveryWithScriptedHosts(t *testing.T) {
	f := newFakeHosts(t)
	f.disks["storage0a"] = readTestdata(t, "discover-storage-disks.txt")
	h, _ := atDiscovery(t, f)
	a := h.app()
	h.waitFor("every host read", a.discover.ready)
	s := h.screen()
	if !strings.Contains(s, "Every host was read") || strings.Count(s, "✓") != 4 {
		t.Fatalf("%s", s)
	}
	// discovery lists the disks first, then reads them all in one command
	var listed, read bool
	for _, c := range f.commands() {
		listed = listed || strings.HasPrefix(c, "storage0b: lsblk -J -b -d")
		read = read || (strings.HasPrefix(c, "storage0b: echo @@os") && strings.Contains(c, "@@disk /dev/vda") && strings.Contains(c, "@@disk /dev/vdb") && !strings.Contains(c, "sr0"))
	}
	if !listed || !read {
		t.Fatalf("commands: %v", f.commands())
	}
	h.keys("enter")
	if a.screen != scrPairs {
		t.Fatalf("enter did not go to the pairs: %v", a.screen)
	}
}

// atPairs is the pairs screen of a new cluster with storage0a holding
// three disks (blank vdb, ext4 vdc, the system disk vda).
func atPairs(t *testing.T) *harness {
	f := newFakeHosts(t)
	f.disks["storage0a"] = readTestdata(t, "discover-storage-disks.txt")
	h, _ := atDiscovery(t, f)
	h.waitFor("every host read", h.app().discover.ready)
	h.keys("enter")
	return h
}

func TestInUseDiskNeedsTheWipeMark(t *testing.T) {
	h := atPairs(t)
	a := h.app()
	h.keys("s") // storage0a: the disk picker
	if a.pairs.picking != "storage0a" {
		t.Fatalf("no picker:\n%s", h.screen())
	}
	s := h.screen()
	for _, want := range []string{"/dev/vda", "20 GiB  in use, never wiped: mounted at /", "/dev/vdb", "64 MiB  blank", "/dev/vdc", "1 GiB  in use: signature ext4"} {
		if !strings.Contains(s, want) {
			t.Errorf("picker lacks %q:\n%s", want, s)
		}
	}
	// down to vdc (ext4) and enter: refused without the mark
	h.keys("down")
	if a.pairs.disks[a.pairs.diskCursor].path != "/dev/vdc" {
		t.Fatalf("cursor on %s", a.pairs.disks[a.pairs.diskCursor].path)
	}
	h.keys("enter")
	if a.pairs.as.roleOf("storage0a") != "" {
		t.Fatal("an in-use disk was taken without the wipe mark")
	}
	if s := h.screen(); !strings.Contains(s, "press w to mark it for wiping") {
		t.Fatalf("no explanation:\n%s", s)
	}
	// the mounted system disk can never be marked
	h.keys("up", "up", "w")
	if a.pairs.wipeMark["storage0a:/dev/vda"] || !strings.Contains(h.screen(), "never wiped") {
		t.Fatalf("the mounted disk was marked:\n%s", h.screen())
	}
	// mark vdc: a clear warning, then enter takes it
	h.keys("down", "down", "w")
	s = h.screen()
	if !strings.Contains(s, "MARKED FOR WIPING") || !strings.Contains(s, "WIPE: every byte on storage0a:/dev/vdc") || !strings.Contains(s, "ERASED") {
		t.Fatalf("no wipe warning:\n%s", s)
	}
	golden(t, "pairs-wipe-mark", s)
	h.keys("enter")
	if r := a.pairs.as.roleOf("storage0a"); r != "pair r0 · a" {
		t.Fatalf("role %q", r)
	}
	// storage0b with its blank disk, two clients
	h.keys("down", "s", "enter", "down", "c", "down", "c")
	pairs, clients, wipe, err := a.pairs.as.result()
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 1 || pairs[0].A.Disk != "/dev/vdc" || pairs[0].B.Host != "storage0b" || len(clients) != 2 || len(wipe) != 1 || wipe[0] != "storage0a:/dev/vdc serial=lab-storage0a-spare size=1073741824" {
		t.Fatalf("pairs %+v clients %+v wipe %v", pairs, clients, wipe)
	}
	golden(t, "pairs-done", h.screen())
	h.keys("enter")
	if a.screen != scrSettings || len(a.spec.Wipe.Devices) != 1 {
		t.Fatalf("screen %v, wipe %v", a.screen, a.spec.Wipe.Devices)
	}
}

func TestAssignmentRules(t *testing.T) {
	blank := diskState{path: "/dev/vdb", size: 1 << 30}
	used := classifyDisk(&steps.Disk{Path: "/dev/vdc", Exists: true, Size: 1 << 30, Signatures: []string{"xfs"}})
	mounted := classifyDisk(&steps.Disk{Path: "/dev/vdd", Exists: true, Size: 1 << 30, Mounts: []string{"/srv"}})
	ours := classifyDisk(&steps.Disk{Path: "/dev/vde", Exists: true, Size: 1 << 30, Signatures: []string{"drbd"}})
	// attached to a running DRBD device: in use by a pair, never offered for a new one
	attached := classifyDisk(&steps.Disk{Path: "/dev/vdg", Exists: true, Size: 1 << 30, Signatures: []string{"drbd"}, Holders: []string{"drbd0"}})
	small := classifyDisk(&steps.Disk{Path: "/dev/vdf", Exists: true, Size: 1 << 20})
	if !used.wipeable || mounted.wipeable || !ours.blank() || !ours.ours || attached.blank() || attached.wipeable || !small.tooSmall {
		t.Fatalf("classify: %+v %+v %+v %+v %+v", used, mounted, ours, attached, small)
	}
	a := newAssignment(&config.Spec{}, false)
	if err := a.addHalf("s1", used, false); !errors.Is(err, errNeedsWipe) {
		t.Fatalf("in use without mark: %v", err)
	}
	if err := a.addHalf("s1", mounted, true); err == nil || errors.Is(err, errNeedsWipe) {
		t.Fatalf("mounted with mark: %v", err)
	}
	if err := a.addHalf("s1", small, false); err == nil {
		t.Fatal("too small taken")
	}
	if err := a.addHalf("s1", used, true); err != nil {
		t.Fatal(err)
	}
	if err := a.addHalf("s1", blank, false); err == nil {
		t.Fatal("a host took two halves")
	}
	if err := a.toggleClient("s1"); err == nil {
		t.Fatal("a storage host became a client")
	}
	if _, _, _, err := a.result(); err == nil || !strings.Contains(err.Error(), "one half") {
		t.Fatalf("half a pair: %v", err)
	}
	a.addHalf("s2", ours, false)
	a.addHalf("s3", blank, false)
	a.addHalf("s4", blank, false)
	a.toggleClient("c1")
	p, c, w, err := a.result()
	if err != nil || len(p) != 2 || *p[0].ID != 0 || *p[1].ID != 1 || len(c) != 1 || len(w) != 1 {
		t.Fatalf("%+v %+v %v %v", p, c, w, err)
	}
	// clearing a half renumbers the new pairs
	a.clear("s1")
	a.clear("s2")
	if a.pairs[0].id != 0 || a.pairs[0].halves[0].host != "s3" {
		t.Fatalf("%+v", a.pairs)
	}
}

// atSettings is the settings form of a new cluster with its pairs chosen.
func atSettings(t *testing.T) *harness {
	path := filepath.Join(t.TempDir(), "scalestore.toml")
	h := newTestApp(t, path, newFakeHosts(t))
	h.keys("n")
	h.send(hostsDoneMsg{spec: labSpec(path)})
	id := 0
	h.send(pairsDoneMsg{pairs: []config.Pair{{ID: &id, A: config.Half{Host: "storage0a", Disk: "/dev/vdb"}, B: config.Half{Host: "storage0b", Disk: "/dev/vdb"}}},
		clients: []config.Client{{Host: "client0"}, {Host: "client1"}}})
	if h.app().screen != scrSettings {
		t.Fatalf("not at settings: %v", h.app().screen)
	}
	return h
}

func TestFencingNoneShowsTheRisk(t *testing.T) {
	h := atSettings(t)
	a := h.app()
	for i := 0; i < 7; i++ { // the volume group's fields, defaults kept
		h.keys("enter")
	}
	if s := h.screen(); !strings.Contains(s, "Fencing") || strings.Contains(s, "FENCING IS OFF") {
		t.Fatalf("not at the fencing choice, or warned too early:\n%s", s)
	}
	h.keys("down") // none
	s := h.screen()
	if !strings.Contains(s, "FENCING IS OFF") || !strings.Contains(s, "corrupts the filesystem") || !strings.Contains(s, "split brain") {
		t.Fatalf("no plain-words warning for fencing none:\n%s", s)
	}
	golden(t, "settings-fencing-none", s)
	// none must be confirmed in words: enter on the note, then "No" refuses
	h.keys("enter", "enter", "enter")
	if a.screen != scrSettings {
		t.Fatal("fencing none went through without the explicit yes")
	}
	if !strings.Contains(h.screen(), "this is a lab") {
		t.Fatalf("%s", h.screen())
	}
	h.keys("y")
	h.waitFor("preflight", func() bool { return a.screen == scrPreflight })
	if a.spec.Fencing.Agent != "none" || a.spec.Volume.Journals != 4 {
		t.Fatalf("%+v %+v", a.spec.Fencing, a.spec.Volume)
	}
}

func TestFenceAgentNeedsAValidName(t *testing.T) {
	h := atSettings(t)
	for i := 0; i < 7; i++ {
		h.keys("enter")
	}
	h.keys("enter") // a fence agent
	h.typ("ipmi").keys("enter")
	if s := h.screen(); !strings.Contains(s, `fencing.agent: "ipmi" is not a fence agent name`) {
		t.Fatalf("%s", s)
	}
}

// atPreflight is the wizard past the settings, with preflight's answer
// not in yet; its hosts are blank.
func atPreflight(t *testing.T) (*harness, string) {
	path := filepath.Join(t.TempDir(), "scalestore.toml")
	h := newTestApp(t, path, newFakeHosts(t))
	h.keys("n")
	s := onePairSpec(path)
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	h.send(settingsDoneMsg{spec: s})
	if h.app().screen != scrPreflight {
		t.Fatal(h.app().screen)
	}
	return h, path
}

func labFacts(t *testing.T) *steps.Facts {
	return &steps.Facts{Hosts: map[string]*steps.HostFacts{
		"storage0a": facts(t, capture(t, "discover-storage0a-blank.txt"), "storage0a"),
		"storage0b": facts(t, capture(t, "discover-storage0a-blank.txt"), "storage0b"),
		"client0":   facts(t, capture(t, "discover-client0.txt"), "client0"),
		"client1":   facts(t, capture(t, "discover-client0.txt"), "client1"),
	}, Errors: map[string]error{}}
}

func TestPreflightFailureBlocksTheReview(t *testing.T) {
	h, _ := atPreflight(t)
	a := h.app()
	f := labFacts(t)
	// storage0b's disk holds a filesystem: preflight fails it
	f.Hosts["storage0b"].Disks["/dev/vdb"].Signatures = []string{"ext4"}
	h.send(preflightResultMsg{facts: f, results: checks.Preflight(a.spec, f)})
	s := h.screen()
	if !strings.Contains(s, "✗ FAIL") || !strings.Contains(s, "storage0b") || !strings.Contains(s, "blocks the review") {
		t.Fatalf("%s", s)
	}
	golden(t, "preflight-fail", s)
	h.keys("enter")
	if a.screen != scrPreflight || !strings.Contains(h.screen(), "A failed check blocks the way") {
		t.Fatalf("a failed preflight let the review through: %v\n%s", a.screen, h.screen())
	}
	// passing: enter opens the review
	f = labFacts(t)
	h.send(preflightResultMsg{facts: f, results: checks.Preflight(a.spec, f)})
	h.keys("enter")
	if a.screen != scrReview {
		t.Fatalf("screen %v\n%s", a.screen, h.screen())
	}
	h.waitFor("the probes", func() bool { return !a.review.probing })
	s = h.screen()
	for _, want := range []string{"Destructive actions", "Fencing is OFF", "Both halves of every pair are primary", "saved to"} {
		if !strings.Contains(s+a.review.content(), want) {
			t.Errorf("review lacks %q:\n%s", want, a.review.content())
		}
	}
	golden(t, "review", s)
}

func TestSummarizePlan(t *testing.T) {
	s := onePairSpec("x.toml")
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	p := steps.Build(s, labFacts(t))
	sum := summarize(p)
	if sum.steps != len(p.Steps) || len(sum.hosts) != 4 || len(sum.destructive) == 0 {
		t.Fatalf("%+v", sum)
	}
	joined := strings.Join(sum.destructive, "\n")
	for _, want := range []string{"storage0a: ", "storage0b: ", "client0: mkfs.gfs2 on /dev/VG0/LV0"} {
		if !strings.Contains(joined, want) {
			t.Errorf("destructive actions lack %q:\n%s", want, joined)
		}
	}
}

func TestNewClusterSavedBeforeTheRun(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	f := newFakeHosts(t)
	path := filepath.Join(t.TempDir(), "scalestore.toml")
	h := newTestApp(t, path, f)
	h.keys("n")
	s := onePairSpec(path)
	h.send(settingsDoneMsg{spec: s})
	a := h.app()
	h.waitFor("preflight", func() bool { return !a.preflight.running })
	h.keys("enter") // review
	if a.screen != scrReview {
		t.Fatalf("%v\n%s", a.screen, h.screen())
	}
	h.waitFor("the probes", func() bool { return !a.review.probing })
	// blank hosts: the destructive actions run, so enter asks for the name
	h.keys("enter")
	if s := h.screen(); !a.review.confirming || !strings.Contains(squeeze(s), squeeze("Type the cluster's name, lab, and press enter")) || !strings.Contains(s, "storage0a: create DRBD metadata for r0") {
		t.Fatalf("enter did not ask for the cluster's name with the destructive actions listed:\n%s", s)
	}
	h.typ("lba\n")
	if s := h.screen(); a.screen != scrReview || !strings.Contains(s, `"lba" is not the cluster's name (lab): nothing ran`) {
		t.Fatalf("a wrong name was not refused:\n%s", s)
	}
	if _, err := os.Stat(path); err == nil {
		t.Fatal("a wrong name saved the spec")
	}
	h.keys("backspace", "backspace", "backspace")
	h.typ("lab\n") // save and apply
	h.waitFor("the run to end", func() bool { return a.screen == scrDone })
	loaded, err := config.Load(path)
	if err != nil {
		t.Fatalf("the saved spec does not load: %v", err)
	}
	if loaded.Cluster.Name != "lab" || len(loaded.Pairs) != 1 || loaded.Fencing.Agent != "none" {
		t.Fatalf("%+v", loaded)
	}
	// the run ended well: the spec is recorded as the last applied one
	if rec, err := config.LoadApplied("lab"); err != nil || rec == nil || len(config.Changes(rec, loaded)) != 0 {
		t.Fatalf("the applied spec is not recorded as saved (%v): %+v", err, rec)
	}
	h.waitFor("postflight", func() bool { return !a.done.checking })
	// the scripted hosts answer nothing to the state probes: unhealthy
	if s := h.screen(); !strings.Contains(s, "Postflight") || !strings.Contains(s, "not healthy") || !strings.Contains(s, "✗ FAIL  storage0a  drbd r0") {
		t.Fatalf("%s", s)
	}
	// blank hosts: the run executed the plan's commands, and says so
	var cmds int
	for _, c := range f.actions() {
		if _, cmd, _ := strings.Cut(c, ": "); !strings.HasPrefix(cmd, "write ") {
			cmds++
		}
	}
	if a.done.out.err != nil || a.done.out.sum.Changed == 0 || cmds == 0 {
		t.Fatalf("run: %+v, commands of actions run: %d", a.done.out, cmds)
	}
	if want := fmt.Sprintf("%d changed, %d unchanged", a.done.out.sum.Changed, a.done.out.sum.Unchanged); !strings.Contains(h.screen(), want) {
		t.Fatalf("the done screen does not say %q:\n%s", want, h.screen())
	}
}

func TestAddPairAppendsKeepingComments(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir()) // no other test's record of the last apply
	t.Chdir(filepath.Dir(copyFile(t, "grow.toml")))
	path := "grow.toml"
	before, _ := os.ReadFile(path)
	builtSpec(t, path) // the cluster was built from this machine
	f := newFakeHosts(t)
	for _, built := range []string{"storage0a", "storage0b", "storage1a", "storage1b", "client0", "client1"} {
		f.built[built] = true // the cluster as it stands; storage2a and storage2b are blank
	}
	h := newTestApp(t, path, f)
	a := h.app()
	s := h.screen()
	if !strings.Contains(s, `Cluster "lab"`) || !strings.Contains(s, "storage0a:/dev/vdb ══ storage0b:/dev/vdb") || !strings.Contains(s, "spare") {
		t.Fatalf("welcome of an existing spec:\n%s", s)
	}
	golden(t, "welcome-existing", s)
	h.keys("a")
	if a.screen != scrHosts || !strings.Contains(h.screen(), "Already listed and free: storage2a, storage2b") {
		t.Fatalf("%s", h.screen())
	}
	h.keys("tab") // no host to add
	if a.screen != scrDiscover {
		t.Fatalf("%v\n%s", a.screen, h.screen())
	}
	h.waitFor("discovery", a.discover.ready)
	if names := a.discover.names; len(names) != 2 || names[0] != "storage2a" || names[1] != "storage2b" {
		t.Fatalf("discovered %v, want only the spare hosts", names)
	}
	h.keys("enter")
	s = h.screen()
	if !strings.Contains(s, "pair r0 · a (kept)") || !strings.Contains(s, "client (kept)") {
		t.Fatalf("%s", s)
	}
	// the cursor starts on storage2a
	h.keys("c")
	if !strings.Contains(h.screen(), "adding a pair keeps the clients") {
		t.Fatalf("%s", h.screen())
	}
	h.keys("s", "down", "enter") // storage2a: vda is the system disk here, vdb blank
	if a.pairs.as.roleOf("storage2a") != "pair r2 · a" {
		t.Fatalf("%s", h.screen())
	}
	h.keys("down", "s", "down", "enter", "enter")
	h.waitFor("preflight", func() bool { return a.screen == scrPreflight && !a.preflight.running })
	f.expect(a.spec) // the review probes the grown spec's plan before it is saved
	h.keys("enter")
	if a.screen != scrReview || !strings.Contains(a.review.content(), "The new pair r2 (storage2a + storage2b)") {
		t.Fatalf("%v\n%s", a.screen, a.review.content())
	}
	h.waitFor("the probes", func() bool { return !a.review.probing })
	// only what will change: the new pair's metadata, not the built pairs'
	// (on the scripted built hosts every probe holds, the clients' for r2 too)
	review := plain(a.review.content())
	for _, want := range []string{"storage2a: create DRBD metadata for r2", "storage2b: create DRBD metadata for r2", "Will change: 23 of the plan's 141 actions, on 2 hosts"} {
		if !strings.Contains(squeeze(review), squeeze(want)) {
			t.Errorf("the review does not list %q:\n%s", want, review)
		}
	}
	for _, built := range []string{"! storage0a:", "! storage0b:", "! storage1a:", "! storage1b:", "mpath0 a physical", "mpath1 a physical", "mkfs.gfs2"} {
		if strings.Contains(review, built) {
			t.Errorf("the review lists %q, which the probes found done:\n%s", built, review)
		}
	}
	if d := len(a.review.destructive()); d != 3 || !strings.Contains(review, fmt.Sprintf("Destructive actions: %d", d)) {
		t.Errorf("%d destructive actions counted, want 3 (r2's metadata twice, its initial sync):\n%s", d, review)
	}
	golden(t, "review-add-pair", h.screen())
	h.keys("enter")
	if want := "This changes the running cluster lab, and 3 of its actions write over the disks and devices below. Type the cluster's name, lab,"; !strings.Contains(squeeze(h.screen()), squeeze(want)) {
		t.Errorf("the confirmation does not say %q:\n%s", want, h.screen())
	}
	golden(t, "review-confirm", h.screen())
	h.send(tea.WindowSizeMsg{Width: 60, Height: 15})
	golden(t, "review-confirm-60x15", h.screen())
	demoSees(t, h, "Type the cluster's name, lab")
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	h.typ("lab\n")
	h.waitFor("the run to end", func() bool { return a.screen == scrDone })

	after, _ := os.ReadFile(path)
	// the new pair goes after the last [[pair]]; the rest is as it was
	added := "\n[[pair]]\nid = 2\na = { host = \"storage2a\", disk = \"/dev/vdb\" }\nb = { host = \"storage2b\", disk = \"/dev/vdb\" }\n"
	if !strings.Contains(string(after), "b = { host = \"storage1b\", disk = \"/dev/vdb\" }\n"+added+"\n[[client]]") {
		t.Fatalf("the pair is not added after the last one:\n%s", after)
	}
	if rest := strings.Replace(string(after), added, "", 1); rest != string(before) {
		t.Fatalf("the file was rewritten, not added to:\n%s", after)
	}
	for _, c := range []string{"# A two-pair test cluster", "# how scalestore reaches its sshd", "# lab only"} {
		if !strings.Contains(string(after), c) {
			t.Errorf("comment %q lost", c)
		}
	}
	loaded, err := config.Load(path)
	if err != nil || len(loaded.Pairs) != 3 {
		t.Fatalf("%v %+v", err, loaded)
	}
	// the run's engine saw the grown spec: the new pair's actions ran on its
	// blank hosts, and none on the built ones
	var onNew int
	for _, c := range f.actions() {
		host, cmd, _ := strings.Cut(c, ": ")
		if f.built[host] {
			t.Errorf("an action ran on the built host %s: %s", host, c)
		}
		if host == "storage2b" && strings.Contains(cmd, "r2") && !strings.HasPrefix(cmd, "write ") {
			onNew++ // a command, not only a file written
		}
	}
	if onNew == 0 {
		t.Fatalf("the run did not work on the new pair; actions run: %v", f.actions())
	}
	sum := a.done.out.sum
	if a.done.out.err != nil || sum.Changed == 0 {
		t.Fatalf("run on the new pair: %+v", a.done.out)
	}
	h.waitFor("postflight", func() bool { return !a.done.checking })
	if want := fmt.Sprintf("%d changed, %d unchanged", sum.Changed, sum.Unchanged); !strings.Contains(h.screen(), want) {
		t.Fatalf("the done screen does not say %q:\n%s", want, h.screen())
	}
}

func TestGrowthShownAfterAddingAPair(t *testing.T) {
	s, err := config.Load(filepath.Join("testdata", "grow.toml"))
	if err != nil {
		t.Fatal(err)
	}
	m := newDoneModel(s, runOutcome{sum: steps.Summary{Changed: 12, Unchanged: 80, Elapsed: 42 * time.Second}}, &lvGrowth{before: 120 << 20}, "grow.toml", 78)
	m.checking = true
	m.update(postflightMsg{results: []checks.Result{{Check: "lv", Host: "client0", Status: checks.Pass, Msg: "VG0/LV0 active, 180 MiB"}}, lvBytes: 180 << 20})
	v := plain(m.view(78, 20))
	if !strings.Contains(v, "/dev/VG0/LV0 grew online: 120 MiB → 180 MiB") {
		t.Fatalf("%s", v)
	}
}

func TestApplyAgainFromWelcome(t *testing.T) {
	path := copyFile(t, "grow.toml")
	f := newFakeHosts(t)
	h := newTestApp(t, path, f)
	a := h.app()
	h.keys("r")
	if a.mode != modeApply || a.screen != scrPreflight {
		t.Fatalf("%v %v", a.mode, a.screen)
	}
	h.waitFor("preflight", func() bool { return !a.preflight.running })
	if strings.Contains(h.screen(), "FAIL") {
		t.Fatalf("%s", h.screen())
	}
	if !strings.Contains(h.screen(), "Apply (step 3 of 4)") && !strings.Contains(h.screen(), "Preflight") {
		t.Fatalf("%s", h.screen())
	}
	_ = context.Background
}

func TestFullPlanFitsTheScreen(t *testing.T) {
	s, p := growPlan(t)
	m := newReviewModel(reviewInput{plan: p, spec: s, path: "grow.toml"}, 78, 20)
	m.update(press("p"))
	if !m.showPlan {
		t.Fatal("p did not show the plan")
	}
	for _, l := range strings.Split(plain(m.content()), "\n") {
		if w := len([]rune(l)); w > 78 {
			t.Fatalf("plan line wider than the screen (%d): %q", w, l)
		}
	}
	if !strings.Contains(plain(m.content()), "drbdadm") {
		t.Fatal("the plan's commands are not shown")
	}
}

func TestBackToTheHostsFormKeepsItsValues(t *testing.T) {
	h, _ := atDiscovery(t, nil)
	a := h.app()
	a.hosts = newHostsModel(a.spec, false, 78) // as the form left it
	h.keys("esc")
	if a.screen != scrHosts {
		t.Fatalf("%v", a.screen)
	}
	// the form works again and still holds the hosts and, a group back,
	// the cluster's name
	if !strings.Contains(h.screen(), "4 client1 10.0.0.22") {
		t.Fatalf("%s", h.screen())
	}
	for i := 0; i < 10 && !strings.Contains(h.screen(), "> lab"); i++ {
		h.keys("shift+tab")
	}
	if !strings.Contains(h.screen(), "> lab") {
		t.Fatalf("the cluster's name is lost:\n%s", h.screen())
	}
	h.keys("enter")
	if !strings.Contains(h.screen(), "Profile") {
		t.Fatalf("the form does not answer:\n%s", h.screen())
	}
}

func TestTargetForResolvesPathsAgainstTheSpec(t *testing.T) {
	s := labSpec("/etc/scalestore/c.toml")
	s.SSH.IdentityFile = "keys/id"
	s.SSH.KnownHosts = "/var/kh"
	s.SSH.Jump = "admin@bastion:2200"
	s.Hosts[0].SSH.Port = 2211
	tg, err := steps.TargetFor(s, &s.Hosts[0], false)
	if err != nil {
		t.Fatal(err)
	}
	if tg.Name != "storage0a" || tg.Address != "10.0.0.11" || tg.Port != 2211 || tg.IdentityFiles[0] != "/etc/scalestore/keys/id" ||
		tg.KnownHostsFile != "/var/kh" || tg.AutoAcceptNew || tg.Jump == nil || tg.Jump.User != "admin" || tg.Jump.Port != 2200 {
		t.Fatalf("%+v", tg)
	}
}

// onePairSpec is the lab's spec with pair 0 (storage0a + storage0b), both
// clients and fencing off: what the wizard's settings screen hands on.
func onePairSpec(path string) *config.Spec {
	s := labSpec(path)
	id := 0
	s.Pairs = []config.Pair{{ID: &id, A: config.Half{Host: "storage0a", Disk: "/dev/vdb"}, B: config.Half{Host: "storage0b", Disk: "/dev/vdb"}}}
	s.Clients = []config.Client{{Host: "client0"}, {Host: "client1"}}
	s.Fencing.Agent = "none"
	return s
}

// Applying again on a built cluster: the probes find nothing to change, so
// nothing will run and enter goes on without a typed name.
func TestReviewWithNothingDestructiveRunsOnEnter(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir()) // no other test's record of the last apply
	path := copyFile(t, "grow.toml")
	builtSpec(t, path)
	f := newFakeHosts(t)
	for _, built := range []string{"storage0a", "storage0b", "storage1a", "storage1b", "client0", "client1", "storage2a", "storage2b", "spare"} {
		f.built[built] = true
	}
	h := newTestApp(t, path, f)
	a := h.app()
	h.keys("r")
	h.waitFor("preflight", func() bool { return !a.preflight.running })
	h.keys("enter")
	if a.screen != scrReview {
		t.Fatalf("%v\n%s", a.screen, h.screen())
	}
	h.waitFor("the probes", func() bool { return !a.review.probing })
	if s := h.screen(); !strings.Contains(s, "Nothing to change") || strings.Contains(s, "Destructive actions") {
		t.Fatalf("the review of a built cluster:\n%s", s)
	}
	h.keys("enter")
	h.waitFor("the run to end", func() bool { return a.screen == scrDone })
	if a.review.confirming || a.done.out.err != nil || a.done.out.sum.Changed != 0 {
		t.Fatalf("confirming %v, run %+v", a.review.confirming, a.done.out)
	}
}

// The review says it is probing and enter waits for the probes; when they
// cannot answer, it says why and counts every destructive action of the
// plan, and r probes again.
func TestReviewWaitsForTheProbes(t *testing.T) {
	s, p := growPlan(t)
	m := newReviewModel(reviewInput{plan: p, spec: s, path: "grow.toml"}, 78, 20)
	m.probe(context.Background(), nil) // its command is not run here
	if c := plain(m.content()); !strings.Contains(c, "Probing the hosts") || strings.Contains(c, "Destructive actions") {
		t.Fatalf("while probing:\n%s", c)
	}
	if cmd := m.update(press("enter")); cmd != nil || m.confirming || m.saving {
		t.Fatal("enter went on before the probes answered")
	}
	unreachable := func(ctx context.Context, name string) (remote.Host, error) {
		return nil, fmt.Errorf("dial tcp 10.0.0.11:22: connect: no route to host")
	}
	_, err := steps.Review(context.Background(), p, unreachable)
	if err == nil {
		t.Fatal("probed unreachable hosts")
	}
	m.update(reviewProbedMsg{err: err})
	c := plain(m.content())
	if all := len(summarize(p).destructive); !strings.Contains(c, "the hosts could not be probed") || !strings.Contains(c, "no route to host") ||
		!strings.Contains(c, fmt.Sprintf("Destructive actions: %d", all)) {
		t.Fatalf("after the probes failed:\n%s", c)
	}
	if cmd := m.update(press("r")); cmd == nil {
		t.Fatal("r does not probe again")
	} else if _, ok := cmd().(reprobeMsg); !ok {
		t.Fatal("r does not ask for the probes again")
	}
}

// The welcome screen of an existing spec says what changed since the last
// apply recorded on this machine, at 80x24 and at 60x15.
func TestWelcomeSaysWhatChangedSinceTheLastApply(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	t.Chdir(filepath.Dir(copyFile(t, "grow.toml")))
	path := "grow.toml"
	h := newTestApp(t, path, nil)
	if s := h.screen(); !strings.Contains(s, "No apply of this cluster is recorded on this machine yet") {
		t.Fatalf("with no record:\n%s", s)
	}
	last, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	last.Pairs = last.Pairs[:1]     // pair r1 came later,
	last.Clients = last.Clients[:1] // and client1,
	last.Volume.Journals = 2        // and a journal more now
	if _, err := config.SaveApplied(last, time.Now()); err != nil {
		t.Fatal(err)
	}
	h = newTestApp(t, path, nil)
	s := h.screen()
	for _, want := range []string{"Changed since the last apply (3):", "• pair r1 added (storage1a, storage1b)", "• client client1 added", "• volume.journals 2 → 4"} {
		if !strings.Contains(s, want) {
			t.Errorf("the welcome screen does not say %q:\n%s", want, s)
		}
	}
	golden(t, "welcome-changed", s)
	h.send(tea.WindowSizeMsg{Width: 60, Height: 15})
	golden(t, "welcome-changed-60x15", h.screen())
}

// With a fence agent the settings ask each storage half's and client's
// fence target, and the spec they make validates and goes to preflight; a
// host left without one is named.
func TestFenceAgentWithEachHostsTarget(t *testing.T) {
	for _, sz := range sizes {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) {
			h := atSettings(t)
			h.send(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
			a := h.app()
			for i := 0; i < 7; i++ {
				h.keys("enter")
			}
			h.keys("enter") // a fence agent
			h.typ("fence_ipmilan\n")
			h.typ("username=admin lanplus=1 password_script=/root/fence-pw\n")
			if s := h.screen(); !strings.Contains(s, "storage0a's fence target") {
				t.Fatalf("no fence target asked:\n%s", s)
			}
			golden(t, fmt.Sprintf("settings-fence-target-%dx%d", sz[0], sz[1]), h.screen())
			h.typ("ip=10.0.1.11\n").typ("ip=10.0.1.12\n").typ("ip=10.0.1.21\n").typ("\n") // client1 left without one
			if s := h.screen(); a.screen != scrSettings || !strings.Contains(squeeze(s), squeeze("client1 has no fence target")) {
				t.Fatalf("a host without a fence target went through:\n%s", s)
			}
			// the form starts again with the values kept: on to client1's field
			for i := 0; i < 7+1+2+3; i++ {
				h.keys("enter")
			}
			h.typ("ip=10.0.1.22\n")
			h.waitFor("preflight", func() bool { return a.screen == scrPreflight })
			f := a.spec.Fencing
			if err := a.spec.Validate(); err != nil || f.Agent != "fence_ipmilan" || f.Options["username"] != "admin" ||
				f.HostOptions["storage0b"]["ip"] != "10.0.1.12" || f.HostOptions["client1"]["ip"] != "10.0.1.22" {
				t.Fatalf("the spec (validate: %v): %+v", err, f)
			}
		})
	}
}

// Adding a client from the welcome screen: the new host in the hosts form,
// discovery of it alone, marked a client, preflight, a review of what will
// change, the typed confirmation (the cluster was built: its last apply is
// recorded), and the client appended to the spec, its comments kept.
func TestAddClientAppendsIt(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	t.Chdir(filepath.Dir(copyFile(t, "grow.toml")))
	path := "grow.toml"
	before, _ := os.ReadFile(path)
	builtSpec(t, path)
	f := newFakeHosts(t)
	for _, built := range []string{"storage0a", "storage0b", "storage1a", "storage1b", "client0", "client1"} {
		f.built[built] = true
	}
	h := newTestApp(t, path, f)
	a := h.app()
	if !strings.Contains(h.screen(), "c  Add a client") {
		t.Fatalf("no add-a-client choice:\n%s", h.screen())
	}
	h.keys("c")
	if a.screen != scrHosts || !strings.Contains(h.screen(), "The new client's host") {
		t.Fatalf("%s", h.screen())
	}
	golden(t, "add-client-hosts", h.screen())
	h.typ("client2 10.0.0.23").keys("tab")
	if a.screen != scrDiscover {
		t.Fatalf("%v\n%s", a.screen, h.screen())
	}
	h.waitFor("discovery", a.discover.ready)
	if names := strings.Join(a.discover.names, " "); !strings.Contains(names, "client2") || strings.Contains(names, "client0") {
		t.Fatalf("discovered %s, want the free hosts only", names)
	}
	h.keys("enter")
	for i, n := range a.pairs.hosts {
		if n == "client2" {
			a.pairs.cursor = i
		}
	}
	// no storage half when adding a client
	if err := a.pairs.as.addHalf("storage2a", diskState{path: "/dev/vdb"}, false); err == nil || !strings.Contains(err.Error(), "adding a client keeps the pairs") {
		t.Fatalf("a storage half while adding a client: %v", err)
	}
	h.keys("c")
	if a.pairs.as.roleOf("client2") != "client" {
		t.Fatalf("client2 not marked a client:\n%s", h.screen())
	}
	golden(t, "add-client-pairs", h.screen())
	h.send(tea.WindowSizeMsg{Width: 60, Height: 15})
	golden(t, "add-client-pairs-60x15", h.screen())
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	h.keys("enter")
	h.waitFor("preflight", func() bool { return a.screen == scrPreflight && !a.preflight.running })
	f.expect(a.spec)
	h.keys("enter")
	if a.screen != scrReview {
		t.Fatalf("%v\n%s", a.screen, h.screen())
	}
	h.waitFor("the probes", func() bool { return !a.review.probing })
	c := plain(a.review.content())
	for _, want := range []string{"Client client2 is appended to grow.toml", "Cluster lab is running (built before", "enter asks for its name, typed"} {
		if !strings.Contains(squeeze(c), squeeze(want)) {
			t.Fatalf("the review does not say %q:\n%s", want, c)
		}
	}
	if strings.Contains(c, "Destructive actions") {
		t.Fatalf("adding a client lists destructive actions:\n%s", c)
	}
	// nothing destructive, but the running cluster changes: its name, typed
	h.keys("enter")
	if !a.review.confirming || a.screen != scrReview {
		t.Fatalf("enter ran the change of a built cluster without its name typed:\n%s", h.screen())
	}
	s := h.screen()
	for _, want := range []string{"Confirm: changes to the running cluster lab", "This changes the running cluster lab", "Type the cluster's name, lab, and press enter to save and run:", "client2: "} {
		if !strings.Contains(squeeze(s), squeeze(want)) {
			t.Errorf("the confirmation does not say %q:\n%s", want, s)
		}
	}
	golden(t, "review-confirm-add-client", s)
	h.send(tea.WindowSizeMsg{Width: 60, Height: 15})
	golden(t, "review-confirm-add-client-60x15", h.screen())
	demoSees(t, h, "Type the cluster's name, lab")
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	h.typ("lba\n")
	if a.screen != scrReview || !strings.Contains(h.screen(), `"lba" is not the cluster's name (lab): nothing ran`) {
		t.Fatalf("a wrong name went on:\n%s", h.screen())
	}
	h.keys("backspace", "backspace", "backspace").typ("lab\n")
	h.waitFor("the run to end", func() bool { return a.screen == scrDone })
	after, _ := os.ReadFile(path)
	loaded, err := config.Load(path)
	if err != nil || len(loaded.Clients) != 3 || loaded.Clients[2].Host != "client2" || loaded.Host("client2") == nil {
		t.Fatalf("the spec after adding client2 (%v):\n%s", err, after)
	}
	if !strings.Contains(string(after), "# A two-pair test cluster") || len(after) <= len(before) {
		t.Fatalf("the file was not added to:\n%s", after)
	}
	for _, c := range f.actions() {
		if host, _, _ := strings.Cut(c, ": "); f.built[host] {
			t.Errorf("an action ran on the built host %s: %s", host, c)
		}
	}
}

// builtSpec records the spec at path as its cluster's last apply on this
// machine (config.SaveApplied, as a wizard's or apply's run that ended well
// does): the wizard opens it as a cluster built before.
func builtSpec(t *testing.T, path string) {
	t.Helper()
	s, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := config.SaveApplied(s, time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
}

// When going on takes the cluster's name, typed: a run with destructive
// actions, or one that changes a cluster built before (its last apply is
// recorded); a first build with nothing destructive and a run with nothing
// to change go on enter. The confirmation says why it asks.
func TestTypedConfirmationRule(t *testing.T) {
	s, p := growPlan(t)
	add := steps.Change{Step: "packages", Host: "client2", Action: "install packages: gfs2-utils"}
	md := steps.Change{Step: "drbd-metadata", Host: "storage2a", Action: "create DRBD metadata for r2 on /dev/vdb", Destructive: true}
	cases := []struct {
		name    string
		built   bool
		probed  reviewProbedMsg
		typed   bool
		why     string // the confirmation's reason
		summary string // what the review says before enter ("": nothing of it)
	}{
		{"first build, destructive", false, reviewProbedMsg{changes: []steps.Change{add, md}}, true,
			"They write over the disks and devices below. Type the cluster's name, lab,", ""},
		{"first build, nothing destructive", false, reviewProbedMsg{changes: []steps.Change{add}}, false, "", ""},
		{"built, nothing to change", true, reviewProbedMsg{}, false, "", ""},
		{"built, a client added", true, reviewProbedMsg{changes: []steps.Change{add}}, true,
			"This changes the running cluster lab: the action below. Type the cluster's name, lab,", "Cluster lab is running"},
		{"built, a pair added", true, reviewProbedMsg{changes: []steps.Change{add, md}}, true,
			"This changes the running cluster lab, and 1 of its actions write over the disks and devices below. Type the cluster's name, lab,", "Cluster lab is running"},
		{"built, the probes failed", true, reviewProbedMsg{err: fmt.Errorf("storage0a: no route to host")}, true,
			fmt.Sprintf("This changes the running cluster lab, and the probes could not say what is done already: the plan's %d destructive actions below may run. Type the cluster's name, lab,", len(summarize(p).destructive)), "Cluster lab is running"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newReviewModel(reviewInput{plan: p, spec: s, path: "grow.toml", built: c.built}, 78, 20)
			m.probe(context.Background(), nil) // its command is not run here
			m.update(c.probed)
			if got := strings.Contains(plain(m.content()), "Cluster lab is running"); got != (c.summary != "") {
				t.Errorf("the review says the cluster is running: %v, want %v:\n%s", got, c.summary != "", plain(m.content()))
			}
			cmd := m.update(press("enter"))
			if m.confirming != c.typed {
				t.Fatalf("enter asks for the name: %v, want %v", m.confirming, c.typed)
			}
			if !c.typed {
				if cmd == nil {
					t.Fatal("enter did not go on")
				} else if _, ok := cmd().(applyMsg); !ok {
					t.Fatal("enter did not save and apply")
				}
				return
			}
			if head := squeeze(plain(m.head())); !strings.Contains(head, squeeze(c.why)) {
				t.Errorf("the confirmation does not say %q:\n%s", c.why, plain(m.head()))
			}
			for _, ch := range c.probed.changes {
				if !ch.Destructive && !c.built {
					continue // a first build lists its destructive actions
				}
				if !strings.Contains(plain(m.content()), ch.Host+": "+ch.Action) {
					t.Errorf("the confirmation does not list %q:\n%s", ch.Action, plain(m.content()))
				}
			}
		})
	}
}

// demoSees checks that e2e/demo's scripts, which wait for words on one line
// of the wizard's screen at 100x30 (e2e/demo/README.md), find them.
func demoSees(t *testing.T, h *harness, words string) {
	t.Helper()
	h.send(tea.WindowSizeMsg{Width: 100, Height: 30})
	if s := h.screen(); !strings.Contains(s, words) {
		t.Errorf("at 100x30, e2e/demo's wait for %q would not see it on one line:\n%s", words, s)
	}
}

// The review's warnings show a host's clock skew as preflight measured it;
// the scripted hosts' skew is pinned (their captures come from other days),
// so the screens that show it are the same every day: at 80x24 and 60x15.
func TestReviewShowsAPinnedClockSkew(t *testing.T) {
	for _, sz := range sizes {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) {
			t.Setenv("XDG_STATE_HOME", t.TempDir())
			f := newFakeHosts(t)
			f.skew["client0"] = -90 * time.Second
			t.Chdir(t.TempDir())
			path := "scalestore.toml"
			h := newTestApp(t, path, f)
			h.keys("n")
			h.send(settingsDoneMsg{spec: onePairSpec(path)})
			a := h.app()
			h.waitFor("preflight", func() bool { return !a.preflight.running })
			h.keys("enter")
			h.waitFor("the probes", func() bool { return a.screen == scrReview && !a.review.probing })
			h.send(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
			c := squeeze(plain(a.review.content()))
			if !strings.Contains(c, squeeze("client0 clock: clock is -1m30s off this machine's")) {
				t.Fatalf("the review does not warn of client0's clock, 90 s behind:\n%s", plain(a.review.content()))
			}
			if n := strings.Count(c, squeeze("clock: clock is")); n != 1 {
				t.Fatalf("%d clock warnings, want client0's only:\n%s", n, plain(a.review.content()))
			}
			for i := 0; i < 10 && !a.review.vp.AtBottom(); i++ {
				h.keys("pgdown")
			}
			golden(t, fmt.Sprintf("review-clock-%dx%d", sz[0], sz[1]), h.screen())
		})
	}
}
