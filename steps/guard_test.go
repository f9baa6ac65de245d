package steps

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"scalestore/config"
)

// Every destructive disk action of both profiles runs behind the one guard
// (create-md, pvcreate, mkfs.gfs2), and a wipe only for the disk named
// under [wipe], behind the guard of its identity.
func TestDestructiveActionsAreGuarded(t *testing.T) {
	for _, prof := range []string{config.ProfileDebian12, config.ProfileCentOS5} {
		t.Run(prof, func(t *testing.T) {
			s := sample(t, prof)
			seen := map[string]bool{}
			for _, st := range Build(s, nil).Steps {
				for _, a := range st.Actions {
					if !a.Destructive || st.ID == "drbd-initial-sync" {
						continue
					}
					if strings.HasPrefix(a.Desc, "wipe ") {
						t.Errorf("sample names no device under [wipe], yet the plan wipes: %s", a.Desc)
					}
					if !behindGuard(s, a.Cmd.String()) {
						t.Errorf("%s on %s is destructive but not behind the disk guard: %s", a.Desc, a.Host, a.Cmd)
					}
					seen[strings.Fields(a.Desc)[0]] = true
				}
			}
			for _, want := range []string{"create", "make", "mkfs.gfs2"} {
				if !seen[want] {
					t.Errorf("no %q action among the destructive ones: %v", want, seen)
				}
			}
			w := config.WipeDevice{Host: "storage0a", Disk: "/dev/sdb", Serial: "lab-storage0a-data", Size: 1073741824}
			s.Wipe.Devices = []string{w.String(), "storage0b:/dev/sdb"}
			var wipes []Action
			for _, st := range Build(s, nil).Steps {
				for _, a := range st.Actions {
					if strings.HasPrefix(a.Desc, "wipe ") {
						wipes = append(wipes, a)
					}
				}
			}
			if len(wipes) != 2 {
				t.Fatalf("named two devices for wiping, plan wipes %d", len(wipes))
			}
			if a := wipes[0]; a.Host != "storage0a" || !strings.HasPrefix(a.Cmd.String(), diskGuard("/dev/sdb", &w)+" && ") ||
				!strings.Contains(a.Cmd.String(), " >> "+WipedFile) || !a.Destructive {
				t.Errorf("wipe of %s is not behind its identity guard, or not recorded: %s", w, a.Cmd)
			}
			if a := wipes[0]; a.Unless == nil || strings.Contains(a.Unless.String(), "drbd") || !strings.Contains(a.Unless.String(), WipedFile) {
				t.Errorf("the wipe's probe must be its record on the host, not DRBD's metadata (which skips the wipe of a disk holding another cluster's): %v", a.Unless)
			}
			if a := wipes[1]; a.Host != "storage0b" || !strings.Contains(a.Cmd.String(), "names no identity") || strings.Contains(a.Cmd.String(), "dd if=") ||
				strings.Contains(a.Cmd.String(), "wipefs --all") {
				t.Errorf("an entry with no identity must refuse, not wipe: %s", a.Cmd)
			}
		})
	}
}

// behindGuard: cmd starts with the blank-disk guard of a disk the spec
// writes (a backing disk, a pair's map, the LV).
func behindGuard(s *config.Spec, cmd string) bool {
	devs := append(mapperPaths(s), s.LVPath())
	for _, p := range s.Pairs {
		for _, h := range p.Halves() {
			devs = append(devs, h.Disk)
		}
	}
	for _, d := range devs {
		if strings.HasPrefix(cmd, diskGuard(d, nil)+" && ") {
			return true
		}
	}
	return false
}

// loopDev makes a loop device over a new image of size bytes (partitions
// scanned), removed at the end of the test.
func loopDev(t *testing.T, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the guard's tests need root for loop devices")
	}
	if _, err := exec.LookPath("losetup"); err != nil {
		t.Skip("losetup is missing (util-linux)")
	}
	img := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, size); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("losetup", "--find", "--show", "--partscan", img).Output()
	if err != nil {
		t.Skipf("no loop device could be made here: %v", err)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() {
		if out, err := exec.Command("losetup", "-d", dev).CombinedOutput(); err != nil {
			t.Errorf("losetup -d %s: %v %s", dev, err, out)
		}
	})
	return dev
}

func tool(t *testing.T, name string, args ...string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s is missing here (make deps installs it)", name)
	}
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func stdin(t *testing.T, in, name string, args ...string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s is missing here (make deps installs it)", name)
	}
	c := exec.Command(name, args...)
	c.Stdin = strings.NewReader(in)
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// runDash runs script with dash (Debian's /bin/sh) and PATH prefixed by
// pathDir when set: its exit code and stderr.
func runDash(t *testing.T, script, pathDir string) (int, string) {
	t.Helper()
	dash, err := exec.LookPath("dash")
	if err != nil {
		t.Skip("dash is missing (make deps installs it)")
	}
	c := exec.Command(dash, "-c", script)
	c.Env = os.Environ()
	if pathDir != "" {
		c.Env = append(c.Env, "PATH="+pathDir+":"+os.Getenv("PATH"))
	}
	var stderr strings.Builder
	c.Stderr = &stderr
	err = c.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, stderr.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), stderr.String()
	}
	t.Fatalf("run dash: %v", err)
	return -1, ""
}

// The guard, run by dash on real loop devices: a blank disk passes, every
// disk with something on it or in use is refused with exit 3 and the
// reason, and a check that cannot run refuses too.
func TestDiskGuardOnLoopDevices(t *testing.T) {
	const size = 64 << 20
	cases := []struct {
		name  string
		setup func(t *testing.T, dev string) string // the path the guard is given
		path  string                                // PATH prefix (stub tools)
		why   string                                // in the refusal; "" when the disk passes
	}{
		{name: "blank", setup: func(t *testing.T, dev string) string { return dev }},
		{name: "ext4", why: "signature: ext4", setup: func(t *testing.T, dev string) string {
			tool(t, "mkfs.ext4", "-q", "-F", dev)
			return dev
		}},
		{name: "MBR, no partition", why: "signature: dos", setup: func(t *testing.T, dev string) string {
			stdin(t, "label: dos\n", "sfdisk", "-q", dev)
			return dev
		}},
		{name: "MBR with a partition", why: "signature: dos", setup: func(t *testing.T, dev string) string {
			stdin(t, "label: dos\n,,L\n", "sfdisk", "-q", dev)
			return dev
		}},
		{name: "GPT, no partition", why: "signature: gpt gpt PMBR", setup: func(t *testing.T, dev string) string {
			stdin(t, "label: gpt\n", "sfdisk", "-q", dev)
			return dev
		}},
		{name: "GPT with a partition", why: "signature: gpt gpt PMBR", setup: func(t *testing.T, dev string) string {
			stdin(t, "label: gpt\n,,L\n", "sfdisk", "-q", dev)
			return dev
		}},
		{name: "LVM label", why: "signature: LVM2_member", setup: func(t *testing.T, dev string) string {
			// only this device, and no devices file: the host's LVM is untouched
			tool(t, "pvcreate", "-q", "--config", `devices { use_devicesfile=0 filter=["a|^`+dev+`$|","r|.*|"] } activation { udev_sync=0 udev_rules=0 }`, dev)
			return dev
		}},
		{name: "swap", why: "signature: swap", setup: func(t *testing.T, dev string) string {
			tool(t, "mkswap", "-q", dev)
			return dev
		}},
		{name: "DRBD 8.4 metadata", why: "signature: drbd", setup: func(t *testing.T, dev string) string {
			tool(t, "drbdmeta", "--force", "-", "v08", dev, "internal", "create-md")
			return dev
		}},
		{name: "held open exclusively", why: "cannot be opened exclusively: Device or resource busy", setup: func(t *testing.T, dev string) string {
			f, err := os.OpenFile(dev, os.O_RDONLY|syscall.O_EXCL, 0)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			return dev
		}},
		{name: "mounted", why: "signature: ext4", setup: func(t *testing.T, dev string) string {
			tool(t, "mkfs.ext4", "-q", "-F", dev)
			mnt := t.TempDir()
			tool(t, "mount", dev, mnt)
			t.Cleanup(func() { exec.Command("umount", mnt).Run() })
			return dev
		}},
		{name: "by a symlink, blank", setup: func(t *testing.T, dev string) string {
			link := filepath.Join(t.TempDir(), "by-id-blank")
			if err := os.Symlink(dev, link); err != nil {
				t.Fatal(err)
			}
			return link
		}},
		{name: "by a symlink, ext4", why: "signature: ext4", setup: func(t *testing.T, dev string) string {
			tool(t, "mkfs.ext4", "-q", "-F", dev)
			link := filepath.Join(t.TempDir(), "by-id-ext4")
			if err := os.Symlink(dev, link); err != nil {
				t.Fatal(err)
			}
			return link
		}},
		{name: "wipefs fails", why: "wipefs failed (exit 1)", path: "stub", setup: func(t *testing.T, dev string) string { return dev }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dev := loopDev(t, size)
			given := c.setup(t, dev)
			pathDir := ""
			if c.path == "stub" {
				pathDir = t.TempDir()
				if err := os.WriteFile(filepath.Join(pathDir, "wipefs"), []byte("#!/bin/sh\necho 'wipefs: error: probing initialization failed' >&2\nexit 1\n"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			code, stderr := runDash(t, diskGuard(given, nil)+" && echo passed", pathDir)
			if c.why == "" {
				if code != 0 {
					t.Fatalf("the blank disk %s was refused (exit %d): %s", given, code, stderr)
				}
				return
			}
			want := "refusing to write " + given
			if given != dev {
				want += " (" + dev + ")"
			}
			if code != 3 || !strings.Contains(stderr, want) || !strings.Contains(stderr, c.why) {
				t.Fatalf("exit %d, stderr %q; want exit 3 and %q ... %q", code, stderr, want, c.why)
			}
		})
	}
}

// A wipe runs only on the disk that was marked (its size here: loop
// devices have no WWN nor serial), only once, and really clears it.
func TestWipeOnLoopDevice(t *testing.T) {
	dev := loopDev(t, 64<<20)
	// ext4 and DRBD metadata, as a disk of another cluster has them
	tool(t, "mkfs.ext4", "-q", "-F", dev, "32M")
	tool(t, "drbdmeta", "--force", "-", "v08", dev, "internal", "create-md")
	old := WipedFile
	WipedFile = filepath.Join(t.TempDir(), "var/lib/scalestore/wiped")
	t.Cleanup(func() { WipedFile = old })

	other := config.WipeDevice{Host: "storage0a", Disk: dev, Serial: "lab-storage0a-data", Size: 64 << 20}
	if code, stderr := runDash(t, wipeCmd(other, `wipefs --all "$d"`).String(), ""); code != 3 ||
		!strings.Contains(stderr, "its SERIAL is empty, not lab-storage0a-data as under [wipe]") {
		t.Fatalf("a disk without the marked serial was not refused: exit %d %s", code, stderr)
	}
	resized := config.WipeDevice{Host: "storage0a", Disk: dev, Size: 32 << 20}
	if code, stderr := runDash(t, wipeCmd(resized, `wipefs --all "$d"`).String(), ""); code != 3 ||
		!strings.Contains(stderr, fmt.Sprintf("its SIZE is %d, not %d", 64<<20, 32<<20)) {
		t.Fatalf("a disk of another size was not refused: exit %d %s", code, stderr)
	}
	if out, _ := exec.Command("wipefs", "--noheadings", "--output", "TYPE", dev).Output(); !strings.Contains(string(out), "drbd") {
		t.Fatalf("a refused wipe changed the disk: signatures now %q", out)
	}

	same := config.WipeDevice{Host: "storage0a", Disk: dev, Size: 64 << 20}
	// the wipe's probe is its record, not the metadata: a disk with another
	// cluster's DRBD metadata named under [wipe] is wiped
	if code, _ := runDash(t, wipeAction(same, "").Unless.String(), ""); code == 0 {
		t.Fatal("the wipe's probe holds before any wipe: a disk with DRBD metadata named under [wipe] would never be wiped")
	}
	if code, stderr := runDash(t, wipeCmd(same, `wipefs --all "$d"`).String(), ""); code != 0 {
		t.Fatalf("the marked disk was not wiped: exit %d %s", code, stderr)
	}
	if out, err := exec.Command("wipefs", "--noheadings", "--output", "TYPE", dev).Output(); err != nil || strings.TrimSpace(string(out)) != "" {
		t.Fatalf("after the wipe %s still has signatures %q (%v)", dev, out, err)
	}
	if out, err := exec.Command("drbdmeta", "-", "v08", dev, "internal", "get-gi").CombinedOutput(); err == nil {
		t.Fatalf("after the wipe drbdmeta still reads metadata on %s: %s", dev, out)
	}
	rec, err := os.ReadFile(WipedFile)
	if err != nil || string(rec) != same.ID()+"\n" {
		t.Fatalf("the wipe was not recorded: %q %v", rec, err)
	}
	tool(t, "mkfs.ext4", "-q", "-F", dev)
	if code, stderr := runDash(t, wipeCmd(same, `wipefs --all "$d"`).String(), ""); code != 3 || !strings.Contains(stderr, "it was wiped once already") {
		t.Fatalf("a second wipe of the same disk was not refused: exit %d %s", code, stderr)
	}
	if code, _ := runDash(t, wipeAction(same, "").Unless.String(), ""); code != 0 {
		t.Fatal("the wipe's probe does not see the recorded wipe: a later apply would run it again")
	}
}

// Discovery, run by dash on loop devices, reads DRBD metadata's generation
// identifiers where a disk carries it, and nothing where it does not.
func TestDiscoveryReadsDRBDGenerations(t *testing.T) {
	dev := loopDev(t, 64<<20)
	discover := func() *Disk {
		t.Helper()
		out, err := exec.Command("dash", "-c", DiscoverScript(Query{Disks: []string{dev}}).String()).Output()
		if err != nil {
			t.Fatalf("discovery: %v", err)
		}
		hf, err := ParseDiscovery(string(out), "VG0", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return hf.Disks[dev]
	}
	if d := discover(); d == nil || !d.Exists || d.Size != 64<<20 || d.DRBDGI != nil {
		t.Fatalf("blank %s read as %+v", dev, d)
	}
	tool(t, "drbdmeta", "--force", "-", "v08", dev, "internal", "create-md")
	tool(t, "drbdmeta", "--force", "-", "v08", dev, "internal", "set-gi", "768E937C16207805:0000000000000000:5949ED0CA772E7A8:5948ED0CA772E7A9:1:1:1:1:0:0:0")
	d := discover()
	if want := []string{"768E937C16207805", "0000000000000000", "5949ED0CA772E7A8", "5948ED0CA772E7A9"}; strings.Join(d.DRBDGI, ":") != strings.Join(want, ":") ||
		!contains(d.Signatures, "drbd") {
		t.Fatalf("DRBD metadata read as %v (%s), signatures %v", d.DRBDGI, d.DRBDRead, d.Signatures)
	}
}
