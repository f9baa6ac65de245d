package ui

import (
	"errors"
	"strings"
	"testing"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"scalestore/checks"
)

// testKeys are the keys an operator may press on any screen.
var testKeys = func() []string {
	ks := []string{"enter", "esc", "tab", "shift+tab", "up", "down", "pgup", "pgdown", "home", "end", "space", "backspace"}
	for c := 'a'; c <= 'z'; c++ {
		ks = append(ks, string(c))
	}
	return ks
}()

// Every key a screen acts on (it returns a command or its screen changes)
// is in the screen's help(), so the app knows which keys are the screen's
// and the key-hint bar can tell them. Each screen is tried in the states
// its keys change with; the forms' fields take every printable key as
// text, so only their other keys are tried.
func TestHelpListsEveryKeyAScreenHandles(t *testing.T) {
	s, plan := growPlan(t)
	lab := labFacts(t)
	names := []string{"storage0a", "storage0b", "client0", "client1"}
	results := checks.Preflight(onePairSpec("x.toml"), lab)
	failed := append([]checks.Result{{Check: "disk /dev/vdb", Host: "storage0b", Status: checks.Fail, Msg: "in use"}}, results...)
	discovered := func(errs bool) func() page {
		return func() page {
			m := newDiscoverModel(names, time.Now)
			for _, n := range names {
				m.facts[n] = lab.Hosts[n]
			}
			if errs {
				delete(m.facts, "client1")
				m.errs["client1"] = errors.New("connect to client1: connection refused")
			}
			return m
		}
	}
	pairs := func(picking bool) func() page {
		return func() page {
			m := newPairsModel(onePairSpec("x.toml"), lab, false, names)
			if picking {
				m.openPicker("storage0a")
			}
			return m
		}
	}
	preflight := func(rs []checks.Result) func() page {
		return func() page {
			m := newPreflightModel(onePairSpec("x.toml"), false, 78)
			m.setSize(78, 8) // the results do not fit: they scroll
			m.update(preflightResultMsg{facts: lab, results: rs})
			return m
		}
	}
	review := func(full bool) func() page {
		return func() page {
			m := newReviewModel(reviewInput{plan: plan, spec: s, path: "grow.toml"}, 78, 20)
			if full {
				m.update(press("p"))
			}
			return m
		}
	}
	run := func(state string) func() page {
		return func() page {
			m := newRunModel(plan, 78, 20)
			for i := 1; i <= 200; i++ {
				m.update(engineEventMsg{seqLine(i)})
			}
			switch state {
			case "asking":
				m.update(press("ctrl+c"))
			case "stopping":
				m.update(press("ctrl+c"))
				m.update(press("y"))
			case "finished":
				m.update(runFinishedMsg{})
			}
			return m
		}
	}
	done := func(checking bool) func() page {
		return func() page {
			m := newDoneModel(s, runOutcome{}, nil, "grow.toml", 78)
			m.checking = checking
			return m
		}
	}
	screens := map[string]func() page{
		"welcome, new cluster": func() page { return newWelcome("x.toml", nil, nil) },
		"welcome, a spec":      func() page { return newWelcome("grow.toml", s, nil) },
		"welcome, a bad spec":  func() page { return newWelcome("bad.toml", nil, errors.New("bad.toml:1: cluster.name: missing")) },
		"hosts":                func() page { return newHostsModel(onePairSpec("x.toml"), false, 78) },
		"hosts, adding":        func() page { return newHostsModel(s, true, 78) },
		"discovery":            discovered(false),
		"discovery, a failure": discovered(true),
		"pairs":                pairs(false),
		"pairs, disk picker":   pairs(true),
		"settings":             func() page { return newSettingsModel(onePairSpec("x.toml"), 78) },
		"preflight":            preflight(results),
		"preflight, a failure": preflight(failed),
		"review":               review(false),
		"review, full plan":    review(true),
		"run":                  run(""),
		"run, asking to stop":  run("asking"),
		"run, stopping":        run("stopping"),
		"run, finished":        run("finished"),
		"done, postflight":     done(true),
		"done":                 done(false),
	}
	for name, make := range screens {
		form := strings.HasPrefix(name, "hosts") || name == "settings"
		for _, k := range testKeys {
			if form && len(k) == 1 || form && k == "space" {
				continue
			}
			p := make()
			p.setSize(78, 20)
			before := p.view(78, 20)
			cmd := p.update(press(k))
			if cmd == nil && p.view(78, 20) == before {
				continue // not a key of this screen
			}
			if !listed(p, press(k)) && !listed(make(), press(k)) {
				t.Errorf("%s: %q does something, but help() does not list it", name, k)
			}
		}
	}
}

// listed reports whether a screen's help lists k.
func listed(p page, k tea.KeyPressMsg) bool {
	for _, b := range p.help() {
		if key.Matches(k, b) {
			return true
		}
	}
	return false
}
