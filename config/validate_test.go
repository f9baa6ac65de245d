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
