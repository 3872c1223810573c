package image

import "errors"

// Limits on what reading one layer may cost, shared by every stage that
// reads layers (cataloging, the secrets scan). A layer past them is an
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
