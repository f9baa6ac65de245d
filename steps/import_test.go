package steps

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// A client logs in to every export at once, each only if it has no session
// to it yet; the action fails if any login does. Run in a real shell with
// a stub iscsiadm (a login waits until every expected login has started,
// then makes the session in a fake sysfs).
func TestImportLogsInAtOnceOnlyWhereNeeded(t *testing.T) {
	s := unfencedLab(t, "lab.toml")
	var login Action
	for _, a := range Build(s, nil).Steps[indexOf(t, Build(s, nil), "import")].Actions {
		if a.Host == "client0" && strings.HasPrefix(a.Desc, "log in to ") {
			login = a
		}
	}
	if login.Desc == "" || !strings.HasSuffix(login.Desc, "(at once)") {
		t.Fatalf("no combined login on client0: %q", login.Desc)
	}
	for _, tc := range []struct {
		name   string
		have   []string // targets with a session already
		fail   string   // the target whose login fails
		wantRC bool
		logins int
	}{
		{"two of four logged in", []string{"storage0a.r0", "storage1b.r1"}, "", true, 2},
		{"none", nil, "", true, 4},
		{"one login fails", nil, "storage1a.r1", false, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			sys := filepath.Join(dir, "sys") + "/"
			os.MkdirAll(sys, 0o755)
			for i, h := range tc.have {
				os.MkdirAll(filepath.Join(sys, "session"+string(rune('a'+i))), 0o755)
				os.WriteFile(filepath.Join(sys, "session"+string(rune('a'+i)), "targetname"), []byte("iqn.2003-01.org.scalestore:lab."+h+"\n"), 0o644)
			}
			stub := `#!/bin/sh
case "$*" in
*--login*)
  t=$(echo "$*" | sed 's/.*-T \([^ ]*\) .*/\1/')
  echo "start $t" >> "$D/log"
  # a barrier, not a guess of time: wait (up to 10 s) until every expected login has started;
  # logins run one after another never get there, and end before the next starts
  i=0; while [ "$(grep -c '^start ' "$D/log")" -lt "$N" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
  case "$t" in *"$FAIL") echo "end $t failed" >> "$D/log"; exit 8 ;; esac
  mkdir -p "$SYS/session-${t##*.lab.}" && echo "$t" > "$SYS/session-${t##*.lab.}/targetname"
  echo "end $t" >> "$D/log" ;;
esac
exit 0
`
			os.WriteFile(filepath.Join(dir, "iscsiadm"), []byte(stub), 0o755)
			script := strings.ReplaceAll(login.Cmd.String(), "/sys/class/iscsi_session/", sys)
			cmd := exec.Command("dash", "-c", script)
			fail := tc.fail
			if fail == "" {
				fail = "none"
			}
			cmd.Env = []string{"PATH=" + dir + ":/usr/bin:/bin", "D=" + dir, "SYS=" + sys, "FAIL=" + fail, "N=" + strconv.Itoa(tc.logins)}
			out, err := cmd.CombinedOutput()
			if (err == nil) != tc.wantRC {
				t.Fatalf("exit %v, want success %v: %s", err, tc.wantRC, out)
			}
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			lines := strings.Split(strings.TrimSpace(string(log)), "\n")
			starts := 0
			for i, l := range lines {
				if strings.HasPrefix(l, "start ") {
					starts++
					for _, h := range tc.have {
						if strings.HasSuffix(l, h) {
							t.Errorf("logged in again to %s, which had a session", h)
						}
					}
				}
				// at once: every login starts before the first ends
				if strings.HasPrefix(l, "end ") && i < tc.logins {
					t.Errorf("a login ended before all %d started (one after another?):\n%s", tc.logins, log)
				}
			}
			if starts != tc.logins {
				t.Errorf("%d logins, want %d:\n%s", starts, tc.logins, log)
			}
			if tc.wantRC {
				// and the action's own probe now holds
				probe := strings.ReplaceAll(login.Unless.String(), "/sys/class/iscsi_session/", sys)
				if err := exec.Command("dash", "-c", probe).Run(); err != nil {
					t.Error("the probe does not hold after the logins")
				}
			}
		})
	}
}

func indexOf(t *testing.T, p *Plan, id string) int {
	for i, st := range p.Steps {
		if st.ID == id {
			return i
		}
	}
	t.Fatalf("no step %s", id)
	return -1
}
