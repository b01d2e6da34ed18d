package grpc

import "github.com/grpcpy/grpcpy/core"

// BurstMemoryRelease is a Go addition (grpcio has no equivalent): how a
// server gives memory back to the OS once a burst of RPCs is over. The C
// core mallocs each call's arena and buffers across glibc's per-thread
// arenas, and glibc keeps what they free: after 20,000 reset streams a
// server held ~100 MiB of free malloc memory (grpcio's too) until
// malloc_trim. With a release, once the RPCs in progress reached MinPeak,
// then fell under an eighth of that peak (and under MinPeak/4) and stayed
// there for a second, the server calls ReleaseMemory(GoHeap) on a
// goroutine of its own, at most once per 10 s in the process. It changes
// no malloc setting.
type BurstMemoryRelease struct {
	// MinPeak is how many RPCs in progress at once make a burst; 0 turns
	// the release off. The default is 1000.
	MinPeak int
	// GoHeap also runs debug.FreeOSMemory (a garbage collection, then
	// every free page of the Go heap back to the OS) before the trim. Off
	// by default: the Go runtime returns its free pages by itself after
	// its next collection, which an idle process may not run for up to
	// two minutes.
	GoHeap bool
}

// WithBurstMemoryRelease sets the server's release after a burst; the
// default is BurstMemoryRelease{MinPeak: 1000} (GRPCPY_BURST_RELEASE=n
// in the environment sets the default MinPeak; 0 turns it off).
func WithBurstMemoryRelease(r BurstMemoryRelease) ServerOption {
	return func(o *serverOptions) { o.burstRelease = &r }
}

// ReleaseMemory gives free memory back to the OS now, for an application
// that knows when a burst is over: with goHeap, debug.FreeOSMemory; then
// glibc's malloc_trim(0), which returns the free pages of every malloc
// arena (the C core's and any other C code's). It blocks while it works
// (15-35 ms after a 20,000-stream burst on 2 cores; up to 90 ms with
// goHeap) and takes each malloc arena's lock in turn while it walks it:
// call it when the process is quiet, not on a request path.
func ReleaseMemory(goHeap bool) {
	if goHeap {
		core.ReleaseMemory(core.GoReleaseFree)
	} else {
		core.ReleaseMemory(core.GoReleaseNone)
	}
}
