// Package policy is the gate: it evaluates Rego v1 policies (sealyard's
// defaults in policies/ plus the user's) over one Input document and
// returns a Decision that explains itself: every violation and warning with
// its rule id and a message saying how to fix it, the exceptions and VEX
// statements that applied, counts, and the digests of the image, the
// vulnerability database, the policy bundle and the input, so a verdict can
// be replayed.
//
// VEX statements (OpenVEX, not_affected or fixed) remove findings before
// the policies run. Exceptions (owner, reason and expiry required) suppress
// matching violations after; an expired exception does not apply, and the
// policies deny on it, naming its owner. A denial is data, not an error.
package policy
