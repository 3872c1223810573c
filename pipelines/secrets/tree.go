package secrets

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ScanPaths scans files and directory trees, as a pre-commit hook or a CI
// job sees a checkout before anything is built. Directories are walked
// without following symbolic links; .git directories are skipped.
func ScanPaths(ctx context.Context, paths []string, opts Options) (*Report, error) {
	s, err := newScanner(ctx, opts)
	if err != nil {
		return nil, err
	}
	n, _ := RuleCount()
	r := &Report{Schema: Schema, Target: strings.Join(paths, " "), Kind: "tree", RuleSet: RuleSet, Rules: n}
	scanFile := func(path string, info fs.FileInfo) error {
		if !info.Mode().IsRegular() || info.Size() > opts.maxFile() {
			r.Scanned.Skipped++
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		found, err := s.file(ctx, filepath.ToSlash(path), f)
		if err != nil {
			return err
		}
		r.Scanned.Files++
		r.Scanned.Bytes += info.Size()
		r.Findings = append(r.Findings, found...)
		return nil
	}
	for _, root := range paths {
		info, err := os.Lstat(root)
		if err != nil {
			return nil, fmt.Errorf("secrets: %w", err)
		}
		if !info.IsDir() {
			if err := scanFile(filepath.Clean(root), info); err != nil {
				return nil, fmt.Errorf("secrets: %w", err)
			}
			continue
		}
		err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if d.IsDir() {
				if d.Name() == ".git" && path != root {
					return filepath.SkipDir
				}
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			return scanFile(path, info)
		})
		if err != nil {
			return nil, fmt.Errorf("secrets: %w", err)
		}
	}
	finish(r, opts.Allow)
	return r, nil
}
