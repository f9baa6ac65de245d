package remote

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// secrets are what one host's person answered, kept in memory so that a
// re-dial or a new shell does not ask again.
type secrets struct {
	mu       sync.Mutex
	password map[string]string // login password by user@address
	sudo     string            // sudo password of the login user ("" = none known)
}

func (s *secrets) loginPassword(key string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.password[key]
}

func (s *secrets) setLoginPassword(key, pw string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.password == nil {
		s.password = make(map[string]string)
	}
	s.password[key] = pw
}

func (s *secrets) sudoPassword() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sudo
}

func (s *secrets) setSudoPassword(pw string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sudo = pw
}

// keyCache holds decrypted private keys by file, shared by the hosts of a
// Pool so that a passphrase is asked once per run, not once per host.
type keyCache struct {
	turn    chan struct{} // one decryption (and prompt) at a time
	mu      sync.Mutex
	signers map[string]ssh.Signer
}

func newKeyCache() *keyCache {
	return &keyCache{turn: make(chan struct{}, 1), signers: make(map[string]ssh.Signer)}
}

func (k *keyCache) get(path string) ssh.Signer {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.signers[path]
}

func (k *keyCache) put(path string, s ssh.Signer) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.signers[path] = s
}

// authSession gathers the authentication methods for one connection attempt
// and what must be remembered once it succeeds.
type authSession struct {
	d        *dialer
	ctx      context.Context
	e        *endpoint
	sec      *secrets
	timer    *handshakeTimer // paused while the person is asked
	agent    net.Conn        // closed by close
	tried    []string        // human-readable list of what was offered, for errors
	password string          // last password given to the server
}

func (a *authSession) close() {
	if a.agent != nil {
		a.agent.Close()
	}
}

// succeeded remembers the password that logged in, if one was used.
func (a *authSession) succeeded() {
	if a.password != "" {
		a.sec.setLoginPassword(a.e.user+"@"+a.e.addr(), a.password)
	}
}

// ask asks the person for a secret; the handshake's clock stops meanwhile.
func (a *authSession) ask(prompt string) (string, error) {
	a.timer.pause()
	defer a.timer.resume()
	return a.d.prompt.Secret(a.ctx, a.e.name, prompt)
}

// methods returns the auth methods in OpenSSH's order: public keys (agent
// first, then key files), keyboard-interactive, password.
func (a *authSession) methods() []ssh.AuthMethod {
	var agentSigners []ssh.Signer
	if a.e.agentSocket != "" {
		c, err := net.Dial("unix", a.e.agentSocket)
		if err != nil {
			a.d.log.Debug("ssh-agent unreachable", "host", a.e.name, "socket", a.e.agentSocket, "err", err)
		} else {
			a.agent = c
			ss, err := agent.NewClient(c).Signers()
			if err != nil {
				a.d.log.Debug("ssh-agent keys unavailable", "host", a.e.name, "err", err)
			}
			agentSigners = ss
		}
	}

	var fileSigners []ssh.Signer
	var fileNames []string
	filePubs := make(map[string]bool)
	for _, path := range a.e.identityFiles {
		s, err := a.loadKey(path)
		if err != nil {
			a.d.log.Debug("identity file skipped", "host", a.e.name, "file", path, "err", err)
			continue
		}
		fileSigners = append(fileSigners, s)
		fileNames = append(fileNames, path)
		filePubs[string(s.PublicKey().Marshal())] = true
	}

	var signers []ssh.Signer
	agentPubs := make(map[string]bool)
	for _, s := range agentSigners {
		pub := string(s.PublicKey().Marshal())
		if a.e.identitiesOnly && !filePubs[pub] {
			continue
		}
		agentPubs[pub] = true
		signers = append(signers, s)
	}
	if len(signers) > 0 {
		a.tried = append(a.tried, fmt.Sprintf("%d agent key(s)", len(signers)))
	}
	var files []string
	for i, s := range fileSigners {
		if agentPubs[string(s.PublicKey().Marshal())] {
			continue // the agent holds it already: no passphrase needed
		}
		signers = append(signers, s)
		files = append(files, fileNames[i])
	}
	if len(files) > 0 {
		a.tried = append(a.tried, "key file(s) "+strings.Join(files, ", "))
	}

	var methods []ssh.AuthMethod
	if len(signers) > 0 {
		methods = append(methods, ssh.PublicKeys(signers...))
	}
	pwKey := a.e.user + "@" + a.e.addr()
	if a.d.prompt != nil || a.sec.loginPassword(pwKey) != "" {
		a.tried = append(a.tried, "password")
		rounds := 0
		methods = append(methods, ssh.RetryableAuthMethod(ssh.KeyboardInteractive(
			func(name, instruction string, questions []string, echos []bool) ([]string, error) {
				rounds++
				answers := make([]string, len(questions))
				for i, q := range questions {
					if cached := a.sec.loginPassword(pwKey); rounds == 1 && len(questions) == 1 && cached != "" {
						answers[i] = cached
						a.password = cached
						continue
					}
					prompt := fmt.Sprintf("(%s@%s) %s", a.e.user, a.e.hostname, strings.TrimSpace(q))
					if instruction != "" {
						prompt = instruction + "\n" + prompt
					}
					ans, err := a.ask(prompt)
					if err != nil {
						return nil, err
					}
					answers[i] = ans
					if len(questions) == 1 {
						a.password = ans
					}
				}
				return answers, nil
			}), 3))
		tries := 0
		methods = append(methods, ssh.RetryableAuthMethod(ssh.PasswordCallback(func() (string, error) {
			tries++
			if cached := a.sec.loginPassword(pwKey); tries == 1 && cached != "" {
				a.password = cached
				return cached, nil
			}
			pw, err := a.ask(fmt.Sprintf("%s@%s's password: ", a.e.user, a.e.hostname))
			if err != nil {
				return "", err
			}
			a.password = pw
			return pw, nil
		}), 3))
	}
	return methods
}

// loadKey reads a private key file. An encrypted key becomes a signer that
// asks its passphrase only when the server accepts its public key, as
// OpenSSH does; a decrypted key is cached for the other hosts.
func (a *authSession) loadKey(path string) (ssh.Signer, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := ssh.ParsePrivateKey(pem)
	if err == nil {
		return s, nil
	}
	var missing *ssh.PassphraseMissingError
	if !errors.As(err, &missing) {
		return nil, err
	}
	if s := a.d.keys.get(path); s != nil {
		return s, nil
	}
	if a.d.prompt == nil {
		return nil, fmt.Errorf("key is encrypted: %w", ErrNoPrompter)
	}
	ls := &lazySigner{a: a, path: path, pem: pem, pub: missing.PublicKey}
	if ls.pub == nil {
		// Old PEM formats keep the public key encrypted too: take it from
		// the .pub file, else decrypt now.
		if b, err := os.ReadFile(path + ".pub"); err == nil {
			if pub, _, _, _, err := ssh.ParseAuthorizedKey(b); err == nil {
				ls.pub = pub
			}
		}
		if ls.pub == nil {
			return ls.signer()
		}
	}
	return ls, nil
}

// lazySigner is an encrypted key file whose passphrase is asked at the
// first signature.
type lazySigner struct {
	a    *authSession
	path string
	pem  []byte
	pub  ssh.PublicKey

	once sync.Once
	s    ssh.Signer
	err  error
}

func (l *lazySigner) signer() (ssh.Signer, error) {
	l.once.Do(func() { l.s, l.err = l.decrypt() })
	return l.s, l.err
}

func (l *lazySigner) decrypt() (ssh.Signer, error) {
	// Waiting for another host's passphrase prompt is asking too.
	l.a.timer.pause()
	defer l.a.timer.resume()
	k := l.a.d.keys
	select {
	case k.turn <- struct{}{}:
	case <-l.a.ctx.Done():
		return nil, l.a.ctx.Err()
	}
	defer func() { <-k.turn }()
	if s := k.get(l.path); s != nil {
		return s, nil // another host asked while we waited
	}
	for try := 0; ; try++ {
		pass, err := l.a.ask(fmt.Sprintf("Enter passphrase for key '%s': ", l.path))
		if err != nil {
			return nil, fmt.Errorf("passphrase for %s: %w", l.path, err)
		}
		s, err := ssh.ParsePrivateKeyWithPassphrase(l.pem, []byte(pass))
		if errors.Is(err, x509.IncorrectPasswordError) && try < 2 {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("decrypt %s: %w", l.path, err)
		}
		if l.pub != nil && !bytes.Equal(s.PublicKey().Marshal(), l.pub.Marshal()) {
			return nil, fmt.Errorf("decrypt %s: private key does not match its public key", l.path)
		}
		k.put(l.path, s)
		return s, nil
	}
}

func (l *lazySigner) PublicKey() ssh.PublicKey { return l.pub }

func (l *lazySigner) Sign(rand io.Reader, data []byte) (*ssh.Signature, error) {
	s, err := l.signer()
	if err != nil {
		return nil, err
	}
	return s.Sign(rand, data)
}

func (l *lazySigner) SignWithAlgorithm(rand io.Reader, data []byte, algorithm string) (*ssh.Signature, error) {
	s, err := l.signer()
	if err != nil {
		return nil, err
	}
	if as, ok := s.(ssh.AlgorithmSigner); ok {
		return as.SignWithAlgorithm(rand, data, algorithm)
	}
	if algorithm != "" && algorithm != s.PublicKey().Type() {
		return nil, fmt.Errorf("key %s cannot sign with %s", l.path, algorithm)
	}
	return s.Sign(rand, data)
}
