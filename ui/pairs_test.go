package ui

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// On the pairs screen of an add-pair run, the ROLE column is as wide as its
// widest value ("pair r0 · a (kept)"): every DISK starts under its header.
func TestPairsColumnsLineUp(t *testing.T) {
	for _, sz := range sizes {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) {
			t.Chdir(filepath.Dir(copyFile(t, "grow.toml")))
			f := newFakeHosts(t)
			h := newTestApp(t, "grow.toml", f).resize(sz[0], sz[1])
			a := h.app()
			h.keys("a", "tab")
			h.waitFor("discovery", a.discover.ready)
			h.keys("enter")
			h.keys("s", "down", "enter") // storage2a: vdb
			if a.screen != scrPairs || a.pairs.as.roleOf("storage2a") != "pair r2 · a" {
				t.Fatalf("not on the pairs with storage2a picked:\n%s", h.screen())
			}
			s := h.screen()
			golden(t, fmt.Sprintf("pairs-add-%dx%d", sz[0], sz[1]), s)
			if strings.Contains(s, "more lines") {
				s = wholeBody(h, "pgdown")
			}
			lines := strings.Split(s, "\n")
			col := -1
			for _, l := range lines {
				if i := strings.Index(l, "DISK"); i >= 0 && strings.Contains(l, "ROLE") {
					col = len([]rune(l[:i]))
				}
			}
			if col < 0 {
				t.Fatalf("no header:\n%s", s)
			}
			rows := 0
			for _, l := range lines {
				for _, disk := range []string{"/dev/vdb", "blank: "} {
					if i := strings.Index(l, disk); i >= 0 && strings.HasPrefix(strings.TrimLeft(l, " >"), "storage") {
						rows++
						if c := len([]rune(l[:i])); c != col {
							t.Errorf("%q starts at column %d, its header at %d:\n%s", strings.TrimSpace(l), c, col, s)
						}
					}
				}
			}
			if rows != 6 {
				t.Fatalf("%d rows with a disk, want the 6 storage servers:\n%s", rows, s)
			}
		})
	}
}

// At 60x15 the pairs of an add-pair run do not fit: the cursor's row stays
// in sight as it moves, from the first host to the last.
func TestPairsCursorStaysInSight(t *testing.T) {
	t.Chdir(filepath.Dir(copyFile(t, "grow.toml")))
	h := newTestApp(t, "grow.toml", newFakeHosts(t)).resize(60, 15)
	a := h.app()
	h.keys("a", "tab")
	h.waitFor("discovery", a.discover.ready)
	h.keys("enter")
	if s := h.screen(); !strings.Contains(s, "more lines") || !strings.Contains(s, "> storage2a") {
		t.Fatalf("the cursor starts out of sight:\n%s", s)
	}
	for _, step := range []struct{ key, host string }{{"down", "storage2b"}, {"up", "storage2a"}} {
		h.keys(step.key)
		if s := h.screen(); !strings.Contains(s, "> "+step.host) {
			t.Fatalf("after %s the cursor (%s) is out of sight:\n%s", step.key, step.host, s)
		}
	}
	h.keys("s") // the disk picker of storage2a: its cursor is in sight too
	if s := h.screen(); !strings.Contains(s, "> /dev/vdb") {
		t.Fatalf("the disk cursor is out of sight:\n%s", s)
	}
}

// At 60 columns the disk picker's states (a DRBD disk, one held by a
// running resource: real captures) wrap under their column, never cut.
func TestDiskPickerWrapsAt60Columns(t *testing.T) {
	for _, c := range []string{"discover-storage0a-drbd-ext4-foreign.txt", "discover-storage0a-drbd-attached.txt"} {
		f := newFakeHosts(t)
		f.disks["storage0a"] = capture(t, c)
		h, _ := atDiscovery(t, f)
		h.resize(60, 24)
		a := h.app()
		h.waitFor("every host read", a.discover.ready)
		h.keys("enter", "s")
		if a.pairs.picking != "storage0a" {
			t.Fatalf("%s: no picker:\n%s", c, h.screen())
		}
		s := h.screen()
		body := s[:strings.LastIndex(s, "\n")] // the key-hint bar may cut its end
		if strings.Contains(body, "…") {
			t.Errorf("%s: a line is cut:\n%s", c, s)
		}
		for _, d := range a.pairs.disks {
			if !strings.Contains(squeeze(body), squeeze(d.path+" "+sizeText(d.size)+" "+d.label())) {
				t.Errorf("%s: %s's state %q cannot be read:\n%s", c, d.path, d.label(), s)
			}
		}
	}
}

// The pairs' keys do not all fit in the key-hint bar at 80 columns: the
// bar ends with "? all keys" (not "…"), ? lists every key with what it
// does, and the next key goes back to the screen.
func TestAllKeysWhenTheBarIsFull(t *testing.T) {
	h := atPairs(t)
	a := h.app()
	bar := func() string { s := strings.Split(h.screen(), "\n"); return s[len(s)-1] }
	if b := bar(); strings.Contains(b, "…") || !strings.Contains(b, "? all keys") {
		t.Fatalf("the key-hint bar is cut with no way to see the rest: %q", b)
	}
	h.keys("?")
	s := h.screen()
	for _, k := range a.pairs.help() {
		if k.Help().Key != "" && !strings.Contains(s, k.Help().Key+"  "+k.Help().Desc) {
			t.Errorf("? does not list %q:\n%s", k.Help().Key+" "+k.Help().Desc, s)
		}
	}
	h.keys("down")
	if s := h.screen(); !strings.Contains(s, "Pairs and clients") || a.pairs.cursor != 0 {
		t.Fatalf("the key after ? did not go back to the screen (or moved its cursor):\n%s", s)
	}
}
