package steps

import (
	"fmt"
	"strings"

	"scalestore/config"
	"scalestore/remote"
)

// Fencing of the storage pairs: with fencing.agent set, every DRBD resource
// runs "fencing resource-and-stonith": when a half loses its peer, DRBD
// freezes the resource's I/O and runs the fence-peer handler, which powers
// the peer off through the agent and resumes I/O only once the peer is
// confirmed off. The handlers are written per host by the plan.

// The handlers' paths on the storage hosts.
const (
	FencePeerPath  = "/usr/lib/scalestore/fence-peer"
	SplitBrainPath = "/usr/lib/scalestore/split-brain"
)

// SplitBrainDir is where the split-brain handler records a resource's
// unresolved split brain, one file per resource (split-brain-rN holding
// the time), for status to show. (A variable only so that tests can point
// it elsewhere.)
var SplitBrainDir = "/var/lib/scalestore"

// The fence-peer handler's exit codes, as DRBD 8.2-8.4's kernel reads them
// (drbd_nl.c, conn_try_outdate_peer): 3, 4 and 7 mark the peer's disk
// Inconsistent or Outdated and resume frozen I/O, 5 ("peer unreachable")
// does the same on an UpToDate half without anything fenced, 6 outdates
// this half. Any other code is "fence-peer helper broken" and leaves I/O
// frozen, which is what a handler that could not fence must do.
const (
	exitPeerFenced = 7
	exitKeepFrozen = 1
)

// drbdHandlers is the handlers section of a resource with an agent set;
// handler is the profile's name of the fence handler (DRBD 8.4
// "fence-peer", 8.2 "outdate-peer"). The profile's disk section holds
// "fencing resource-and-stonith".
func drbdHandlers(handler string) string {
	return "    handlers {\n" +
		fmt.Sprintf("        %s %q;\n", handler, FencePeerPath) +
		fmt.Sprintf("        split-brain %q;\n", SplitBrainPath) +
		"    }\n"
}

// FencePeerScript is the fence-peer handler of a storage half: it knows
// its pair, its peer and the peer's fence target from the spec (it trusts
// no environment but DRBD_RESOURCE, which must name its resource). The
// b-half waits fencing.storage_delay first, so that when the link breaks
// with both halves alive the a-half fences first and wins. It runs the
// agent (agentPath) with its options on stdin as key=value lines (fence
// agents read stdin when given no arguments; nothing in argv, so nothing
// in ps): "off", then "status" to confirm. Exit 7 only when the peer is
// confirmed off; every failure exits 1, which keeps I/O frozen, and says
// why in syslog (tag scalestore).
func FencePeerScript(s *config.Spec, host, agentPath string) string {
	p, side := s.PairOf(host)
	peer := p.Halves()[1-side].Host
	delay := 0
	if side == 1 {
		delay = s.Fencing.Delay()
	}
	var lines []string
	opts := s.Fencing.Target(peer)
	for _, k := range sortedKeys(opts) {
		lines = append(lines, remote.Quote(k+"="+opts[k]))
	}
	var b strings.Builder
	b.WriteString("#!/bin/sh\n")
	b.WriteString(comment("#", header(s, "DRBD's fence-peer handler for "+p.Resource()+" on "+host)))
	b.WriteString(comment("#", fmt.Sprintf(`With "fencing resource-and-stonith", DRBD freezes %s's I/O when it loses %s
and runs this. It powers %s off through %s and exits %d (peer fenced:
I/O resumes) only once %s is confirmed off. Every failure exits %d, which
DRBD calls a broken handler: I/O stays frozen (3, 4, 5 and 7 resume it, 5
with nothing fenced). The b-half waits fencing.storage_delay first, so
that when both halves are alive the a-half fences first and wins; and it
does not fence an a-half that still answers on the cluster LAN (alive: it
fences this half), since the halves may notice the loss seconds apart.`,
		p.Resource(), peer, peer, s.Fencing.Agent, exitPeerFenced, peer, exitKeepFrozen)))
	fmt.Fprintf(&b, "res=%s self=%s peer=%s delay=%d agent=%s peer_lan=%s\n", p.Resource(), host, peer, delay, remote.Quote(agentPath), remote.Quote(s.Host(peer).Address))
	b.WriteString(`say() { logger -t scalestore "fence-peer $res on $self: $*"; echo "fence-peer $res on $self: $*" >&2; }
`)
	fmt.Fprintf(&b, `fail() { say "$* - I/O on $res stays frozen until $peer is off or the link is back (once $peer is known to be off: drbdadm resume-io $res)"; exit %d; }
`, exitKeepFrozen)
	b.WriteString("target() { printf '%s\\n' \"action=$1\" " + strings.Join(lines, " ") + "; }\n")
	b.WriteString(`last() { printf '%s\n' "$1" | sed '/^[[:space:]]*$/d' | tail -n 1; }
[ "$DRBD_RESOURCE" = "$res" ] || fail "called for resource '$DRBD_RESOURCE', not $res"
[ -x "$agent" ] || fail "$agent is not installed: cannot fence $peer"
if [ "$delay" -gt 0 ]; then
	say "lost $peer: waiting $delay s before fencing it (the a-half fences first)"
	sleep "$delay"
	case $(drbdadm cstate "$res" 2>/dev/null) in
	Connected|Sync*|PausedSync*|WFBitMap*|Verify*) say "the link to $peer is back: not fencing it"; exit 1 ;;
	esac
	# the halves may notice the loss seconds apart (seen on the lab: the b-half's
	# delay ran out just as the a-half noticed, and both fenced): an a-half that
	# answers on the cluster LAN is alive and fences this half; only a silent one
	# is fenced from here
	if command -v ping >/dev/null 2>&1 && ping -c 1 -W 2 "$peer_lan" >/dev/null 2>&1; then
		say "$peer answers on the cluster LAN ($peer_lan): it is alive and fences this half (the a-half wins); not fencing it - I/O on $res stays frozen"
		exit 1
	fi
fi
say "powering $peer off through $agent"
out=$(target off | "$agent" 2>&1); rc=$?
[ "$rc" -eq 0 ] || fail "powering $peer off failed (exit $rc: $(last "$out"))"
out=$(target status | "$agent" 2>&1); rc=$?
case "$rc $out" in
"2 "*"Status: OFF"*) ;;
*) fail "$peer is not confirmed off (status exit $rc: $(last "$out"))" ;;
esac
say "$peer is fenced (powered off, confirmed): I/O on $res resumes"
`)
	fmt.Fprintf(&b, "exit %d\n", exitPeerFenced)
	return b.String()
}

// SplitBrainScript is the split-brain handler of a storage half: DRBD runs
// it when it found a split brain it could not resolve and dropped the
// connection. It records the time in SplitBrainDir/split-brain-rN (status
// shows it until the operator has recovered and removed it) and logs it.
func SplitBrainScript(s *config.Spec, host string) string {
	p, _ := s.PairOf(host)
	file := SplitBrainDir + "/split-brain-" + p.Resource()
	var b strings.Builder
	b.WriteString("#!/bin/sh\n")
	b.WriteString(comment("#", header(s, "DRBD's split-brain handler for "+p.Resource()+" on "+host)))
	b.WriteString(comment("#", "DRBD found a split brain it could not resolve and dropped the connection: the\nhalves hold different data. Recorded for scalestore status, and logged."))
	fmt.Fprintf(&b, "res=%s self=%s file=%s\n", p.Resource(), host, remote.Quote(file))
	b.WriteString(`mkdir -p "${file%/*}" && date -u +%Y-%m-%dT%H:%M:%SZ > "$file"
logger -t scalestore "split-brain $res on $self: DRBD dropped the connection (unresolved split brain, called for '$DRBD_RESOURCE'); scalestore status shows how to recover"
exit 0
`)
	return b.String()
}

// fenceHandlers writes both handlers to a storage half (root only: they
// hold the peer's fence options), when an agent is set.
func fenceHandlers(s *config.Spec, host, agentPath string) []Action {
	if !s.Fencing.On() {
		return nil
	}
	return []Action{
		write(host, FencePeerPath, FencePeerScript(s, host, agentPath), 0o700, nil),
		write(host, SplitBrainPath, SplitBrainScript(s, host), 0o700, nil),
	}
}

// FenceTargets are the hosts that host may have to fence: a storage half
// its pair's other half, a client every other client.
func FenceTargets(s *config.Spec, host string) []string {
	if p, side := s.PairOf(host); side >= 0 {
		return []string{p.Halves()[1-side].Host}
	}
	var out []string
	if role(s, host) == "client" {
		for _, c := range s.ClientHosts() {
			if c != host {
				out = append(out, c)
			}
		}
	}
	return out
}

// fenceProfile is what a profile knows of the fence agents on its distro.
type fenceProfile interface {
	// agentPath is where the distro installs the agent.
	agentPath(agent string) string
	// agentPackages are the packages that bring the agent and what it
	// runs, on every host when an agent is set.
	agentPackages(agent string) []string
}

func fenceProfileOf(s *config.Spec) fenceProfile { return profileFor(s.Cluster.Profile).(fenceProfile) }

// AgentPath is where the spec's fence agent lives on its hosts.
func AgentPath(s *config.Spec) string { return fenceProfileOf(s).agentPath(s.Fencing.Agent) }

// AgentPackages are the packages the spec's fence agent needs on every
// host (none without an agent).
func AgentPackages(s *config.Spec) []string {
	if !s.Fencing.On() {
		return nil
	}
	return fenceProfileOf(s).agentPackages(s.Fencing.Agent)
}

// HostPackages are the packages a host of the role needs: the stack's,
// and the fence agent's.
func HostPackages(s *config.Spec, role string) []string {
	pkgs := Packages(s.Cluster.Profile, role)
	if len(pkgs) == 0 {
		return nil
	}
	return append(append([]string{}, pkgs...), AgentPackages(s)...)
}

// A fence target's power status, as the agent reported it in discovery.
const (
	FenceOn      = "on"
	FenceOff     = "off"
	FenceMissing = "missing" // the agent is not installed
	FenceError   = "error"   // the agent failed: Msg says how
)

// FenceStatus is one "status" run of the agent on a target.
type FenceStatus struct {
	State string
	Msg   string // the agent's last line, or why it did not run
	// Memo: not read now, a check that passed lately (FenceMemo)
	Memo bool
}

// ParseFenceStatus reads the agent's "status" output, then "rc=N": fence
// agents exit 0 for a target powered on, 2 for off, 1 when they failed;
// 127 is discovery's "not installed".
func ParseFenceStatus(text string) FenceStatus {
	lines := strings.Split(strings.TrimSpace(text), "\n")
	rc := strings.TrimPrefix(strings.TrimSpace(lines[len(lines)-1]), "rc=")
	msg := ""
	for _, l := range lines[:len(lines)-1] {
		if l = strings.TrimSpace(l); l != "" {
			msg = l
		}
	}
	switch {
	case rc == "0" && msg == "Status: ON":
		return FenceStatus{State: FenceOn, Msg: msg}
	case rc == "2" && msg == "Status: OFF":
		return FenceStatus{State: FenceOff, Msg: msg}
	case rc == "127":
		return FenceStatus{State: FenceMissing, Msg: msg}
	case msg == "":
		msg = "no output"
	}
	if !strings.HasPrefix(lines[len(lines)-1], "rc=") {
		return FenceStatus{State: FenceError, Msg: "the status query was cut short: " + msg}
	}
	return FenceStatus{State: FenceError, Msg: msg + " (exit " + rc + ")"}
}
