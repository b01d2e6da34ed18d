//go:build cgo

package cgo

/*
#include "shim.h"
*/
import "C"

// MallocStats is glibc's mallinfo2 for the whole process: Arena is the
// bytes of all malloc arenas (the brk heap and the per-thread heaps, free
// pages given back by a trim included), Mmap the bytes of chunks mmap'd on
// their own, InUse the bytes allocated, Free the bytes free inside the
// arenas, TopPad the releasable top of the main arena. All zero without
// glibc 2.33 or later.
type MallocStats struct{ Arena, Mmap, InUse, Free, TopPad uint64 }

// MallocInfo reads mallinfo2, a diagnostic: it walks every arena under
// its lock.
func MallocInfo() MallocStats {
	var v [5]C.size_t
	C.gp_mallinfo(&v[0])
	return MallocStats{uint64(v[0]), uint64(v[1]), uint64(v[2]), uint64(v[3]), uint64(v[4])}
}

// MallocTrim is glibc's malloc_trim(pad): it gives the free pages of every
// arena back to the OS (madvise MADV_DONTNEED; glibc by itself returns only
// each arena's top), keeping pad bytes at the top of the main arena. It
// holds each arena's lock while it walks it. It reports whether anything
// was released; without glibc it does nothing.
func MallocTrim(pad uintptr) bool { return C.gp_malloc_trim(C.size_t(pad)) != 0 }
