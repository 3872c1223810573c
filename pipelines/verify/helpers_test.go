package verify

import (
	"bytes"
	"testing"

	cremote "github.com/sigstore/cosign/v2/pkg/cosign/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ctypes "github.com/sigstore/cosign/v2/pkg/types"
	"github.com/sigstore/sigstore/pkg/signature/dsse"

	"github.com/sealyard/sealyard/pipelines/sign"
)

func signedEnvelope(t *testing.T, k *sign.Key, stmt []byte) []byte {
	t.Helper()
	env, err := dsse.WrapSigner(k.SignerVerifier(), ctypes.IntotoPayloadType).SignMessage(bytes.NewReader(stmt))
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func replace(pt string) mutate.ReplaceOp { return cremote.NewReplaceOp(pt) }
