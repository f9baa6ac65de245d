package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Save validates the spec and writes it to path atomically (a temporary file
// renamed over it), keeping the previous file as path + ".bak"; a new file
// is created 0600, one saved again keeps its mode (see writeAtomic).
func (s *Spec) Save(path string) error {
	if err := s.Validate(); err != nil {
		return err
	}
	data, err := s.Render()
	if err != nil {
		return err
	}
	// What is saved must load back as the same cluster.
	if _, err := Parse(path, data); err != nil {
		return fmt.Errorf("the spec as saved does not load back: %w", err)
	}
	return writeAtomic(path, data)
}

// NextPairID is the id a new pair gets: one more than the largest in use.
func (s *Spec) NextPairID() int {
	next := 0
	for _, p := range s.Pairs {
		if p.Num() >= next {
			next = p.Num() + 1
		}
	}
	return next
}

// writeAtomic replaces path with data, keeping the previous file as
// path.bak. Each is written to a temporary file in the same directory and
// renamed into place, so a reader never sees half a spec and a symlink
// planted at either name is replaced, never written through. A spec saved
// again keeps its mode (and .bak gets it too); a new one is created 0600,
// whatever the umask: it names every host, how to reach it over SSH and the
// fence agent's options, which only its owner needs to read.
func writeAtomic(path string, data []byte) error {
	mode := os.FileMode(0o600)
	old, fi, err := readWithInfo(path)
	switch {
	case err == nil:
		mode = fi.Mode().Perm()
		if err := replaceFile(path+".bak", old, mode); err != nil {
			return fmt.Errorf("keep the old spec as %s.bak: %w", path, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("save spec: %w", err)
	}
	if err := replaceFile(path, data, mode); err != nil {
		return fmt.Errorf("save spec: %w", err)
	}
	return nil
}

func readWithInfo(path string) ([]byte, fs.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	return data, fi, nil
}

// replaceFile writes data with mode to a new temporary file beside path and
// renames it over path (rename replaces a symlink itself, not its target).
func replaceFile(path string, data []byte, mode fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".scalestore-*.toml")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
