package steps

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"scalestore/config"
)

// procLine is a minor-0 line of a real /proc/drbd capture, with the
// replacements given (state built from the real layout).
func procLine(t *testing.T, file, prefix string, repl ...string) string {
	t.Helper()
	for _, l := range strings.Split(capture(t, file), "\n") {
		if strings.HasPrefix(l, prefix) {
			return "version: 8.4.11 (api:1/proto:86-101)\n" + strings.NewReplacer(repl...).Replace(l) + "\n"
		}
	}
	t.Fatalf("%s has no line %q", file, prefix)
	return ""
}

// runRejoin runs storage0a's rejoin script with dash: /proc/drbd shows
// each of states in turn, one more at each poll (the stub sleep moves it
// on, and ends the script once they are used up, as a boot that keeps
// waiting); drbdadm, systemctl (its restore makes the LUN appear) and
// logger are stubs. It returns the exit code and the calls in order.
func runRejoin(t *testing.T, states ...string) (int, []string) {
	t.Helper()
	return runRejoinAdjustFails(t, 0, states...)
}

// runRejoinAdjustFails is runRejoin with drbdadm adjust failing its first
// fails calls, as it does when the replication address is not up yet.
func runRejoinAdjustFails(t *testing.T, fails int, states ...string) (int, []string) {
	t.Helper()
	s := fencedLab(t, config.ProfileDebian12)
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	os.Mkdir(bin, 0o755)
	for i, st := range states {
		os.WriteFile(filepath.Join(dir, fmt.Sprint("drbd", i)), []byte(st), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "drbd"), []byte(states[0]), 0o644)
	lun := filepath.Join(dir, "lun_0")
	stub := func(name, body string) {
		os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755)
	}
	stub("logger", `echo "logger $*" >> "$D/calls"`)
	stub("drbdadm", fmt.Sprintf(`echo "drbdadm $*" >> "$D/calls"
if [ "$1" = adjust ]; then n=$(cat "$D/af" 2>/dev/null || echo 0); if [ "$n" -lt %d ]; then echo $((n + 1)) > "$D/af"; echo "IP 10.0.1.11 not found on this host." >&2; exit 10; fi; fi`, fails))
	stub("systemctl", `echo "systemctl $*" >> "$D/calls"; mkdir -p "$D/lun_0"`)
	stub("sleep", `n=$(cat "$D/n" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "$D/n"
if [ -e "$D/drbd$n" ]; then cp "$D/drbd$n" "$D/drbd"; else echo "still waiting" >> "$D/calls"; kill $PPID; fi`)
	script := RejoinScript(s, "storage0a")
	want := "lun=" + configfs + "/iscsi/" + s.TargetIQN(s.Pairs[0], "storage0a") + "/tpgt_1/lun/lun_0\n"
	if !strings.Contains(script, "drbd=/proc/drbd "+want) {
		t.Fatalf("script does not read /proc/drbd and the pair's LUN:\n%s", script)
	}
	script = strings.Replace(script, "drbd=/proc/drbd "+want, "drbd="+dir+"/drbd lun="+lun+"\n", 1)
	path := filepath.Join(dir, "rejoin")
	os.WriteFile(path, []byte(script), 0o755)
	cmd := exec.Command("dash", path)
	cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "D=" + dir}
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	calls, _ := os.ReadFile(filepath.Join(dir, "calls"))
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(calls)), "\n") {
		if !strings.HasPrefix(l, "logger") || strings.Contains(l, " - not primary") || strings.Contains(l, "primary and exported") {
			out = append(out, l)
		}
	}
	return code, out
}

func TestRejoinSafeOrder(t *testing.T) {
	down := capture(t, "proc-drbd-crashed-half-down.txt")
	syncing := procLine(t, "rejoin.txt", " 0: cs:SyncTarget ro:Secondary/Primary ds:Inconsistent/UpToDate")
	synced := procLine(t, "proc-drbd-dual-primary.txt", " 0: cs:Connected ro:Primary/Primary ds:UpToDate/UpToDate", "ro:Primary/Primary", "ro:Secondary/Primary")
	waiting := procLine(t, "split-brain-test.txt", " 0: cs:WFConnection ro:Primary/Unknown", "ro:Primary/Unknown", "ro:Secondary/Unknown")
	outdated := procLine(t, "split-brain-test.txt", " 0: cs:WFConnection ro:Primary/Unknown", "ro:Primary/Unknown ds:UpToDate/DUnknown", "ro:Secondary/Unknown ds:Outdated/DUnknown")
	standalone := procLine(t, "split-brain-test.txt", " 0: cs:StandAlone", "ro:Primary/Unknown", "ro:Secondary/Unknown")

	t.Run("up, resync, then primary, then export", func(t *testing.T) {
		code, calls := runRejoin(t, down, waiting, syncing, syncing, synced)
		want := []string{"drbdadm adjust r0", "drbdadm primary r0", "systemctl start rtslib-fb-targetctl.service",
			"logger -t scalestore rejoin r0: connected, UpToDate, primary and exported"}
		if code != 0 || strings.Join(calls, "\n") != strings.Join(want, "\n") {
			t.Fatalf("exit %d, calls:\n%s\nwant:\n%s", code, strings.Join(calls, "\n"), strings.Join(want, "\n"))
		}
	})
	t.Run("adjust tried again while the address is not up yet", func(t *testing.T) {
		code, calls := runRejoinAdjustFails(t, 2, down, down, down, syncing, synced)
		want := []string{"drbdadm adjust r0", "drbdadm adjust r0", "drbdadm adjust r0", "drbdadm primary r0", "systemctl start rtslib-fb-targetctl.service",
			"logger -t scalestore rejoin r0: connected, UpToDate, primary and exported"}
		if code != 0 || strings.Join(calls, "\n") != strings.Join(want, "\n") {
			t.Fatalf("exit %d, calls:\n%s\nwant:\n%s", code, strings.Join(calls, "\n"), strings.Join(want, "\n"))
		}
	})
	for name, states := range map[string][]string{
		"Outdated":     {down, outdated, outdated},
		"Inconsistent": {down, syncing, syncing},
		"WFConnection": {waiting, waiting},
	} {
		t.Run("never primary while "+name, func(t *testing.T) {
			code, calls := runRejoin(t, states...)
			if code == 0 || strings.Join(calls, "\n") != "drbdadm adjust r0\nstill waiting" {
				t.Fatalf("exit %d, calls %q", code, calls)
			}
		})
	}
	t.Run("gives up on StandAlone", func(t *testing.T) {
		code, calls := runRejoin(t, down, standalone)
		if code != 1 || len(calls) != 2 || !strings.Contains(calls[1], "dropped the connection to storage0b for good") {
			t.Fatalf("exit %d, calls %q", code, calls)
		}
	})
}

// The boot unit is planned only with an agent (the lab, agent none, keeps
// its plan until the unit is proven there), on every storage half, after
// the export step.
func TestStorageBootUnitPlanned(t *testing.T) {
	if p := Build(unfencedLab(t, "lab-grow.toml"), nil); stepIndex(p, "storage-boot") >= 0 {
		t.Fatal("storage-boot planned with agent none")
	}
	s := fencedLab(t, config.ProfileDebian12)
	p := Build(s, nil)
	i := stepIndex(p, "storage-boot")
	if i < 0 || i != stepIndex(p, "export")+1 {
		t.Fatalf("storage-boot at %d, export at %d", i, stepIndex(p, "export"))
	}
	for _, h := range s.StorageHosts() {
		unit, _, ok := writeOf(p, h, storageUnitPath)
		if !ok || !strings.Contains(unit, "ExecStart="+RejoinPath+"\n") {
			t.Errorf("%s: unit %v\n%s", h, ok, unit)
		}
		if _, mode, ok := writeOf(p, h, RejoinPath); !ok || mode != 0o755 {
			t.Errorf("%s: rejoin script %v %o", h, ok, mode)
		}
	}
}

func stepIndex(p *Plan, id string) int {
	for i, st := range p.Steps {
		if st.ID == id {
			return i
		}
	}
	return -1
}

// Every unit whose "up" probe reads the shared systemctl query is in that
// query: a unit left out reads as down forever, and every apply starts it
// again (the lab's second apply "changed" scalestore-drbd.service on each
// storage half this way).
var unitNeedle = regexp.MustCompile(`\|Id=([^|']+)\|ActiveState=`)

func TestEveryUnitProbeIsInTheSharedQuery(t *testing.T) {
	query := unitsQuery.String()
	for _, s := range []*config.Spec{loadLab(t, "lab-join.toml"), fencedLab(t, config.ProfileDebian12)} {
		for _, st := range Build(s, nil).Steps {
			for _, a := range st.Actions {
				if a.Unless == nil {
					continue
				}
				for _, m := range unitNeedle.FindAllStringSubmatch(a.Unless.String(), -1) {
					if unit := m[1]; !strings.Contains(query+" ", " "+unit+" ") {
						t.Errorf("%s on %s: %q probes %s, which %q does not ask about", st.ID, a.Host, a.Desc, unit, query)
					}
				}
			}
		}
	}
}
