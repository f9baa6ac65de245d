package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"scalestore/config"
	"scalestore/remote"
)

// HostState is the live state of one host's layers, read by one command.
type HostState struct {
	Role string
	// storage
	DRBD    []DRBDDevice
	Targets []string // iSCSI target IQNs in configfs
	LUNs    []string // targets that have LUN 0
	// SplitBrain: the split-brain handler's records, resource → when.
	SplitBrain map[string]string
	// client
	Sessions   []ISCSISession
	Maps       []MultipathMap
	Quorate    bool
	Lockspaces []string
	LVs        []LV
	Mounts     []Mount
}

// StateScript reads every layer of a host in one round trip.
func StateScript(role string) remote.Cmd {
	if role == "storage" {
		return remote.Cmd{Script: "echo @@drbd; cat /proc/drbd 2>/dev/null; " +
			"echo @@targets; ls /sys/kernel/config/target/iscsi 2>/dev/null | grep '^iqn'; " +
			"echo @@luns; for d in /sys/kernel/config/target/iscsi/iqn*/tpgt_1/lun/lun_0; do [ -d \"$d\" ] && echo \"$d\"; done; " +
			"echo @@splitbrain; for f in " + remote.Quote(SplitBrainDir) + "/split-brain-r*; do [ -f \"$f\" ] && echo \"${f##*/split-brain-} $(cat \"$f\")\"; done; true"}
	}
	return remote.Cmd{Script: "echo @@sessions; iscsiadm -m session 2>/dev/null; " +
		"echo @@multipath; multipath -ll 2>/dev/null; " +
		"echo @@quorum; corosync-quorumtool -s 2>/dev/null; " +
		"echo @@lockspaces; dlm_tool ls 2>/dev/null; " +
		"echo @@lvs; lvs --reportformat json -o vg_name,lv_name,lv_attr,lv_size --units b --nosuffix 2>/dev/null; " +
		"echo @@mounts; findmnt -J -t gfs2 -o TARGET,SOURCE,FSTYPE 2>/dev/null; true"}
}

// ParseState reads the output of StateScript.
func ParseState(role, out string) (*HostState, error) {
	st := &HostState{Role: role}
	sections := splitSections(out)
	var err error
	if role == "storage" {
		st.DRBD = ParseProcDRBD(sections["drbd"])
		st.Targets = strings.Fields(sections["targets"])
		for _, l := range strings.Fields(sections["luns"]) {
			parts := strings.Split(l, "/")
			if len(parts) > 6 {
				st.LUNs = append(st.LUNs, parts[6])
			}
		}
		st.SplitBrain = ParseSplitBrain(sections["splitbrain"])
		return st, nil
	}
	st.Sessions = ParseISCSISessions(sections["sessions"])
	st.Maps = ParseMultipathLL(sections["multipath"])
	st.Quorate = ParseQuorate(sections["quorum"])
	st.Lockspaces = ParseDLMLockspaces(sections["lockspaces"])
	if st.LVs, err = ParseLVs(sections["lvs"]); err != nil {
		return nil, fmt.Errorf("lvs: %w", err)
	}
	if st.Mounts, err = ParseFindmnt(sections["mounts"]); err != nil {
		return nil, fmt.Errorf("findmnt: %w", err)
	}
	return st, nil
}

// ParseSplitBrain reads the records of the split-brain handler, one
// "rN TIME" line each, into resource → time.
func ParseSplitBrain(text string) map[string]string {
	var out map[string]string
	for _, l := range strings.Split(text, "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || !reResource.MatchString(f[0]) {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[f[0]] = strings.Join(f[1:], " ")
	}
	return out
}

var reResource = regexp.MustCompile(`^r[0-9]+$`)

func splitSections(out string) map[string]string {
	m := map[string]string{}
	cur := ""
	var buf []string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "@@") {
			if cur != "" {
				m[cur] = strings.Join(buf, "\n")
			}
			cur, buf = strings.TrimPrefix(line, "@@"), nil
			continue
		}
		buf = append(buf, line)
	}
	if cur != "" {
		m[cur] = strings.Join(buf, "\n")
	}
	return m
}

// ISCSISession is one line of `iscsiadm -m session`.
type ISCSISession struct {
	Portal string // 10.0.0.11:3260
	Target string
}

var reSession = regexp.MustCompile(`^\S+: \[\d+\] (\S+?),\d+ (\S+)`)

// ParseISCSISessions reads `iscsiadm -m session`.
func ParseISCSISessions(text string) []ISCSISession {
	var out []ISCSISession
	for _, l := range strings.Split(text, "\n") {
		if m := reSession.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
			out = append(out, ISCSISession{Portal: m[1], Target: m[2]})
		}
	}
	return out
}

// MultipathMap is one map of `multipath -ll`.
type MultipathMap struct {
	Alias string
	WWID  string
	Paths []MultipathPath
}

// MultipathPath is one path of a map.
type MultipathPath struct {
	Dev   string // sda
	State string // "active ready running", "failed faulty running", …
	Group string // the path group's status: active, enabled
}

// Ready counts the paths that are up.
func (m MultipathMap) Ready() int {
	n := 0
	for _, p := range m.Paths {
		if strings.HasPrefix(p.State, "active ready") {
			n++
		}
	}
	return n
}

var (
	reMapHead  = regexp.MustCompile(`^(\S+) \((\w+)\) dm-\d+`)
	reMapGroup = regexp.MustCompile(`policy=.*status=(\w+)`)
	reMapPath  = regexp.MustCompile(`[|` + "`" + `-]+ (\d+:\d+:\d+:\d+) (\S+) \S+\s+(.+)$`)
)

// ParseMultipathLL reads `multipath -ll`.
func ParseMultipathLL(text string) []MultipathMap {
	var out []MultipathMap
	group := ""
	for _, l := range strings.Split(text, "\n") {
		if m := reMapHead.FindStringSubmatch(l); m != nil {
			out = append(out, MultipathMap{Alias: m[1], WWID: m[2]})
			group = ""
			continue
		}
		if len(out) == 0 {
			continue
		}
		if m := reMapGroup.FindStringSubmatch(l); m != nil {
			group = m[1]
			continue
		}
		if m := reMapPath.FindStringSubmatch(l); m != nil {
			cur := &out[len(out)-1]
			cur.Paths = append(cur.Paths, MultipathPath{Dev: m[2], State: strings.TrimSpace(m[3]), Group: group})
		}
	}
	return out
}

// ParseQuorate reads `corosync-quorumtool -s`.
func ParseQuorate(text string) bool {
	for _, l := range strings.Split(text, "\n") {
		f := strings.Fields(l)
		if len(f) == 2 && f[0] == "Quorate:" {
			return f[1] == "Yes"
		}
	}
	return false
}

// ParseDLMLockspaces reads `dlm_tool ls`: the lockspace names.
func ParseDLMLockspaces(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		f := strings.Fields(l)
		if len(f) == 2 && f[0] == "name" {
			out = append(out, f[1])
		}
	}
	return out
}

// LV is one logical volume of `lvs --reportformat json`.
type LV struct {
	VG   string `json:"vg_name"`
	Name string `json:"lv_name"`
	Attr string `json:"lv_attr"`
	Size string `json:"lv_size"`
}

// Active reports the attr's activation flag.
func (l LV) Active() bool { return len(l.Attr) > 4 && l.Attr[4] == 'a' }

// Bytes is the LV size.
func (l LV) Bytes() int64 { n, _ := strconv.ParseInt(strings.TrimSpace(l.Size), 10, 64); return n }

// ParseLVs reads `lvs --reportformat json`.
func ParseLVs(text string) ([]LV, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	var v struct {
		Report []struct {
			LV []LV `json:"lv"`
		} `json:"report"`
	}
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		return nil, err
	}
	var out []LV
	for _, r := range v.Report {
		out = append(out, r.LV...)
	}
	return out, nil
}

// Mount is one filesystem of `findmnt -J`.
type Mount struct {
	Target string `json:"target"`
	Source string `json:"source"`
	FSType string `json:"fstype"`
}

// ParseFindmnt reads `findmnt -J -o TARGET,SOURCE,FSTYPE`.
func ParseFindmnt(text string) ([]Mount, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	var v struct {
		Filesystems []Mount `json:"filesystems"`
	}
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		return nil, err
	}
	return v.Filesystems, nil
}

// ClusterState is every host's live state.
type ClusterState struct {
	Hosts  map[string]*HostState
	Errors map[string]error
}

// ReadState reads every host's layers in parallel.
func ReadState(ctx context.Context, s *config.Spec, hosts HostSource) *ClusterState {
	cs := &ClusterState{Hosts: map[string]*HostState{}, Errors: map[string]error{}}
	var names []string
	for _, h := range s.Hosts {
		if role(s, h.Name) != "" {
			names = append(names, h.Name)
		}
	}
	res := remote.FanOut(ctx, names, 0, func(ctx context.Context, name string) (*HostState, error) {
		h, err := hosts(ctx, name)
		if err != nil {
			return nil, err
		}
		r := role(s, name)
		out, err := h.Run(ctx, StateScript(r), remote.RunOptions{Timeout: ReadTimeout})
		if err != nil {
			return nil, fmt.Errorf("read state of %s: %w", name, err)
		}
		return ParseState(r, string(out.Stdout))
	})
	for n, o := range res {
		if o.Err != nil {
			cs.Errors[n] = o.Err
		} else {
			cs.Hosts[n] = o.Value
		}
	}
	return cs
}
