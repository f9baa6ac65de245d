package steps

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// A probe capture (probes-*.txt, made on a lab host by e2e/probecapture) is
// what the plan's probes read there: each command's stdout and exit code
// ("@@prog" or "@@prog sub" sections ending "rc=N") and the paths probes
// test ("@@tree": "TYPE SIZE PATH").
type probeCapture struct {
	file string
	runs map[string]capturedRun // "drbdadm dstate", "pvs", …
	tree []treeEntry
}

type capturedRun struct {
	out string
	rc  int
}

type treeEntry struct {
	kind byte // d, f, b (find's %Y)
	size int64
	path string
}

// treeRoots are the directories whose captured tree stands in for this
// machine's when a probe runs: a probe reading under them reads the
// capture's copy (empty where the host had nothing).
var treeRoots = []string{"/sys/module", "/sys/block", "/sys/kernel/config/target", "/etc/systemd/system", "/etc/corosync"}

func parseProbeCapture(text string) (*probeCapture, error) {
	pc := &probeCapture{runs: map[string]capturedRun{}}
	section := ""
	var out []string
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "@@"):
			if section != "" && section != "tree" {
				return nil, fmt.Errorf("line %d: section %q has no rc= line", line, section)
			}
			section, out = strings.TrimPrefix(l, "@@"), nil
		case section == "tree":
			f := strings.SplitN(l, " ", 3)
			size, err := strconv.ParseInt(f[min(1, len(f)-1)], 10, 64)
			if len(f) != 3 || len(f[0]) != 1 || err != nil || !strings.HasPrefix(f[2], "/") {
				return nil, fmt.Errorf("line %d: tree entry %q is not TYPE SIZE /PATH", line, l)
			}
			pc.tree = append(pc.tree, treeEntry{kind: f[0][0], size: size, path: f[2]})
		case section != "" && strings.HasPrefix(l, "rc="):
			rc, err := strconv.Atoi(strings.TrimPrefix(l, "rc="))
			if err != nil {
				return nil, fmt.Errorf("line %d: %q", line, l)
			}
			o := strings.Join(out, "\n")
			if len(out) > 0 {
				o += "\n"
			}
			pc.runs[section] = capturedRun{out: o, rc: rc}
			section = ""
		case section != "":
			out = append(out, l)
		default:
			return nil, fmt.Errorf("line %d: %q is outside any section", line, l)
		}
	}
	if section != "" && section != "tree" {
		return nil, fmt.Errorf("section %q has no rc= line", section)
	}
	return pc, sc.Err()
}

func loadProbeCapture(t *testing.T, file string) *probeCapture {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "captures", file))
	if err != nil {
		t.Fatal(err)
	}
	pc, err := parseProbeCapture(string(b))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	pc.file = file
	return pc
}

// host sets a stub host up with the capture: a stub program per captured
// command (one dispatching on its subcommand where several were captured),
// and the captured files (/etc/fstab, /proc/drbd) and tree under a
// temporary root. It
// returns the host and a function that points a probe's paths at that tree
// and answers its test -b of block devices as the capture has them.
func (pc *probeCapture) host(t *testing.T, captures map[string]string) (*stubHost, func(probe string) string) {
	t.Helper()
	h := newStubHost(t, captures)
	progs := map[string][]string{} // program → its case arms
	var files []string             // captured files, as probes will find them
	fileTexts := map[string]string{}
	names := make([]string, 0, len(pc.runs))
	for n := range pc.runs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		r := pc.runs[n]
		if n == "fstab" {
			n = "/etc/fstab"
		}
		if strings.HasPrefix(n, "/") { // a file (cat's output): under the root, if cat read it
			files = append(files, n)
			if r.rc == 0 {
				fileTexts[n] = r.out
			}
			continue
		}
		f := filepath.Join(h.dir, "run-"+strings.ReplaceAll(n, " ", "-")+".out")
		if err := os.WriteFile(f, []byte(r.out), 0o644); err != nil {
			t.Fatal(err)
		}
		replay := fmt.Sprintf("/bin/cat '%s'; exit %d", f, r.rc)
		prog, sub, _ := strings.Cut(n, " ")
		switch prog {
		case "stat":
			sub = "-f" // only `stat -f` is captured; the file probes' stat -c is the real one
		}
		pat := "*"
		if sub != "" {
			pat = "*'" + sub + "'*"
		}
		progs[prog] = append(progs[prog], "  "+pat+") "+replay+" ;;\n")
	}
	for prog, arms := range progs {
		fallback := "echo \"stub " + prog + ": $* was not captured in " + pc.file + "\" >&2; exit 127"
		if prog == "stat" {
			fallback = "exec /usr/bin/stat \"$@\""
		}
		script := "#!/bin/sh\ncase \"$*\" in\n" + strings.Join(arms, "") + "  *) " + fallback + " ;;\nesac\n"
		if err := os.WriteFile(filepath.Join(h.dir, prog), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// a captured file the side names (the saved LIO config) is there too,
	// for probes that read it with grep rather than through cat
	for path, name := range captures {
		if _, ok := fileTexts[path]; ok || !strings.HasPrefix(path, "/") || strings.HasSuffix(path, "/") {
			continue
		}
		b, err := os.ReadFile(filepath.Join("testdata", "captures", name))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, path)
		fileTexts[path] = string(b)
	}
	root := t.TempDir()
	for path, text := range fileTexts {
		if err := os.MkdirAll(filepath.Dir(root+path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(root+path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	blocks := map[string]bool{}
	for _, e := range pc.tree {
		p := filepath.Join(root, e.path)
		switch e.kind {
		case 'd':
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case 'b':
			blocks[e.path] = true
		default:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(strings.Repeat("x", int(min(e.size, 1)))), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	reBlock := regexp.MustCompile(`test -b ('?)(/dev/[^' ]+)'?(\s|$)`)
	return h, func(probe string) string {
		probe = reBlock.ReplaceAllStringFunc(probe, func(m string) string {
			sm := reBlock.FindStringSubmatch(m)
			return strconv.FormatBool(blocks[sm[2]]) + sm[3]
		})
		for _, r := range append(files, treeRoots...) {
			probe = strings.ReplaceAll(probe, r, root+r)
		}
		return probe
	}
}

// The capture format's reader: sections with their exit codes, the tree,
// and a clear error for a malformed file.
func TestParseProbeCapture(t *testing.T) {
	pc, err := parseProbeCapture("@@drbdadm dstate\nUpToDate/UpToDate\nrc=0\n@@pvs\nrc=5\n@@tree\nd 0 /sys/module/drbd\nb 0 /dev/VG0/LV0\n")
	if err != nil {
		t.Fatal(err)
	}
	if r := pc.runs["drbdadm dstate"]; r.out != "UpToDate/UpToDate\n" || r.rc != 0 {
		t.Errorf("dstate read as %+v", r)
	}
	if r := pc.runs["pvs"]; r.out != "" || r.rc != 5 {
		t.Errorf("pvs read as %+v", r)
	}
	if len(pc.tree) != 2 || pc.tree[1] != (treeEntry{'b', 0, "/dev/VG0/LV0"}) {
		t.Errorf("tree read as %+v", pc.tree)
	}
	for _, bad := range []string{"stray\n", "@@pvs\nout\n@@blkid\nrc=0\n", "@@tree\nd /sys\n", "@@pvs\nrc=x\n", "@@pvs\nout\n"} {
		if _, err := parseProbeCapture(bad); err == nil {
			t.Errorf("%q read without an error", bad)
		}
	}
}

func FuzzParseProbeCapture(f *testing.F) {
	f.Add("@@drbdadm dstate\nUpToDate/UpToDate\nrc=0\n@@tree\nd 4096 /sys/module/drbd\n")
	f.Add("@@x\nrc=1\n")
	f.Fuzz(func(t *testing.T, s string) {
		pc, err := parseProbeCapture(s)
		if err != nil {
			return
		}
		for _, e := range pc.tree {
			if !strings.HasPrefix(e.path, "/") {
				t.Fatalf("tree path %q accepted", e.path)
			}
		}
	})
}
