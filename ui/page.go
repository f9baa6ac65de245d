package ui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// page is one screen of the wizard, as the app sees it (soft-serve's
// pages). Each of the nine screens is a pointer to its model and changes in
// place; the app talks to the one on show only through these methods, and
// a screen talks back only with messages (backMsg, hostsDoneMsg, …), never
// by reaching into the app.
type page interface {
	// update takes a message meant for the screen.
	update(msg tea.Msg) tea.Cmd
	// view draws the screen's body in width x height cells; a body taller
	// than height is scrolled by the app.
	view(width, height int) string
	// setSize tells the screen the room its body has.
	setSize(width, height int)
	// help lists every key update handles; those with a help text are shown
	// in the key-hint bar.
	help() []key.Binding
}

// page is the screen on show.
func (a *app) page() page {
	return [...]page{a.welcome, a.hosts, a.discover, a.pairs, a.settings, a.preflight, a.review, a.run, a.done}[a.screen]
}
