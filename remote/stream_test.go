package remote

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestStreamParser(t *testing.T) {
	t.Parallel()
	tok := newToken()
	mark := func(kind, arg string) string { return string(tok.full) + kind + arg + "\n" }
	input := "one\r\ntw" + "o\nparti" + mark("P", "42") + "al line\nno newline" + mark("E", "3") + "stray\n"
	for _, chunk := range []int{1, 2, 7, len(input)} {
		var lines []string
		var markers []string
		p := &streamParser{tok: tok.full, host: "h", stream: Stderr,
			emit:     func(l Line) { lines = append(lines, l.Text) },
			onMarker: func(k byte, a []byte) { markers = append(markers, string(k)+string(a)) }}
		for i := 0; i < len(input); i += chunk {
			p.write([]byte(input[i:min(i+chunk, len(input))]))
		}
		if got := strings.Join(lines, "|"); got != "one|two|partial line|no newline|stray" {
			t.Fatalf("chunk %d: lines %q", chunk, got)
		}
		if strings.Join(markers, ",") != "P42,E3" {
			t.Fatalf("chunk %d: markers %q", chunk, markers)
		}
		if p.out.String() != "one\r\ntwo\npartial line\nno newlinestray\n" {
			t.Fatalf("chunk %d: collected %q", chunk, p.out.String())
		}
	}

	// A prompt without newline is cut out wherever it falls.
	prompt := newToken()
	prompts := 0
	p := &streamParser{tok: tok.full, prompt: prompt.full, onPrompt: func() { prompts++ }}
	in := "Sorry\n" + string(prompt.full) + "x" + string(prompt.full)
	for i := range len(in) {
		p.write([]byte{in[i]})
	}
	p.eof()
	if prompts != 2 || p.out.String() != "Sorry\nx" {
		t.Fatalf("prompts %d, out %q", prompts, p.out.String())
	}
}

// A long stream without newlines is handled in linear time.
func TestStreamParserLongLine(t *testing.T) {
	t.Parallel()
	tok := newToken()
	p := &streamParser{tok: tok.full}
	chunk := bytes.Repeat([]byte("x"), 32<<10)
	start := time.Now()
	for range 2000 { // 64 MiB
		p.write(chunk)
	}
	p.write([]byte(string(tok.full) + "E0\n"))
	if p.out.Len() != 2000*len(chunk) {
		t.Fatalf("collected %d bytes", p.out.Len())
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("64 MiB without a newline took %v", d)
	}
}

func TestTail(t *testing.T) {
	t.Parallel()
	if got := stderrTail([]byte("a\nb\n\n")); got != "a\nb" {
		t.Fatalf("%q", got)
	}
	long := strings.Repeat("x", 5000) + "\nlast\n"
	if got := stderrTail([]byte(long)); got != "…last" {
		t.Fatalf("%q", got)
	}
	if got := shortCmd(strings.Repeat("y", 300)); len(got) > 130 {
		t.Fatalf("%q", got)
	}
}
