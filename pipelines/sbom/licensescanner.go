package sbom

import (
	"context"
	"sync"

	"github.com/anchore/syft/syft"
)

// syft.CreateSBOM builds a license scanner (google/licensecheck's
// matcher over every SPDX license) for every call unless the context
// carries one: about a second of CPU and 100 MB, whatever the image. A
// process builds it once here, in the background from the first
// cataloging on, so it overlaps reading the layers, and every platform
// and command after that reuses it. syft keeps the scanner's type
// internal, so it cannot be built lazily, only early and once.
var licenseScanner struct {
	once sync.Once
	done chan struct{}
	ctx  context.Context // carries the scanner as a value
	err  error
}

// startLicenseScanner begins building the scanner if nothing has.
func startLicenseScanner() {
	licenseScanner.once.Do(func() {
		licenseScanner.done = make(chan struct{})
		go func() {
			defer close(licenseScanner.done)
			licenseScanner.ctx, licenseScanner.err = syft.SetContextLicenseScanner(context.Background(), Config("").Licenses)
		}()
	})
}

// withLicenseScanner returns ctx carrying the process's license scanner,
// waiting for it to be built.
func withLicenseScanner(ctx context.Context) (context.Context, error) {
	startLicenseScanner()
	select {
	case <-licenseScanner.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if licenseScanner.err != nil {
		return nil, licenseScanner.err
	}
	return valuesFrom{Context: ctx, values: licenseScanner.ctx}, nil
}

// valuesFrom is ctx with the values of another context beneath its own.
type valuesFrom struct {
	context.Context
	values context.Context
}

func (c valuesFrom) Value(key any) any {
	if v := c.Context.Value(key); v != nil {
		return v
	}
	return c.values.Value(key)
}
