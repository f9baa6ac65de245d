package remote

// A harness that runs real OpenSSH servers for the tests and benchmarks:
// /usr/sbin/sshd -D on 127.0.0.1 with a free port, throwaway host and user
// keys, and throwaway users with sudoers entries.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

const sshdPath = "/usr/sbin/sshd"

// fixture is generated once per test binary: host keys, user keys and the
// authorized_keys file every test sshd uses.
type fixture struct {
	dir string
	// host keys by type ("ed25519", "ecdsa", "rsa"): private key files and
	// public keys.
	hostKeyFiles map[string]string
	hostKeys     map[string]ssh.PublicKey
	// An unencrypted user key, an encrypted one (passphrase below), and one
	// that is only in the agent (never on disk for the client).
	userKey, encKey string
	encPassphrase   string
	agentKey        ed25519.PrivateKey
	authorizedKeys  string
	// user is the throwaway account most tests log in as: its login shell
	// is /bin/sh and it may sudo without a password. (Not root: root's
	// dotfiles on a developer's machine can make every login slow, or hang
	// it for a minute when a test kills a login half-way through.)
	user string
}

var (
	fixOnce sync.Once
	fix     *fixture
	fixErr  error
)

func TestMain(m *testing.M) {
	// Shorter grace periods than in production: the tests wait them out.
	cancelWait, killAfter = 500*time.Millisecond, 1500*time.Millisecond
	code := m.Run()
	if fix != nil {
		if fix.user != "" {
			removeUser(fix.user)
		}
		os.RemoveAll(fix.dir)
	}
	os.Exit(code)
}

// requireSSHD fails the test (or skips it under -short) when there is no
// OpenSSH server to test against, and returns the shared fixture.
func requireSSHD(tb testing.TB) *fixture {
	tb.Helper()
	if _, err := os.Stat(sshdPath); err != nil {
		if testing.Short() {
			tb.Skip("no OpenSSH server (skipped under -short)")
		}
		tb.Fatalf("these tests run a real OpenSSH server and %s is missing: install it with "+
			"`apt-get install -y openssh-server openssh-client sudo procps` (or run go test -short)", sshdPath)
	}
	if os.Geteuid() != 0 {
		tb.Skip("these tests start sshd and create throwaway users: run them as root (CI does)")
	}
	fixOnce.Do(func() { fix, fixErr = newFixture() })
	if fixErr != nil {
		tb.Fatalf("test fixture: %v", fixErr)
	}
	return fix
}

func newFixture() (*fixture, error) {
	dir, err := os.MkdirTemp("", "scalestore-sshd-")
	if err != nil {
		return nil, err
	}
	// sshd reads authorized_keys as the user logging in: let everyone in.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return nil, err
	}
	f := &fixture{dir: dir, hostKeyFiles: map[string]string{}, hostKeys: map[string]ssh.PublicKey{}}

	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	ecPriv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaPriv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	for typ, k := range map[string]any{"ed25519": edPriv, "ecdsa": ecPriv, "rsa": rsaPriv} {
		path := filepath.Join(dir, "host_"+typ)
		pub, err := writeKey(path, k, "")
		if err != nil {
			return nil, err
		}
		f.hostKeyFiles[typ], f.hostKeys[typ] = path, pub
	}

	var auth bytes.Buffer
	_, userPriv, _ := ed25519.GenerateKey(rand.Reader)
	f.userKey = filepath.Join(dir, "id_user")
	pub, err := writeKey(f.userKey, userPriv, "")
	if err != nil {
		return nil, err
	}
	auth.Write(ssh.MarshalAuthorizedKey(pub))

	f.encPassphrase = "correct horse battery staple"
	_, encPriv, _ := ed25519.GenerateKey(rand.Reader)
	f.encKey = filepath.Join(dir, "id_encrypted")
	if pub, err = writeKey(f.encKey, encPriv, f.encPassphrase); err != nil {
		return nil, err
	}
	auth.Write(ssh.MarshalAuthorizedKey(pub))

	_, f.agentKey, _ = ed25519.GenerateKey(rand.Reader)
	agentPub, _ := ssh.NewPublicKey(f.agentKey.Public())
	auth.Write(ssh.MarshalAuthorizedKey(agentPub))

	f.authorizedKeys = filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(f.authorizedKeys, auth.Bytes(), 0o644); err != nil {
		return nil, err
	}
	// A password it never uses: sshd refuses even keys to a locked account.
	var pw [12]byte
	rand.Read(pw[:])
	if f.user, err = createUser(hex.EncodeToString(pw[:]), "NOPASSWD"); err != nil {
		return nil, err
	}
	return f, nil
}

// writeKey writes a private key in OpenSSH format (encrypted when
// passphrase is set) and returns its public key.
func writeKey(path string, key any, passphrase string) (ssh.PublicKey, error) {
	var block *pem.Block
	var err error
	if passphrase != "" {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(key, "", []byte(passphrase))
	} else {
		block, err = ssh.MarshalPrivateKey(key, "")
	}
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		return nil, err
	}
	return signer.PublicKey(), nil
}

// sshdOptions configure one test server.
type sshdOptions struct {
	hostKeys []string // host key types; default ed25519 only
	password bool     // PasswordAuthentication yes
	pam      bool     // UsePAM yes: Debian's PAM session stack, as on a real server
	debug    bool     // LogLevel DEBUG1 (logs forwarded connections)
	extra    []string // more sshd_config lines, which win over the defaults
}

// testSSHD is one running sshd.
type testSSHD struct {
	tb       testing.TB
	f        *fixture
	dir      string
	port     int
	cfg      string
	logPath  string
	cmd      *exec.Cmd
	hostKeys []string
	exited   chan struct{}
}

// startSSHD starts a server that is stopped (with every process it started)
// when the test ends.
func startSSHD(tb testing.TB, o sshdOptions) *testSSHD {
	tb.Helper()
	f := requireSSHD(tb)
	dir, err := os.MkdirTemp(f.dir, "sshd-")
	if err != nil {
		tb.Fatal(err)
	}
	if len(o.hostKeys) == 0 {
		o.hostKeys = []string{"ed25519"}
	}
	s := &testSSHD{tb: tb, f: f, dir: dir, cfg: filepath.Join(dir, "sshd_config"),
		logPath: filepath.Join(dir, "sshd.log"), hostKeys: o.hostKeys}
	tb.Cleanup(func() {
		s.kill()
		os.RemoveAll(dir)
	})
	for attempt := 0; ; attempt++ {
		s.port = freePort(tb)
		var cfg strings.Builder
		for _, l := range o.extra { // first: sshd keeps the first value it reads
			cfg.WriteString(l + "\n")
		}
		fmt.Fprintf(&cfg, "Port %d\nListenAddress 127.0.0.1\n", s.port)
		for _, k := range o.hostKeys {
			fmt.Fprintf(&cfg, "HostKey %s\n", f.hostKeyFiles[k])
		}
		fmt.Fprintf(&cfg, "AuthorizedKeysFile %s\n", f.authorizedKeys)
		if o.pam {
			cfg.WriteString("UsePAM yes\n")
		} else {
			cfg.WriteString("UsePAM no\n")
		}
		cfg.WriteString("PidFile none\nPermitRootLogin yes\nStrictModes no\n" +
			"KbdInteractiveAuthentication no\nAllowTcpForwarding yes\nMaxSessions 30\n" +
			"MaxStartups 200:30:400\nPrintMotd no\nPrintLastLog no\nUseDNS no\n")
		if o.password {
			cfg.WriteString("PasswordAuthentication yes\n")
		} else {
			cfg.WriteString("PasswordAuthentication no\n")
		}
		if o.debug {
			cfg.WriteString("LogLevel DEBUG1\n")
		} else {
			cfg.WriteString("LogLevel VERBOSE\n")
		}
		if err := os.WriteFile(s.cfg, []byte(cfg.String()), 0o600); err != nil {
			tb.Fatal(err)
		}
		err := s.start()
		if err == nil {
			return s
		}
		if attempt < 5 && strings.Contains(s.log(), "Address already in use") {
			continue
		}
		tb.Fatalf("sshd did not start: %v\n%s", err, s.log())
	}
}

func freePort(tb testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// start runs sshd and waits until it answers with its banner.
func (s *testSSHD) start() error {
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(sshdPath, "-D", "-e", "-f", s.cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	logf.Close()
	s.cmd = cmd
	exited := make(chan struct{})
	s.exited = exited
	go func() {
		cmd.Wait()
		close(exited)
	}()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("sshd exited")
		default:
		}
		if c, err := net.DialTimeout("tcp", s.addr(), time.Second); err == nil {
			c.SetDeadline(time.Now().Add(2 * time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "SSH-2.0-") {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("sshd not answering on %s", s.addr())
}

func (s *testSSHD) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// kill SIGKILLs sshd and every process under it (connections, sessions,
// the commands they run): the server vanishes as in a crash.
func (s *testSSHD) kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.exited:
		return
	default:
	}
	for _, pid := range descendants(s.cmd.Process.Pid) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	s.cmd.Process.Kill()
	<-s.exited
}

// restart starts the server again on the same port.
func (s *testSSHD) restart() {
	s.tb.Helper()
	s.kill()
	var err error
	for i := 0; i < 50; i++ { // the port may take a moment to be free
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.tb.Fatalf("sshd did not restart: %v\n%s", err, s.log())
}

func (s *testSSHD) log() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

// descendants lists the processes under pid (itself excluded), children
// before their parents are lost.
func descendants(pid int) []int {
	children := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut after ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		pp, _ := strconv.Atoi(f[1])
		children[pp] = append(children[pp], p)
	}
	var out []int
	var walk func(int)
	walk = func(p int) {
		for _, c := range children[p] {
			out = append(out, c)
			walk(c)
		}
	}
	walk(pid)
	return out
}

// knownHostsLine is the known_hosts entry of one of s's host keys.
func (s *testSSHD) knownHostsLine(typ string) string {
	k := s.f.hostKeys[typ]
	return fmt.Sprintf("[127.0.0.1]:%d %s", s.port, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))))
}

// writeKnownHosts writes a known_hosts file holding the given lines.
func writeKnownHosts(tb testing.TB, lines ...string) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "known_hosts")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

// target is a Target for s as the fixture's user through sudo (so commands
// run as root) with the plain user key, known_hosts holding s's keys, policy
// strict, and nothing read from the environment.
func (s *testSSHD) target(tb testing.TB, name string) Target {
	var lines []string
	for _, k := range s.hostKeys {
		lines = append(lines, s.knownHostsLine(k))
	}
	return Target{
		Name:           name,
		Address:        "127.0.0.1",
		Port:           s.port,
		User:           s.f.user,
		Sudo:           true,
		IdentityFiles:  []string{s.f.userKey},
		IdentityAgent:  "none",
		KnownHostsFile: writeKnownHosts(tb, lines...),
		Policy:         PolicyStrict,
		SSHConfigFile:  "none",
	}
}

// dial connects to t and closes the Host when the test ends.
func dial(tb testing.TB, t Target, o Options) Host {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, err := DialWith(ctx, t, o)
	if err != nil {
		tb.Fatalf("dial %s: %v", t.Name, err)
	}
	tb.Cleanup(func() { h.Close() })
	return h
}

// addUser creates a throwaway user with a password (empty: a locked
// account, which sshd refuses) and a
// sudoers entry ("NOPASSWD" or "PASSWD", "" for none), removed when the test
// ends.
func addUser(tb testing.TB, password, sudo string) string {
	tb.Helper()
	requireSSHD(tb)
	name, err := createUser(password, sudo)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { removeUser(name) })
	return name
}

func createUser(password, sudo string) (string, error) {
	if _, err := exec.LookPath("sudo"); err != nil && sudo != "" {
		return "", fmt.Errorf("sudo is not installed: apt-get install -y sudo")
	}
	var r [4]byte
	rand.Read(r[:])
	name := "sst" + hex.EncodeToString(r[:])
	run := func(stdin string, argv ...string) error {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, out)
		}
		return nil
	}
	if err := run("", "useradd", "-m", "-s", "/bin/sh", name); err != nil {
		return "", err
	}
	if password != "" {
		if err := run(name+":"+password+"\n", "chpasswd"); err != nil {
			removeUser(name)
			return "", err
		}
	}
	if sudo != "" {
		rule := name + " ALL=(ALL) ALL\n"
		if sudo == "NOPASSWD" {
			rule = name + " ALL=(ALL) NOPASSWD: ALL\n"
		}
		// Every sudo asks again: the tests count the prompts.
		rule += "Defaults:" + name + " timestamp_timeout=0, !lecture\n"
		path := "/etc/sudoers.d/" + name
		err := os.WriteFile(path, []byte(rule), 0o440)
		if err == nil {
			err = run("", "visudo", "-cf", path)
		}
		if err != nil {
			removeUser(name)
			return "", err
		}
	}
	return name, nil
}

func removeUser(name string) {
	os.Remove("/etc/sudoers.d/" + name)
	exec.Command("pkill", "-KILL", "-u", name).Run()
	for range 20 { // userdel refuses while the user's processes linger
		if exec.Command("userdel", "-r", name).Run() == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	exec.Command("userdel", "-r", "-f", name).Run()
}

// fakePrompter answers prompts from a table and records them.
type fakePrompter struct {
	mu       sync.Mutex
	answers  map[string]string // prompt substring → answer
	confirm  bool
	prompts  []string
	confirms []string
}

func (p *fakePrompter) Secret(ctx context.Context, host, prompt string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.prompts = append(p.prompts, prompt)
	for k, v := range p.answers {
		if strings.Contains(prompt, k) {
			return v, nil
		}
	}
	return "", fmt.Errorf("fake prompter: no answer for %q", prompt)
}

func (p *fakePrompter) ConfirmHostKey(ctx context.Context, host, address, keyType, fingerprint string) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.confirms = append(p.confirms, fmt.Sprintf("%s %s %s %s", host, address, keyType, fingerprint))
	return p.confirm, nil
}

func (p *fakePrompter) asked() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.prompts...)
}

func (p *fakePrompter) confirmed() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.confirms...)
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func debugLogger(w *syncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// ctxT is a context for one step of a test.
func ctxT(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

// pgrep lists the pids of processes whose command line matches pattern.
func pgrep(pattern string) []string {
	out, _ := exec.Command("pgrep", "-f", pattern).Output()
	return strings.Fields(string(out))
}
