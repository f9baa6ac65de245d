package remote

import (
	"os/exec"
	"strings"
	"testing"
)

// hostile values that would break out of naive quoting.
var hostile = []string{
	"", " ", "plain", "two words", "it's", `"double"`, "$(reboot)", "`reboot`", "${IFS}", "a;b", "a&&b", "a|b",
	"a>b", "<x", "*", "?", "[a]", "~", "#comment", "new\nline", "tab\tx", "back\\slash", "'", "''", `'\''`,
	"-n", "--force", "!", "%s", "ünïcode", "a\x01b",
}

// Every value, once quoted, reaches the remote program as exactly one
// argument with exactly its bytes, whatever it contains.
func TestQuoteRoundTrip(t *testing.T) {
	for _, shell := range []string{"sh", "dash", "bash"} {
		if _, err := exec.LookPath(shell); err != nil {
			continue
		}
		for _, v := range hostile {
			line := Join("printf", "[%s]", v)
			out, err := exec.Command(shell, "-c", line).Output()
			if err != nil {
				t.Fatalf("%s -c %q: %v", shell, line, err)
			}
			if got := string(out); got != "["+v+"]" {
				t.Errorf("%s: value %q came back as %q (line %q)", shell, v, got, line)
			}
		}
	}
}

func TestScriptQuotesValues(t *testing.T) {
	c := Script("test -b %s && echo %d", "/dev/x; rm -rf /", 3)
	if c.String() != `test -b '/dev/x; rm -rf /' && echo 3` {
		t.Fatalf("got %q", c.String())
	}
	inner := Argv("grep", "-q", "a b")
	if got := Script("! %s", inner).String(); got != "! grep -q 'a b'" {
		t.Fatalf("a Cmd is inserted as the command it is: %q", got)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a value of another type must not reach a shell unquoted")
		}
	}()
	Script("echo %s", 1.5)
}

func TestSafeWordsStayBare(t *testing.T) {
	for _, v := range []string{"/dev/sdb", "iqn.2003-01.org.scalestore:lab.s0a.r0", "VG0/LV0", "100%FREE", "name=r0"} {
		if Quote(v) != v {
			t.Errorf("%q needlessly quoted as %s", v, Quote(v))
		}
	}
	if !strings.HasPrefix(Quote("a b"), "'") {
		t.Error("space not quoted")
	}
}
