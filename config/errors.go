package config

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong with a spec, tied to its key and line.
type Problem struct {
	File string
	Line int    // 0 when the key is absent from the file
	Key  string // e.g. "pair[1].a.disk"
	Msg  string
}

func (p Problem) Error() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
		}
		b.WriteString(": ")
	} else if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is every problem found in a spec; Load returns it as its error.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

func (ps Problems) sorted() Problems {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Line != ps[j].Line {
			// problems about absent keys (line 0) come last
			if ps[i].Line == 0 || ps[j].Line == 0 {
				return ps[j].Line == 0
			}
			return ps[i].Line < ps[j].Line
		}
		return ps[i].Key < ps[j].Key
	})
	return ps
}
