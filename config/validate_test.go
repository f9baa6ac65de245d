package config

import (
	"errors"
	"strings"
	"testing"
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
