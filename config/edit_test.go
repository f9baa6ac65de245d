package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// copySpec copies a spec file into a temporary directory.
func copySpec(t *testing.T, from string) (path, text string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(t.TempDir(), "c.toml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, string(data)
}

func readText(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func pair(id int, a, b, disk string) Pair {
	return Pair{ID: &id, A: Half{Host: a, Disk: disk}, B: Half{Host: b, Disk: disk}}
}

// The new hosts go after the last [[host]], the pair after the last
// [[pair]], in the file's style; the rest of the file is as it was.
func TestAppendPairPlacesBlocks(t *testing.T) {
	path, old := copySpec(t, "../sample.toml")
	err := AppendPair(path, pair(2, "storage2a", "storage2b", "/dev/sdb"),
		Host{Name: "storage2a", Address: "192.168.0.14"}, Host{Name: "storage2b", Address: "192.168.0.15"})
	if err != nil {
		t.Fatal(err)
	}
	out := readText(t, path)
	golden(t, "append-pair-sample.toml", []byte(out))
	hosts := "\n[[host]]\nname = \"storage2a\"\naddress = \"192.168.0.14\"\n\n[[host]]\nname = \"storage2b\"\naddress = \"192.168.0.15\"\n"
	pairs := "\n[[pair]]\nid = 2\na = { host = \"storage2a\", disk = \"/dev/sdb\" }\nb = { host = \"storage2b\", disk = \"/dev/sdb\" }\n"
	for _, want := range []string{
		"address = \"192.168.0.21\"\n" + hosts + "\n[drbd]",
		"b = { host = \"storage1b\", disk = \"/dev/sdb\" }\n" + pairs + "\n[[client]]",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the file lacks\n%s\nin:\n%s", want, out)
		}
	}
	if rest := strings.Replace(strings.Replace(out, hosts, "", 1), pairs, "", 1); rest != old {
		t.Errorf("without the new blocks the file is not what it was:\n%s", rest)
	}
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Pairs) != 3 || s.Pairs[2].Alias() != "mpath2" || s.Host("storage2b") == nil {
		t.Fatalf("pair not added: %+v", s.Pairs)
	}
}

// A pair given without an id gets the next free one, written out.
func TestAppendPairNumbersIt(t *testing.T) {
	path, _ := copySpec(t, "../sample.toml")
	p := Pair{A: Half{Host: "storage2a", Disk: "/dev/sdc"}, B: Half{Host: "storage2b", Disk: "/dev/sdc"}}
	if err := AppendPair(path, p, Host{Name: "storage2a", Address: "192.168.0.14"}, Host{Name: "storage2b", Address: "192.168.0.15"}); err != nil {
		t.Fatal(err)
	}
	if out := readText(t, path); !strings.Contains(out, "\n[[pair]]\nid = 2\na = { host = \"storage2a\"") {
		t.Fatalf("the new pair's id is not written:\n%s", out)
	}
}

// A host appended with SSH settings of its own keeps every one of them.
func TestAppendHostKeepsSSH(t *testing.T) {
	path, _ := copySpec(t, "../sample.toml")
	yes := true
	h := Host{Name: "storage2a", Address: "192.168.0.14", SSH: SSH{User: "ops", Sudo: &yes, IdentityFile: "/etc/keys/ops",
		KnownHosts: "/etc/keys/known", HostKeyPolicy: PolicyAcceptNew, Jump: "admin@bastion:2222"}}
	if err := AppendPair(path, pair(2, "storage2a", "storage2b", "/dev/sdb"), h, Host{Name: "storage2b", Address: "192.168.0.15"}); err != nil {
		t.Fatal(err)
	}
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	got := s.Host("storage2a").SSH
	if !reflect.DeepEqual(got, h.SSH) {
		t.Fatalf("storage2a's ssh settings read back as %+v, want %+v", got, h.SSH)
	}
}

// A quote or backslash in a value cannot break out of its string: the
// value is refused by name, the file left as it was.
func TestAppendPairRefusesQuotes(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Pair
		h    Host
		key  string
	}{
		{"quote in disk", pair(2, "storage2a", "storage2b", `/dev/sdb" }`), Host{Name: "storage2a", Address: "192.168.0.14"}, "pair[2].a.disk"},
		{"backslash in disk", pair(2, "storage2a", "storage2b", `/dev/sd\b`), Host{Name: "storage2a", Address: "192.168.0.14"}, "pair[2].a.disk"},
		{"quote in address", pair(2, "storage2a", "storage2b", "/dev/sdb"), Host{Name: "storage2a", Address: `192.168.0.14"`}, "host[6].address"},
		{"newline in address", pair(2, "storage2a", "storage2b", "/dev/sdb"), Host{Name: "storage2a", Address: "192.168.0.14\n[wipe]"}, "host[6].address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, old := copySpec(t, "../sample.toml")
			err := AppendPair(path, tc.p, tc.h, Host{Name: "storage2b", Address: "192.168.0.15"})
			if err == nil || !strings.Contains(err.Error(), tc.key+": ") {
				t.Fatalf("got %v, want an error naming %s", err, tc.key)
			}
			if readText(t, path) != old {
				t.Fatal("a refused append changed the file")
			}
		})
	}
}

// The inserted blocks hold each value TOML-escaped: they read back as they
// were, whatever the characters.
func TestInsertedBlocksEscape(t *testing.T) {
	p := pair(7, `a"b`, `c\d`, "/dev/x\" }\n[[pair]]\nid = 9 # \\")
	h := Host{Name: "n\"\\", Address: "\t\x01\x7f ✓", SSH: SSH{Jump: `j"`}}
	hosts, err := renderBlocks("host", []Host{h})
	if err != nil {
		t.Fatal(err)
	}
	pairs, err := renderBlocks("pair", []Pair{p})
	if err != nil {
		t.Fatal(err)
	}
	doc := insertBlocks("[[host]]\nname = \"x\"\n\n[[pair]]\nid = 0\n", []insertion{{"host", hosts}, {"pair", pairs}})
	var got struct {
		Host []Host `toml:"host"`
		Pair []Pair `toml:"pair"`
	}
	if _, err := toml.Decode(doc, &got); err != nil {
		t.Fatalf("%v:\n%s", err, doc)
	}
	if len(got.Host) != 2 || !reflect.DeepEqual(got.Host[1], h) || len(got.Pair) != 2 || !reflect.DeepEqual(got.Pair[1], p) {
		t.Fatalf("read back %+v, want host %+v and pair %+v:\n%s", got, h, p, doc)
	}
}

// AppendClient adds the client after the last [[client]] and its host
// after the last [[host]], and it loads as a client of the cluster.
func TestAppendClient(t *testing.T) {
	path, old := copySpec(t, "../sample.toml")
	if err := AppendClient(path, Client{Host: "client2"}, Host{Name: "client2", Address: "192.168.0.22"}); err != nil {
		t.Fatal(err)
	}
	out := readText(t, path)
	golden(t, "append-client-sample.toml", []byte(out))
	hosts := "\n[[host]]\nname = \"client2\"\naddress = \"192.168.0.22\"\n"
	clients := "\n[[client]]\nhost = \"client2\"\n"
	for _, want := range []string{
		"address = \"192.168.0.21\"\n" + hosts + "\n[drbd]",
		"\nhost = \"client1\"\n" + clients + "\n[volume]",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the file lacks\n%s\nin:\n%s", want, out)
		}
	}
	if rest := strings.Replace(strings.Replace(out, hosts, "", 1), clients, "", 1); rest != old {
		t.Errorf("without the new blocks the file is not what it was:\n%s", rest)
	}
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.ClientHosts(); !reflect.DeepEqual(got, []string{"client0", "client1", "client2"}) || s.Clients[2].NodeID != 3 {
		t.Fatalf("clients %v (%+v), want client2 third with node id 3", got, s.Clients)
	}

	// A client whose host is already in the file needs no new host; one
	// that names no host of the file, or a storage server, is refused.
	path, _ = copySpec(t, "../lab/lab-grow.toml")
	if err := AppendClient(path, Client{Host: "client2", Initiator: "iqn.2003-01.org.example:c2"}); err != nil {
		t.Fatal(err)
	}
	if s, err := Load(path); err != nil || len(s.Clients) != 3 || s.Clients[2].Initiator != "iqn.2003-01.org.example:c2" {
		t.Fatalf("client2 of lab-grow: %v %+v", err, s)
	}
	for _, c := range []struct{ host, key string }{{"nope", "client[3].host"}, {"storage0a", "client[3].host"}} {
		before := readText(t, path)
		if err := AppendClient(path, Client{Host: c.host}); err == nil || !strings.Contains(err.Error(), c.key) {
			t.Errorf("client %s: %v, want an error naming %s", c.host, err, c.key)
		}
		if readText(t, path) != before {
			t.Errorf("a refused client %s changed the file", c.host)
		}
	}
}

// The real sample.toml with a pair and a client appended: every comment
// line of it is still there, byte for byte and in order, and so is every
// other line.
func TestAppendKeepsSampleComments(t *testing.T) {
	path, old := copySpec(t, "../sample.toml")
	err := AppendPair(path, pair(2, "storage2a", "storage2b", "/dev/sdb"),
		Host{Name: "storage2a", Address: "192.168.0.14"}, Host{Name: "storage2b", Address: "192.168.0.15"})
	if err != nil {
		t.Fatal(err)
	}
	if err := AppendClient(path, Client{Host: "client2"}, Host{Name: "client2", Address: "192.168.0.22"}); err != nil {
		t.Fatal(err)
	}
	out := strings.Split(readText(t, path), "\n")
	comments := 0
	i := 0
	for n, line := range strings.Split(old, "\n") {
		for i < len(out) && out[i] != line {
			i++
		}
		if i == len(out) {
			t.Fatalf("sample.toml line %d is lost or out of order: %q", n+1, line)
		}
		i++
		if strings.Contains(line, "#") {
			comments++
		}
	}
	if comments < 40 {
		t.Fatalf("only %d comment lines in sample.toml: is it the real one?", comments)
	}
}

// Where a new [[host]] goes, in files laid out in every way TOML allows.
func TestInsertionPoint(t *testing.T) {
	const block = "\n[[host]]\nname = \"new\"\n"
	for _, tc := range []struct{ name, src, want string }{
		{"comment under the last key is the block's",
			"[[host]]\nname = \"a\"\n# ssh = {}\n\n[drbd]\n",
			"[[host]]\nname = \"a\"\n# ssh = {}\n" + block + "\n[drbd]\n"},
		{"comment over the next header is the header's",
			"[[host]]\nname = \"a\"\n\n# the DRBD options\n[drbd]\n",
			"[[host]]\nname = \"a\"\n" + block + "\n# the DRBD options\n[drbd]\n"},
		{"comment between the key and the next header, no blank line",
			"[[host]]\nname = \"a\"\n# DRBD\n[drbd]\n",
			"[[host]]\nname = \"a\"\n" + block + "# DRBD\n[drbd]\n"},
		{"a sub-table belongs to the host above it",
			"[[host]]\nname = \"a\"\n[host.ssh]\nport = 2\n[drbd]\n",
			"[[host]]\nname = \"a\"\n[host.ssh]\nport = 2\n" + block + "[drbd]\n"},
		{"a sub-table further down too",
			"[[host]]\nname = \"a\"\n[drbd]\nx = 1\n[ \"host\" . 'ssh' ]\nport = 2\n\n[[pair]]\n",
			"[[host]]\nname = \"a\"\n[drbd]\nx = 1\n[ \"host\" . 'ssh' ]\nport = 2\n" + block + "\n[[pair]]\n"},
		{"headers and comments inside a multi-line string are text",
			"[[host]]\nname = \"a\"\nnote = \"\"\"\n# x\n[[pair]]\n\"\"\"\n[[pair]]\n",
			"[[host]]\nname = \"a\"\nnote = \"\"\"\n# x\n[[pair]]\n\"\"\"\n" + block + "[[pair]]\n"},
		{"a literal one with quotes at its end",
			"[[host]]\nname = \"a\"\nnote = '''\n[x]\n'''''\n[drbd]\n",
			"[[host]]\nname = \"a\"\nnote = '''\n[x]\n'''''\n" + block + "[drbd]\n"},
		{"arrays over lines, nested, with comments",
			"[[host]]\nname = \"a\"\nl = [\n  [1, 2], # [drbd]\n  [\"]\"],\n]\n\n[drbd]\n",
			"[[host]]\nname = \"a\"\nl = [\n  [1, 2], # [drbd]\n  [\"]\"],\n]\n" + block + "\n[drbd]\n"},
		{"the last block at the end, no newline",
			"[drbd]\n[[host]]\nname = \"a\"",
			"[drbd]\n[[host]]\nname = \"a\"\n" + block},
		{"no [[host]]: at the end",
			"[drbd]\nx = 1\n",
			"[drbd]\nx = 1\n" + block},
		{"quoted header, CRLF lines",
			"[[ \"host\" ]] # h\r\nname = \"a\"\r\n\r\n[drbd]\r\n",
			"[[ \"host\" ]] # h\r\nname = \"a\"\r\n" + strings.ReplaceAll(block, "\n", "\r\n") + "\r\n[drbd]\r\n"},
		{"[[hosts]] and [[host.x]] are not [[host]]",
			"[[host]]\nname = \"a\"\n[[hosts]]\n[[host.x]]\ny = 1\n[[hosts]]\n",
			"[[host]]\nname = \"a\"\n[[hosts]]\n[[host.x]]\ny = 1\n" + block + "[[hosts]]\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := insertBlocks(tc.src, []insertion{{"host", block}})
			if got != tc.want {
				t.Fatalf("got\n%q\nwant\n%q", got, tc.want)
			}
			checkInserted(t, tc.src, got)
		})
	}
}

// checkInserted fails unless after reads as before with one more host, the
// last, named "new".
func checkInserted(t *testing.T, before, after string) {
	t.Helper()
	var a, b map[string]any
	if _, err := toml.Decode(before, &a); err != nil {
		t.Fatalf("the test's input is not TOML: %v", err)
	}
	if _, err := toml.Decode(after, &b); err != nil {
		t.Fatalf("not TOML after the insertion: %v\n%s", err, after)
	}
	old, _ := a["host"].([]map[string]any)
	hosts, ok := b["host"].([]map[string]any)
	if !ok || len(hosts) != len(old)+1 || !reflect.DeepEqual(hosts[len(hosts)-1], map[string]any{"name": "new"}) {
		t.Fatalf("the new host is not the last of the hosts: %v\n%s", b["host"], after)
	}
	if len(old) == 0 {
		delete(b, "host")
	} else {
		b["host"] = hosts[:len(old)]
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("the rest of the document changed:\n%v\n%v", a, b)
	}
}

// In any TOML document with [[host]] tables, a [[host]] block inserted
// where insertBlocks puts it is the last host, and nothing else changes.
func FuzzInsertBlocks(f *testing.F) {
	for _, p := range []string{"../sample.toml", "../lab/lab.toml", "testdata/render-sample.toml"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data))
	}
	f.Add("[[host]]\nname = \"a\"\nnote = \"\"\"\n# x\n[[pair]]\n\"\"\"\n[[pair]]\n")
	f.Add("[[host]]\nname = \"a\"\n[drbd]\nx = 1\n[ \"host\" . 'ssh' ]\nport = 2\n\n[[pair]]\n")
	f.Add("[[host]]\nl = [\n  [1, 2], # [drbd]\n  [\"]\"],\n]\n# c\n[[host.x]]\n'q' = '''\n[a]'''")
	f.Fuzz(func(t *testing.T, src string) {
		var m map[string]any
		if len(src) > 4096 {
			return
		}
		if _, err := toml.Decode(src, &m); err != nil {
			return
		}
		if _, ok := m["host"].([]map[string]any); !ok {
			return
		}
		hasHeader := false
		for _, l := range scanLayout(src) {
			hasHeader = hasHeader || l.kind == headerLine && reflect.DeepEqual(l.table, []string{"host"}) && l.array
		}
		if !hasHeader {
			return // host = [ … ] written inline: AppendPair's Parse refuses the result
		}
		checkInserted(t, src, insertBlocks(src, []insertion{{"host", "\n[[host]]\nname = \"new\"\n"}}))
	})
}
