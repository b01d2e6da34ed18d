package main

import (
	"time"

	"github.com/grpcpy/grpcpy/cgo"
	"github.com/grpcpy/grpcpy/core"
)

// Diagnostics: glibc's mallinfo2 in STATS, and a "trim" command (malloc_trim).
func init() {
	extraStats = append(extraStats, func(st map[string]any) {
		mi := cgo.MallocInfo()
		m := func(b uint64) float64 { return float64(b) / (1 << 20) }
		st["malloc_arena_mib"] = m(mi.Arena)
		st["malloc_mmap_mib"] = m(mi.Mmap)
		st["malloc_inuse_mib"] = m(mi.InUse)
		st["malloc_free_mib"] = m(mi.Free)
	})
	extraCommands["trim"] = func() any {
		t := time.Now()
		ok := cgo.MallocTrim(0)
		return map[string]any{"rc": ok, "seconds": time.Since(t).Seconds()}
	}
}

func init() {
	extraStats = append(extraStats, func(st map[string]any) {
		n, d := core.ReleaseStats()
		st["releases"] = n
		st["release_s"] = d.Seconds()
	})
}
