package core

import (
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/cgo"
)

type nopTarget struct{}

func (nopTarget) Complete(cgo.Event) {}

// BenchmarkBatchAllocFree is the fixed cost of a tag: a cgo.Handle and a
// C-allocated batch, created and freed (two crossings).
func BenchmarkBatchAllocFree(b *testing.B) {
	cgo.Init()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		cgo.NewBatch(nopTarget{}, cgo.TagBatch).Free()
	}
}

// BenchmarkCheckMetadata validates three entries with the core's rules
// (one crossing).
func BenchmarkCheckMetadata(b *testing.B) {
	md := []Metadatum{{Key: "authorization", Value: "Bearer token"}, {Key: "x-id", Value: "42"},
		{Key: "trace-bin", Value: "\x00\x01\x02"}}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := CheckMetadata(md); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPollerRoundTrip starts an empty batch, which the core posts to
// the queue at once, and waits for it: the cost of one completion handed
// from a poller to a waiting goroutine, with no network in between.
func BenchmarkPollerRoundTrip(b *testing.B) {
	ch, err := NewChannel("127.0.0.1:1", cgo.ChannelCredentials{}, &Args{})
	if err != nil {
		b.Fatal(err)
	}
	defer ch.Close()
	cc, err := ch.NewCall("/bench/Empty", "", time.Hour, CallCredentials{})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		cc.Cancel()
		op, _ := cc.start(cgo.OpRecvStatusOnClient, nil, nil, nil) // ends the call, releases it
		if op != nil {
			op.Wait()
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		op, err := cc.start(0, nil, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		op.Wait()
	}
}
