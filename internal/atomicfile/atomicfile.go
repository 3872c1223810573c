// Package atomicfile writes files so that a reader sees either the old file
// or the complete new one, never a half-written one.
package atomicfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Write writes dest through a temporary file in the same directory and renames
// it into place only if write returns nil and the data reaches the disk.
func Write(dest string, perm os.FileMode, write func(io.Writer) error) (err error) {
	if fi, statErr := os.Stat(dest); statErr == nil && fi.IsDir() {
		return fmt.Errorf("%s is a directory", dest)
	}
	f, err := os.CreateTemp(filepath.Dir(filepath.Clean(dest)), "."+filepath.Base(dest)+".tmp-*")
	if err != nil {
		return fmt.Errorf("creating %s: %w", dest, err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if err = write(f); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", dest, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", dest, err)
	}
	if err = os.Chmod(f.Name(), perm); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), dest); err != nil {
		return fmt.Errorf("renaming into %s: %w", dest, err)
	}
	return nil
}

// WriteBytes is Write for data already in memory.
func WriteBytes(dest string, perm os.FileMode, data []byte) error {
	return Write(dest, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
