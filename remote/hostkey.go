package remote

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"
	xknownhosts "golang.org/x/crypto/ssh/knownhosts"
)

// HostKeyError is the error (wrapped) when a server's host key is refused.
type HostKeyError struct {
	Host        string // Target.Name
	Address     string // host:port as looked up in known_hosts
	KeyType     string // type of the key the server presented, e.g. ssh-ed25519
	Fingerprint string // SHA256 fingerprint of that key, "SHA256:..."
	// KnownHostsFile is the file to fix: where the conflicting entry is when
	// Changed, else where the key would have been added.
	KnownHostsFile string
	Line           int  // line of the conflicting entry when Changed
	Changed        bool // known_hosts holds a different key for the host
	Policy         HostKeyPolicy
	Declined       bool  // the Prompter was asked and said no
	PromptErr      error // asking the Prompter failed
}

func (e *HostKeyError) Error() string {
	key := fmt.Sprintf("%s key %s", e.KeyType, e.Fingerprint)
	if e.Changed {
		return fmt.Sprintf("HOST KEY CHANGED for %s (%s): the server presented %s, which does not match the entry at %s:%d; "+
			"if the change is expected, remove that line (ssh-keygen -R %s -f %s) and connect again",
			e.Host, e.Address, key, e.KnownHostsFile, e.Line,
			Quote(knownhosts.Normalize(e.Address)), Quote(e.KnownHostsFile))
	}
	switch {
	case e.Declined:
		return fmt.Sprintf("host key of %s (%s) not trusted: %s was declined", e.Host, e.Address, key)
	case e.PromptErr != nil:
		return fmt.Sprintf("host key of %s (%s) is unknown (%s) and could not be confirmed: %v", e.Host, e.Address, key, e.PromptErr)
	}
	return fmt.Sprintf("host key of %s (%s) is unknown (%s) and the host key policy is %s: "+
		"check the fingerprint and add the key to %s, or use policy %s",
		e.Host, e.Address, key, e.Policy, e.KnownHostsFile, PolicyAcceptNew)
}

// Unwrap returns the Prompter's error, if any.
func (e *HostKeyError) Unwrap() error { return e.PromptErr }

// hostKeys checks host keys against known_hosts for one endpoint.
type hostKeys struct {
	db    *knownhosts.HostKeyDB // nil when no known_hosts file exists yet
	algos []string              // host key algorithms known_hosts holds for the endpoint
}

func loadHostKeys(e *endpoint) (*hostKeys, error) {
	var files []string
	for _, f := range e.knownHosts {
		if _, err := os.Stat(f); err == nil {
			files = append(files, f)
		}
	}
	hk := &hostKeys{}
	if len(files) == 0 {
		return hk, nil
	}
	db, err := knownhosts.NewDB(files...)
	if err != nil {
		return nil, fmt.Errorf("read known_hosts: %w", err)
	}
	hk.db = db
	// Offer only the key types known_hosts holds for the host: otherwise the
	// server may present another type, which would look like a changed key.
	hk.algos = db.HostKeyAlgorithms(e.addr())
	return hk, nil
}

// callback returns the ssh.HostKeyCallback applying e's policy.
func (d *dialer) hostKeyCallback(ctx context.Context, e *endpoint, hk *hostKeys, timer *handshakeTimer) ssh.HostKeyCallback {
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := error(&xknownhosts.KeyError{})
		if hk.db != nil {
			err = hk.db.HostKeyCallback()(hostname, remote, key)
		}
		if err == nil {
			return nil
		}
		var ke *xknownhosts.KeyError
		if !errors.As(err, &ke) {
			return err // e.g. a revoked key
		}
		hke := &HostKeyError{
			Host:           e.name,
			Address:        hostname,
			KeyType:        key.Type(),
			Fingerprint:    ssh.FingerprintSHA256(key),
			KnownHostsFile: e.knownHostsFile,
			Policy:         e.policy,
		}
		if len(ke.Want) > 0 {
			hke.Changed = true
			hke.KnownHostsFile, hke.Line = ke.Want[0].Filename, ke.Want[0].Line
			return hke
		}
		if e.policy != PolicyAcceptNew || e.knownHostsFile == "" {
			return hke
		}
		if !e.autoAcceptNew {
			timer.pause()
			ok, err := d.prompt.ConfirmHostKey(ctx, e.name, hostname, key.Type(), hke.Fingerprint)
			timer.resume()
			if err != nil {
				hke.PromptErr = err
				return hke
			}
			if !ok {
				hke.Declined = true
				return hke
			}
		}
		if err := d.appendKnownHost(e, hostname, key); err != nil {
			return fmt.Errorf("record host key of %s in %s: %w", e.name, e.knownHostsFile, err)
		}
		d.log.Info("new host key recorded", "host", e.name, "address", hostname,
			"key", key.Type()+" "+hke.Fingerprint, "file", e.knownHostsFile)
		if d.opts.OnNewHostKey != nil {
			d.opts.OnNewHostKey(e.name, hostname, key.Type(), hke.Fingerprint)
		}
		return nil
	}
}

// knownHostsMu serialises appends to known_hosts files within the process;
// flock does it across processes.
var knownHostsMu sync.Mutex

// appendKnownHost adds key for address to e's known_hosts file, as OpenSSH
// writes it: "[host]:port" when the port is not 22, hashed when the config
// says HashKnownHosts yes (or, when it says nothing, when the file already
// holds hashed entries).
func (d *dialer) appendKnownHost(e *endpoint, address string, key ssh.PublicKey) error {
	knownHostsMu.Lock()
	defer knownHostsMu.Unlock()

	path := e.knownHostsFile
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}

	host := knownhosts.Normalize(address)
	hash := false
	switch e.hashKnownHosts {
	case "yes":
		hash = true
	case "":
		hash = bytes.HasPrefix(old, []byte("|1|")) || bytes.Contains(old, []byte("\n|1|"))
	}
	if hash {
		host = xknownhosts.HashHostname(host)
	}
	var b strings.Builder
	if len(old) > 0 && old[len(old)-1] != '\n' {
		b.WriteByte('\n')
	}
	b.WriteString(host + " " + key.Type() + " " + base64.StdEncoding.EncodeToString(key.Marshal()) + "\n")
	_, err = f.WriteString(b.String())
	return err
}
