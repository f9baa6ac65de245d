package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func loadSample(t *testing.T) *Spec {
	t.Helper()
	s, err := Load("../sample.toml")
	if err != nil {
		t.Fatalf("sample.toml must load: %v", err)
	}
	return s
}

func TestSampleLoads(t *testing.T) {
	s := loadSample(t)
	if s.Cluster.Name != "client" || s.Cluster.Profile != ProfileDebian12 {
		t.Errorf("cluster = %+v", s.Cluster)
	}
	if got := len(s.Pairs); got != 2 {
		t.Fatalf("pairs = %d, want 2", got)
	}
	p1 := s.Pairs[1]
	if p1.Resource() != "r1" || p1.Device() != "/dev/drbd1" || p1.Alias() != "mpath1" || s.Port(p1) != 7789 {
		t.Errorf("pair 1 derived names: %s %s %s %d", p1.Resource(), p1.Device(), p1.Alias(), s.Port(p1))
	}
	if s.Clients[1].NodeID != 2 {
		t.Errorf("client1 nodeid defaulted to %d, want 2", s.Clients[1].NodeID)
	}
	if s.LockTable() != "client:gfs2" || s.LVPath() != "/dev/VG0/LV0" {
		t.Errorf("lock table %q, LV %q", s.LockTable(), s.LVPath())
	}
	home, _ := os.UserHomeDir()
	if s.SSH.KnownHosts != filepath.Join(home, ".ssh/known_hosts") {
		t.Errorf("known_hosts not expanded: %q", s.SSH.KnownHosts)
	}
}

func TestSerialsAndWWIDs(t *testing.T) {
	s := loadSample(t)
	seen := map[string]bool{}
	for id := 0; id < 256; id++ {
		p := Pair{ID: &id}
		ser := s.Serial(p)
		if len(ser) != 36 || ser[8] != '-' || ser[14] != '4' {
			t.Fatalf("serial %q is not UUID-shaped", ser)
		}
		w := s.WWID(p)
		if !strings.HasPrefix(w, "36001405") || len(w) != 33 {
			t.Fatalf("WWID %q", w)
		}
		if seen[w] {
			t.Fatalf("pair %d repeats WWID %s: LIO only uses 25 hex digits of the serial", id, w)
		}
		seen[w] = true
	}
	// Stable: the same cluster and pair always give the same serial.
	if a, b := s.Serial(s.Pairs[0]), s.Serial(s.Pairs[0]); a != b {
		t.Fatal("serial not stable")
	}
	// The recipe's rule: WWID = 36001405 + first 25 hex digits of the serial.
	ser := strings.ReplaceAll(s.Serial(s.Pairs[0]), "-", "")
	if s.WWID(s.Pairs[0]) != "36001405"+ser[:25] {
		t.Fatal("WWID does not follow LIO's NAA rule")
	}
}

func TestIQNs(t *testing.T) {
	s := loadSample(t)
	if got := s.TargetIQN(s.Pairs[0], "storage0b"); got != "iqn.2003-01.org.scalestore:client.storage0b.r0" {
		t.Errorf("target IQN %q", got)
	}
	if got := s.InitiatorIQN(s.Clients[0]); got != "iqn.2003-01.org.scalestore:client.client0" {
		t.Errorf("initiator IQN %q", got)
	}
}

// mutate takes the sample, applies a text edit, and returns the parse error.
func mutate(t *testing.T, old, new string) error {
	t.Helper()
	data, err := os.ReadFile("../sample.toml")
	if err != nil {
		t.Fatal(err)
	}
	src := string(data)
	if !strings.Contains(src, old) {
		t.Fatalf("sample.toml no longer contains %q", old)
	}
	src = strings.Replace(src, old, new, 1)
	_, err = Parse("spec.toml", []byte(src))
	return err
}

func TestBadInput(t *testing.T) {
	cases := []struct {
		name     string
		old, new string
		want     string // substring of the error, including key and line
	}{
		{"unknown key", `sync_rate = "100M"`, `sync_rat = "100M"`, `spec.toml:52: drbd.sync_rat: unknown key (did you mean "drbd.sync_rate"?)`},
		{"unknown key in array table", `name = "storage1b"`, "name = \"storage1b\"\nadress = \"x\"", `spec.toml:38: host.adress: unknown key (did you mean "host.address"?)`},
		{"TOML syntax", `protocol = "C" `, `protocol = C `, `spec.toml:49: TOML:`},
		{"wrong type", `port_base = 7788`, `port_base = "7788"`, `spec.toml:50: drbd.port_base: incompatible types`},
		{"duplicate host name", `name = "storage1b"`, `name = "storage1a"`, `spec.toml:37: host[3].name: host "storage1a" is listed twice`},
		{"duplicate address", `address = "192.168.0.13"`, `address = "192.168.0.12"`, `host[3].address: address 192.168.0.12 is already used by host "storage1a"`},
		{"bad address", `address = "192.168.0.13"`, `address = "192.168.0.300"`, `host[3].address: "192.168.0.300" is neither an IP address nor a host name`},
		{"bad host name", `name = "client1"`, `name = "client_1"`, `host[5].name: "client_1" is not a valid host name`},
		{"same host twice in a pair", `b = { host = "storage0b", disk = "/dev/sdb" }`, `b = { host = "storage0a", disk = "/dev/sdb" }`, `pair[0].b.host: both halves of the pair are on host "storage0a"`},
		{"host in two pairs", `a = { host = "storage1a", disk = "/dev/sdb" }`, `a = { host = "storage0b", disk = "/dev/sdb" }`, `spec.toml:61: pair[1].a.host: host "storage0b" is already a half of another pair`},
		{"storage and client", "[[client]]\nhost = \"client1\"", "[[client]]\nhost = \"storage1b\"", `client[1].host: host "storage1b" is both a storage server and a client`},
		{"unknown host", `a = { host = "storage1a", disk = "/dev/sdb" }`, `a = { host = "storage9a", disk = "/dev/sdb" }`, `pair[1].a.host: "storage9a" is not a [[host]] in this file`},
		{"missing disk", `b = { host = "storage1b", disk = "/dev/sdb" }`, `b = { host = "storage1b" }`, `spec.toml:62: pair[1].b.disk: missing`},
		{"relative disk", `b = { host = "storage1b", disk = "/dev/sdb" }`, `b = { host = "storage1b", disk = "sdb" }`, `pair[1].b.disk: "sdb" is not an absolute /dev/... device path`},
		{"disk outside /dev", `b = { host = "storage1b", disk = "/dev/sdb" }`, `b = { host = "storage1b", disk = "/dev/../etc/passwd" }`, `is not an absolute /dev/... device path`},
		{"shell in disk", `b = { host = "storage1b", disk = "/dev/sdb" }`, `b = { host = "storage1b", disk = "/dev/sdb;reboot" }`, `pair[1].b.disk: "/dev/sdb;reboot" is not an absolute`},
		{"shell in cluster name", `name = "client" `, `name = "x$(reboot)" `, `cluster.name: "x$(reboot)" is not a valid cluster name`},
		{"fs name too long", `fs_name = "gfs2"`, `fs_name = "a_very_long_filesystem_name_over30"`, `volume.fs_name: "a_very_long_filesystem_name_over30" is not a valid GFS2 fs name: 1-30`},
		{"bad VG name", `vg = "VG0"`, `vg = "-VG0"`, `volume.vg: "-VG0" is not a valid VG name`},
		{"reserved LV name", `lv = "LV0"`, `lv = "snapshot0"`, `volume.lv: "snapshot0" starts with a prefix lvm(8) reserves`},
		{"LV reserved infix", `lv = "LV0"`, `lv = "x_tmeta"`, `contains "_tmeta"`},
		{"no journals", `journals = 4`, `journals = -1`, `volume.journals: -1 journals: GFS2 needs at least one`},
		{"bad ssh port", `port = 22 `, `port = 70000 `, `ssh.port: 70000 is not a TCP port`},
		{"bad port base", `port_base = 7788`, `port_base = -1`, `drbd.port_base: -1 is not a TCP port`},
		{"bad policy", `host_key_policy = "strict"`, `host_key_policy = "yes"`, `ssh.host_key_policy: "yes" is not a policy`},
		{"bad profile", `profile = "debian12"`, `profile = "ubuntu"`, `cluster.profile: "ubuntu" is not a profile`},
		{"protocol A", `protocol = "C"`, `protocol = "A"`, `drbd.protocol: dual-primary pairs need protocol C`},
		{"bad rate", `sync_rate = "100M"`, `sync_rate = "fast"`, `drbd.sync_rate: "fast" is not a rate`},
		{"bad mount point", `mount_point = "/mnt/gfs2"`, `mount_point = "mnt"`, `volume.mount_point: "mnt" is not a clean absolute path`},
		{"system mount point", `mount_point = "/mnt/gfs2"`, `mount_point = "/"`, `is a system directory`},
		{"bad mount option", `mount_options = ["noatime"]`, `mount_options = ["noatime;rm"]`, `volume.mount_options[0]: "noatime;rm" is not a mount option`},
		{"fencing missing", `agent = "none"`, `# agent`, `fencing.agent: missing: name a fence agent`},
		{"fencing secret", `agent = "none"`, "agent = \"fence_ipmilan\"\noptions = { ip = \"10.0.0.1\", password = \"hunter2\" }", `fencing.options.password: secrets are not written in the spec`},
		{"bad agent", `agent = "none"`, `agent = "ipmi"`, `fencing.agent: "ipmi" is not a fence agent name`},
		{"wipe unknown device", `devices = []`, `devices = ["storage0a:/dev/sdc"]`, `wipe.devices[0]: "storage0a:/dev/sdc" is not the disk of any pair half`},
		{"wipe bad form", `devices = []`, `devices = ["/dev/sdb"]`, `wipe.devices[0]: "/dev/sdb": write each device as "host:/dev/path"`},
		{"duplicate pair id", "id = 1 ", "id = 0 ", `pair[1].id: id 0 is already used by pair[0]`},
		{"jump bad", `# jump = "admin@bastion:22"`, `jump = "admin@bas tion:22"`, `ssh.jump: "admin@bas tion:22": host "bas tion"`},
		{"centos5 skip sync", `skip_initial_sync = false`, "skip_initial_sync = true", ``},
		{"bad initiator", `host = "client0"`, "host = \"client0\"\ninitiator = \"iqn.x\"", `client[0].initiator: "iqn.x" is not an iSCSI IQN`},
		{"no pairs", "[[pair]]", "[[pairs]]", `pairs: unknown key`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := mutate(t, c.old, c.new)
			if c.name == "centos5 skip sync" {
				if err != nil {
					t.Fatalf("debian12 may skip the initial sync: %v", err)
				}
				err = mutate2(t, [][2]string{{c.old, c.new}, {`profile = "debian12"`, `profile = "centos5"`}})
				c.want = "drbd.skip_initial_sync: DRBD 8.2 (profile centos5) has no new-current-uuid"
			}
			if err == nil {
				t.Fatalf("bad input accepted")
			}
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("error is %T, want Problems: %v", err, err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error does not say %q:\n%v", c.want, err)
			}
		})
	}
}

func mutate2(t *testing.T, edits [][2]string) error {
	data, _ := os.ReadFile("../sample.toml")
	src := string(data)
	for _, e := range edits {
		src = strings.Replace(src, e[0], e[1], 1)
	}
	_, err := Parse("spec.toml", []byte(src))
	return err
}

func TestAllProblemsReportedSorted(t *testing.T) {
	err := mutate2(t, [][2]string{
		{`fs_name = "gfs2"`, `fs_name = "bad name"`},
		{`name = "client" `, `name = "bad name" `},
	})
	var ps Problems
	if !errors.As(err, &ps) || len(ps) != 2 {
		t.Fatalf("want 2 problems, got %v", err)
	}
	if ps[0].Key != "cluster.name" || ps[1].Key != "volume.fs_name" || ps[0].Line >= ps[1].Line {
		t.Fatalf("problems not in file order: %v", ps)
	}
}

func TestDefaults(t *testing.T) {
	src := `
[cluster]
name = "c"
[[host]]
name = "s0a"
address = "10.0.0.1"
[[host]]
name = "s0b"
address = "10.0.0.2"
[[host]]
name = "c0"
address = "10.0.0.3"
[[pair]]
a = { host = "s0a", disk = "/dev/vdb" }
b = { host = "s0b", disk = "/dev/vdb" }
[[client]]
host = "c0"
[fencing]
agent = "none"
`
	s, err := Parse("min.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if s.Volume.VG != "VG0" || s.Volume.LV != "LV0" || s.Volume.Journals != 3 || s.Cluster.Profile != "debian12" ||
		s.DRBD.PortBase != 7788 || s.Pairs[0].Num() != 0 || s.SSH.User != "root" || s.SSH.HostKeyPolicy != "strict" {
		t.Fatalf("defaults not applied: %+v", s)
	}
}

func TestNoNUL(t *testing.T) {
	_, err := Parse("x.toml", []byte("a = 1\x00"))
	if err == nil || !strings.Contains(err.Error(), "NUL") {
		t.Fatalf("NUL accepted: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	data, err := os.ReadFile("../sample.toml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte("[[host]]\nname = 1\n[[host]]\n[host.ssh]\nport = -1\n"))
	f.Add([]byte("[[pair]]\na = { host = \"x\" }\n"))
	// The tester's 8 KB input the decoder took 14 s on, and its kin.
	f.Add([]byte(nestedInline(2000)))
	f.Add([]byte("a = " + strings.Repeat("[", 3000) + strings.Repeat("]", 3000)))
	f.Add([]byte("a" + strings.Repeat(".b", 3000) + " = 1\n"))
	f.Add([]byte(`a = """{[.\"""" # {{{{{{{{` + "\nb = '''[[[[[[[[[\n'''\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse("fuzz.toml", b)
		if err == nil {
			// Anything accepted must be fully valid and plannable.
			if s.Cluster.Name == "" || len(s.Pairs) == 0 || len(s.Clients) == 0 {
				t.Fatalf("accepted an incomplete spec: %+v", s)
			}
			return
		}
		var ps Problems
		if !errors.As(err, &ps) {
			t.Fatalf("error of type %T: %v", err, err)
		}
		for _, p := range ps {
			if p.Msg == "" {
				t.Fatalf("problem without a message: %+v", p)
			}
		}
	})
}
