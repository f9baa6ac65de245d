package remote

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// breakouts are values that try to escape their quoting, each of which
// would create the canary file if it did.
func breakouts(canary string) []string {
	return []string{
		"$(touch " + canary + ")",
		"`touch " + canary + "`",
		"'; touch " + canary + "; '",
		"\"; touch " + canary + "; \"",
		"x\ntouch " + canary + "\n",
		"a' \"$(touch " + canary + ")\" 'b",
		`\'; touch ` + canary + `; #`,
		"${IFS}touch${IFS}" + canary,
		"; touch " + canary,
		"| touch " + canary,
		"&& touch " + canary,
		"$((1+1))", "*", "~root", "-n", "--", "'", "''", "\\", "!$", "%s%d", "tab\there", "ünïcødé", "\x01\x7f",
		"EOF_abc\nEOF", // looks like our here-document delimiters
	}
}

// Hostile values pass through every layer (the multiplexing shell, the
// session wrapper, sudo) as exactly one argument with exactly their bytes,
// and none of them runs anything.
func TestHostileValuesCannotBreakOut(t *testing.T) {
	t.Parallel()
	s := startSSHD(t, sshdOptions{})
	user := s.f.user
	dir, err := os.MkdirTemp("", "scalestore-hostile-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o777) // the throwaway user writes there too
	canary := filepath.Join(dir, "canary")
	for _, m := range modes {
		for _, sudo := range []bool{false, true} {
			name := m.name
			if sudo {
				name += "-sudo"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				// As a throwaway user (whose /bin/sh login is quicker than
				// root's bash with its .bashrc), through sudo or not.
				tg := s.target(t, "db1")
				tg.User, tg.Sudo = user, sudo
				h := dial(t, tg, m.opts)
				ctx := ctxT(t)
				for _, v := range breakouts(canary) {
					res, err := h.Run(ctx, Argv("printf", "[%s]", v), RunOptions{})
					if err != nil || string(res.Stdout) != "["+v+"]" {
						t.Fatalf("Argv %q came back as %q (%v)", v, res.Stdout, err)
					}
					res, err = h.Run(ctx, Script("printf '<%%s>' %s", v), RunOptions{})
					if err != nil || string(res.Stdout) != "<"+v+">" {
						t.Fatalf("Script %q came back as %q (%v)", v, res.Stdout, err)
					}
					// As stdin too, which the shell multiplexer inlines.
					res, err = h.Run(ctx, Argv("cat"), RunOptions{Stdin: strings.NewReader(v)})
					if err != nil || string(res.Stdout) != v {
						t.Fatalf("stdin %q came back as %q (%v)", v, res.Stdout, err)
					}
				}
				// Hostile file names: written, read back, and nothing else.
				for i, v := range breakouts(canary)[:6] {
					p := filepath.Join(dir, strings.ReplaceAll(v, "/", "_")+"-"+name+string(rune('a'+i)))
					if _, err := h.WriteFile(ctx, p, []byte(v), 0o644, ""); err != nil {
						t.Fatalf("write %q: %v", p, err)
					}
					if b, err := os.ReadFile(p); err != nil || string(b) != v {
						t.Fatalf("file %q holds %q (%v)", p, b, err)
					}
					if b, err := h.ReadFile(ctx, p); err != nil || string(b) != v {
						t.Fatalf("read %q: %q (%v)", p, b, err)
					}
				}
				if _, err := os.Stat(canary); err == nil {
					t.Fatal("a hostile value ran a command")
				}
			})
		}
	}
}
