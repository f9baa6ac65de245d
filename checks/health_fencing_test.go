package checks

import (
	"strings"
	"testing"

	"scalestore/steps"
)

// storage0a's real state with its DRBD line changed (from, to) and the
// split-brain records given, as status reads them.
func storageState(t *testing.T, from, to, records string) []Result {
	t.Helper()
	s, cs := healthyState(t)
	text := readCapture(t, "state-storage0a-healthy.txt")
	if !strings.Contains(text, from) {
		t.Fatalf("the capture has no %q", from)
	}
	st, err := steps.ParseState("storage", strings.Replace(text, from, to, 1)+"@@splitbrain\n"+records)
	if err != nil {
		t.Fatal(err)
	}
	cs.Hosts["storage0a"] = st
	return Health(s, cs)
}

const healthyLine = "cs:Connected ro:Primary/Primary ds:UpToDate/UpToDate C r-----"

func TestStatusShowsFencingStates(t *testing.T) {
	for _, c := range []struct {
		name, line string
		status     Status
		msg, hint  string
	}{
		{"frozen while fencing", "cs:WFConnection ro:Primary/Unknown ds:UpToDate/DUnknown C s---F-", Fail,
			"I/O FROZEN while fencing storage0b", "once storage0b is known to be powered off: drbdadm resume-io r0"},
		{"frozen", "cs:WFConnection ro:Primary/Unknown ds:UpToDate/DUnknown C s-----", Fail, "I/O FROZEN (suspended)", "drbdadm resume-io r0"},
		{"peer fenced", "cs:WFConnection ro:Primary/Unknown ds:UpToDate/Outdated C r-----", Warn,
			"running alone: storage0b is fenced or Outdated", "bring storage0b back (power it on)"},
		{"this half outdated", "cs:WFConnection ro:Secondary/Unknown ds:Outdated/DUnknown C r-----", Fail,
			"this half is Outdated", "drbdadm connect r0"},
		{"standalone", "cs:StandAlone ro:Primary/Unknown ds:UpToDate/DUnknown   r-----", Fail,
			"StandAlone Primary/Unknown UpToDate/DUnknown", "drbdadm connect --discard-my-data r0"},
	} {
		r := find(storageState(t, healthyLine, c.line, ""), "storage0a", "drbd r0")
		if r.Status != c.status || !strings.Contains(r.Msg, c.msg) || !strings.Contains(r.Hint, c.hint) {
			t.Errorf("%s: %+v\nwant %v %q, hint %q", c.name, r, c.status, c.msg, c.hint)
		}
	}
}

func TestStatusShowsSplitBrainRecord(t *testing.T) {
	rs := storageState(t, healthyLine, healthyLine, "r0 2026-12-02T14:42:53Z\n")
	r := find(rs, "storage0a", "split-brain r0")
	if r.Status != Fail || !strings.Contains(r.Msg, "unresolved split brain of r0 at 2026-12-02T14:42:53Z") ||
		!strings.Contains(r.Hint, "rm "+steps.SplitBrainDir+"/split-brain-r0 on storage0a") {
		t.Errorf("%+v", r)
	}
	if !Failed(rs) {
		t.Error("status passes with a split-brain record")
	}
	if r := find(storageState(t, healthyLine, healthyLine, ""), "storage0a", "split-brain r0"); r.Check != "NOT FOUND" {
		t.Errorf("no record, yet: %+v", r)
	}
}
