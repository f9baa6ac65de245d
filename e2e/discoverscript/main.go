// Command discoverscript prints the discovery script scalestore runs on a
// host (role storage|client, then its backing disks), for the e2e captures.
package main

import (
	"fmt"
	"os"

	"scalestore/steps"
)

func main() {
	fmt.Print(steps.DiscoverScript(steps.DiscoverModules(os.Args[1], "debian12"), os.Args[2:]).String())
}
