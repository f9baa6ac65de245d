package steps

import (
	"encoding/json"
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
}

// MarshalJSON writes the event with "schema" (Schema) first.
func (e Event) MarshalJSON() ([]byte, error) {
	type fields Event // without this method
	return json.Marshal(struct {
		Schema int `json:"schema"`
		fields
	}{Schema, fields(e)})
}
