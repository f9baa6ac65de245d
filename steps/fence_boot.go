package steps

import (
	"fmt"
	"strings"

	"scalestore/config"
	"scalestore/remote"
)

// The storage boot unit brings a rebooted (or fenced and powered on again)
// half back by itself, in the engine's safe order: DRBD up → wait until
// connected to the peer and UpToDate on both halves (the resync done) →
// primary → restore the LIO export. It never goes primary or exports while
// the half is Outdated, Inconsistent or StandAlone: it waits, and gives up
// (exit 1, logged) when DRBD drops the connection for good. For now it is
// planned only with a fence agent set (the lab's e2e runs agent = "none"
// until the unit is proven there).
const (
	storageUnit     = "scalestore-drbd.service"
	RejoinPath      = "/usr/lib/scalestore/rejoin"
	storageUnitPath = "/etc/systemd/system/" + storageUnit
)

// RejoinScript is the boot unit's script on a storage half (debian12: DRBD
// 8.4's /proc/drbd, LIO restored by rtslib-fb-targetctl.service, which the
// plan keeps from starting by itself at boot).
func RejoinScript(s *config.Spec, host string) string {
	p, side := s.PairOf(host)
	peer := p.Halves()[1-side].Host
	lun := configfs + "/iscsi/" + s.TargetIQN(p, host) + "/tpgt_1/lun/lun_0"
	var b strings.Builder
	b.WriteString("#!/bin/sh\n")
	b.WriteString(comment("#", header(s, "bring "+p.Resource()+" back on "+host+" at boot, then its export")))
	b.WriteString(comment("#", `DRBD up, then wait until connected to the peer with both halves UpToDate
(the resync done), only then primary, only then the LIO export: never
primary or exported while Outdated, Inconsistent or StandAlone.`))
	fmt.Fprintf(&b, "res=%s minor=%d peer=%s drbd=/proc/drbd lun=%s\n", p.Resource(), p.Num(), peer, remote.Quote(lun))
	b.WriteString(`say() { logger -t scalestore "rejoin $res: $*"; echo "rejoin $res: $*" >&2; }
fail() { say "$* - not primary, not exported; see scalestore status"; exit 1; }
state() { sed -n "s/^ *$minor: \(cs:[^ ]* ro:[^ ]* ds:[^ ]*\).*/\1/p" "$drbd" 2>/dev/null; }
# at boot the network may come up after this unit: drbdadm refuses an address
# the host does not have yet (seen on the lab), so it is tried again for 5 minutes
tries=0
until drbdadm adjust "$res"; do
	tries=$((tries + 1))
	[ "$tries" -ge 150 ] && fail "drbdadm adjust $res failed for 5 minutes"
	[ "$tries" -eq 1 ] && say "drbdadm adjust $res failed: trying again every 2 s for 5 minutes (the network may not be up yet)"
	sleep 2
done
say "waiting for $peer: connected, and UpToDate on both halves"
while :; do
	s=$(state)
	case "$s" in
	"cs:Connected "*" ds:UpToDate/UpToDate") break ;;
	cs:StandAlone*) fail "DRBD dropped the connection to $peer for good ($s: split brain?)" ;;
	esac
	sleep 2
done
case "$s" in
*" ro:Primary/"*) ;;
*) drbdadm primary "$res" || fail "drbdadm primary $res failed" ;;
esac
if [ ! -d "$lun" ]; then
	systemctl start rtslib-fb-targetctl.service || fail "restoring the LIO config failed"
	[ -d "$lun" ] || fail "the LIO config restored, but $lun is not there"
fi
say "connected, UpToDate, primary and exported"
`)
	return b.String()
}

// storageUnitFile is the unit that runs RejoinScript at boot.
func storageUnitFile(s *config.Spec, host string) string {
	p, _ := s.PairOf(host)
	var b strings.Builder
	b.WriteString(comment("#", header(s, "bring "+p.Resource()+" and its export back at boot")))
	fmt.Fprintf(&b, "[Unit]\nDescription=scalestore: DRBD %s back (connected, resynced, then primary), then its iSCSI export\n", p.Resource())
	b.WriteString("After=network-online.target\nWants=network-online.target\n\n")
	// a resync may take hours: the unit waits for it, and so does nothing else
	fmt.Fprintf(&b, "[Service]\nType=oneshot\nRemainAfterExit=yes\nTimeoutStartSec=infinity\nExecStart=%s\n", RejoinPath)
	b.WriteString("\n[Install]\nWantedBy=multi-user.target\n")
	return b.String()
}

// debStorageBoot writes and enables the unit on every storage half, with
// an agent set only (see above).
func debStorageBoot(s *config.Spec) []Step {
	if !s.Fencing.On() {
		return nil
	}
	st := Step{ID: "storage-boot", Title: "Bring each storage half back at boot (" + storageUnit + ")", Layer: "drbd"}
	for _, h := range s.StorageHosts() {
		st.Actions = append(st.Actions,
			write(h, RejoinPath, RejoinScript(s, h), 0o755, nil),
			write(h, storageUnitPath, storageUnitFile(s, h), 0o644, ptr(remote.Argv("systemctl", "daemon-reload"))),
			serviceUp(h, storageUnit))
	}
	return []Step{st}
}
