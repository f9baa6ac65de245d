package main

import (
	"github.com/spf13/cobra"

	"scalestore/steps"
)

func newPlanCmd() *cobra.Command {
	var file string
	c := &cobra.Command{
		Use:   "plan [-f FILE]",
		Short: "Print every step, command and file that building the spec takes",
		Long: `plan prints the whole ordered plan for a spec: each step, its hosts, the exact
commands with the read-only probe that skips each one when it is already done, the full
text of every file it writes, and the destructive actions marked. It contacts no host.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := loadSpec(file)
			if err != nil {
				return err
			}
			steps.Build(s, nil).Render(cmd.OutOrStdout())
			return nil
		},
	}
	specFlag(c, &file)
	return c
}
