package predicate

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// StatementType is the in-toto Statement v1 type.
const StatementType = "https://in-toto.io/Statement/v1"

// PayloadType is the DSSE payload type of in-toto statements.
const PayloadType = "application/vnd.in-toto+json"

// Predicate types, and the short names cosign's --type accepts for them.
const (
	CycloneDX       = "https://cyclonedx.org/bom"
	SPDX            = "https://spdx.dev/Document"
	Vuln            = "https://cosign.sigstore.dev/attestation/vuln/v1"
	SLSAProvenance1 = "https://slsa.dev/provenance/v1"
	VSA             = "https://slsa.dev/verification_summary/v1"
	// OpenVEX is the predicate type of an OpenVEX v0.2.0 document (the
	// reachability statements sealyard makes).
	OpenVEX = "https://openvex.dev/ns/v0.2.0"
	// PolicyInput is sealyard's policy input document (policy-input.json),
	// attested beside the decision so that verify --gate can replay it.
	PolicyInput = "https://sealyard.dev/policy-input/v1"
	// Secrets is sealyard's secrets report of the image (secrets.json):
	// where credentials are, never what they are.
	Secrets = "https://sealyard.dev/attestations/secrets/v1"
)

var shortNames = map[string]string{
	"cyclonedx":       CycloneDX,
	"spdx":            SPDX,
	"spdxjson":        SPDX,
	"vuln":            Vuln,
	"slsaprovenance1": SLSAProvenance1,
	"vsa":             VSA,
	"policyinput":     PolicyInput,
	"secrets":         Secrets,
	"openvex":         OpenVEX,
}

// ParseType turns a short name (cyclonedx, spdx, vuln, slsaprovenance1,
// vsa) or a predicate type URI into the URI.
func ParseType(s string) (string, error) {
	if u, ok := shortNames[strings.ToLower(s)]; ok {
		return u, nil
	}
	if strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://") {
		return s, nil
	}
	var names []string
	for n := range shortNames {
		names = append(names, n)
	}
	sort.Strings(names)
	return "", fmt.Errorf("unknown predicate type %q (want one of %s, or a URI)", s, strings.Join(names, ", "))
}

// Requirement names what verify --require accepts, mapped to the predicate
// types that satisfy it.
var Requirements = map[string][]string{
	"sbom":       {CycloneDX, SPDX},
	"vuln":       {Vuln},
	"provenance": {SLSAProvenance1},
	"decision":   {VSA},
	"vex":        {OpenVEX},
	"secrets":    {Secrets},
}

// PlatformAnnotation, on a subject, names the platform of an image index
// that the statement speaks of (an SBOM or a scan of one platform). It is
// inside the signed statement, so verifiers can trust it.
const PlatformAnnotation = "dev.sealyard.platform"

// Subject is what a statement is about (an in-toto v1 ResourceDescriptor).
type Subject struct {
	Name        string            `json:"name"`
	Digest      map[string]string `json:"digest"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Statement is an in-toto v1 statement.
type Statement struct {
	Type          string          `json:"_type"`
	Subject       []Subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

// New makes a statement about the image at d.
func New(d name.Digest, predicateType string, predicate json.RawMessage) ([]byte, error) {
	return NewForPlatform(d, "", predicateType, predicate)
}

// NewForPlatform makes a statement about one platform of the image index
// at d; an empty platform makes it about the whole of d.
func NewForPlatform(d name.Digest, platform, predicateType string, predicate json.RawMessage) ([]byte, error) {
	algo, hex, ok := strings.Cut(d.DigestStr(), ":")
	if !ok {
		return nil, fmt.Errorf("digest %q has no algorithm", d.DigestStr())
	}
	if !json.Valid(predicate) {
		return nil, fmt.Errorf("the %s predicate is not valid JSON", predicateType)
	}
	sub := Subject{Name: d.Context().Name(), Digest: map[string]string{algo: hex}}
	if platform != "" {
		sub.Annotations = map[string]string{PlatformAnnotation: platform}
	}
	return json.Marshal(Statement{
		Type:          StatementType,
		Subject:       []Subject{sub},
		PredicateType: predicateType,
		Predicate:     predicate,
	})
}

// Parse reads a statement and checks its type. in-toto v0.1 statements,
// which cosign writes, are accepted too.
func Parse(data []byte) (*Statement, error) {
	var s Statement
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("the attestation payload is not an in-toto statement: %w", err)
	}
	if s.Type != StatementType && s.Type != "https://in-toto.io/Statement/v0.1" {
		return nil, fmt.Errorf("the attestation payload has _type %q, not an in-toto statement", s.Type)
	}
	return &s, nil
}

// About reports whether the statement's subjects include digest.
func (s *Statement) About(digest string) bool {
	algo, hex, _ := strings.Cut(digest, ":")
	for _, sub := range s.Subject {
		if sub.Digest[algo] == hex {
			return true
		}
	}
	return false
}

// Platform is the platform the statement is about, from its signed
// subject annotations, or "" when it is about the whole subject.
func (s *Statement) Platform() string {
	for _, sub := range s.Subject {
		if p := sub.Annotations[PlatformAnnotation]; p != "" {
			return p
		}
	}
	return ""
}

// SubjectDigests lists the subject digests, for messages.
func (s *Statement) SubjectDigests() []string {
	var out []string
	for _, sub := range s.Subject {
		for algo, hex := range sub.Digest {
			out = append(out, algo+":"+hex)
		}
	}
	sort.Strings(out)
	return out
}
