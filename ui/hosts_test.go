package ui

import (
	"path/filepath"
	"strings"
	"testing"
)

// fillClusterAndSSH answers the first two groups of the hosts form.
func fillClusterAndSSH(h *harness, name string) {
	h.typ(name).keys("enter") // cluster name
	h.keys("enter")           // profile: debian12
	h.keys("enter")           // user: root
	h.keys("enter")           // sudo: no
	h.keys("enter")           // identity file
	h.keys("enter")           // known_hosts
	h.keys("enter")           // host key policy
}

func TestWelcomeNewCluster(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.toml")
	h := newTestApp(t, path, nil)
	s := h.screen()
	for _, want := range []string{"Build shared cluster storage", "Create a new cluster", "saved to " + path} {
		if !strings.Contains(s, want) {
			t.Errorf("welcome lacks %q:\n%s", want, s)
		}
	}
	h.keys("n")
	if h.app().screen != scrHosts {
		t.Fatalf("n did not open the hosts form: %v", h.app().screen)
	}
}

func TestHostsBadHostNameShownInline(t *testing.T) {
	h := newTestApp(t, filepath.Join(t.TempDir(), "new.toml"), nil)
	h.keys("n")
	fillClusterAndSSH(h, "lab")
	if !strings.Contains(h.screen(), "Hosts") {
		t.Fatalf("not on the hosts field:\n%s", h.screen())
	}
	h.typ("storage0a 10.0.0.11\nstorage_0b 10.0.0.12\nclient0 10.0.0.21").keys("tab")
	s := h.screen()
	if h.app().screen != scrHosts {
		t.Fatalf("a bad host name went through to %v", h.app().screen)
	}
	if !strings.Contains(s, `line 2: host[1].name: "storage_0b" is not a valid host name`) {
		t.Fatalf("the error does not name the line and the field:\n%s", s)
	}
	golden(t, "hosts-bad-name", s)

	// fixed: the form completes and discovery starts on those hosts
	for i := 0; i < 70; i++ {
		h.keys("backspace")
	}
	h.typ("storage0a 10.0.0.11\nstorage0b 10.0.0.12\nclient0 10.0.0.21").keys("tab")
	if h.app().screen != scrDiscover {
		t.Fatalf("valid hosts did not start discovery:\n%s", h.screen())
	}
	if got := len(h.app().spec.Hosts); got != 3 || h.app().spec.Cluster.Name != "lab" || h.app().spec.SSH.HostKeyPolicy != "accept-new" {
		t.Fatalf("spec after the form: %+v", h.app().spec)
	}
}

func TestHostsBadClusterName(t *testing.T) {
	h := newTestApp(t, filepath.Join(t.TempDir(), "new.toml"), nil)
	h.keys("n")
	h.typ("my cluster").keys("enter")
	s := h.screen()
	if !strings.Contains(s, `cluster.name: "my cluster" is not a valid cluster name`) {
		t.Fatalf("no inline error for the cluster name:\n%s", s)
	}
}

func TestParseHostLines(t *testing.T) {
	hosts, lines, err := parseHostLines("# comment\nstorage0a 10.0.0.11 127.0.0.1:2211\n\nclient0 10.0.0.21 :2222\nx 1.2.3.4 bastion\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(hosts) != 3 || lines[0] != 2 || lines[1] != 4 || lines[2] != 5 {
		t.Fatalf("%+v %v", hosts, lines)
	}
	if hosts[0].SSH.Address != "127.0.0.1" || hosts[0].SSH.Port != 2211 || hosts[1].SSH.Address != "" || hosts[1].SSH.Port != 2222 || hosts[2].SSH.Address != "bastion" {
		t.Fatalf("%+v", hosts)
	}
	if _, _, err := parseHostLines("a 1.2.3.4 h:99999"); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("bad port: %v", err)
	}
	if got := hostLinesOf(hosts); got != "storage0a 10.0.0.11 127.0.0.1:2211\nclient0 10.0.0.21 :2222\nx 1.2.3.4 bastion" {
		t.Fatalf("round trip: %q", got)
	}
}

// A placeholder reads as an example: "e.g. storage", drawn in the
// placeholder's dim slanted style; Enter on the empty field says to type a
// name. The hosts' example lines are comments, drawn the same way.
func TestPlaceholdersAreExamples(t *testing.T) {
	h := newTestApp(t, filepath.Join(t.TempDir(), "new.toml"), nil)
	h.keys("n")
	raw := h.m.View().Content
	if !strings.Contains(h.screen(), "> e.g. storage") || !strings.Contains(raw, stylePlaceholder.Render(".g. storage")) {
		t.Fatalf("the cluster name's placeholder is not an example in the placeholder style:\n%q", raw)
	}
	h.keys("enter")
	if s := h.screen(); !strings.Contains(s, "cluster.name: type a name (e.g. storage)") || strings.Contains(s, "missing") {
		t.Fatalf("enter on the empty name:\n%s", s)
	}
	fillClusterAndSSH(h, "lab")
	raw = h.m.View().Content
	for _, l := range []string{"# storage0a 10.0.0.11", "# storage0b 10.0.0.12", "# client0   10.0.0.21"} {
		if !strings.Contains(h.screen(), l) || !strings.Contains(raw, stylePlaceholder.Render(l)) {
			t.Errorf("example line %q is not drawn as a placeholder:\n%q", l, raw)
		}
	}
}
