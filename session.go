package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"

	"github.com/spf13/cobra"

	"scalestore/config"
	"scalestore/remote"
	"scalestore/steps"
)

// session is what apply, check and status share: the spec, its SSH side
// (steps.Connect, as the wizard's) and the run log, which records every
// event and check as a JSON line, the SSH layer's debug records and how
// the command ended.
type session struct {
	spec      *config.Spec
	hosts     steps.HostSource
	closePool func()
	logger    *slog.Logger // to the run log, and to stderr with -v
	log       io.Writer    // the run log; nil when it could not be opened
	logFile   *os.File
	logPath   string
	stderr    io.Writer
}

// openSession opens the run log and SSH for the spec's hosts. A host whose
// SSH settings make no target is bad input. The caller ends the session
// with end, which names the run log whatever the outcome.
func openSession(cmd *cobra.Command, s *config.Spec, unattended bool, p remote.Prompter) (*session, error) {
	ss := &session{spec: s, stderr: cmd.ErrOrStderr()}
	var handlers []slog.Handler
	if verbose, _ := cmd.Flags().GetBool("verbose"); verbose {
		handlers = append(handlers, slog.NewTextHandler(ss.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	f, path, err := steps.OpenRunLog(s.Cluster.Name)
	if err != nil {
		fmt.Fprintf(ss.stderr, "scalestore: no run log: %v\n", err)
	} else {
		ss.logFile, ss.logPath = f, path
		ss.log = &lockedWriter{w: f}
		handlers = append(handlers, slog.NewJSONHandler(ss.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ss.logger = slog.New(slog.NewMultiHandler(handlers...))
	ss.logger.Info("start", "command", cmd.CommandPath(), "version", version, "spec", s.Path, "hosts", len(s.Hosts))
	src, closePool, err := steps.Connect(s, unattended, remote.Options{Prompter: p, OnNewHostKey: showNewHostKey, Logger: ss.logger})
	ss.hosts, ss.closePool = src, closePool
	if err != nil {
		err = badInput{err}
		ss.end(err)
		return nil, err
	}
	return ss, nil
}

// end closes SSH, records how the command ended and closes the run log,
// then names it on stderr (stdout may be JSON).
func (ss *session) end(err error) {
	ss.closePool()
	if err != nil {
		ss.logger.Error("end", "err", err, "exit", exitCode(err))
	} else {
		ss.logger.Info("end", "exit", exitOK)
	}
	if ss.logFile == nil {
		return
	}
	if cerr := ss.logFile.Close(); cerr != nil {
		fmt.Fprintf(ss.stderr, "scalestore: run log %s: %v\n", ss.logPath, cerr)
	}
	fmt.Fprintf(ss.stderr, "run log: %s\n", ss.logPath)
}

// lockedWriter serialises writes: the events, the checks and the SSH
// layer's records reach the run log from different goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// readOnlySession loads the spec and opens a session for check and status:
// nothing changed on the hosts. On a terminal, an unknown host key (under
// "accept-new") is shown and confirmed; without one it is accepted and
// shown.
func readOnlySession(cmd *cobra.Command, file string) (*session, error) {
	s, err := loadSpec(file)
	if err != nil {
		return nil, err
	}
	var p remote.Prompter
	interactive := isTerminal(os.Stdin)
	if interactive {
		p = termPrompter{in: os.Stdin}
	}
	return openSession(cmd, s, !interactive, p)
}

// showNewHostKey says on stderr which host key was added to known_hosts
// (under host_key_policy "accept-new"), so no key is trusted unseen.
func showNewHostKey(host, address, keyType, fingerprint string) {
	fmt.Fprintf(os.Stderr, "scalestore: added the %s host key of %s (%s) to known_hosts: %s\n", keyType, host, address, fingerprint)
}
