package secrets

import (
	"bytes"
	"context"
	"runtime"
	"sync"

	"github.com/h2non/filetype"
)

// pool runs gitleaks over files on every core while one reader (a layer's
// tar stream, a directory walk) feeds it. Each worker has its own
// detector. Files wait in a queue as long as the pool has workers, so at
// most about twice that many files are held in memory at once.
type pool struct {
	jobs chan job
	wg   sync.WaitGroup
	mu   sync.Mutex
	err  error
}

// job is one file's contents and where its findings go.
type job struct {
	path string
	data []byte
	add  func([]Finding)
}

func startPool(ctx context.Context, opts Options) (*pool, error) {
	n := runtime.GOMAXPROCS(0)
	p := &pool{jobs: make(chan job, n)}
	for range n {
		s, err := newScanner(ctx, opts)
		if err != nil {
			close(p.jobs)
			p.wg.Wait()
			return nil, err
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for j := range p.jobs {
				found, err := s.file(ctx, j.path, bytes.NewReader(j.data))
				if err != nil {
					p.fail(err)
					continue
				}
				j.add(found)
			}
		}()
	}
	return p, nil
}

func (p *pool) fail(err error) {
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.mu.Unlock()
}

// submit queues a file, unless it is a binary (an executable, an archive,
// an image: what gitleaks' file source skips by its first bytes); it
// reports whether the file was queued.
func (p *pool) submit(path string, data []byte, add func([]Finding)) bool {
	head := data[:min(len(data), 262)]
	if t, err := filetype.Match(head); err == nil && t.MIME.Type == "application" {
		return false
	}
	p.jobs <- job{path: path, data: data, add: add}
	return true
}

// wait finishes the queued files and returns the first error.
func (p *pool) wait() error {
	close(p.jobs)
	p.wg.Wait()
	return p.err
}
