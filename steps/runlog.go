package steps

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"scalestore/config"
)

// OpenRunLog creates a run's event log, one JSON event a line, under the
// state directory: logs/CLUSTER-DATE-TIME-PID.jsonl.
func OpenRunLog(cluster string) (*os.File, string, error) {
	dir, err := config.StateDir()
	if err != nil {
		return nil, "", fmt.Errorf("run log: %w", err)
	}
	dir = filepath.Join(dir, "logs")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", fmt.Errorf("run log: %w", err)
	}
	p := filepath.Join(dir, fmt.Sprintf("%s-%s-%d.jsonl", cluster, time.Now().Format("20060102-150405"), os.Getpid()))
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		return nil, "", fmt.Errorf("run log: %w", err)
	}
	return f, p, nil
}
