package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A spec is written as commented TOML in sample.toml's style: every table
// and key with a one-line comment saying what it is, optional keys that are
// unset shown commented out with an example. The keys and their order come
// from Spec's toml tags (so a key added to Spec is written without more
// work); what each one means comes from docs.

// doc says what a table or key is.
type doc struct {
	comment string // one line, written after the key
	example string // TOML value shown commented out when an optional key is unset
}

// docs is keyed by table ("host") or table.key ("host.name"); an
// array-of-tables element is documented on its first [[…]] block only.
var docs = map[string]doc{
	"cluster":         {comment: "the cluster's name and the software it is built with"},
	"cluster.name":    {comment: "corosync cluster_name and the GFS2 lock table prefix; 1-32 of [A-Za-z0-9_-]"},
	"cluster.profile": {comment: `"debian12": LIO iSCSI + open-iscsi + corosync/dlm/lvmlockd; "centos5": the seed's GNBD + cman + clvmd`},

	"ssh":                 {comment: "how scalestore reaches every host; a host's ssh = { … } overrides any key"},
	"ssh.address":         {comment: "where sshd listens, if not the host's address (only in a host's ssh = { … })"},
	"ssh.port":            {comment: "sshd port", example: "22"},
	"ssh.user":            {comment: "login user; a non-root user needs sudo = true", example: `"root"`},
	"ssh.identity_file":   {comment: "private key (ssh-agent is tried first); relative paths are relative to this file", example: `"~/.ssh/id_ed25519"`},
	"ssh.known_hosts":     {comment: "host keys are checked against this file", example: `"~/.ssh/known_hosts"`},
	"ssh.host_key_policy": {comment: `"strict": unknown key refused; "accept-new": an unknown key is shown and added once confirmed`, example: `"strict"`},
	"ssh.jump":            {comment: "optional ProxyJump host, [user@]host[:port]", example: `"admin@bastion:22"`},
	"ssh.sudo":            {comment: "run remote commands through sudo (for a non-root user)", example: "false"},

	"host":                     {comment: "a machine of the cluster: storage server or client"},
	"host.name":                {comment: "the host's name: must equal its `uname -n` (DRBD's \"on\" sections use it)"},
	"host.address":             {comment: "cluster LAN address: DRBD, iSCSI and corosync use it; SSH too unless ssh.address is set"},
	"host.replication_address": {comment: "optional separate link for DRBD replication", example: `"10.1.0.10"`},
	"host.ssh":                 {comment: "optional per-host SSH overrides (any key of [ssh], and address)", example: `{ address = "203.0.113.10", port = 2222 }`},

	"drbd":                   {comment: "options all pairs share"},
	"drbd.protocol":          {comment: "synchronous replication; dual primary requires C"},
	"drbd.port_base":         {comment: "pair N replicates on port_base + N"},
	"drbd.skip_initial_sync": {comment: "true only for brand-new empty disks: marks both halves in sync without copying"},
	"drbd.sync_rate":         {comment: "resync rate cap per pair (bytes/s, K/M/G suffix)"},

	"pair":    {comment: "a DRBD-mirrored storage pair"},
	"pair.id": {comment: "fixes resource rN, /dev/drbdN, port port_base + N and multipath alias mpathN; never renumber", example: "0"},
	"pair.a":  {comment: "first half: host and backing disk (must be empty, or listed under [wipe])"},
	"pair.b":  {comment: "second half"},

	"client":           {comment: "a host that imports every pair and mounts the filesystem"},
	"client.host":      {comment: "the [[host]] it is"},
	"client.nodeid":    {comment: "corosync node id; defaults to the position (1, 2, …): never renumber", example: "1"},
	"client.initiator": {comment: "iSCSI initiator name; derived from the cluster and host when unset", example: `"iqn.2003-01.org.example:client0"`},

	"volume":                 {comment: "the shared LVM volume over every pair and its GFS2 filesystem"},
	"volume.vg":              {comment: "shared volume group over mpath0, mpath1, …"},
	"volume.lv":              {comment: "the logical volume holding GFS2; it takes all of the VG and grows with it"},
	"volume.fs_name":         {comment: "GFS2 lock table second half; at most 30 of [A-Za-z0-9_-]"},
	"volume.journals":        {comment: "mkfs.gfs2 makes this many (default: clients + 2, never fewer than the clients)"},
	"volume.journal_size_mb": {comment: "journal size (mkfs.gfs2 -J); small LVs need small journals (8 is the minimum)", example: "128"},
	"volume.mount_point":     {comment: "where every client mounts the filesystem"},
	"volume.mount_options":   {comment: "added to _netdev in fstab", example: `["noatime"]`},

	"fencing":               {comment: "how a lost host is cut off before the others go on: every storage half and client needs a fence target"},
	"fencing.agent":         {comment: `a fence agent such as "fence_ipmilan", or "none": no fencing, for a lab only (a cut-off host can corrupt the data)`},
	"fencing.options":       {comment: "for every target; no passwords here (use password_script): the spec is saved and shared", example: `{ username = "admin", lanplus = "1", password_script = "/root/fencepw.sh" }`},
	"fencing.host_options":  {comment: "each host's fence target: its BMC's address, or its plug on a shared power switch", example: `{ storage0a = { ip = "192.168.0.110" }, client0 = { ip = "192.168.0.120" } }`},
	"fencing.storage_delay": {comment: "seconds the b-half of a pair waits before fencing the a-half: with both alive, the a-half wins (1-120)", example: "10"},

	"wipe":         {comment: "backing disks that hold old data and may be wiped, once, while they keep their identity"},
	"wipe.devices": {comment: `each "host:/dev/path serial=… size=BYTES" (and/or wwn=…), as the wizard and check show it`, example: `["storage0a:/dev/sdb serial=lab-storage0a-data size=1073741824"]`},
}

const renderHeader = `# scalestore cluster spec. Each key's comment says what it is; a key
# commented out is optional and shows an example value.
#
#   scalestore plan  -f <this file>     # print every step, command and file
#   scalestore apply -f <this file>     # build it
`

// Render writes the spec as commented TOML (see docs), every pair with its
// id written out so that pairs added later never renumber it. Load of the
// result gives back the same spec.
func (s *Spec) Render() ([]byte, error) {
	c := *s
	c.Pairs = append([]Pair(nil), s.Pairs...)
	for i := range c.Pairs {
		if c.Pairs[i].ID == nil {
			id := i
			c.Pairs[i].ID = &id
		}
	}
	var r renderer
	r.b.WriteString(renderHeader)
	v := reflect.ValueOf(c)
	for i := 0; i < v.NumField(); i++ {
		name, _, ok := tomlTag(v.Type().Field(i))
		if !ok {
			continue
		}
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Struct:
			r.b.WriteByte('\n')
			if err := r.table(name, name, f, false, true); err != nil {
				return nil, err
			}
		case reflect.Slice:
			for j := 0; j < f.Len(); j++ {
				r.b.WriteByte('\n')
				if err := r.table(name, fmt.Sprintf("%s[%d]", name, j), f.Index(j), true, j == 0); err != nil {
					return nil, err
				}
			}
		default:
			return nil, fmt.Errorf("render spec: %s: a %s cannot be a top-level table", name, f.Type())
		}
	}
	return []byte(r.b.String()), nil
}

// renderBlocks writes items as [[name]] blocks without comments, as the
// second and later blocks of a rendered spec are, each after a blank line.
func renderBlocks[T any](name string, items []T) (string, error) {
	var r renderer
	for i, it := range items {
		r.b.WriteByte('\n')
		if err := r.table(name, fmt.Sprintf("new %s[%d]", name, i), reflect.ValueOf(it), true, false); err != nil {
			return "", err
		}
	}
	return r.b.String(), nil
}

type renderer struct{ b strings.Builder }

// commentColumn is where a key's comment starts, as in sample.toml.
const commentColumn = 25

func (r *renderer) line(text, comment string) {
	r.b.WriteString(text)
	if comment != "" {
		r.b.WriteString(strings.Repeat(" ", max(2, commentColumn-utf8.RuneCountInString(text))))
		r.b.WriteString("# ")
		r.b.WriteString(comment)
	}
	r.b.WriteByte('\n')
}

// table writes one [name] or [[name]] table; at names it in errors. With
// commented, the header and keys carry their comments and unset optional
// keys are shown commented out with an example.
func (r *renderer) table(name, at string, v reflect.Value, array, commented bool) error {
	if v.Kind() != reflect.Struct {
		return fmt.Errorf("render spec: %s: a %s cannot be a table", at, v.Type())
	}
	head := "[" + name + "]"
	if array {
		head = "[" + head + "]"
	}
	comment := func(key string) string {
		if commented {
			return docs[key].comment
		}
		return ""
	}
	r.line(head, comment(name))
	for i := 0; i < v.NumField(); i++ {
		key, optional, ok := tomlTag(v.Type().Field(i))
		if !ok {
			continue
		}
		f := v.Field(i)
		if optional && f.IsZero() {
			if ex := docs[name+"."+key].example; commented && ex != "" {
				r.line("# "+key+" = "+ex, comment(name+"."+key))
			}
			continue
		}
		val, err := tomlValue(at+"."+key, f)
		if err != nil {
			return err
		}
		text := key + " = " + val
		if f.Kind() == reflect.Slice && f.Len() > 1 && len(text) > 100 {
			// A long list, one item a line.
			r.line(key+" = [", comment(name+"."+key))
			for j := 0; j < f.Len(); j++ {
				item, _ := tomlValue(at+"."+key, f.Index(j)) // rendered above
				r.line("  "+item+",", "")
			}
			r.line("]", "")
			continue
		}
		r.line(text, comment(name+"."+key))
	}
	return nil
}

// tomlTag is a field's TOML key and whether it may be left out (omitempty,
// or a pointer); ok is false for a field TOML skips.
func tomlTag(f reflect.StructField) (key string, optional, ok bool) {
	tag := f.Tag.Get("toml")
	if tag == "-" || !f.IsExported() {
		return "", false, false
	}
	key, opts, _ := strings.Cut(tag, ",")
	if key == "" {
		key = f.Name
	}
	return key, strings.Contains(opts, "omitempty") || f.Type.Kind() == reflect.Pointer, true
}

// tomlValue renders a value: strings, integers, booleans, lists and inline
// tables (structs and maps, keys sorted). at names it in errors.
func tomlValue(at string, v reflect.Value) (string, error) {
	switch v.Kind() {
	case reflect.String:
		q, err := tomlString(v.String())
		if err != nil {
			return "", fmt.Errorf("render spec: %s: %w", at, err)
		}
		return q, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10), nil
	case reflect.Bool:
		return strconv.FormatBool(v.Bool()), nil
	case reflect.Pointer:
		if v.IsNil() {
			return "", fmt.Errorf("render spec: %s: no value", at)
		}
		return tomlValue(at, v.Elem())
	case reflect.Slice:
		items := make([]string, v.Len())
		for i := range items {
			s, err := tomlValue(fmt.Sprintf("%s[%d]", at, i), v.Index(i))
			if err != nil {
				return "", err
			}
			items[i] = s
		}
		return "[" + strings.Join(items, ", ") + "]", nil
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			break
		}
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, k.String())
		}
		sort.Strings(keys)
		var kv []string
		for _, k := range keys {
			key, err := tomlKey(k)
			if err != nil {
				return "", fmt.Errorf("render spec: %s: key %q: %w", at, k, err)
			}
			s, err := tomlValue(at+"."+k, v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key())))
			if err != nil {
				return "", err
			}
			kv = append(kv, key+" = "+s)
		}
		return inlineTable(kv), nil
	case reflect.Struct:
		var kv []string
		for i := 0; i < v.NumField(); i++ {
			key, optional, ok := tomlTag(v.Type().Field(i))
			if !ok || optional && v.Field(i).IsZero() {
				continue
			}
			s, err := tomlValue(at+"."+key, v.Field(i))
			if err != nil {
				return "", err
			}
			kv = append(kv, key+" = "+s)
		}
		return inlineTable(kv), nil
	}
	return "", fmt.Errorf("render spec: %s: a %s has no TOML form here", at, v.Type())
}

func inlineTable(kv []string) string {
	if len(kv) == 0 {
		return "{}"
	}
	return "{ " + strings.Join(kv, ", ") + " }"
}

var reBareKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// tomlKey writes a key bare when TOML allows it, else quoted.
func tomlKey(k string) (string, error) {
	if reBareKey.MatchString(k) {
		return k, nil
	}
	return tomlString(k)
}

// tomlString quotes s as a TOML basic string: quote, backslash and control
// characters escaped, everything else as it is. TOML is UTF-8, so a string
// that is not cannot be written.
func tomlString(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", errors.New("not valid UTF-8, which a TOML file cannot hold")
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range s {
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if c < 0x20 || c == 0x7f {
				fmt.Fprintf(&b, `\u%04X`, c)
			} else {
				b.WriteRune(c)
			}
		}
	}
	b.WriteByte('"')
	return b.String(), nil
}
