package core

import (
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grpcpy/grpcpy/cgo"
)

// # Giving memory back after a burst
//
// The C core mallocs each call's arena and its transport buffers on
// whichever thread runs the transport (a Go thread inside
// grpc_completion_queue_next, or one of the core's own), so they spread
// over glibc's per-thread arenas (up to 8 per core). Once a burst of calls
// is over nearly all of it is free (after 20,000 reset streams: 0.8 MiB in
// use, 98 MiB free in 16 arenas), but glibc only returns the top of an
// arena, so the RSS stays at its peak until malloc_trim walks the arenas
// (grpcio keeps it too). The Go side holds the dead handlers' stacks and
// garbage until the next GC, which an idle server may not run for two
// minutes.
//
// A server whose calls in flight reached BurstRelease.MinPeak, then fell
// under an eighth of that peak (at most MinPeak/4) and stayed there for
// BurstRelease.Quiet, calls ReleaseMemory, at most once per
// ReleaseInterval in the process. The release runs on a timer goroutine
// holding no lock of the server or the engine; a call only updates the
// peak and compares counters under Server.mu, which it holds already.

// ReleaseInterval is the least time between two releases in the process.
var ReleaseInterval = 10 * time.Second

// GoRelease is what a release does for the Go heap: GoReleaseNone (glibc
// only), GoReleaseGC (runtime.GC; the runtime's scavenger returns the
// freed pages over the next seconds) or GoReleaseFree (debug.FreeOSMemory:
// a GC, then every free page at once).
type GoRelease int

// GoRelease modes.
const (
	GoReleaseNone GoRelease = iota
	GoReleaseGC
	GoReleaseFree
)

var (
	relMu    sync.Mutex // one release at a time; never taken on a call path
	relLast  atomic.Int64
	relCount atomic.Int64
	relNanos atomic.Int64
)

// ReleaseMemory gives free memory back to the OS now: goRel for the Go
// heap, then glibc's malloc_trim(0), which releases the free pages of
// every arena (each arena's lock is held while it is walked). It blocks
// while it works (15-35 ms after a 20,000-stream burst on 2 cores, trim
// only; up to 90 ms with GoReleaseFree).
func ReleaseMemory(goRel GoRelease) {
	relMu.Lock()
	defer relMu.Unlock()
	t := time.Now()
	switch goRel {
	case GoReleaseGC:
		runtime.GC()
	case GoReleaseFree:
		debug.FreeOSMemory()
	}
	cgo.MallocTrim(0)
	relLast.Store(monotonic())
	relCount.Add(1)
	relNanos.Add(int64(time.Since(t)))
}

// ReleaseStats reports how many releases ran and the time they took.
func ReleaseStats() (n int64, total time.Duration) {
	return relCount.Load(), time.Duration(relNanos.Load())
}

// releaseWait is how long the rate limit delays the next release.
func releaseWait() time.Duration {
	last := relLast.Load()
	if last == 0 {
		return 0
	}
	return max(0, ReleaseInterval-time.Duration(monotonic()-last))
}

// BurstRelease is a server's release-after-burst policy.
type BurstRelease struct {
	MinPeak int           // calls in flight that make a burst; 0 turns it off
	Quiet   time.Duration // how long the calls stay low before the release
	Go      GoRelease
}

// DefaultBurstRelease is the policy of new servers.
// GRPCPY_BURST_RELEASE=n sets MinPeak (0: off), for operators who cannot
// change the code.
var DefaultBurstRelease = func() BurstRelease {
	b := BurstRelease{MinPeak: 1000, Quiet: time.Second, Go: GoReleaseNone}
	if v, err := strconv.Atoi(os.Getenv("GRPCPY_BURST_RELEASE")); err == nil && v >= 0 {
		b.MinPeak = v
	}
	return b
}()

// burstWatch is the server's state for its policy (under Server.mu).
type burstWatch struct {
	BurstRelease
	peak    int // most calls in flight since the last release
	timer   *time.Timer
	spoiled bool // calls rose above the low mark while the timer ran
}

// low is the calls in flight under which a burst is over: an eighth of
// its peak, at most a quarter of MinPeak.
func (b *burstWatch) low() int { return min(b.peak/8, b.MinPeak/4) }

// SetBurstRelease replaces the server's policy; before Start only.
func (srv *Server) SetBurstRelease(b BurstRelease) error {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.started || srv.shuttingDown {
		return ErrServerStarted
	}
	srv.burst.BurstRelease = b
	return nil
}

// callStartedLocked and callEndedLocked follow srv.calls.
func (srv *Server) callStartedLocked() {
	b := &srv.burst
	if srv.calls > b.peak {
		b.peak = srv.calls
	}
	if b.timer != nil && srv.calls > b.low() {
		b.spoiled = true // not quiet: burstOver waits again
	}
}

func (srv *Server) callEndedLocked() {
	b := &srv.burst
	if b.MinPeak <= 0 || b.timer != nil || b.peak < b.MinPeak || srv.calls > b.low() || srv.destroyed {
		return
	}
	b.timer = time.AfterFunc(b.Quiet, srv.burstOver)
}

// burstOver runs on a timer goroutine Quiet after calls fell under the
// low mark; it releases if they stayed there.
func (srv *Server) burstOver() {
	srv.mu.Lock()
	b := &srv.burst
	b.timer = nil
	if srv.destroyed || srv.calls > b.low() {
		// Stopped, or the burst goes on: its end re-arms the timer.
		b.spoiled = false
		srv.mu.Unlock()
		return
	}
	if b.spoiled {
		// Calls went up and down again meanwhile: wait for a full quiet period.
		b.spoiled = false
		b.timer = time.AfterFunc(b.Quiet, srv.burstOver)
		srv.mu.Unlock()
		return
	}
	if wait := releaseWait(); wait > 0 {
		b.timer = time.AfterFunc(wait, srv.burstOver)
		srv.mu.Unlock()
		return
	}
	b.peak = srv.calls
	goRel := b.Go
	srv.mu.Unlock()
	ReleaseMemory(goRel)
}

// stopBurstLocked cancels a pending release (the server is destroyed).
func (srv *Server) stopBurstLocked() {
	if srv.burst.timer != nil {
		srv.burst.timer.Stop()
		srv.burst.timer = nil
	}
}
