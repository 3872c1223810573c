package facts

import "testing"

func TestSeverityOrdering(t *testing.T) {
	if !AtOrAbove("Critical", "High") || AtOrAbove("Unknown", "Low") || !AtOrAbove("Low", "Negligible") || AtOrAbove("Medium", "High") {
		t.Error("severity ordering differs from grype's")
	}
	if s, err := ParseSeverity("HIGH"); err != nil || s != "High" {
		t.Errorf("ParseSeverity: %q %v", s, err)
	}
	if _, err := ParseSeverity("severe"); err == nil {
		t.Error("unknown severity accepted")
	}
}
