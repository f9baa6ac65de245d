package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDerivedNames(t *testing.T) {
	s := loadSample(t)
	p1 := s.Pairs[1]
	if got := p1.MapperPath(); got != "/dev/mapper/mpath1" {
		t.Errorf("MapperPath = %q", got)
	}
	if a, b := p1.ExportName(0), p1.ExportName(1); a != "gnbd1a" || b != "gnbd1b" {
		t.Errorf("ExportName = %q, %q", a, b)
	}
	if got := (Pair{}).Num(); got != -1 {
		t.Errorf("a pair without id has Num %d, want -1", got)
	}
	if s.Host("client1") == nil || s.Host("client1").Address != "192.168.0.21" || s.Host("nope") != nil {
		t.Error("Host looks up the wrong host")
	}
	for host, want := range map[string]int{"storage1a": 0, "storage1b": 1, "client0": -1} {
		p, side := s.PairOf(host)
		if side != want || (side >= 0 && p.Num() != 1) {
			t.Errorf("PairOf(%s) = pair %d side %d, want pair 1 side %d", host, p.Num(), side, want)
		}
	}
	h := Host{Address: "10.0.0.1"}
	if h.ReplicationAddr() != "10.0.0.1" {
		t.Error("ReplicationAddr must default to the address")
	}
	h.ReplicationAddress = "10.1.0.1"
	if h.ReplicationAddr() != "10.1.0.1" {
		t.Error("ReplicationAddr must be replication_address when set")
	}
	yes, no := true, false
	if (SSH{}).SudoOn() || (SSH{Sudo: &no}).SudoOn() || !(SSH{Sudo: &yes}).SudoOn() {
		t.Error("SudoOn must be true only for sudo = true")
	}
}

// A host appended with its own SSH address and port keeps them.
func TestAppendPairHostSSH(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.toml")
	data, err := os.ReadFile("../sample.toml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	id := 2
	p := Pair{ID: &id, A: Half{Host: "storage2a", Disk: "/dev/sdb"}, B: Half{Host: "storage2b", Disk: "/dev/sdb"}}
	err = AppendPair(path, p,
		Host{Name: "storage2a", Address: "192.168.0.14", ReplicationAddress: "10.1.0.14", SSH: SSH{Address: "172.16.0.14", Port: 2222}},
		Host{Name: "storage2b", Address: "192.168.0.15", SSH: SSH{Port: 2223}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	a, b := s.HostSSH(s.Host("storage2a")), s.HostSSH(s.Host("storage2b"))
	if a.Address != "172.16.0.14" || a.Port != 2222 || b.Address != "192.168.0.15" || b.Port != 2223 || s.Host("storage2a").ReplicationAddr() != "10.1.0.14" {
		t.Fatalf("appended hosts lost their SSH settings: %+v %+v", a, b)
	}
	if out, _ := os.ReadFile(path); !strings.Contains(string(out), "ssh = { port = 2223 }") {
		t.Fatalf("storage2b's ssh line:\n%s", out)
	}
}
