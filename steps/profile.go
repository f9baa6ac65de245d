package steps

import (
	"fmt"
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

// blankDiskGuard is the shell test every destructive disk action runs first:
// it refuses (exit 3, with the reason on stderr) a device that has a
// signature, a partition or holder, or a mount. Preflight checks the same
// thing; this guard makes the refusal hold even if the disk changed since.
func blankDiskGuard(dev string) string {
	return remote.Script(`d=$(readlink -f %s) && b=${d##*/} && `+
		`if [ -n "$(wipefs --noheadings --output TYPE "$d" 2>/dev/null)" ] || [ "$(lsblk -nro NAME "$d" | wc -l)" -ne 1 ] || `+
		`findmnt -rn -S "$d" >/dev/null || [ -n "$(ls /sys/class/block/"$b"/holders 2>/dev/null)" ]; `+
		`then echo %s >&2; exit 3; fi`, dev, "refusing to write "+dev+": it holds a signature, partition, mount or holder (name it under [wipe] to allow wiping)").String()
}

// guarded prefixes a destructive command with the blank-disk guard.
func guarded(dev string, cmd remote.Cmd) remote.Cmd {
	return remote.Cmd{Script: blankDiskGuard(dev) + " && " + cmd.String()}
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
