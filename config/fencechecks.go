package config

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// FenceChecksPath is where this machine remembers the fence checks that
// passed for a cluster (which host read which target's power status through
// the agent, with which options, when).
func FenceChecksPath(cluster string) (string, error) {
	dir, err := StateDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "fence-checks", cluster+".tsv"), nil
}

// LoadFenceChecks reads them: key ("host\ttarget\toptions-hash") → when.
// No file is no checks; a line it cannot read is left out.
func LoadFenceChecks(cluster string) (map[string]time.Time, error) {
	path, err := FenceChecksPath(cluster)
	if err != nil {
		return nil, err
	}
	out := map[string]time.Time{}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the fence checks: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) != 4 {
			continue
		}
		sec, err := strconv.ParseInt(fields[3], 10, 64)
		if err != nil {
			continue
		}
		out[strings.Join(fields[:3], "\t")] = time.Unix(sec, 0)
	}
	return out, sc.Err()
}

// SaveFenceChecks writes them (replacing the file at once).
func SaveFenceChecks(cluster string, checks map[string]time.Time) error {
	path, err := FenceChecksPath(cluster)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("save the fence checks: %w", err)
	}
	var b strings.Builder
	for k, at := range checks {
		if strings.Count(k, "\t") != 2 || strings.ContainsAny(k, "\n") {
			continue
		}
		fmt.Fprintf(&b, "%s\t%d\n", k, at.Unix())
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("save the fence checks: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("save the fence checks: %w", err)
	}
	return nil
}
