package cgo

import (
	"strings"
	"testing"
)

// FuzzCheckMetadataRules holds the core's header checks, as the shim
// reaches them, to an independent statement of the rules: a key is
// non-empty [a-z0-9._-]; a value is printable ASCII (0x20-0x7e) unless the
// key is binary (at least one character, then "-bin"). Two entries, so the
// index of the first bad one is checked too: CheckMetadata must agree on
// both the index and the reason.
func FuzzCheckMetadataRules(f *testing.F) {
	Init()
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		buf, n := encode(k1, v1, k2, v2)
		i, why := CheckMetadata(buf, n)
		wi, wwhy := headerRules(k1, v1, k2, v2)
		if i != wi || (i >= 0 && why != wwhy) {
			t.Fatalf("CheckMetadata(%q, %q, %q, %q) = (%d, %d), the rules say (%d, %d)", k1, v1, k2, v2, i, why, wi, wwhy)
		}
	})
}

func headerRules(kv ...string) (index, why int) {
	for i := 0; i < len(kv); i += 2 {
		k, v := kv[i], kv[i+1]
		if k == "" || strings.Trim(k, "abcdefghijklmnopqrstuvwxyz0123456789._-") != "" {
			return i / 2, 1
		}
		if len(k) > 4 && strings.HasSuffix(k, "-bin") {
			continue
		}
		for j := 0; j < len(v); j++ {
			if v[j] < 0x20 || v[j] > 0x7e {
				return i / 2, 2
			}
		}
	}
	return -1, 0
}
