package main

import (
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"scalestore/ui"
)

// sampleSpec is sample.toml: the seed's topology, every key commented.
//
//go:embed sample.toml
var sampleSpec []byte

func newInitCmd() *cobra.Command {
	var file string
	c := &cobra.Command{
		Use:   "init [-f FILE]",
		Short: "Write the commented sample spec to ./" + ui.DefaultSpecPath + " (or FILE) to edit",
		Long: `init writes the sample spec — two DRBD-mirrored storage pairs and two clients, every key
explained in a comment — to ./` + ui.DefaultSpecPath + `, where plan, check, status, apply and the
wizard look for it, or to FILE. It never overwrites a file. Edit the host names, addresses
and disks, then run scalestore plan.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return writeSample(cmd, file)
		},
	}
	c.Flags().StringVarP(&file, "file", "f", ui.DefaultSpecPath, "where to write the spec")
	_ = c.MarkFlagFilename("file", "toml")
	return c
}

// writeSample creates path with the sample (mode 0600: a spec may name
// secrets' files); an existing file is left alone and named (exit 2).
func writeSample(cmd *cobra.Command, path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return badInput{fmt.Errorf("%s already exists; init never overwrites a spec (pass -f NEW.toml for another)", path)}
	}
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	_, err = f.Write(sampleSpec)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("init: write %s: %w", path, err)
	}
	next := "scalestore plan"
	if path != ui.DefaultSpecPath {
		next += " -f " + path
	}
	fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: edit its hosts, addresses and disks, then run %s\n", path, next)
	return nil
}
