package schemas

import "testing"

func TestSchemasCompileAndReject(t *testing.T) {
	for _, name := range []string{CycloneDX, SPDX, SARIF, GitLabContainerScanning, GitLabDependencyScanning, GitLabCI, OpenVEX} {
		if err := Check(name, []byte(`{"surely": "not valid"}`)); err == nil {
			t.Errorf("%s accepted a document that is not of its format", name)
		}
	}
	valid := `{"bomFormat":"CycloneDX","specVersion":"1.6","version":1}`
	if err := Check(CycloneDX, []byte(valid)); err != nil {
		t.Errorf("minimal CycloneDX rejected: %v", err)
	}
}
