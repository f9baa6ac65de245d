package ui

import (
	"fmt"
	"strings"

	"scalestore/config"
	"scalestore/steps"
)

// topology draws a spec's cluster as a few lines of text: each pair with its
// halves and disks, the clients, the volume, fencing, and spare hosts.
// It is shared by the welcome screen and the review.
func topology(s *config.Spec, width int) string {
	var b strings.Builder
	row := func(label, text string) {
		b.WriteString(wrapIndent(styleDim.Render(fmt.Sprintf("  %-9s", label))+text, width, 11) + "\n")
	}
	for _, p := range s.Pairs {
		row("pair "+p.Resource(), fmt.Sprintf("%s:%s ══ %s:%s  → %s", p.A.Host, p.A.Disk, p.B.Host, p.B.Disk, p.Alias()))
	}
	if len(s.Pairs) == 0 {
		row("pairs", "none yet")
	}
	clients := s.ClientHosts()
	if len(clients) > 0 {
		row("clients", strings.Join(clients, ", ")+" import every pair")
	}
	var maps []string
	for _, p := range s.Pairs {
		maps = append(maps, p.Alias())
	}
	if len(maps) > 0 {
		row("volume", fmt.Sprintf("%s → %s/%s → GFS2 %s at %s", strings.Join(maps, " + "), s.Volume.VG, s.Volume.LV, s.LockTable(), s.Volume.MountPoint))
	}
	switch s.Fencing.Agent {
	case "":
	case "none":
		row("fencing", styleWarn.Render("none (lab only)"))
	default:
		row("fencing", s.Fencing.Agent)
	}
	var spare []string
	for _, h := range s.Hosts {
		if steps.Role(s, h.Name) == "" {
			spare = append(spare, h.Name)
		}
	}
	if len(spare) > 0 {
		row("spare", strings.Join(spare, ", ")+" (listed, in no pair or client)")
	}
	return strings.TrimRight(b.String(), "\n")
}

// sizeText prints a byte count the way lsblk does (binary units).
func sizeText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	v := float64(n) / float64(div)
	suffix := "KMGTPE"[exp : exp+1]
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d %siB", int64(v), suffix)
	}
	return fmt.Sprintf("%.1f %siB", v, suffix)
}
