package steps

import (
	"encoding/json"
	"fmt"
	"time"
)

// Schema is the version of the JSON form of events and plans (apply --json,
// plan --json, the run log), in each one's "schema" field. It goes up when
// a field is removed or changes meaning; new fields keep it.
const Schema = 1

// EventKind names what happened.
type EventKind string

const (
	RunStarted  EventKind = "run-started"
	StepStarted EventKind = "step-started"
	ActionDone  EventKind = "action"   // one action's outcome
	LogLine     EventKind = "log"      // a line a remote command printed
	ProgressMsg EventKind = "progress" // DRBD sync progress
	Warning     EventKind = "warning"
	Failed      EventKind = "failed"
	StepDone    EventKind = "step-done"
	RunDone     EventKind = "run-done"
)

// Outcome is what an action did.
type Outcome string

const (
	Changed     Outcome = "changed"
	Unchanged   Outcome = "unchanged"    // the probe said it was already so
	WouldChange Outcome = "would-change" // dry run: the probe said it is to do
	Waited      Outcome = "waited"       // a wait that is satisfied
)

// Progress is a resync's state, read from /proc/drbd while waiting.
type Progress struct {
	Resource   string  `json:"resource"`
	Percent    float64 `json:"percent"`
	SpeedKiBps int64   `json:"speed_kib_s"`
	ETA        string  `json:"eta"`
	State      string  `json:"state"` // e.g. SyncSource, Connected
	Disks      string  `json:"disks"` // e.g. UpToDate/Inconsistent
}

// Event is one item of the stream the engine emits: the wizard renders it
// live, the plain runner prints it as a line, --json prints it as is.
type Event struct {
	Time     time.Time     `json:"time"`
	Kind     EventKind     `json:"kind"`
	Step     string        `json:"step,omitempty"`
	Title    string        `json:"title,omitempty"`
	Host     string        `json:"host,omitempty"`
	Action   string        `json:"action,omitempty"`
	Outcome  Outcome       `json:"outcome,omitempty"`
	Stream   string        `json:"stream,omitempty"` // "stdout" or "stderr"
	Text     string        `json:"text,omitempty"`
	Progress *Progress     `json:"progress,omitempty"`
	Cmd      string        `json:"cmd,omitempty"`
	Code     int           `json:"code,omitempty"`
	Stderr   string        `json:"stderr,omitempty"`
	Error    string        `json:"error,omitempty"`
	Changed  int           `json:"changed,omitempty"`
	Elapsed  time.Duration `json:"elapsed_ns,omitempty"`
	// Unchanged counts unchanged actions in step-done and run-done.
	Unchanged int `json:"unchanged,omitempty"`
	// Schedule and Steps are in run-started: how the run orders its steps
	// (ScheduleSteps or ScheduleGraph) and every step of the plan with the
	// earlier steps it needs, so a consumer knows what may run at once.
	Schedule string     `json:"schedule,omitempty"`
	Steps    []PlanStep `json:"steps,omitempty"`
	// Concurrency is the cap on what runs at once (run-started; 0: none).
	Concurrency int `json:"concurrency,omitempty"`
}

// How a run orders its steps (Engine.Graph), in run-started's "schedule".
const (
	// ScheduleSteps: step after step, the hosts of a step in parallel.
	ScheduleSteps = "steps"
	// ScheduleGraph: each step on each host (a node) as soon as the nodes
	// it needs are done, one node per host at a time; several steps may
	// run at once.
	ScheduleGraph = "graph"
)

// PlanStep is a step of the plan as run-started lists it. Needs are the
// earlier steps it waits for in a graph run, as ParseNeed reads them:
// "step" (every host of it), "step@host" (the same host's), "step@pair"
// (the same DRBD pair's). Step after step, each step waits for every
// earlier one whatever its needs say.
type PlanStep struct {
	ID    string   `json:"id"`
	Title string   `json:"title"`
	Hosts []string `json:"hosts"`
	Needs []string `json:"needs"`
}

// PlanSteps lists p's steps with their hosts and needs (the plan's own,
// else the needs table's), in plan order.
func PlanSteps(p *Plan) []PlanStep {
	out := make([]PlanStep, len(p.Steps))
	for si, st := range p.Steps {
		needs := needsOf(p, si)
		if needs == nil {
			needs = []string{}
		}
		hosts := st.Hosts()
		if hosts == nil {
			hosts = []string{}
		}
		out[si] = PlanStep{ID: st.ID, Title: st.Title, Hosts: hosts, Needs: needs}
	}
	return out
}

// started is the run-started event of a run of p.
func (e *Engine) started(p *Plan) Event {
	ev := Event{Kind: RunStarted, Title: fmt.Sprintf("cluster %s (%s), %d steps", p.Cluster, p.Profile, len(p.Steps)),
		Schedule: ScheduleSteps, Steps: PlanSteps(p), Concurrency: e.Parallel}
	if e.Graph {
		ev.Schedule = ScheduleGraph
		if e.Concurrency > 0 {
			ev.Concurrency = e.Concurrency
		}
	}
	return ev
}

// MarshalJSON writes the event with "schema" (Schema) first.
func (e Event) MarshalJSON() ([]byte, error) {
	type fields Event // without this method
	return json.Marshal(struct {
		Schema int `json:"schema"`
		fields
	}{Schema, fields(e)})
}
