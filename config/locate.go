package config

import (
	"regexp"
	"strconv"
	"strings"
)

// positions maps every key of a TOML document to the line it is written on,
// keyed by its path with array indexes ("host[2].ssh.port"). BurntSushi's
// decoder keeps no positions for keys inside arrays of tables, so errors that
// name a line need this second, simple pass over the (already parsed, so
// well-formed) text.
type positions struct {
	byPath map[string]int
	byBare map[string]int // path without indexes → first line
}

var (
	reArrayTable = regexp.MustCompile(`^\[\[\s*([^\]]+?)\s*\]\]`)
	reTable      = regexp.MustCompile(`^\[\s*([^\]]+?)\s*\]`)
	reKey        = regexp.MustCompile(`^("[^"]*"|'[^']*'|[A-Za-z0-9_.\- ]+?)\s*=`)
	reInlineKey  = regexp.MustCompile(`[{,]\s*("[^"]*"|[A-Za-z0-9_\-]+)\s*=`)
	reIndex      = regexp.MustCompile(`\[\d+\]`)
)

func locate(src string) *positions {
	p := &positions{byPath: map[string]int{}, byBare: map[string]int{}}
	counts := map[string]int{} // array-of-tables path (with parent indexes) → entries so far
	ctx := ""
	inMulti := ""
	for i, line := range strings.Split(src, "\n") {
		n := i + 1
		t := strings.TrimSpace(line)
		if inMulti != "" {
			if strings.Contains(t, inMulti) {
				inMulti = ""
			}
			continue
		}
		switch {
		case t == "" || t[0] == '#':
			continue
		case reArrayTable.MatchString(t):
			raw := cleanKey(reArrayTable.FindStringSubmatch(t)[1])
			name := raw
			if i := strings.LastIndex(raw, "."); i >= 0 {
				name = p.indexed(raw[:i], counts) + raw[i:]
			}
			idx := counts[name]
			counts[name]++
			ctx = name + "[" + strconv.Itoa(idx) + "]"
			p.add(ctx, n)
			continue
		case reTable.MatchString(t):
			ctx = p.indexed(reTable.FindStringSubmatch(t)[1], counts)
			p.add(ctx, n)
			continue
		}
		m := reKey.FindStringSubmatch(t)
		if m == nil {
			continue
		}
		key := join(ctx, cleanKey(m[1]))
		p.add(key, n)
		rest := strings.TrimSpace(t[len(m[0]):])
		if strings.HasPrefix(rest, "{") {
			for _, im := range reInlineKey.FindAllStringSubmatch(rest, -1) {
				p.add(join(key, cleanKey(im[1])), n)
			}
		}
		for _, q := range []string{`"""`, `'''`} {
			if strings.HasPrefix(rest, q) && !strings.Contains(rest[3:], q) {
				inMulti = q
			}
		}
	}
	return p
}

// indexed rewrites a table name so each prefix that is an array of tables
// points at its latest entry: "host.ssh" → "host[3].ssh".
func (p *positions) indexed(name string, counts map[string]int) string {
	parts := strings.Split(cleanKey(name), ".")
	out := ""
	for _, part := range parts {
		out = join(out, part)
		if c, ok := counts[out]; ok && c > 0 {
			out += "[" + strconv.Itoa(c-1) + "]"
		}
	}
	return out
}

func (p *positions) add(path string, line int) {
	if _, ok := p.byPath[path]; !ok {
		p.byPath[path] = line
	}
	bare := reIndex.ReplaceAllString(path, "")
	if _, ok := p.byBare[bare]; !ok {
		p.byBare[bare] = line
	}
}

// line finds the line of a key path, falling back to its closest parent.
func (p *positions) line(path string) int {
	if p == nil {
		return 0
	}
	for path != "" {
		if n, ok := p.byPath[path]; ok {
			return n
		}
		if n, ok := p.byBare[path]; ok {
			return n
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

func cleanKey(k string) string {
	parts := strings.Split(k, ".")
	for i, part := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(part), `"'`)
	}
	return strings.Join(parts, ".")
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}
