package config

import (
	"fmt"
	"net"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Character sets from the tools' manuals. Every value that can reach a
// remote shell is held to one of these, so none can carry shell syntax
// (and remote.Quote quotes them anyway).
var (
	// RFC 1123 host name label(s); DRBD's "on NAME" must equal uname -n.
	reHostName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)
	reDNSName  = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`)
	// corosync cluster_name / GFS2 lock table cluster part: mkfs.gfs2(8)
	// allows 1-32 alphanumerics, '-' and '_'.
	reClusterName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)
	// mkfs.gfs2(8): the fs name is 1-30 characters of alphanumerics, '-' and '_'.
	reFSName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,30}$`)
	// lvm(8) VALID NAMES: a-z A-Z 0-9 + _ . -, not starting with '-'.
	reLVMName = regexp.MustCompile(`^[A-Za-z0-9+_.][A-Za-z0-9+_.-]*$`)
	reDevice  = regexp.MustCompile(`^/dev/[A-Za-z0-9][A-Za-z0-9/_.:+@-]*$`)
	rePath    = regexp.MustCompile(`^/[A-Za-z0-9/_.+@-]*$`)
	reFile    = regexp.MustCompile(`^[A-Za-z0-9~/_.+@ -]+$`)
	reUser    = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
	reRate    = regexp.MustCompile(`^[1-9][0-9]*[KMG]?$`)
	reMountOp = regexp.MustCompile(`^[a-z0-9_]+(=[A-Za-z0-9_.:/-]+)?$`)
	reAgent   = regexp.MustCompile(`^fence_[a-z0-9_]+$`)
	reOptKey  = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)
	reOptVal  = regexp.MustCompile(`^[A-Za-z0-9_.:/@+,-]*$`)
	reIQN     = regexp.MustCompile(`^iqn\.[0-9]{4}-[0-9]{2}\.[a-z0-9.-]+(:[a-z0-9.:-]+)?$`)
)

// lvReserved are strings lvm(8) refuses inside an LV name.
var lvReserved = []string{"_cdata", "_cmeta", "_corig", "_mlog", "_mimage", "_pmspare", "_rimage", "_rmeta", "_tdata", "_tmeta", "_vorigin", "_vdata"}

// A fence option that holds a secret may not be written in the spec: it is
// saved and shared. isSecret goes by the words of the option's name.
var (
	// secretWords are whole words that name a secret ("pw", "api_key").
	secretWords = []string{"pass", "pw", "pwd", "key", "kg", "cred", "creds", "community"}
	// secretStems name a secret inside a word too ("apitoken", "passwords");
	// so does a word ending in "key" ("apikey", "privkey").
	secretStems = []string{"password", "passwd", "passphrase", "secret", "token", "credential"}
	// secretPlaces, as the last word, make the option where a secret is
	// kept, not the secret (password_script, identity_file, auth_url).
	secretPlaces = []string{"script", "file", "path", "url", "uri"}
	// ipmiAuthTypes are the values of fence_ipmilan's auth option, the IPMI
	// authentication type: no secret.
	ipmiAuthTypes = []string{"md5", "password", "none", "straight"}
	reWordBreak   = regexp.MustCompile(`([a-z0-9])([A-Z])`)
)

type checker struct {
	pos *positions
	ps  Problems
}

func (c *checker) bad(key, format string, args ...any) {
	c.ps = append(c.ps, Problem{Line: c.pos.line(key), Key: key, Msg: fmt.Sprintf(format, args...)})
}

// Validate checks a spec built in memory (the wizard's); Load validates too.
func (s *Spec) Validate() error {
	s.applyDefaults()
	if ps := s.validate(nil); len(ps) > 0 {
		return ps.sorted()
	}
	return nil
}

func (s *Spec) validate(pos *positions) Problems {
	c := &checker{pos: pos}
	s.checkCluster(c)
	s.checkSSH(c, "ssh", s.SSH, true)
	roles := s.checkHosts(c)
	s.checkDRBD(c)
	s.checkPairs(c, roles)
	s.checkClients(c, roles)
	s.checkVolume(c)
	s.checkFencing(c)
	s.checkWipe(c)
	return c.ps
}

func (s *Spec) checkCluster(c *checker) {
	if s.Cluster.Name == "" {
		c.bad("cluster.name", "missing: the cluster needs a name (corosync cluster_name and the GFS2 lock table prefix)")
	} else if !reClusterName.MatchString(s.Cluster.Name) {
		c.bad("cluster.name", "%q is not a valid cluster name: 1-32 letters, digits, '-' or '_' (mkfs.gfs2 lock table rule)", s.Cluster.Name)
	}
	switch s.Cluster.Profile {
	case ProfileDebian12, ProfileCentOS5:
	default:
		c.bad("cluster.profile", "%q is not a profile: use %q or %q", s.Cluster.Profile, ProfileDebian12, ProfileCentOS5)
	}
}

func (s *Spec) checkSSH(c *checker, key string, e SSH, top bool) {
	if top && e.Address != "" {
		c.bad(key+".address", "belongs in a host's ssh = { address = … }, not in the [ssh] defaults")
	}
	if e.Address != "" && !validAddress(e.Address) {
		c.bad(key+".address", "%q is neither an IP address nor a host name", e.Address)
	}
	if e.Port != 0 && (e.Port < 1 || e.Port > 65535) {
		c.bad(key+".port", "%d is not a TCP port (1-65535)", e.Port)
	}
	if e.User != "" && !reUser.MatchString(e.User) {
		c.bad(key+".user", "%q is not a valid user name", e.User)
	}
	for _, f := range []struct{ k, v string }{{"identity_file", e.IdentityFile}, {"known_hosts", e.KnownHosts}} {
		if f.v != "" && !reFile.MatchString(f.v) {
			c.bad(key+"."+f.k, "%q holds characters not allowed in a path here", f.v)
		}
	}
	switch e.HostKeyPolicy {
	case "", PolicyStrict, PolicyAcceptNew:
	default:
		c.bad(key+".host_key_policy", "%q is not a policy: use %q or %q (a changed key is always refused)", e.HostKeyPolicy, PolicyStrict, PolicyAcceptNew)
	}
	if e.Jump != "" {
		if err := checkJump(e.Jump); err != nil {
			c.bad(key+".jump", "%q: %v", e.Jump, err)
		}
	}
}

// checkJump accepts [user@]host[:port].
func checkJump(j string) error {
	hostport := j
	if i := strings.LastIndex(j, "@"); i >= 0 {
		if !reUser.MatchString(j[:i]) {
			return fmt.Errorf("user %q is not valid", j[:i])
		}
		hostport = j[i+1:]
	}
	host, port := hostport, ""
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		host, port = h, p
	}
	if !validAddress(host) {
		return fmt.Errorf("host %q is neither an IP address nor a host name", host)
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("port %q is not a TCP port", port)
		}
	}
	return nil
}

func validAddress(a string) bool {
	if net.ParseIP(a) != nil {
		return true
	}
	if strings.Trim(a, "0123456789.") == "" {
		return false // looks like an IPv4 address but is not one
	}
	return len(a) <= 253 && reDNSName.MatchString(a)
}

type role int

const (
	roleNone role = iota
	roleStorage
	roleClient
)

func (s *Spec) checkHosts(c *checker) map[string]role {
	roles := map[string]role{}
	addrs := map[string]string{}
	sshAddrs := map[string]string{}
	if len(s.Hosts) == 0 {
		c.bad("host", "no [[host]] entries: list every storage server and client")
	}
	for i, h := range s.Hosts {
		k := fmt.Sprintf("host[%d]", i)
		switch {
		case h.Name == "":
			c.bad(k+".name", "missing: every host needs a name (its hostname, as `uname -n` prints it)")
		case !reHostName.MatchString(h.Name):
			c.bad(k+".name", "%q is not a valid host name (letters, digits and '-', at most 63, as DRBD's `on` section needs)", h.Name)
		default:
			if _, dup := roles[h.Name]; dup {
				c.bad(k+".name", "host %q is listed twice", h.Name)
			}
			roles[h.Name] = roleNone
		}
		switch {
		case h.Address == "":
			c.bad(k+".address", "missing: the host's cluster LAN address")
		case !validAddress(h.Address):
			c.bad(k+".address", "%q is neither an IP address nor a host name", h.Address)
		default:
			if other, dup := addrs[h.Address]; dup {
				c.bad(k+".address", "address %s is already used by host %q", h.Address, other)
			}
			addrs[h.Address] = h.Name
		}
		s.checkSSH(c, k+".ssh", h.SSH, false)
		e := s.HostSSH(&s.Hosts[i])
		ep := net.JoinHostPort(e.Address, strconv.Itoa(e.Port))
		if other, dup := sshAddrs[ep]; dup && e.Address != "" {
			c.bad(k+".ssh", "SSH endpoint %s is already used by host %q", ep, other)
		}
		sshAddrs[ep] = h.Name
	}
	// Replication addresses once every host's address is known, so that a
	// clash is found whichever host comes first.
	for i, h := range s.Hosts {
		a, k := h.ReplicationAddress, fmt.Sprintf("host[%d].replication_address", i)
		if a == "" {
			continue
		}
		if !validAddress(a) {
			c.bad(k, "%q is neither an IP address nor a host name", a)
		} else if other, dup := addrs[a]; dup && other != h.Name {
			c.bad(k, "address %s is already used by host %q", a, other)
		} else {
			addrs[a] = h.Name
		}
	}
	return roles
}

func (s *Spec) checkDRBD(c *checker) {
	switch s.DRBD.Protocol {
	case "A", "B", "C":
	default:
		c.bad("drbd.protocol", "%q is not a DRBD protocol: A, B or C (dual primary needs C)", s.DRBD.Protocol)
	}
	if s.DRBD.Protocol != "C" && s.DRBD.Protocol != "" {
		c.bad("drbd.protocol", "dual-primary pairs need protocol C (allow-two-primaries refuses %s)", s.DRBD.Protocol)
	}
	if s.DRBD.PortBase < 1 || s.DRBD.PortBase > 65535 {
		c.bad("drbd.port_base", "%d is not a TCP port (1-65535)", s.DRBD.PortBase)
	}
	if s.DRBD.SkipInitialSync && s.Cluster.Profile == ProfileCentOS5 {
		c.bad("drbd.skip_initial_sync", "DRBD 8.2 (profile centos5) has no new-current-uuid --clear-bitmap; the initial sync cannot be skipped")
	}
	if !reRate.MatchString(s.DRBD.SyncRate) {
		c.bad("drbd.sync_rate", "%q is not a rate: a number with an optional K, M or G suffix, like \"100M\"", s.DRBD.SyncRate)
	}
}

func (s *Spec) checkPairs(c *checker, roles map[string]role) {
	if len(s.Pairs) == 0 {
		c.bad("pair", "no [[pair]] entries: the cluster needs at least one storage pair")
	}
	ids := map[int]int{}
	for i, p := range s.Pairs {
		k := fmt.Sprintf("pair[%d]", i)
		id := p.Num()
		if id < 0 || id > 255 {
			c.bad(k+".id", "%d is out of range: 0-255 (the DRBD minor)", id)
		} else if prev, dup := ids[id]; dup {
			c.bad(k+".id", "id %d is already used by pair[%d]", id, prev)
		} else {
			ids[id] = i
			if port := s.DRBD.PortBase + id; port > 65535 {
				c.bad(k+".id", "port_base %d + id %d is past port 65535", s.DRBD.PortBase, id)
			}
		}
		for side, h := range p.Halves() {
			hk := fmt.Sprintf("%s.%c", k, 'a'+side)
			s.checkHalfHost(c, hk, h.Host, roles, roleStorage)
			switch {
			case h.Disk == "":
				c.bad(hk+".disk", "missing: the backing disk of this half, e.g. \"/dev/sdb\"")
			case !validDevice(h.Disk):
				c.bad(hk+".disk", "%q is not an absolute /dev/... device path", h.Disk)
			}
		}
		if p.A.Host != "" && p.A.Host == p.B.Host {
			c.bad(k+".b.host", "both halves of the pair are on host %q; a mirror needs two hosts", p.A.Host)
		}
	}
}

// checkHalfHost checks a reference to a host and records its role.
func (s *Spec) checkHalfHost(c *checker, key, name string, roles map[string]role, want role) {
	k := key + ".host"
	if name == "" {
		c.bad(k, "missing: name one of the [[host]] entries")
		return
	}
	r, ok := roles[name]
	if !ok {
		c.bad(k, "%q is not a [[host]] in this file", name)
		return
	}
	switch {
	case r == roleNone:
		roles[name] = want
	case r == roleStorage && want == roleStorage:
		c.bad(k, "host %q is already a half of another pair; a host serves one pair", name)
	case r != want:
		c.bad(k, "host %q is both a storage server and a client; they must be separate hosts", name)
	default:
		c.bad(k, "client %q is listed twice", name)
	}
}

func validDevice(d string) bool {
	return reDevice.MatchString(d) && path.Clean(d) == d && !strings.Contains(d, "..")
}

func (s *Spec) checkClients(c *checker, roles map[string]role) {
	if len(s.Clients) == 0 {
		c.bad("client", "no [[client]] entries: at least one client mounts the filesystem")
	}
	nodeids := map[int]string{}
	for i, cl := range s.Clients {
		k := fmt.Sprintf("client[%d]", i)
		s.checkHalfHost(c, k, cl.Host, roles, roleClient)
		if cl.NodeID < 1 {
			c.bad(k+".nodeid", "%d is not a corosync node id (1 or more)", cl.NodeID)
		} else if other, dup := nodeids[cl.NodeID]; dup {
			c.bad(k+".nodeid", "node id %d is already used by client %q", cl.NodeID, other)
		}
		nodeids[cl.NodeID] = cl.Host
		if cl.Initiator != "" && !reIQN.MatchString(cl.Initiator) {
			c.bad(k+".initiator", "%q is not an iSCSI IQN (iqn.YYYY-MM.reversed.domain:name, lowercase)", cl.Initiator)
		}
	}
}

func (s *Spec) checkVolume(c *checker) {
	v := s.Volume
	if !reLVMName.MatchString(v.VG) || v.VG == "." || v.VG == ".." {
		c.bad("volume.vg", "%q is not a valid VG name: letters, digits, '+', '_', '.', '-', not starting with '-' (lvm(8))", v.VG)
	}
	if !reLVMName.MatchString(v.LV) || v.LV == "." || v.LV == ".." {
		c.bad("volume.lv", "%q is not a valid LV name: letters, digits, '+', '_', '.', '-', not starting with '-' (lvm(8))", v.LV)
	} else {
		for _, r := range lvReserved {
			if strings.Contains(v.LV, r) {
				c.bad("volume.lv", "%q contains %q, which lvm(8) reserves", v.LV, r)
			}
		}
		if strings.HasPrefix(v.LV, "snapshot") || strings.HasPrefix(v.LV, "pvmove") {
			c.bad("volume.lv", "%q starts with a prefix lvm(8) reserves (snapshot, pvmove)", v.LV)
		}
	}
	if len(v.VG)+len(v.LV) > 126 {
		c.bad("volume.lv", "VG and LV names together exceed LVM's 127 characters")
	}
	if !reFSName.MatchString(v.FSName) {
		c.bad("volume.fs_name", "%q is not a valid GFS2 fs name: 1-30 letters, digits, '-' or '_' (mkfs.gfs2(8))", v.FSName)
	}
	if v.Journals < 1 {
		c.bad("volume.journals", "%d journals: GFS2 needs at least one (one per client that mounts it)", v.Journals)
	}
	if v.Journals > 1024 {
		c.bad("volume.journals", "%d journals is more than GFS2 supports in practice", v.Journals)
	}
	if v.JournalSizeMB != 0 && (v.JournalSizeMB < 8 || v.JournalSizeMB > 1024) {
		c.bad("volume.journal_size_mb", "%d is out of range: mkfs.gfs2 takes 8 to 1024 MB", v.JournalSizeMB)
	}
	switch {
	case !rePath.MatchString(v.MountPoint) || path.Clean(v.MountPoint) != v.MountPoint || strings.Contains(v.MountPoint, ".."):
		c.bad("volume.mount_point", "%q is not a clean absolute path", v.MountPoint)
	default:
		if d := systemDirOf(v.MountPoint); d != "" {
			c.bad("volume.mount_point", "%q is a system directory or would hide one (%s); mount the cluster filesystem elsewhere, e.g. %s", v.MountPoint, d, DefaultMount)
		}
	}
	for i, o := range v.MountOptions {
		if !reMountOp.MatchString(o) {
			c.bad(fmt.Sprintf("volume.mount_options[%d]", i), "%q is not a mount option (word or word=value)", o)
		}
	}
}

// systemDirs may be neither the mount point nor under it: the cluster
// filesystem would hide what the system keeps there.
var systemDirs = []string{
	"/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/lost+found",
	"/media", "/mnt", "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/var",
	"/usr/local", "/var/cache", "/var/lib", "/var/log", "/var/spool", "/var/tmp",
}

// systemTrees may not hold the mount point at any depth: the kernel's
// filesystems, the system's programs and configuration, directories that are
// cleaned, and the state of the stack under the filesystem itself.
var systemTrees = []string{
	"/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/run", "/sbin", "/sys",
	"/tmp", "/usr", "/var/tmp", "/var/lib/corosync", "/var/lib/drbd", "/var/lib/iscsi",
}

// systemDirOf names the system directory that mount point mp is, is an
// ancestor of, or (for systemTrees) is under; "" when there is none.
func systemDirOf(mp string) string {
	for _, d := range systemDirs {
		if isUnder(d, mp) {
			return d
		}
	}
	for _, d := range systemTrees {
		if isUnder(mp, d) {
			return d
		}
	}
	return ""
}

// isUnder reports whether clean absolute path p is dir or inside it.
func isUnder(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

func (s *Spec) checkFencing(c *checker) {
	f := s.Fencing
	switch {
	case f.Agent == "":
		c.bad("fencing.agent", "missing: name a fence agent (e.g. \"fence_ipmilan\") or write agent = \"none\" to run without fencing (a lab only: a cut-off client or a cut replication link can then corrupt or split the data)")
	case f.Agent == "none":
		if len(f.Options) > 0 || len(f.HostOptions) > 0 {
			c.bad("fencing.options", "options given while agent = \"none\"")
		}
	case !reAgent.MatchString(f.Agent):
		c.bad("fencing.agent", "%q is not a fence agent name (fence_<name>, e.g. fence_ipmilan)", f.Agent)
	}
	if f.StorageDelay < 0 || f.StorageDelay > MaxStorageDelay {
		c.bad("fencing.storage_delay", "%d is not a delay in seconds from 1 to %d (left out: %d)", f.StorageDelay, MaxStorageDelay, DefaultStorageDelay)
	}
	checkOpts := func(key string, opts map[string]string) {
		for k, v := range opts {
			switch {
			case !reOptKey.MatchString(k):
				c.bad(key, "option name %q is not valid", k)
			case k == "action":
				c.bad(key+"."+k, "is scalestore's to set (off, status): leave it out")
			case isSecret(k, v):
				c.bad(key+"."+k, "secrets are not written in the spec; use the agent's password_script option pointing to a root-only file on the hosts")
			case !reOptVal.MatchString(v):
				c.bad(key+"."+k, "%q holds characters not allowed in a fence option", v)
			}
		}
	}
	checkOpts("fencing.options", f.Options)
	for h, opts := range f.HostOptions {
		key := "fencing.host_options." + h
		if s.Host(h) == nil {
			c.bad(key, "%q is not a host of the spec: name a [[host]] (each storage half and client has its own fence target)", h)
		}
		checkOpts(key, opts)
	}
	if !f.On() || !reAgent.MatchString(f.Agent) {
		return
	}
	// every host that may be fenced needs its target: a storage half is
	// fenced by its pair's other half, a client by the other clients
	for _, h := range append(s.StorageHosts(), s.ClientHosts()...) {
		if len(f.HostOptions[h]) == 0 {
			c.bad("fencing.host_options", "%s has no fence target: with agent = %q every storage half and client needs one, "+
				"e.g. host_options.%s = { ip = \"<the address of its BMC>\" } (or plug = \"<its outlet>\" on a shared power switch)", h, f.Agent, h)
		}
	}
}

// isSecret reports whether fence option k (with value v) holds a secret. Its
// name is split into words at '-', '_' and lower-to-upper case changes.
func isSecret(k, v string) bool {
	words := strings.FieldsFunc(strings.ToLower(reWordBreak.ReplaceAllString(k, "${1}_${2}")),
		func(r rune) bool { return r == '-' || r == '_' })
	if len(words) == 0 {
		return false
	}
	last := words[len(words)-1]
	switch {
	case slices.Contains(secretPlaces, last):
		return false
	case last == "auth": // the credentials themselves (http_auth), or fence_ipmilan's auth type
		return len(words) > 1 || !slices.Contains(ipmiAuthTypes, strings.ToLower(v))
	}
	for _, w := range words {
		if slices.Contains(secretWords, w) || strings.HasSuffix(w, "key") {
			return true
		}
		for _, s := range secretStems {
			if strings.Contains(w, s) {
				return true
			}
		}
	}
	return false
}
