package checks

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// Print keeps its columns aligned whatever the host names' length (here
// 21 characters), and a hint stays indented under its message.
func TestPrintColumnsAlignWithALongHostName(t *testing.T) {
	rs := []Result{
		{Check: "ssh", Host: "storage0a", Status: Pass, Msg: "root login works"},
		{Check: "disk", Host: "storage-long-name-0a1", Status: Fail, Msg: "/dev/sdb is not blank: ext4 signature", Hint: "name it under [wipe] to let apply overwrite it"},
		{Check: "pair sizes", Status: Warn, Msg: "r0: halves differ by 2 GiB", Hint: "the smaller half sets r0's size"},
		{Check: "packages", Host: "client0", Status: Pass, Msg: "installed: drbd-utils", Hint: "a passed check's hint is not shown"},
		{Check: "mount point", Host: "client1", Status: Unknown, Msg: "could not read its state"},
	}
	var b bytes.Buffer
	Print(&b, rs)
	want, err := os.ReadFile("testdata/print.golden")
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("Print wrote:\n%s\nwant (testdata/print.golden):\n%s", b.String(), want)
	}
	// what a reader sees: each message starts in one column
	col := -1
	for _, l := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		i := strings.Index(l, "root login works")
		for _, m := range []string{"/dev/sdb", "r0:", "-> ", "installed:", "could not"} {
			if j := strings.Index(l, m); j >= 0 {
				i = j
			}
		}
		if col == -1 {
			col = i
		}
		if i != col {
			t.Errorf("line %q: its message starts at column %d, the first line's at %d", l, i, col)
		}
	}
}
