package steps

import (
	"fmt"
	"io"
	"strings"
)

// Render writes the plan as text: each step with its hosts, the exact
// commands (with the probe that skips them when already so), the full text
// of every file, and destructive actions marked.
func (p *Plan) Render(w io.Writer) {
	nActions := 0
	for _, st := range p.Steps {
		nActions += len(st.Actions)
	}
	fmt.Fprintf(w, "Plan for cluster %q (profile %s): %d steps, %d actions.\n", p.Cluster, p.Profile, len(p.Steps), nActions)
	fmt.Fprintf(w, "Each action runs only when its probe (\"unless\") fails; actions of different hosts in a step run in parallel.\n")
	for _, warn := range p.Warnings {
		fmt.Fprintf(w, "\nWARNING: %s\n", warn)
	}
	for i, st := range p.Steps {
		fmt.Fprintf(w, "\n%d. %s  [%s]\n", i+1, st.Title, st.ID)
		for _, g := range groupActions(st.Actions) {
			renderGroup(w, g)
		}
	}
}

// group is one action that several hosts run identically.
type group struct {
	hosts []string
	a     Action
}

// groupActions folds actions that are identical but for their host, keeping
// first-seen order, so the plan reads "storage0a, storage0b: write …" once.
func groupActions(as []Action) []group {
	var out []group
	index := map[string]int{}
	for _, a := range as {
		k := actionKey(a)
		if i, ok := index[k]; ok {
			out[i].hosts = append(out[i].hosts, a.Host)
			continue
		}
		index[k] = len(out)
		out = append(out, group{hosts: []string{a.Host}, a: a})
	}
	return out
}

func actionKey(a Action) string {
	var unless, onChange string
	if a.Unless != nil {
		unless = a.Unless.String()
	}
	if a.OnChange != nil {
		onChange = a.OnChange.String()
	}
	return fmt.Sprintf("%d\x00%s\x00%s\x00%s\x00%s\x00%s\x00%o\x00%s\x00%s\x00%t", a.Kind, a.Desc, a.Cmd.String(), unless, a.Path, a.Content, a.Mode, onChange, a.From, a.Destructive)
}

func renderGroup(w io.Writer, g group) {
	a := g.a
	mark := ""
	if a.Destructive {
		mark = "  !! DESTRUCTIVE"
	}
	fmt.Fprintf(w, "   - %s: %s%s\n", strings.Join(g.hosts, ", "), a.Desc, mark)
	switch a.Kind {
	case Run:
		fmt.Fprintf(w, "       $ %s\n", a.Cmd)
	case Wait:
		fmt.Fprintf(w, "       wait up to %s for: %s\n", a.Timeout, a.Cmd)
	case WriteFile:
		fmt.Fprintf(w, "       file %s (mode %04o):\n", a.Path, a.Mode)
		for _, l := range strings.Split(strings.TrimSuffix(a.Content, "\n"), "\n") {
			fmt.Fprintf(w, "       | %s\n", l)
		}
	case CopySecret:
		fmt.Fprintf(w, "       copy %s from %s (mode %04o; secret, never shown)\n", a.Path, a.From, a.Mode)
	}
	if a.Unless != nil {
		fmt.Fprintf(w, "       unless: %s\n", a.Unless)
	}
	if a.OnChange != nil {
		fmt.Fprintf(w, "       when changed: %s\n", a.OnChange)
	}
}
