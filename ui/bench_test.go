package ui

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"scalestore/steps"
)

// seqLine is line i of `seq`'s output on storage0a, as the engine emits it.
func seqLine(i int) steps.Event {
	return steps.Event{Kind: steps.LogLine, Step: "flood", Host: "storage0a", Stream: "stdout", Text: strconv.Itoa(i), Time: time.Unix(1795619767, 0)}
}

// floodedRun is the run screen of the test cluster after n lines of output,
// each delivered as the engine sends it, drawn once per 1000 lines.
func floodedRun(b testing.TB, n int) *runModel {
	_, p := growPlan(b)
	m := newRunModel(p, 78, 20)
	for i := 1; i <= n; i++ {
		m.update(engineEventMsg{seqLine(i)})
		if i%1000 == 0 {
			m.view(m.width, m.height)
		}
	}
	m.view(m.width, m.height)
	return m
}

// benchLines are the run's lengths the benchmarks report.
var benchLines = []int{1000, 10000, 100000}

// benchUpdateLine is the cost of one more log line after n, the whole way
// from the engine's Emit to the run screen's model: into the feed, and into
// the host's log with the batch the next frame takes (a flood fills every
// batch).
func benchUpdateLine(n int) func(*testing.B) {
	return func(b *testing.B) {
		m := floodedRun(b, n)
		lines := make([]steps.Event, feedLines)
		for i := range lines {
			lines[i] = seqLine(n + i + 1)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			m.feed.push(lines[i%feedLines])
			if i++; i%feedLines == 0 {
				m.update(m.feed.take())
			}
		}
	}
}

// benchViewFrame is one frame of the run screen after n log lines, with a
// new line since the last frame (the content is rebuilt).
func benchViewFrame(n int) func(*testing.B) {
	return func(b *testing.B) {
		m := floodedRun(b, n)
		b.ReportAllocs()
		i := n
		for b.Loop() {
			i++
			m.update(engineEventMsg{seqLine(i)})
			m.view(m.width, m.height)
		}
	}
}

// benchViewFrameLong is one frame of the run screen after n log lines
// as long as apt's error (aptBroken: four rows each at 78 columns), with a
// new one since the last frame: what wrapping them costs.
func benchViewFrameLong(n int) func(*testing.B) {
	return func(b *testing.B) {
		_, p := growPlan(b)
		m := newRunModel(p, 78, 20)
		long := func(i int) steps.Event {
			e := seqLine(i)
			e.Text = strconv.Itoa(i) + " " + aptBroken
			return e
		}
		for i := 1; i <= n; i++ {
			m.update(engineEventMsg{long(i)})
		}
		m.view(m.width, m.height)
		b.ReportAllocs()
		i := n
		for b.Loop() {
			i++
			m.update(engineEventMsg{long(i)})
			m.view(m.width, m.height)
		}
	}
}

// BenchmarkRunScreen puts Update per log line and View per frame side by
// side after 1k, 10k and 100k lines (make bench), and a frame of long
// lines, wrapped.
func BenchmarkRunScreen(b *testing.B) {
	for _, n := range benchLines {
		b.Run(fmt.Sprintf("update-line/after-%d", n), benchUpdateLine(n))
		b.Run(fmt.Sprintf("view-frame/after-%d", n), benchViewFrame(n))
	}
	b.Run("view-frame-long-lines/after-1000", benchViewFrameLong(1000))
}

// TestLogLineCostIsASmallShareOfAFrame: taking a log line costs at most a
// twentieth of drawing a frame, and the same after 100 000 lines as after
// 1 000.
func TestLogLineCostIsASmallShareOfAFrame(t *testing.T) {
	if testing.Short() {
		t.Skip("benchmarks")
	}
	perLine := map[int]time.Duration{}
	for _, n := range []int{1000, 100000} {
		line := testing.Benchmark(benchUpdateLine(n))
		frame := testing.Benchmark(benchViewFrame(n))
		perLine[n] = time.Duration(line.NsPerOp())
		t.Logf("after %d lines: Update %s/line (%d allocs), View %s/frame", n, perLine[n], line.AllocsPerOp(), time.Duration(frame.NsPerOp()))
		if line.NsPerOp()*20 > frame.NsPerOp() {
			t.Errorf("after %d lines a log line costs %s in Update, more than 1/20 of a frame (%s)", n, perLine[n], time.Duration(frame.NsPerOp()))
		}
	}
	if perLine[100000] > 4*perLine[1000] {
		t.Errorf("a log line costs %s after 100 000 lines, %s after 1 000: it grows with the run", perLine[100000], perLine[1000])
	}
}
