package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"scalestore/checks"
	"scalestore/steps"
)

// printer writes events as plain lines (or JSON lines) and every event as
// JSON to the run log.
type printer struct {
	w    io.Writer
	json bool
	log  io.Writer
	enc  *json.Encoder
	lenc *json.Encoder
	// graph: the run is a graph run (run-started said so): steps overlap,
	// so a step's end names it
	graph bool
}

func newPrinter(w io.Writer, asJSON bool, log io.Writer) *printer {
	p := &printer{w: w, json: asJSON, log: log, enc: json.NewEncoder(w)}
	if log != nil {
		p.lenc = json.NewEncoder(log)
	}
	return p
}

func (p *printer) note(format string, args ...any) {
	if !p.json {
		fmt.Fprintf(p.w, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
}

func (p *printer) checks(rs []checks.Result) { p.checksTitled("preflight:", rs) }

func (p *printer) checksTitled(title string, rs []checks.Result) {
	for _, r := range rs {
		line := checkLine{steps.Schema, "check", r}
		if p.lenc != nil {
			p.lenc.Encode(line)
		}
		if p.json {
			p.enc.Encode(line)
		}
	}
	if p.json {
		return
	}
	fmt.Fprintln(p.w, title)
	checks.Print(p.w, rs)
}

// checkLine is a check's result as a JSON line, beside the events.
type checkLine struct {
	Schema int    `json:"schema"`
	Kind   string `json:"kind"`
	checks.Result
}

func (p *printer) event(e steps.Event) {
	if p.lenc != nil {
		p.lenc.Encode(e)
	}
	if p.json {
		p.enc.Encode(e)
		return
	}
	ts := e.Time.Format("15:04:05")
	host := e.Host
	if host == "" {
		host = "-"
	}
	switch e.Kind {
	case steps.RunStarted:
		p.graph = e.Schedule == steps.ScheduleGraph
		how := ""
		if p.graph {
			how = ", as a graph (several steps at once: scalestore plan --graph shows what each waits for)"
		}
		fmt.Fprintf(p.w, "%s apply %s%s\n", ts, e.Title, how)
	case steps.Warning:
		fmt.Fprintf(p.w, "%s WARNING %s\n", ts, e.Text)
	case steps.StepStarted:
		fmt.Fprintf(p.w, "%s == %s\n", ts, e.Title)
	case steps.ActionDone:
		if e.Outcome == steps.Changed || e.Outcome == steps.WouldChange {
			fmt.Fprintf(p.w, "%s [%s] %s: %s\n", ts, host, e.Outcome, e.Action)
		}
	case steps.LogLine:
		fmt.Fprintf(p.w, "%s [%s] | %s\n", ts, host, e.Text)
	case steps.ProgressMsg:
		pg := e.Progress
		fmt.Fprintf(p.w, "%s [%s] %s %s %.1f%% %s eta %s\n", ts, host, pg.Resource, pg.State, pg.Percent, speed(pg.SpeedKiBps), pg.ETA)
	case steps.Failed:
		fmt.Fprintf(p.w, "%s [%s] FAILED %s: %s\n", ts, host, e.Action, e.Error)
		if e.Cmd != "" {
			fmt.Fprintf(p.w, "         command: %s\n         exit status %d\n", e.Cmd, e.Code)
		}
		for _, l := range strings.Split(strings.TrimSpace(e.Stderr), "\n") {
			if l != "" {
				fmt.Fprintf(p.w, "         stderr: %s\n", l)
			}
		}
	case steps.StepDone:
		if p.graph {
			fmt.Fprintf(p.w, "%s == %s done: %d changed, %d unchanged (%s)\n", ts, e.Title, e.Changed, e.Unchanged, e.Elapsed.Round(10*time.Millisecond))
			break
		}
		fmt.Fprintf(p.w, "%s    %d changed, %d unchanged (%s)\n", ts, e.Changed, e.Unchanged, e.Elapsed.Round(10*time.Millisecond))
	case steps.RunDone:
		status := "done"
		if e.Error != "" {
			status = "stopped: " + e.Error
		}
		fmt.Fprintf(p.w, "%s %s: %d changed, %d unchanged in %s\n", ts, status, e.Changed, e.Unchanged, e.Elapsed.Round(100*time.Millisecond))
	}
}

func speed(kib int64) string {
	if kib <= 0 {
		return ""
	}
	return fmt.Sprintf("%.1f MiB/s", float64(kib)/1024)
}

func round(d time.Duration) time.Duration { return d.Round(100 * time.Millisecond) }
