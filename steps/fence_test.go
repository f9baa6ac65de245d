package steps

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"scalestore/config"
)

// fencedLab is the lab's spec (three pairs, three clients) with
// fence_ipmilan and every host's BMC, validated, in the given profile.
func fencedLab(t *testing.T, profile string) *config.Spec {
	t.Helper()
	s := loadLab(t, "lab-grow.toml")
	s.Cluster.Profile = profile
	s.DRBD.SkipInitialSync = false // not on DRBD 8.2
	s.Fencing = config.Fencing{Agent: "fence_ipmilan", Options: map[string]string{"username": "admin", "password_script": "/root/fence-pw.sh", "lanplus": "1"},
		HostOptions: map[string]map[string]string{}}
	for i, h := range s.Hosts {
		s.Fencing.HostOptions[h.Name] = map[string]string{"ip": fmt.Sprintf("10.0.9.%d", i+1)}
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	return s
}

// drbdConfOf is the profile's DRBD config of pair p.
func drbdConfOf(s *config.Spec, p config.Pair) string {
	if s.Cluster.Profile == config.ProfileCentOS5 {
		return DRBD82Conf(s, p)
	}
	return DRBDResource(s, p)
}

// writeOf is the content and mode of what the plan writes to host at path.
func writeOf(p *Plan, host, path string) (string, os.FileMode, bool) {
	for _, st := range p.Steps {
		for _, a := range st.Actions {
			if a.Kind == WriteFile && a.Host == host && a.Path == path {
				return a.Content, a.Mode, true
			}
		}
	}
	return "", 0, false
}

// No divergence by construction: with an agent set, every pair of both
// profiles runs resource-and-stonith with scalestore's handlers, which
// the plan writes (root only) to both halves, each fencing its own peer.
func TestFencingOnForEveryPair(t *testing.T) {
	handler := map[string]string{config.ProfileDebian12: "fence-peer", config.ProfileCentOS5: "outdate-peer"}
	for _, profile := range []string{config.ProfileDebian12, config.ProfileCentOS5} {
		t.Run(profile, func(t *testing.T) {
			s := fencedLab(t, profile)
			plan := Build(s, nil)
			for _, p := range s.Pairs {
				conf := drbdConfOf(s, p)
				for _, want := range []string{
					"disk {\n", "        fencing resource-and-stonith;\n",
					"    handlers {\n        " + handler[profile] + ` "` + FencePeerPath + "\";\n        split-brain \"" + SplitBrainPath + "\";\n    }\n",
				} {
					if !strings.Contains(conf, want) {
						t.Errorf("%s's config lacks %q:\n%s", p.Resource(), want, conf)
					}
				}
				for side, h := range p.Halves() {
					peer := p.Halves()[1-side].Host
					script, mode, ok := writeOf(plan, h.Host, FencePeerPath)
					if !ok || mode != 0o700 {
						t.Fatalf("%s: fence-peer handler written %v, mode %o", h.Host, ok, mode)
					}
					if !strings.Contains(script, "res="+p.Resource()+" self="+h.Host+" peer="+peer+" ") ||
						!strings.Contains(script, " ip="+s.Fencing.HostOptions[peer]["ip"]+" ") {
						t.Errorf("%s's handler does not fence %s at its BMC:\n%s", h.Host, peer, script)
					}
					if _, mode, ok := writeOf(plan, h.Host, SplitBrainPath); !ok || mode != 0o700 {
						t.Errorf("%s: split-brain handler written %v, mode %o", h.Host, ok, mode)
					}
				}
			}
		})
	}
}

// Without an agent nothing of it is there (the lab's plan stays as it was).
func TestNoFencingWithAgentNone(t *testing.T) {
	for _, profile := range []string{config.ProfileDebian12, config.ProfileCentOS5} {
		s := unfencedLab(t, "lab-grow.toml")
		s.Cluster.Profile = profile
		plan := Build(s, nil)
		for _, p := range s.Pairs {
			if conf := drbdConfOf(s, p); strings.Contains(conf, "fencing") || strings.Contains(conf, "handlers") {
				t.Errorf("%s %s with agent none:\n%s", profile, p.Resource(), conf)
			}
			if _, _, ok := writeOf(plan, p.A.Host, FencePeerPath); ok {
				t.Errorf("%s: fence-peer handler written with agent none", profile)
			}
		}
	}
}

// The agent's packages go to every host: Debian 12's fence-agents, and
// ipmitool, which fence_ipmilan runs but the package does not pull in.
func TestAgentPackagesInstalled(t *testing.T) {
	s := fencedLab(t, config.ProfileDebian12)
	plan := Build(s, nil)
	for _, h := range append(s.StorageHosts(), s.ClientHosts()...) {
		found := false
		for _, a := range plan.Steps[0].Actions {
			if a.Host == h && strings.Contains(a.Cmd.String(), " fence-agents ipmitool") {
				found = true
			}
		}
		if !found {
			t.Errorf("%s does not get fence-agents and ipmitool: %+v", h, plan.Steps[0].Actions)
		}
	}
}

// drbd-utils' own parser takes the generated 8.4 resource: the disk
// section carries the fencing policy to the kernel (attach --fencing) and
// the handlers are read.
func TestDRBDFencingParses(t *testing.T) {
	drbdadm := "/usr/lib/drbd/drbdadm-84"
	if _, err := os.Stat(drbdadm); err != nil {
		t.Skip("drbd-utils is not installed")
	}
	s := fencedLab(t, config.ProfileDebian12)
	here, _ := os.Hostname()
	p := s.Pairs[0]
	dir := t.TempDir()
	res := strings.ReplaceAll(DRBDResource(s, p), "on "+p.B.Host+" {", "on "+here+" {")
	os.WriteFile(filepath.Join(dir, "r.res"), []byte(res), 0o644)
	conf := filepath.Join(dir, "drbd.conf")
	os.WriteFile(conf, []byte("global { usage-count no; }\ncommon { }\ninclude \""+dir+"/r.res\";\n"), 0o644)
	dump, err := exec.Command(drbdadm, "-c", conf, "dump", p.Resource()).CombinedOutput()
	if err != nil {
		t.Fatalf("drbdadm dump: %v\n%s", err, dump)
	}
	for _, re := range []string{`fencing\s+resource-and-stonith;`, `fence-peer\s+` + FencePeerPath + `;`, `split-brain\s+` + SplitBrainPath + `;`} {
		if !regexp.MustCompile(re).Match(dump) {
			t.Errorf("drbdadm's dump lacks %s:\n%s", re, dump)
		}
	}
	up, _ := exec.Command(drbdadm, "-c", conf, "-d", "up", p.Resource()).CombinedOutput()
	if !regexp.MustCompile(`(?m)^\S*drbdsetup-84 attach .*--fencing=resource-and-stonith`).Match(up) {
		t.Errorf("attach does not carry the fencing policy:\n%s", up)
	}
}

// handlerRun is one run of a generated handler under dash, with a stub
// fence agent that answers each action with a real fence_ipmilan capture
// (its output, then its exit code from the capture's rc= line) and keeps
// what it read on stdin and in argv; logger, sleep and drbdadm are stubs
// that record their arguments.
type handlerRun struct {
	exit                     int
	stderr, log, slept, argv string
	stdin                    []string // one entry per agent run
}

func runHandler(t *testing.T, script string, env []string, captures map[string]string, agentMissing bool, cstate string) handlerRun {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	os.Mkdir(bin, 0o755)
	agent := filepath.Join(bin, "fence_ipmilan")
	script = strings.Replace(script, "agent=/usr/sbin/fence_ipmilan", "agent="+agent, 1)
	stub := func(name, body string) { os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+body), 0o755) }
	stub("logger", `echo "$*" >> "$D/log"`+"\n")
	stub("sleep", `echo "$*" >> "$D/slept"`+"\n")
	stub("drbdadm", `echo "$*" >> "$D/drbdadm"; echo `+cstate+"\n")
	// no test pings anything: the peer answers on the LAN only when PEER_ANSWERS is set
	stub("ping", `echo "$*" >> "$D/pinged"; [ -n "$PEER_ANSWERS" ]`+"\n")
	if !agentMissing {
		var cases strings.Builder
		for action, file := range captures {
			data, err := os.ReadFile(filepath.Join("testdata", "captures", file))
			if err != nil {
				t.Fatal(err)
			}
			out, rc, ok := strings.Cut(string(data), "\nrc=")
			if !ok {
				t.Fatalf("%s has no rc= line", file)
			}
			os.WriteFile(filepath.Join(dir, action+".out"), []byte(out+"\n"), 0o644)
			fmt.Fprintf(&cases, "*action=%s*) cat \"$D/%s.out\"; exit %s ;;\n", action, action, strings.TrimSpace(rc))
		}
		stub("fence_ipmilan", `n=$(ls "$D" | grep -c '^stdin'); in=$(cat); printf '%s\n' "$in" > "$D/stdin$n"; echo "$#:$*" >> "$D/argv"
case "$in" in
`+cases.String()+`*) echo "stub: no capture for this action" >&2; exit 1 ;;
esac
`)
	}
	path := filepath.Join(dir, "handler")
	os.WriteFile(path, []byte(script), 0o755)
	cmd := exec.Command("dash", path)
	cmd.Env = append([]string{"PATH=" + bin + ":/usr/bin:/bin", "D=" + dir}, env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	r := handlerRun{stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.exit = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	read := func(name string) string { b, _ := os.ReadFile(filepath.Join(dir, name)); return string(b) }
	r.log, r.slept, r.argv = read("log"), read("slept"), read("argv")
	for i := 0; ; i++ {
		in := read(fmt.Sprint("stdin", i))
		if in == "" {
			break
		}
		r.stdin = append(r.stdin, in)
	}
	return r
}

var (
	peerOff     = map[string]string{"off": "fence-ipmilan-off.txt", "status": "fence-ipmilan-status-off.txt"}
	peerGoneOff = map[string]string{"off": "fence-ipmilan-off-already.txt", "status": "fence-ipmilan-status-off.txt"}
)

func TestFencePeerHandler(t *testing.T) {
	s := fencedLab(t, config.ProfileDebian12)
	p := s.Pairs[0]
	a := FencePeerScript(s, p.A.Host, AgentPath(s))
	b := FencePeerScript(s, p.B.Host, AgentPath(s))
	env := []string{"DRBD_RESOURCE=" + p.Resource(), "DRBD_PEER=somewhere-else"}

	t.Run("a-half fences its peer at once, confirmed off: exit 7", func(t *testing.T) {
		r := runHandler(t, a, env, peerOff, false, "WFConnection")
		if r.exit != 7 || r.slept != "" || len(r.stdin) != 2 {
			t.Fatalf("exit %d, slept %q, agent runs %d; stderr:\n%s", r.exit, r.slept, len(r.stdin), r.stderr)
		}
		// options on stdin, nothing in argv; the peer's own BMC
		want := []string{"action=off", "ip=" + s.Fencing.HostOptions[p.B.Host]["ip"], "lanplus=1", "password_script=/root/fence-pw.sh", "username=admin"}
		if got := strings.Fields(r.stdin[0]); !slices.Equal(got, want) {
			t.Errorf("agent's stdin for off: %q, want %q", got, want)
		}
		if !strings.HasPrefix(r.stdin[1], "action=status\n") || r.argv != "0:\n0:\n" {
			t.Errorf("status run stdin %q, argv %q", r.stdin[1], r.argv)
		}
		if !strings.Contains(r.log, "storage0b is fenced (powered off, confirmed)") {
			t.Errorf("syslog: %q", r.log)
		}
	})
	t.Run("b-half waits storage_delay first", func(t *testing.T) {
		r := runHandler(t, b, env, peerGoneOff, false, "WFConnection")
		if r.exit != 7 || r.slept != "10\n" {
			t.Fatalf("exit %d, slept %q; stderr:\n%s", r.exit, r.slept, r.stderr)
		}
		if !strings.Contains(r.stdin[0], "ip="+s.Fencing.HostOptions[p.A.Host]["ip"]+"\n") {
			t.Errorf("b-half does not fence the a-half: %q", r.stdin[0])
		}
	})
	t.Run("b-half does not fence an a-half that answers on the cluster LAN", func(t *testing.T) {
		r := runHandler(t, b, append([]string{"PEER_ANSWERS=1"}, env...), peerOff, false, "WFConnection")
		if r.exit != 1 || len(r.stdin) != 0 || r.slept != "10\n" ||
			!strings.Contains(r.log, "storage0a answers on the cluster LAN ("+s.Host(p.A.Host).Address+"): it is alive and fences this half") {
			t.Fatalf("exit %d, agent runs %d, slept %q, log %q", r.exit, len(r.stdin), r.slept, r.log)
		}
	})
	t.Run("b-half does not fence when the link came back while it waited", func(t *testing.T) {
		r := runHandler(t, b, env, peerOff, false, "Connected")
		if r.exit == 7 || len(r.stdin) != 0 || !strings.Contains(r.log, "the link to storage0a is back") {
			t.Fatalf("exit %d, agent runs %d, log %q", r.exit, len(r.stdin), r.log)
		}
	})
	for _, c := range []struct {
		name     string
		captures map[string]string
		missing  bool
		env      []string
		why      string
	}{
		{"wrong password", map[string]string{"off": "fence-ipmilan-wrong-password.txt"}, false, env, "powering storage0b off failed (exit 1: "},
		{"BMC unreachable", map[string]string{"off": "fence-ipmilan-wrong-address.txt"}, false, env, "ERROR: Connection timed out"},
		{"power off times out", map[string]string{"off": "fence-ipmilan-off-fails.txt"}, false, env, "Timed out waiting to power OFF"},
		{"still on after off", map[string]string{"off": "fence-ipmilan-off.txt", "status": "fence-ipmilan-status-on.txt"}, false, env, "storage0b is not confirmed off (status exit 0: Status: ON)"},
		{"agent missing", nil, true, env, "fence_ipmilan is not installed: cannot fence storage0b"},
		{"another resource", peerOff, false, []string{"DRBD_RESOURCE=r9"}, "called for resource 'r9', not r0"},
	} {
		t.Run(c.name+" keeps I/O frozen", func(t *testing.T) {
			r := runHandler(t, a, c.env, c.captures, c.missing, "WFConnection")
			// 3, 4, 5 and 7 resume I/O; anything else is a broken helper
			if r.exit != 1 {
				t.Fatalf("exit %d, want 1 (I/O stays frozen); stderr:\n%s", r.exit, r.stderr)
			}
			if !strings.Contains(r.log, c.why) || !strings.Contains(r.log, "I/O on r0 stays frozen") || !strings.Contains(r.stderr, c.why) {
				t.Errorf("log %q / stderr %q do not say %q", r.log, r.stderr, c.why)
			}
		})
	}
}

func TestSplitBrainHandlerRecords(t *testing.T) {
	s := fencedLab(t, config.ProfileDebian12)
	dir := t.TempDir()
	script := strings.Replace(SplitBrainScript(s, "storage1b"), "file="+SplitBrainDir+"/", "file="+dir+"/state/", 1)
	r := runHandler(t, script, []string{"DRBD_RESOURCE=r1"}, nil, true, "StandAlone")
	if r.exit != 0 {
		t.Fatalf("exit %d: %s", r.exit, r.stderr)
	}
	data, err := os.ReadFile(filepath.Join(dir, "state", "split-brain-r1"))
	if err != nil || !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n$`).Match(data) {
		t.Errorf("record: %q, %v", data, err)
	}
	if !strings.Contains(r.log, "split-brain r1 on storage1b") {
		t.Errorf("syslog: %q", r.log)
	}
}

// The plan's warnings say what the lab measured: without fencing dlm does
// not wait for a lost client (no freeze), so a cut-off client corrupts
// GFS2; with an agent, they say how the pairs are fenced.
func TestWarningsSayWhatHappens(t *testing.T) {
	none := strings.Join(Build(unfencedLab(t, "lab.toml"), nil).Warnings, "\n")
	for _, want := range []string{"Fencing is OFF", "dlm does not wait for it", "corrupts GFS2", "split-brains"} {
		if !strings.Contains(none, want) {
			t.Errorf("agent none: warnings lack %q:\n%s", want, none)
		}
	}
	if strings.Contains(none, "freeze") {
		t.Errorf("agent none: a lost client does not freeze GFS2 (dlm recovers without fencing):\n%s", none)
	}
	on := strings.Join(Build(fencedLab(t, config.ProfileDebian12), nil).Warnings, "\n")
	if strings.Contains(on, "OFF") || !strings.Contains(on, "powered the other off through fence_ipmilan (the b-half waits 10 s") {
		t.Errorf("agent set:\n%s", on)
	}
}

// status reads what the split-brain handler recorded: the handler and
// StateScript run with dash on the same directory.
func TestStatusReadsSplitBrainRecord(t *testing.T) {
	dir := t.TempDir()
	old := SplitBrainDir
	SplitBrainDir = dir
	defer func() { SplitBrainDir = old }()
	s := fencedLab(t, config.ProfileDebian12)
	r := runHandler(t, SplitBrainScript(s, "storage1a"), []string{"DRBD_RESOURCE=r1"}, nil, true, "StandAlone")
	if r.exit != 0 {
		t.Fatalf("handler: exit %d %s", r.exit, r.stderr)
	}
	out, err := exec.Command("dash", "-c", StateScript("storage").String()).Output()
	if err != nil {
		t.Fatal(err)
	}
	st, err := ParseState("storage", string(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(st.SplitBrain) != 1 || !regexp.MustCompile(`^\d{4}-\d\d-\d\dT`).MatchString(st.SplitBrain["r1"]) {
		t.Errorf("records read: %v (script output %q)", st.SplitBrain, out)
	}
}
