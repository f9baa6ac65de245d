package steps

import (
	"fmt"
	"strings"
	"time"

	"scalestore/config"
	"scalestore/remote"
)

// centos5 builds the 2008 seed's own stack on CentOS 5: DRBD 8.2, GNBD
// exports with one UID per pair, gnbd_import, dm-multipath, cman, CLVM
// (clvmd, locking_type 3) and GFS2.
type centos5 struct{}

var (
	c5StoragePkgs = []string{"drbd82", "kmod-drbd82", "gnbd", "kmod-gnbd", "cman"}
	c5ClientPkgs  = []string{"gnbd", "kmod-gnbd", "device-mapper-multipath", "cman", "lvm2-cluster", "gfs2-utils"}
)

func (centos5) steps(s *config.Spec, f *Facts) []Step {
	return flatten(
		c5Packages(s),
		c5DRBDConfig(s),
		c5DRBDMetadata(s),
		c5DRBDUp(s),
		c5DRBDInitialSync(s),
		debDRBDWaitSync(s),
		c5DRBDPrimary(s),
		c5StorageClusters(s),
		c5Export(s),
		c5ClientCluster(s),
		c5Import(s),
		c5Multipath(s),
		c5CLVM(s),
		c5SharedVG(s),
		c5LV(s),
		c5Filesystem(s),
		journalsStep(s),
		c5Mount(s),
		c5Grow(s),
	)
}

func yumInstall(host string, pkgs []string) Action {
	return run(host, "install "+strings.Join(pkgs, " "), remote.Argv(append([]string{"yum", "install", "-y"}, pkgs...)...),
		ptr(remote.Cmd{Script: remote.Join(append([]string{"rpm", "-q", "--quiet"}, pkgs...)...)}))
}

// CentOS 5's cman package ships the fence agents, in /sbin.
func (centos5) agentPath(agent string) string { return "/sbin/" + agent }

func (centos5) agentPackages(string) []string { return nil } // cman, already on every host

func c5Packages(s *config.Spec) Step {
	st := Step{ID: "packages", Title: "Install the stack's packages", Layer: "packages"}
	for _, h := range s.StorageHosts() {
		st.Actions = append(st.Actions, yumInstall(h, c5StoragePkgs))
	}
	for _, h := range s.ClientHosts() {
		st.Actions = append(st.Actions, yumInstall(h, c5ClientPkgs))
	}
	return st
}

// DRBD82Conf is /etc/drbd.conf of a CentOS 5 storage host (DRBD 8.2 syntax).
func DRBD82Conf(s *config.Spec, p config.Pair) string {
	var b strings.Builder
	b.WriteString(comment("#", header(s, fmt.Sprintf("DRBD 8.2 pair %d (%s + %s)", p.Num(), p.A.Host, p.B.Host))))
	b.WriteString("global {\n    usage-count no;\n}\n")
	fmt.Fprintf(&b, "resource %s {\n    protocol %s;\n", p.Resource(), s.DRBD.Protocol)
	b.WriteString("    startup {\n        become-primary-on both;\n    }\n")
	b.WriteString("    net {\n        allow-two-primaries;\n        after-sb-0pri discard-zero-changes;\n        after-sb-1pri discard-secondary;\n        after-sb-2pri disconnect;\n    }\n")
	fmt.Fprintf(&b, "    syncer {\n        rate %s;\n    }\n", s.DRBD.SyncRate)
	if s.Fencing.On() {
		// DRBD 8.2 names the fence handler outdate-peer (fence-peer
		// from 8.3 on); the exit codes are the same
		b.WriteString("    disk {\n        fencing resource-and-stonith;\n    }\n" + drbdHandlers("outdate-peer"))
	}
	for _, h := range p.Halves() {
		fmt.Fprintf(&b, "    on %s {\n        device %s;\n        disk %s;\n        address %s;\n        meta-disk internal;\n    }\n",
			h.Host, p.Device(), h.Disk, hostPort(s.Host(h.Host).ReplicationAddr(), s.Port(p)))
	}
	b.WriteString("}\n")
	return b.String()
}

func c5DRBDConfig(s *config.Spec) Step {
	st := Step{ID: "drbd-config", Title: "Write /etc/drbd.conf", Layer: "drbd"}
	for _, p := range s.Pairs {
		conf := DRBD82Conf(s, p)
		for _, h := range p.Halves() {
			st.Actions = append(st.Actions, write(h.Host, "/etc/drbd.conf", conf, 0o644, nil))
			st.Actions = append(st.Actions, fenceHandlers(s, h.Host, AgentPath(s))...)
		}
	}
	return st
}

func c5DRBDMetadata(s *config.Spec) Step {
	st := Step{ID: "drbd-metadata", Title: "Create the DRBD metadata on each backing disk", Layer: "drbd"}
	for _, p := range s.Pairs {
		probe := remote.Script(`grep -q '^ *%d: cs:' /proc/drbd 2>/dev/null || drbdadm dump-md %s >/dev/null 2>&1`, p.Num(), p.Resource())
		for _, h := range p.Halves() {
			if w, ok := s.WipeOf(h.Host, h.Disk); ok {
				// the first 16 MiB (signatures, partition tables) and the
				// last MiB (DRBD's internal metadata, 4 KiB-aligned)
				st.Actions = append(st.Actions, wipeAction(w, `dd if=/dev/zero of="$d" bs=1M count=16 && `+
					`s=$(blockdev --getsize64 "$d") && dd if=/dev/zero of="$d" bs=4096 seek=$((s / 4096 - 256)) count=256`))
			}
			st.Actions = append(st.Actions, destroy(run(h.Host, "create DRBD metadata for "+p.Resource()+" on "+h.Disk,
				guarded(h.Disk, remote.Script("yes yes | drbdadm create-md %s", p.Resource())), &probe)))
		}
	}
	return st
}

func c5DRBDUp(s *config.Spec) Step {
	st := Step{ID: "drbd-up", Title: "Start DRBD", Layer: "drbd"}
	for _, p := range s.Pairs {
		for _, h := range p.Halves() {
			st.Actions = append(st.Actions,
				run(h.Host, "start drbd now and at boot", sh(remote.Argv("chkconfig", "drbd", "on"), remote.Argv("service", "drbd", "start")),
					ptr(remote.Script(`grep -q '^ *%d: cs:\(Connected\|WFConnection\|Sync\)' /proc/drbd`, p.Num()))))
		}
	}
	return st
}

func c5DRBDInitialSync(s *config.Spec) Step {
	st := Step{ID: "drbd-initial-sync", Title: "Start the initial DRBD sync", Layer: "sync"}
	for _, p := range s.Pairs {
		for _, h := range p.Halves() {
			st.Actions = append(st.Actions, wait(h.Host, "wait until "+p.Resource()+" is connected to its peer",
				remote.Script(`grep -Eq '^ *%d: cs:(Connected|SyncSource|SyncTarget)' /proc/drbd`, p.Num()), 5*time.Minute))
		}
		// started: the minor is up and not Inconsistent on both halves (a
		// missing /proc/drbd must not read as "already started")
		started := remote.Script(`grep -q '^ *%d: cs:.* ds:' /proc/drbd && ! grep -q '^ *%d: .*ds:Inconsistent/Inconsistent' /proc/drbd`, p.Num(), p.Num())
		st.Actions = append(st.Actions, destroy(run(p.A.Host, "make "+p.A.Host+" the sync source of "+p.Resource()+" (overwrites "+p.B.Host+":"+p.B.Disk+")",
			remote.Argv("drbdadm", "--", "--overwrite-data-of-peer", "primary", p.Resource()), &started)))
	}
	return st
}

// c5DRBDPrimary: DRBD 8.2's /proc/drbd names the roles "st:", later ones
// "ro:".
func c5DRBDPrimary(s *config.Spec) []Step {
	return promoteSteps(s, func(p config.Pair) *remote.Cmd {
		return ptr(remote.Script(`grep -Eq '^ *%d: .*(st|ro):Primary/' /proc/drbd`, p.Num()))
	})
}

// ClusterConf is a cman /etc/cluster/cluster.conf for the named nodes.
func ClusterConf(s *config.Spec, name string, nodes []string, ids []int) string {
	var b strings.Builder
	b.WriteString("<?xml version=\"1.0\"?>\n")
	b.WriteString("<!--\n" + header(s, "cman cluster "+name) + "\n-->\n")
	fmt.Fprintf(&b, "<cluster name=%q config_version=\"1\">\n", name)
	if len(nodes) == 2 {
		b.WriteString("  <cman two_node=\"1\" expected_votes=\"1\"/>\n")
	}
	b.WriteString("  <clusternodes>\n")
	fencing := name == s.Cluster.Name && s.Fencing.Agent != "none"
	for i, n := range nodes {
		fmt.Fprintf(&b, "    <clusternode name=%q nodeid=\"%d\" votes=\"1\">\n", n, ids[i])
		if fencing {
			fmt.Fprintf(&b, "      <fence>\n        <method name=\"1\">\n          <device name=\"scalestore\"%s/>\n        </method>\n      </fence>\n", xmlAttrs(s.Fencing.HostOptions[n]))
		} else {
			b.WriteString("      <fence/>\n")
		}
		b.WriteString("    </clusternode>\n")
	}
	b.WriteString("  </clusternodes>\n")
	if fencing {
		fmt.Fprintf(&b, "  <fencedevices>\n    <fencedevice name=\"scalestore\" agent=%q%s/>\n  </fencedevices>\n", s.Fencing.Agent, xmlAttrs(s.Fencing.Options))
	} else {
		b.WriteString("  <fencedevices/>\n")
	}
	b.WriteString("</cluster>\n")
	return b.String()
}

func xmlAttrs(m map[string]string) string {
	var b strings.Builder
	for _, k := range sortedKeys(m) {
		fmt.Fprintf(&b, " %s=%q", k, m[k])
	}
	return b.String()
}

func cmanUp(host string) Action {
	return run(host, "start cman now and at boot", sh(remote.Argv("chkconfig", "cman", "on"), remote.Argv("service", "cman", "start")),
		ptr(remote.Script("cman_tool status >/dev/null 2>&1")))
}

// c5StorageClusters gives each pair its own two-node cman cluster
// (storage0, storage1, …): uncached GNBD exports need cman on the server.
func c5StorageClusters(s *config.Spec) Step {
	st := Step{ID: "storage-cluster", Title: "Start a cman cluster on each storage pair", Layer: "cluster"}
	for _, p := range s.Pairs {
		name := fmt.Sprintf("storage%d", p.Num())
		conf := ClusterConf(s, name, []string{p.A.Host, p.B.Host}, []int{1, 2})
		for _, h := range p.Halves() {
			st.Actions = append(st.Actions, write(h.Host, "/etc/cluster/cluster.conf", conf, 0o640, nil), cmanUp(h.Host))
		}
	}
	return st
}

func c5Export(s *config.Spec) Step {
	st := Step{ID: "export", Title: "Export each half over GNBD, one UID per pair", Layer: "export"}
	for _, p := range s.Pairs {
		for side, h := range p.Halves() {
			name := p.ExportName(side)
			st.Actions = append(st.Actions,
				run(h.Host, "start gnbd_serv", remote.Argv("gnbd_serv"), ptr(remote.Argv("pgrep", "-x", "gnbd_serv"))),
				run(h.Host, "export "+p.Device()+" as "+name+" (uid "+s.Serial(p)+", uncached)",
					remote.Argv("gnbd_export", "-d", p.Device(), "-e", name, "-u", s.Serial(p)),
					ptr(remote.Script("gnbd_export -l | grep -qw %s", name))))
		}
	}
	return st
}

func c5ClientCluster(s *config.Spec) Step {
	st := Step{ID: "cluster", Title: "Start the client cman cluster " + s.Cluster.Name, Layer: "cluster"}
	ids := make([]int, len(s.Clients))
	for i, c := range s.Clients {
		ids[i] = c.NodeID
	}
	conf := ClusterConf(s, s.Cluster.Name, s.ClientHosts(), ids)
	for _, c := range s.Clients {
		st.Actions = append(st.Actions, write(c.Host, "/etc/cluster/cluster.conf", conf, 0o640, nil), cmanUp(c.Host))
	}
	return st
}

func c5Import(s *config.Spec) Step {
	st := Step{ID: "import", Title: "Import every GNBD export on every client", Layer: "import"}
	for _, c := range s.Clients {
		st.Actions = append(st.Actions, run(c.Host, "load gnbd", remote.Argv("modprobe", "gnbd"), ptr(remote.Argv("test", "-d", "/sys/module/gnbd"))))
		for _, p := range s.Pairs {
			for side, h := range p.Halves() {
				st.Actions = append(st.Actions, run(c.Host, "import "+p.ExportName(side)+" from "+h.Host,
					remote.Argv("gnbd_import", "-i", s.Host(h.Host).Address),
					ptr(remote.Script("gnbd_import -l | grep -qw %s", p.ExportName(side)))))
			}
		}
	}
	return st
}

// Multipath047Conf is /etc/multipath.conf for CentOS 5's multipath-tools.
func Multipath047Conf(s *config.Spec) string {
	var b strings.Builder
	b.WriteString(comment("#", header(s, "dm-multipath maps over the GNBD imports")))
	b.WriteString("defaults {\n    user_friendly_names yes\n}\nblacklist {\n    devnode \"^(ram|raw|loop|fd|md|dm-|sr|scd|st)[0-9]*\"\n    devnode \"^hd[a-z]\"\n}\n")
	b.WriteString(multipathsBlock(s, s.Serial)) // GNBD's UID is the WWID multipath reads
	return b.String()
}

func c5Multipath(s *config.Spec) Step {
	st := Step{ID: "multipath", Title: "Join the two paths of each pair into mpathN (dm-multipath)", Layer: "multipath"}
	conf := Multipath047Conf(s)
	for _, c := range s.Clients {
		st.Actions = append(st.Actions,
			write(c.Host, "/etc/multipath.conf", conf, 0o644, ptr(remote.Script("service multipathd reload && multipath"))),
			run(c.Host, "start multipathd now and at boot", sh(remote.Argv("chkconfig", "multipathd", "on"), remote.Argv("service", "multipathd", "start")),
				ptr(remote.Argv("service", "multipathd", "status"))))
		for _, p := range s.Pairs {
			st.Actions = append(st.Actions, wait(c.Host, p.Alias()+" is mapped", remote.Argv("test", "-b", p.MapperPath()), 3*time.Minute))
		}
	}
	return st
}

func c5CLVM(s *config.Spec) Step {
	st := Step{ID: "lvm-config", Title: "Cluster LVM: locking_type 3, scan limited to the mpath maps, clvmd", Layer: "lvm"}
	filter := `filter = [ "a|^/dev/mapper/mpath[0-9]+$|", "a|^/dev/[hsv]da[0-9]*$|", "r|.*|" ]`
	for _, c := range s.Clients {
		st.Actions = append(st.Actions,
			run(c.Host, "enable cluster locking", remote.Argv("lvmconf", "--enable-cluster"),
				ptr(remote.Script("grep -q '^ *locking_type = 3' /etc/lvm/lvm.conf"))),
			run(c.Host, "limit the device scan to the mpath maps",
				remote.Script(`sed -i -e 's@^ *filter = .*@    %s@' /etc/lvm/lvm.conf`, remote.Cmd{Script: strings.ReplaceAll(filter, "@", "\\@")}),
				ptr(remote.Script("grep -qF %s /etc/lvm/lvm.conf", filter))),
			run(c.Host, "start clvmd now and at boot", sh(remote.Argv("chkconfig", "clvmd", "on"), remote.Argv("service", "clvmd", "start")),
				ptr(remote.Argv("service", "clvmd", "status"))))
	}
	return st
}

func c5SharedVG(s *config.Spec) Step {
	return vgStep(s, "clustered", []string{"--clustered", "y"}, false)
}

func c5LV(s *config.Spec) []Step {
	st := Step{ID: "lv", Title: "Create " + s.Volume.LV + " on all of " + s.Volume.VG, Layer: "lvm"}
	act := Step{ID: "lv-activate", Title: "Activate " + s.Volume.LV + " on every client", Layer: "lvm"}
	lv := s.Volume.VG + "/" + s.Volume.LV
	st.Actions = append(st.Actions, run(firstClient(s), "create "+lv+" over all free space",
		remote.Argv("lvcreate", "-l", "100%FREE", "-n", s.Volume.LV, s.Volume.VG), ptr(remote.Script("lvs %s >/dev/null 2>&1", lv))))
	for _, c := range s.Clients {
		act.Actions = append(act.Actions, run(c.Host, "activate "+lv, remote.Argv("lvchange", "-ay", lv), ptr(remote.Argv("test", "-b", s.LVPath()))))
	}
	return []Step{st, act}
}

func c5Filesystem(s *config.Spec) Step {
	st := Step{ID: "gfs2", Title: "Make the GFS2 filesystem (" + s.LockTable() + ", " + fmt.Sprint(s.JournalCount()) + " journals)", Layer: "gfs2"}
	lv := s.LVPath()
	st.Actions = append(st.Actions, destroy(run(firstClient(s), "mkfs.gfs2 on "+lv, guarded(lv, remote.Script("yes | %s", remote.Argv(mkfsArgs(s)...))),
		ptr(remote.Script("blkid -s TYPE -o value %s | grep -qx gfs2", lv)))))
	return st
}

func c5Mount(s *config.Spec) Step {
	st := Step{ID: "mount", Title: "Mount GFS2 on every client", Layer: "mount"}
	mp := s.Volume.MountPoint
	line := FstabLine(s)
	for _, c := range s.Clients {
		st.Actions = append(st.Actions,
			run(c.Host, "create "+mp, remote.Argv("mkdir", "-p", mp), ptr(remote.Argv("test", "-d", mp))),
			run(c.Host, "add the fstab entry", remote.Script("echo %s >> /etc/fstab", line), ptr(remote.Script("grep -qxF %s /etc/fstab", line))),
			run(c.Host, "mount "+mp+" and at boot", sh(remote.Argv("chkconfig", "gfs2", "on"), remote.Argv("mount", mp)),
				ptr(remote.Script("grep -q %s /proc/mounts", " "+mp+" gfs2 "))))
	}
	return st
}

func c5Grow(s *config.Spec) Step {
	st := Step{ID: "grow", Title: "Grow " + s.Volume.LV + " and GFS2 over new pairs (online)", Layer: "gfs2"}
	first := firstClient(s)
	lv := s.Volume.VG + "/" + s.Volume.LV
	st.Actions = append(st.Actions,
		run(first, "extend "+lv+" over the free space of "+s.Volume.VG, remote.Argv("lvextend", "-l", "+100%FREE", lv),
			ptr(remote.Script(`test "$(vgs --noheadings -o vg_free_count %s | tr -d ' ')" = 0`, s.Volume.VG))),
		run(first, "grow GFS2 to fill "+lv, remote.Argv("gfs2_grow", s.Volume.MountPoint),
			ptr(gfs2Full(s))))
	return st
}
