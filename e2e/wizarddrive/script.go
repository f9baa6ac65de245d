package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"
)

// defaultWait is how long a wait step waits when its line names no timeout.
const defaultWait = 30 * time.Second

// A step is one line of a script.
type step struct {
	line    int    // its line number in the script
	src     string // the line as written, for messages
	op      string // wait, save, type, key or exit
	re      *regexp.Regexp
	timeout time.Duration
	name    string   // save: the name the value is printed under
	text    string   // type: the text (variables expanded)
	keys    []string // key: the bytes of each key
}

// keyBytes are the bytes a terminal sends for each key name a script may use
// (xterm's, as bubbletea reads them).
var keyBytes = map[string]string{
	"enter": "\r", "tab": "\t", "shift+tab": "\x1b[Z", "esc": "\x1b", "space": " ",
	"backspace": "\x7f", "delete": "\x1b[3~",
	"up": "\x1b[A", "down": "\x1b[B", "right": "\x1b[C", "left": "\x1b[D",
	"home": "\x1b[H", "end": "\x1b[F", "pgup": "\x1b[5~", "pgdown": "\x1b[6~",
}

// keyOf returns the bytes of a key name: a name of keyBytes, ctrl+LETTER, or a
// single character.
func keyOf(name string) (string, bool) {
	if b, ok := keyBytes[name]; ok {
		return b, true
	}
	if l, ok := strings.CutPrefix(name, "ctrl+"); ok && len(l) == 1 && l[0] >= 'a' && l[0] <= 'z' {
		return string(rune(l[0] - 'a' + 1)), true
	}
	if r := []rune(name); len(r) == 1 {
		return name, true
	}
	return "", false
}

// scriptFormat is a script's lines, for the usage message.
const scriptFormat = `A script has one step a line; blank lines and lines starting with # are skipped:

  wait /REGEXP/ [TIMEOUT]       until the screen shows REGEXP (default 30s; ^ and $ match at
                                each line of the screen, . does not match a newline)
  save NAME /REGEXP/ [TIMEOUT]  as wait, then prints NAME=<REGEXP's first group> (and to --vars)
  type TEXT                     types TEXT; ${VAR} is the environment's VAR (unset: an error)
  key NAME...                   enter tab shift+tab esc space backspace delete up down left
                                right home end pgup pgdown ctrl+a..ctrl+z, or one character
  exit [TIMEOUT]                waits until the program ends (default 30s); it must exit 0
`

// parseScript reads a script (scriptFormat). Every problem is reported with
// the script's name and line.
func parseScript(name string, r io.Reader, getenv func(string) (string, bool)) ([]step, error) {
	var steps []step
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		raw := strings.TrimRight(sc.Text(), " \t\r")
		l := strings.TrimLeft(raw, " \t")
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		op, arg, _ := strings.Cut(l, " ")
		st := step{line: n, src: l, op: op}
		var err error
		switch op {
		case "wait":
			st.re, st.timeout, err = parseWait(arg)
		case "save":
			var rest string
			st.name, rest, _ = strings.Cut(strings.TrimLeft(arg, " "), " ")
			if st.name == "" || strings.HasPrefix(st.name, "/") {
				err = fmt.Errorf("save needs a NAME before the /REGEXP/")
				break
			}
			st.re, st.timeout, err = parseWait(rest)
			if err == nil && st.re.NumSubexp() < 1 {
				err = fmt.Errorf("save's /REGEXP/ needs a group (...) for the value")
			}
		case "type":
			if arg == "" {
				err = fmt.Errorf("type needs the text to type")
				break
			}
			st.text, err = expand(arg, getenv)
		case "key":
			for _, k := range strings.Fields(arg) {
				b, ok := keyOf(k)
				if !ok {
					err = fmt.Errorf("unknown key %q (use enter, tab, shift+tab, esc, space, backspace, delete, up, down, left, right, home, end, pgup, pgdown, ctrl+a..ctrl+z or one character)", k)
					break
				}
				st.keys = append(st.keys, b)
			}
			if err == nil && len(st.keys) == 0 {
				err = fmt.Errorf("key needs at least one key name")
			}
		case "exit":
			st.timeout = defaultWait
			if a := strings.TrimSpace(arg); a != "" {
				st.timeout, err = parseTimeout(a)
			}
		default:
			err = fmt.Errorf("unknown step %q (wait, save, type, key or exit)", op)
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		steps = append(steps, st)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(steps) == 0 {
		return nil, fmt.Errorf("%s: no steps", name)
	}
	return steps, nil
}

// parseWait reads "/REGEXP/ [TIMEOUT]": the regexp runs to the last slash.
func parseWait(arg string) (*regexp.Regexp, time.Duration, error) {
	arg = strings.TrimSpace(arg)
	end := strings.LastIndex(arg, "/")
	if !strings.HasPrefix(arg, "/") || end < 1 {
		return nil, 0, fmt.Errorf("write the text to wait for as /REGEXP/, got %q", arg)
	}
	re, err := regexp.Compile("(?m)" + arg[1:end]) // ^ and $ match at each line of the screen
	if err != nil {
		return nil, 0, fmt.Errorf("regexp /%s/: %w", arg[1:end], err)
	}
	timeout := defaultWait
	if rest := strings.TrimSpace(arg[end+1:]); rest != "" {
		if timeout, err = parseTimeout(rest); err != nil {
			return nil, 0, err
		}
	}
	return re, timeout, nil
}

func parseTimeout(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("timeout %q is not a positive duration like 30s or 10m", s)
	}
	return d, nil
}

// expand replaces ${VAR} and $VAR with the environment's values; a variable
// that is not set is an error, not an empty string.
func expand(s string, getenv func(string) (string, bool)) (string, error) {
	var missing []string
	out := os.Expand(s, func(v string) string {
		val, ok := getenv(v)
		if !ok {
			missing = append(missing, v)
		}
		return val
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("variable %s is not set", strings.Join(missing, ", "))
	}
	return out, nil
}
