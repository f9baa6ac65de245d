package steps

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"scalestore/config"
	"scalestore/remote"
)

// Shared probes. Many probes of a host read the same listing (its iSCSI
// sessions, its systemd units, its LVM physical volumes); started one by
// one, each would start that listing's program again, and on a slow host a
// program start costs more than the probe's whole logic. A shared probe
// reads a query's output as one line, its newlines turned into '|' (with
// one at each end), and holds when every needle is in it; "|"+l+"|" is the
// whole line l. Run alone it is an ordinary shell probe; in the batched
// prefetch each distinct query runs once per host, and every probe that
// reads it only matches patterns, inside the shell.
const (
	sharedHead = `q="|$({ `
	sharedTail = `; } 2>/dev/null | tr '\n' '|')"; `
)

// shared builds the probe "test holds of query's output": test is shell
// that reads $q (usually has(...)), starts no program, and is one command
// or one && list (group anything else in { }).
func shared(query remote.Cmd, test string) *remote.Cmd {
	qs := query.String()
	if strings.Contains(qs, sharedTail) || test == "" {
		panic("steps.shared: a query may not contain the probe's own delimiter, and needs a test")
	}
	return &remote.Cmd{Script: sharedHead + qs + sharedTail + test}
}

// has is the test "$q holds every needle".
func has(needles ...string) string {
	var tests []string
	for _, n := range needles {
		tests = append(tests, "case \"$q\" in *"+remote.Quote(n)+"*) ;; *) false ;; esac")
	}
	return strings.Join(tests, " && ")
}

// twice is the test "$q holds the whole line l at least twice": after the
// first "|l", the rest starts a new line and holds l again (the '|' between
// two lines is shared, hence the two patterns).
func twice(l string) string {
	again := remote.Quote(line(l))
	return "case \"${q#*" + remote.Quote("|"+l) + "}\" in " + again + "*|'|'*" + again + "*) ;; *) false ;; esac"
}

// line is a needle that matches a whole line of a shared query.
func line(l string) string { return "|" + l + "|" }

// splitShared takes a shared probe's text apart: its query, and the test
// that reads $q.
func splitShared(text string) (query, test string, ok bool) {
	rest, ok := strings.CutPrefix(text, sharedHead)
	if !ok {
		return "", "", false
	}
	return strings.Cut(rest, sharedTail)
}

// The queries the probes of both roles share, and what they read.

// unitsQuery lists the state of every systemd unit scalestore starts, in one
// systemctl call (a unit a host does not have shows up inactive).
var unitsQuery = remote.Argv(append([]string{"systemctl", "show", "-p", "Id,ActiveState,UnitFileState"}, sharedUnits...)...)

// sharedUnits are the units the shared query asks about.
var sharedUnits = []string{"iscsid.service", "open-iscsi.service", "multipathd.service", "corosync.service", "dlm.service", "lvmlockd.service", lvUnit, storageUnit}

// unitUp: the unit is running and enabled (systemctl show prints Id,
// ActiveState and UnitFileState in that order, a blank line between units).
func unitUp(unit string) *remote.Cmd {
	return shared(unitsQuery, has(line("Id="+unit+"|ActiveState=active|UnitFileState=enabled")))
}

// unitEnabled: the unit starts at boot, whatever it does now (cut $q after
// its ActiveState, then after that line).
func unitEnabled(unit string) string {
	return "{ r=${q#*" + remote.Quote("|Id="+unit+"|ActiveState=") + "}; r=${r#*'|'}; " +
		"case \"$r\" in 'UnitFileState=enabled|'*) ;; *) false ;; esac; }"
}

// sessionsQuery lists the target of each of a client's iSCSI sessions, from
// sysfs (what iscsiadm -m session lists, without starting iscsiadm).
var sessionsQuery = remote.Script("cat /sys/class/iscsi_session/session*/targetname")

// drbdQuery is DRBD 8.4's status of every minor.
var drbdQuery = remote.Argv("cat", "/proc/drbd")

// drbdStatus runs test with $r set to the pair's status line in /proc/drbd
// after "N: cs:" (such as "Connected ro:Primary/Primary ds:UpToDate/UpToDate
// C r-----"), or to "" when DRBD does not list the minor.
func drbdStatus(p config.Pair, test string) string {
	return "{ r=${q#*" + remote.Quote(fmt.Sprintf("|%2d: cs:", p.Num())) + "}; r=${r%%'|'*}; " + test + "; }"
}

// mountsQuery is the kernel's mount table.
var mountsQuery = remote.Argv("cat", "/proc/mounts")

// gfs2Mounted: a GFS2 filesystem is mounted at mp.
func gfs2Mounted(mp string) *remote.Cmd { return shared(mountsQuery, has(" "+mp+" gfs2 ")) }

// notWanted: no systemd target wants the unit (it is not enabled), read from
// /etc/systemd/system without starting systemctl.
func notWanted(unit string) remote.Cmd {
	return remote.Script(`set -- /etc/systemd/system/*.wants/%s; test ! -e "$1"`, unit)
}

// lvmQuery lists every LVM physical volume segment as
// VG:PV:VG-free-extents:VG/LV ("" where there is none), spaces removed.
var lvmQuery = remote.Script("pvs --noheadings --segments --separator : -o vg_name,pv_name,vg_free_count,lv_full_name | tr -d %s", " ")

// pathsQuery lists every multipath path as "map dm-state checker-state".
var pathsQuery = remote.Script("multipathd show paths raw format %s", "%m %t %T")

// fileState is the prefetch's one query for every file a host's plan
// writes: each file's sha256 and mode, as the probe of a WriteFile checks.
func fileState(paths []string) remote.Cmd {
	return remote.Script("sha256sum %s; stat -c %s %s", remote.Argv(paths...), "%a %n", remote.Argv(paths...))
}

// fileTest is the test of fileState's output "the file holds content,
// with that mode" (what the WriteFile probe checks of one file).
func fileTest(path, content string, mode fs.FileMode) string {
	sum := sha256.Sum256([]byte(content))
	return has(line(hex.EncodeToString(sum[:])+"  "+path), line(strconv.FormatUint(uint64(mode.Perm()), 8)+" "+path))
}

// prefetchBuilder writes the batched probe script of one host.
type prefetchBuilder struct {
	b       strings.Builder
	queries map[string]string // query text → its variable
}

// probe adds one probe, answering for keys.
func (pb *prefetchBuilder) probe(text string, keys []string) {
	if query, test, ok := splitShared(text); ok {
		v, seen := pb.queries[query]
		if !seen {
			v = fmt.Sprintf("q%d", len(pb.queries)+1)
			pb.queries[query] = v
			fmt.Fprintf(&pb.b, "%s=\"|$({ %s; } 2>/dev/null </dev/null | tr '\\n' '|')\"\n", v, query)
		}
		text = "q=$" + v + "; " + test
	}
	fmt.Fprintf(&pb.b, "if { %s; } >/dev/null 2>&1 </dev/null; then echo 'ok %s'; fi\n", text, strings.Join(keys, " "))
}
