package steps

import (
	"fmt"
	"path"
	"strings"

	"scalestore/config"
	"scalestore/remote"
)

// profile is where the per-distro differences live: each profile turns the
// same spec into its own sequence of steps.
type profile interface {
	steps(s *config.Spec, f *Facts) []Step
}

func profileFor(name string) profile {
	if name == config.ProfileCentOS5 {
		return centos5{}
	}
	return debian12{}
}

// WipedFile is where a host records the identity of every disk scalestore
// wiped, one a line: a wipe runs once per disk, never again. (A variable
// only so that tests can point it elsewhere.)
var WipedFile = "/var/lib/scalestore/wiped"

// diskGuard is the one shell test every destructive disk action of both
// profiles runs first, in the same command, so that it holds even if the
// disk changed since preflight. It resolves dev (a /dev/disk/by-id/… link
// is checked as the device it names) and refuses, exit 3 with the device
// and the reason on stderr, a disk that has a signature, a partition or
// stacked device, a mount or a holder, or that another process holds open
// exclusively (an O_EXCL open, as mkfs makes). It fails closed: a tool that
// is missing or fails refuses too.
//
// With w, the action is the wipe the operator asked for under [wipe]:
// signatures are allowed, but the disk must still be the one marked (its
// WWN, serial and size) and must not have been wiped before (WipedFile).
func diskGuard(dev string, w *config.WipeDevice) string {
	var b strings.Builder
	b.WriteString(remote.Script(`refuse() { echo "refusing to write $n on $(uname -n): $1" >&2; exit 3; }; n=%s; `+
		`d=$(readlink -f "$n") || refuse "readlink -f failed"; [ "$d" = "$n" ] || n="$n ($d)"; `+
		`[ -b "$d" ] || refuse "it is not a block device"; `, dev).String())
	if w != nil {
		b.WriteString(identityGuard(*w))
	} else {
		b.WriteString(`t=$(wipefs --noheadings --output TYPE "$d") || refuse "wipefs failed (exit $?)"; ` +
			`[ -z "$t" ] || refuse "it holds a signature: $(echo $t)"; `)
	}
	b.WriteString(`p=$(lsblk -nro NAME "$d") || refuse "lsblk failed (exit $?)"; ` +
		`[ "$(printf '%s\n' "$p" | wc -l)" -eq 1 ] || refuse "it has partitions or devices on it: $(echo $p)"; ` +
		`m=$(findmnt -rn -o TARGET -S "$d"); case $? in 0) refuse "it is mounted at $(echo $m)" ;; 1) ;; *) refuse "findmnt failed" ;; esac; ` +
		`h=$(ls "/sys/class/block/${d##*/}/holders") || refuse "cannot read its holders"; [ -z "$h" ] || refuse "it is held by $(echo $h)"; ` +
		`e=$(perl -MFcntl -e 'sysopen(F, $ARGV[0], O_RDONLY|O_EXCL) or die "$!\n"' "$d" 2>&1) || refuse "it cannot be opened exclusively: $e"`)
	return "{ " + b.String() + "; }"
}

// identityGuard refuses a disk that is not the one the [wipe] entry names
// (each of WWN, serial and size it gives), or that was wiped before.
func identityGuard(w config.WipeDevice) string {
	var b strings.Builder
	for _, f := range []struct{ col, want string }{{"WWN", w.WWN}, {"SERIAL", w.Serial}, {"SIZE", fmt.Sprint(w.Size)}} {
		if f.want == "" || f.want == "0" {
			continue
		}
		b.WriteString(remote.Script(`v=$(lsblk -dnbro %s "$d") || refuse "lsblk failed (exit $?)"; w=%s; `+
			`[ "$v" = "$w" ] || refuse "its %s is ${v:-empty}, not $w as under [wipe]: this is not the disk that was marked"; `,
			f.col, f.want, remote.Cmd{Script: f.col}).String())
	}
	b.WriteString(remote.Script(`if [ -e %s ]; then grep -qxF %s %s; case $? in 0) refuse %s ;; 1) ;; *) refuse %s ;; esac; fi; `,
		WipedFile, w.ID(), WipedFile, "it was wiped once already ("+WipedFile+" lists "+w.ID()+")", "cannot read "+WipedFile).String())
	return b.String()
}

// guarded prefixes a destructive command with the blank-disk guard.
func guarded(dev string, cmd remote.Cmd) remote.Cmd {
	return remote.Cmd{Script: diskGuard(dev, nil) + " && " + cmd.String()}
}

// wipeCmd wipes a disk named under [wipe], behind the guard of its
// identity, with the profile's wipe command (which finds the device in
// "$d"), and records the identity on the host so that it never runs again.
func wipeCmd(w config.WipeDevice, wipe string) remote.Cmd {
	return remote.Cmd{Script: diskGuard(w.Disk, &w) + " && " + wipe + " && " +
		remote.Script(`mkdir -p %s && echo %s >> %s`, path.Dir(WipedFile), w.ID(), WipedFile).String()}
}

// wipeAction is the wipe of a disk named under [wipe], in both profiles:
// skipped once the host has recorded the disk's identity as wiped, and
// refused outright when the entry names no identity (check shows the
// disk's, to paste into the spec).
func wipeAction(w config.WipeDevice, wipe string) Action {
	cmd := wipeCmd(w, wipe)
	if !w.HasIdentity() {
		cmd = remote.Script(`echo %s >&2; exit 3`, "refusing to wipe "+w.Disk+": its [wipe] entry names no identity (wwn=, serial=, size=); run scalestore check to see the disk's")
	}
	return destroy(run(w.Host, "wipe "+w.Disk+" (named under [wipe]: "+w.ID()+")", cmd,
		ptr(remote.Script(`grep -qsxF %s %s`, w.ID(), WipedFile))))
}

// sh builds a script of several commands joined with &&.
func sh(cmds ...remote.Cmd) remote.Cmd {
	parts := make([]string, len(cmds))
	for i, c := range cmds {
		parts[i] = c.String()
	}
	return remote.Cmd{Script: strings.Join(parts, " && ")}
}

// not negates a probe.
func not(c remote.Cmd) remote.Cmd { return remote.Cmd{Script: "! { " + c.String() + "; }"} }

func header(s *config.Spec, what string) string {
	return fmt.Sprintf("Written by scalestore for cluster %q: %s.\nEdit the spec and run scalestore again rather than this file.", s.Cluster.Name, what)
}

func comment(prefix, text string) string {
	var b strings.Builder
	for _, l := range strings.Split(text, "\n") {
		b.WriteString(prefix + " " + l + "\n")
	}
	return b.String()
}

func firstClient(s *config.Spec) string { return s.Clients[0].Host }

// flatten joins steps and step lists in order.
func flatten(parts ...any) []Step {
	var out []Step
	for _, p := range parts {
		switch v := p.(type) {
		case Step:
			out = append(out, v)
		case []Step:
			out = append(out, v...)
		default:
			panic(fmt.Sprintf("flatten: %T", p))
		}
	}
	return out
}

// gfs2Full is true when GFS2 already fills its LV: less than one resource
// group (32 MiB, what gfs2_grow needs at the least) lies unused.
func gfs2Full(s *config.Spec) remote.Cmd {
	// the arithmetic only sees numbers: an empty one would end the shell
	return remote.Script(`lvb=$(blockdev --getsize64 %s) && fsb=$(stat -f -c '%%b * %%S' %s) && test $(( lvb - $fsb )) -lt 33554432`,
		s.LVPath(), s.Volume.MountPoint)
}

// jaddMinMB is the smallest journal gfs2_jadd makes (gfs2-utils 3.5 refuses
// less with "bad journal size", though mkfs.gfs2 takes 8 MB).
const jaddMinMB = 32

// journalsStep gives every client a journal: a client added to a running
// cluster with no spare journal left gets one, added online with gfs2_jadd
// on the first client (where GFS2 is already mounted), before it mounts.
// On a new filesystem mkfs.gfs2 has made them all and this changes nothing.
func journalsStep(s *config.Spec) Step {
	n := fmt.Sprint(s.JournalCount())
	lv, mp := s.LVPath(), s.Volume.MountPoint
	st := Step{ID: "journals", Title: "Give every client a GFS2 journal (" + n + ", online)", Layer: "gfs2"}
	count := remote.Script(`gfs2_edit -p jindex %s 2>/dev/null | grep -cE %s`, lv, "File +journal[0-9]+$")
	var size []string
	if s.Volume.JournalSizeMB != 0 {
		size = []string{"-J", fmt.Sprint(max(s.Volume.JournalSizeMB, jaddMinMB))}
	}
	add := remote.Script(`have=$(%s); test "$have" -gt 0 || { echo %s >&2; exit 1; }; `+
		`grep -q %s /proc/mounts || { echo %s >&2; exit 1; }; gfs2_jadd -j $((%d - have)) %s`,
		count, "cannot read the journal index of "+lv,
		" "+mp+" gfs2 ", "GFS2 is not mounted at "+mp+" here: gfs2_jadd needs the mounted filesystem",
		s.JournalCount(), remote.Argv(append(size, mp)...))
	st.Actions = append(st.Actions, run(firstClient(s), "add journals up to "+n+" (one per client)", add,
		ptr(remote.Script(`test "$(%s)" -ge %s`, count, n))))
	return st
}
