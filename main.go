// Command scalestore builds shared cluster storage — DRBD pairs exported
// over iSCSI, joined by dm-multipath, shared LVM and GFS2 — on ordinary
// Linux servers over SSH.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"scalestore/config"
	"scalestore/steps"
	"scalestore/ui"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// Exit codes, all in one place.
const (
	exitOK          = 0
	exitFailed      = 1   // failed; for status: degraded
	exitBadInput    = 2   // the spec or the command line; nothing ran
	exitRefused     = 3   // preflight refused; nothing was changed
	exitUnknown     = 4   // status: a host could not be read
	exitInterrupted = 130 // stopped by Ctrl-C (128 + SIGINT, as shells report it)
)

// badInput marks errors that come from the operator's input (exit 2).
type badInput struct{ err error }

func (b badInput) Error() string { return b.err.Error() }
func (b badInput) Unwrap() error { return b.err }

// interrupted: the operator stopped the command (exit 130). changed says
// whether the plan had started changing hosts.
type interrupted struct{ changed bool }

func (i interrupted) Error() string {
	if i.changed {
		return "interrupted; the next apply resumes where this one stopped"
	}
	return "interrupted; nothing was changed"
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "scalestore:", err)
	return exitCode(err)
}

// exitCode maps an error to the process's exit status.
func exitCode(err error) int {
	var (
		bi badInput
		ps config.Problems
		rf refused
		us unknownState
		in interrupted
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &in):
		return exitInterrupted
	case errors.As(err, &bi), errors.As(err, &ps):
		return exitBadInput
	case errors.As(err, &rf):
		return exitRefused
	case errors.As(err, &us):
		return exitUnknown
	}
	return exitFailed
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "scalestore",
		Short: "Build shared cluster storage (DRBD + iSCSI + multipath + shared LVM + GFS2) over SSH",
		Long: `scalestore builds the storage stack of the 2008 "scalable storage with OSS" series on
ordinary Linux servers: storage servers in DRBD-mirrored pairs, each half exporting its
DRBD device, every client importing all of them, dm-multipath joining each pair into
mpathN, shared LVM (VG0/LV0) over the maps, and GFS2 mounted on every client.

Run without a command, scalestore is a wizard in the terminal: it creates the spec (or
opens it to add a storage pair), discovers the hosts, checks them, shows the plan and
runs it with live logs.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	var specPath string
	root.Flags().StringVarP(&specPath, "file", "f", "", "cluster spec to open or create (default ./"+ui.DefaultSpecPath+")")
	root.RunE = func(cmd *cobra.Command, args []string) error {
		return ui.Run(cmd.Context(), ui.Options{SpecPath: specPath})
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return badInput{err} })
	root.Args = noArgs
	root.AddCommand(newPlanCmd(), newApplyCmd(), newCheckCmd(), newStatusCmd(), newVersionCmd())
	return root
}

// noArgs refuses arguments: every command takes flags only (exit 2).
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return badInput{fmt.Errorf("unknown command %q for %q (see %s --help)", args[0], cmd.CommandPath(), cmd.CommandPath())}
	}
	return nil
}

func loadSpec(path string) (*config.Spec, error) {
	if path == "" {
		return nil, badInput{errors.New("no spec file: pass -f FILE (see sample.toml)")}
	}
	s, err := config.Load(path)
	if err != nil {
		var ps config.Problems
		if errors.As(err, &ps) {
			return nil, fmt.Errorf("%d problem(s) in the spec:\n%w", len(ps), err)
		}
		return nil, badInput{err}
	}
	return s, nil
}

func newPlanCmd() *cobra.Command {
	var file string
	c := &cobra.Command{
		Use:   "plan -f FILE",
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
	c.Flags().StringVarP(&file, "file", "f", "", "cluster spec (TOML)")
	_ = c.MarkFlagFilename("file", "toml")
	return c
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print scalestore's version",
		Args:  noArgs,
		Run: func(cmd *cobra.Command, args []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "scalestore %s\n", version)
		},
	}
}
