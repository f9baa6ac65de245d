package remote

import (
	"fmt"
	"strings"
)

// Quote returns s quoted for a POSIX shell: a bare word when it holds only
// characters no shell treats specially, otherwise single quotes with every
// embedded single quote closed, escaped and reopened. It is the one place where a value
// becomes part of a remote command line.
func Quote(s string) string {
	if s == "" {
		return "''"
	}
	if isSafeWord(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func isSafeWord(s string) bool {
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("@%+=:,./_-", r):
		default:
			return false
		}
	}
	return true
}

// Join quotes every argument and joins them with spaces: the shell on the far
// side sees exactly argv, whatever the values hold.
func Join(argv ...string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = Quote(a)
	}
	return strings.Join(q, " ")
}

// Cmd is a remote command: either an argv (quoted with Join) or a script of
// several lines built only from Join'd pieces and fixed text.
type Cmd struct {
	Argv   []string // when set, the command is Join(Argv...)
	Script string   // otherwise, a shell script built with Join/Quote
}

// Argv builds a command from arguments, each quoted.
func Argv(argv ...string) Cmd { return Cmd{Argv: argv} }

// Script builds a command from a format whose %s verbs are filled with quoted
// values: Script("test -b %s && echo yes", dev). Strings and Stringers are
// quoted, ints printed, and a Cmd is inserted as the command it already is.
func Script(format string, args ...any) Cmd {
	q := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			q[i] = Quote(v)
		case int:
			q[i] = v
		case Cmd:
			q[i] = v.String() // already shell text built by this package
		case fmt.Stringer:
			q[i] = Quote(v.String())
		default:
			panic(fmt.Sprintf("remote.Script: argument %d has type %T; only string, int and Stringer may reach a shell", i, a))
		}
	}
	return Cmd{Script: fmt.Sprintf(format, q...)}
}

// String is the command line as the remote shell receives it.
func (c Cmd) String() string {
	if len(c.Argv) > 0 {
		return Join(c.Argv...)
	}
	return c.Script
}
