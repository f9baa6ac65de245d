package main

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"scalestore/checks"
	"scalestore/steps"
)

// planCounts counts what the sample's plan holds, straight from steps.Build.
func planCounts(t *testing.T) (p *steps.Plan, actions, destructive int, hosts []string, destructiveSteps []string) {
	t.Helper()
	s, err := loadSpec("sample.toml")
	if err != nil {
		t.Fatal(err)
	}
	p = steps.Build(s, nil)
	for _, st := range p.Steps {
		for _, a := range st.Actions {
			actions++
			if !slices.Contains(hosts, a.Host) {
				hosts = append(hosts, a.Host)
			}
			if a.Destructive {
				destructive++
				if !slices.Contains(destructiveSteps, st.ID) {
					destructiveSteps = append(destructiveSteps, st.ID)
				}
			}
		}
	}
	if destructive == 0 {
		t.Fatal("the sample's plan has no destructive action: this test proves nothing")
	}
	return p, actions, destructive, hosts, destructiveSteps
}

// plan ends with one summary line, as terraform's does, with the plan's
// counts and where its destructive actions are.
func TestPlanEndsWithASummary(t *testing.T) {
	p, actions, destructive, hosts, dsteps := planCounts(t)
	code, out, errs := cli(t, "plan", "-f", "sample.toml")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	last := lines[len(lines)-1]
	m := regexp.MustCompile(`^Plan: (\d+) actions in (\d+) steps on (\d+) hosts, (\d+) destructive \(steps (.+)\)\.$`).FindStringSubmatch(last)
	if m == nil {
		t.Fatalf("the last line is not the summary: %q", last)
	}
	for i, want := range []int{actions, len(p.Steps), len(hosts), destructive} {
		if n, _ := strconv.Atoi(m[i+1]); n != want {
			t.Errorf("summary %q: number %d is %d, want %d", last, i+1, n, want)
		}
	}
	if m[5] != strings.Join(dsteps, ", ") {
		t.Errorf("summary %q names steps %q, want %q", last, m[5], strings.Join(dsteps, ", "))
	}
}

// jsonPlan is what a script reads from plan --json.
type jsonPlan struct {
	Schema      int      `json:"schema"`
	Cluster     string   `json:"cluster"`
	Hosts       []string `json:"hosts"`
	Actions     int      `json:"actions"`
	Destructive int      `json:"destructive"`
	Steps       []struct {
		ID      string `json:"id"`
		Title   string `json:"title"`
		Actions []struct {
			Host        string `json:"host"`
			Kind        string `json:"kind"`
			Desc        string `json:"desc"`
			Command     string `json:"command"`
			Path        string `json:"path"`
			Destructive bool   `json:"destructive"`
		} `json:"actions"`
	} `json:"steps"`
}

// plan --json is one JSON document with schema 1 holding every step and
// action of the plan, and counts that agree with them.
func TestPlanJSON(t *testing.T) {
	p, actions, destructive, hosts, _ := planCounts(t)
	code, out, errs := cli(t, "plan", "--json", "-f", "sample.toml")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var jp jsonPlan
	if err := json.Unmarshal([]byte(out), &jp); err != nil {
		t.Fatalf("plan --json is not JSON: %v\n%.300s", err, out)
	}
	if jp.Schema != 1 || jp.Cluster != p.Cluster || jp.Actions != actions || jp.Destructive != destructive || !slices.Equal(jp.Hosts, hosts) {
		t.Errorf("header: schema %d cluster %q, %d actions, %d destructive, hosts %v; want 1 %q %d %d %v",
			jp.Schema, jp.Cluster, jp.Actions, jp.Destructive, jp.Hosts, p.Cluster, actions, destructive, hosts)
	}
	if len(jp.Steps) != len(p.Steps) {
		t.Fatalf("%d steps in the JSON, %d in the plan", len(jp.Steps), len(p.Steps))
	}
	nActions, nDestructive := 0, 0
	for i, st := range jp.Steps {
		ps := p.Steps[i]
		if st.ID != ps.ID || st.Title != ps.Title || len(st.Actions) != len(ps.Actions) {
			t.Fatalf("step %d: %q %q with %d actions, want %q %q with %d", i, st.ID, st.Title, len(st.Actions), ps.ID, ps.Title, len(ps.Actions))
		}
		for j, a := range st.Actions {
			pa := ps.Actions[j]
			nActions++
			if a.Destructive {
				nDestructive++
			}
			if a.Host != pa.Host || a.Desc != pa.Desc || a.Destructive != pa.Destructive || a.Path != pa.Path {
				t.Errorf("step %s action %d: %+v, want host %q desc %q destructive %t path %q", st.ID, j, a, pa.Host, pa.Desc, pa.Destructive, pa.Path)
			}
			switch pa.Kind {
			case steps.Run, steps.Wait:
				if a.Command != pa.Cmd.String() || (a.Kind != "run" && a.Kind != "wait") {
					t.Errorf("step %s action %d: kind %q command %q, want %q", st.ID, j, a.Kind, a.Command, pa.Cmd.String())
				}
			case steps.WriteFile, steps.CopySecret:
				if a.Kind != "write-file" && a.Kind != "copy-secret" {
					t.Errorf("step %s action %d: kind %q for a file", st.ID, j, a.Kind)
				}
			}
		}
	}
	if nActions != jp.Actions || nDestructive != jp.Destructive {
		t.Errorf("the JSON's steps hold %d actions (%d destructive), its counts say %d (%d)", nActions, nDestructive, jp.Actions, jp.Destructive)
	}
}

// Every JSON line of apply --json (events and checks) carries "schema": 1.
func TestJSONLinesCarryTheSchema(t *testing.T) {
	var b bytes.Buffer
	pr := newPrinter(&b, true, nil)
	pr.event(steps.Event{Time: time.Now(), Kind: steps.RunStarted, Title: "client"})
	pr.checks([]checks.Result{{Check: "ssh", Host: "client0", Status: checks.Pass, Msg: "ok"}})
	pr.event(steps.Event{Time: time.Now(), Kind: steps.RunDone, Changed: 3})
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(lines), b.String())
	}
	for _, l := range lines {
		var v struct {
			Schema *int   `json:"schema"`
			Kind   string `json:"kind"`
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil || v.Schema == nil || *v.Schema != 1 || v.Kind == "" {
			t.Errorf("line %s: schema %v kind %q err %v; want schema 1", l, v.Schema, v.Kind, err)
		}
	}
	var e steps.Event
	if err := json.Unmarshal([]byte(lines[2]), &e); err != nil || e.Kind != steps.RunDone || e.Changed != 3 {
		t.Errorf("an event line does not read back: %+v %v", e, err)
	}
}
