package ui

import (
	"bufio"
	"bytes"
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"scalestore/config"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// The wizard's SSH side logs to Options.Logger (main's -v): a connection
// given up is on record with its host.
func TestWizardSSHLogsToTheOptionsLogger(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c // and never says a word: no SSH banner
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	s, err := config.Load(filepath.Join(testdata, "grow.toml"))
	if err != nil {
		t.Fatal(err)
	}
	s.Host("storage0a").SSH.Port = port // the listener above, never the lab's
	dir := t.TempDir()
	var logs lockedBuffer
	a := newApp(context.Background(), Options{SpecPath: filepath.Join(dir, "none.toml"), Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	src, closeSrc := a.connect(s, nil)
	defer closeSrc()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		defer cancel()
		c := <-accepted
		defer c.Close()
		// the client is in the handshake once it has sent its banner
		if _, err := bufio.NewReader(c).ReadString('\n'); err == nil {
			cancel() // the operator gave up while the host said nothing
		}
	}()
	_, err = src(ctx, "storage0a")
	if err == nil {
		t.Fatal("connected to a host that never answered")
	}
	if l := logs.String(); !strings.Contains(l, "connect cancelled") || !strings.Contains(l, "host=storage0a") {
		t.Fatalf("the SSH layer's records are not in the wizard's logger (connect: %v):\n%s", err, l)
	}
}
