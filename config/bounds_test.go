package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nestedInline is the tester's input: inline tables nested n deep, which the
// TOML decoder and the unknown-key report took seconds (n = 2000: 14 s) on.
func nestedInline(n int) string {
	return "a = " + strings.Repeat("{b=", n) + "1" + strings.Repeat("}", n) + "\n"
}

// onlyProblem asserts err is one Problem, at line, whose message says want.
func onlyProblem(t *testing.T, err error, line int, want string) {
	t.Helper()
	var ps Problems
	if !errors.As(err, &ps) || len(ps) != 1 {
		t.Fatalf("want one problem, got %d: %.500v", len(ps), err)
	}
	if ps[0].Line != line || !strings.Contains(ps[0].Msg, want) {
		t.Fatalf("want line %d saying %q, got %v", line, want, ps[0])
	}
}

func TestParseRefusesDeepNesting(t *testing.T) {
	cases := []struct {
		name, src string
		line      int
	}{
		{"inline tables", "# a comment\n\n" + nestedInline(2000), 3},
		{"arrays", "x = 1\ny = " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "\n", 2},
		{"dotted key", "x = 1\na" + strings.Repeat(".b", 4000) + " = 1\n", 2},
		{"table header", "[a" + strings.Repeat(".b", 4000) + "]\n", 1},
		{"across lines", "a = {\n b = {\n  c = [\n   [\n    {\n     d = [[[[[[[[1]]]]]]]]}]]}}\n", 6},
		{"after a line-ending backslash", "a = \"\"\"one \\\ntwo \\\"\"\" \\\\\nthree\"\"\"\nb = '''\n'''\nc = \"{\\\"[\" # [\nd = [[[[[[[1]]]]]]]\n", 7},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("spec.toml", []byte(c.src))
			onlyProblem(t, err, c.line, "nest more than")
		})
	}
}

// Brackets, braces and dots inside strings and comments are not nesting.
func TestNestingSkipsStringsAndComments(t *testing.T) {
	deep := strings.Repeat("{[.", 50)
	err := mutate(t, `name = "client" `, `name = "client" # `+deep+"\n"+
		`# `+deep+"\n"+
		`profile_note_1 = "`+deep+`\"\\"`+"\n"+
		`profile_note_2 = '`+deep+`'`+"\n"+
		`profile_note_3 = """`+"\n"+deep+"\n\\\"\"\"\n"+deep+`"""`+"\n"+
		`profile_note_4 = '''`+deep+"\n"+deep+`'''`+"\n"+
		`ok = { a = { b = [ [ { c = 1 } ] ] } }`+"\n")
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("want Problems, got %v", err)
	}
	for _, p := range ps {
		if strings.Contains(p.Msg, "nest") {
			t.Errorf("counted nesting inside a string or comment: %v", p)
		}
		if !strings.Contains(p.Msg, "unknown key") {
			t.Errorf("want only the unknown keys reported, got %v", p)
		}
	}
	// profile_note_1-4 and ok
	if len(ps) != 5 || ps[3].Key != "cluster.profile_note_4" || ps[3].Line != 18 {
		t.Errorf("want the 5 unknown keys, profile_note_4 on line 18, got %v", ps)
	}
}

func TestParseRefusesHugeSpec(t *testing.T) {
	sample, err := os.ReadFile("../sample.toml")
	if err != nil {
		t.Fatal(err)
	}
	pad := strings.Repeat("# padding\n", MaxSpecSize/10)
	_, err = Parse("spec.toml", []byte(string(sample)+pad))
	onlyProblem(t, err, 0, "larger than 128 KiB")

	// Load reads no more than that of a file.
	path := filepath.Join(t.TempDir(), "big.toml")
	if err := os.WriteFile(path, []byte(string(sample)+pad+pad), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	onlyProblem(t, err, 0, "larger than 128 KiB")
	if !strings.Contains(err.Error(), path) {
		t.Fatalf("the error does not name the file: %v", err)
	}
}

// The largest ordinary spec still loads: a pad of comments to just under the cap.
func TestParseAcceptsSpecAtCap(t *testing.T) {
	sample, err := os.ReadFile("../sample.toml")
	if err != nil {
		t.Fatal(err)
	}
	src := string(sample) + strings.Repeat("#", MaxSpecSize-len(sample)-1) + "\n"
	if len(src) != MaxSpecSize {
		t.Fatalf("test input is %d bytes", len(src))
	}
	if _, err := Parse("spec.toml", []byte(src)); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkParseWorstCase runs the worst inputs found at the size cap; each
// must take well under a second per op (go test -bench ParseWorstCase ./config).
func BenchmarkParseWorstCase(b *testing.B) {
	fill := func(line func(i int) string) string {
		var sb strings.Builder
		for i := 0; sb.Len() < MaxSpecSize-64; i++ {
			sb.WriteString(line(i))
		}
		return sb.String()
	}
	inputs := map[string]string{
		"nested-inline": nestedInline(MaxSpecSize/4 - 8),
		"nested-at-cap": fill(func(i int) string {
			return fmt.Sprintf("k%d = %s1%s\n", i, strings.Repeat("{b=", maxNesting), strings.Repeat("}", maxNesting))
		}),
		"unknown-keys":    fill(func(i int) string { return fmt.Sprintf("k%d = 1\n", i) }),
		"long-key":        strings.Repeat("k", MaxSpecSize-8) + " = 1\n",
		"inline-wide":     "a = {" + fill(func(i int) string { return fmt.Sprintf("k%d = 1, ", i) }) + "z = 1}\n",
		"array-of-tables": fill(func(int) string { return "[[host]]\n" }),
		"dotted-keys":     fill(func(i int) string { return fmt.Sprintf("a%d%s = 1\n", i, strings.Repeat(".b", maxNesting)) }),
	}
	for name, src := range inputs {
		b.Run(name, func(b *testing.B) {
			// CPU time too: on a loaded machine the wall time says little.
			var before, after syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &before)
			for i := 0; i < b.N; i++ {
				if _, err := Parse("spec.toml", []byte(src)); err == nil {
					b.Fatal("accepted")
				}
			}
			syscall.Getrusage(syscall.RUSAGE_SELF, &after)
			cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
			b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
		})
	}
}

// An unknown table is one problem, not one more per key inside it (a spec
// of 6000 unknown tables 8 deep gave 48000 problems and took seconds).
func TestUnknownTableReportedOnce(t *testing.T) {
	err := mutate(t, "[drbd]", "[extra]\na = 1\nb = { c = { d = 1 } }\n\n[drbd]")
	onlyProblem(t, err, 48, "unknown key")
	if ps := err.(Problems); ps[0].Key != "extra" {
		t.Fatalf("want the unknown table named, got %v", ps[0])
	}
}
