package ui

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSecretIsAskedMaskedAndNotKept(t *testing.T) {
	h := newTestApp(t, filepath.Join(t.TempDir(), "x.toml"), nil)
	a := h.app()
	type answer struct {
		s   string
		err error
	}
	got := make(chan answer, 1)
	go func() {
		s, err := a.prompter.Secret(context.Background(), "storage0a", "root@storage0a's password: ")
		got <- answer{s, err}
	}()
	h.waitFor("the question", func() bool { return len(a.prompts) > 0 })
	s := h.screen()
	if !strings.Contains(s, "Password needed: storage0a") || !strings.Contains(s, "root@storage0a's password:") {
		t.Fatalf("%s", s)
	}
	h.typ("hunter2")
	s = h.screen()
	if strings.Contains(s, "hunter2") || !strings.Contains(s, "•••••••") {
		t.Fatalf("the secret shows on screen:\n%s", s)
	}
	golden(t, "prompt-secret", s)
	h.keys("enter")
	select {
	case a := <-got:
		if a.s != "hunter2" || a.err != nil {
			t.Fatalf("%+v", a)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no answer")
	}
	if len(a.prompts) != 0 {
		t.Fatal("the question stayed")
	}
	// the wizard keeps no copy of it
	if strings.Contains(h.screen(), "hunter2") {
		t.Fatal("secret on screen after the answer")
	}
}

func TestSecretCancelled(t *testing.T) {
	h := newTestApp(t, filepath.Join(t.TempDir(), "x.toml"), nil)
	a := h.app()
	got := make(chan error, 1)
	go func() {
		_, err := a.prompter.Secret(context.Background(), "storage0a", "passphrase for key: ")
		got <- err
	}()
	h.waitFor("the question", func() bool { return len(a.prompts) > 0 })
	h.keys("esc")
	if err := <-got; !errors.Is(err, errPromptCancelled) {
		t.Fatalf("%v", err)
	}
}

func TestHostKeyNeedsAnExplicitYes(t *testing.T) {
	h := newTestApp(t, filepath.Join(t.TempDir(), "x.toml"), nil)
	a := h.app()
	got := make(chan bool, 1)
	ask := func() {
		ok, _ := a.prompter.ConfirmHostKey(context.Background(), "storage0a", "127.0.0.1:2211", "ssh-ed25519", "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU")
		got <- ok
	}
	go ask()
	h.waitFor("the question", func() bool { return len(a.prompts) > 0 })
	s := h.screen()
	if !strings.Contains(s, "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU") || !strings.Contains(s, "127.0.0.1:2211") {
		t.Fatalf("%s", s)
	}
	golden(t, "prompt-hostkey", s)
	// enter, space and other keys do not trust it
	h.keys("enter", "space", "a")
	select {
	case <-got:
		t.Fatal("a key other than y answered")
	default:
	}
	h.keys("y")
	if !<-got {
		t.Fatal("y did not trust the key")
	}
	go ask()
	h.waitFor("the question", func() bool { return len(a.prompts) > 0 })
	h.keys("n")
	if <-got {
		t.Fatal("n trusted the key")
	}
}

// TestRunOnPipes runs the whole program (tea's renderer and input reader)
// on pipes: it draws the welcome screen and quits on q.
func TestRunOnPipes(t *testing.T) {
	in, inw := io.Pipe()
	out := &syncWriter{}
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), Options{SpecPath: filepath.Join(t.TempDir(), "new.toml"), In: in, Out: out, Width: 80, Height: 24})
	}()
	// q once the welcome screen is drawn (its input reader is running by then)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(plain(out.String()), "Create a new cluster") {
		if time.Now().After(deadline) {
			t.Fatalf("the welcome screen was not drawn: %q", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	inw.Write([]byte("q"))
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the wizard did not quit on q")
	}
	if !strings.Contains(plain(out.String()), "Create a new cluster") {
		t.Fatalf("the welcome screen was not drawn: %q", out.String())
	}
}

type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}
