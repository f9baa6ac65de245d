package checks

import (
	"context"
	"errors"
	"io/fs"
	"regexp"
	"strings"
	"sync"
	"testing"

	"scalestore/config"
	"scalestore/remote"
	"scalestore/steps"
)

// labHost answers the postflight's commands: the state listings with real
// captures of the built lab (one pair, so the captures tell all), and the
// data check's write and read with the sums the test chooses.
type labHost struct {
	name, state, sum string
	fence            string // the agent's answer for every target (a capture)
	mu               *sync.Mutex
	log              *[]string
}

func (h labHost) Name() string { return h.name }
func (h labHost) Close() error { return nil }
func (h labHost) ReadFile(context.Context, string) ([]byte, error) {
	return nil, fs.ErrNotExist
}
func (h labHost) WriteFile(context.Context, string, []byte, fs.FileMode, string) (bool, error) {
	return false, errors.New("read-only")
}
func (h labHost) Run(ctx context.Context, cmd remote.Cmd, _ remote.RunOptions) (remote.Result, error) {
	text := cmd.String()
	h.mu.Lock()
	*h.log = append(*h.log, h.name+": "+strings.Fields(text)[0])
	h.mu.Unlock()
	switch {
	case strings.HasPrefix(text, "echo @@fence "):
		var out strings.Builder
		for _, m := range reFenceSection.FindAllStringSubmatch(text, -1) {
			out.WriteString("@@fence " + m[1] + "\n" + h.fence)
		}
		return remote.Result{Stdout: []byte(out.String())}, nil
	case strings.HasPrefix(text, "echo @@"):
		return remote.Result{Stdout: []byte(h.state)}, nil
	case strings.Contains(text, "sha256sum"):
		return remote.Result{Stdout: []byte(h.sum + "  -\n")}, nil
	case strings.HasPrefix(text, "rm "):
		return remote.Result{}, nil
	}
	return remote.Result{Code: 127}, &remote.ExitError{Host: h.name, Cmd: text, Code: 127}
}

var reFenceSection = regexp.MustCompile(`echo @@fence (\S+);`)

func TestPostflight(t *testing.T) {
	s, err := config.Load("../lab/lab.toml")
	if err != nil {
		t.Fatal(err)
	}
	s.Pairs = s.Pairs[:1] // the captures are of pair 0's view
	storage, client := readCapture(t, "state-storage0a-healthy.txt"), readCapture(t, "state-client0-healthy.txt")
	for _, tc := range []struct {
		name       string
		client1Sum string
		noQuorum   bool
		want       string // the last result's check and status
		wantStatus Status
		fence      string // the fence agent's answer (a capture)
	}{
		{"healthy", "1111", false, "data", Pass, "fence-ipmilan-status-on.txt"},
		{"data differs", "2222", false, "data", Fail, "fence-ipmilan-status-on.txt"},
		// the layers' results, then fencing's
		{"layer broken: no data result", "1111", true, "fence client0", Pass, "fence-ipmilan-status-on.txt"},
		{"fence devices silent: no data result", "1111", false, "fence client0", Fail, "fence-ipmilan-wrong-address.txt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var log []string
			src := func(ctx context.Context, name string) (remote.Host, error) {
				// storage0b shows what storage0a does (dual primary), under its own target name
				h := labHost{name: name, state: strings.ReplaceAll(storage, "storage0a", name), sum: "1111", fence: readCapture(t, tc.fence), mu: &mu, log: &log}
				if steps.Role(s, name) == "client" {
					h.state = client
					if tc.noQuorum {
						h.state = strings.Replace(client, "Quorate:          Yes", "Quorate:          No", 1)
					}
				}
				if name == "client1" {
					h.sum = tc.client1Sum
				}
				return h, nil
			}
			rs, state := Postflight(context.Background(), s, src, nil)
			if state == nil || state.Hosts["client0"] == nil {
				t.Fatal("no state returned")
			}
			for _, r := range rs {
				if r.Status == Fail {
					t.Logf("%s %s %s", r.Host, r.Check, r.Msg)
				}
			}
			last := rs[len(rs)-1]
			if last.Check != tc.want || last.Status != tc.wantStatus {
				t.Fatalf("last result %s %v %q, want %s %v", last.Check, last.Status, last.Msg, tc.want, tc.wantStatus)
			}
			if tc.noQuorum && !Failed(rs) {
				t.Fatal("a cluster without quorum passed the postflight")
			}
			if !strings.Contains(strings.Join(log, "\n"), "client1: sha256sum") {
				t.Fatalf("the data was not read back on client1: %v", log)
			}
		})
	}
}
