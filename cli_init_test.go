package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// init writes the commented sample to ./scalestore.toml (0600), which the
// other commands then open without -f; a second init refuses, naming it.
func TestInitWritesTheSampleOnce(t *testing.T) {
	sample, err := os.ReadFile("sample.toml")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	code, out, errs := cli(t, "init")
	if code != exitOK {
		t.Fatalf("init: exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "wrote scalestore.toml") {
		t.Errorf("init does not say what it wrote: %q", out)
	}
	st, err := os.Stat("scalestore.toml")
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("scalestore.toml has mode %04o, want 0600", st.Mode().Perm())
	}
	got, _ := os.ReadFile("scalestore.toml")
	if string(got) != string(sample) || !strings.Contains(string(got), "\n# ") {
		t.Errorf("scalestore.toml is not the commented sample:\n%s", got)
	}

	// plan defaults to ./scalestore.toml
	code, out, errs = cli(t, "plan")
	if code != exitOK || !strings.Contains(out, `Plan for cluster "client"`) {
		t.Errorf("plan without -f: exit %d, stdout %.80q, stderr %s", code, out, errs)
	}

	os.WriteFile("scalestore.toml", []byte("# mine\n"), 0o600)
	code, _, errs = cli(t, "init")
	if code != exitBadInput || !strings.Contains(errs, "scalestore.toml already exists") {
		t.Errorf("second init: exit %d, stderr %q; want %d naming scalestore.toml", code, errs, exitBadInput)
	}
	if got, _ := os.ReadFile("scalestore.toml"); string(got) != "# mine\n" {
		t.Errorf("second init overwrote the spec: %q", got)
	}
}

func TestInitToAPath(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "lab.toml")
	if code, _, errs := cli(t, "init", "-f", p); code != exitOK {
		t.Fatalf("init -f %s: exit %d: %s", p, code, errs)
	}
	if code, out, errs := cli(t, "plan", "-f", p); code != exitOK || !strings.Contains(out, "Plan for cluster") {
		t.Errorf("plan -f %s: exit %d: %s", p, code, errs)
	}
	missing := filepath.Join(dir, "no", "such", "dir", "x.toml")
	if code, _, errs := cli(t, "init", "-f", missing); code == exitOK || !strings.Contains(errs, missing) {
		t.Errorf("init -f %s: exit %d, stderr %q: want a failure naming it", missing, code, errs)
	}
}

// Without -f and without ./scalestore.toml, every spec command says how to
// get one (exit 2) and contacts no host.
func TestNoSpecSaysInit(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, cmd := range []string{"plan", "check", "status", "apply"} {
		code, out, errs := cli(t, cmd)
		if code != exitBadInput || !strings.Contains(errs, "no spec: run scalestore init or pass -f") || out != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", cmd, code, out, errs)
		}
	}
}
