package sbom

import (
	"archive/tar"
	"fmt"
	"io"
	"sync"

	"github.com/sealyard/sealyard/pipelines/image"
)

// The layer limits are the image package's, shared with the secrets scan.
const (
	DefaultMaxLayerBytes   = image.DefaultMaxLayerBytes
	DefaultMaxLayerEntries = image.DefaultMaxLayerEntries
	MaxLayers              = image.MaxLayers
)

// ErrLayerLimit is wrapped when a layer exceeds a limit.
var ErrLayerLimit = image.ErrLayerLimit

// limitedReader passes a layer's uncompressed tar stream through, counting
// bytes and tar entries (a second reader parses the headers from a copy of
// the stream), and fails once either is past its limit. The sizes the
// headers declare count too: a sparse file is a few bytes of tar that
// read back as gigabytes of holes.
type limitedReader struct {
	rc       io.ReadCloser
	what     string
	maxBytes int64
	n        int64

	pw       *io.PipeWriter
	mu       sync.Mutex
	entries  int
	declared int64
	tarErr   error
	done     chan struct{}
	max      int
}

func newLimitedReader(rc io.ReadCloser, what string, maxBytes int64, maxEntries int) io.ReadCloser {
	pr, pw := io.Pipe()
	l := &limitedReader{rc: rc, what: what, maxBytes: maxBytes, pw: pw, done: make(chan struct{}), max: maxEntries}
	go func() {
		defer close(l.done)
		tr := tar.NewReader(pr)
		for {
			h, err := tr.Next()
			if err != nil {
				io.Copy(io.Discard, pr)
				return
			}
			l.mu.Lock()
			l.entries++
			if h.Typeflag == tar.TypeReg && h.Size > 0 {
				l.declared += h.Size
			}
			switch {
			case l.entries > l.max:
				l.tarErr = fmt.Errorf("%w: %s holds more than %d files", ErrLayerLimit, l.what, l.max)
			case h.Size < 0 || l.declared > l.maxBytes || l.declared < 0:
				l.tarErr = fmt.Errorf("%w: the files of %s declare more than %d bytes uncompressed (at %q, a file of %d bytes)", ErrLayerLimit, l.what, l.maxBytes, h.Name, h.Size)
			}
			stop := l.tarErr != nil
			l.mu.Unlock()
			if stop {
				io.Copy(io.Discard, pr)
				return
			}
		}
	}()
	return l
}

func (l *limitedReader) err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tarErr
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if err := l.err(); err != nil {
		return 0, err
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
		if err := l.err(); err != nil {
			return n, err
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
