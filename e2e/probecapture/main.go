// Command probecapture prints the shell script that captures, on a lab
// host, what the plan's probes read there (see probecapture.sh), with the
// role's packages as the lab's spec installs them (its fence agent's too)
// and the storage half's resource filled in:
//
//	go run ./e2e/probecapture storage r1
//	go run ./e2e/probecapture client
package main

import (
	_ "embed"
	"fmt"
	"os"

	"scalestore/config"
	"scalestore/remote"
	"scalestore/steps"
)

//go:embed probecapture.sh
var script string

func main() {
	if len(os.Args) < 2 || (os.Args[1] != "storage" && os.Args[1] != "client") {
		fmt.Fprintln(os.Stderr, "usage: probecapture storage RESOURCE | client")
		os.Exit(2)
	}
	role, res := os.Args[1], ""
	if role == "storage" {
		if len(os.Args) != 3 {
			fmt.Fprintln(os.Stderr, "probecapture storage: name the half's DRBD resource (r1)")
			os.Exit(2)
		}
		res = os.Args[2]
	}
	// run from the repository's top, as make e2e does
	spec, err := config.Load("lab/lab-join.toml")
	if err != nil {
		fmt.Fprintln(os.Stderr, "probecapture:", err)
		os.Exit(1)
	}
	fmt.Printf("ROLE=%s; R=%s; PKGS=%s\n%s", role, remote.Quote(res), remote.Quote(remote.Join(steps.HostPackages(spec, role)...)), script)
}
