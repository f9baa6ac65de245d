package steps

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The client's boot unit starts the VG's lockspace only once corosync is
// quorate: on the lab, client1 powered back on by its fence booted into a
// ring of its own, its lvmlockd joined lvm_global there, and the join hung
// for good when the rings merged (a clean-clone e2e run, case L). The wait
// comes before the lock start, ends as soon as corosync-quorumtool (a real
// capture) says Quorate: Yes, and the unit fails, saying why, if it never
// does.
func TestLVUnitStartsTheLockspaceOnlyWhenQuorate(t *testing.T) {
	unit := lvUnitFile(unfencedLab(t, "lab.toml"))
	var pre []string
	lockStart, quorum := -1, -1
	for i, l := range strings.Split(unit, "\n") {
		if strings.Contains(l, "corosync-quorumtool") {
			quorum = i
		}
		if strings.HasPrefix(l, "ExecStart=/usr/sbin/vgchange --lock-start") {
			lockStart = i
		}
		if c, ok := strings.CutPrefix(l, "ExecStartPre=/bin/sh -c '"); ok && strings.Contains(l, "quorumtool") {
			// systemd's $$ is the shell's $
			pre = append(pre, strings.ReplaceAll(strings.TrimSuffix(c, "'"), "$$", "$"))
		}
	}
	if quorum < 0 || lockStart < 0 || quorum > lockStart || len(pre) != 1 {
		t.Fatalf("no quorum wait before the lock start:\n%s", unit)
	}
	text := capture(t, "state-client0-healthy.txt")
	_, quorate, _ := strings.Cut(text, "@@quorum\n")
	quorate, _, _ = strings.Cut(quorate, "\n@@")
	for _, tc := range []struct {
		name     string
		notYet   int // calls that answer "Quorate: No" first
		wantOK   bool
		maxCalls int
	}{
		{"quorate at the third look", 2, true, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "quorate.txt"), []byte(quorate), 0o644)
			os.WriteFile(filepath.Join(dir, "corosync-quorumtool"), []byte(`#!/bin/sh
echo x >> "$D/calls"
if [ "$(wc -l < "$D/calls")" -le `+strconv.Itoa(tc.notYet)+` ]; then echo "Quorate:          No"; exit 2; fi
cat "$D/quorate.txt"
`), 0o755)
			cmd := exec.Command("sh", "-c", pre[0])
			cmd.Env = []string{"PATH=" + dir + ":/usr/bin:/bin", "D=" + dir}
			out, err := cmd.CombinedOutput()
			if (err == nil) != tc.wantOK {
				t.Fatalf("exit %v, want success %v: %s", err, tc.wantOK, out)
			}
			calls, _ := os.ReadFile(filepath.Join(dir, "calls"))
			if n := strings.Count(string(calls), "x"); n != tc.maxCalls {
				t.Fatalf("asked corosync %d times, want %d", n, tc.maxCalls)
			}
		})
	}
	// never quorate: the unit fails with the reason (the loop's bound cut to 2 s)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "corosync-quorumtool"), []byte("#!/bin/sh\necho 'Quorate:          No'\nexit 2\n"), 0o755)
	cmd := exec.Command("sh", "-c", strings.Replace(pre[0], "-lt 300", "-lt 2", 1))
	cmd.Env = []string{"PATH=" + dir + ":/usr/bin:/bin"}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "corosync is not quorate after 300 s") {
		t.Fatalf("never quorate: exit %v, %s", err, out)
	}
}
