package steps

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// A healthy peer that refuses the connection counts as an answer even when
// the host is slow to start bash: CI saw a loaded emulated host take more than
// the 3 s discovery used to allow, and preflight failed a healthy pair.
func TestPortProbeOnASlowHost(t *testing.T) {
	if _, err := exec.LookPath("dash"); err != nil {
		t.Skip("no dash")
	}
	real, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // now nothing listens there: the kernel refuses at once

	// a host where starting bash takes 4 s
	dir := t.TempDir()
	slow := "#!/bin/sh\nsleep 4\nexec " + real + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "bash"), []byte(slow), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("dash", "-c", DiscoverScript(Query{Peers: []Peer{{Addr: "127.0.0.1", Port: port}}}).String())
	cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	hf, err := ParseDiscovery(string(out), "VG0", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	key := "127.0.0.1 " + strconv.Itoa(port)
	if got := hf.Ports[key]; got != PortRefused {
		t.Fatalf("a refusing peer on a host slow to start bash read as %q, want %q (output %q)", got, PortRefused, out)
	}
}
