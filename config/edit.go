package config

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// Day-2 edits of a spec file keep the operator's text byte for byte: the
// new blocks, rendered as Render writes them, are inserted after the last
// block of their kind (new hosts after the last [[host]], a pair after the
// last [[pair]]), and the result must load before it replaces the file.

// AppendPair adds pair p to the spec file at path, with the hosts it needs
// that the file does not have yet. A pair without an id gets the next free
// one, written out.
func AppendPair(path string, p Pair, hosts ...Host) error {
	old, s, err := readSpec(path)
	if err != nil {
		return err
	}
	if p.ID == nil {
		id := s.NextPairID()
		p.ID = &id
	}
	return appendBlocks(path, old, hosts, "pair", []Pair{p})
}

// AppendClient adds client c to the spec file at path, with the hosts it
// needs that the file does not have yet (usually the client's own).
func AppendClient(path string, c Client, hosts ...Host) error {
	old, _, err := readSpec(path)
	if err != nil {
		return err
	}
	return appendBlocks(path, old, hosts, "client", []Client{c})
}

// readSpec reads the spec file at path; one that does not load is not
// edited.
func readSpec(path string) (string, *Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", nil, fmt.Errorf("read spec: %w", err)
	}
	s, err := Parse(path, data)
	if err != nil {
		return "", nil, err
	}
	return string(data), s, nil
}

// appendBlocks inserts hosts as [[host]] blocks and items as [[name]]
// blocks into the spec text old, and writes the result to path once it
// loads.
func appendBlocks[T any](path, old string, hosts []Host, name string, items []T) error {
	hostText, err := renderBlocks("host", hosts)
	if err != nil {
		return err
	}
	itemText, err := renderBlocks(name, items)
	if err != nil {
		return err
	}
	data := insertBlocks(old, []insertion{{"host", hostText}, {name, itemText}})
	if _, err := Parse(path, []byte(data)); err != nil {
		return err
	}
	return writeAtomic(path, []byte(data))
}

// insertion is text (blank-line-separated [[table]] blocks) to place after
// the last block of table.
type insertion struct{ table, text string }

// insertBlocks places each insertion after the last block of its table in
// src (at the end when there is none), in the file's line ending.
func insertBlocks(src string, ins []insertion) string {
	lines := scanLayout(src)
	nl := "\n"
	if strings.Contains(src, "\r\n") {
		nl = "\r\n"
	}
	type at struct {
		off  int
		text string
	}
	var edits []at
	for _, in := range ins {
		if in.text == "" {
			continue
		}
		off := insertionPoint(src, lines, in.table)
		text := strings.ReplaceAll(in.text, "\n", nl)
		if off == len(src) && src != "" && !strings.HasSuffix(src, "\n") {
			text = nl + text
		}
		edits = append(edits, at{off, text})
	}
	sort.SliceStable(edits, func(i, j int) bool { return edits[i].off < edits[j].off })
	var b strings.Builder
	prev := 0
	for _, e := range edits {
		b.WriteString(src[prev:e.off])
		b.WriteString(e.text)
		prev = e.off
	}
	b.WriteString(src[prev:])
	return b.String()
}

// insertionPoint is the offset in src just after the last [[table]] block:
// after the block of the last table header that is table or inside it
// ([table.sub] belongs to the element above it), past its last value and
// the comment lines right under it (a comment group that runs into the next
// header is that header's). Without a [[table]] header it is the end.
func insertionPoint(src string, lines []layoutLine, table string) int {
	last, found := -1, false
	for i, l := range lines {
		if l.kind == headerLine && len(l.table) > 0 && l.table[0] == table {
			last = i
			found = found || len(l.table) == 1 && l.array
		}
	}
	if !found {
		return len(src)
	}
	next := len(lines)
	for j := last + 1; j < len(lines); j++ {
		if lines[j].kind == headerLine {
			next = j
			break
		}
	}
	end := last
	for j := last + 1; j < next; j++ {
		if lines[j].kind == valueLine {
			end = j
		}
	}
	j := end + 1
	for j < next && lines[j].kind == commentLine {
		j++
	}
	if j == len(lines) || j < next && lines[j].kind == blankLine {
		end = j - 1
	}
	return lines[end].end
}

type lineKind int

const (
	blankLine   lineKind = iota
	commentLine          // only a comment
	headerLine           // [table] or [[table]]
	valueLine            // a key = value, or a line inside a multi-line value
)

// layoutLine is one line of a TOML document as TOML reads it.
type layoutLine struct {
	kind       lineKind
	start, end int      // the line's offsets in the text, end past its '\n'
	table      []string // headerLine: the table's key, one part a dotted element
	array      bool     // headerLine: [[table]]
}

// scanLayout splits a TOML document into lines and tells what each is,
// following strings (multi-line ones too), comments and brackets so that a
// '[' or '#' inside a value is never taken for a header or a comment.
func scanLayout(src string) []layoutLine {
	var lines []layoutLine
	var v valueScan
	for start := 0; start < len(src); {
		end := strings.IndexByte(src[start:], '\n') + start + 1
		if end == start {
			end = len(src)
		}
		text := src[start:end]
		l := layoutLine{start: start, end: end, kind: valueLine}
		t := strings.TrimLeft(text, " \t")
		switch {
		case v.open():
			v.scan(text)
		case strings.TrimRight(t, "\r\n") == "":
			l.kind = blankLine
		case t[0] == '#':
			l.kind = commentLine
		case t[0] == '[':
			l.kind = headerLine
			l.table, l.array = parseHeader(t)
		default:
			v.scan(text)
		}
		lines = append(lines, l)
		start = end
	}
	return lines
}

// valueScan follows a value across lines: an open multi-line string or
// open brackets continue it on the next line.
type valueScan struct {
	str   string // the open multi-line string's delimiter, """ or '''
	depth int    // open [ and {
}

func (v *valueScan) open() bool { return v.str != "" || v.depth > 0 }

func (v *valueScan) scan(line string) {
	for i := 0; i < len(line); {
		if v.str != "" {
			switch {
			case v.str == `"""` && line[i] == '\\':
				i += 2
			case strings.HasPrefix(line[i:], v.str):
				// """" closes with a quote in the string: the delimiter
				// is the last three of a run of up to five.
				n := 3
				for n < 5 && i+n < len(line) && line[i+n] == v.str[0] {
					n++
				}
				i += n
				v.str = ""
			default:
				i++
			}
			continue
		}
		switch c := line[i]; {
		case c == '#':
			return
		case strings.HasPrefix(line[i:], `"""`) || strings.HasPrefix(line[i:], `'''`):
			v.str = line[i : i+3]
			i += 3
		case c == '"':
			i++
			for i < len(line) && line[i] != '"' {
				if line[i] == '\\' {
					i++
				}
				i++
			}
			i++
		case c == '\'':
			i++
			for i < len(line) && line[i] != '\'' {
				i++
			}
			i++
		case c == '[' || c == '{':
			v.depth++
			i++
		case c == ']' || c == '}':
			v.depth--
			i++
		default:
			i++
		}
	}
}

// parseHeader reads the key of a [table] or [[table]] header line: bare,
// "quoted" and 'literal' parts joined by dots.
func parseHeader(t string) (key []string, array bool) {
	t = t[1:]
	if strings.HasPrefix(t, "[") {
		array, t = true, t[1:]
	}
	for {
		t = strings.TrimLeft(t, " \t")
		if t == "" {
			return key, array
		}
		var part string
		switch t[0] {
		case '"':
			n := 1
			for n < len(t) && t[n] != '"' {
				if t[n] == '\\' {
					n++
				}
				n++
			}
			n = min(n+1, len(t))
			var k struct{ K string }
			toml.Decode("K = "+t[:n], &k) // well-formed: the file has loaded
			part, t = k.K, t[n:]
		case '\'':
			n := strings.IndexByte(t[1:], '\'') + 2
			if n == 1 {
				n = len(t)
			}
			part, t = strings.Trim(t[:n], "'"), t[n:]
		default:
			n := strings.IndexFunc(t, func(r rune) bool {
				return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-')
			})
			if n < 0 {
				n = len(t)
			}
			part, t = t[:n], t[n:]
		}
		key = append(key, part)
		t = strings.TrimLeft(t, " \t")
		if !strings.HasPrefix(t, ".") {
			return key, array
		}
		t = t[1:]
	}
}
