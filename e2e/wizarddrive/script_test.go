package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestScriptLines(t *testing.T) {
	env := func(v string) (string, bool) {
		if v == "LAB_DIR" {
			return "/var/tmp/lab", true
		}
		return "", false
	}
	src := "# the welcome screen\n\nwait /Create a (new) cluster/\n  type ${LAB_DIR}/ssh/id_ed25519\nkey enter ctrl+u shift+tab x\nsave log /run log: (\\S+)/ 10m\nwait /a/b/ 2s\nexit 1m\n"
	steps, err := parseScript("s.txt", strings.NewReader(src), env)
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 6 {
		t.Fatalf("%d steps: %+v", len(steps), steps)
	}
	if s := steps[0]; s.op != "wait" || s.line != 3 || s.timeout != defaultWait || !s.re.MatchString("> n  Create a new cluster") {
		t.Errorf("wait: %+v", s)
	}
	if s := steps[1]; s.text != "/var/tmp/lab/ssh/id_ed25519" {
		t.Errorf("type: %q", s.text)
	}
	if s := steps[2]; strings.Join(s.keys, "") != "\r\x15\x1b[Zx" {
		t.Errorf("keys: %q", s.keys)
	}
	if s := steps[3]; s.name != "log" || s.timeout != 10*time.Minute || s.re.FindStringSubmatch("run log: /x.jsonl")[1] != "/x.jsonl" {
		t.Errorf("save: %+v", s)
	}
	if s := steps[4]; s.timeout != 2*time.Second || !s.re.MatchString("a/b") {
		t.Errorf("a regexp with a slash: %+v", s)
	}
	if s := steps[5]; s.op != "exit" || s.timeout != time.Minute {
		t.Errorf("exit: %+v", s)
	}
}

// Every bad line is refused with the script's name, its line and what is wrong.
func TestScriptErrorsNameTheLine(t *testing.T) {
	env := func(string) (string, bool) { return "", false }
	for src, want := range map[string]string{
		"wait /x/\nwait Welcome\n":   `s.txt:2: write the text to wait for as /REGEXP/, got "Welcome"`,
		"wait /x(/\n":                "s.txt:1: regexp /x(/: error parsing regexp",
		"wait /x/ soon\n":            `s.txt:1: timeout "soon" is not a positive duration`,
		"\n\nkey enter f1\n":         `s.txt:3: unknown key "f1"`,
		"type ${LAB_DIR}/key\n":      "s.txt:1: variable LAB_DIR is not set",
		"save /run log: (\\S+)/\n":   "s.txt:1: save needs a NAME",
		"save log /run log: \\S+/\n": "s.txt:1: save's /REGEXP/ needs a group",
		"press enter\n":              `s.txt:1: unknown step "press"`,
		"# nothing\n":                "s.txt: no steps",
	} {
		_, err := parseScript("s.txt", strings.NewReader(src), env)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", src, err, want)
		}
	}
}

// make demo's scripts are well formed (their steps are proven only on the lab).
func TestDemoScriptsParse(t *testing.T) {
	env := func(v string) (string, bool) { return "/var/tmp/scalestore-lab", v == "LAB_DIR" }
	for _, name := range []string{"new-cluster.txt", "add-client.txt", "add-pair.txt"} {
		f, err := os.Open(filepath.Join("..", "demo", name))
		if err != nil {
			t.Fatal(err)
		}
		steps, err := parseScript(name, f, env)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		// each ends by reading the run log's path off the done screen and quitting
		var saved bool
		for _, s := range steps {
			saved = saved || (s.op == "save" && s.name == "runlog")
		}
		if !saved || steps[len(steps)-1].op != "exit" {
			t.Errorf("%s does not save the run log's path, or does not end with exit", name)
		}
	}
}
