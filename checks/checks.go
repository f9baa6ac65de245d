// Package checks holds scalestore's preflight: small pure functions over the
// spec and the facts discovery gathered, each returning pass, warn or fail
// with a one-line hint. A failure stops apply before anything changes.
package checks

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"scalestore/config"
	"scalestore/steps"
)

// Status is a check's verdict.
type Status int

const (
	Pass Status = iota
	Warn
	Fail
	// Unknown: the check could not be made (the host could not be read).
	// It never counts as a pass.
	Unknown
)

func (s Status) String() string {
	return [...]string{"pass", "warn", "FAIL", "UNKNOWN"}[s]
}

// MarshalText makes Status a word in JSON.
func (s Status) MarshalText() ([]byte, error) { return []byte(strings.ToLower(s.String())), nil }

// Result is one check on one host (Host is "" for cluster-wide checks).
type Result struct {
	Check  string `json:"check"`
	Host   string `json:"host,omitempty"`
	Status Status `json:"status"`
	Msg    string `json:"msg"`
	Hint   string `json:"hint,omitempty"`
}

// MinDiskBytes is the smallest backing disk accepted (DRBD's internal
// metadata, LVM's and GFS2's own structures and a little data).
const MinDiskBytes = 32 << 20

// MaxClockSkew is the largest clock difference accepted between a host and
// this machine; corosync, DLM and logs need clocks that agree.
const MaxClockSkew = 5 * time.Second

// Preflight runs every check and returns the results: per host in the
// spec's order, then the cluster-wide ones.
func Preflight(s *config.Spec, f *steps.Facts) []Result {
	var rs []Result
	add := func(r Result) { rs = append(rs, r) }
	for _, h := range s.Hosts {
		role := steps.Role(s, h.Name)
		if role == "" {
			continue
		}
		if err := f.Errors[h.Name]; err != nil {
			add(Result{Check: "ssh", Host: h.Name, Status: Fail, Msg: err.Error(),
				Hint: "check the address, port, user and key in the spec, and the host key in known_hosts"})
			continue
		}
		hf := f.Hosts[h.Name]
		if hf == nil {
			continue
		}
		addh := func(r Result) { r.Host = h.Name; add(r) }
		addh(Result{Check: "ssh", Status: Pass, Msg: "connected"})
		addh(checkRoot(hf))
		addh(checkOS(s, hf))
		addh(checkHostname(h.Name, hf))
		addh(checkModules(s, role, hf))
		addh(checkClock(hf))
		if hf.Packages != nil {
			addh(checkPackages(s, role, hf))
		}
		if role == "client" {
			addh(checkMountPoint(s, hf))
		}
		if p, side := s.PairOf(h.Name); side >= 0 {
			addh(checkDisk(s, f, h.Name, p.Halves()[side].Disk, hf))
			for peer, got := range hf.Ports {
				addh(checkReplicationPort(p.Halves()[1-side].Host, peer, got))
			}
		}
	}
	rs = append(rs, checkPairSizes(s, f)...)
	rs = append(rs, checkFencing(s, f)...)
	return rs
}

func checkRoot(hf *steps.HostFacts) Result {
	if hf.UID == 0 {
		return Result{Check: "root", Status: Pass, Msg: "commands run as root"}
	}
	return Result{Check: "root", Status: Fail, Msg: fmt.Sprintf("commands run as uid %d, not root", hf.UID),
		Hint: "log in as root, or set sudo = true for a user with sudo rights"}
}

func checkOS(s *config.Spec, hf *steps.HostFacts) Result {
	switch s.Cluster.Profile {
	case config.ProfileDebian12:
		if hf.OSID == "debian" && hf.OSVersion == "12" {
			return Result{Check: "os", Status: Pass, Msg: hf.OSName + ", kernel " + hf.Kernel}
		}
		return Result{Check: "os", Status: Fail, Msg: fmt.Sprintf("%q is not Debian 12", hf.OSName),
			Hint: "profile debian12 supports Debian 12 (bookworm) only"}
	case config.ProfileCentOS5:
		if (hf.OSID == "centos" || hf.OSID == "rhel") && strings.HasPrefix(hf.OSVersion, "5") {
			return Result{Check: "os", Status: Pass, Msg: hf.OSName}
		}
		if hf.OSID == "" {
			return Result{Check: "os", Status: Warn, Msg: "no /etc/os-release (CentOS 5 has none); assuming CentOS 5",
				Hint: "check /etc/redhat-release says CentOS release 5"}
		}
		return Result{Check: "os", Status: Fail, Msg: fmt.Sprintf("%q is not CentOS 5", hf.OSName), Hint: "profile centos5 is the 2008 stack"}
	}
	return Result{Check: "os", Status: Fail, Msg: "unknown profile"}
}

func checkHostname(name string, hf *steps.HostFacts) Result {
	if hf.Hostname == name {
		return Result{Check: "hostname", Status: Pass, Msg: "uname -n is " + name}
	}
	return Result{Check: "hostname", Status: Fail, Msg: fmt.Sprintf("uname -n is %q, the spec calls it %q", hf.Hostname, name),
		Hint: "DRBD matches its `on` sections by host name: rename the [[host]] or run hostnamectl set-hostname " + name}
}

func checkModules(s *config.Spec, role string, hf *steps.HostFacts) Result {
	var want []string
	switch {
	case s.Cluster.Profile == config.ProfileCentOS5 && role == "storage":
		want = []string{"drbd", "gnbd"}
	case s.Cluster.Profile == config.ProfileCentOS5:
		want = []string{"gnbd", "dm_multipath", "dlm", "gfs2"}
	case role == "storage":
		want = []string{"drbd", "target_core_mod", "target_core_iblock", "iscsi_target_mod"}
	default:
		want = []string{"iscsi_tcp", "dm_multipath", "dlm", "gfs2"}
	}
	var missing []string
	for _, m := range want {
		if !hf.Modules[m] {
			missing = append(missing, m)
		}
	}
	if len(missing) == 0 {
		return Result{Check: "modules", Status: Pass, Msg: "kernel has " + strings.Join(want, ", ")}
	}
	return Result{Check: "modules", Status: Fail, Msg: "kernel " + hf.Kernel + " lacks " + strings.Join(missing, ", "),
		Hint: "install the distribution kernel (linux-image-amd64) and reboot into it"}
}

func checkClock(hf *steps.HostFacts) Result {
	if !hf.HasClock {
		return Result{Check: "clock", Status: Warn, Msg: "could not read the clock"}
	}
	skew := hf.ClockSkew
	if skew < 0 {
		skew = -skew
	}
	if skew <= MaxClockSkew {
		return Result{Check: "clock", Status: Pass, Msg: fmt.Sprintf("clock within %s of this machine", skew.Round(time.Second))}
	}
	return Result{Check: "clock", Status: Warn, Msg: fmt.Sprintf("clock is %s off this machine's", hf.ClockSkew.Round(time.Second)),
		Hint: "run an NTP client (systemd-timesyncd or chrony) on every host"}
}

func checkDisk(s *config.Spec, f *steps.Facts, host, dev string, hf *steps.HostFacts) Result {
	r := Result{Check: "disk " + dev}
	d := hf.Disks[dev]
	if d == nil || !d.Exists {
		r.Status, r.Msg, r.Hint = Fail, dev+" does not exist", "check pair disk paths in the spec (lsblk on "+host+")"
		return r
	}
	if d.Size < MinDiskBytes {
		r.Status, r.Msg, r.Hint = Fail, fmt.Sprintf("%s is %d MiB, below the %d MiB minimum", dev, d.Size>>20, MinDiskBytes>>20), "use a larger disk"
		return r
	}
	p, side := s.PairOf(host)
	own := strings.TrimPrefix(p.Device(), "/dev/")
	u := UseOf(d, own)
	size := fmt.Sprintf("%d MiB", d.Size>>20)
	w, named := s.WipeOf(host, dev)
	now := d.Identity(host)
	if named && !d.Wiped {
		if r, bad := checkWipeIdentity(r, w, now); bad {
			return r
		}
	}
	wipe := named && !d.Wiped && u.Wipeable
	switch {
	case u.Attached && named && !d.Wiped:
		r.Status, r.Msg = Fail, dev+" is attached to "+own+" ("+p.Resource()+") and named under [wipe]: a disk in use is never wiped"
		r.Hint = "remove \"" + w.String() + "\" from [wipe] to keep running on it; to start it afresh, take " + p.Resource() + " down on " + host + " first"
	case u.Blank() && u.Attached:
		r.Status, r.Msg = Pass, dev+" ("+size+") is attached to "+own+" ("+p.Resource()+")"
	case u.Blank() && u.DRBD && !wipe:
		ours, why := PairMetadata(s, f, p, side)
		if !ours {
			r.Status, r.Msg = Fail, dev+" ("+size+") holds DRBD metadata that is not "+p.Resource()+"'s: "+why
			r.Hint = "scalestore attaches only this pair's metadata; name it under [wipe] to erase it (the check shows the entry to paste), or pick another disk"
			if o := otherSignatures(d); o != "" {
				r.Msg += "; the disk also shows signature " + o
			}
			return r
		}
		r.Status, r.Msg = Pass, dev+" ("+size+") holds "+p.Resource()+"'s DRBD metadata ("+why+"): it will be attached as it is"
	case u.Blank():
		r.Status, r.Msg = Pass, dev+" ("+size+") is blank"
	case wipe:
		r.Status, r.Msg, r.Hint = Warn, dev+" ("+now.ID()+") has "+strings.Join(u.Use, "; ")+": it WILL BE WIPED", "listed under [wipe]; remove it there to keep its data"
	default:
		r.Status, r.Msg = Fail, dev+" is in use: "+strings.Join(u.Use, "; ")
		r.Hint = "scalestore never writes to a disk with data; pick another disk, or name it under [wipe] to erase it: " + wipeEntry(now)
		if !now.HasIdentity() {
			r.Hint = "scalestore never writes to a disk with data, and wipes only a disk it can tell by its WWN or serial (this one has neither): pick another disk, or wipe it by hand (wipefs --all " + dev + " on " + host + ")"
		}
		if named && d.Wiped {
			r.Hint = "scalestore wiped it once already (" + steps.WipedFile + " on " + host + " lists " + now.ID() + "), and never wipes a disk twice: erase it by hand if it is to be reused, or pick another disk"
		}
		if !u.Wipeable {
			r.Hint = "unmount it and free it first; a mounted or held disk is never wiped"
		}
	}
	if u.DRBD && wipe {
		r.Msg = dev + " (" + now.ID() + ") holds DRBD metadata"
		if o := otherSignatures(d); o != "" {
			r.Msg += " and signature " + o
		}
		r.Status, r.Msg, r.Hint = Warn, r.Msg+": it WILL BE WIPED", "listed under [wipe]; remove it there to keep its data"
	}
	return r
}

// otherSignatures are the disk's signatures besides DRBD's, comma-separated.
func otherSignatures(d *steps.Disk) string {
	var o []string
	for _, sig := range d.Signatures {
		if sig != "drbd" {
			o = append(o, sig)
		}
	}
	return strings.Join(o, ",")
}

// checkWipeIdentity fails a [wipe] entry that names no identity, or one
// that is not the disk there now; the message shows the disk's identity
// and the entry to paste.
func checkWipeIdentity(r Result, w config.WipeDevice, now config.WipeDevice) (Result, bool) {
	switch {
	case !now.HasIdentity():
		r.Status, r.Msg = Fail, w.Disk+" is named under [wipe] but has no WWN nor serial ("+now.ID()+"): scalestore cannot tell it from another disk given the same name later"
		r.Hint = "wipe it by hand (wipefs --all " + w.Disk + " on " + w.Host + ") and remove it from [wipe], or pick another disk"
	case !w.HasIdentity():
		r.Status, r.Msg = Fail, w.Disk+" is named under [wipe] without its identity; the disk there now is "+now.ID()
		r.Hint = "if this is the disk to erase, write it under [wipe] as: " + wipeEntry(now)
	case (w.WWN != "" && w.WWN != now.WWN) || (w.Serial != "" && w.Serial != now.Serial) || w.Size != now.Size:
		r.Status, r.Msg = Fail, w.Disk+" is not the disk marked for wiping: it is "+now.ID()+", [wipe] names "+w.ID()
		r.Hint = "the disk names changed since it was marked; find the marked disk (lsblk -o NAME,WWN,SERIAL,SIZE on " + w.Host + ") or, if this one is to be erased, write: " + wipeEntry(now)
	default:
		return r, false
	}
	return r, true
}

// wipeEntry is the TOML line that names a disk for wiping.
func wipeEntry(w config.WipeDevice) string {
	return "devices = [" + strconv.Quote(w.String()) + "]"
}

// PairMetadata says whether the DRBD metadata on the disk of p's half side
// is this pair's own, and why: it is when the two halves' metadata share a
// generation identifier (current, bitmap or history, DRBD's own test of
// related data), when the other half is blank (a replaced half, which syncs
// from this one), or when the other half has the pair's DRBD device
// attached (a crashed half rejoining; DRBD itself refuses unrelated data
// when it connects). Anything else is another pair's or another cluster's.
func PairMetadata(s *config.Spec, f *steps.Facts, p config.Pair, side int) (bool, string) {
	me, peer := diskOf(f, p.Halves()[side]), diskOf(f, p.Halves()[1-side])
	other := p.Halves()[1-side]
	switch {
	case me == nil || me.DRBDGI == nil:
		why := "not read"
		if me != nil {
			why = me.DRBDRead
		}
		return false, "its generation identifiers could not be read: " + why
	case peer == nil:
		return false, other.Host + "'s disk was not read, so the two halves cannot be compared"
	case UseOf(peer, strings.TrimPrefix(p.Device(), "/dev/")).Attached:
		return true, other.Host + " has " + p.Resource() + " attached"
	case s.MayWipe(other.Host, other.Disk) && !peer.Wiped && UseOf(peer, "").Wipeable:
		return true, other.Host + "'s disk is named under [wipe]: once wiped, it syncs from this one"
	case peer.DRBDGI != nil:
		for _, a := range me.DRBDGI {
			for _, b := range peer.DRBDGI {
				if sameGI(a, b) {
					return true, "it shares generation " + a + " with " + other.Host
				}
			}
		}
		return false, "its generation identifiers (" + strings.Join(me.DRBDGI, ":") + ") share none with " + other.Host + "'s (" + strings.Join(peer.DRBDGI, ":") + ")"
	case len(peer.Signatures) == 0 && len(peer.Children) == 0 && len(peer.Holders) == 0:
		return true, other.Host + "'s disk is blank (a replaced half: it syncs from this one)"
	}
	return false, other.Host + "'s disk has no DRBD metadata to compare, and is not blank"
}

// sameGI compares two generation identifiers as DRBD does: the lowest bit
// (the primary flag) aside; an unset (zero) one matches nothing.
func sameGI(a, b string) bool {
	x, err1 := strconv.ParseUint(a, 16, 64)
	y, err2 := strconv.ParseUint(b, 16, 64)
	return err1 == nil && err2 == nil && x&^1 != 0 && x&^1 == y&^1
}

// DiskUse says what holds a disk: the one rule shared by preflight and the
// wizard's disk picker.
type DiskUse struct {
	Use      []string // why it is in use; empty when it may be written
	DRBD     bool     // it carries DRBD metadata
	Attached bool     // the pair's own DRBD device sits on it
	Wipeable bool     // in use or with DRBD metadata, but not mounted nor held nor attached: it may be wiped when named under [wipe]
}

// Blank reports a disk that may be written (or is already ours).
func (u DiskUse) Blank() bool { return len(u.Use) == 0 }

// UseOf reads a discovered disk. own is the DRBD device ("drbd0") the pair
// puts on it, whose presence (and DRBD's signature) is what an earlier apply
// left: not a use. Pass "" when no pair is chosen yet.
func UseOf(d *steps.Disk, own string) DiskUse {
	var u DiskUse
	var sigs []string
	for _, sig := range d.Signatures {
		if sig == "drbd" {
			u.DRBD = true
		} else {
			sigs = append(sigs, sig)
		}
	}
	// With DRBD's internal metadata on the disk, the other signatures are
	// those of the data inside the DRBD device (an LVM PV, on a client's
	// map), which starts at the disk's first byte: not a use of the disk.
	if len(sigs) > 0 && !u.DRBD {
		u.Use = append(u.Use, "signature "+strings.Join(sigs, ","))
	}
	var others []string
	for _, c := range append(append([]string{}, d.Children...), d.Holders...) {
		if own != "" && c == own {
			u.Attached = true
		} else if !contains(others, c) {
			others = append(others, c)
		}
	}
	if len(others) > 0 {
		u.Use = append(u.Use, "partitions/holders "+strings.Join(others, ","))
	}
	if len(d.Mounts) > 0 {
		u.Use = append(u.Use, "mounted at "+strings.Join(d.Mounts, ","))
	}
	u.Wipeable = (len(u.Use) > 0 || u.DRBD) && len(d.Mounts) == 0 && len(others) == 0 && !u.Attached
	return u
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func checkPairSizes(s *config.Spec, f *steps.Facts) []Result {
	var rs []Result
	for _, p := range s.Pairs {
		a, b := diskOf(f, p.A), diskOf(f, p.B)
		if a == nil || b == nil || a.Size == 0 || b.Size == 0 {
			continue
		}
		if a.Size != b.Size {
			rs = append(rs, Result{Check: "pair " + p.Resource() + " sizes", Status: Warn,
				Msg:  fmt.Sprintf("%s:%s is %d MiB, %s:%s is %d MiB", p.A.Host, p.A.Disk, a.Size>>20, p.B.Host, p.B.Disk, b.Size>>20),
				Hint: "DRBD uses the smaller size; the rest of the larger disk stays unused"})
		}
	}
	return rs
}

func diskOf(f *steps.Facts, h config.Half) *steps.Disk {
	if hf := f.Hosts[h.Host]; hf != nil {
		return hf.Disks[h.Disk]
	}
	return nil
}

// Failed reports whether any result is a failure.
func Failed(rs []Result) bool {
	for _, r := range rs {
		if r.Status == Fail || r.Status == Unknown {
			return true
		}
	}
	return false
}

// checkPackages: every package of the role is installed, or the package
// manager has a version to install.
func checkPackages(s *config.Spec, role string, hf *steps.HostFacts) Result {
	r := Result{Check: "packages"}
	var installable, missing []string
	for _, p := range steps.Packages(s.Cluster.Profile, role) {
		switch hf.Packages[p] {
		case steps.PkgInstalled:
		case steps.PkgInstallable:
			installable = append(installable, p)
		default:
			missing = append(missing, p)
		}
	}
	switch {
	case len(missing) > 0 && s.Cluster.Profile == config.ProfileCentOS5:
		r.Status, r.Msg = Warn, "not installed: "+strings.Join(missing, ", ")+" (apply runs yum install; yum is not asked beforehand)"
		r.Hint = "make sure yum can reach a repository with them"
	case len(missing) > 0:
		r.Status, r.Msg = Fail, "not installed, and apt has no candidate for: "+strings.Join(missing, ", ")
		r.Hint = "add a Debian 12 repository with them to /etc/apt/sources.list and run apt-get update (or install them by hand)"
	case len(installable) > 0:
		r.Status, r.Msg = Pass, "apply installs "+strings.Join(installable, ", ")+" (apt has them); the rest is installed"
	default:
		r.Status, r.Msg = Pass, "installed: "+strings.Join(steps.Packages(s.Cluster.Profile, role), ", ")
	}
	return r
}

// checkReplicationPort: the pair's other half answers on its DRBD port
// ("refused" is an answer: nothing listens there before DRBD is up).
func checkReplicationPort(peerHost, peer, got string) Result {
	addr, port, _ := strings.Cut(peer, " ")
	r := Result{Check: "replication"}
	where := fmt.Sprintf("%s (%s port %s)", peerHost, addr, port)
	switch got {
	case steps.PortOpen:
		r.Status, r.Msg = Pass, where+" is listening"
	case steps.PortRefused:
		r.Status, r.Msg = Pass, where+" answers (nothing listens yet, or DRBD is connected)"
	case steps.PortUntested:
		r.Status, r.Msg = Warn, "could not try "+where+": no bash or timeout on this host"
	case steps.PortTimeout:
		r.Status, r.Msg = Fail, fmt.Sprintf("%s does not answer within %d s", where, steps.PortWait)
		r.Hint = "is the peer up? open TCP " + port + " both ways between the halves (a firewall dropping it looks like this)"
	default:
		r.Status, r.Msg = Fail, where+": "+got
		r.Hint = "check the replication addresses and routes between the halves"
	}
	return r
}
