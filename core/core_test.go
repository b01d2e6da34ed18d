package core

import (
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/cgo"
)

// TestEngineShutdownAndRestart: Shutdown destroys every queue; the next
// Default starts a fresh engine that serves calls.
func TestEngineShutdownAndRestart(t *testing.T) {
	e := Default()
	if len(e.CQs()) == 0 {
		t.Fatal("no queues")
	}
	Shutdown()
	if l := Live(); l.CQs != 0 {
		t.Fatalf("queues alive after Shutdown: %+v", l)
	}
	e2 := Default()
	if e2 == e {
		t.Fatal("Default returned the stopped engine")
	}
	ch, err := NewChannel("127.0.0.1:1", cgo.ChannelCredentials{}, &Args{})
	if err != nil {
		t.Fatal(err)
	}
	cc, err := ch.NewCall("/x/y", "", 2*time.Second, CallCredentials{})
	if err != nil {
		t.Fatal(err)
	}
	op, err := cc.StartUnary(OutgoingMetadata{}, nil, Payload{Bytes: []byte("x")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-op.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("call to a closed port never completed")
	}
	if op.Status != StatusUnavailable && op.Status != StatusDeadlineExceeded {
		t.Fatalf("status %d (%s)", op.Status, op.Details)
	}
	ch.Close()
	Shutdown()
	if l := Live(); l.Total() != 0 {
		t.Fatalf("live C objects after closing everything: %+v", l)
	}
}

func TestCheckMetadataError(t *testing.T) {
	_, err := CheckMetadata([]Metadatum{{Key: "good", Value: "v"}, {Key: "Bad", Value: "v"}})
	me, ok := err.(*MetadataError)
	if !ok || me.Index != 1 || me.Key != "Bad" || me.Why != 1 {
		t.Fatalf("err = %#v", err)
	}
	if _, err := CheckMetadata([]Metadatum{{Key: "k", Value: "\u00e9"}}); err == nil {
		t.Fatal("non-ASCII value accepted")
	}
}

func TestServerStopBeforeStartFreesEverything(t *testing.T) {
	s, err := NewServer(&Args{}, func(sc *ServerCall) { t.Error("unexpected call") })
	if err != nil {
		t.Fatal(err)
	}
	s.Shutdown()
	select {
	case <-s.Stopped():
	case <-time.After(10 * time.Second):
		t.Fatal("server never stopped")
	}
	deadline := time.Now().Add(5 * time.Second)
	for Live().Servers != 0 || Live().Batches != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("live after stop: %+v", Live())
		}
		time.Sleep(time.Millisecond)
	}
}
