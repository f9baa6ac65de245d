package main

import (
	"fmt"
	"io"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"scalestore/config"
	"scalestore/remote"
	"scalestore/steps"
)

// planOutputs are plan's other forms: --script and --graph.
type planOutputs struct{ script, graph bool }

func (o *planOutputs) register(c *cobra.Command) {
	c.Flags().BoolVar(&o.script, "script", false, "print the plan's own commands as a bash script: no probe, no check, one host after another (what an admin following the plan by hand types, for a new cluster)")
	c.Flags().BoolVar(&o.graph, "graph", false, "print each step with the steps it waits for when the plan runs as a graph")
}

// print writes the form asked for; false when none was.
func (o *planOutputs) print(w io.Writer, s *config.Spec, p *steps.Plan, asJSON bool) (bool, error) {
	if asJSON && (o.script || o.graph) || o.script && o.graph {
		return true, badInput{fmt.Errorf("plan takes one of --json, --script and --graph")}
	}
	switch {
	case o.script:
		return true, writePlanScript(w, s, p)
	case o.graph:
		g, err := steps.NewGraph(p)
		if err != nil {
			return true, err
		}
		g.Render(w)
		return true, nil
	}
	return false, nil
}

// dayTwo says why an action is left out of the script: on a new cluster
// it changes nothing once the commands before it ran (its probe holds), and
// run regardless it fails (gfs2_jadd on a filesystem not yet mounted,
// vgextend of a PV that vgcreate put in the VG, lvextend with no free space).
func dayTwo(st steps.Step, a steps.Action) (string, bool) {
	switch st.ID {
	case "journals":
		return "mkfs.gfs2 made every journal", true
	case "grow-lv", "grow-refresh", "grow-fs":
		return "nothing to grow yet", true
	}
	if len(a.Cmd.Argv) > 0 && a.Cmd.Argv[0] == "vgextend" {
		return "vgcreate put this PV in the VG", true
	}
	return "", false
}

// sshArgs is how the script reaches a host: the options (the spec's key,
// known hosts and host key policy, batch mode) and the destination.
func sshArgs(s *config.Spec, name string) (opts []string, dest []string) {
	h := s.Host(name)
	e := s.HostSSH(h)
	dir := "."
	if s.Path != "" {
		dir = filepath.Dir(s.Path)
	}
	opts = []string{"-o", "BatchMode=yes"}
	if e.IdentityFile != "" {
		opts = append(opts, "-i", config.ResolvePath(dir, e.IdentityFile))
	}
	if e.KnownHosts != "" {
		opts = append(opts, "-o", "UserKnownHostsFile="+config.ResolvePath(dir, e.KnownHosts))
	}
	policy := "yes"
	if e.HostKeyPolicy == config.PolicyAcceptNew {
		policy = "accept-new"
	}
	opts = append(opts, "-o", "StrictHostKeyChecking="+policy)
	if e.Jump != "" {
		opts = append(opts, "-J", e.Jump)
	}
	return opts, []string{"-p", strconv.Itoa(e.Port), e.User + "@" + e.Address}
}

// remoteCmd is the command line the host's login shell gets: the plan's
// own, through sudo when the spec asks for it.
func remoteCmd(s *config.Spec, host string, c remote.Cmd) string {
	if s.HostSSH(s.Host(host)).SudoOn() {
		return "sudo -n sh -c " + remote.Quote(c.String())
	}
	return c.String()
}

// writeCmd writes its stdin to p with mode: new files are made under umask
// 077 (a secret is never readable by others, not even for a moment), then
// given their mode.
func writeCmd(p string, mode uint32) remote.Cmd {
	return remote.Script("mkdir -p %s && (umask 077 && cat > %s) && chmod %s %s", path.Dir(p), p, strconv.FormatUint(uint64(mode), 8), p)
}

// readCmd prints a secret's file on its source host.
func readCmd(p string) remote.Cmd { return remote.Argv("cat", "--", p) }

// hereDelim is a here-document delimiter no line of content equals.
func hereDelim(content string) string {
	lines := strings.Split(content, "\n")
	d := "SCALESTORE_EOF"
	for i := 1; slices.Contains(lines, d); i++ {
		d = fmt.Sprintf("SCALESTORE_EOF_%d", i)
	}
	return d
}

// writePlanScript prints the plan as a bash script of its own commands,
// mechanically: every action's command (no probe, no batched probes, no
// preflight or postflight), step by step, the actions of a step in the
// plan's order, one after another. Waits become polling loops. Each remote
// command is `ssh HOST 'COMMAND'`: COMMAND is the engine's command text,
// quoted once for bash by remote.Quote (in single quotes, each embedded
// single quote closed, escaped and reopened), so bash hands ssh exactly that
// text and the host's shell runs it as the engine would. A file goes
// through ssh on stdin from a here-document whose delimiter is quoted
// (<<'SCALESTORE_EOF': bash expands nothing in it) and equals no line of
// the file (hereDelim); a file without a final newline, which a
// here-document would add, is piped from printf '%s' instead. Secrets are
// copied host to host through a pipe, never printed.
func writePlanScript(w io.Writer, s *config.Spec, p *steps.Plan) error {
	var b strings.Builder
	from := "the spec"
	if s.Path != "" {
		from = s.Path
	}
	fmt.Fprintf(&b, "#!/usr/bin/env bash\n")
	fmt.Fprintf(&b, "# The plan of cluster %q (profile %s), written by `scalestore plan --script` from %s:\n", p.Cluster, p.Profile, from)
	b.WriteString(`# its own commands only, as an admin following the plan by hand types them: no probe,
# no check, one command after another. For a new cluster: nothing here skips what is done.
# Each step prints "<time> step <id>" on stderr as it begins, "<time> step end" at the end.
set -euo pipefail

# SCALESTORE_SSH_OPTS: more ssh options for every host, split on blanks, put before the
# spec's (ssh keeps an option's first value: these win), e.g. "-o ConnectTimeout=10".
if [[ -n ${SCALESTORE_SSH_OPTS:-} ]]; then
	read -r -a ssh_extra <<<"$SCALESTORE_SSH_OPTS"
	ssh() { command ssh "${ssh_extra[@]}" "$@"; }
fi

step() { printf '%s step %s\n' "$EPOCHREALTIME" "$1" >&2; }

# wait_for SECONDS WHAT COMMAND...: run COMMAND every second until it succeeds
wait_for() {
	local limit=$1 what=$2 end=$((SECONDS + $1))
	shift 2
	until "$@"; do
		if ((SECONDS >= end)); then
			echo "gave up after ${limit}s waiting for: $what" >&2
			exit 1
		fi
		sleep 1
	done
}
`)
	// one option list for every host that shares the spec's [ssh]
	common, _ := sshArgs(s, s.Hosts[0].Name)
	for _, h := range s.Hosts {
		if o, _ := sshArgs(s, h.Name); !slices.Equal(o, common) {
			common = nil
			break
		}
	}
	if common != nil {
		fmt.Fprintf(&b, "\n# how every host is reached (the spec's [ssh])\nssh_opts=(%s)\n", remote.Join(common...))
	}
	ssh := func(host string, noStdin bool, c remote.Cmd) string {
		opts, dest := sshArgs(s, host)
		args := []string{"ssh"}
		if common != nil {
			args = append(args, `"${ssh_opts[@]}"`)
		} else {
			args = append(args, remote.Join(opts...))
		}
		if noStdin {
			args = append(args, "-n")
		}
		args = append(args, remote.Join(dest...), remote.Quote(remoteCmd(s, host, c)))
		return strings.Join(args, " ")
	}
	for si, st := range p.Steps {
		fmt.Fprintf(&b, "\n# %d. %s [%s]\nstep %s\n", si+1, st.Title, st.ID, remote.Quote(st.ID))
		for _, a := range st.Actions {
			if why, skip := dayTwo(st, a); skip {
				fmt.Fprintf(&b, "# %s: %s: left out, day two only (%s)\n", a.Host, a.Desc, why)
				continue
			}
			mark := ""
			if a.Destructive {
				mark = " (destructive)"
			}
			fmt.Fprintf(&b, "# %s: %s%s\n", a.Host, a.Desc, mark)
			switch a.Kind {
			case steps.Run:
				fmt.Fprintf(&b, "%s\n", ssh(a.Host, true, a.Cmd))
			case steps.Wait:
				secs := int(a.Timeout.Seconds())
				if secs <= 0 {
					secs = 300
				}
				fmt.Fprintf(&b, "wait_for %d %s %s\n", secs, remote.Quote(a.Desc), ssh(a.Host, true, a.Cmd))
			case steps.WriteFile:
				wc := ssh(a.Host, false, writeCmd(a.Path, uint32(a.Mode.Perm())))
				if strings.HasSuffix(a.Content, "\n") {
					d := hereDelim(a.Content)
					fmt.Fprintf(&b, "%s <<'%s'\n%s%s\n", wc, d, a.Content, d)
				} else {
					fmt.Fprintf(&b, "printf '%%s' %s | %s\n", remote.Quote(a.Content), wc)
				}
			case steps.CopySecret:
				fmt.Fprintf(&b, "%s | %s\n", ssh(a.From, true, readCmd(a.Path)), ssh(a.Host, false, writeCmd(a.Path, uint32(a.Mode.Perm()))))
			default:
				return fmt.Errorf("plan --script: step %s on %s: %q is of a kind the script cannot write", st.ID, a.Host, a.Desc)
			}
			if a.OnChange != nil {
				fmt.Fprintf(&b, "%s\n", ssh(a.Host, true, *a.OnChange))
			}
		}
	}
	b.WriteString("\nstep end\n")
	_, err := io.WriteString(w, b.String())
	return err
}
