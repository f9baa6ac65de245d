package steps

import (
	"context"
	"strings"
	"testing"

	"scalestore/config"
	"scalestore/remote"
)

// A host whose SSH settings make no target is named in Connect's error,
// and reading it returns that error, not a connection attempt; the other
// hosts are still served.
func TestConnectNamesAHostWithoutATarget(t *testing.T) {
	s, err := config.Load("../sample.toml")
	if err != nil {
		t.Fatal(err)
	}
	s.Hosts[1].SSH.Jump = "admin@bastion:99999" // what the wizard's form may hold before it is checked
	bad := s.Hosts[1].Name
	src, closePool, err := Connect(s, true, remote.Options{})
	defer closePool()
	if err == nil || !strings.Contains(err.Error(), "host "+bad+": ssh.jump") {
		t.Fatalf("Connect: %v; want an error naming host %s's ssh.jump", err, bad)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a real connection attempt would fail with context.Canceled instead
	if _, herr := src(ctx, bad); herr == nil || herr.Error() != err.Error() {
		t.Errorf("reading %s: %v; want %v", bad, herr, err)
	}
	if _, herr := src(ctx, "nosuchhost"); herr == nil || !strings.Contains(herr.Error(), `"nosuchhost" is not in the spec`) {
		t.Errorf("reading a host not in the spec: %v", herr)
	}
}
