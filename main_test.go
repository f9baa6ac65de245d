package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"scalestore/checks"
	"scalestore/steps"
)

func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestPlanSample(t *testing.T) {
	code, out, errs := cli(t, "plan", "-f", "sample.toml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		`Plan for cluster "client" (profile debian12)`,
		"WARNING: Fencing is OFF",
		"drbdadm create-md --force r0",
		"!! DESTRUCTIVE",
		"/backstores/block create name=r0 dev=/dev/drbd0 wwn=",
		"iscsiadm -m node -T iqn.2003-01.org.scalestore:client.storage1b.r1 -p 192.168.0.13:3260 --login",
		"alias mpath1",
		"vgcreate --shared VG0 /dev/mapper/mpath0 /dev/mapper/mpath1",
		"mkfs.gfs2 -O -p lock_dlm -t client:gfs2 -j 4 /dev/VG0/LV0",
		"/dev/VG0/LV0 /mnt/gfs2 gfs2 _netdev,x-systemd.requires=scalestore-lv.service,x-systemd.device-timeout=10min,noatime 0 0",
		"ExecStart=/usr/sbin/lvchange --activate sy VG0/LV0",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q", want)
		}
	}
}

func TestBadInputExits2(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	data, _ := os.ReadFile("sample.toml")
	os.WriteFile(bad, []byte(strings.Replace(string(data), `disk = "/dev/sdb" }`, `disk = "sdb" }`, 1)), 0o644)
	// the line the error must name: the first pair's a-half
	line := 1 + strings.Count(string(data[:strings.Index(string(data), `disk = "/dev/sdb" }`)]), "\n")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"plan", "-f", bad}, fmt.Sprintf(`%s:%d: pair[0].a.disk: "sdb" is not an absolute /dev/... device path`, bad, line)},
		{[]string{"plan", "-f", filepath.Join(dir, "missing.toml")}, "no such file"},
		{[]string{"plan", "--frobnicate"}, "unknown flag: --frobnicate"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
	}
	for _, c := range cases {
		code, out, errs := cli(t, c.args...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2", c.args, code)
		}
		if out != "" {
			t.Errorf("%v: printed a plan for bad input", c.args)
		}
		if !strings.Contains(errs, c.want) {
			t.Errorf("%v: stderr %q lacks %q", c.args, errs, c.want)
		}
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := cli(t, "version")
	if code != 0 || !strings.HasPrefix(out, "scalestore ") {
		t.Fatalf("version: %d %q", code, out)
	}
}

func TestTargetsFromLabSpec(t *testing.T) {
	s, err := loadSpec("lab/lab.toml")
	if err != nil {
		t.Fatal(err)
	}
	tg, err := steps.TargetFor(s, s.Host("client1"), true)
	if err != nil {
		t.Fatal(err)
	}
	if tg.Name != "client1" || tg.Address != "127.0.0.1" || tg.Port != 2222 || tg.User != "root" ||
		tg.KnownHostsFile != "/var/tmp/scalestore-lab/known_hosts" || tg.Policy != "strict" || tg.AutoAcceptNew ||
		len(tg.IdentityFiles) != 1 || tg.IdentityFiles[0] != "/var/tmp/scalestore-lab/ssh/id_ed25519" || tg.Jump != nil {
		t.Fatalf("%+v", tg)
	}
	// accept-new is automatic only for an unattended run, and a jump host is parsed.
	s.SSH.HostKeyPolicy = "accept-new"
	s.SSH.Jump = "admin@127.0.0.1:2200"
	tg, _ = steps.TargetFor(s, s.Host("client1"), true)
	if !tg.AutoAcceptNew || tg.Jump == nil || tg.Jump.User != "admin" || tg.Jump.Port != 2200 || tg.Jump.Address != "127.0.0.1" {
		t.Fatalf("%+v / %+v", tg, tg.Jump)
	}
	if tg, _ = steps.TargetFor(s, s.Host("client1"), false); tg.AutoAcceptNew {
		t.Fatal("an interactive run confirms new keys itself")
	}
}

func TestStatusVerdictExitCodes(t *testing.T) {
	pass := checks.Result{Host: "client0", Check: "mount", Status: checks.Pass}
	unknown := checks.Result{Host: "client1", Check: "ssh", Status: checks.Unknown}
	fail := checks.Result{Host: "client0", Check: "mount", Status: checks.Fail}
	cases := []struct {
		name string
		rs   []checks.Result
		code int
	}{
		{"healthy", []checks.Result{pass}, exitOK},
		{"a host unreadable, the rest healthy", []checks.Result{pass, unknown}, exitUnknown},
		{"degraded and a host unreadable", []checks.Result{fail, unknown}, exitFailed},
	}
	for _, c := range cases {
		if got := exitCode(healthVerdict(c.rs)); got != c.code {
			t.Errorf("%s: exit %d, want %d", c.name, got, c.code)
		}
	}
}
