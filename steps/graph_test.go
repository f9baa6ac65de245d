package steps

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"scalestore/config"
	"scalestore/remote"
)

// nodeNeeds is what the node of step on host needs, as "step@host", sorted.
func nodeNeeds(g *Graph, step, host string) []string {
	for _, nd := range g.Nodes {
		if g.Plan.Steps[nd.Step].ID == step && nd.Host == host {
			var out []string
			for _, m := range nd.Needs {
				out = append(out, g.Plan.Steps[g.Nodes[m].Step].ID+"@"+g.Nodes[m].Host)
			}
			slices.Sort(out)
			return out
		}
	}
	return nil
}

func mustGraph(t *testing.T, p *Plan) *Graph {
	t.Helper()
	g, err := NewGraph(p)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// What each node of the fenced lab (three pairs, two clients) waits for.
func TestNodeNeeds(t *testing.T) {
	g := mustGraph(t, Build(fencedLab(t, config.ProfileDebian12), nil))
	base := func(h string, more ...string) []string {
		out := append([]string{"modules@" + h, "packages@" + h}, more...)
		slices.Sort(out)
		return out
	}
	exports := []string{"export@storage0a", "export@storage0b", "export@storage1a", "export@storage1b", "export@storage2a", "export@storage2b"}
	for _, tc := range []struct {
		step, host string
		want       []string
	}{
		{"packages", "storage0a", nil},
		{"modules", "client0", []string{"packages@client0"}},
		{"drbd-metadata", "storage1b", base("storage1b", "drbd-config@storage1b")},
		// connected needs both halves up
		{"drbd-initial-sync", "storage0b", base("storage0b", "drbd-up@storage0a", "drbd-up@storage0b")},
		// the sync is waited for on the a-half only
		{"drbd-sync", "storage2a", base("storage2a", "drbd-initial-sync@storage2a", "drbd-initial-sync@storage2b")},
		{"drbd-primary-a", "storage1a", base("storage1a", "drbd-sync@storage1a")},
		{"drbd-primary-b", "storage1b", base("storage1b", "drbd-primary-a@storage1a", "drbd-sync@storage1a")},
		{"export", "storage0a", base("storage0a", "drbd-primary-a@storage0a", "drbd-primary-b@storage0b")},
		{"storage-boot", "storage2b", base("storage2b", "export@storage2a", "export@storage2b")},
		{"import", "client1", base("client1", exports...)},
		{"multipath", "client0", base("client0", "import@client0")},
		{"lvm-config", "client1", base("client1")},
		// the client cluster needs nothing of the storage
		{"cluster", "client1", base("client1", "cluster-key@client0")},
		{"vg", "client0", base("client0", "cluster@client0", "cluster@client1", "lvm-config@client0", "lvm-config@client1", "multipath@client0")},
		{"vg-lock", "client1", base("client1", "cluster@client1", "lvm-config@client1", "multipath@client1", "vg@client0")},
		{"lv", "client0", base("client0", "vg-lock@client0", "vg-lock@client1")},
		{"lv-activate", "client1", base("client1", "lv@client0", "vg-lock@client1")},
		{"gfs2", "client0", base("client0", "lv-activate@client0")},
		{"journals", "client0", base("client0", "gfs2@client0")},
		{"mount", "client1", base("client1", "cluster@client1", "gfs2@client0", "journals@client0", "lv-activate@client1", "lv-boot@client1")},
		{"grow-refresh", "client1", base("client1", "grow-lv@client0")},
		{"grow-fs", "client0", base("client0", "grow-lv@client0", "grow-refresh@client1", "mount@client0", "mount@client1")},
	} {
		if got := nodeNeeds(g, tc.step, tc.host); !slices.Equal(got, tc.want) {
			t.Errorf("%s on %s needs %v, want %v", tc.step, tc.host, got, tc.want)
		}
	}
}

func TestParseNeed(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{"export", "export (all hosts)", ""},
		{"import@host", "import (same host)", ""},
		{"drbd-sync@pair", "drbd-sync (same pair)", ""},
		{"drbd-sync@rack", "", `scope "rack" is not host or pair`},
		{"@host", "", "names no step"},
	} {
		n, err := ParseNeed(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || n.Describe() != tc.want || n.String() != tc.in {
			t.Errorf("%q: %v %q %q", tc.in, err, n.Describe(), n.String())
		}
	}
}

// A step the table does not know needs every earlier step on every host,
// and every later step of the table needs it: nothing runs earlier than
// in the plan's order because of it. A profile without a table (centos5)
// runs step after step.
func TestUnknownStepsKeepThePlanOrder(t *testing.T) {
	p := Build(loadLab(t, "lab.toml"), nil)
	at := slices.IndexFunc(p.Steps, func(st Step) bool { return st.ID == "cluster" })
	extra := Step{ID: "new-thing", Title: "something new", Actions: []Action{run("client1", "do it", remoteTrue, nil)}}
	p.Steps = slices.Insert(p.Steps, at, extra)
	g := mustGraph(t, p)
	var earlier []string
	for _, st := range p.Steps[:at] {
		earlier = append(earlier, st.ID)
	}
	var got []string
	for _, n := range g.Needs[at] {
		if n.Scope != AllHosts {
			t.Errorf("new-thing needs %s", n.Describe())
		}
		got = append(got, n.Step)
	}
	if !slices.Equal(got, earlier) {
		t.Errorf("new-thing needs %v, want every earlier step %v", got, earlier)
	}
	for si, st := range p.Steps[at+1:] {
		if !slices.ContainsFunc(g.Needs[at+1+si], func(n Need) bool { return n.Step == "new-thing" && n.Scope == AllHosts }) {
			t.Errorf("%s, after new-thing, does not need it", st.ID)
		}
	}

	c := mustGraph(t, Build(sample(t, config.ProfileCentOS5), nil))
	if gr, seq := c.Rounds(); gr != seq {
		t.Errorf("centos5 as a graph takes %d rounds, step after step %d: want the same", gr, seq)
	}
	for si := 1; si < len(c.Plan.Steps); si++ {
		if len(c.Needs[si]) != si {
			t.Errorf("centos5 %s needs %d steps, want the %d before it", c.Plan.Steps[si].ID, len(c.Needs[si]), si)
		}
	}
}

var remoteTrue = remote.Argv("true")

// A need of a later step, of itself or in a bad form is refused before
// anything runs.
func TestBadNeeds(t *testing.T) {
	for _, tc := range []struct {
		step, need, err string
	}{
		{"import", "mount", "import needs mount, which comes after it in the plan"},
		{"import", "import", "import needs itself"},
		{"import", "export@rack", `step import: need "export@rack"`},
	} {
		p := Build(loadLab(t, "lab.toml"), nil)
		SetNeeds(p)
		for i := range p.Steps {
			if p.Steps[i].ID == tc.step {
				p.Steps[i].Needs = append(p.Steps[i].Needs, tc.need)
			}
		}
		_, err := NewGraph(p)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s needs %s: err %v, want %q", tc.step, tc.need, err, tc.err)
		}
		if _, err := (&Engine{Graph: true, NoPrefetch: true}).Run(t.Context(), p); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("a graph run with %s needing %s: err %v", tc.step, tc.need, err)
		}
	}
}

// Statically, on every spec: each safety edge holds through the needs
// (directly or through other nodes), and packages and modules come before
// every later node of their host. (The scheduler test checks the same on
// the runs.)
func TestSafetyEdgesAreInTheGraph(t *testing.T) {
	for name, s := range graphSpecs(t) {
		g := mustGraph(t, Build(s, nil))
		reach := make([]map[int]bool, len(g.Nodes)) // transitive needs
		for n, nd := range g.Nodes {
			reach[n] = map[int]bool{}
			for _, m := range nd.Needs {
				reach[n][m] = true
				for k := range reach[m] {
					reach[n][k] = true
				}
			}
		}
		for _, e := range safetyPairs(g, s) {
			if !reach[e[1]][e[0]] {
				t.Errorf("%s: %s does not wait for %s", name, nodeName(g, e[1]), nodeName(g, e[0]))
			}
		}
	}
}

func nodeName(g *Graph, n int) string {
	return g.Plan.Steps[g.Nodes[n].Step].ID + " on " + g.Nodes[n].Host
}

// The pairs are read from the plan: the halves that write one resource file.
func TestPairsFromThePlan(t *testing.T) {
	s := loadLab(t, "lab-grow.toml")
	got := pairsOf(Build(s, nil))
	for _, p := range s.Pairs {
		if got[p.A.Host] != p.B.Host || got[p.B.Host] != p.A.Host {
			t.Errorf("pair %d: %s ↔ %s, read %v", p.Num(), p.A.Host, p.B.Host, got)
		}
	}
	if len(got) != 2*len(s.Pairs) {
		t.Errorf("pairs %v", got)
	}
}

// plan --graph on the lab's specs and the sample in both profiles.
func TestGoldenGraphs(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec *config.Spec
	}{
		{"lab", loadLab(t, "lab.toml")},
		{"lab-join", loadLab(t, "lab-join.toml")},
		{"sample-centos5", sample(t, config.ProfileCentOS5)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			mustGraph(t, Build(tc.spec, nil)).Render(&b)
			golden(t, "plan-graph-"+tc.name+".golden", b.Bytes())
		})
	}
}
