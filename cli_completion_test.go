package main

import (
	"strings"
	"testing"
)

// scalestore completion SHELL prints the shell's completion script; a shell
// it does not know, no shell, or a word too many is bad input (exit 2, as
// every other usage error), said on stderr, with nothing on stdout.
func TestCompletionBadShellExits2(t *testing.T) {
	cases := []struct {
		args       []string
		code       int
		stdout     string // what stdout holds ("": nothing at all)
		stderrWant string
	}{
		{[]string{"completion", "bash"}, exitOK, "# bash completion V2 for scalestore", ""},
		{[]string{"completion", "zsh"}, exitOK, "#compdef scalestore", ""},
		{[]string{"completion", "frobsh"}, exitBadInput, "", `scalestore: unknown shell "frobsh" for completion: bash, fish, powershell or zsh`},
		{[]string{"completion"}, exitBadInput, "", "scalestore: completion needs a shell: bash, fish, powershell or zsh"},
		{[]string{"completion", "bash", "extra"}, exitBadInput, "", `unknown command "extra" for "scalestore completion bash"`},
		{[]string{"completion", "--frobnicate"}, exitBadInput, "", "unknown flag: --frobnicate"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			code, out, errs := runBinary(t, c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, c.code, errs)
			}
			if c.stdout == "" && out != "" {
				t.Errorf("printed on stdout for bad input:\n%.300s", out)
			}
			if c.stdout != "" && !strings.Contains(out, c.stdout) {
				t.Errorf("stdout lacks %q:\n%.300s", c.stdout, out)
			}
			if !strings.Contains(errs, c.stderrWant) {
				t.Errorf("stderr %q lacks %q", errs, c.stderrWant)
			}
		})
	}
}
