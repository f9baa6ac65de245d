package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"scalestore/steps"
)

func newPlanCmd() *cobra.Command {
	var file string
	var asJSON bool
	var other planOutputs // --script, --graph (cli_plan_script.go)
	c := &cobra.Command{
		Use:   "plan [-f FILE]",
		Short: "Print every step, command and file that building the spec takes",
		Long: `plan prints the whole ordered plan for a spec: each step, its hosts, the exact
commands with the read-only probe that skips each one when it is already done, the full
text of every file it writes, and the destructive actions marked; it ends with a summary
line. With --json it prints the plan as one JSON document ("schema": 1). It contacts no host.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := loadSpec(file)
			if err != nil {
				return err
			}
			p := steps.Build(s, nil)
			if done, err := other.print(cmd.OutOrStdout(), s, p, asJSON); done {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false) // commands keep their &, < and >
				return enc.Encode(planJSON(p))
			}
			p.Render(cmd.OutOrStdout())
			printPlanSummary(cmd.OutOrStdout(), p)
			return nil
		},
	}
	specFlag(c, &file)
	c.Flags().BoolVar(&asJSON, "json", false, `print the plan as JSON ("schema": 1)`)
	other.register(c)
	return c
}

// planCount is what a plan's summary says.
type planCount struct {
	actions, destructive int
	destructiveSteps     []string // the IDs of the steps with destructive actions
}

func countPlan(p *steps.Plan) planCount {
	var c planCount
	for _, st := range p.Steps {
		c.actions += len(st.Actions)
		in := false
		for _, a := range st.Actions {
			if a.Destructive {
				c.destructive++
				in = true
			}
		}
		if in {
			c.destructiveSteps = append(c.destructiveSteps, st.ID)
		}
	}
	return c
}

// printPlanSummary ends the plan with one line, as terraform's does:
// "Plan: 58 actions in 17 steps on 6 hosts, 7 destructive (steps …)."
func printPlanSummary(w io.Writer, p *steps.Plan) {
	c := countPlan(p)
	destructive := "none destructive"
	if c.destructive > 0 {
		destructive = fmt.Sprintf("%d destructive (steps %s)", c.destructive, strings.Join(c.destructiveSteps, ", "))
	}
	fmt.Fprintf(w, "\nPlan: %d actions in %d steps on %d hosts, %s.\n", c.actions, len(p.Steps), len(p.Hosts()), destructive)
}

// The JSON form of a plan (plan --json), versioned by steps.Schema.
type (
	jsonPlanDoc struct {
		Schema      int            `json:"schema"`
		Cluster     string         `json:"cluster"`
		Profile     string         `json:"profile"`
		Hosts       []string       `json:"hosts"`
		Actions     int            `json:"actions"`
		Destructive int            `json:"destructive"`
		Warnings    []string       `json:"warnings,omitempty"`
		Steps       []jsonPlanStep `json:"steps"`
	}
	jsonPlanStep struct {
		ID      string           `json:"id"`
		Title   string           `json:"title"`
		Layer   string           `json:"layer,omitempty"`
		Actions []jsonPlanAction `json:"actions"`
	}
	jsonPlanAction struct {
		Host        string `json:"host"`
		Kind        string `json:"kind"` // run, wait, write-file, copy-secret
		Desc        string `json:"desc"`
		Command     string `json:"command,omitempty"` // run and wait
		Unless      string `json:"unless,omitempty"`  // the probe that skips it
		Path        string `json:"path,omitempty"`    // write-file and copy-secret
		Mode        string `json:"mode,omitempty"`
		Content     string `json:"content,omitempty"` // write-file (a secret's is never in the plan)
		From        string `json:"from,omitempty"`    // copy-secret's source host
		OnChange    string `json:"on_change,omitempty"`
		TimeoutSec  int    `json:"timeout_s,omitempty"`
		Destructive bool   `json:"destructive"`
	}
)

var kindNames = map[steps.Kind]string{steps.Run: "run", steps.Wait: "wait", steps.WriteFile: "write-file", steps.CopySecret: "copy-secret"}

func planJSON(p *steps.Plan) jsonPlanDoc {
	c := countPlan(p)
	doc := jsonPlanDoc{Schema: steps.Schema, Cluster: p.Cluster, Profile: p.Profile, Hosts: p.Hosts(),
		Actions: c.actions, Destructive: c.destructive, Warnings: p.Warnings}
	for _, st := range p.Steps {
		js := jsonPlanStep{ID: st.ID, Title: st.Title, Layer: st.Layer, Actions: []jsonPlanAction{}}
		for _, a := range st.Actions {
			ja := jsonPlanAction{Host: a.Host, Kind: kindNames[a.Kind], Desc: a.Desc, Path: a.Path, From: a.From,
				TimeoutSec: int(a.Timeout.Seconds()), Destructive: a.Destructive}
			switch a.Kind {
			case steps.Run, steps.Wait:
				ja.Command = a.Cmd.String()
			case steps.WriteFile:
				ja.Content = a.Content
			}
			if a.Path != "" {
				ja.Mode = fmt.Sprintf("%04o", a.Mode)
			}
			if a.Unless != nil {
				ja.Unless = a.Unless.String()
			}
			if a.OnChange != nil {
				ja.OnChange = a.OnChange.String()
			}
			js.Actions = append(js.Actions, ja)
		}
		doc.Steps = append(doc.Steps, js)
	}
	return doc
}
