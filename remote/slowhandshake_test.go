package remote

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// slowProxy forwards to the real sshd at target, but holds back what the
// server sends after its banner line by delay: a busy server that speaks at
// once and then takes long over key exchange. delay < 0: it sends the
// banner and then nothing.
func slowProxy(t *testing.T, target string, delay time.Duration) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				s, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer s.Close()
				go io.Copy(s, c)
				r := bufio.NewReader(s)
				banner, err := r.ReadString('\n')
				if err != nil {
					return
				}
				c.Write([]byte(banner))
				if delay < 0 {
					io.Copy(io.Discard, r)
					return
				}
				time.Sleep(delay) // the server "thinks": what the test is about
				io.Copy(c, r)
			}()
		}
	}()
	return l.Addr().String()
}

// A server that has sent its banner gets more time for key exchange and
// login than the connect timeout (the lab's emulated VMs took over 10 s
// under load); one that then says nothing still fails, naming the whole
// time it had.
func TestHandshakeOfASlowServer(t *testing.T) {
	s := startSSHD(t, sshdOptions{})
	opts := Options{ConnectTimeout: time.Second, handshakeMore: 4 * time.Second}

	// a target for the proxy at addr: known_hosts holds sshd's keys under
	// the proxy's port
	proxied := func(name, addr string) Target {
		tg := s.target(t, name)
		host, port, _ := net.SplitHostPort(addr)
		tg.Address = host
		tg.Port, _ = strconv.Atoi(port)
		var lines []string
		for _, k := range s.hostKeys {
			lines = append(lines, strings.Replace(s.knownHostsLine(k), ":"+strconv.Itoa(s.port)+" ", ":"+port+" ", 1))
		}
		tg.KnownHostsFile = writeKnownHosts(t, lines...)
		return tg
	}

	h, err := DialWith(ctxT(t), proxied("storage0a", slowProxy(t, s.addr(), 2*time.Second)), opts)
	if err != nil {
		t.Fatalf("a server 2 s slow after its banner, with 1 s + 4 s: %v", err)
	}
	h.Close()

	addr := slowProxy(t, s.addr(), -1)
	start := time.Now()
	_, err = DialWith(ctxT(t), proxied("storage0b", addr), opts)
	if err == nil || !errors.Is(err, ErrTimeout) ||
		!strings.Contains(err.Error(), "connect to storage0b: "+addr+" did not finish the SSH handshake within 5s") {
		t.Fatalf("a server mute after its banner: %v", err)
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("a 5 s bound took %v", took)
	}
}
