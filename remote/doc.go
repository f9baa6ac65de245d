// Package remote is scalestore's SSH layer: the only package that touches the
// network.
//
// It connects to Linux servers the way an OpenSSH user expects — ssh-agent,
// key files (asking an encrypted key's passphrase through a [Prompter]),
// password and keyboard-interactive authentication, ~/.ssh/config (Host
// aliases, HostName, User, Port, IdentityFile, ProxyJump), host keys checked
// against known_hosts under a [HostKeyPolicy] — and runs commands, reads and
// writes files on them, as root through sudo when asked ([Target.Sudo]).
//
// A [Host] keeps one SSH connection per server and, on it, a few long-lived
// shell channels (bash, or sh where there is no bash). Every command is
// written to such a shell between random markers: the shell starts it with
// the server's /bin/sh in a process group of its own, reports the group,
// waits for it and prints its exit status on both output streams. A command
// then costs a fork and an exec on the server (~1.5 ms over a local sshd)
// instead of a new SSH session (2 ms on a bare sshd, 100 ms and more where
// the login runs PAM modules and shell start-up files), and keeps its exit
// status, its stdout and stderr apart and streamed line by line, its stdin,
// and cancellation (the process group is killed). Where no such shell can be
// had, commands run in a session each, with the same behaviour.
//
// Nothing waits on a server without a bound: the TCP connection and the
// SSH handshake are bounded by [Options.ConnectTimeout] (whose clock stops
// while the person is asked something), every command by
// [RunOptions.Timeout] or [Options.CommandTimeout], and every call returns
// about a second after its context ends, even when the server froze
// (session opens and requests are abandoned, the command's process group is
// killed in the background). Keepalives close a connection that stopped
// answering, and the next call re-dials.
//
// Every value that reaches a remote shell goes through [Quote] (or [Join],
// [Argv], [Script]); secrets (passwords, passphrases, sudo passwords) only
// ever go into an SSH authentication request or a process's stdin, never
// into a command line, a log or an error.
package remote
