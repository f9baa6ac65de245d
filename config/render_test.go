package config

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// golden compares got with testdata/name (or rewrites it with -update).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./config -run %s -update to write it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what is written now:\n%s", path, got)
	}
}

// loadAs loads a spec file with HOME fixed, so "~/" paths resolve the same
// on every machine.
func loadAs(t *testing.T, path string) *Spec {
	t.Helper()
	t.Setenv("HOME", "/home/operator")
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sameSpec fails unless got is want, the file each was read from aside.
func sameSpec(t *testing.T, got, want *Spec) {
	t.Helper()
	g, w := *got, *want
	g.Path, w.Path = "", ""
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("the spec read back differs:\n got %+v\nwant %+v", g, w)
	}
}

// A spec is written in sample.toml's style, and loads back as the same spec.
func TestRenderLoadsBack(t *testing.T) {
	for _, tc := range []struct{ file, golden string }{
		{"../sample.toml", "render-sample.toml"},
		{"../lab/lab.toml", "render-lab.toml"},
		{"../lab/lab-join.toml", "render-lab-join.toml"},
	} {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			s := loadAs(t, tc.file)
			out, err := s.Render()
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.golden, out)
			back, err := Parse(tc.file, out)
			if err != nil {
				t.Fatalf("rendered spec does not load: %v\n%s", err, out)
			}
			sameSpec(t, back, s)
		})
	}
}

// What the operator reads in a saved spec: a comment on the tables and
// keys, optional keys shown with an example, the later blocks plain.
func TestRenderComments(t *testing.T) {
	out, err := loadAs(t, "../sample.toml").Render()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\n[ssh]                    # how scalestore reaches every host; a host's ssh = { … } overrides any key\n",
		"\nport = 22                # sshd port\n",
		"\n# jump = \"admin@bastion:22\"  # optional ProxyJump host, [user@]host[:port]\n",
		"\n# replication_address = \"10.1.0.10\"  # optional separate link for DRBD replication\n",
		"\n[[pair]]                 # a DRBD-mirrored storage pair\nid = 0                   # fixes resource rN",
		"\n[[pair]]\nid = 1\na = { host = \"storage1a\", disk = \"/dev/sdb\" }\nb = { host = \"storage1b\", disk = \"/dev/sdb\" }\n",
		"\n[[host]]\nname = \"client1\"\naddress = \"192.168.0.21\"\n\n[drbd]",
		"\nmount_options = [\"noatime\"]  # added to _netdev in fstab\n",
		"\ndevices = []             # each \"host:/dev/path serial=… size=BYTES\"",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("rendered spec lacks %q:\n%s", want, out)
		}
	}
}

// Every table and key of Spec has its comment, and every optional key an
// example that reads as that key: a key added to Spec without them fails
// here, not silently in the operator's file.
func TestRenderDocumentsEveryKey(t *testing.T) {
	st := reflect.TypeOf(Spec{})
	for i := 0; i < st.NumField(); i++ {
		name, _, ok := tomlTag(st.Field(i))
		if !ok {
			continue
		}
		if docs[name].comment == "" {
			t.Errorf("table %s has no comment in docs (config/render.go)", name)
		}
		tt := st.Field(i).Type
		if tt.Kind() == reflect.Slice {
			tt = tt.Elem()
		}
		for j := 0; j < tt.NumField(); j++ {
			key, optional, ok := tomlTag(tt.Field(j))
			if !ok {
				continue
			}
			d := docs[name+"."+key]
			if d.comment == "" {
				t.Errorf("key %s.%s has no comment in docs (config/render.go)", name, key)
			}
			if !optional || name+"."+key == "ssh.address" { // ssh.address has no place in [ssh]
				continue
			}
			if d.example == "" {
				t.Errorf("optional key %s.%s has no example in docs (config/render.go)", name, key)
				continue
			}
			v := reflect.New(tt)
			md, err := toml.Decode(key+" = "+d.example, v.Interface())
			if err != nil || len(md.Undecoded()) > 0 || v.Elem().Field(j).IsZero() {
				t.Errorf("the example of %s.%s, %s, is not a value of it: %v", name, key, d.example, err)
			}
		}
	}
}

// A spec with every key unset shows every key of every table: the
// required ones with their (empty) value, the optional ones as examples.
func TestRenderShowsEveryKey(t *testing.T) {
	s := Spec{Hosts: []Host{{}}, Pairs: []Pair{{}}, Clients: []Client{{}}}
	out, err := s.Render()
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	st := reflect.TypeOf(s)
	for i := 0; i < st.NumField(); i++ {
		name, _, ok := tomlTag(st.Field(i))
		if !ok {
			continue
		}
		tt, head := st.Field(i).Type, "["+name+"]"
		if tt.Kind() == reflect.Slice {
			tt, head = tt.Elem(), "["+head+"]"
		}
		start := strings.Index(text, "\n"+head)
		if start < 0 {
			t.Errorf("no %s table:\n%s", head, text)
			continue
		}
		table := text[start+1:]
		if end := strings.Index(table, "\n["); end >= 0 {
			table = table[:end]
		}
		for j := 0; j < tt.NumField(); j++ {
			key, _, ok := tomlTag(tt.Field(j))
			if !ok || name+"."+key == "ssh.address" {
				continue
			}
			if !regexp.MustCompile(`(?m)^(# )?` + regexp.QuoteMeta(key) + ` = `).MatchString(table) {
				t.Errorf("key %s.%s is not shown:\n%s", name, key, table)
			}
		}
	}
}

// fill sets every field under v to a value that is not zero and names
// where it is (str(path) for strings, a new number for each integer), lists
// and maps with two entries: nothing of Spec is left out of a test.
func fill(v reflect.Value, path string, str func(string) string, n *int64) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(str(path))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		*n++
		v.SetInt(*n)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), path, str, n)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := 0; i < 2; i++ {
			fill(v.Index(i), fmt.Sprintf("%s[%d]", path, i), str, n)
		}
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		for i := 0; i < 2; i++ {
			k := reflect.New(v.Type().Key()).Elem()
			fill(k, fmt.Sprintf("%s key%d", path, i), str, n)
			e := reflect.New(v.Type().Elem()).Elem()
			fill(e, fmt.Sprintf("%s[%d]", path, i), str, n)
			v.SetMapIndex(k, e)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if _, _, ok := tomlTag(v.Type().Field(i)); ok {
				fill(v.Field(i), path+"."+v.Type().Field(i).Name, str, n)
			}
		}
	default:
		panic("fill: no value for a " + v.Type().String())
	}
}

// renderDecode renders s and decodes the text as TOML (no defaults, no
// validation): what each key says.
func renderDecode(t *testing.T, s *Spec) *Spec {
	t.Helper()
	out, err := s.Render()
	if err != nil {
		t.Fatal(err)
	}
	var back Spec
	md, err := toml.Decode(string(out), &back)
	if err != nil {
		t.Fatalf("rendered spec is not TOML: %v\n%s", err, out)
	}
	if u := md.Undecoded(); len(u) > 0 {
		t.Fatalf("rendered spec holds keys Spec does not: %v\n%s", u, out)
	}
	return &back
}

// Every field of Spec, however deep, is written and read back as it was.
func TestRenderWritesEveryField(t *testing.T) {
	var s Spec
	var n int64
	fill(reflect.ValueOf(&s).Elem(), "spec", func(p string) string { return p }, &n)
	s.Path = ""
	sameSpec(t, renderDecode(t, &s), &s)
}

func TestTOMLString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`/dev/disk/by-id/a"b`, `"/dev/disk/by-id/a\"b"`},
		{`C:\keys\id`, `"C:\\keys\\id"`},
		{"a\nb\tc\rd", `"a\nb\tc\rd"`},
		{"bell\a del\x7f nul\x00 esc\x1b vt\v", `"bell\u0007 del\u007F nul\u0000 esc\u001B vt\u000B"`},
		{"dévice ✓ \u2028", "\"dévice ✓ \u2028\""},
		{"", `""`},
	} {
		got, err := tomlString(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("tomlString(%q) = %s, %v; want %s", tc.in, got, err, tc.want)
			continue
		}
		var back struct{ K string }
		if _, err := toml.Decode("K = "+got, &back); err != nil || back.K != tc.in {
			t.Errorf("%s reads back as %q (%v), want %q", got, back.K, err, tc.in)
		}
	}
	if _, err := tomlString("bad \xff byte"); err == nil {
		t.Error("a string that is not UTF-8 was written")
	}
	s := loadSample(t)
	s.Hosts[1].Address = "\xff"
	if _, err := s.Render(); err == nil || !strings.Contains(err.Error(), "host[1].address") {
		t.Errorf("rendering a host address that is not UTF-8: %v, want an error naming host[1].address", err)
	}
}

// Any strings and numbers in any field are written so that TOML reads them
// back as they were, or refused naming the key when TOML cannot hold them.
func FuzzRender(f *testing.F) {
	f.Add("plain", "k", int64(0))
	f.Add(`quote " and \ backslash`, `a "key".x`, int64(-1))
	f.Add("new\nline \x00 \x7f \u2028 ]] [[pair]] # no comment", "", int64(1<<62))
	f.Fuzz(func(t *testing.T, str, key string, n int64) {
		var s Spec
		fill(reflect.ValueOf(&s).Elem(), "", func(p string) string {
			if strings.HasSuffix(p, "key0") {
				return key
			}
			return p + str
		}, &n)
		s.Path = ""
		out, err := s.Render()
		valid := utf8.ValidString(str) && utf8.ValidString(key)
		if err != nil {
			if valid || !strings.Contains(err.Error(), "not valid UTF-8") {
				t.Fatalf("render: %v", err)
			}
			return
		}
		if !valid {
			t.Fatalf("a string that is not UTF-8 was written:\n%s", out)
		}
		var back Spec
		if _, err := toml.Decode(string(out), &back); err != nil {
			t.Fatalf("rendered spec is not TOML: %v\n%s", err, out)
		}
		sameSpec(t, &back, &s)
	})
}

// randomSpec is a valid spec of a random shape: pairs, clients, per-host
// SSH settings, optional keys set or not, fencing with its targets.
func randomSpec(r *rand.Rand) *Spec {
	coin := func() bool { return r.Intn(2) == 0 }
	s := &Spec{Cluster: Cluster{Name: fmt.Sprintf("c%d_x-%d", r.Intn(100), r.Intn(100))}}
	if coin() {
		s.Cluster.Profile = ProfileCentOS5
	}
	if coin() {
		s.SSH = SSH{Port: 1 + r.Intn(65535), User: "admin", IdentityFile: "keys/id_ed25519", KnownHosts: "~/kh",
			HostKeyPolicy: PolicyAcceptNew, Jump: "admin@bastion.example:2222"}
		yes := coin()
		s.SSH.Sudo = &yes
	}
	addr := 0
	host := func(name string) {
		addr++
		h := Host{Name: name, Address: fmt.Sprintf("10.0.%d.%d", addr/200, 1+addr%200)}
		if coin() {
			h.ReplicationAddress = fmt.Sprintf("10.9.%d.%d", addr/200, 1+addr%200)
		}
		if coin() {
			h.SSH = SSH{Address: "127.0.0.1", Port: 2000 + addr}
			if coin() {
				no := false
				h.SSH.User, h.SSH.Sudo, h.SSH.IdentityFile = "ops", &no, "/etc/keys/"+name
			}
		}
		s.Hosts = append(s.Hosts, h)
	}
	for _, id := range r.Perm(256)[:1+r.Intn(5)] {
		id := id
		a, b := fmt.Sprintf("storage%da", id), fmt.Sprintf("storage%db", id)
		host(a)
		host(b)
		s.Pairs = append(s.Pairs, Pair{ID: &id, A: Half{a, "/dev/sdb"}, B: Half{b, "/dev/disk/by-id/wwn-0x5000c500a1b2c3d4"}})
		if coin() {
			s.Wipe.Devices = append(s.Wipe.Devices, fmt.Sprintf("%s:/dev/sdb serial=S%d size=%d", a, id, 1+r.Int63()))
		}
	}
	for i := 0; i < 1+r.Intn(4); i++ {
		name := fmt.Sprintf("client%d", i)
		host(name)
		c := Client{Host: name}
		if coin() {
			c.NodeID = 10 + i
		}
		if coin() {
			c.Initiator = "iqn.2003-01.org.example:" + name
		}
		s.Clients = append(s.Clients, c)
	}
	s.DRBD = DRBD{Protocol: "C", PortBase: 7000 + r.Intn(1000), SkipInitialSync: coin() && s.Cluster.Profile != ProfileCentOS5, SyncRate: "40M"}
	s.Volume = Volume{VG: "vg_" + s.Cluster.Name, LV: "lv.data", FSName: "fs-1", Journals: r.Intn(20), MountPoint: "/srv/cluster/data"}
	if coin() {
		s.Volume.JournalSizeMB = 8 + r.Intn(1017)
	}
	if coin() {
		s.Volume.MountOptions = []string{"noatime", "quota=on"}[:1+r.Intn(2)]
	}
	s.Fencing.Agent = "none"
	if coin() {
		s.Fencing = Fencing{Agent: "fence_ipmilan", Options: map[string]string{"username": "admin", "lanplus": "1"},
			HostOptions: map[string]map[string]string{}, StorageDelay: r.Intn(121)}
		for _, h := range s.Hosts {
			s.Fencing.HostOptions[h.Name] = map[string]string{"ip": "192.168.7." + h.Address[strings.LastIndex(h.Address, ".")+1:]}
		}
	}
	return s
}

// A spec of any shape loads back from its rendering as the same spec.
func FuzzRenderLoads(f *testing.F) {
	for seed := int64(0); seed < 20; seed++ {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, seed int64) {
		s := randomSpec(rand.New(rand.NewSource(seed)))
		if err := s.Validate(); err != nil {
			t.Fatalf("randomSpec made an invalid spec: %v", err)
		}
		name := filepath.Join(t.TempDir(), "spec.toml")
		out, err := s.Render()
		if err != nil {
			t.Fatal(err)
		}
		back, err := Parse(name, out)
		if err != nil {
			t.Fatalf("rendered spec does not load: %v\n%s", err, out)
		}
		s.Path = name
		s.resolvePaths()
		sameSpec(t, back, s)
	})
}
