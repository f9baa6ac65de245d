package steps

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"scalestore/config"
)

// The fstab action rewrites a system file: it keeps the host's other lines,
// replaces only the line of the mount point, and leaves the old file as
// /etc/fstab.scalestore.bak. Run for real with dash on a copy of an fstab
// (paths moved under a temporary directory, systemctl stubbed).
func TestFstabActionKeepsABackup(t *testing.T) {
	if _, err := exec.LookPath("dash"); err != nil {
		t.Skip("dash not installed")
	}
	s, err := config.Load("../lab/lab.toml")
	if err != nil {
		t.Fatal(err)
	}
	var script string
	for _, st := range Build(s, nil).Steps {
		for _, a := range st.Actions {
			if a.Host == "client0" && strings.Contains(a.Desc, "fstab") {
				script = a.Cmd.String()
			}
		}
	}
	if script == "" {
		t.Fatal("no fstab action for client0 in the plan")
	}
	dir := t.TempDir()
	old := "UUID=1234 / ext4 errors=remount-ro 0 1\n/dev/old /mnt/gfs2 ext4 defaults 0 0\n/dev/vdc none swap sw 0 0\n"
	os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
	os.WriteFile(filepath.Join(dir, "etc", "fstab"), []byte(old), 0o644)
	os.MkdirAll(filepath.Join(dir, "bin"), 0o755)
	os.WriteFile(filepath.Join(dir, "bin", "systemctl"), []byte("#!/bin/sh\nexit 0\n"), 0o755)
	cmd := exec.Command("dash", "-c", strings.ReplaceAll(script, "/etc/fstab", dir+"/etc/fstab"))
	cmd.Env = append(os.Environ(), "PATH="+dir+"/bin:"+os.Getenv("PATH"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	bak, err := os.ReadFile(filepath.Join(dir, "etc", "fstab.scalestore.bak"))
	if err != nil || string(bak) != old {
		t.Errorf("backup: %q, %v; want the old fstab", bak, err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "etc", "fstab"))
	want := "UUID=1234 / ext4 errors=remount-ro 0 1\n/dev/vdc none swap sw 0 0\n" + FstabLine(s, "x-systemd.requires="+lvUnit, "x-systemd.device-timeout=10min") + "\n"
	if string(got) != want {
		t.Errorf("fstab now:\n%s\nwant:\n%s", got, want)
	}
}
