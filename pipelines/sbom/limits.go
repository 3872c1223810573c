package sbom

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Limits on what one layer may cost to catalog. A layer past them is an
// error naming the layer, not a disk filled or a machine swapped out.
const (
	// DefaultMaxLayerBytes bounds a layer's uncompressed size: a
	// decompression bomb (a megabyte of gzip that inflates to gigabytes
	// of zeros) stops here.
	DefaultMaxLayerBytes int64 = 8 << 30
	// DefaultMaxLayerEntries bounds the files of one layer.
	DefaultMaxLayerEntries = 500_000
	// MaxLayers bounds the layers of one image (Docker's overlay storage
	// stops at 127; this leaves room, and stops absurd ones).
	MaxLayers = 1000
)

// ErrLayerLimit is wrapped when a layer exceeds a limit.
var ErrLayerLimit = errors.New("layer over a limit")

// limitedReader passes a layer's uncompressed tar stream through, counting
// bytes and tar entries (a second reader parses the headers from a copy of
// the stream), and fails once either is past its limit.
type limitedReader struct {
	rc       io.ReadCloser
	what     string
	maxBytes int64
	n        int64

	pw      *io.PipeWriter
	mu      sync.Mutex
	entries int
	tarErr  error
	done    chan struct{}
	max     int
}

func newLimitedReader(rc io.ReadCloser, what string, maxBytes int64, maxEntries int) io.ReadCloser {
	pr, pw := io.Pipe()
	l := &limitedReader{rc: rc, what: what, maxBytes: maxBytes, pw: pw, done: make(chan struct{}), max: maxEntries}
	go func() {
		defer close(l.done)
		tr := tar.NewReader(pr)
		for {
			if _, err := tr.Next(); err != nil {
				io.Copy(io.Discard, pr)
				return
			}
			l.mu.Lock()
			l.entries++
			over := l.entries > l.max
			l.mu.Unlock()
			if over {
				io.Copy(io.Discard, pr)
				return
			}
		}
	}()
	return l
}

func (l *limitedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	entries := l.entries
	l.mu.Unlock()
	if entries > l.max {
		return 0, fmt.Errorf("%w: %s holds more than %d files", ErrLayerLimit, l.what, l.max)
	}
	n, err := l.rc.Read(p)
	l.n += int64(n)
	if l.n > l.maxBytes {
		return n, fmt.Errorf("%w: %s expands past %d bytes uncompressed (a decompression bomb?)", ErrLayerLimit, l.what, l.maxBytes)
	}
	if n > 0 {
		l.pw.Write(p[:n])
	}
	if err == io.EOF {
		l.pw.Close()
		<-l.done
		l.mu.Lock()
		entries = l.entries
		l.mu.Unlock()
		if entries > l.max {
			return n, fmt.Errorf("%w: %s holds more than %d files", ErrLayerLimit, l.what, l.max)
		}
	}
	return n, err
}

func (l *limitedReader) Close() error {
	l.pw.CloseWithError(io.ErrClosedPipe)
	err := l.rc.Close()
	<-l.done
	return err
}
