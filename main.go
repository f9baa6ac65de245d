// Command scalestore builds shared cluster storage — DRBD pairs exported
// over iSCSI, joined by dm-multipath, shared LVM and GFS2 — on ordinary
// Linux servers over SSH.
//
// One file per command (cli_*.go); session.go opens SSH and the run log,
// printer.go prints events and checks, cli_exit.go holds the exit codes.
package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"scalestore/config"
	"scalestore/ui"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

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
	root.PersistentFlags().BoolP("verbose", "v", false, "show debug lines (the SSH layer's too) on stderr; the run log has them always")
	var specPath string
	root.Flags().StringVarP(&specPath, "file", "f", "", "cluster spec to open or create (default ./"+ui.DefaultSpecPath+")")
	var sched scheduleOpts // the wizard's runs, as apply's
	sched.register(root.Flags())
	root.RunE = func(cmd *cobra.Command, args []string) error {
		if err := sched.check(); err != nil {
			return err
		}
		o := ui.Options{SpecPath: specPath, Graph: sched.graph(), Concurrency: sched.concurrency}
		if verbose, _ := cmd.Flags().GetBool("verbose"); verbose {
			// the screen is stdout's: -v's lines go to stderr (2>FILE keeps them)
			o.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
		return ui.Run(cmd.Context(), o)
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return badInput{err} })
	root.Args = noArgs
	root.AddCommand(newInitCmd(), newPlanCmd(), newApplyCmd(), newCheckCmd(), newStatusCmd(), newVersionCmd())
	completeCmd(root)
	return root
}

// noArgs refuses arguments: every command takes flags only (exit 2).
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return badInput{fmt.Errorf("unknown command %q for %q (see %s --help)", args[0], cmd.CommandPath(), cmd.CommandPath())}
	}
	return nil
}

// loadSpec loads and checks the spec at path, or at ./scalestore.toml
// when path is empty (as the wizard does).
func loadSpec(path string) (*config.Spec, error) {
	if path == "" {
		path = ui.DefaultSpecPath
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, badInput{fmt.Errorf("no spec: run scalestore init or pass -f (there is no ./%s)", path)}
		}
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

// specFlag is the -f flag of the commands that read a spec.
func specFlag(c *cobra.Command, file *string) {
	c.Flags().StringVarP(file, "file", "f", "", "cluster spec (TOML; default ./"+ui.DefaultSpecPath+")")
	_ = c.MarkFlagFilename("file", "toml")
}
