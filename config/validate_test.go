package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

func TestMountPoint(t *testing.T) {
	refused := []string{
		"/", "/home", "/var", "/srv", "/usr", "/etc", "/boot", "/opt", "/root", "/tmp", "/mnt", "/media",
		"/proc", "/sys", "/dev", "/run", "/bin", "/sbin", "/lib", "/lib64",
		"/var/lib", "/var/log", "/usr/local", "/var/tmp",
		"/proc/gfs2", "/sys/fs/gfs2", "/dev/shm", "/run/gfs2", "/etc/gfs2", "/boot/efi", "/usr/local/gfs2",
		"/tmp/gfs2", "/var/lib/iscsi", "/var/lib/drbd/x",
	}
	for _, mp := range refused {
		err := mutate(t, `mount_point = "/mnt/gfs2"`, `mount_point = "`+mp+`"`)
		if want := "volume.mount_point: " + `"` + mp + `" is a system directory`; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("mount point %s accepted; want %q, got %v", mp, want, err)
		}
	}
	for _, mp := range []string{"mnt/gfs2", "gfs2", "/mnt/../etc", "/mnt/gfs2/", "/mnt//gfs2", "/mnt/./gfs2", "/mnt/a..b", "/mnt/gfs 2"} {
		err := mutate(t, `mount_point = "/mnt/gfs2"`, `mount_point = "`+mp+`"`)
		if want := "volume.mount_point: " + `"` + mp + `" is not a clean absolute path`; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("mount point %s accepted; want %q, got %v", mp, want, err)
		}
	}
	for _, mp := range []string{"/mnt/gfs2", "/srv/gfs2", "/gfs2", "/data/shared", "/var/lib/libvirt/images", "/home/shared", "/devdata", "/sysroot2", "/proc2", "/optical"} {
		if err := mutate(t, `mount_point = "/mnt/gfs2"`, `mount_point = "`+mp+`"`); err != nil {
			t.Errorf("mount point %s refused: %v", mp, err)
		}
	}
}

// The 32-character cluster name limit comes from mkfs.gfs2's lock table
// (and DLM's cluster name); the fs name half has 30.
func TestNameLimits(t *testing.T) {
	for _, c := range []struct {
		old, key string
		max      int
	}{
		{`name = "client" `, "cluster.name", 32},
		{`fs_name = "gfs2"`, "volume.fs_name", 30},
	} {
		field := strings.Fields(c.old)[0]
		ok := mutate(t, c.old, field+` = "`+strings.Repeat("a", c.max)+`" `)
		if ok != nil {
			t.Errorf("%s of %d characters refused: %v", c.key, c.max, ok)
		}
		long := strings.Repeat("a", c.max+1)
		err := mutate(t, c.old, field+` = "`+long+`" `)
		var ps Problems
		if !errors.As(err, &ps) || len(ps) != 1 || ps[0].Key != c.key || !strings.Contains(ps[0].Msg, long) {
			t.Errorf("%s of %d characters: want one problem naming it, got %v", c.key, c.max+1, err)
		}
	}
}

// hostsSpec is a minimal spec whose [[host]] blocks come in the order given.
func hostsSpec(hosts ...string) string {
	return "[cluster]\nname = \"c\"\n" + strings.Join(hosts, "") + `
[[host]]
name = "c0"
address = "10.0.0.9"
[[pair]]
a = { host = "s0a", disk = "/dev/vdb" }
b = { host = "s0b", disk = "/dev/vdb" }
[[client]]
host = "c0"
[fencing]
agent = "none"
`
}

// A replication address clashing with another host's address, or with its
// replication address, is found whichever host comes first.
func TestReplicationAddressClash(t *testing.T) {
	cases := []struct {
		name   string
		a, b   string // the [[host]] blocks of s0a and s0b
		clash  string // the address reported, "" when none
		holder string // the host of the replication_address reported ("" = either)
	}{
		{"replication on the other's address",
			"[[host]]\nname = \"s0a\"\naddress = \"10.0.0.1\"\nreplication_address = \"10.0.0.2\"\n",
			"[[host]]\nname = \"s0b\"\naddress = \"10.0.0.2\"\n", "10.0.0.2", "s0a"},
		{"same replication address",
			"[[host]]\nname = \"s0a\"\naddress = \"10.0.0.1\"\nreplication_address = \"10.1.0.1\"\n",
			"[[host]]\nname = \"s0b\"\naddress = \"10.0.0.2\"\nreplication_address = \"10.1.0.1\"\n", "10.1.0.1", ""},
		{"replication on the client's address",
			"[[host]]\nname = \"s0a\"\naddress = \"10.0.0.1\"\nreplication_address = \"10.0.0.9\"\n",
			"[[host]]\nname = \"s0b\"\naddress = \"10.0.0.2\"\n", "10.0.0.9", "s0a"},
		{"own address again is fine",
			"[[host]]\nname = \"s0a\"\naddress = \"10.0.0.1\"\nreplication_address = \"10.0.0.1\"\n",
			"[[host]]\nname = \"s0b\"\naddress = \"10.0.0.2\"\nreplication_address = \"10.1.0.2\"\n", "", ""},
	}
	for _, c := range cases {
		for order, src := range map[string]string{"a first": hostsSpec(c.a, c.b), "b first": hostsSpec(c.b, c.a)} {
			t.Run(c.name+", "+order, func(t *testing.T) {
				_, err := Parse("spec.toml", []byte(src))
				if c.clash == "" {
					if err != nil {
						t.Fatal(err)
					}
					return
				}
				var ps Problems
				if !errors.As(err, &ps) || len(ps) != 1 {
					t.Fatalf("want one problem, got %v", err)
				}
				p := ps[0]
				if !strings.HasSuffix(p.Key, ".replication_address") || !strings.Contains(p.Msg, "address "+c.clash+" is already used by host ") {
					t.Fatalf("want the clash on %s reported at a replication_address, got %v", c.clash, p)
				}
				if holder := hostAt(t, src, p.Key); c.holder != "" && holder != c.holder {
					t.Fatalf("reported at %s (host %s), want host %s's replication_address", p.Key, holder, c.holder)
				}
			})
		}
	}
}

// hostAt names the host of a "host[N]...." key in src.
func hostAt(t *testing.T, src, key string) string {
	t.Helper()
	var s Spec
	if _, err := toml.Decode(src, &s); err != nil {
		t.Fatal(err)
	}
	var n int
	if _, err := fmt.Sscanf(key, "host[%d]", &n); err != nil || n >= len(s.Hosts) {
		t.Fatalf("key %q names no host", key)
	}
	return s.Hosts[n].Name
}

// Problems the tests above do not reach, found by mutation testing
// (gremlins): each edit to the sample is refused with its key and reason.
func TestBadInputMore(t *testing.T) {
	const host0 = `name = "storage0a"`
	cases := []struct {
		name     string
		old, new string
		want     string
	}{
		{"ssh address in defaults", `user = "root" `, "user = \"root\"\naddress = \"10.0.0.1\"\n", `ssh.address: belongs in a host's ssh = { address = … }`},
		{"bad host ssh address", host0, host0 + "\nssh = { address = \"bad host\" }", `host[0].ssh.address: "bad host" is neither an IP address nor a host name`},
		{"bad ssh user", `user = "root" `, `user = "Root" `, `ssh.user: "Root" is not a valid user name`},
		{"bad identity file", `identity_file = "~/.ssh/id_ed25519"`, `identity_file = "~/.ssh/id;rm"`, `ssh.identity_file: "~/.ssh/id;rm" holds characters not allowed in a path here`},
		{"bad known_hosts", `known_hosts = "~/.ssh/known_hosts"`, `known_hosts = "$HOME/kh"`, `ssh.known_hosts: "$HOME/kh" holds characters not allowed`},
		{"jump port 0", `# jump = "admin@bastion:22"`, `jump = "admin@bastion:0"`, `ssh.jump: "admin@bastion:0": port "0" is not a TCP port`},
		{"jump port 65536", `# jump = "admin@bastion:22"`, `jump = "bastion:65536"`, `ssh.jump: "bastion:65536": port "65536" is not a TCP port`},
		{"jump bad user", `# jump = "admin@bastion:22"`, `jump = "Admin@bastion"`, `ssh.jump: "Admin@bastion": user "Admin" is not valid`},
		{"missing host name", host0, `name = ""`, `host[0].name: missing: every host needs a name`},
		{"missing host address", `address = "192.168.0.13"`, `address = ""`, `host[3].address: missing: the host's cluster LAN address`},
		{"bad replication address", `address = "192.168.0.13"`, "address = \"192.168.0.13\"\nreplication_address = \"10.0.0.300\"", `host[3].replication_address: "10.0.0.300" is neither an IP address nor a host name`},
		{"pair id 256", "id = 1 ", "id = 256 ", `pair[1].id: 256 is out of range: 0-255`},
		{"pair id -1", "id = 1 ", "id = -1 ", `pair[1].id: -1 is out of range: 0-255`},
		{"port past 65535", `port_base = 7788`, `port_base = 65535`, `pair[1].id: port_base 65535 + id 1 is past port 65535`},
		{"nodeid 0 is the default, -1 is refused", "[[client]]\nhost = \"client1\"", "[[client]]\nhost = \"client1\"\nnodeid = -1", `client[1].nodeid: -1 is not a corosync node id`},
		{"duplicate nodeid", "[[client]]\nhost = \"client1\"", "[[client]]\nhost = \"client1\"\nnodeid = 1", `client[1].nodeid: node id 1 is already used by client "client0"`},
		{"client listed twice", "[[client]]\nhost = \"client1\"", "[[client]]\nhost = \"client0\"", `client[1].host: client "client0" is listed twice`},
		{"fence option value", `agent = "none"`, "agent = \"fence_ipmilan\"\noptions = { ip = \"10.0.0.1 ; reboot\" }", `fencing.options.ip: "10.0.0.1 ; reboot" holds characters not allowed in a fence option`},
		{"fence option name", `agent = "none"`, "agent = \"fence_ipmilan\"\noptions = { \"Ip\" = \"10.0.0.1\" }", `fencing.options: option name "Ip" is not valid`},
		{"host options of an unknown host", `agent = "none"`, "agent = \"fence_ipmilan\"\nhost_options = { storage9a = { plug = \"1\" } }", `fencing.host_options.storage9a: "storage9a" is not a host of the spec`},
		{"options with agent none", `agent = "none"`, "agent = \"none\"\noptions = { ip = \"10.0.0.1\" }", `fencing.options: options given while agent = "none"`},
		{"journal size", `journals = 4 `, "journals = 4\njournal_size_mb = 4 ", `volume.journal_size_mb: 4 is out of range: mkfs.gfs2 takes 8 to 1024 MB`},
		{"too many journals", `journals = 4 `, `journals = 1025 `, `volume.journals: 1025 journals is more than GFS2 supports`},
		{"LV name too long", `vg = "VG0"`, `vg = "` + strings.Repeat("v", 124) + `"`, `volume.lv: VG and LV names together exceed LVM's 127 characters`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := mutate(t, c.old, c.new)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want %q, got: %v", c.want, err)
			}
		})
	}
}

// The limits just inside the ranges above are accepted.
func TestBoundsAccepted(t *testing.T) {
	for name, edits := range map[string][][2]string{
		"pair id 255":        {{"id = 1 ", "id = 255 "}},
		"last port":          {{`port_base = 7788`, `port_base = 65534`}},
		"jump port 65535":    {{`# jump = "admin@bastion:22"`, `jump = "admin@bastion:65535"`}},
		"journal sizes":      {{`journals = 4 `, "journals = 1024\njournal_size_mb = 8 "}},
		"journal size 1024":  {{`journals = 4 `, "journals = 1\njournal_size_mb = 1024 "}},
		"VG+LV at 126 chars": {{`vg = "VG0"`, `vg = "` + strings.Repeat("v", 123) + `"`}},
	} {
		if err := mutate2(t, edits); err != nil {
			t.Errorf("%s refused: %v", name, err)
		}
	}
}
