package ui

import (
	"context"
	"errors"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
)

// errPromptCancelled is the answer when the operator cancels a question.
var errPromptCancelled = errors.New("cancelled by the operator")

// promptMsg is a question from the SSH layer (remote.Prompter) waiting for
// the operator: a password or passphrase, or an unknown host key to trust.
type promptMsg struct {
	hostKey     bool
	host        string
	prompt      string // secret: what is asked, e.g. "root@storage0a's password: "
	address     string // host key: host:port
	keyType     string
	fingerprint string // "SHA256:…"
	reply       chan promptAnswer
}

type promptAnswer struct {
	secret string
	trust  bool
	err    error
}

// prompter is the remote.Prompter of the wizard: it hands each question to
// the tea program through a channel and waits for the answer. The answer
// goes straight back to the SSH layer; the wizard keeps no copy.
type prompter struct {
	ch chan promptMsg
}

func newPrompter() *prompter { return &prompter{ch: make(chan promptMsg)} }

func (p *prompter) ask(ctx context.Context, q promptMsg) (promptAnswer, error) {
	q.reply = make(chan promptAnswer, 1)
	select {
	case p.ch <- q:
	case <-ctx.Done():
		return promptAnswer{}, ctx.Err()
	}
	select {
	case a := <-q.reply:
		return a, a.err
	case <-ctx.Done():
		return promptAnswer{}, ctx.Err()
	}
}

// Secret asks for a password or passphrase in a masked field.
func (p *prompter) Secret(ctx context.Context, host, prompt string) (string, error) {
	a, err := p.ask(ctx, promptMsg{host: host, prompt: prompt})
	return a.secret, err
}

// ConfirmHostKey shows an unknown host key's fingerprint; only an explicit
// key press trusts it.
func (p *prompter) ConfirmHostKey(ctx context.Context, host, address, keyType, fingerprint string) (bool, error) {
	a, err := p.ask(ctx, promptMsg{hostKey: true, host: host, address: address, keyType: keyType, fingerprint: fingerprint})
	return a.trust, err
}

// waitPrompt delivers the next question to the program.
func waitPrompt(ctx context.Context, ch chan promptMsg) tea.Cmd {
	return func() tea.Msg {
		select {
		case q := <-ch:
			return q
		case <-ctx.Done():
			return nil
		}
	}
}

// promptModel is the modal dialog of one question.
type promptModel struct {
	q     promptMsg
	input textinput.Model
	done  bool
}

var (
	keyTrust  = key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "trust this key"))
	keyRefuse = key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n/esc", "refuse"))
	keySend   = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "send"))
	keyCancel = key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel"))
)

func newPromptModel(q promptMsg) promptModel {
	in := textinput.New()
	in.EchoMode = textinput.EchoPassword
	in.EchoCharacter = '•'
	in.Prompt = "> "
	in.SetWidth(40)
	m := promptModel{q: q, input: in}
	if !q.hostKey {
		m.input.Focus()
	}
	return m
}

func (m promptModel) answer(a promptAnswer) promptModel {
	m.q.reply <- a
	m.input.SetValue("") // keep no copy of a secret
	m.done = true
	return m
}

func (m promptModel) Update(msg tea.Msg) (promptModel, tea.Cmd) {
	k, isKey := msg.(tea.KeyPressMsg)
	if m.q.hostKey {
		if isKey {
			switch {
			case key.Matches(k, keyTrust):
				return m.answer(promptAnswer{trust: true}), nil
			case key.Matches(k, keyRefuse), k.String() == "ctrl+c":
				return m.answer(promptAnswer{trust: false}), nil
			}
		}
		return m, nil
	}
	if isKey {
		switch {
		case key.Matches(k, keySend):
			return m.answer(promptAnswer{secret: m.input.Value()}), nil
		case key.Matches(k, keyCancel), k.String() == "ctrl+c":
			return m.answer(promptAnswer{err: errPromptCancelled}), nil
		}
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	return m, cmd
}

func (m promptModel) help() []key.Binding {
	if m.q.hostKey {
		return []key.Binding{keyTrust, keyRefuse}
	}
	return []key.Binding{keySend, keyCancel, keyFormMoves} // the field moves with the arrows, home and end
}

func (m promptModel) View(width int) string {
	var b strings.Builder
	w := min(max(width-6, 30), 76)
	if m.q.hostKey {
		b.WriteString(styleTitle.Render("Unknown host key: "+m.q.host) + "\n\n")
		b.WriteString(wrap("known_hosts has no key for "+m.q.host+" ("+m.q.address+"). The server presented this "+m.q.keyType+" key:", w) + "\n\n")
		b.WriteString("  " + styleBold.Render(m.q.fingerprint) + "\n\n")
		b.WriteString(wrap("Compare it with the host's own (ssh-keygen -lf /etc/ssh/ssh_host_"+keyFile(m.q.keyType)+"_key.pub on its console). "+
			"Press y to trust it and add it to known_hosts; n refuses and the host is not contacted.", w))
	} else {
		b.WriteString(styleTitle.Render("Password needed: "+m.q.host) + "\n\n")
		b.WriteString(wrap(strings.TrimSpace(m.q.prompt), w) + "\n")
		b.WriteString(m.input.View() + "\n\n")
		b.WriteString(styleDim.Render(wrap("Typed characters are hidden. The answer goes to the SSH connection only: it is never shown, logged or saved.", w)))
	}
	return styleModal.Width(w + 4).Render(b.String())
}

// keyFile names the host key file of a key type (ssh-ed25519 → ed25519).
func keyFile(keyType string) string {
	switch {
	case strings.Contains(keyType, "ed25519"):
		return "ed25519"
	case strings.Contains(keyType, "ecdsa"):
		return "ecdsa"
	case strings.Contains(keyType, "rsa"):
		return "rsa"
	}
	return "*"
}
