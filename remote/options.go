package remote

import (
	"log/slog"
	"time"
)

// Options tune a Pool or a Host from Dial. The zero value is fine.
type Options struct {
	// Prompter asks for secrets and confirms new host keys; nil means an
	// unattended run (see Prompter).
	Prompter Prompter
	// OnNewHostKey, when set, is called each time an unknown host key is
	// accepted (confirmed by the Prompter, or at once under
	// Target.AutoAcceptNew) and appended to known_hosts: host is
	// Target.Name, address the host:port looked up, keyType e.g.
	// "ssh-ed25519" and fingerprint OpenSSH's "SHA256:..." form. It is
	// called during the handshake and must not block.
	OnNewHostKey func(host, address, keyType, fingerprint string)
	// Logger receives debug records of connections, shells and commands
	// (never secrets). Nil discards them.
	Logger *slog.Logger
	// ConnectTimeout bounds the TCP connection and then, apart, the SSH
	// handshake (the server's banner, key exchange and login), not counting
	// the time the Prompter spends asking the person; a server that has sent
	// its banner by then gets 50 s more for the rest (key exchange and login
	// are slow on a busy or emulated server). 0 means ConnectTimeout from the
	// ssh config, else 10s.
	ConnectTimeout time.Duration
	// CommandTimeout bounds every command (Run, ReadFile, WriteFile) whose
	// RunOptions.Timeout is 0: the command is then killed and its error
	// wraps ErrTimeout. 0 means 30 minutes; a negative value means no bound.
	CommandTimeout time.Duration
	// KeepAlive is the interval of keepalive requests on idle connections; a
	// connection that misses three is closed and re-dialled by the next
	// command. 0 means ServerAliveInterval from the ssh config, else 15s; a
	// negative value disables keepalives.
	KeepAlive time.Duration
	// SessionPerCommand disables the long-lived shells: every command opens
	// its own SSH session (slower; for comparison and for odd servers).
	SessionPerCommand bool
	// MaxShells caps the shells kept per host, which is also how many
	// commands run at once on one host before further ones wait; 0 means 4.
	// sshd's MaxSessions (10 by default) must leave room for one more
	// session per host, used for cancellation and large uploads.
	MaxShells int

	// handshakeMore replaces the 50 s a speaking server gets (tests).
	handshakeMore time.Duration

	// plainSh makes shells use sh and setsid even where bash is installed
	// (for the tests of that path).
	plainSh bool
}

func (o Options) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (o Options) maxShells() int {
	if o.MaxShells > 0 {
		return o.MaxShells
	}
	return 4
}

// defaultCommandTimeout bounds a command when neither RunOptions nor
// Options say: long enough for a package installation on a slow mirror.
const defaultCommandTimeout = 30 * time.Minute

func (o Options) commandTimeout() time.Duration {
	if o.CommandTimeout != 0 {
		return o.CommandTimeout
	}
	return defaultCommandTimeout
}
