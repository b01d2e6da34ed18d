package cgo

import (
	"testing"
)

func encode(kv ...string) ([]byte, int) {
	var b []byte
	for i := 0; i < len(kv); i += 2 {
		b = EncodeMetadata(b, kv[i], kv[i+1])
	}
	return b, len(kv) / 2
}

func TestCheckMetadataUsesCoreRules(t *testing.T) {
	Init()
	cases := []struct {
		kv       []string
		index    int
		why      int
		describe string
	}{
		{[]string{"a", "b"}, -1, 0, "plain"},
		{[]string{"x-y_z.0", "v w ~"}, -1, 0, "legal key characters, printable value"},
		{[]string{"ok", "v", "Bad", "v"}, 1, 1, "uppercase key"},
		{[]string{"", "v"}, 0, 1, "empty key"},
		{[]string{"k k", "v"}, 0, 1, "space in key"},
		{[]string{"k", "caf\u00e9"}, 0, 2, "non-ASCII value"},
		{[]string{"k", "a\x00b"}, 0, 2, "NUL in value"},
		{[]string{"k-bin", "\x00\xff\x80"}, -1, 0, "binary value under -bin"},
	}
	for _, c := range cases {
		buf, n := encode(c.kv...)
		i, why := CheckMetadata(buf, n)
		if i != c.index || (i >= 0 && why != c.why) {
			t.Errorf("%s: CheckMetadata = (%d,%d), want (%d,%d)", c.describe, i, why, c.index, c.why)
		}
	}
}

// FuzzCheckMetadata feeds arbitrary keys and values to the core's header
// checks through the flat encoding: it must never crash, and any entry it
// accepts must keep a lowercase, non-empty key.
func FuzzCheckMetadata(f *testing.F) {
	Init()
	f.Add("key", "value")
	f.Add("Key", "v")
	f.Add("k-bin", "\x00\x01")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, k, v string) {
		buf, n := encode(k, v)
		i, _ := CheckMetadata(buf, n)
		if i == -1 {
			if k == "" {
				t.Fatalf("empty key accepted")
			}
			for _, r := range k {
				if r >= 'A' && r <= 'Z' {
					t.Fatalf("uppercase key %q accepted", k)
				}
			}
		}
	})
}

func TestVersionAndLiveCounts(t *testing.T) {
	Init()
	if VersionString() == "" || GStandsFor() == "" {
		t.Fatal("empty core version")
	}
	before := LiveCounts()
	q := NewCQ()
	if LiveCounts().CQs != before.CQs+1 {
		t.Fatal("queue not counted")
	}
	q.Shutdown()
	if ev := q.Next(Batch{}, true); ev.Type != QueueShutdown {
		t.Fatalf("event %d after shutdown, want QueueShutdown", ev.Type)
	}
	q.Destroy()
	b := NewBatch(struct{}{}, TagBatch)
	if LiveCounts().Batches != before.Batches+1 {
		t.Fatal("batch not counted")
	}
	b.Free()
	if LiveCounts() != before {
		t.Fatalf("live counts %+v, want %+v", LiveCounts(), before)
	}
}
