package secrets

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// ScanPaths scans files and directory trees, as a pre-commit hook or a CI
// job sees a checkout before anything is built. Directories are walked
// without following symbolic links; .git directories are skipped.
func ScanPaths(ctx context.Context, paths []string, opts Options) (*Report, error) {
	pl, err := startPool(ctx, opts)
	if err != nil {
		return nil, err
	}
	n, _ := RuleCount()
	r := &Report{Schema: Schema, Target: strings.Join(paths, " "), Kind: "tree", RuleSet: RuleSet, Rules: n}
	var mu sync.Mutex
	add := func(found []Finding) {
		mu.Lock()
		r.Findings = append(r.Findings, found...)
		mu.Unlock()
	}
	scanFile := func(path string, info fs.FileInfo) error {
		if !info.Mode().IsRegular() || info.Size() > opts.maxFile() {
			r.Scanned.Skipped++
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !pl.submit(filepath.ToSlash(path), data, add) {
			r.Scanned.Skipped++
			return nil
		}
		r.Scanned.Files++
		r.Scanned.Bytes += int64(len(data))
		return nil
	}
	walkErr := walk(ctx, paths, scanFile)
	if err := pl.wait(); walkErr == nil && err != nil {
		walkErr = err
	}
	if walkErr != nil {
		return nil, fmt.Errorf("secrets: %w", walkErr)
	}
	finish(r, opts.Allow)
	return r, nil
}

// walk calls scanFile for every file of paths, directories walked without
// following links and without their .git directories.
func walk(ctx context.Context, paths []string, scanFile func(string, fs.FileInfo) error) error {
	for _, root := range paths {
		info, err := os.Lstat(root)
		if err != nil {
			return err
		}
		if !info.IsDir() {
			if err := scanFile(filepath.Clean(root), info); err != nil {
				return err
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
			return err
		}
	}
	return nil
}
