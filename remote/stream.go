package remote

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
)

// Stream tells stdout from stderr.
type Stream int

const (
	// Stdout is a command's standard output.
	Stdout Stream = iota
	// Stderr is a command's standard error.
	Stderr
)

func (s Stream) String() string {
	if s == Stderr {
		return "stderr"
	}
	return "stdout"
}

// Line is one line of a command's output, without its newline (nor a
// trailing carriage return). The last line of a stream may have had no
// newline.
type Line struct {
	Host   string
	Stream Stream
	Text   string
}

// token is a random marker that no command output contains by chance. The
// remote scripts print it from two halves, so that the marker itself never
// appears whole in what the remote shell reads (nor in ps).
type token struct {
	a, b string
	full []byte
}

func newToken() token {
	var r [16]byte
	if _, err := rand.Read(r[:]); err != nil {
		panic("remote: no randomness: " + err.Error())
	}
	h := hex.EncodeToString(r[:])
	return token{a: h[:16], b: h[16:], full: []byte(h)}
}

// streamParser consumes one output stream of a remote command: it strips the
// protocol markers (token, a kind byte, an argument, a newline), which may
// follow output that had no newline, collects the remaining bytes exactly,
// and reports complete lines as they arrive.
type streamParser struct {
	tok    []byte
	host   string
	stream Stream
	emit   func(Line) // nil: no line callback

	// prompt, when set, is cut out of the raw stream wherever it appears
	// (sudo writes its prompt without a newline) and reported to onPrompt.
	prompt   []byte
	onPrompt func()
	onMarker func(kind byte, arg []byte)

	out     bytes.Buffer // every byte of output, markers removed
	pending []byte       // received after the last newline
	scanned int          // bytes of pending known to hold no newline
	partial []byte       // output of the current line before a marker cut it
	// muted collects output without reporting lines: what a login prints
	// before the command starts (see restart).
	muted bool
}

// restart forgets the output so far and reports lines from now on.
func (p *streamParser) restart() {
	p.out.Reset()
	p.partial = p.partial[:0]
	p.muted = false
}

func (p *streamParser) write(b []byte) {
	p.pending = append(p.pending, b...)
	for p.prompt != nil {
		i := bytes.Index(p.pending, p.prompt)
		if i < 0 {
			break
		}
		p.pending = append(p.pending[:i], p.pending[i+len(p.prompt):]...)
		p.scanned = 0
		if p.onPrompt != nil {
			p.onPrompt()
		}
	}
	start := 0
	for {
		i := bytes.IndexByte(p.pending[start+p.scanned:], '\n')
		if i < 0 {
			p.scanned = len(p.pending) - start
			break
		}
		end := start + p.scanned + i + 1
		p.scanned = 0
		p.line(p.pending[start:end])
		start = end
	}
	if start > 0 {
		n := copy(p.pending, p.pending[start:])
		p.pending = p.pending[:n]
	}
}

// line handles one newline-terminated piece of the stream.
func (p *streamParser) line(l []byte) {
	j := bytes.Index(l, p.tok)
	if j < 0 {
		p.out.Write(l)
		p.emitLine(l[:len(l)-1])
		return
	}
	// Output that had no newline, then a marker.
	p.out.Write(l[:j])
	p.partial = append(p.partial, l[:j]...)
	m := l[j+len(p.tok) : len(l)-1]
	if len(m) == 0 {
		return
	}
	if m[0] == 'E' {
		p.flushPartial()
	}
	if p.onMarker != nil {
		p.onMarker(m[0], m[1:])
	}
}

func (p *streamParser) emitLine(l []byte) {
	if len(p.partial) > 0 {
		l = append(p.partial, l...)
		p.partial = p.partial[:0]
	}
	if p.emit == nil || p.muted {
		return
	}
	l = bytes.TrimSuffix(l, []byte{'\r'})
	p.emit(Line{Host: p.host, Stream: p.stream, Text: string(l)})
}

func (p *streamParser) flushPartial() {
	if len(p.partial) > 0 {
		p.emitLine(nil)
	}
}

// eof ends the stream: what is left without a newline is the last line.
func (p *streamParser) eof() {
	if len(p.pending) > 0 {
		p.out.Write(p.pending)
		p.partial = append(p.partial, p.pending...)
		p.pending = p.pending[:0]
		p.scanned = 0
	}
	p.flushPartial()
}
