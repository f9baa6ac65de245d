package steps

import (
	"bufio"
	"regexp"
	"strconv"
	"strings"
)

// DRBDDevice is one minor's line group in /proc/drbd (DRBD 8.4 format).
type DRBDDevice struct {
	Minor      int
	CState     string // Connected, SyncSource, SyncTarget, WFConnection, StandAlone, …
	Role       string // local role, Primary or Secondary
	PeerRole   string
	DiskState  string // UpToDate, Inconsistent, Diskless, …
	PeerDisk   string
	OutOfSync  int64 // oos: KiB
	SyncedPct  float64
	HasSync    bool   // a resync is running and the progress fields are set
	Finish     string // "0:00:31"
	SpeedKiBps int64
	// Suspended: the I/O flags start with "s" (not "r"): DRBD holds every
	// request of the device. FencingSuspended: the "F" flag, suspended
	// while the fence-peer handler runs or after it failed.
	Suspended, FencingSuspended bool
}

var (
	reProcDev = regexp.MustCompile(`^\s*(\d+): cs:(\S+) (?:ro|st):(\S+)/(\S+) ds:(\S+)/(\S+)`) // "st:" before DRBD 8.3
	// the I/O flags after the disk states and the protocol (none when
	// StandAlone): r or s (suspended), then a, p, u, F (suspended for
	// fencing, 8.4) and N, "-" for each one not set (drbd_proc.c)
	reProcFlags  = regexp.MustCompile(` ds:\S+/\S+\s+(?:[ABC]\s+)?([rs])([-apuFN]*)\s*$`)
	reProcUncfg  = regexp.MustCompile(`^\s*(\d+): cs:(Unconfigured)`)
	reProcOOS    = regexp.MustCompile(`\boos:(\d+)`)
	reProcSynced = regexp.MustCompile(`sync'ed:\s*([0-9.]+)%`)
	reProcFinish = regexp.MustCompile(`finish:\s*(\S+)\s+speed:\s*([0-9,]+)`)
)

// ParseProcDRBD reads /proc/drbd (8.4) into one entry per minor. Lines it
// does not know are skipped: the kernel's format has grown over the years.
func ParseProcDRBD(text string) []DRBDDevice {
	var out []DRBDDevice
	var cur *DRBDDevice
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if m := reProcDev.FindStringSubmatch(line); m != nil {
			minor, _ := strconv.Atoi(m[1])
			out = append(out, DRBDDevice{Minor: minor, CState: m[2], Role: m[3], PeerRole: m[4], DiskState: m[5], PeerDisk: m[6]})
			cur = &out[len(out)-1]
			if f := reProcFlags.FindStringSubmatch(line); f != nil {
				cur.Suspended = f[1] == "s"
				cur.FencingSuspended = cur.Suspended && strings.Contains(f[2], "F")
			}
			continue
		}
		if m := reProcUncfg.FindStringSubmatch(line); m != nil {
			minor, _ := strconv.Atoi(m[1])
			out = append(out, DRBDDevice{Minor: minor, CState: m[2]})
			cur = &out[len(out)-1]
			continue
		}
		if cur == nil {
			continue
		}
		if m := reProcOOS.FindStringSubmatch(line); m != nil {
			cur.OutOfSync, _ = strconv.ParseInt(m[1], 10, 64)
		}
		if m := reProcSynced.FindStringSubmatch(line); m != nil {
			if v, err := strconv.ParseFloat(m[1], 64); err == nil && v >= 0 && v <= 100 {
				cur.SyncedPct = v
				cur.HasSync = true
			}
		}
		if m := reProcFinish.FindStringSubmatch(line); m != nil {
			cur.Finish = m[1]
			cur.SpeedKiBps, _ = strconv.ParseInt(strings.ReplaceAll(m[2], ",", ""), 10, 64)
		}
	}
	return out
}

// Device returns the entry of a minor.
func findMinor(devs []DRBDDevice, minor int) (DRBDDevice, bool) {
	for _, d := range devs {
		if d.Minor == minor {
			return d, true
		}
	}
	return DRBDDevice{}, false
}
