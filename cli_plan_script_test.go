package main

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"scalestore/config"
	"scalestore/remote"
	"scalestore/steps"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/")

func goldenFile(t *testing.T, path string, got []byte) {
	t.Helper()
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test . -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what plan prints now; see it with `go test . -run %s -update && git diff %s`", path, t.Name(), path)
	}
}

// plan --script on the lab's spec: the golden script, valid bash.
func TestPlanScriptGolden(t *testing.T) {
	code, out, errs := cli(t, "plan", "--script", "-f", "lab/lab.toml")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	goldenFile(t, "testdata/plan-script-lab.golden", []byte(out))
	if b, err := exec.Command("bash", "-n", "-c", out).CombinedOutput(); err != nil {
		t.Fatalf("not valid bash: %v\n%s", err, b)
	}
}

// plan --graph prints the graph steps' golden shows; the forms exclude
// each other.
func TestPlanGraphAndConflicts(t *testing.T) {
	code, out, errs := cli(t, "plan", "--graph", "-f", "lab/lab.toml")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	want, err := os.ReadFile("steps/testdata/plan-graph-lab.golden")
	if err != nil {
		t.Fatal(err)
	}
	if out != string(want) {
		t.Errorf("plan --graph differs from steps/testdata/plan-graph-lab.golden")
	}
	for _, args := range [][]string{{"--script", "--graph"}, {"--json", "--script"}, {"--json", "--graph"}} {
		code, out, errs := cli(t, append([]string{"plan", "-f", "lab/lab.toml"}, args...)...)
		if code != exitBadInput || out != "" || !strings.Contains(errs, "one of --json, --script and --graph") {
			t.Errorf("plan %v: exit %d, stdout %d bytes, stderr %q", args, code, len(out), errs)
		}
	}
}

// The delimiter of a file's here-document is a line the file lacks.
func TestHereDelim(t *testing.T) {
	for _, tc := range []struct{ content, want string }{
		{"a\nb\n", "SCALESTORE_EOF"},
		{"x\nSCALESTORE_EOF\n", "SCALESTORE_EOF_1"},
		{"SCALESTORE_EOF\nSCALESTORE_EOF_1\n", "SCALESTORE_EOF_2"},
		{" SCALESTORE_EOF\n", "SCALESTORE_EOF"}, // not the whole line
	} {
		if got := hereDelim(tc.content); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.content, got, tc.want)
		}
	}
}

// sshCall is what the fake ssh received: the host (by its port), the
// remote command line, and stdin.
type sshCall struct{ host, cmd, stdin string }

// runScriptOnFakeSSH runs script with an ssh that records every call and
// succeeds.
func runScriptOnFakeSSH(t *testing.T, s *config.Spec, script string) []sshCall {
	t.Helper()
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	if err := os.Mkdir(log, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "script")
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	// ssh is a shell function, found before any ssh on PATH: a process per
	// call is slow on a busy machine. A call of a pipe runs in a subshell:
	// $BASHPID and the count name each call apart.
	fake := `n=0
ssh() {
	local in='' name
	IFS= read -r -d '' in || true
	n=$((n + 1))
	name=$BASHPID.$n
	printf '%s\0' "$@" > "$FAKE_SSH_LOG/$name.args"
	printf '%s' "$in" > "$FAKE_SSH_LOG/$name.stdin"
	echo "$name" >> "$FAKE_SSH_LOG/order"
}
. "$1"
`
	cmd := exec.Command("bash", "-c", fake, "bash", path)
	cmd.Env = append(os.Environ(), "FAKE_SSH_LOG="+log)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the script failed: %v\n%s", err, out)
	}
	byPort := map[string]string{}
	for i := range s.Hosts {
		byPort[strconv.Itoa(s.HostSSH(&s.Hosts[i]).Port)] = s.Hosts[i].Name
	}
	order, err := os.ReadFile(filepath.Join(log, "order"))
	if err != nil {
		t.Fatal(err)
	}
	var calls []sshCall
	for _, pid := range strings.Fields(string(order)) {
		a, err1 := os.ReadFile(filepath.Join(log, pid+".args"))
		in, err2 := os.ReadFile(filepath.Join(log, pid+".stdin"))
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		args := strings.Split(strings.TrimSuffix(string(a), "\x00"), "\x00")
		c := sshCall{cmd: args[len(args)-1], stdin: string(in)}
		for i, x := range args {
			if x == "-p" && i+1 < len(args) {
				c.host = byPort[args[i+1]]
			}
		}
		calls = append(calls, c)
	}
	return calls
}

// expectedCalls is what the script must send, from the plan alone: each
// action's own command on its host (a file's content on stdin, a secret
// read from its source), then its on-change command.
func expectedCalls(p *steps.Plan) [][]sshCall {
	var out [][]sshCall // each entry: calls that may come in any order (a pipe)
	for _, st := range p.Steps {
		for _, a := range st.Actions {
			if _, skip := dayTwo(st, a); skip {
				continue
			}
			switch a.Kind {
			case steps.Run, steps.Wait:
				out = append(out, []sshCall{{a.Host, a.Cmd.String(), ""}})
			case steps.WriteFile:
				out = append(out, []sshCall{{a.Host, writeCmd(a.Path, uint32(a.Mode.Perm())).String(), a.Content}})
			case steps.CopySecret:
				out = append(out, []sshCall{{a.From, readCmd(a.Path).String(), ""}, {a.Host, writeCmd(a.Path, uint32(a.Mode.Perm())).String(), ""}})
			}
			if a.OnChange != nil {
				out = append(out, []sshCall{{a.Host, a.OnChange.String(), ""}})
			}
		}
	}
	return out
}

func sameCalls(t *testing.T, got []sshCall, want [][]sshCall) {
	t.Helper()
	i := 0
	for _, group := range want {
		if i+len(group) > len(got) {
			t.Fatalf("the script sent %d commands, want more: next %+v", len(got), group[0])
		}
		left := append([]sshCall(nil), group...)
		for _, g := range got[i : i+len(group)] {
			found := false
			for k, w := range left {
				if g == w {
					left = append(left[:k], left[k+1:]...)
					found = true
					break
				}
			}
			if !found {
				t.Fatalf("command %d: got %+v\nwant one of %+v", i, g, group)
			}
		}
		i += len(group)
	}
	if i != len(got) {
		t.Fatalf("the script sent %d commands, want %d", len(got), i)
	}
}

// Run against an ssh that records what it gets, the lab's script sends each
// host exactly the plan's command text and each file's exact content:
// bash's quoting and the here-documents lose nothing.
func TestPlanScriptSendsThePlansCommands(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	s, err := loadSpec("lab/lab.toml")
	if err != nil {
		t.Fatal(err)
	}
	p := steps.Build(s, nil)
	var b bytes.Buffer
	if err := writePlanScript(&b, s, p); err != nil {
		t.Fatal(err)
	}
	sameCalls(t, runScriptOnFakeSSH(t, s, b.String()), expectedCalls(p))
}

// Contents and commands that a careless quoting would break arrive intact:
// quotes, $(…), backquotes, backslashes, a line that is the usual
// delimiter, a file without a final newline.
func TestPlanScriptQuotingIsExact(t *testing.T) {
	s, err := loadSpec("lab/lab.toml")
	if err != nil {
		t.Fatal(err)
	}
	nasty := "it's $(echo INJECTED) `echo INJECTED` \\n \"$HOME\" ${x:-y}\nSCALESTORE_EOF\n'\n"
	p := &steps.Plan{Cluster: "lab", Profile: "debian12", Steps: []steps.Step{{ID: "odd", Title: "odd things", Actions: []steps.Action{
		{Host: "client0", Kind: steps.WriteFile, Desc: "write", Path: "/etc/odd one", Content: nasty, Mode: 0o600},
		{Host: "client0", Kind: steps.WriteFile, Desc: "write", Path: "/etc/no-newline", Content: "last line $(x)", Mode: 0o644},
		{Host: "client1", Kind: steps.Run, Desc: "run", Cmd: remote.Argv("printf", "%s\n", nasty)},
		{Host: "client1", Kind: steps.Run, Desc: "run", Cmd: remote.Script("echo %s | grep -q %s", nasty, "'")},
	}}}}
	var b bytes.Buffer
	if err := writePlanScript(&b, s, p); err != nil {
		t.Fatal(err)
	}
	sameCalls(t, runScriptOnFakeSSH(t, s, b.String()), expectedCalls(p))
	if !strings.Contains(b.String(), "<<'SCALESTORE_EOF_1'") {
		t.Errorf("the file holding a SCALESTORE_EOF line is not delimited by another:\n%s", b.String())
	}
}

// SCALESTORE_SSH_OPTS reaches every ssh the script runs, before the spec's
// options (ssh keeps an option's first value); without it the spec's alone.
func TestPlanScriptTakesSSHOptionsFromTheEnvironment(t *testing.T) {
	s, err := loadSpec("lab/lab.toml")
	if err != nil {
		t.Fatal(err)
	}
	p := &steps.Plan{Cluster: "lab", Profile: "debian12", Steps: []steps.Step{{ID: "one", Title: "one", Actions: []steps.Action{
		{Host: "client0", Kind: steps.Run, Desc: "run", Cmd: remote.Argv("true")},
		{Host: "client1", Kind: steps.WriteFile, Desc: "write", Path: "/etc/x", Content: "x\n", Mode: 0o644},
	}}}}
	var b bytes.Buffer
	if err := writePlanScript(&b, s, p); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "script")
	if err := os.WriteFile(script, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// an ssh on PATH that records its arguments, a call per line
	fake := "#!/bin/bash\nprintf '%s\\n' \"$*\" >> \"$FAKE_SSH_LOG\"\ncat >/dev/null\n"
	if err := os.WriteFile(filepath.Join(dir, "ssh"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	spec := "-o BatchMode=yes -i /var/tmp/scalestore-lab/ssh/id_ed25519 -o UserKnownHostsFile=/var/tmp/scalestore-lab/known_hosts -o StrictHostKeyChecking=yes"
	for _, c := range []struct{ env, want string }{
		{"-o ConnectTimeout=7  -o IdentitiesOnly=yes", "-o ConnectTimeout=7 -o IdentitiesOnly=yes " + spec},
		{"", spec},
	} {
		log := filepath.Join(t.TempDir(), "calls")
		cmd := exec.Command("bash", script)
		cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"), "FAKE_SSH_LOG="+log, "SCALESTORE_SSH_OPTS="+c.env)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("the script failed: %v\n%s", err, out)
		}
		calls, err := os.ReadFile(log)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(calls), "\n"), "\n")
		if len(lines) != 2 {
			t.Fatalf("SCALESTORE_SSH_OPTS=%q: %d ssh calls, want 2:\n%s", c.env, len(lines), calls)
		}
		for _, l := range lines {
			if !strings.HasPrefix(l, c.want+" ") {
				t.Errorf("SCALESTORE_SSH_OPTS=%q: ssh %s\nwant it to begin with %s", c.env, l, c.want)
			}
		}
	}
}
