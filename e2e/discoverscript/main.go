// Command discoverscript prints the discovery script scalestore runs on a
// host, for the e2e captures:
//
//	discoverscript [-peer ADDR:PORT] [-pkg EXTRA] [-mount DIR] storage|client [DISK...]
//
// -peer adds a replication peer to try, -pkg a package to ask about beyond
// the role's own.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"

	"scalestore/steps"
)

func main() {
	peer := flag.String("peer", "", "replication peer ADDR:PORT")
	pkg := flag.String("pkg", "", "one more package to ask about")
	mount := flag.String("mount", "", "the mount point to read (clients)")
	flag.Parse()
	role := flag.Arg(0)
	q := steps.Query{Profile: "debian12", Modules: steps.DiscoverModules(role, "debian12"), Disks: flag.Args()[1:],
		Packages: steps.Packages("debian12", role), MountPoint: *mount}
	if *pkg != "" {
		q.Packages = append(append([]string{}, q.Packages...), *pkg)
	}
	if *peer != "" {
		host, port, err := net.SplitHostPort(*peer)
		n, err2 := strconv.Atoi(port)
		if err != nil || err2 != nil {
			fmt.Fprintln(os.Stderr, "discoverscript: -peer wants ADDR:PORT")
			os.Exit(2)
		}
		q.Peers = []steps.Peer{{Addr: host, Port: n}}
	}
	fmt.Print(steps.DiscoverScript(q).String())
}
