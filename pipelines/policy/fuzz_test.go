package policy

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sealyard/sealyard/pipelines/facts"
)

// FuzzParseExceptions: any file is parsed or refused, never panics, and
// what parses names what it waives, has an owner, a reason and an expiry,
// and does not waive SY-EXC-001.
func FuzzParseExceptions(f *testing.F) {
	for _, s := range []string{
		"exceptions:\n  - vulnerability: GO-2021-0113\n    package: golang.org/x/text\n    reason: r\n    owner: o\n    expires: 2026-12-31\n",
		"exceptions:\n  - rule: SY-VULN-001\n    image: registry.example.com/app\n    reason: r\n    owner: o\n    expires: 2026-12-31T00:00:00Z\n",
		"exceptions:\n  - image: x\n    reason: r\n    owner: o\n    expires: 2026-12-31\n",
		"exceptions:\n  - rule: SY-EXC-001\n    reason: r\n    owner: o\n    expires: 2026-12-31\n",
		"exceptions: [", "", "exceptions: {}", "exceptions:\n  - !!binary AAAA\n", "a: &a [*a, *a]\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		es, err := ParseExceptions(strings.NewReader(s), "fuzz.yaml")
		if err != nil {
			return
		}
		for _, e := range es {
			if e.Owner == "" || e.Reason == "" || e.Expires == "" || (e.Vulnerability == "" && e.Package == "" && e.Rule == "") {
				t.Fatalf("accepted %+v", e)
			}
			if strings.EqualFold(strings.TrimSpace(e.Rule), RuleExpiredException) {
				t.Fatalf("accepted a waiver of %s", RuleExpiredException)
			}
			_ = e.Expired(time.Now())
		}
	})
}

// FuzzParseVEX: any document is parsed or refused, never panics.
func FuzzParseVEX(f *testing.F) {
	f.Add([]byte(vexDoc))
	f.Add([]byte(`{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"X"},"status":"not_affected"}]}`))
	f.Add([]byte(`{"bomFormat":"CycloneDX"}`))
	f.Add([]byte(`null`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ParseVEX(data, "fuzz.json")
	})
}

// FuzzParseBaseline: any findings or decision document is parsed or
// refused, never panics.
func FuzzParseBaseline(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":"sealyard.dev/findings/v1","findings":[{"id":"GO-1","package":{"name":"x"}}]}`))
	f.Add([]byte(`{"schemaVersion":"sealyard.dev/decision/v1","violations":[{"rule":"SY-VULN-001","findings":[{"id":"GO-1","package":"x"}]}]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ParseBaseline(data, "fuzz.json")
	})
}

// FuzzReplay: any bytes given as a policy input to replay are evaluated or
// refused, never panic.
func FuzzReplay(f *testing.F) {
	ctx := context.Background()
	e, err := New(ctx)
	if err != nil {
		f.Fatal(err)
	}
	_, seen, err := e.Gate(ctx, input(textFinding()), WithNow(now))
	if err != nil {
		f.Fatal(err)
	}
	raw, err := facts.Encode(seen)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = e.Replay(ctx, data, Enforce)
	})
}
