// Package config is the cluster spec: one TOML file that fully describes a
// scalestore cluster. The wizard saves it, unattended runs replay it, and
// adding a storage pair is adding a [[pair]] to it.
package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Profiles name the software generation a cluster is built with.
const (
	ProfileDebian12 = "debian12" // LIO iSCSI, open-iscsi, corosync 3 + dlm + lvmlockd
	ProfileCentOS5  = "centos5"  // the 2008 seed: GNBD, cman, clvmd
)

// Host-key policies.
const (
	PolicyStrict    = "strict"
	PolicyAcceptNew = "accept-new"
)

// Spec is a whole cluster.
type Spec struct {
	Cluster Cluster  `toml:"cluster"`
	SSH     SSH      `toml:"ssh"`
	Hosts   []Host   `toml:"host"`
	DRBD    DRBD     `toml:"drbd"`
	Pairs   []Pair   `toml:"pair"`
	Clients []Client `toml:"client"`
	Volume  Volume   `toml:"volume"`
	Fencing Fencing  `toml:"fencing"`
	Wipe    Wipe     `toml:"wipe"`

	// Path is the file the spec was loaded from ("" when built in memory).
	Path string `toml:"-"`
}

// Cluster names the cluster and picks the profile.
type Cluster struct {
	// Name is corosync's cluster_name and the first half of the GFS2 lock table.
	Name    string `toml:"name"`
	Profile string `toml:"profile"`
}

// SSH says how scalestore reaches a host. The top-level [ssh] table holds the
// defaults; a host's ssh = {…} overrides any of them.
type SSH struct {
	Address       string `toml:"address,omitempty"` // per host only: where sshd listens, if not the host's address
	Port          int    `toml:"port,omitempty"`
	User          string `toml:"user,omitempty"`
	IdentityFile  string `toml:"identity_file,omitempty"`
	KnownHosts    string `toml:"known_hosts,omitempty"`
	HostKeyPolicy string `toml:"host_key_policy,omitempty"`
	Jump          string `toml:"jump,omitempty"` // [user@]host[:port]
	Sudo          *bool  `toml:"sudo,omitempty"`
}

// Host is one machine of the cluster, storage server or client.
type Host struct {
	Name string `toml:"name"`
	// Address is the cluster LAN address: DRBD, iSCSI and corosync use it.
	Address string `toml:"address"`
	// ReplicationAddress, when set, carries DRBD replication instead of Address.
	ReplicationAddress string `toml:"replication_address,omitempty"`
	SSH                SSH    `toml:"ssh,omitempty"`
}

// DRBD holds the options every pair shares.
type DRBD struct {
	Protocol        string `toml:"protocol"`
	PortBase        int    `toml:"port_base"`
	SkipInitialSync bool   `toml:"skip_initial_sync"`
	SyncRate        string `toml:"sync_rate"`
}

// Pair is a DRBD-mirrored pair of storage servers.
type Pair struct {
	// ID numbers the pair for good: it gives the DRBD resource r<ID>, minor
	// /dev/drbd<ID>, port port_base+ID and the multipath alias mpath<ID>.
	// Defaults to the pair's position in the file; the wizard writes it out so
	// that a pair added later never renumbers the others.
	ID *int `toml:"id"`
	A  Half `toml:"a"`
	B  Half `toml:"b"`
}

// Half is one side of a pair: a host and the backing disk it mirrors.
type Half struct {
	Host string `toml:"host"`
	Disk string `toml:"disk"`
}

// Client is a host that imports every pair and mounts the filesystem.
type Client struct {
	Host string `toml:"host"`
	// NodeID is the corosync node id; defaults to position+1.
	NodeID int `toml:"nodeid,omitempty"`
	// Initiator is the client's iSCSI initiator IQN; derived when empty.
	Initiator string `toml:"initiator,omitempty"`
}

// Volume is the shared LVM and GFS2 layout.
type Volume struct {
	VG     string `toml:"vg"`
	LV     string `toml:"lv"`
	FSName string `toml:"fs_name"`
	// Journals is how many journals mkfs.gfs2 makes, at least: never
	// fewer than one per client (see JournalCount). A client added later
	// uses a spare journal, or apply adds one with gfs2_jadd.
	Journals      int      `toml:"journals"`
	JournalSizeMB int      `toml:"journal_size_mb,omitempty"`
	MountPoint    string   `toml:"mount_point"`
	MountOptions  []string `toml:"mount_options,omitempty"`
}

// Fencing names the fence agent, or "none" written out explicitly, and the
// fence target of every host. With an agent, a storage half powers its
// pair's other half off when their replication link breaks (DRBD's
// fence-peer handler), and a client's dlm powers off a client it lost.
type Fencing struct {
	Agent string `toml:"agent"`
	// Options are passed to the agent for every target (no secrets: use the
	// agent's password_script option, never a password).
	Options map[string]string `toml:"options,omitempty"`
	// HostOptions are each host's own options: its fence target (the
	// address of its BMC, its plug on a shared switch, …). With an agent,
	// every storage half and every client needs its entry.
	HostOptions map[string]map[string]string `toml:"host_options,omitempty"`
	// StorageDelay is how many seconds the b-half of a pair waits before it
	// fences the a-half (0: DefaultStorageDelay): when the link breaks with
	// both halves alive, the a-half fences first and wins.
	StorageDelay int `toml:"storage_delay,omitempty"`
}

// DefaultStorageDelay is fencing.storage_delay when the spec leaves it out.
const DefaultStorageDelay = 10

// MaxStorageDelay bounds fencing.storage_delay: I/O on the surviving half
// stays frozen at least that long when the a-half dies.
const MaxStorageDelay = 120

// Delay is the b-half's wait before it fences, in seconds.
func (f Fencing) Delay() int {
	if f.StorageDelay == 0 {
		return DefaultStorageDelay
	}
	return f.StorageDelay
}

// On reports whether a fence agent is set.
func (f Fencing) On() bool { return f.Agent != "" && f.Agent != "none" }

// Target is the agent's options for fencing host: the common options, then
// the host's own over them.
func (f Fencing) Target(host string) map[string]string {
	out := map[string]string{}
	for k, v := range f.Options {
		out[k] = v
	}
	for k, v := range f.HostOptions[host] {
		out[k] = v
	}
	return out
}

// Wipe lists the exact disks the operator allows scalestore to wipe, each
// "host:/dev/path wwn=… serial=… size=BYTES" (see WipeDevice): the path and
// the identity the disk had when it was marked. A disk with a signature,
// partition, mount or holder is never written unless it is named here, and
// a named disk is wiped only while it still has that identity, and once.
type Wipe struct {
	Devices []string `toml:"devices,omitempty"`
}

// Defaults.
const (
	DefaultProfile   = ProfileDebian12
	DefaultSSHPort   = 22
	DefaultSSHUser   = "root"
	DefaultPolicy    = PolicyStrict
	DefaultProtocol  = "C"
	DefaultPortBase  = 7788
	DefaultSyncRate  = "100M"
	DefaultVG        = "VG0"
	DefaultLV        = "LV0"
	DefaultFSName    = "gfs2"
	DefaultMount     = "/mnt/gfs2"
	DefaultKnownHost = "~/.ssh/known_hosts"
	IQNPrefix        = "iqn.2003-01.org.scalestore"
)

// applyDefaults fills every key the file may leave out.
func (s *Spec) applyDefaults() {
	if s.Cluster.Profile == "" {
		s.Cluster.Profile = DefaultProfile
	}
	if s.SSH.Port == 0 {
		s.SSH.Port = DefaultSSHPort
	}
	if s.SSH.User == "" {
		s.SSH.User = DefaultSSHUser
	}
	if s.SSH.HostKeyPolicy == "" {
		s.SSH.HostKeyPolicy = DefaultPolicy
	}
	if s.SSH.KnownHosts == "" {
		s.SSH.KnownHosts = DefaultKnownHost
	}
	if s.DRBD.Protocol == "" {
		s.DRBD.Protocol = DefaultProtocol
	}
	if s.DRBD.PortBase == 0 {
		s.DRBD.PortBase = DefaultPortBase
	}
	if s.DRBD.SyncRate == "" {
		s.DRBD.SyncRate = DefaultSyncRate
	}
	for i := range s.Pairs {
		if s.Pairs[i].ID == nil {
			id := i
			s.Pairs[i].ID = &id
		}
	}
	for i := range s.Clients {
		if s.Clients[i].NodeID == 0 {
			s.Clients[i].NodeID = i + 1
		}
	}
	if s.Volume.VG == "" {
		s.Volume.VG = DefaultVG
	}
	if s.Volume.LV == "" {
		s.Volume.LV = DefaultLV
	}
	if s.Volume.FSName == "" {
		s.Volume.FSName = DefaultFSName
	}
	if s.Volume.Journals == 0 {
		s.Volume.Journals = len(s.Clients) + 2
	}
	if s.Volume.MountPoint == "" {
		s.Volume.MountPoint = DefaultMount
	}
}

// JournalCount is how many journals GFS2 must have: volume.journals, but
// never fewer than one per client.
func (s *Spec) JournalCount() int { return max(s.Volume.Journals, len(s.Clients)) }

// Host returns the host of that name, or nil.
func (s *Spec) Host(name string) *Host {
	for i := range s.Hosts {
		if s.Hosts[i].Name == name {
			return &s.Hosts[i]
		}
	}
	return nil
}

// HostSSH is the effective SSH setting for a host: defaults, then overrides.
func (s *Spec) HostSSH(h *Host) SSH {
	e := s.SSH
	o := h.SSH
	e.Address = h.Address
	if o.Address != "" {
		e.Address = o.Address
	}
	if o.Port != 0 {
		e.Port = o.Port
	}
	if o.User != "" {
		e.User = o.User
	}
	if o.IdentityFile != "" {
		e.IdentityFile = o.IdentityFile
	}
	if o.KnownHosts != "" {
		e.KnownHosts = o.KnownHosts
	}
	if o.HostKeyPolicy != "" {
		e.HostKeyPolicy = o.HostKeyPolicy
	}
	if o.Jump != "" {
		e.Jump = o.Jump
	}
	if o.Sudo != nil {
		e.Sudo = o.Sudo
	}
	return e
}

// PairOf returns the pair a storage host belongs to and its side (0 = a,
// 1 = b), or side -1 when the host is in no pair.
func (s *Spec) PairOf(host string) (Pair, int) {
	for _, p := range s.Pairs {
		if p.A.Host == host {
			return p, 0
		}
		if p.B.Host == host {
			return p, 1
		}
	}
	return Pair{}, -1
}

// StorageHosts lists the storage servers in pair order (a then b).
func (s *Spec) StorageHosts() []string {
	var out []string
	for _, p := range s.Pairs {
		out = append(out, p.A.Host, p.B.Host)
	}
	return out
}

// ClientHosts lists the client host names in file order.
func (s *Spec) ClientHosts() []string {
	out := make([]string, len(s.Clients))
	for i, c := range s.Clients {
		out[i] = c.Host
	}
	return out
}

// ReplicationAddress is where DRBD of this host listens.
func (h *Host) ReplicationAddr() string {
	if h.ReplicationAddress != "" {
		return h.ReplicationAddress
	}
	return h.Address
}

// Halves returns both halves, a first.
func (p Pair) Halves() [2]Half { return [2]Half{p.A, p.B} }

// Num is the pair's id (defaults are applied by Load).
func (p Pair) Num() int {
	if p.ID == nil {
		return -1
	}
	return *p.ID
}

// Resource is the DRBD resource name, r<ID>.
func (p Pair) Resource() string { return fmt.Sprintf("r%d", p.Num()) }

// Device is the DRBD device, /dev/drbd<ID>.
func (p Pair) Device() string { return fmt.Sprintf("/dev/drbd%d", p.Num()) }

// Alias is the multipath map name, mpath<ID>.
func (p Pair) Alias() string { return fmt.Sprintf("mpath%d", p.Num()) }

// MapperPath is the multipath device a client sees.
func (p Pair) MapperPath() string { return "/dev/mapper/" + p.Alias() }

// Port is the DRBD replication port of the pair.
func (s *Spec) Port(p Pair) int { return s.DRBD.PortBase + p.Num() }

// Serial is the SCSI unit serial both halves of a pair export: a UUID-shaped
// string derived from the cluster name and pair id, so it is stable across
// runs and different for every pair within the 25 hex digits that LIO puts
// into the WWID.
func (s *Spec) Serial(p Pair) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("scalestore:%s:pair:%d", s.Cluster.Name, p.Num())))
	h := hex.EncodeToString(sum[:16])
	// UUID version 4 / variant bits keep the shape LIO expects.
	h = h[:12] + "4" + h[13:16] + "8" + h[17:]
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// WWID is the multipath WWID a client reads for the pair's LUN: the NAA
// prefix 36001405 followed by the first 25 hex digits of the serial.
func (s *Spec) WWID(p Pair) string {
	return "36001405" + strings.ReplaceAll(s.Serial(p), "-", "")[:25]
}

// iqnWord lowercases a name for use inside an IQN, which allows only
// lowercase letters, digits, '.', '-' and ':'.
func iqnWord(s string) string {
	return strings.ReplaceAll(strings.ToLower(s), "_", "-")
}

// TargetIQN is the iSCSI target one half of a pair exports.
func (s *Spec) TargetIQN(p Pair, host string) string {
	return fmt.Sprintf("%s:%s.%s.%s", IQNPrefix, iqnWord(s.Cluster.Name), iqnWord(host), p.Resource())
}

// InitiatorIQN is the iSCSI initiator name of a client.
func (s *Spec) InitiatorIQN(c Client) string {
	if c.Initiator != "" {
		return c.Initiator
	}
	return fmt.Sprintf("%s:%s.%s", IQNPrefix, iqnWord(s.Cluster.Name), iqnWord(c.Host))
}

// ExportName is the GNBD export name of a half (centos5): gnbd<ID><a|b>.
func (p Pair) ExportName(side int) string {
	return fmt.Sprintf("gnbd%d%c", p.Num(), 'a'+side)
}

// LockTable is the GFS2 lock table, CLUSTER:FSNAME.
func (s *Spec) LockTable() string { return s.Cluster.Name + ":" + s.Volume.FSName }

// LVPath is the LV's device path.
func (s *Spec) LVPath() string { return "/dev/" + s.Volume.VG + "/" + s.Volume.LV }

// MayWipe reports whether the operator named host:dev for wiping.
func (s *Spec) MayWipe(host, dev string) bool {
	_, ok := s.WipeOf(host, dev)
	return ok
}

// SudoOn reports whether commands on the host run through sudo.
func (e SSH) SudoOn() bool { return e.Sudo != nil && *e.Sudo }
