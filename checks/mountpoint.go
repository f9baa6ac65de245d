package checks

import (
	"strings"

	"scalestore/config"
	"scalestore/steps"
)

// checkMountPoint refuses a client whose mount point already holds, or
// whose fstab already names for it, anything but this cluster's GFS2 LV:
// the fstab step replaces the line of that mount point, and mounting over
// a filesystem hides it. A mount point that could not be read refuses too.
func checkMountPoint(s *config.Spec, hf *steps.HostFacts) Result {
	mp := s.Volume.MountPoint
	r := Result{Check: "mount point"}
	m := hf.MountPoint
	switch {
	case m.Err != nil:
		r.Status, r.Msg, r.Hint = Fail, mp+": "+m.Err.Error(), "scalestore checks what is mounted at the mount point and in fstab before it writes fstab"
		return r
	case !m.Read:
		r.Status, r.Msg = Fail, mp+": what is mounted there and fstab's entries for it were not read"
		return r
	}
	ours := func(e []string) bool { return isOurLV(s, e[0]) && e[1] == "gfs2" }
	for _, e := range m.Mounted {
		if !ours(e) {
			r.Status, r.Msg = Fail, mp+" is already a mount of "+e[0]+" ("+e[1]+")"
			r.Hint = "scalestore never mounts over another filesystem: pick another volume.mount_point, or unmount it and remove its fstab line yourself"
			return r
		}
	}
	for _, e := range m.Fstab {
		if !ours(e) {
			r.Status, r.Msg = Fail, "/etc/fstab already mounts "+e[0]+" ("+e[1]+") at "+mp
			r.Hint = "scalestore never replaces another filesystem's fstab line: pick another volume.mount_point, or remove that line yourself"
			return r
		}
	}
	r.Status = Pass
	switch {
	case len(m.Mounted) > 0:
		r.Msg = mp + " has this cluster's GFS2 mounted"
	case len(m.Fstab) > 0:
		r.Msg = mp + " is in fstab for this cluster's GFS2"
	default:
		r.Msg = mp + " is free (nothing mounted, no fstab line)"
	}
	return r
}

// isOurLV: dev names the spec's LV (/dev/VG/LV or its device-mapper name).
func isOurLV(s *config.Spec, dev string) bool {
	dm := "/dev/mapper/" + strings.ReplaceAll(s.Volume.VG, "-", "--") + "-" + strings.ReplaceAll(s.Volume.LV, "-", "--")
	return dev == s.LVPath() || dev == dm
}
