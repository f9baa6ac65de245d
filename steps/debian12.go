package steps

import (
	"fmt"
	"strings"
	"time"

	"scalestore/config"
	"scalestore/remote"
)

// debian12 builds today's stack: DRBD 8.4 (in-kernel) with drbd-utils 9, LIO
// iSCSI targets on both halves, open-iscsi, dm-multipath, corosync 3 + dlm +
// lvmlockd, GFS2.
type debian12 struct{}

var (
	debStoragePkgs = []string{"drbd-utils", "targetcli-fb", "dbus"}
	debClientPkgs  = []string{"open-iscsi", "multipath-tools", "corosync", "dlm-controld", "lvm2-lockd", "gfs2-utils"}
	debStorageMods = []string{"drbd", "target_core_mod", "target_core_iblock", "iscsi_target_mod"}
	debClientMods  = []string{"iscsi_tcp", "dm_multipath", "dlm", "gfs2"}
)

func (debian12) steps(s *config.Spec, f *Facts) []Step {
	return flatten(
		debPackages(s),
		debModules(s),
		debDRBDConfig(s, f),
		debDRBDMetadata(s),
		debDRBDUp(s),
		debDRBDInitialSync(s),
		debDRBDWaitSync(s),
		debDRBDPrimary(s),
		debExport(s),
		debStorageBoot(s),
		debImport(s),
		debMultipath(s),
		debLVMConfig(s, f),
		debCluster(s),
		debSharedVG(s),
		debLV(s),
		debLVBoot(s),
		debFilesystem(s),
		journalsStep(s),
		debMount(s),
		debGrow(s),
	)
}

func aptInstall(host string, pkgs []string) Action {
	install := remote.Argv(append([]string{"env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q", "--no-install-recommends"}, pkgs...)...)
	probe := remote.Script(`test "$(dpkg-query -W -f '${db:Status-Abbrev}\n' %s 2>/dev/null | grep -c '^ii')" -eq %d`,
		remote.Cmd{Script: remote.Join(pkgs...)}, len(pkgs))
	return run(host, "install "+strings.Join(pkgs, " "), install, &probe)
}

func debPackages(s *config.Spec) Step {
	st := Step{ID: "packages", Title: "Install the stack's packages", Layer: "packages"}
	for _, h := range s.StorageHosts() {
		st.Actions = append(st.Actions, aptInstall(h, HostPackages(s, "storage")))
	}
	for _, h := range s.ClientHosts() {
		st.Actions = append(st.Actions, aptInstall(h, HostPackages(s, "client")))
	}
	return st
}

// Debian 12 ships every fence agent in one package, fence-agents, in
// /usr/sbin; the IPMI ones run ipmitool, which it does not pull in.
func (debian12) agentPath(agent string) string { return "/usr/sbin/" + agent }

func (debian12) agentPackages(agent string) []string {
	switch agent {
	case "fence_ipmilan", "fence_ipmilanplus", "fence_idrac", "fence_ilo3", "fence_ilo4", "fence_ilo5", "fence_imm":
		return []string{"fence-agents", "ipmitool"}
	}
	return []string{"fence-agents"}
}

func modulesActions(host string, mods []string) []Action {
	conf := comment("#", "Kernel modules of the scalestore stack, loaded at boot.") + strings.Join(mods, "\n") + "\n"
	var tests []string
	for _, m := range mods {
		tests = append(tests, remote.Script("test -d /sys/module/%s", m).String())
	}
	probe := remote.Cmd{Script: strings.Join(tests, " && ")}
	return []Action{
		write(host, "/etc/modules-load.d/scalestore.conf", conf, 0o644, nil),
		run(host, "load "+strings.Join(mods, " "), remote.Argv(append([]string{"modprobe", "-a"}, mods...)...), &probe),
	}
}

func debModules(s *config.Spec) Step {
	st := Step{ID: "modules", Title: "Load the kernel modules", Layer: "packages"}
	for _, h := range s.StorageHosts() {
		st.Actions = append(st.Actions, modulesActions(h, debStorageMods)...)
	}
	for _, h := range s.ClientHosts() {
		st.Actions = append(st.Actions, modulesActions(h, debClientMods)...)
	}
	return st
}

// DRBDResource is the resource file of a pair (the same on both halves).
func DRBDResource(s *config.Spec, p config.Pair) string {
	var b strings.Builder
	b.WriteString(comment("#", header(s, fmt.Sprintf("DRBD pair %d (%s + %s)", p.Num(), p.A.Host, p.B.Host))))
	if s.Fencing.Agent == "none" {
		b.WriteString("# Fencing is off: a broken replication link can split-brain this pair.\n")
	}
	fmt.Fprintf(&b, "resource %s {\n", p.Resource())
	fmt.Fprintf(&b, "    protocol %s;\n", s.DRBD.Protocol)
	fmt.Fprintf(&b, "    device %s;\n", p.Device())
	b.WriteString("    meta-disk internal;\n")
	b.WriteString("    disk {\n")
	b.WriteString("        c-plan-ahead 0;\n")
	fmt.Fprintf(&b, "        resync-rate %s;\n", s.DRBD.SyncRate)
	if s.Fencing.On() {
		b.WriteString("        fencing resource-and-stonith;\n")
	}
	b.WriteString("    }\n")
	b.WriteString("    net {\n")
	b.WriteString("        allow-two-primaries yes;\n")
	b.WriteString("        after-sb-0pri discard-zero-changes;\n")
	b.WriteString("        after-sb-1pri discard-secondary;\n")
	b.WriteString("        after-sb-2pri disconnect;\n")
	// A peer is declared lost after ping-int + ping-timeout of silence. DRBD's
	// own ping-timeout (0.5 s) dropped the link of a busy pair in the lab and
	// both primaries split-brained; 3 s keeps a loaded host connected.
	// online verify (drbdadm verify rN) compares the halves block by block
	b.WriteString("        verify-alg sha256;\n")
	b.WriteString("        ping-int 10;\n")
	b.WriteString("        ping-timeout 30;\n")
	b.WriteString("        timeout 60;\n")
	b.WriteString("    }\n")
	if s.Fencing.On() {
		b.WriteString(drbdHandlers("fence-peer"))
	}
	for _, h := range p.Halves() {
		host := s.Host(h.Host)
		fmt.Fprintf(&b, "    on %s {\n", h.Host)
		fmt.Fprintf(&b, "        disk %s;\n", h.Disk)
		fmt.Fprintf(&b, "        address %s;\n", hostPort(host.ReplicationAddr(), s.Port(p)))
		b.WriteString("    }\n")
	}
	b.WriteString("}\n")
	return b.String()
}

func hostPort(addr string, port int) string {
	if strings.Contains(addr, ":") {
		return fmt.Sprintf("ipv6 [%s]:%d", addr, port)
	}
	return fmt.Sprintf("%s:%d", addr, port)
}

const drbdGlobal = `global {
    usage-count no;
}
common {
}
`

func debDRBDConfig(s *config.Spec, f *Facts) Step {
	st := Step{ID: "drbd-config", Title: "Write the DRBD resource files", Layer: "drbd"}
	for _, p := range s.Pairs {
		res := DRBDResource(s, p)
		for _, h := range p.Halves() {
			st.Actions = append(st.Actions,
				write(h.Host, "/etc/lvm/lvmlocal.conf", LVMStorageConf(s, f.host(h.Host)), 0o644, nil),
				write(h.Host, "/etc/drbd.d/global_common.conf", comment("#", header(s, "DRBD defaults"))+drbdGlobal, 0o644, nil),
				write(h.Host, "/etc/drbd.d/"+p.Resource()+".res", res, 0o644, nil))
			st.Actions = append(st.Actions, fenceHandlers(s, h.Host, AgentPath(s))...)
		}
	}
	return st
}

// drbdHasMetadata is true when the resource is attached, or its backing disk
// already carries DRBD metadata.
// When the kernel does not have the resource attached, drbdadm reads the
// disk: "dstate" gives the metadata's state ("Consistent" on a half that
// crashed, whose metadata dump-md refuses as unclean until apply-al).
func drbdHasMetadata(p config.Pair) remote.Cmd {
	fromDisk := remote.Script(`case "$(drbdadm dstate %s 2>/dev/null)" in ""|Diskless*|Unconfigured*) drbdadm dump-md %s >/dev/null 2>&1 ;; *) true ;; esac`,
		p.Resource(), p.Resource())
	return *shared(drbdQuery, drbdStatus(p, `case "$r" in ''|Diskless/*|Unconfigured*) `+fromDisk.String()+` ;; *) true ;; esac`))
}

func debDRBDMetadata(s *config.Spec) Step {
	st := Step{ID: "drbd-metadata", Title: "Create the DRBD metadata on each backing disk", Layer: "drbd"}
	for _, p := range s.Pairs {
		probe := drbdHasMetadata(p)
		for _, h := range p.Halves() {
			if w, ok := s.WipeOf(h.Host, h.Disk); ok {
				st.Actions = append(st.Actions, wipeAction(w, `wipefs --all "$d"`))
			}
			st.Actions = append(st.Actions, destroy(run(h.Host, "create DRBD metadata for "+p.Resource()+" on "+h.Disk,
				guarded(h.Disk, remote.Argv("drbdadm", "create-md", "--force", p.Resource())), &probe)))
		}
	}
	return st
}

func debDRBDUp(s *config.Spec) Step {
	st := Step{ID: "drbd-up", Title: "Bring the DRBD resources up", Layer: "drbd"}
	for _, p := range s.Pairs {
		inSync := remote.Script(`test -e /sys/block/drbd%d && test -z "$(drbdadm -d adjust %s 2>&1)"`, p.Num(), p.Resource())
		for _, h := range p.Halves() {
			st.Actions = append(st.Actions, run(h.Host, "attach and connect "+p.Resource(), remote.Argv("drbdadm", "adjust", p.Resource()), &inSync))
		}
	}
	return st
}

func debDRBDInitialSync(s *config.Spec) Step {
	st := Step{ID: "drbd-initial-sync", Title: "Start the initial DRBD sync", Layer: "sync"}
	for _, p := range s.Pairs {
		connected := *shared(drbdQuery, drbdStatus(p, `case "$r" in Connected' '*|SyncSource' '*|SyncTarget' '*|PausedSync[ST]' '*|VerifyS' '*|VerifyT' '*) ;; *) false ;; esac`))
		for _, h := range p.Halves() {
			st.Actions = append(st.Actions, wait(h.Host, "wait until "+p.Resource()+" is connected to its peer", connected, 5*time.Minute))
		}
		// started: DRBD answers, and not with both halves Inconsistent (an
		// error must not read as "already started")
		// (a resource the kernel does not list: drbdadm reads its metadata)
		fromDisk := remote.Script(`case "$(drbdadm dstate %s 2>/dev/null)" in ""|Inconsistent/Inconsistent) false ;; *) true ;; esac`, p.Resource())
		started := *shared(drbdQuery, drbdStatus(p, `case "$r" in '') `+fromDisk.String()+` ;; *' ds:Inconsistent/Inconsistent '*) false ;; *) true ;; esac`))
		if s.DRBD.SkipInitialSync {
			st.Actions = append(st.Actions, destroy(run(p.A.Host, "mark "+p.Resource()+" in sync without copying (skip_initial_sync: brand-new disks)",
				remote.Argv("drbdadm", "--", "--clear-bitmap", "new-current-uuid", p.Resource()), &started)))
		} else {
			st.Actions = append(st.Actions, destroy(run(p.A.Host, "make "+p.A.Host+" the sync source of "+p.Resource()+" (overwrites "+p.B.Host+":"+p.B.Disk+")",
				remote.Argv("drbdadm", "primary", "--force", p.Resource()), &started)))
		}
	}
	return st
}

func debDRBDWaitSync(s *config.Spec) Step {
	st := Step{ID: "drbd-sync", Title: "Wait for the DRBD sync", Layer: "sync"}
	for _, p := range s.Pairs {
		a := wait(p.A.Host, "wait until "+p.Resource()+" is UpToDate on both halves",
			*shared(drbdQuery, drbdStatus(p, `case "$r" in *' ds:UpToDate/UpToDate '*) ;; *) false ;; esac`)), 24*time.Hour)
		a.Progress, a.Resource = "drbd-sync", p.Resource()
		st.Actions = append(st.Actions, a)
	}
	return st
}

// promoteSteps promotes the a-halves, then the b-halves: DRBD refuses a
// promotion while the peer is changing state too ("State change was
// refused by peer node"), so the two halves of a pair never promote at
// once. isPrimary is the profile's probe of a pair's local role.
func promoteSteps(s *config.Spec, isPrimary func(config.Pair) *remote.Cmd) []Step {
	var out []Step
	for side, title := range []string{"Promote the first half of every pair", "Promote the second half of every pair (dual primary)"} {
		st := Step{ID: fmt.Sprintf("drbd-primary-%c", 'a'+side), Title: title, Layer: "drbd"}
		for _, p := range s.Pairs {
			h := p.Halves()[side]
			st.Actions = append(st.Actions, run(h.Host, "make "+h.Host+" primary for "+p.Resource(), remote.Argv("drbdadm", "primary", p.Resource()), isPrimary(p)))
		}
		out = append(out, st)
	}
	return out
}

func debDRBDPrimary(s *config.Spec) []Step {
	return promoteSteps(s, func(p config.Pair) *remote.Cmd {
		return shared(drbdQuery, drbdStatus(p, `case "$r" in *' ro:Primary/'*) ;; *) false ;; esac`))
	})
}

const configfs = "/sys/kernel/config/target"

func debExport(s *config.Spec) Step {
	st := Step{ID: "export", Title: "Export each half over iSCSI (LIO), one serial per pair", Layer: "export"}
	for _, p := range s.Pairs {
		serial := s.Serial(p)
		for _, h := range p.Halves() {
			host := s.Host(h.Host)
			iqn := s.TargetIQN(p, h.Host)
			tpg := "/iscsi/" + iqn + "/tpg1"
			res := p.Resource()
			st.Actions = append(st.Actions,
				run(h.Host, "disable the boot-time restore of the LIO config (scalestore exports only once DRBD is UpToDate and Primary)",
					remote.Argv("systemctl", "disable", "--now", "rtslib-fb-targetctl.service"),
					ptr(notWanted("rtslib-fb-targetctl.service"))))
			// The half's whole export in one targetcli run (each run starts
			// Python: seconds on a slow host): only the parts it does not
			// have yet (a run cut short, a client added), then the save.
			parts := []lioPart{
				{has: remote.Script("set -- %s/core/iblock_*/%s; test -d \"$1\"", configfs, res), lines: [][]string{
					{"/backstores/block", "create", "name=" + res, "dev=" + p.Device(), "wwn=" + serial},
					{"/backstores/block/" + res, "set", "attribute", "emulate_write_cache=0"}}},
				{has: remote.Script("test -d %s/iscsi/%s/tpgt_1/lun/lun_0", configfs, iqn), lines: [][]string{
					{"/iscsi", "create", iqn},
					{tpg + "/luns", "create", "/backstores/block/" + res, "lun=0"},
					{tpg, "set", "attribute", "authentication=0"},
					{tpg + "/portals", "delete", "0.0.0.0", "3260"},
					{tpg + "/portals", "create", host.Address, "3260"}}},
			}
			saved := []remote.Cmd{remote.Script("grep -qsF %s %s", `"`+iqn+`"`, lioSaved)}
			for _, c := range s.Clients {
				init := s.InitiatorIQN(c)
				parts = append(parts, lioPart{has: remote.Script("test -d %s/iscsi/%s/tpgt_1/acls/%s", configfs, iqn, init),
					lines: [][]string{{tpg + "/acls", "create", init}}})
				saved = append(saved, remote.Script("grep -qsF %s %s", `"`+init+`"`, lioSaved))
			}
			exported := lioExported(parts, saved)
			st.Actions = append(st.Actions, run(h.Host,
				fmt.Sprintf("export %s: block backstore on %s with serial %s (write cache off), target %s with LUN 0 and a portal on %s, allow %s; save the LIO config",
					res, p.Device(), serial, iqn, iscsiPortal(host.Address), strings.Join(s.ClientHosts(), ", ")),
				lioBatch(parts, exported), &exported))
		}
	}
	return st
}

// lioSaved is where targetcli saveconfig writes the LIO config.
const lioSaved = "/etc/rtslib-fb-target/saveconfig.json"

// lioPart is one part of a half's export: the targetcli lines that make it,
// and the test that it is there.
type lioPart struct {
	has   remote.Cmd
	lines [][]string
}

// lioExported: every part is there and the saved config names the target
// and every client.
func lioExported(parts []lioPart, saved []remote.Cmd) remote.Cmd {
	var all []remote.Cmd
	for _, pt := range parts {
		all = append(all, remote.Cmd{Script: "{ " + pt.has.String() + "; }"})
	}
	return sh(append(all, saved...)...)
}

// lioBatch feeds one targetcli process the lines of each part that is not
// there yet, then saveconfig, and checks with verify that they took effect:
// targetcli keeps going after a failed command and exits 0 all the same.
func lioBatch(parts []lioPart, verify remote.Cmd) remote.Cmd {
	feed := remote.Cmd{}
	for _, pt := range parts {
		var qs []string
		for _, l := range pt.lines {
			qs = append(qs, remote.Join(l...))
		}
		feed = remote.Script("%s{ %s; } || printf '%%s\\n' %s; ", feed, pt.has, remote.Cmd{Script: remote.Join(qs...)})
	}
	return remote.Script("{ %secho saveconfig; } | targetcli && %s", feed, verify)
}

func debImport(s *config.Spec) Step {
	st := Step{ID: "import", Title: "Import every export on every client (open-iscsi)", Layer: "import"}
	for _, c := range s.Clients {
		init := s.InitiatorIQN(c)
		st.Actions = append(st.Actions,
			write(c.Host, "/etc/iscsi/initiatorname.iscsi", comment("##", header(s, "iSCSI initiator name of "+c.Host))+"InitiatorName="+init+"\n", 0o600,
				ptr(remote.Argv("systemctl", "try-restart", "iscsid.service"))),
			run(c.Host, "start iscsid and log in at boot", remote.Argv("systemctl", "enable", "--now", "iscsid.service", "open-iscsi.service"),
				shared(unitsQuery, has(line("Id=iscsid.service|ActiveState=active|UnitFileState=enabled"))+" && "+unitEnabled("open-iscsi.service"))))
		// Every export at once: each login waits on its portal's target
		// (seconds on a slow host), and the portals are other machines.
		// Each is logged in only if it is not already (a pair added, a
		// run cut short); the action holds once all of them are.
		var logins, names, needles []string
		for _, p := range s.Pairs {
			for _, h := range p.Halves() {
				portal := iscsiPortal(s.Host(h.Host).Address)
				iqn := s.TargetIQN(p, h.Host)
				node := []string{"iscsiadm", "-m", "node", "-T", iqn, "-p", portal}
				set := func(k, v string) remote.Cmd {
					return remote.Argv(append(append([]string{}, node...), "-o", "update", "-n", k, "-v", v)...)
				}
				login := sh(remote.Script("iscsiadm -m discovery -t sendtargets -p %s >/dev/null", portal),
					set("node.startup", "automatic"),
					set("node.conn[0].timeo.noop_out_interval", "2"),
					set("node.conn[0].timeo.noop_out_timeout", "2"),
					remote.Argv(append(append([]string{}, node...), "--login")...))
				logins = append(logins, remote.Script("{ { %s; } || { %s; }; } & pids=\"$pids $!\"; ",
					*shared(sessionsQuery, has(line(iqn))), login).String())
				names = append(names, iqn+" at "+portal)
				needles = append(needles, line(iqn))
			}
		}
		loggedIn := shared(sessionsQuery, has(needles...))
		desc := "log in to " + strings.Join(names, ", ")
		if len(names) > 1 {
			desc += " (at once)"
		}
		st.Actions = append(st.Actions, run(c.Host, desc,
			remote.Script("pids=; %src=0; for p in $pids; do wait \"$p\" || rc=1; done; [ \"$rc\" = 0 ] && { %s; }",
				remote.Cmd{Script: strings.Join(logins, "")}, *loggedIn), loggedIn))
	}
	return st
}

// MultipathConf is /etc/multipath.conf on every client: only the pairs'
// WWIDs are multipathed, each under its alias, in failover groups.
func MultipathConf(s *config.Spec) string {
	var b strings.Builder
	b.WriteString(comment("#", header(s, "dm-multipath maps, one per storage pair")))
	b.WriteString(`defaults {
    user_friendly_names no
    find_multipaths no
    polling_interval 2
    fast_io_fail_tmo 2
}
blacklist {
    wwid ".*"
}
blacklist_exceptions {
`)
	for _, p := range s.Pairs {
		fmt.Fprintf(&b, "    wwid %q\n", s.WWID(p))
	}
	b.WriteString(`}
devices {
    device {
        vendor "LIO-ORG"
        product ".*"
        path_grouping_policy failover
        path_checker tur
        no_path_retry queue
        failback immediate
    }
}
`)
	b.WriteString(multipathsBlock(s, s.WWID))
	return b.String()
}

// multipathsBlock maps each pair's WWID (as the profile's transport shows
// it) to its alias mpathN, in failover grouping.
func multipathsBlock(s *config.Spec, wwid func(config.Pair) string) string {
	var b strings.Builder
	b.WriteString("multipaths {\n")
	for _, p := range s.Pairs {
		fmt.Fprintf(&b, "    multipath {\n        wwid %s\n        alias %s\n        path_grouping_policy failover\n    }\n", wwid(p), p.Alias())
	}
	b.WriteString("}\n")
	return b.String()
}

func debMultipath(s *config.Spec) Step {
	st := Step{ID: "multipath", Title: "Join the two paths of each pair into mpathN (dm-multipath)", Layer: "multipath"}
	conf := MultipathConf(s)
	for _, c := range s.Clients {
		st.Actions = append(st.Actions,
			write(c.Host, "/etc/multipath.conf", conf, 0o644,
				ptr(sh(remote.Argv("systemctl", "reload-or-restart", "multipathd.service"), remote.Script("multipath -r >/dev/null")))),
			serviceUp(c.Host, "multipathd.service"))
		for _, p := range s.Pairs {
			st.Actions = append(st.Actions, wait(c.Host, p.Alias()+" has both paths",
				*shared(pathsQuery, remote.Script("test -b %s", p.MapperPath()).String()+" && "+twice(p.Alias()+" active ready")), 3*time.Minute))
		}
	}
	return st
}

// LVMLocalConf is /etc/lvm/lvmlocal.conf on a client: lvmlockd on, and the
// device scan limited to the mpath maps (plus the host's own system PVs), so
// LVM never sees a PV twice through the raw iSCSI paths.
func LVMLocalConf(s *config.Spec, h *HostFacts) string {
	return comment("#", header(s, "shared LVM through lvmlockd, scan limited to the multipath maps")) +
		"local {\n}\nglobal {\n    use_lvmlockd = 1\n}\n" + lvmFilter(append([]string{"/dev/mapper/mpath[0-9]+"}, h.SystemPVs...))
}

// LVMStorageConf is /etc/lvm/lvmlocal.conf on a storage server: its LVM
// sees only the host's own system PVs, never the backing disk (whose first
// bytes are the client's PV inside DRBD) nor the DRBD device, which LVM would
// otherwise activate and hold, keeping DRBD from attaching.
func LVMStorageConf(s *config.Spec, h *HostFacts) string {
	return comment("#", header(s, "keep this storage server's LVM off the DRBD backing disk and device")) +
		"local {\n}\n" + lvmFilter(h.SystemPVs)
}

// lvmFilter is a devices section whose global filter accepts the devices
// matching accept (regexps) and rejects every other.
func lvmFilter(accept []string) string {
	var rules []string
	for _, a := range accept {
		rules = append(rules, fmt.Sprintf("\"a|^%s$|\"", a))
	}
	rules = append(rules, "\"r|.*|\"")
	return "devices {\n    global_filter = [ " + strings.Join(rules, ", ") + " ]\n}\n"
}

func debLVMConfig(s *config.Spec, f *Facts) Step {
	st := Step{ID: "lvm-config", Title: "Restrict LVM to the mpath maps and turn on lvmlockd", Layer: "lvm"}
	for _, c := range s.Clients {
		st.Actions = append(st.Actions, write(c.Host, "/etc/lvm/lvmlocal.conf", LVMLocalConf(s, f.host(c.Host)), 0o644, nil))
	}
	return st
}

// CorosyncConf is the corosync 3 configuration shared by all clients.
func CorosyncConf(s *config.Spec) string {
	var b strings.Builder
	b.WriteString(comment("#", header(s, "corosync 3 (knet) for the clients")))
	fmt.Fprintf(&b, "totem {\n    version: 2\n    cluster_name: %s\n    transport: knet\n    crypto_cipher: aes256\n    crypto_hash: sha256\n    token: 10000\n}\n", s.Cluster.Name)
	b.WriteString("nodelist {\n")
	for _, c := range s.Clients {
		fmt.Fprintf(&b, "    node {\n        ring0_addr: %s\n        name: %s\n        nodeid: %d\n    }\n", s.Host(c.Host).Address, c.Host, c.NodeID)
	}
	b.WriteString("}\nquorum {\n    provider: corosync_votequorum\n")
	if len(s.Clients) == 2 {
		b.WriteString("    two_node: 1\n")
	}
	b.WriteString("}\nlogging {\n    to_syslog: yes\n    to_stderr: no\n}\n")
	return b.String()
}

// DLMConf is /etc/dlm/dlm.conf: fencing through the named agent, or off.
func DLMConf(s *config.Spec) string {
	var b strings.Builder
	b.WriteString(comment("#", header(s, "dlm_controld settings")))
	if s.Fencing.Agent == "none" {
		b.WriteString("# fencing.agent = \"none\": dlm does not fence. It recovers a lost node's locks within seconds\n" +
			"# without waiting: a node cut off but still running can write to GFS2 meanwhile and corrupt it.\nenable_fencing=0\n")
		return b.String()
	}
	b.WriteString("enable_fencing=1\n")
	fmt.Fprintf(&b, "device scalestore /usr/sbin/%s%s\n", s.Fencing.Agent, optString(s.Fencing.Options))
	for _, c := range s.Clients {
		fmt.Fprintf(&b, "connect scalestore node=%d%s\n", c.NodeID, optString(s.Fencing.HostOptions[c.Host]))
	}
	return b.String()
}

func optString(m map[string]string) string {
	var b strings.Builder
	for _, k := range sortedKeys(m) {
		fmt.Fprintf(&b, " %s=%s", k, m[k])
	}
	return b.String()
}

func serviceUp(host, unit string) Action {
	return run(host, "start "+unit+" now and at boot", remote.Argv("systemctl", "enable", "--now", unit), unitUp(unit))
}

// servicesUp starts several units in one systemctl run (each run costs
// seconds on a slow host); it holds when every one is up and enabled.
func servicesUp(host string, units ...string) Action {
	var needles []string
	for _, u := range units {
		needles = append(needles, line("Id="+u+"|ActiveState=active|UnitFileState=enabled"))
	}
	return run(host, "start "+strings.Join(units, ", ")+" now and at boot",
		remote.Argv(append([]string{"systemctl", "enable", "--now"}, units...)...), shared(unitsQuery, has(needles...)))
}

func debCluster(s *config.Spec) []Step {
	key := Step{ID: "cluster-key", Title: "Make the corosync authkey", Layer: "cluster"}
	st := Step{ID: "cluster", Title: "Start the client cluster: corosync, dlm, lvmlockd", Layer: "cluster"}
	conf := CorosyncConf(s)
	dlm := DLMConf(s)
	first := firstClient(s)
	key.Actions = append(key.Actions, run(first, "generate the corosync authkey", remote.Argv("corosync-keygen", "-l"),
		ptr(remote.Argv("test", "-s", "/etc/corosync/authkey"))))
	for _, c := range s.Clients {
		if c.Host != first {
			st.Actions = append(st.Actions, Action{Host: c.Host, Kind: CopySecret, Desc: "copy the corosync authkey from " + first,
				From: first, Path: "/etc/corosync/authkey", Mode: 0o400,
				OnChange: ptr(remote.Script("! systemctl is-active --quiet corosync.service || systemctl restart corosync.service"))})
		}
		st.Actions = append(st.Actions,
			write(c.Host, "/etc/corosync/corosync.conf", conf, 0o644,
				ptr(remote.Script("! systemctl is-active --quiet corosync.service || corosync-cfgtool -R"))),
			write(c.Host, "/etc/dlm/dlm.conf", dlm, 0o600, nil), // fence options: root only
			serviceUp(c.Host, "corosync.service"))
	}
	for _, c := range s.Clients {
		st.Actions = append(st.Actions,
			wait(c.Host, "wait until the cluster is quorate", remote.Script(`corosync-quorumtool -s 2>/dev/null | grep -Eq '^Quorate: +Yes'`), 5*time.Minute),
			// lvmlockd needs dlm only once a lockspace starts (vg-lock)
			servicesUp(c.Host, "dlm.service", "lvmlockd.service"))
	}
	return []Step{key, st}
}

func mapperPaths(s *config.Spec) []string {
	var out []string
	for _, p := range s.Pairs {
		out = append(out, p.MapperPath())
	}
	return out
}

func debSharedVG(s *config.Spec) []Step {
	st := vgStep(s, "shared, dlm locks", []string{"--shared"}, true)
	vg := s.Volume.VG
	lock := Step{ID: "vg-lock", Title: "Start " + vg + "'s lockspace on every client", Layer: "lvm"}
	for _, c := range s.Clients {
		lock.Actions = append(lock.Actions, run(c.Host, "start "+vg+"'s lockspace", remote.Argv("vgchange", "--lock-start", vg),
			ptr(remote.Script(`lvmlockctl --info 2>/dev/null | grep -q %s`, "VG "+vg+" "))))
	}
	return []Step{st, lock}
}

// vgStep makes every pair's map a PV, creates the VG on them (with the
// profile's flags) and adds the maps of pairs added later, on the first
// client, each pvcreate behind the blank-disk guard. modern is for today's
// tools: it reads LVM from the one shared pvs listing (its fields are not
// all in CentOS 5's LVM2).
func vgStep(s *config.Spec, kind string, flags []string, modern bool) Step {
	vg := s.Volume.VG
	st := Step{ID: "vg", Title: "Create the volume group " + vg + " (" + kind + ")", Layer: "lvm"}
	first := firstClient(s)
	for _, p := range s.Pairs {
		dev := p.MapperPath()
		cmd := guarded(dev, remote.Argv("pvcreate", dev))
		st.Actions = append(st.Actions, destroy(run(first, "make "+dev+" a physical volume", cmd, lvmProbe(modern, ":"+dev+":", remote.Script("pvs %s >/dev/null 2>&1", dev)))))
	}
	create := append(append([]string{"vgcreate"}, flags...), vg)
	st.Actions = append(st.Actions, run(first, "create "+vg+" ("+kind+") on "+strings.Join(mapperPaths(s), " "),
		remote.Argv(append(create, mapperPaths(s)...)...), lvmProbe(modern, "|"+vg+":", remote.Script("vgs %s >/dev/null 2>&1", vg))))
	for _, p := range s.Pairs {
		dev := p.MapperPath()
		st.Actions = append(st.Actions, run(first, "add "+dev+" to "+vg, remote.Argv("vgextend", vg, dev),
			lvmProbe(modern, "|"+vg+":"+dev+":", remote.Script(`test "$(pvs --noheadings -o vg_name %s 2>/dev/null | tr -d ' ')" = %s`, dev, vg))))
	}
	return st
}

func debLV(s *config.Spec) []Step {
	st := Step{ID: "lv", Title: "Create " + s.Volume.LV + " on all of " + s.Volume.VG, Layer: "lvm"}
	act := Step{ID: "lv-activate", Title: "Activate " + s.Volume.LV + " (shared) on every client", Layer: "lvm"}
	first := firstClient(s)
	lv := s.Volume.VG + "/" + s.Volume.LV
	st.Actions = append(st.Actions, run(first, "create "+lv+" over all free space",
		remote.Argv("lvcreate", "--yes", "-an", "-Zn", "-l", "100%FREE", "-n", s.Volume.LV, s.Volume.VG),
		shared(lvmQuery, has(":"+lv+"|"))))
	for _, c := range s.Clients {
		act.Actions = append(act.Actions, run(c.Host, "activate "+lv+" shared", remote.Argv("lvchange", "--activate", "sy", lv),
			ptr(remote.Argv("test", "-b", s.LVPath()))))
	}
	return []Step{st, act}
}

func mkfsArgs(s *config.Spec) []string {
	args := []string{"mkfs.gfs2", "-O", "-p", "lock_dlm", "-t", s.LockTable(), "-j", fmt.Sprint(s.JournalCount())}
	if s.Volume.JournalSizeMB != 0 {
		args = append(args, "-J", fmt.Sprint(s.Volume.JournalSizeMB))
	}
	return append(args, s.LVPath())
}

func debFilesystem(s *config.Spec) Step {
	st := Step{ID: "gfs2", Title: "Make the GFS2 filesystem (" + s.LockTable() + ", " + fmt.Sprint(s.JournalCount()) + " journals)", Layer: "gfs2"}
	lv := s.LVPath()
	st.Actions = append(st.Actions, destroy(run(firstClient(s), "mkfs.gfs2 on "+lv,
		guarded(lv, remote.Argv(mkfsArgs(s)...)), ptr(remote.Script("test \"$(blkid -p -o value -s TYPE %s)\" = gfs2", lv)))))
	return st
}

// FstabLine is the clients' fstab entry for the cluster filesystem, with
// the profile's extra mount options.
func FstabLine(s *config.Spec, extra ...string) string {
	opts := append(append([]string{"_netdev"}, extra...), s.Volume.MountOptions...)
	return fmt.Sprintf("%s %s gfs2 %s 0 0", s.LVPath(), s.Volume.MountPoint, strings.Join(opts, ","))
}

// lvUnit is the systemd unit that brings the shared LV back when a client
// boots, in STACK.md's order: after the iSCSI logins, multipathd and the
// cluster (corosync, dlm, lvmlockd), it waits for every pair's mpath map,
// starts the VG's lockspace and activates the LV shared; fstab's GFS2 entry
// requires it, so the mount comes after it at boot and before it at
// shutdown, when it deactivates the LV and leaves the lockspace.
const lvUnit = "scalestore-lv.service"

// quorumWait is the lv unit's wait for corosync's quorum (up to 300 s).
const quorumWait = "ExecStartPre=/bin/sh -c 'i=0; while [ $$i -lt 300 ]; do corosync-quorumtool -s 2>/dev/null | grep -Eq \"^Quorate: +Yes\" && exit 0; i=$$((i+1)); sleep 1; done; " +
	"echo \"corosync is not quorate after 300 s: the lockspace is not started outside the quorate partition\" >&2; exit 1'\n"

// lvUnitFile is that unit's file for the spec.
func lvUnitFile(s *config.Spec) string {
	var maps []string
	for _, p := range s.Pairs {
		maps = append(maps, p.MapperPath())
	}
	vg, lv := s.Volume.VG, s.Volume.VG+"/"+s.Volume.LV
	var b strings.Builder
	b.WriteString(comment("#", header(s, "bring "+lv+" back at boot, before GFS2 mounts")))
	fmt.Fprintf(&b, "[Unit]\nDescription=scalestore: %s's lockspace and %s (shared), before GFS2 mounts\n", vg, lv)
	b.WriteString("Requires=dlm.service lvmlockd.service\n")
	b.WriteString("After=network-online.target iscsid.service open-iscsi.service multipathd.service corosync.service dlm.service lvmlockd.service\n")
	b.WriteString("Wants=network-online.target\n\n[Service]\nType=oneshot\nRemainAfterExit=yes\nTimeoutStartSec=600\n")
	// systemd expands $: $$ is a shell $
	fmt.Fprintf(&b, "ExecStartPre=/bin/sh -c 'i=0; while [ $$i -lt 300 ]; do ok=1; for d in %s; do [ -b $$d ] || ok=0; done; [ $$ok = 1 ] && exit 0; i=$$((i+1)); sleep 1; done; echo \"mpath maps missing after 300 s\" >&2; exit 1'\n",
		strings.Join(maps, " "))
	// Only inside the quorate partition: a client powered back on after a
	// fence can boot into a corosync ring of its own; a lockspace joined
	// there hangs for good once the rings merge (dlm_controld 4.2 on the
	// lab: the join's start messages never match, "wait_messages need 1
	// of 3" on every client).
	b.WriteString(quorumWait)
	fmt.Fprintf(&b, "ExecStart=/usr/sbin/vgchange --lock-start %s\nExecStart=/usr/sbin/lvchange --activate sy %s\n", vg, lv)
	fmt.Fprintf(&b, "ExecStop=/usr/sbin/lvchange --activate n %s\nExecStop=/usr/sbin/vgchange --lock-stop %s\n", lv, vg)
	b.WriteString("\n[Install]\nWantedBy=multi-user.target\n")
	return b.String()
}

func debLVBoot(s *config.Spec) Step {
	st := Step{ID: "lv-boot", Title: "Bring " + s.Volume.LV + " back at boot on every client (" + lvUnit + ")", Layer: "lvm"}
	unit := lvUnitFile(s)
	for _, c := range s.Clients {
		st.Actions = append(st.Actions,
			write(c.Host, "/etc/systemd/system/"+lvUnit, unit, 0o644, ptr(remote.Argv("systemctl", "daemon-reload"))),
			serviceUp(c.Host, lvUnit))
	}
	return st
}

func debMount(s *config.Spec) Step {
	st := Step{ID: "mount", Title: "Mount GFS2 on every client", Layer: "mount"}
	mp := s.Volume.MountPoint
	// at boot the mount waits for the LV as long as the unit may take
	line := FstabLine(s, "x-systemd.requires="+lvUnit, "x-systemd.device-timeout=10min")
	// the entry replaces any other of the mount point (an older one of ours)
	setFstab := remote.Script(`cp -p /etc/fstab /etc/fstab.scalestore.bak && awk -v mp=%s '$2 != mp' /etc/fstab > /etc/fstab.scalestore && printf '%%s\n' %s >> /etc/fstab.scalestore && `+
		`chmod 644 /etc/fstab.scalestore && mv /etc/fstab.scalestore /etc/fstab && systemctl daemon-reload`, mp, line)
	for _, c := range s.Clients {
		st.Actions = append(st.Actions,
			run(c.Host, "create "+mp, remote.Argv("mkdir", "-p", mp), ptr(remote.Argv("test", "-d", mp))),
			run(c.Host, "set the fstab entry", setFstab, ptr(remote.Script("grep -qxF %s /etc/fstab", line))),
			run(c.Host, "mount "+mp, remote.Argv("mount", mp), gfs2Mounted(mp)))
	}
	return st
}

func debGrow(s *config.Spec) []Step {
	st := Step{ID: "grow-lv", Title: "Extend " + s.Volume.LV + " over new pairs (online)", Layer: "lvm"}
	refresh := Step{ID: "grow-refresh", Title: "Refresh " + s.Volume.LV + "'s size on the other clients", Layer: "lvm"}
	fsg := Step{ID: "grow-fs", Title: "Grow GFS2 to fill " + s.Volume.LV + " (online)", Layer: "gfs2"}
	first := firstClient(s)
	lv := s.Volume.VG + "/" + s.Volume.LV
	st.Actions = append(st.Actions,
		run(first, "extend "+lv+" over the free space of "+s.Volume.VG,
			remote.Argv("lvextend", "--lockopt", "skiplv", "-l", "+100%FREE", lv),
			shared(lvmQuery, has("|"+s.Volume.VG+":"+s.Pairs[0].MapperPath()+":0:"))))
	for _, c := range s.Clients {
		if c.Host != first {
			refresh.Actions = append(refresh.Actions, run(c.Host, "refresh "+lv+" to its new size", remote.Argv("lvchange", "--refresh", lv),
				ptr(remote.Script(`test "$(blockdev --getsize64 %s)" = "$(lvs --noheadings --units b --nosuffix -o lv_size %s | tr -d ' ')"`, s.LVPath(), lv))))
		}
	}
	fsg.Actions = append(fsg.Actions, run(first, "grow GFS2 to fill "+lv, remote.Argv("gfs2_grow", s.Volume.MountPoint),
		ptr(gfs2Full(s))))
	return []Step{st, refresh, fsg}
}

// lvmProbe is the probe "needle is in the shared LVM listing", or the
// older one-command probe.
func lvmProbe(modern bool, needle string, old remote.Cmd) *remote.Cmd {
	if modern {
		return shared(lvmQuery, has(needle))
	}
	return &old
}
