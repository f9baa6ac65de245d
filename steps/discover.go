package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"scalestore/config"
	"scalestore/remote"
)

// Disk is what discovery saw of a backing disk named in the spec.
type Disk struct {
	Path       string
	Exists     bool
	Size       int64    // bytes
	WWN        string   // lsblk's WWN ("" when the disk has none)
	Serial     string   // lsblk's SERIAL ("" when the disk has none)
	Signatures []string // wipefs types, e.g. "ext4", "drbd"
	Children   []string // partitions and devices stacked on it
	Mounts     []string // mount points of it or its children
	Holders    []string // /sys/class/block/X/holders
	// DRBDGI are the generation identifiers of DRBD metadata on the disk
	// (current, bitmap, two history), as drbdmeta get-gi reads them; nil
	// when there is none or it could not be read (DRBDRead says why).
	DRBDGI   []string
	DRBDRead string
	// Wiped: the host's WipedFile lists the disk's identity (scalestore
	// wiped it once, and never will again).
	Wiped bool
}

// Identity is the disk's identity as a [wipe] entry records it.
func (d *Disk) Identity(host string) config.WipeDevice {
	w := config.WipeDevice{Host: host, Disk: d.Path, Size: d.Size}
	if config.ValidIdent(d.WWN) {
		w.WWN = d.WWN
	}
	if config.ValidIdent(d.Serial) {
		w.Serial = d.Serial
	}
	return w
}

// discoverModules are the kernel modules checked per role.
func DiscoverModules(role string, profile string) []string {
	if profile == config.ProfileCentOS5 {
		if role == "storage" {
			return []string{"drbd", "gnbd"}
		}
		return []string{"gnbd", "dm_multipath", "dlm", "gfs2"}
	}
	if role == "storage" {
		return debStorageMods
	}
	return debClientMods
}

// Query is what discovery asks of one host beyond its OS, kernel and LVM:
// kernel modules, backing disks, the stack's packages (installed, or can
// the package manager install them), and the replication peers it must
// reach.
type Query struct {
	Profile  string
	Modules  []string
	Disks    []string
	Packages []string
	Peers    []Peer
	// MountPoint (clients): what is mounted there and fstab's lines for it.
	MountPoint string
	// Agent is the fence agent's path, and Fence the targets it asks the
	// power status of (FenceTargets of the host).
	Agent string
	Fence []FenceQuery
}

// FenceQuery is a fence target and the agent's options for it.
type FenceQuery struct {
	Target  string
	Options map[string]string
}

// Peer is the other half of a pair, where its DRBD listens.
type Peer struct {
	Addr string
	Port int
}

// PortWait is how long discovery waits, in seconds, for a replication
// peer's port. It counts bash's own start too: on a loaded host (an emulated
// one while another operator's run connects to it) 3 s was seen to pass
// before a healthy peer's refusal came back, and preflight failed.
const PortWait = 10

// DiscoverScript is the one read-only command discovery runs on a host: it
// prints @@-headed sections that ParseDiscovery reads.
func DiscoverScript(q Query) remote.Cmd {
	var b strings.Builder
	// shell builtins where they do: each program started costs much on a
	// slow (emulated) host, and every host runs this
	b.WriteString(`echo @@os; while IFS= read -r l || [ -n "$l" ]; do printf '%s\n' "$l"; done </etc/os-release 2>/dev/null; `)
	b.WriteString(`echo @@hostname; read -r l </proc/sys/kernel/hostname && echo "$l"; echo @@kernel; read -r l </proc/sys/kernel/osrelease && echo "$l"; `)
	b.WriteString(`echo @@uid; while read -r k r e l; do [ "$k" = Uid: ] && echo "$e"; done </proc/self/status; echo @@clock; date +%s; `)
	b.WriteString("echo @@modules; for m in " + remote.Join(q.Modules...) + `; do if [ -d /sys/module/$m ] || modinfo -n $m >/dev/null 2>&1; then echo $m; fi; done; `)
	b.WriteString("echo @@pvs; pvs --reportformat json -o pv_name,vg_name 2>/dev/null; ")
	for _, d := range q.Disks {
		dq := remote.Quote(d)
		b.WriteString("echo @@disk " + dq + "; if [ -b " + dq + " ]; then lsblk -J -b -o NAME,PATH,SIZE,TYPE,FSTYPE,MOUNTPOINT,WWN,SERIAL " + dq +
			"; echo @@wipefs; w=$(wipefs -J " + dq + ` 2>/dev/null); echo "$w"; echo @@holders; d=$(readlink -f ` + dq + `); h=$(ls "/sys/class/block/${d##*/}/holders"); echo "$h"; ` +
			// the generation identifiers of DRBD metadata not attached here:
			// get-gi reads them even from a crashed half's unclean metadata,
			// which dump-md refuses
			`echo @@drbdgi; case "$h $w" in ' '*'"type": "drbd"'*) if command -v drbdmeta >/dev/null; then drbdmeta - v08 ` + dq +
			` internal get-gi 2>&1; echo "rc=$?"; else echo rc=127; fi ;; esac; ` +
			"echo @@wiped; cat " + remote.Quote(WipedFile) + " 2>/dev/null; fi; ")
	}
	if len(q.Packages) > 0 {
		pkgs := remote.Join(q.Packages...)
		b.WriteString("echo @@want; echo " + pkgs + "; ")
		if q.Profile == config.ProfileCentOS5 {
			// installed or not; yum is not asked (slow, and often offline)
			b.WriteString("echo @@packages; rpm -q --qf '%{NAME} ii \\n' " + pkgs + " 2>/dev/null | grep ' ii $'; ")
		} else {
			// the installed ones, then apt's candidate for the others
			b.WriteString("echo @@packages; i=$(dpkg-query -W -f '${Package} ${db:Status-Abbrev}\\n' " + pkgs + " 2>/dev/null); echo \"$i\"; " +
				"m=; for p in " + pkgs + `; do case " $(echo $i) " in *" $p ii "*) ;; *) m="$m $p" ;; esac; done; ` +
				`echo @@candidates; [ -z "$m" ] || apt-cache policy $m 2>/dev/null; `)
		}
	}
	for _, peer := range q.Peers {
		ap := remote.Join(peer.Addr, strconv.Itoa(peer.Port))
		b.WriteString("echo @@port " + ap + "; timeout " + strconv.Itoa(PortWait) +
			" bash -c 'exec 3<>\"/dev/tcp/$1/$2\"' sh " + ap + ` 2>&1; echo "rc=$?"; `)
	}
	if q.MountPoint != "" {
		mp := remote.Quote(q.MountPoint)
		// awk on both files: CentOS 5 has no findmnt
		b.WriteString("echo @@mounted; awk -v mp=" + mp + ` '$2 == mp { print $1, $3 }' /proc/mounts; echo "rc=$?"; ` +
			"echo @@fstab; awk -v mp=" + mp + ` '$1 !~ /^#/ && $2 == mp { print $1, $3 }' /etc/fstab; echo "rc=$?"; `)
	}
	b.WriteString(fenceScript(q.Agent, q.Fence))
	b.WriteString("true")
	return remote.Cmd{Script: b.String()}
}

// A package's state, as discovery saw it.
const (
	PkgInstalled   = "installed"
	PkgInstallable = "installable"
	PkgMissing     = "missing"
)

// parseAptPolicy reads "apt-cache policy P..." into each package's candidate
// version ("(none)" when apt has none).
func parseAptPolicy(text string) map[string]string {
	out := map[string]string{}
	name := ""
	for _, l := range strings.Split(text, "\n") {
		switch {
		case l != "" && l[0] != ' ' && strings.HasSuffix(l, ":"):
			name = strings.TrimSuffix(l, ":")
			out[name] = ""
		case name != "" && strings.HasPrefix(strings.TrimSpace(l), "Candidate:"):
			out[name] = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "Candidate:"))
		}
	}
	return out
}

// A replication port's reachability, as discovery saw it.
const (
	PortOpen     = "open"    // something listens (DRBD, connected or waiting)
	PortRefused  = "refused" // the host answered: nothing listens yet
	PortTimeout  = "timeout" // no answer: dropped on the way, or the host is down
	PortUntested = "untested"
)

// portOutcome reads bash's /dev/tcp attempt: its messages, then "rc=N".
func portOutcome(text string) string {
	lines := strings.Split(strings.TrimSpace(text), "\n")
	rc := strings.TrimPrefix(lines[len(lines)-1], "rc=")
	msg := strings.TrimSpace(strings.Join(lines[:len(lines)-1], " "))
	switch {
	case rc == "0":
		return PortOpen
	case rc == "124":
		return PortTimeout
	case strings.Contains(msg, "Connection refused"):
		return PortRefused
	case rc == "127":
		return PortUntested
	}
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	if msg == "" {
		msg = "exit " + rc
	}
	return "unreachable: " + msg
}

// ParseDiscovery reads the output of DiscoverScript.
func ParseDiscovery(out string, vg string, now time.Time) (*HostFacts, error) {
	f := &HostFacts{Disks: map[string]*Disk{}, Modules: map[string]bool{}, UID: -1}
	var disk *Disk
	section := ""
	var buf []string
	flush := func() error {
		text := strings.Join(buf, "\n")
		buf = nil
		if disk == nil && (section == "wipefs" || section == "holders" || section == "drbdgi" || section == "wiped") {
			return nil // a disk's sub-sections without its @@disk header
		}
		switch {
		case section == "os":
			kv := parseOSRelease(text)
			f.OSID, f.OSVersion, f.OSName = kv["ID"], kv["VERSION_ID"], kv["PRETTY_NAME"]
		case section == "hostname":
			f.Hostname = strings.TrimSpace(text)
		case section == "kernel":
			f.Kernel = strings.TrimSpace(text)
		case section == "uid":
			if n, err := strconv.Atoi(strings.TrimSpace(text)); err == nil {
				f.UID = n
			}
		case section == "clock":
			if n, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64); err == nil {
				f.ClockSkew = time.Unix(n, 0).Sub(now.Truncate(time.Second))
				f.HasClock = true
			}
		case section == "modules":
			for _, m := range strings.Fields(text) {
				f.Modules[m] = true
			}
		case section == "pvs":
			pvs, err := ParsePVs(text)
			if err != nil {
				return fmt.Errorf("pvs: %w", err)
			}
			for _, pv := range pvs {
				if pv.VG != vg && pv.VG != "" && !strings.HasPrefix(pv.Name, "/dev/mapper/mpath") {
					f.SystemPVs = append(f.SystemPVs, pv.Name)
				}
			}
		case strings.HasPrefix(section, "disk "):
			if strings.TrimSpace(text) == "" {
				return nil
			}
			devs, err := ParseLsblk(text)
			if err != nil {
				return fmt.Errorf("lsblk %s: %w", disk.Path, err)
			}
			if len(devs) > 0 {
				disk.Exists = true
				disk.Size = devs[0].Size
				disk.WWN, disk.Serial = devs[0].WWN, devs[0].Serial
				for _, c := range devs[0].Children {
					disk.Children = append(disk.Children, c.Name)
				}
				for _, d := range devs[0].walk() {
					if d.MountPoint != "" {
						disk.Mounts = append(disk.Mounts, d.MountPoint)
					}
				}
				if devs[0].FSType != "" {
					disk.Signatures = append(disk.Signatures, devs[0].FSType)
				}
			}
		case section == "wipefs":
			sigs, err := ParseWipefs(text)
			if err != nil {
				return fmt.Errorf("wipefs %s: %w", disk.Path, err)
			}
			for _, s := range sigs {
				if !contains(disk.Signatures, s) {
					disk.Signatures = append(disk.Signatures, s)
				}
			}
		case section == "holders":
			disk.Holders = strings.Fields(text)
		case section == "drbdgi":
			disk.DRBDGI, disk.DRBDRead = ParseDRBDGI(text)
		case section == "wiped":
			id := disk.Identity("")
			disk.Wiped = id.HasIdentity() && contains(strings.Split(text, "\n"), id.ID())
		case section == "want":
			f.Packages = map[string]string{}
			for _, p := range strings.Fields(text) {
				f.Packages[p] = PkgMissing
			}
		case section == "packages":
			for _, l := range strings.Split(text, "\n") {
				if name, status, ok := strings.Cut(l, " "); ok && strings.HasPrefix(status, "ii") && f.Packages != nil {
					f.Packages[name] = PkgInstalled
				}
			}
		case section == "candidates":
			for name, cand := range parseAptPolicy(text) {
				if f.Packages != nil && f.Packages[name] == PkgMissing && cand != "" && cand != "(none)" {
					f.Packages[name] = PkgInstallable
				}
			}
		case section == "mounted":
			f.MountPoint.Mounted, f.MountPoint.Err = entries(text, "/proc/mounts")
		case section == "fstab":
			if f.MountPoint.Err == nil {
				f.MountPoint.Fstab, f.MountPoint.Err = entries(text, "/etc/fstab")
				f.MountPoint.Read = f.MountPoint.Err == nil
			}
		case strings.HasPrefix(section, "fence "):
			if f.Fence == nil {
				f.Fence = map[string]FenceStatus{}
			}
			f.Fence[strings.Trim(strings.TrimPrefix(section, "fence "), "'")] = ParseFenceStatus(text)
		case strings.HasPrefix(section, "port "):
			if f.Ports == nil {
				f.Ports = map[string]string{}
			}
			f.Ports[strings.TrimPrefix(section, "port ")] = portOutcome(text)
		}
		return nil
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "@@") {
			if err := flush(); err != nil {
				return nil, err
			}
			section = strings.TrimPrefix(line, "@@")
			if strings.HasPrefix(section, "disk ") {
				p := strings.Trim(strings.TrimPrefix(section, "disk "), "'")
				disk = &Disk{Path: p}
				f.Disks[p] = disk
			}
			continue
		}
		buf = append(buf, line)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	sort.Strings(f.SystemPVs)
	return f, nil
}

// entries reads awk's "DEVICE TYPE" lines for the mount point, then
// "rc=N"; a failed read is an error, never "nothing there".
func entries(text, file string) ([][]string, error) {
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if rc := lines[len(lines)-1]; rc != "rc=0" {
		return nil, fmt.Errorf("could not read %s (%s)", file, strings.Join(lines, " "))
	}
	var out [][]string
	for _, l := range lines[:len(lines)-1] {
		if f := strings.Fields(l); len(f) == 2 {
			out = append(out, f)
		}
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func parseOSRelease(text string) map[string]string {
	kv := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		} else {
			v = strings.Trim(v, `'"`)
		}
		kv[k] = v
	}
	return kv
}

// BlockDev is one device of `lsblk -J -b`.
type BlockDev struct {
	Name       string     `json:"name"`
	Path       string     `json:"path"`
	Size       int64      `json:"size"`
	Type       string     `json:"type"`
	FSType     string     `json:"fstype"`
	MountPoint string     `json:"mountpoint"`
	WWN        string     `json:"wwn"`
	Serial     string     `json:"serial"`
	Children   []BlockDev `json:"children"`
}

func (d BlockDev) walk() []BlockDev {
	out := []BlockDev{d}
	for _, c := range d.Children {
		out = append(out, c.walk()...)
	}
	return out
}

// ParseLsblk reads `lsblk -J -b -o NAME,PATH,SIZE,TYPE,FSTYPE,MOUNTPOINT`.
func ParseLsblk(text string) ([]BlockDev, error) {
	var v struct {
		BlockDevices []BlockDev `json:"blockdevices"`
	}
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		return nil, err
	}
	return v.BlockDevices, nil
}

// ParseDRBDGI reads `drbdmeta - v08 DEV internal get-gi; echo "rc=$?"`:
// the four generation identifiers (current, bitmap, history 1 and 2),
// or nil and what drbdmeta said when it found no metadata it could read.
func ParseDRBDGI(text string) (gi []string, read string) {
	if strings.TrimSpace(text) == "" {
		return nil, "not read (no DRBD signature, or the disk is held)"
	}
	lines := strings.Split(strings.TrimSpace(text), "\n")
	rc := strings.TrimPrefix(lines[len(lines)-1], "rc=")
	msg := strings.TrimSpace(strings.Join(lines[:len(lines)-1], " "))
	if rc == "0" {
		if f := strings.Split(msg, ":"); len(f) >= 4 {
			for _, g := range f[:4] {
				if _, err := strconv.ParseUint(g, 16, 64); err != nil {
					return nil, "unreadable get-gi output: " + msg
				}
			}
			return f[:4], ""
		}
		return nil, "unreadable get-gi output: " + msg
	}
	switch {
	case rc == "127":
		return nil, "drbdmeta is not installed (drbd-utils)"
	case msg == "":
		return nil, "no DRBD metadata (drbdmeta exit " + rc + ")"
	}
	return nil, msg + " (drbdmeta exit " + rc + ")"
}

// ParseWipefs reads `wipefs -J DEV`: the signature types found. No output
// means no signature.
func ParseWipefs(text string) ([]string, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	var v struct {
		Signatures []struct {
			Type string `json:"type"`
		} `json:"signatures"`
	}
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		return nil, err
	}
	var out []string
	for _, s := range v.Signatures {
		out = append(out, s.Type)
	}
	return out, nil
}

// PV is one physical volume of `pvs --reportformat json`.
type PV struct {
	Name string `json:"pv_name"`
	VG   string `json:"vg_name"`
}

// ParsePVs reads `pvs --reportformat json -o pv_name,vg_name`. No output
// (no LVM on the host) means no PVs.
func ParsePVs(text string) ([]PV, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	var v struct {
		Report []struct {
			PV []PV `json:"pv"`
		} `json:"report"`
	}
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		return nil, err
	}
	var out []PV
	for _, r := range v.Report {
		out = append(out, r.PV...)
	}
	return out, nil
}

// Discover gathers every host's facts in parallel, one command per host.
// A host that cannot be reached or read has its error in Errors.
func Discover(ctx context.Context, s *config.Spec, hosts HostSource, parallel int) *Facts {
	return DiscoverMemo(ctx, s, hosts, parallel, nil)
}

// DiscoverMemo is Discover that does not ask the fence agent again for a
// check m says passed lately (FenceFresh), and notes in m the ones that
// pass now (apply's preflight; nil m: every check runs).
func DiscoverMemo(ctx context.Context, s *config.Spec, hosts HostSource, parallel int, m *FenceMemo) *Facts {
	f := &Facts{Hosts: map[string]*HostFacts{}, Errors: map[string]error{}}
	var names []string
	for _, h := range s.Hosts {
		if role(s, h.Name) != "" {
			names = append(names, h.Name)
		}
	}
	res := remote.FanOut(ctx, names, parallel, func(ctx context.Context, name string) (*HostFacts, error) {
		h, err := hosts(ctx, name)
		if err != nil {
			return nil, err
		}
		var disks []string
		if p, side := s.PairOf(name); side >= 0 {
			disks = append(disks, p.Halves()[side].Disk)
		}
		return discoverHost(ctx, h, s, DiscoverModules(role(s, name), s.Cluster.Profile), disks, m)
	})
	for name, o := range res {
		if o.Err != nil {
			f.Errors[name] = o.Err
			continue
		}
		f.Hosts[name] = o.Value
		m.record(s, name, o.Value.Fence)
	}
	return f
}

// role is "storage", "client" or "" (a host the spec lists but no pair or
// client uses, such as a spare).
func role(s *config.Spec, host string) string {
	if _, side := s.PairOf(host); side >= 0 {
		return "storage"
	}
	for _, c := range s.Clients {
		if c.Host == host {
			return "client"
		}
	}
	return ""
}

// Role is exported for checks and the UI.
func Role(s *config.Spec, host string) string { return role(s, host) }

// AllDisks, passed as DiscoverHost's disks, reads every whole disk of the
// host (the wizard's case: no role or disk is chosen yet).
var AllDisks = []string{"*"}

var listDisksCmd = remote.Argv("lsblk", "-J", "-b", "-d", "-o", "NAME,PATH,SIZE,TYPE")

// DiscoverHost reads one host: the facts of DiscoverScript, for the given
// kernel modules and disks. Read-only.
func DiscoverHost(ctx context.Context, h remote.Host, s *config.Spec, mods, disks []string) (*HostFacts, error) {
	return discoverHost(ctx, h, s, mods, disks, nil)
}

func discoverHost(ctx context.Context, h remote.Host, s *config.Spec, mods, disks []string, m *FenceMemo) (*HostFacts, error) {
	if len(disks) == 1 && disks[0] == "*" {
		res, err := h.Run(ctx, listDisksCmd, remote.RunOptions{Timeout: ReadTimeout})
		if err != nil {
			return nil, fmt.Errorf("list disks of %s: %w", h.Name(), err)
		}
		devs, err := ParseLsblk(string(res.Stdout))
		if err != nil {
			return nil, fmt.Errorf("list disks of %s: %w", h.Name(), err)
		}
		disks = nil
		for _, d := range devs {
			if d.Type == "disk" && d.Path != "" {
				disks = append(disks, d.Path)
			}
		}
	}
	vg := s.Volume.VG
	if vg == "" {
		vg = config.DefaultVG
	}
	q := Query{Profile: s.Cluster.Profile, Modules: mods, Disks: disks,
		Packages: HostPackages(s, role(s, h.Name())), Peers: peersOf(s, h.Name())}
	var memo map[string]FenceStatus
	if s.Fencing.On() {
		q.Agent = AgentPath(s)
		q.Fence, memo = fenceQueries(s, h.Name(), m)
	}
	if role(s, h.Name()) == "client" {
		q.MountPoint = s.Volume.MountPoint
	}
	out, err := h.Run(ctx, DiscoverScript(q), remote.RunOptions{Timeout: ReadTimeout})
	if err != nil {
		return nil, fmt.Errorf("discover %s: %w", h.Name(), err)
	}
	hf, err := ParseDiscovery(string(out.Stdout), vg, time.Now())
	if err != nil || len(memo) == 0 {
		return hf, err
	}
	if hf.Fence == nil {
		hf.Fence = map[string]FenceStatus{}
	}
	for t, st := range memo {
		hf.Fence[t] = st
	}
	return hf, nil
}

// Packages are the stack's packages a host of the role needs.
func Packages(profile, role string) []string {
	switch {
	case role == "storage" && profile == config.ProfileCentOS5:
		return c5StoragePkgs
	case role == "client" && profile == config.ProfileCentOS5:
		return c5ClientPkgs
	case role == "storage":
		return debStoragePkgs
	case role == "client":
		return debClientPkgs
	}
	return nil
}

// peersOf is where the other half of the host's pair listens for DRBD.
func peersOf(s *config.Spec, host string) []Peer {
	p, side := s.PairOf(host)
	if side < 0 {
		return nil
	}
	other := p.Halves()[1-side]
	return []Peer{{Addr: s.Host(other.Host).ReplicationAddr(), Port: s.Port(p)}}
}
