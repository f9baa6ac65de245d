package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// WipeDevice is one [wipe] entry: a pair half's backing disk and the
// identity the disk had when the operator marked it, written
// "host:/dev/path wwn=… serial=… size=BYTES" (wwn or serial, or both, and
// size). The wipe runs only on the disk with that identity, and once.
type WipeDevice struct {
	Host, Disk  string
	WWN, Serial string
	Size        int64 // bytes
}

// reIdent is what a WWN or serial may hold to be recorded: what lsblk
// prints as is, with no character a shell or a line-per-identity file
// treats specially.
var reIdent = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:+-]*$`)

// ValidIdent reports whether a disk's WWN or serial can be recorded.
func ValidIdent(v string) bool { return reIdent.MatchString(v) }

// HasIdentity reports whether the entry names the disk by its identity
// (WWN or serial, and size), not only by its path.
func (w WipeDevice) HasIdentity() bool { return (w.WWN != "" || w.Serial != "") && w.Size > 0 }

// ID is the disk's identity, "wwn=… serial=… size=…" with the fields it
// has: the line the host records once the disk is wiped.
func (w WipeDevice) ID() string {
	var f []string
	if w.WWN != "" {
		f = append(f, "wwn="+w.WWN)
	}
	if w.Serial != "" {
		f = append(f, "serial="+w.Serial)
	}
	if w.Size > 0 {
		f = append(f, "size="+strconv.FormatInt(w.Size, 10))
	}
	return strings.Join(f, " ")
}

// String is the entry as written under [wipe] devices.
func (w WipeDevice) String() string {
	s := w.Host + ":" + w.Disk
	if id := w.ID(); id != "" {
		s += " " + id
	}
	return s
}

// ParseWipeDevice reads one [wipe] devices entry.
func ParseWipeDevice(entry string) (WipeDevice, error) {
	fields := strings.Fields(entry)
	if len(fields) == 0 {
		return WipeDevice{}, fmt.Errorf("%q: write each device as \"host:/dev/path\"", entry)
	}
	var w WipeDevice
	var ok bool
	w.Host, w.Disk, ok = strings.Cut(fields[0], ":")
	if !ok || w.Host == "" || !validDevice(w.Disk) {
		return WipeDevice{}, fmt.Errorf("%q: write each device as \"host:/dev/path\"", entry)
	}
	for _, f := range fields[1:] {
		k, v, _ := strings.Cut(f, "=")
		switch {
		case k == "wwn" && ValidIdent(v) && w.WWN == "":
			w.WWN = v
		case k == "serial" && ValidIdent(v) && w.Serial == "":
			w.Serial = v
		case k == "size" && w.Size == 0:
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return WipeDevice{}, fmt.Errorf("%q: size %q is not a size in bytes", entry, v)
			}
			w.Size = n
		default:
			return WipeDevice{}, fmt.Errorf("%q: %q is not one of wwn=, serial=, size= (each once; wwn and serial are letters, digits and ._:+-)", entry, f)
		}
	}
	return w, nil
}

// WipeOf is the [wipe] entry of host:dev, if the operator named it.
func (s *Spec) WipeOf(host, dev string) (WipeDevice, bool) {
	for _, d := range s.Wipe.Devices {
		if w, err := ParseWipeDevice(d); err == nil && w.Host == host && w.Disk == dev {
			return w, true
		}
	}
	return WipeDevice{}, false
}

func (s *Spec) checkWipe(c *checker) {
	for i, d := range s.Wipe.Devices {
		k := fmt.Sprintf("wipe.devices[%d]", i)
		w, err := ParseWipeDevice(d)
		if err != nil {
			c.bad(k, "%v", err)
			continue
		}
		used := false
		for _, p := range s.Pairs {
			for _, h := range p.Halves() {
				used = used || (h.Host == w.Host && h.Disk == w.Disk)
			}
		}
		if !used {
			c.bad(k, "%q is not the disk of any pair half; only a pair's backing disk may be wiped", w.Host+":"+w.Disk)
		}
	}
}
