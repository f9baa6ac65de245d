package steps

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"scalestore/config"
)

// The properties of the plan that keep the cluster safe, each tested on its
// own: the golden plans flag any change, these flag a wrong one.

// specs are the specs a property is checked on: the sample in the given
// profile, and the lab's grown cluster (three pairs) when it is debian12.
func specs(t *testing.T, profile string) map[string]*config.Spec {
	m := map[string]*config.Spec{"sample.toml": sample(t, profile)}
	if profile == config.ProfileDebian12 {
		m["lab-grow.toml"] = loadLab(t, "lab-grow.toml")
	}
	return m
}

// written is every file the plan writes at path, by host.
func written(p *Plan, path string) map[string]string {
	m := map[string]string{}
	for _, st := range p.Steps {
		for _, a := range st.Actions {
			if a.Kind == WriteFile && a.Path == path {
				m[a.Host] = a.Content
			}
		}
	}
	return m
}

// confSections reads a brace-structured config (DRBD's, multipath's):
// each "key value;" line under its section path ("resource r0/net").
func confSections(text string) map[string]map[string]string {
	out := map[string]map[string]string{}
	var stack []string
	n := map[string]int{}
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if i := strings.Index(l, "#"); i >= 0 {
			l = strings.TrimSpace(l[:i])
		}
		switch {
		case l == "":
		case strings.HasSuffix(l, "{"):
			name := strings.TrimSpace(strings.TrimSuffix(l, "{"))
			path := strings.Join(append(append([]string{}, stack...), name), "/")
			n[path]++
			stack = append(stack, fmt.Sprintf("%s#%d", name, n[path]))
		case l == "}":
			stack = stack[:len(stack)-1]
		default:
			k, v, _ := strings.Cut(strings.TrimSuffix(l, ";"), " ")
			sec := strings.Join(stack, "/")
			if out[sec] == nil {
				out[sec] = map[string]string{}
			}
			out[sec][k] = strings.TrimSpace(v)
		}
	}
	return out
}

// DRBD declares a peer lost after ping-timeout (tenths of a second) without
// an answer to a ping. Its default, 0.5 s, dropped a busy pair's link in the
// lab and both primaries split-brained (commit ffa685e): every resource
// file waits at least 3 s, and keeps DRBD's own rule that timeout (tenths)
// stays below ping-int (seconds), or drbdadm refuses the file.
func TestDRBDKeepsABusyPairConnected(t *testing.T) {
	const minPingTimeout = 30 // tenths: the lab's busy pair needed 3 s
	for name, s := range specs(t, config.ProfileDebian12) {
		p := Build(s, nil)
		for _, pair := range s.Pairs {
			files := written(p, "/etc/drbd.d/"+pair.Resource()+".res")
			if len(files) != 2 {
				t.Fatalf("%s: %s is written on %d hosts, want both halves", name, pair.Resource(), len(files))
			}
			for host, text := range files {
				net := confSections(text)["resource "+pair.Resource()+"#1/net#1"]
				num := func(key string) int {
					v, err := strconv.Atoi(net[key])
					if err != nil {
						t.Fatalf("%s: %s on %s: net { %s } is %q, want a number", name, pair.Resource(), host, key, net[key])
					}
					return v
				}
				if pt := num("ping-timeout"); pt < minPingTimeout {
					t.Errorf("%s: %s on %s: ping-timeout %d (%.1f s): a busy pair drops its link below %.1f s",
						name, pair.Resource(), host, pt, float64(pt)/10, float64(minPingTimeout)/10)
				}
				if to, pi := num("timeout"), num("ping-int"); to >= pi*10 {
					t.Errorf("%s: %s on %s: timeout %.1f s is not below ping-int %d s (drbdadm refuses it)", name, pair.Resource(), host, float64(to)/10, pi)
				}
			}
		}
	}
}

// Every client's multipath.conf groups each pair's two paths for failover
// (one active half per client, STACK.md's risks): each map of the
// multipaths block, and in debian12 the LIO device section, whose built-in
// default (group_by_prio with equal priorities) would use both halves at
// once. No other grouping appears anywhere.
func TestMultipathGroupsForFailoverEverywhere(t *testing.T) {
	for _, prof := range []string{config.ProfileDebian12, config.ProfileCentOS5} {
		for name, s := range specs(t, prof) {
			p := Build(s, nil)
			files := written(p, "/etc/multipath.conf")
			if len(files) != len(s.Clients) {
				t.Fatalf("%s %s: multipath.conf written on %d hosts, want every client (%d)", prof, name, len(files), len(s.Clients))
			}
			for host, text := range files {
				secs := confSections(text)
				maps, devices := 0, 0
				for sec, kv := range secs {
					if g, ok := kv["path_grouping_policy"]; ok && g != "failover" {
						t.Errorf("%s %s on %s: %s groups paths %q, want failover", prof, name, host, sec, g)
					}
					switch {
					case strings.HasPrefix(sec, "multipaths#1/multipath#"):
						maps++
						if kv["path_grouping_policy"] != "failover" {
							t.Errorf("%s %s on %s: map %s has no failover grouping", prof, name, host, kv["alias"])
						}
					case strings.HasPrefix(sec, "devices#1/device#"):
						devices++
						if kv["path_grouping_policy"] != "failover" {
							t.Errorf("%s %s on %s: device %s has no failover grouping", prof, name, host, kv["vendor"])
						}
					}
				}
				if maps != len(s.Pairs) {
					t.Errorf("%s %s on %s: %d maps, want one per pair (%d)", prof, name, host, maps, len(s.Pairs))
				}
				if prof == config.ProfileDebian12 && devices == 0 {
					t.Errorf("%s %s on %s: no LIO device section: the built-in group_by_prio would apply", prof, name, host)
				}
			}
		}
	}
}

// drbd-up's probe says "already so" exactly when the resource is in the
// kernel and drbdadm's dry run of adjust has nothing to do: it must hold on
// a built half (the dry run prints nothing), and not hold where the dry run
// would change something or the kernel has no such device. Run with dash.
func TestDRBDUpProbeTruth(t *testing.T) {
	s := loadLab(t, "lab.toml")
	p := Build(s, nil)
	pair := s.Pairs[0]
	var probe string
	for _, st := range p.Steps {
		for _, a := range st.Actions {
			if st.ID == "drbd-up" && a.Host == pair.A.Host && a.Unless != nil {
				probe = a.Unless.String()
			}
		}
	}
	if probe == "" {
		t.Fatal("no probe for drbd-up on " + pair.A.Host)
	}
	dev := fmt.Sprintf("/sys/block/drbd%d", pair.Num())
	for _, tc := range []struct {
		name    string
		dryRun  string // what "drbdadm -d adjust" prints
		devices bool   // the kernel has the DRBD device
		want    bool
	}{
		{"built half: nothing to adjust", "", true, true},
		{"blank half: no device", "", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newStubHost(t, nil)
			drbdadm := "#!/bin/sh\nprintf '%s' '" + tc.dryRun + "'\n"
			if err := os.WriteFile(filepath.Join(h.dir, "drbdadm"), []byte(drbdadm), 0o755); err != nil {
				t.Fatal(err)
			}
			if got := h.holdsWith(probe, map[string]bool{dev: tc.devices}); got != tc.want {
				t.Errorf("drbd-up probe holds = %v, want %v\n%s", got, tc.want, probe)
			}
		})
	}
}
