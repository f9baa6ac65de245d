package checks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path"
	"strings"

	"scalestore/config"
	"scalestore/remote"
	"scalestore/steps"
)

// Health judges every layer of the live cluster, per host: what `status`
// shows and what apply's postflight requires.
func Health(s *config.Spec, cs *steps.ClusterState) []Result {
	var rs []Result
	for _, h := range s.Hosts {
		role := steps.Role(s, h.Name)
		if role == "" {
			continue
		}
		if err := cs.Errors[h.Name]; err != nil {
			rs = append(rs, Result{Check: "ssh", Host: h.Name, Status: Unknown, Msg: "could not read its state: " + err.Error(),
				Hint: "is the host up and reachable? Its layers are not judged: they may be healthy or not"})
			continue
		}
		st := cs.Hosts[h.Name]
		if st == nil {
			continue
		}
		add := func(r Result) { r.Host = h.Name; rs = append(rs, r) }
		if role == "storage" {
			p, _ := s.PairOf(h.Name)
			add(drbdHealth(p, h.Name, st))
			if at, ok := st.SplitBrain[p.Resource()]; ok {
				add(splitBrainHealth(p, h.Name, at))
			}
			add(exportHealth(s, p, h.Name, st))
			continue
		}
		add(importHealth(s, st))
		for _, p := range s.Pairs {
			add(mpathHealth(s, p, st))
		}
		add(bool2(st.Quorate, "cluster", "corosync is quorate", "corosync is not quorate", "systemctl status corosync; corosync-quorumtool -s"))
		lock := "lvm_" + s.Volume.VG
		add(bool2(contains(st.Lockspaces, lock), "vg lock", s.Volume.VG+"'s lockspace is started", s.Volume.VG+"'s lockspace is not started", "vgchange --lock-start "+s.Volume.VG))
		add(lvHealth(s, st))
		add(mountHealth(s, st))
	}
	return rs
}

func bool2(ok bool, check, good, bad, hint string) Result {
	if ok {
		return Result{Check: check, Status: Pass, Msg: good}
	}
	return Result{Check: check, Status: Fail, Msg: bad, Hint: hint}
}

func drbdHealth(p config.Pair, host string, st *steps.HostState) Result {
	r := Result{Check: "drbd " + p.Resource()}
	res := p.Resource()
	peer := p.A.Host
	if peer == host {
		peer = p.B.Host
	}
	for _, d := range st.DRBD {
		if d.Minor != p.Num() {
			continue
		}
		state := fmt.Sprintf("%s %s/%s %s/%s", d.CState, d.Role, d.PeerRole, d.DiskState, d.PeerDisk)
		switch {
		case d.FencingSuspended:
			r.Status, r.Msg = Fail, "I/O FROZEN while fencing "+peer+" (suspended): "+state
			r.Hint = "the fence-peer handler is powering " + peer + " off, or could not (journalctl -t scalestore); fix the fence device, " +
				"or once " + peer + " is known to be powered off: drbdadm resume-io " + res
		case d.Suspended:
			r.Status, r.Msg = Fail, "I/O FROZEN (suspended): "+state
			r.Hint = "drbdadm resume-io " + res + " once the reason is gone (dmesg | grep drbd)"
		case d.CState == "Connected" && d.Role == "Primary" && d.PeerRole == "Primary" && d.DiskState == "UpToDate" && d.PeerDisk == "UpToDate":
			r.Status, r.Msg = Pass, state
		case strings.HasPrefix(d.CState, "Sync"):
			r.Status, r.Msg, r.Hint = Warn, fmt.Sprintf("%s, %.1f%% synced", state, d.SyncedPct), "resync in progress"
		case d.CState == "StandAlone":
			r.Status, r.Msg = Fail, state
			r.Hint = "DRBD gave up the connection (split brain? dmesg | grep drbd): pick the victim half, stop its export, " +
				"drbdadm secondary " + res + " && drbdadm connect --discard-my-data " + res + " there, drbdadm connect " + res + " on the other, then scalestore apply"
		case d.DiskState == "Outdated":
			r.Status, r.Msg = Fail, "this half is Outdated (its data is behind "+peer+"'s; it must not serve): "+state
			r.Hint = "it catches up by resync once connected to " + peer + " (drbdadm connect " + res + "), then scalestore apply makes it primary and exports it"
		case d.PeerDisk == "Outdated" && d.DiskState == "UpToDate":
			r.Status, r.Msg = Warn, "running alone: "+peer+" is fenced or Outdated: "+state
			r.Hint = "bring " + peer + " back (power it on): it resyncs from this half; scalestore apply then makes it primary and exports it again"
		default:
			r.Status, r.Msg, r.Hint = Fail, state, "drbdadm status "+res+"; a returning half rejoins with scalestore apply"
		}
		return r
	}
	r.Status, r.Msg, r.Hint = Fail, res+" is not configured", "scalestore apply brings it up"
	return r
}

// splitBrainHealth: the split-brain handler recorded an unresolved split
// brain of the pair on this half: the halves held different data.
func splitBrainHealth(p config.Pair, host, at string) Result {
	res := p.Resource()
	file := steps.SplitBrainDir + "/split-brain-" + res
	return Result{Check: "split-brain " + res, Status: Fail,
		Msg: "DRBD found an unresolved split brain of " + res + " at " + at + ": the halves held different data",
		Hint: "pick the half whose writes to keep; on the other: stop its export, drbdadm secondary " + res + " && drbdadm connect --discard-my-data " + res +
			"; drbdadm connect " + res + " on the survivor; scalestore apply; then rm " + file + " on " + host}
}

func exportHealth(s *config.Spec, p config.Pair, host string, st *steps.HostState) Result {
	iqn := s.TargetIQN(p, host)
	ok := contains(st.LUNs, iqn)
	return bool2(ok, "export "+p.Resource(), iqn+" exports LUN 0", iqn+" is not exported", "targetcli ls; scalestore apply exports it once DRBD is UpToDate")
}

func importHealth(s *config.Spec, st *steps.HostState) Result {
	want := 2 * len(s.Pairs)
	n := 0
	for _, p := range s.Pairs {
		for _, h := range p.Halves() {
			for _, ss := range st.Sessions {
				if ss.Target == s.TargetIQN(p, h.Host) {
					n++
					break
				}
			}
		}
	}
	if n == want {
		return Result{Check: "import", Status: Pass, Msg: fmt.Sprintf("%d of %d iSCSI sessions", n, want)}
	}
	return Result{Check: "import", Status: Fail, Msg: fmt.Sprintf("%d of %d iSCSI sessions", n, want), Hint: "iscsiadm -m session; is every storage half exporting?"}
}

func mpathHealth(s *config.Spec, p config.Pair, st *steps.HostState) Result {
	r := Result{Check: p.Alias()}
	for _, m := range st.Maps {
		if m.Alias != p.Alias() {
			continue
		}
		switch n := m.Ready(); {
		case n >= 2:
			r.Status, r.Msg = Pass, fmt.Sprintf("%d of %d paths active", n, len(m.Paths))
		case n == 1:
			r.Status, r.Msg, r.Hint = Warn, fmt.Sprintf("only %d of %d paths active: running on one half", n, len(m.Paths)), "multipath -ll "+p.Alias()
		default:
			r.Status, r.Msg, r.Hint = Fail, "no active path", "multipath -ll "+p.Alias()
		}
		return r
	}
	r.Status, r.Msg, r.Hint = Fail, p.Alias()+" is not mapped", "multipath -ll; check the iSCSI sessions"
	return r
}

func lvHealth(s *config.Spec, st *steps.HostState) Result {
	for _, lv := range st.LVs {
		if lv.VG == s.Volume.VG && lv.Name == s.Volume.LV {
			if lv.Active() {
				return Result{Check: "lv", Status: Pass, Msg: fmt.Sprintf("%s/%s active, %d MiB", lv.VG, lv.Name, lv.Bytes()>>20)}
			}
			return Result{Check: "lv", Status: Fail, Msg: lv.VG + "/" + lv.Name + " is not active", Hint: "lvchange -asy " + lv.VG + "/" + lv.Name}
		}
	}
	return Result{Check: "lv", Status: Fail, Msg: s.Volume.VG + "/" + s.Volume.LV + " not found", Hint: "is the VG's lockspace started?"}
}

func mountHealth(s *config.Spec, st *steps.HostState) Result {
	for _, m := range st.Mounts {
		if m.Target == s.Volume.MountPoint && m.FSType == "gfs2" {
			return Result{Check: "mount", Status: Pass, Msg: "GFS2 mounted at " + m.Target}
		}
	}
	return Result{Check: "mount", Status: Fail, Msg: "GFS2 not mounted at " + s.Volume.MountPoint, Hint: "mount " + s.Volume.MountPoint}
}

// DataCheck writes a file of random bytes through GFS2 on the first client
// and reads it back on every other client, byte for byte (by SHA-256).
func DataCheck(ctx context.Context, s *config.Spec, hosts steps.HostSource) Result {
	r := Result{Check: "data"}
	var nonce [8]byte
	rand.Read(nonce[:])
	file := path.Join(s.Volume.MountPoint, ".scalestore-verify-"+hex.EncodeToString(nonce[:]))
	first := s.Clients[0].Host
	h, err := hosts(ctx, first)
	if err != nil {
		r.Status, r.Msg = Fail, err.Error()
		return r
	}
	out, err := h.Run(ctx, remote.Script("head -c 4194304 /dev/urandom > %s && sync %s && sha256sum < %s", file, file, file), remote.RunOptions{Timeout: steps.ReadTimeout})
	if err != nil {
		r.Status, r.Msg, r.Hint = Fail, "write on "+first+": "+err.Error(), "is GFS2 mounted and writable?"
		return r
	}
	want := strings.Fields(string(out.Stdout))
	defer h.Run(context.WithoutCancel(ctx), remote.Argv("rm", "-f", file), remote.RunOptions{Timeout: steps.ReadTimeout})
	for _, c := range s.Clients[1:] {
		hc, err := hosts(ctx, c.Host)
		if err != nil {
			r.Status, r.Msg = Fail, err.Error()
			return r
		}
		got, err := hc.Run(ctx, remote.Script("sha256sum < %s", file), remote.RunOptions{Timeout: steps.ReadTimeout})
		if err != nil {
			r.Status, r.Msg = Fail, "read on "+c.Host+": "+err.Error()
			return r
		}
		if gotSum := strings.Fields(string(got.Stdout)); len(want) == 0 || len(gotSum) == 0 || gotSum[0] != want[0] {
			r.Status, r.Msg, r.Hint = Fail, "4 MiB written on "+first+" read back DIFFERENT on "+c.Host, "the clients do not see the same data: check DRBD and multipath at once"
			return r
		}
	}
	r.Status, r.Msg = Pass, fmt.Sprintf("4 MiB written on %s read back byte-exact on %d other client(s)", first, len(s.Clients)-1)
	return r
}

// Postflight reads every layer's state and judges it (Health) while, at the
// same time, data written on the first client is read back on the others
// (DataCheck): the two read different things, and side by side they take
// the time of the longer. The data result is kept only when every layer is
// healthy: on a broken cluster it would only repeat the layer's failure.
// With a fence agent, every host also reads each of its fence targets'
// power status through it (FenceHealth): apply has installed the agent, so
// fencing is proven here; the checks that pass are noted in memo (nil: not
// noted). The state read is returned too (the wizard shows the LV's size
// from it).
func Postflight(ctx context.Context, s *config.Spec, hosts steps.HostSource, memo *steps.FenceMemo) ([]Result, *steps.ClusterState) {
	data := make(chan Result, 1)
	go func() { data <- DataCheck(ctx, s, hosts) }()
	fence := make(chan []Result, 1)
	go func() { fence <- FenceHealth(s, steps.ReadFence(ctx, s, hosts, memo)) }()
	state := steps.ReadState(ctx, s, hosts)
	rs := Health(s, state)
	rs = append(rs, <-fence...)
	d := <-data
	if !Failed(rs) {
		rs = append(rs, d)
	}
	return rs, state
}
