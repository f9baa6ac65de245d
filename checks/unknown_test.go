package checks

import (
	"errors"
	"strings"
	"testing"
)

// A host that cannot be read is unknown, not degraded: its layers may be
// fine. It still never counts as healthy (the postflight fails on it).
func TestHealthUnreachableHostIsUnknown(t *testing.T) {
	s, cs := healthyState(t)
	cs.Errors["client1"] = errors.New("connect to client1: dial tcp 127.0.0.1:2222: connection refused")
	rs := Health(s, cs)
	var got *Result
	for i := range rs {
		if rs[i].Host == "client1" {
			got = &rs[i]
		}
	}
	if got == nil {
		t.Fatal("no result for the unreachable client1")
	}
	if got.Status != Unknown || !strings.Contains(got.Msg, "connection refused") {
		t.Errorf("client1: %v %q, want UNKNOWN with the reason", got.Status, got.Msg)
	}
	if !Failed(rs) {
		t.Error("an unknown host passes as healthy")
	}
	var b strings.Builder
	Print(&b, rs)
	if !strings.Contains(b.String(), "UNKNOWN") || strings.Contains(b.String(), "FAIL") {
		t.Errorf("status output:\n%s", b.String())
	}
}
