package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
)

// The tests run this test binary as the program to drive: with
// WIZARDDRIVE_FAKE set it is a small bubbletea program (the wizard's own
// library) that shows its terminal's size, the text typed so far and the
// name bubbletea gives the last key. ctrl+c ends it with status 0; with
// WIZARDDRIVE_FAKE=exit3 it prints a line and ends at once with status 3.
func TestMain(m *testing.M) {
	switch os.Getenv("WIZARDDRIVE_FAKE") {
	case "":
		rc := m.Run()
		if builtBin != "" {
			os.RemoveAll(filepath.Dir(builtBin))
		}
		os.Exit(rc)
	case "exit3":
		fmt.Println("going away")
		os.Exit(3)
	default:
		if _, err := tea.NewProgram(fakeModel{}).Run(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

type fakeModel struct {
	w, h int
	text string
	last string
	keys int
}

func (m fakeModel) Init() tea.Cmd { return nil }

func (m fakeModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
	case tea.KeyPressMsg:
		m.keys++
		m.last = msg.String()
		if msg.String() == "ctrl+c" {
			return m, tea.Quit
		}
		if t := msg.Key().Text; t != "" {
			m.text += t
		}
	}
	return m, nil
}

func (m fakeModel) View() tea.View {
	v := tea.NewView(fmt.Sprintf("fake ready\nsize: %dx%d\ntext: %s\nlast key #%d: %s\nrun log: /var/log/fake-%d.jsonl\n",
		m.w, m.h, m.text, m.keys, m.last, m.keys))
	v.AltScreen = true
	return v
}

// fakeCmd is the command line that runs the fake.
func fakeCmd(t *testing.T, mode string) []string {
	t.Helper()
	t.Setenv("WIZARDDRIVE_FAKE", mode)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return []string{exe}
}

// drive writes script to a file and runs wizarddrive with flags on it and
// cmd; it returns the exit status and what wizarddrive printed.
func drive(t *testing.T, script string, flags []string, cmd []string) (int, string) {
	t.Helper()
	path := t.TempDir() + "/script.txt"
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	args := append(append(append([]string{}, flags...), path, "--"), cmd...)
	rc := run(args, &out)
	return rc, strings.ReplaceAll(out.String(), path, "script.txt")
}

// keyCount is the regexp of the fake's line after its n-th key.
func keyCount(n int, name string) string {
	return "/last key #" + strconv.Itoa(n) + ": " + name + "$/"
}
