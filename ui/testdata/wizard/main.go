// Command wizard runs the wizard alone, for trying it in a terminal (tmux)
// before main.go calls it: go build -o /tmp/wizard ./ui/testdata/wizard
//
//	/tmp/wizard [SPEC]
package main

import (
	"context"
	"fmt"
	"os"

	"scalestore/ui"
)

func main() {
	o := ui.Options{}
	if len(os.Args) > 1 {
		o.SpecPath = os.Args[1]
	}
	if err := ui.Run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "wizard:", err)
		os.Exit(1)
	}
}
