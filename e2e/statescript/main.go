// Command statescript prints the state-reading script scalestore runs on a
// host of the given role (storage|client), for the e2e test's captures.
package main

import (
	"fmt"
	"os"

	"scalestore/steps"
)

func main() { fmt.Print(steps.StateScript(os.Args[1]).String()) }
