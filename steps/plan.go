// Package steps turns a cluster spec into an ordered plan of idempotent
// steps (pure: spec + facts → plan) and runs that plan on the hosts.
package steps

import (
	"fmt"
	"io/fs"
	"sort"
	"time"

	"scalestore/config"
	"scalestore/remote"
)

// Kind is what an action does.
type Kind int

const (
	// Run runs Cmd unless the Unless probe says it is already so.
	Run Kind = iota
	// WriteFile writes Content to Path (atomically, keeping a backup), and
	// runs OnChange when the content differed.
	WriteFile
	// CopySecret copies Path from host From to the action's host; the
	// content is never shown, logged or kept.
	CopySecret
	// Wait polls Cmd until it exits 0 or Timeout passes. Read-only.
	Wait
)

// Action is one change on one host. Every mutation goes through an action,
// so that a dry run shows exactly what would change.
type Action struct {
	Host string
	Kind Kind
	// Desc says in a few words what the action achieves.
	Desc string
	// Cmd is the command for Run and Wait.
	Cmd remote.Cmd
	// Unless is a read-only probe: exit 0 means "already so", skip Cmd.
	Unless *remote.Cmd
	// Path, Content and Mode describe the file of WriteFile/CopySecret.
	Path    string
	Content string
	Mode    fs.FileMode
	// OnChange runs after WriteFile/CopySecret changed the file.
	OnChange *remote.Cmd
	// From is the source host of CopySecret.
	From string
	// Destructive marks actions that overwrite data on a disk.
	Destructive bool
	// Timeout bounds a Wait (and is a hint for long Runs).
	Timeout time.Duration
	// Progress names the progress reader of a Wait ("drbd-sync"), and
	// Resource what it follows (the DRBD resource).
	Progress string
	Resource string
}

// Step is one idempotent phase with a human title. Actions of different
// hosts run in parallel; the actions of one host run in order.
type Step struct {
	ID      string
	Title   string
	Layer   string
	Actions []Action
	// Needs names the earlier steps this one waits for when the plan runs
	// as a graph (Engine.Graph): "export" (all its hosts), "import@host"
	// (the same host), "drbd-sync@pair" (the same DRBD pair). Nil: the
	// needs table's (SetNeeds, graph.go).
	Needs []string
}

// Hosts lists the step's hosts in first-seen order.
func (s Step) Hosts() []string { return actionHosts(s.Actions) }

// Hosts lists every host the plan acts on, in first-seen order.
func (p *Plan) Hosts() []string {
	var all []Action
	for _, st := range p.Steps {
		all = append(all, st.Actions...)
	}
	return actionHosts(all)
}

func actionHosts(actions []Action) []string {
	var out []string
	seen := map[string]bool{}
	for _, a := range actions {
		if !seen[a.Host] {
			seen[a.Host] = true
			out = append(out, a.Host)
		}
	}
	return out
}

// Plan is the whole ordered sequence for a spec.
type Plan struct {
	Cluster  string
	Profile  string
	Steps    []Step
	Warnings []string
}

// Facts are what discovery learned from the hosts; planning uses them where
// the spec alone cannot decide (nil facts: plan from the spec alone).
type Facts struct {
	Hosts  map[string]*HostFacts
	Errors map[string]error // hosts that could not be reached or read
}

// HostFacts is one host's discovered state.
type HostFacts struct {
	OSID, OSVersion, OSName string // from /etc/os-release
	Hostname, Kernel        string
	UID                     int // of the login (after sudo)
	ClockSkew               time.Duration
	HasClock                bool
	Modules                 map[string]bool  // kernel modules available
	Disks                   map[string]*Disk // the spec's backing disks on this host
	// SystemPVs are physical volumes the host already uses for itself (its
	// root VG); the LVM filter must keep accepting them.
	SystemPVs []string
	// Packages is the state of each of the stack's packages for the host's
	// role (PkgInstalled, PkgInstallable, PkgMissing); nil when not asked.
	Packages map[string]string
	// Ports is what a connection to each replication peer ("addr port")
	// gave: PortOpen, PortRefused, PortTimeout, or "unreachable: why".
	Ports map[string]string
	// MountPoint is what a client has at the spec's mount point.
	MountPoint MountPointFacts
	// Fence is what the fence agent said of each target's power status
	// (FenceTargets of the host); nil without an agent.
	Fence map[string]FenceStatus
}

// MountPointFacts: what is mounted at the mount point and fstab's entries
// for it (device and type each). Read is false when they were not read (not
// a client); Err says why they could not be.
type MountPointFacts struct {
	Mounted, Fstab [][]string
	Read           bool
	Err            error
}

func (f *Facts) host(name string) *HostFacts {
	if f == nil || f.Hosts[name] == nil {
		return &HostFacts{}
	}
	return f.Hosts[name]
}

// Build makes the plan for a validated spec.
func Build(s *config.Spec, f *Facts) *Plan {
	p := &Plan{Cluster: s.Cluster.Name, Profile: s.Cluster.Profile}
	prof := profileFor(s.Cluster.Profile)
	p.Steps = prof.steps(s, f)
	p.Warnings = warnings(s)
	return p
}

func warnings(s *config.Spec) []string {
	var w []string
	if !s.Fencing.On() {
		w = append(w,
			"Fencing is OFF (fencing.agent = \"none\"). If a client is cut off from the others but keeps running (a broken link, a hung NIC), "+
				"the other clients' dlm does not wait for it: they replay its journal and take its locks within seconds while it may still write "+
				"to the shared LUNs, which corrupts GFS2. If the replication link of a pair breaks while both halves export, the pair "+
				"split-brains and clients read different data. Use this only for a lab.")
		w = append(w, "Both halves of every pair are primary and exported (the 2008 topology). Multipath uses failover grouping so each client writes through one half at a time; LINBIT advises DRBD fencing for production.")
		return w
	}
	return append(w, fmt.Sprintf("Both halves of every pair are primary and exported (the 2008 topology), with DRBD fencing: when a pair's link breaks, "+
		"its I/O freezes until one half has powered the other off through %s (the b-half waits %d s, so the a-half wins when both are alive); "+
		"a half whose agent cannot fence keeps its I/O frozen rather than split the data.", s.Fencing.Agent, s.Fencing.Delay()))
}

// small constructors keep the profile files readable.

func run(host, desc string, cmd remote.Cmd, unless *remote.Cmd) Action {
	return Action{Host: host, Kind: Run, Desc: desc, Cmd: cmd, Unless: unless}
}

func destroy(a Action) Action { a.Destructive = true; return a }

func write(host, path, content string, mode fs.FileMode, onChange *remote.Cmd) Action {
	return Action{Host: host, Kind: WriteFile, Desc: "write " + path, Path: path, Content: content, Mode: mode, OnChange: onChange}
}

func wait(host, desc string, cmd remote.Cmd, timeout time.Duration) Action {
	return Action{Host: host, Kind: Wait, Desc: desc, Cmd: cmd, Timeout: timeout}
}

func ptr(c remote.Cmd) *remote.Cmd { return &c }

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
