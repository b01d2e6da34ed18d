package main

import (
	"iter"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/grpcpy/grpcpy/core"
)

type iterSeq = iter.Seq2[any, error]

// serverStats is the grpcpy server's own report: Go runtime memory (MiB),
// goroutines, OS threads, the C objects alive (core.Live) and the tags
// nobody waits for (core.UnwaitedTags).
func serverStats() map[string]any {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := func(b uint64) float64 { return float64(b) / (1 << 20) }
	threads, _ := procStatus(os.Getpid(), "Threads:")
	live := core.Live()
	st := map[string]any{
		"go_heap_inuse_mib":    m(ms.HeapInuse),
		"go_heap_idle_mib":     m(ms.HeapIdle),
		"go_heap_released_mib": m(ms.HeapReleased),
		"go_heap_retained_mib": m(ms.HeapIdle - ms.HeapReleased), // free, not yet given back
		"go_stack_inuse_mib":   m(ms.StackInuse),
		"go_sys_mib":           m(ms.Sys),
		"go_mapped_mib":        m(ms.Sys - ms.HeapReleased),
		"go_num_gc":            ms.NumGC,
		"goroutines":           runtime.NumGoroutine(),
		"threads":              threads,
		"live_calls":           live.Calls,
		"live_batches":         live.Batches,
		"live_total":           live.Total(),
		"unwaited_tags":        core.UnwaitedTags(),
	}
	for _, f := range extraStats {
		f(st)
	}
	return st
}

// freeOSMemory is runtime.GC and giving the free heap back to the OS.
func freeOSMemory() { debug.FreeOSMemory() }
