package steps

import (
	"regexp"
	"strconv"
)

// holdsWith runs a probe on the stub host as holds does, with the file
// tests (test -e, -d, -b) of the given paths answered as the built or blank
// host has them: sysfs and device nodes that no listing shows and this
// machine does not have.
func (h *stubHost) holdsWith(script string, paths map[string]bool) bool {
	for path, there := range paths {
		re := regexp.MustCompile(`test -[bde] '?` + regexp.QuoteMeta(path) + `'?(\s|$)`)
		script = re.ReplaceAllString(script, strconv.FormatBool(there)+"$1")
	}
	return h.holds(script)
}
