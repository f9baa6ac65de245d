package ui

import (
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/huh/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// The wizard's colours: one accent, and the three verdict colours. Text
// that matters never depends on colour alone: every verdict also has a word
// or a symbol ("pass", "warn", "FAIL", ✓, !, ✗), so the screens read the
// same in a terminal without colour and in the golden files.
var (
	colAccent = lipgloss.Color("#7D56F4")
	colPass   = lipgloss.Color("#3FB950")
	colWarn   = lipgloss.Color("#D29922")
	colFail   = lipgloss.Color("#F85149")
	colDim    = lipgloss.Color("#8B949E")
	colText   = lipgloss.Color("#E6EDF3")
)

var (
	styleApp      = lipgloss.NewStyle().Padding(0, 1)
	styleBrand    = lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("#FFFFFF")).Background(colAccent).Padding(0, 1)
	styleTitle    = lipgloss.NewStyle().Bold(true).Foreground(colAccent)
	styleCrumb    = lipgloss.NewStyle().Foreground(colDim)
	styleCrumbNow = lipgloss.NewStyle().Bold(true).Foreground(colText)
	styleDim      = lipgloss.NewStyle().Foreground(colDim)
	styleBold     = lipgloss.NewStyle().Bold(true)
	stylePass     = lipgloss.NewStyle().Foreground(colPass)
	styleWarn     = lipgloss.NewStyle().Foreground(colWarn)
	styleFail     = lipgloss.NewStyle().Foreground(colFail)
	styleDanger   = lipgloss.NewStyle().Bold(true).Foreground(colFail)
	styleSelected = lipgloss.NewStyle().Bold(true).Foreground(colAccent)
	styleKey      = lipgloss.NewStyle().Bold(true).Foreground(colAccent)
	styleWarnBox  = lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(colWarn).Padding(0, 1)
	styleFailBox  = lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(colFail).Padding(0, 1)
	styleModal    = lipgloss.NewStyle().Border(lipgloss.DoubleBorder()).BorderForeground(colAccent).Padding(0, 1)
	// stylePlaceholder is a form field's example, shown while it is empty
	stylePlaceholder = lipgloss.NewStyle().Foreground(colDim).Italic(true)
)

// helpModel is the key help at the bottom of every screen.
func helpModel() help.Model {
	h := help.New()
	h.Styles = help.DefaultStyles(true)
	h.Styles.ShortKey = styleKey
	return h
}

// formTheme is huh's theme for the wizard's forms.
func formTheme() huh.Theme {
	return huh.ThemeFunc(func(isDark bool) *huh.Styles {
		t := huh.ThemeCharm(isDark)
		t.Focused.Title = t.Focused.Title.Foreground(colAccent)
		t.Focused.ErrorMessage = t.Focused.ErrorMessage.Foreground(colFail)
		t.Focused.ErrorIndicator = t.Focused.ErrorIndicator.Foreground(colFail)
		t.Blurred.ErrorMessage = t.Blurred.ErrorMessage.Foreground(colFail)
		// a placeholder is an example: dim and slanted, never like typed text
		t.Focused.TextInput.Placeholder = stylePlaceholder
		t.Blurred.TextInput.Placeholder = stylePlaceholder
		return t
	})
}

// plain strips colours and other escape sequences (the golden files hold
// the text a person sees).
func plain(s string) string { return ansi.Strip(s) }

// truncate cuts a line to w cells with an ellipsis.
func truncate(s string, w int) string {
	if w <= 0 {
		return ""
	}
	return ansi.Truncate(s, w, "…")
}

// wrap wraps text to w cells.
func wrap(s string, w int) string {
	if w < 20 {
		w = 20
	}
	return ansi.Wrap(s, w, "")
}

// clipLines keeps the first n lines of s (n <= 0 keeps none).
func clipLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if n < 0 {
		n = 0
	}
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

// verdict renders a pass/warn/fail word with its colour and symbol.
func verdictPass(s string) string { return stylePass.Render("✓ " + s) }
func verdictWarn(s string) string { return styleWarn.Render("! " + s) }
func verdictFail(s string) string { return styleFail.Render("✗ " + s) }
