// Package remote is scalestore's SSH layer: the only package that touches the
// network.
//
// It connects to Linux servers the way an OpenSSH user expects — ssh-agent,
// key files (asking an encrypted key's passphrase through a [Prompter]),
// password and keyboard-interactive authentication, ~/.ssh/config (Host
// aliases, HostName, User, Port, IdentityFile, ProxyJump), host keys checked
// against known_hosts — and runs commands, reads and writes files on them.
//
// A [Host] keeps one SSH connection per server and, on it, a small number of
// long-lived shell channels ("exec sh", or "sudo sh" for a non-root user with
// [Target.Sudo]). Every command is written to such a shell wrapped between
// random markers: the shell starts it in its own session and process group
// (setsid), reports its pid, waits for it and prints its exit status on
// both output streams, so that a command costs a fork and an exec on the
// server instead of a new SSH session (~1 ms instead of ~85 ms on a local
// sshd) while keeping per-command exit status, separate stdout and stderr
// streamed line by line, stdin, and cancellation (the process group is
// killed). When no such shell can be used, commands fall back to one SSH
// session each, with the same behaviour.
//
// Every value that reaches a remote shell goes through [Quote] (or [Join],
// [Argv], [Script]); secrets (passwords, passphrases, sudo passwords) are only
// ever written to an SSH authentication request or to a process's stdin,
// never to a command line, a log or an error.
package remote
