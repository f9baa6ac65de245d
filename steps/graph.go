package steps

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// The plan as a graph. A node is one step on one host (the step's actions
// of that host, in plan order). Each step names the earlier steps it needs
// (Step.Needs), each with a scope:
//
//	"export"          every node of export, on every host (all hosts)
//	"import@host"     the node of import on the same host, if it has one
//	"drbd-sync@pair"  the nodes of drbd-sync on the hosts of the same DRBD
//	                  pair (a host in no pair: every host of drbd-sync)
//
// A node starts once every node it needs is done (Engine.Graph). The needs
// of the steps the plans build are in one table, neededBy; a step the table
// does not know needs every earlier step, and every step needs the earlier
// steps the table does not know, so that nothing runs earlier than in the
// plan's order unless the table says it may.

// Scope says which nodes of a needed step a node waits for.
type Scope int

const (
	AllHosts Scope = iota // every node of the needed step
	SameHost              // the needed step's node on this node's host
	SamePair              // the needed step's nodes on this node's DRBD pair
)

// Need is one entry of Step.Needs, parsed.
type Need struct {
	Step  string
	Scope Scope
}

// ParseNeed reads "step", "step@host" or "step@pair".
func ParseNeed(s string) (Need, error) {
	id, scope, found := strings.Cut(s, "@")
	n := Need{Step: id}
	switch {
	case id == "":
		return n, fmt.Errorf("need %q names no step", s)
	case !found:
	case scope == "host":
		n.Scope = SameHost
	case scope == "pair":
		n.Scope = SamePair
	default:
		return n, fmt.Errorf("need %q: scope %q is not host or pair", s, scope)
	}
	return n, nil
}

func (n Need) String() string {
	switch n.Scope {
	case SameHost:
		return n.Step + "@host"
	case SamePair:
		return n.Step + "@pair"
	}
	return n.Step
}

// Describe is the need as plan --graph prints it: "drbd-sync (same pair)".
func (n Need) Describe() string {
	return n.Step + " (" + [...]string{"all hosts", "same host", "same pair"}[n.Scope] + ")"
}

// neededBy is the needs table of the debian12 profile: step ID → the
// earlier steps it needs. Every step of the table also needs packages and
// modules on its own host (added by tableNeeds). The hard safety edges:
// DRBD up → connected → sync → primary (a, then b) → export; exports →
// imports → multipath → VG → LV → mkfs → mount; journals before a mount;
// the cluster (corosync, dlm, lvmlockd) before the shared VG.
var neededBy = map[string][]string{
	"packages": {},
	"modules":  {"packages@host"},
	// the resource files, and the storage hosts' LVM filter that keeps
	// LVM off the backing disk, before DRBD touches the disk
	"drbd-config":   {},
	"drbd-metadata": {"drbd-config@host"},
	"drbd-up":       {"drbd-metadata@host"},
	// each half waits until connected to its peer: both halves up
	"drbd-initial-sync": {"drbd-up@pair"},
	"drbd-sync":         {"drbd-initial-sync@pair"},
	"drbd-primary-a":    {"drbd-sync@pair"},
	// DRBD refuses two promotions of a pair at once
	"drbd-primary-b": {"drbd-sync@pair", "drbd-primary-a@pair"},
	// a half exports only once both halves are UpToDate and primary
	"export": {"drbd-primary-a@pair", "drbd-primary-b@pair"},
	// the boot unit, started now, finds its half primary and exported
	"storage-boot": {"export@pair"},
	// a client logs in to every half of every pair
	"import":      {"export"},
	"multipath":   {"import@host"},
	"lvm-config":  {},
	"cluster-key": {},
	// the key is copied from the first client; the quorum wait needs the
	// other clients' corosync, which needs nothing but its own packages
	"cluster": {"cluster-key"},
	// the shared VG on the first client's maps, with the lockspace of every
	// client's dlm and lvmlockd up, and every client's LVM filter in place
	// (no client's LVM sees the new PVs through the raw iSCSI paths)
	"vg":          {"multipath@host", "lvm-config", "cluster"},
	"vg-lock":     {"vg", "cluster@host", "multipath@host", "lvm-config@host"},
	"lv":          {"vg-lock"},
	"lv-activate": {"lv", "vg-lock@host"},
	"lv-boot":     {"lv-activate@host"},
	"gfs2":        {"lv-activate@host"},
	// gfs2_jadd runs on the first client's mounted GFS2 (adding a client)
	"journals": {"gfs2"},
	"mount":    {"gfs2", "journals", "lv-activate@host", "lv-boot@host", "cluster@host"},
	// day two: grow once every client has mounted
	"grow-lv":      {"mount"},
	"grow-refresh": {"grow-lv"},
	"grow-fs":      {"grow-lv", "grow-refresh", "mount"},
}

// tableNeeds is the needs of step si of p from the table: a profile or a
// step the table does not know needs every earlier step (today's order); a
// known step also needs packages and modules on its host, and every
// earlier step the table does not know.
func tableNeeds(p *Plan, si int) []string {
	id := p.Steps[si].ID
	table := map[string]map[string][]string{"debian12": neededBy}[p.Profile]
	own, known := table[id]
	if !known {
		out := []string{}
		for _, st := range p.Steps[:si] {
			out = appendNew(out, st.ID)
		}
		return out
	}
	var out []string
	switch id {
	case "packages":
	case "modules":
		out = []string{"packages@host"}
	default:
		out = []string{"packages@host", "modules@host"}
	}
	for _, n := range own {
		out = appendNew(out, n)
	}
	for _, st := range p.Steps[:si] {
		if _, ok := table[st.ID]; !ok {
			out = appendNew(out, st.ID)
		}
	}
	if out == nil {
		out = []string{}
	}
	return out
}

func appendNew(list []string, s string) []string {
	for _, l := range list {
		if l == s {
			return list
		}
	}
	return append(list, s)
}

// SetNeeds fills the Needs of every step of p that has none from the needs
// table (Build leaves them empty; plan --graph and Engine.Graph read them).
func SetNeeds(p *Plan) {
	for si := range p.Steps {
		if p.Steps[si].Needs == nil {
			p.Steps[si].Needs = tableNeeds(p, si)
		}
	}
}

// needsOf is step si's needs: its own, or the table's.
func needsOf(p *Plan, si int) []string {
	if p.Steps[si].Needs != nil {
		return p.Steps[si].Needs
	}
	return tableNeeds(p, si)
}

// Node is one step on one host.
type Node struct {
	Step int    // index in Plan.Steps
	Host string //
	// Actions are the indexes of the step's actions on the host, in order.
	Actions []int
	// Needs are the nodes (indexes in Graph.Nodes) that must be done first.
	Needs []int
}

// Graph is the plan's nodes, in plan order (step by step, each step's hosts
// in first-seen order), with what each needs.
type Graph struct {
	Plan  *Plan
	Nodes []Node
	// Needs are each step's parsed needs.
	Needs [][]Need
	// StepNodes are the nodes of each step.
	StepNodes [][]int
	// Pair is each storage host's DRBD peer.
	Pair map[string]string
}

// NewGraph builds the graph of p. A need must name an earlier step (a step
// absent from the plan is needed by nobody: e.g. storage-boot without a
// fence agent).
func NewGraph(p *Plan) (*Graph, error) {
	g := &Graph{Plan: p, Needs: make([][]Need, len(p.Steps)), StepNodes: make([][]int, len(p.Steps)), Pair: pairsOf(p)}
	index := map[string]int{} // step ID → its latest index so far
	for si, st := range p.Steps {
		for _, raw := range needsOf(p, si) {
			n, err := ParseNeed(raw)
			if err != nil {
				return nil, fmt.Errorf("step %s: %w", st.ID, err)
			}
			if n.Step == st.ID {
				return nil, fmt.Errorf("step %s needs itself", st.ID)
			}
			if _, ok := index[n.Step]; !ok {
				for _, later := range p.Steps[si+1:] {
					if later.ID == n.Step {
						return nil, fmt.Errorf("step %s needs %s, which comes after it in the plan", st.ID, n.Step)
					}
				}
			}
			g.Needs[si] = append(g.Needs[si], n)
		}
		for _, h := range st.Hosts() {
			nd := Node{Step: si, Host: h}
			for ai, a := range st.Actions {
				if a.Host == h {
					nd.Actions = append(nd.Actions, ai)
				}
			}
			seen := map[int]bool{}
			for _, n := range g.Needs[si] {
				ni, ok := index[n.Step]
				if !ok {
					continue
				}
				for _, m := range g.StepNodes[ni] {
					if !seen[m] && g.scoped(n.Scope, h, g.Nodes[m].Host) {
						seen[m] = true
						nd.Needs = append(nd.Needs, m)
					}
				}
			}
			sort.Ints(nd.Needs)
			g.StepNodes[si] = append(g.StepNodes[si], len(g.Nodes))
			g.Nodes = append(g.Nodes, nd)
		}
		index[st.ID] = si
	}
	return g, nil
}

// scoped: does a node on host h wait for the needed step's node on other?
func (g *Graph) scoped(s Scope, h, other string) bool {
	switch s {
	case SameHost:
		return h == other
	case SamePair:
		peer, ok := g.Pair[h]
		return !ok || other == h || other == peer
	}
	return true
}

// pairsOf finds the DRBD pairs in the plan: the two hosts that write the
// same resource file /etc/drbd.d/NAME.res are the halves of one pair.
func pairsOf(p *Plan) map[string]string {
	byPath := map[string][]string{}
	var paths []string
	for _, st := range p.Steps {
		for _, a := range st.Actions {
			if a.Kind == WriteFile && strings.HasPrefix(a.Path, "/etc/drbd.d/") && strings.HasSuffix(a.Path, ".res") {
				if byPath[a.Path] == nil {
					paths = append(paths, a.Path)
				}
				byPath[a.Path] = appendNew(byPath[a.Path], a.Host)
			}
		}
	}
	out := map[string]string{}
	for _, path := range paths {
		if hs := byPath[path]; len(hs) == 2 {
			out[hs[0]], out[hs[1]] = hs[1], hs[0]
		}
	}
	return out
}

// Rounds is how long the plan takes when every action takes one round:
// graph, as the graph scheduler runs it (no overall cap, one node per host
// at a time, a free host taking its first ready node in plan order), and
// sequential, step after step with the hosts of a step in parallel.
func (g *Graph) Rounds() (graph, sequential int) {
	total := 0
	for _, nodes := range g.StepNodes {
		longest := 0
		for _, n := range nodes {
			longest = max(longest, len(g.Nodes[n].Actions))
			total += len(g.Nodes[n].Actions)
		}
		sequential += longest
	}
	end := make([]int, len(g.Nodes)) // round a node ends; 0: not started
	busy := map[string]int{}         // host → round its node ends
	left := len(g.Nodes)
	for t := 0; left > 0; t++ {
		for i, nd := range g.Nodes {
			if end[i] != 0 || busy[nd.Host] > t {
				continue
			}
			ready := true
			for _, m := range nd.Needs {
				if end[m] == 0 || end[m] > t {
					ready = false
					break
				}
			}
			if ready {
				end[i] = t + len(nd.Actions)
				busy[nd.Host] = end[i]
				graph = max(graph, end[i])
				left--
			}
		}
		if t > total {
			panic("Rounds: the graph does not finish") // NewGraph makes only earlier needs
		}
	}
	return graph, sequential
}

// Render writes the graph: each step with its hosts and what it waits for,
// then the rounds of both schedules.
func (g *Graph) Render(w io.Writer) {
	p := g.Plan
	fmt.Fprintf(w, "Graph of the plan for cluster %q (profile %s): %d steps, %d nodes (a node is a step on one host).\n",
		p.Cluster, p.Profile, len(p.Steps), len(g.Nodes))
	fmt.Fprintf(w, "A node starts once the nodes it needs are done. A host runs one node at a time, its actions in plan order;\n"+
		"a free host takes its first ready node in plan order. \"same pair\" is the two halves of a DRBD pair.\n")
	for si, st := range p.Steps {
		fmt.Fprintf(w, "\n%2d. %s  [%s]\n    on: %s\n", si+1, st.Title, st.ID, strings.Join(st.Hosts(), ", "))
		fmt.Fprintf(w, "    needs: %s\n", describeNeeds(g.Needs[si]))
	}
	gr, seq := g.Rounds()
	fmt.Fprintf(w, "\nWith every action one round: %d rounds as a graph, %d step after step.\n", gr, seq)
}

// describeNeeds lists needs by scope: "export (all hosts); packages,
// modules (same host)".
func describeNeeds(needs []Need) string {
	var parts []string
	for _, scope := range []Scope{AllHosts, SamePair, SameHost} {
		var ids []string
		for _, n := range needs {
			if n.Scope == scope {
				ids = append(ids, n.Step)
			}
		}
		if len(ids) > 0 {
			parts = append(parts, Need{Step: strings.Join(ids, ", "), Scope: scope}.Describe())
		}
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, "; ")
}
