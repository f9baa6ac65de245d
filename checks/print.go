package checks

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// Print writes the results as text in aligned columns (status, host,
// check, message), however long the host names; a failed or warned
// check's hint follows on its own line, under the message.
func Print(w io.Writer, rs []Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range rs {
		host := r.Host
		if host == "" {
			host = "cluster"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Status, host, r.Check, r.Msg)
		if r.Hint != "" && r.Status != Pass {
			fmt.Fprintf(tw, "\t\t\t-> %s\n", r.Hint)
		}
	}
	tw.Flush()
}
