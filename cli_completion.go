package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// completeCmd makes cobra's completion command (scalestore completion
// SHELL) now, so that its bad input is bad input (exit 2) like every other
// command's: a shell it does not know, no shell, or a word too many.
// Without it, cobra prints the command's help and exits 0 for an unknown
// shell, and exits 1 for a word too many.
func completeCmd(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	var comp *cobra.Command
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			comp = c
		}
	}
	if comp == nil {
		return
	}
	var shells []string
	for _, sh := range comp.Commands() {
		shells = append(shells, sh.Name())
		sh.Args = noArgs
	}
	known := strings.Join(shells[:len(shells)-1], ", ") + " or " + shells[len(shells)-1]
	comp.Args = cobra.ArbitraryArgs
	comp.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return badInput{fmt.Errorf("completion needs a shell: %s (see %s --help)", known, cmd.CommandPath())}
		}
		return badInput{fmt.Errorf("unknown shell %q for completion: %s", args[0], known)}
	}
}
