package config

import "fmt"

// Bounds on a spec, checked before the TOML decoder sees it, so that any
// input is refused or loaded in a fraction of a second: the decoder's work
// grows with the square of the nesting (inline tables 2000 deep, 8 KB, took
// 14 s and 20 KB took 6.4 GB), and with the size. The largest cluster, 256
// pairs (DRBD minors 0-255) with their hosts, is about 80 KB written out;
// keys are at most four deep (fencing.host_options.NAME.OPTION), or three
// tables and arrays (host = [{ ssh = { port = 22 } }]).
const (
	MaxSpecSize = 128 << 10
	maxNesting  = 6
)

var msgTooLarge = fmt.Sprintf("the file is larger than %d KiB, the most a spec may be (a large cluster's spec is a few KiB)", MaxSpecSize>>10)

// checkBounds refuses a spec larger than MaxSpecSize, or one whose tables,
// arrays and dotted keys nest deeper than maxNesting. It scans the text the
// way TOML reads it, skipping comments and strings (so brackets and dots in
// them do not count), in one pass.
func checkBounds(src string) *Problem {
	if len(src) > MaxSpecSize {
		return &Problem{Msg: msgTooLarge}
	}
	line, depth, dots := 1, 0, 0
	// skipTo moves i past the end of a string closed by end (escapes
	// honoured when esc), counting its lines; an unclosed string is left to
	// the decoder to report.
	skipTo := func(i int, end string, esc bool) int {
		for i < len(src) {
			switch {
			case esc && src[i] == '\\':
				if i+1 < len(src) && src[i+1] == '\n' {
					line++
				}
				i += 2
				continue
			case src[i] == '\n':
				if len(end) == 1 {
					return i // a one-line string ends at the line's end
				}
				line++
			case src[i:min(i+len(end), len(src))] == end:
				return i + len(end)
			}
			i++
		}
		return i
	}
	for i := 0; i < len(src); {
		c := src[i]
		switch c {
		case '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			continue
		case '"', '\'':
			q := string(c)
			if len(src) >= i+3 && src[i:i+3] == q+q+q {
				i = skipTo(i+3, q+q+q, c == '"')
			} else {
				i = skipTo(i+1, q, c == '"')
			}
			continue
		case '[', '{':
			depth++
		case ']', '}':
			depth, dots = max(depth-1, 0), 0
		case '.':
			dots++
		case '\n':
			line++
			dots = 0
		case '=', ',':
			dots = 0
		}
		if depth+dots > maxNesting {
			return &Problem{Line: line, Msg: fmt.Sprintf("tables, arrays and dotted keys nest more than %d deep here; a spec's keys are at most 4 deep", maxNesting)}
		}
		i++
	}
	return nil
}
