package remote

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	sshconfig "github.com/kevinburke/ssh_config"
)

// HostKeyPolicy says what to do with a host key that known_hosts does not
// hold. A key that differs from the one known_hosts holds for the host is
// refused under every policy.
type HostKeyPolicy string

const (
	// PolicyStrict refuses a host whose key is not in known_hosts.
	PolicyStrict HostKeyPolicy = "strict"
	// PolicyAcceptNew shows an unknown key's SHA256 fingerprint and accepts
	// it once the Prompter confirms (or at once when Target.AutoAcceptNew is
	// set), then appends it to known_hosts.
	PolicyAcceptNew HostKeyPolicy = "accept-new"
)

// Target says how to reach one server. Only Name is required: unset fields
// are taken from the ssh config file, then from OpenSSH's defaults.
type Target struct {
	// Name is the logical host name: it tags output lines and errors, and is
	// the ssh config alias looked up when Address is empty.
	Name string
	// Address is the host name or IP address to connect to, or an ssh config
	// Host alias (whose HostName then applies). Empty means Name.
	Address string
	// Port is the TCP port; 0 means the config's Port, else 22.
	Port int
	// User is the login user; empty means the config's User, else the local
	// user name.
	User string
	// IdentityFiles are private key files tried after the agent's keys, before
	// the config's IdentityFile entries. When neither gives any, OpenSSH's
	// default ~/.ssh/id_* files are tried; the single entry "none" disables
	// that default.
	IdentityFiles []string
	// IdentityAgent is the ssh-agent socket: empty means the config's
	// IdentityAgent, else $SSH_AUTH_SOCK; "none" disables the agent.
	IdentityAgent string
	// KnownHostsFile is the known_hosts file that is read and appended to.
	// Empty means the config's UserKnownHostsFile (else ~/.ssh/known_hosts)
	// plus the global /etc/ssh/ssh_known_hosts for reading.
	KnownHostsFile string
	// Policy applies to unknown host keys; empty means the config's
	// StrictHostKeyChecking ("yes" is strict; "ask", "accept-new", "no" are
	// accept-new, which still refuses a changed key), else strict.
	Policy HostKeyPolicy
	// AutoAcceptNew accepts unknown host keys under PolicyAcceptNew without
	// asking: an unattended run that was told up front to trust new hosts.
	AutoAcceptNew bool
	// Jump is the host to connect through (ProxyJump). Nil means the
	// config's ProxyJump, if any. A jump host takes KnownHostsFile, Policy,
	// AutoAcceptNew, IdentityAgent and (when it has none) IdentityFiles from
	// the target it leads to; it never uses Sudo.
	Jump *Target
	// Sudo runs every command through sudo when the login user is not root:
	// "sudo -n" when there is no Prompter, otherwise "sudo -S" with the
	// password, if one is asked, written to sudo's stdin.
	Sudo bool
	// SSHConfigFile is the ssh config file to read: empty means ~/.ssh/config
	// and /etc/ssh/ssh_config when present, "none" reads no file, and any
	// other value reads only that file (as ssh -F does).
	SSHConfigFile string
}

func (t Target) label() string {
	if t.Name != "" {
		return t.Name
	}
	return t.Address
}

// endpoint is a Target with the ssh config applied and every default filled.
type endpoint struct {
	name           string // Target.Name: tags lines and errors
	hostname       string // what is dialled
	port           int
	user           string
	identityFiles  []string
	identitiesOnly bool
	agentSocket    string // "" = no agent
	knownHosts     []string
	knownHostsFile string // where new keys are appended
	hashKnownHosts string // "yes", "no" or "" (follow the file)
	policy         HostKeyPolicy
	autoAcceptNew  bool
	sudo           bool
	connectTimeout time.Duration
	keepAlive      time.Duration
	jump           *endpoint
}

// addr is the host:port dialled and looked up in known_hosts.
func (e *endpoint) addr() string {
	return net.JoinHostPort(e.hostname, strconv.Itoa(e.port))
}

// asRoot reports whether commands must go through sudo.
func (e *endpoint) asRoot() bool { return e.sudo && e.user != "root" }

// sshConfig is the list of config files in the order OpenSSH reads them: the
// first value obtained for a keyword wins.
type sshConfig []*sshconfig.Config

func loadSSHConfig(path string) (sshConfig, error) {
	var files []string
	switch path {
	case "none":
		return nil, nil
	case "":
		if home, err := os.UserHomeDir(); err == nil {
			files = append(files, filepath.Join(home, ".ssh", "config"))
		}
		files = append(files, "/etc/ssh/ssh_config")
	default:
		files = []string{path}
	}
	var cfg sshConfig
	for _, f := range files {
		b, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) && path == "" {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read ssh config: %w", err)
		}
		c, err := sshconfig.DecodeBytes(b)
		if err != nil {
			return nil, fmt.Errorf("parse ssh config %s: %w", f, err)
		}
		cfg = append(cfg, c)
	}
	return cfg, nil
}

func (c sshConfig) get(alias, key string) string {
	for _, f := range c {
		if v, err := f.Get(alias, key); err == nil && v != "" {
			return v
		}
	}
	return ""
}

func (c sshConfig) getAll(alias, key string) []string {
	var all []string
	for _, f := range c {
		if v, err := f.GetAll(alias, key); err == nil {
			all = append(all, v...)
		}
	}
	return all
}

// maxJumps bounds a ProxyJump chain (and catches loops in the config).
const maxJumps = 8

// resolve applies the ssh config to t.
func resolve(t Target) (*endpoint, error) {
	if t.Name == "" && t.Address == "" {
		return nil, errors.New("target has neither Name nor Address")
	}
	cfg, err := loadSSHConfig(t.SSHConfigFile)
	if err != nil {
		return nil, err
	}
	return resolveWith(t, cfg, 0, false)
}

// resolveWith resolves t at the given depth of a jump chain; noConfigJump
// ignores the config's ProxyJump (for hops after the first of a chain).
func resolveWith(t Target, cfg sshConfig, depth int, noConfigJump bool) (*endpoint, error) {
	if depth > maxJumps {
		return nil, fmt.Errorf("ProxyJump chain longer than %d hosts", maxJumps)
	}
	alias := t.Address
	if alias == "" {
		alias = t.Name
	}
	e := &endpoint{
		name:          t.label(),
		hostname:      alias,
		policy:        t.Policy,
		autoAcceptNew: t.AutoAcceptNew,
		sudo:          t.Sudo,
	}
	if hn := cfg.get(alias, "HostName"); hn != "" {
		e.hostname = strings.ReplaceAll(hn, "%h", alias)
	}

	e.port = t.Port
	if e.port == 0 {
		if p := cfg.get(alias, "Port"); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || n <= 0 || n > 65535 {
				return nil, fmt.Errorf("ssh config: bad Port %q for %s", p, alias)
			}
			e.port = n
		} else {
			e.port = 22
		}
	}

	e.user = t.User
	if e.user == "" {
		e.user = cfg.get(alias, "User")
	}
	if e.user == "" {
		e.user = localUser()
	}

	home, _ := os.UserHomeDir()
	expand := func(p string) string { return expandTokens(p, home, e) }

	noDefaultKeys := false
	for _, f := range append(append([]string(nil), t.IdentityFiles...), cfg.getAll(alias, "IdentityFile")...) {
		if strings.EqualFold(f, "none") {
			noDefaultKeys = true
			continue
		}
		e.identityFiles = append(e.identityFiles, expand(f))
	}
	if len(e.identityFiles) == 0 && !noDefaultKeys && home != "" {
		for _, n := range []string{"id_rsa", "id_ecdsa", "id_ecdsa_sk", "id_ed25519", "id_ed25519_sk"} {
			p := filepath.Join(home, ".ssh", n)
			if _, err := os.Stat(p); err == nil {
				e.identityFiles = append(e.identityFiles, p)
			}
		}
	}
	e.identitiesOnly = strings.EqualFold(cfg.get(alias, "IdentitiesOnly"), "yes")

	agent := t.IdentityAgent
	if agent == "" {
		agent = cfg.get(alias, "IdentityAgent")
	}
	switch {
	case agent == "" || agent == "SSH_AUTH_SOCK":
		e.agentSocket = os.Getenv("SSH_AUTH_SOCK")
	case strings.EqualFold(agent, "none"):
	case strings.HasPrefix(agent, "$"):
		e.agentSocket = os.Getenv(agent[1:])
	default:
		e.agentSocket = expand(agent)
	}

	if t.KnownHostsFile != "" {
		e.knownHostsFile = expand(t.KnownHostsFile)
		e.knownHosts = []string{e.knownHostsFile}
	} else {
		for _, v := range cfg.getAll(alias, "UserKnownHostsFile") {
			for _, f := range strings.Fields(v) {
				if f != "none" {
					e.knownHosts = append(e.knownHosts, expand(f))
				}
			}
		}
		if len(e.knownHosts) == 0 && home != "" {
			e.knownHosts = []string{filepath.Join(home, ".ssh", "known_hosts")}
		}
		if len(e.knownHosts) > 0 {
			e.knownHostsFile = e.knownHosts[0]
		}
		global := cfg.get(alias, "GlobalKnownHostsFile")
		if global == "" {
			global = "/etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2"
		}
		for _, f := range strings.Fields(global) {
			if f != "none" {
				e.knownHosts = append(e.knownHosts, expand(f))
			}
		}
	}
	e.hashKnownHosts = strings.ToLower(cfg.get(alias, "HashKnownHosts"))

	if e.policy == "" {
		switch strings.ToLower(cfg.get(alias, "StrictHostKeyChecking")) {
		case "ask", "accept-new", "no", "off":
			e.policy = PolicyAcceptNew
		default:
			e.policy = PolicyStrict
		}
	}
	if e.policy != PolicyStrict && e.policy != PolicyAcceptNew {
		return nil, fmt.Errorf("unknown host key policy %q (want %q or %q)", e.policy, PolicyStrict, PolicyAcceptNew)
	}

	if v := cfg.get(alias, "ConnectTimeout"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			e.connectTimeout = time.Duration(n) * time.Second
		}
	}
	if v := cfg.get(alias, "ServerAliveInterval"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			e.keepAlive = time.Duration(n) * time.Second
		}
	}

	// inherit is what a jump host takes from the target it leads to.
	inherit := func(j Target) Target {
		if j.KnownHostsFile == "" {
			j.KnownHostsFile = t.KnownHostsFile
		}
		if j.Policy == "" {
			j.Policy = t.Policy
		}
		j.AutoAcceptNew = j.AutoAcceptNew || t.AutoAcceptNew
		if j.IdentityAgent == "" {
			j.IdentityAgent = t.IdentityAgent
		}
		if len(j.IdentityFiles) == 0 {
			j.IdentityFiles = t.IdentityFiles
		}
		j.Sudo = false
		return j
	}
	switch {
	case t.Jump != nil:
		j, err := resolveWith(inherit(*t.Jump), cfg, depth+1, false)
		if err != nil {
			return nil, fmt.Errorf("jump host: %w", err)
		}
		e.jump = j
	case noConfigJump:
	default:
		pj := cfg.get(alias, "ProxyJump")
		if pj != "" && !strings.EqualFold(pj, "none") {
			// "a,b" means: connect to a, through a to b, through b to us.
			var prev *endpoint
			for _, hop := range strings.Split(pj, ",") {
				jt, err := ParseJump(strings.TrimSpace(hop))
				if err != nil {
					return nil, err
				}
				j, err := resolveWith(inherit(jt), cfg, depth+1, prev != nil)
				if err != nil {
					return nil, fmt.Errorf("jump host %s: %w", hop, err)
				}
				if prev != nil {
					j.jump = prev
				}
				prev = j
			}
			e.jump = prev
		} else if pc := cfg.get(alias, "ProxyCommand"); pc != "" && !strings.EqualFold(pc, "none") {
			return nil, fmt.Errorf("ssh config for %s uses ProxyCommand, which is not supported: use ProxyJump", alias)
		}
	}
	return e, nil
}

// ParseJump parses one ProxyJump hop, [user@]host[:port] or
// ssh://[user@]host[:port], into a Target whose Name and Address are the
// host (ssh config aliases apply to it as to any Address).
func ParseJump(s string) (Target, error) {
	s = strings.TrimPrefix(s, "ssh://")
	var t Target
	if i := strings.LastIndex(s, "@"); i >= 0 {
		t.User, s = s[:i], s[i+1:]
	}
	host := s
	if h, p, err := net.SplitHostPort(s); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			return Target{}, fmt.Errorf("bad ProxyJump port in %q", s)
		}
		host, t.Port = h, n
	}
	if host == "" {
		return Target{}, fmt.Errorf("bad ProxyJump host %q", s)
	}
	t.Name, t.Address = host, host
	return t, nil
}

// expandTokens expands a leading ~ and the %d %u %h %r %p %% tokens of ssh
// config paths.
func expandTokens(p, home string, e *endpoint) string {
	if home != "" && (p == "~" || strings.HasPrefix(p, "~/")) {
		p = home + p[1:]
	}
	if !strings.Contains(p, "%") {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] != '%' || i+1 == len(p) {
			b.WriteByte(p[i])
			continue
		}
		i++
		switch p[i] {
		case 'd':
			b.WriteString(home)
		case 'u':
			b.WriteString(localUser())
		case 'h':
			b.WriteString(e.hostname)
		case 'r':
			b.WriteString(e.user)
		case 'p':
			b.WriteString(strconv.Itoa(e.port))
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(p[i])
		}
	}
	return b.String()
}

func localUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "root"
}
