package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// Load reads, decodes, defaults and validates a spec file. Every problem is
// reported at once, each naming its key and line (a Problems error).
func Load(path string) (*Spec, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read spec: %w", err)
	}
	defer f.Close()
	// One byte past the cap is enough for Parse to refuse the file.
	data, err := io.ReadAll(io.LimitReader(f, MaxSpecSize+1))
	if err != nil {
		return nil, fmt.Errorf("read spec %s: %w", path, err)
	}
	s, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Parse is Load on bytes already read; name is used in messages and to
// resolve relative paths (identity and known_hosts files).
func Parse(name string, data []byte) (*Spec, error) {
	src := string(data)
	if strings.ContainsRune(src, 0) {
		return nil, Problems{{File: name, Msg: "the file holds a NUL byte; a spec is plain text TOML"}}
	}
	if p := checkBounds(src); p != nil {
		p.File = name
		return nil, Problems{*p}
	}
	var s Spec
	md, err := toml.Decode(src, &s)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, Problems{{File: name, Line: pe.Position.Line, Msg: "TOML: " + pe.Message}}
		}
		// Type errors read "toml: line N (last key "k"): …".
		if m := reTypeErr.FindStringSubmatch(err.Error()); m != nil {
			line, _ := strconv.Atoi(m[1])
			return nil, Problems{{File: name, Line: line, Key: m[2], Msg: m[3]}}
		}
		return nil, Problems{{File: name, Msg: "TOML: " + strings.TrimPrefix(err.Error(), "toml: ")}}
	}
	pos := locate(src)
	var ps Problems
	undecoded := md.Undecoded()
	unknown := make(map[string]bool, len(undecoded))
	for _, k := range undecoded {
		unknown[k.String()] = true
	}
	for _, k := range undecoded {
		key := k.String()
		if unknown[k[:len(k)-1].String()] {
			continue // inside an unknown table: that table is the problem
		}
		ps = append(ps, Problem{File: name, Line: pos.line(key), Key: key, Msg: "unknown key" + suggest(key)})
	}
	s.Path = name
	s.applyDefaults()
	ps = append(ps, s.validate(pos)...)
	if len(ps) > 0 {
		for i := range ps {
			ps[i].File = name
		}
		return nil, ps.sorted()
	}
	s.resolvePaths()
	return &s, nil
}

var reTypeErr = regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]*)"\): (.*)$`)

// resolvePaths makes the identity and known_hosts paths absolute: "~/" is the
// operator's home, a relative path is relative to the spec file.
func (s *Spec) resolvePaths() {
	dir := "."
	if s.Path != "" {
		dir = filepath.Dir(s.Path)
	}
	fix := func(p *string) {
		*p = ResolvePath(dir, *p)
	}
	fix(&s.SSH.IdentityFile)
	fix(&s.SSH.KnownHosts)
	for i := range s.Hosts {
		fix(&s.Hosts[i].SSH.IdentityFile)
		fix(&s.Hosts[i].SSH.KnownHosts)
	}
}

// ResolvePath expands "~/" and makes p relative to dir absolute.
func ResolvePath(dir, p string) string {
	switch {
	case p == "":
		return ""
	case p == "~" || strings.HasPrefix(p, "~/"):
		home, err := os.UserHomeDir()
		if err != nil {
			return p
		}
		return filepath.Join(home, strings.TrimPrefix(p, "~"))
	case filepath.IsAbs(p):
		return p
	default:
		abs, err := filepath.Abs(filepath.Join(dir, p))
		if err != nil {
			return p
		}
		return abs
	}
}

// known lists the keys a spec may hold, for "did you mean" hints.
var known = []string{
	"cluster.name", "cluster.profile",
	"ssh.port", "ssh.user", "ssh.identity_file", "ssh.known_hosts", "ssh.host_key_policy", "ssh.jump", "ssh.sudo",
	"host.name", "host.address", "host.replication_address", "host.ssh",
	"host.ssh.address", "host.ssh.port", "host.ssh.user", "host.ssh.identity_file", "host.ssh.known_hosts",
	"host.ssh.host_key_policy", "host.ssh.jump", "host.ssh.sudo",
	"drbd.protocol", "drbd.port_base", "drbd.skip_initial_sync", "drbd.sync_rate",
	"pair.id", "pair.a", "pair.b", "pair.a.host", "pair.a.disk", "pair.b.host", "pair.b.disk",
	"client.host", "client.nodeid", "client.initiator",
	"volume.vg", "volume.lv", "volume.fs_name", "volume.journals", "volume.journal_size_mb",
	"volume.mount_point", "volume.mount_options",
	"fencing.agent", "fencing.options", "fencing.host_options", "fencing.storage_delay",
	"wipe.devices",
}

func suggest(key string) string {
	best, bestD := "", 3
	for _, k := range known {
		// The distance is at least the difference in length: skip the
		// work (a 100 KB key against every known key took a second).
		if abs(len(key)-len(k)) >= bestD {
			continue
		}
		if d := distance(key, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func abs(n int) int { return max(n, -n) }
