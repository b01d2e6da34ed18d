package core

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// rpcServer starts a core server on 127.0.0.1 whose calls go to handle
// (on a goroutine of their own, then Finish), with /t/Unary registered
// (its first message pre-read). It returns a channel to it.
func rpcServer(t *testing.T, handle func(sc *ServerCall)) *Channel {
	t.Helper()
	srv, err := NewServer(&Args{}, func(sc *ServerCall) {
		go func() {
			defer sc.Finish()
			handle(sc)
		}()
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.RegisterMethod("/t/Unary"); err != nil {
		t.Fatal(err)
	}
	port, err := srv.AddInsecurePort("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	ch, err := NewChannel(fmt.Sprintf("127.0.0.1:%d", port), ChannelCredentials{}, &Args{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ch.Close()
		srv.Shutdown()
		srv.CancelAll()
		select {
		case <-srv.Stopped():
		case <-time.After(10 * time.Second):
			t.Error("server never stopped")
		}
		deadline := time.Now().Add(5 * time.Second)
		for l := Live(); l.Calls != 0 || l.Batches != 0 || l.Servers != 0 || l.Channels != 0 || l.Messages != 0; l = Live() {
			if time.Now().After(deadline) {
				t.Errorf("C objects alive after the test: %+v", l)
				return
			}
			time.Sleep(time.Millisecond)
		}
	})
	return ch
}

func mustMD(t *testing.T, kv ...string) OutgoingMetadata {
	t.Helper()
	var md []Metadatum
	for i := 0; i < len(kv); i += 2 {
		md = append(md, Metadatum{Key: kv[i], Value: kv[i+1]})
	}
	m, err := CheckMetadata(md)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func waitOp(t *testing.T, o *Op) *Op {
	t.Helper()
	select {
	case <-o.Done():
		return o
	case <-time.After(10 * time.Second):
		t.Fatal("operation never completed")
		return nil
	}
}

// TestUnaryOperations drives a unary RPC through the RPC-level operations
// on both sides: the pre-read request, initial metadata sent once (a
// second send and a send after the status refused), the status sent once,
// and what the client's single batch receives.
func TestUnaryOperations(t *testing.T) {
	errs := make(chan error, 8)
	ch := rpcServer(t, func(sc *ServerCall) {
		o, err := sc.RecvMessage()
		if err != nil {
			errs <- err
			return
		}
		if m := o.Wait().Message.Bytes(); !o.HasMessage || string(m) != "ping" {
			errs <- fmt.Errorf("request %q (has %v), want the pre-read \"ping\"", m, o.HasMessage)
		}
		o, err = sc.SendInitialMetadata(mustMD(t, "k", "v"))
		if err != nil || !o.Wait().Success {
			errs <- fmt.Errorf("initial metadata: %v", err)
		}
		if _, err := sc.SendInitialMetadata(OutgoingMetadata{}); !errors.Is(err, ErrInitialMetadataSent) {
			errs <- fmt.Errorf("second initial metadata: err = %v, want ErrInitialMetadataSent", err)
		}
		closed := make(chan bool, 1)
		if err := sc.SendStatus(StatusOK, "", mustMD(t, "t", "1"), Payload{Bytes: []byte("pong")}, true,
			func(cancelled bool) { closed <- cancelled }); err != nil {
			errs <- err
		}
		if err := sc.SendStatus(StatusInternal, "again", OutgoingMetadata{}, Payload{}, false, func(bool) {}); !errors.Is(err, ErrStatusSent) {
			errs <- fmt.Errorf("second status: err = %v, want ErrStatusSent", err)
		}
		select {
		case c := <-closed:
			if c {
				errs <- errors.New("call reported cancelled after an OK status")
			}
		case <-time.After(10 * time.Second):
			errs <- errors.New("onClose never ran")
		}
		close(errs)
	})
	cc, err := ch.NewCall("/t/Unary", "", 5*time.Second, CallCredentials{})
	if err != nil {
		t.Fatal(err)
	}
	o, err := cc.StartUnary(mustMD(t, "x-req", "1"), nil, Payload{Bytes: []byte("ping")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitOp(t, o)
	if m := o.Message.Bytes(); o.Status != StatusOK || string(m) != "pong" {
		t.Fatalf("status %d %q, message %q", o.Status, o.Details, m)
	}
	if len(o.InitialMetadata) != 1 || o.InitialMetadata[0] != (Metadatum{Key: "k", Value: "v"}) {
		t.Errorf("initial metadata %v", o.InitialMetadata)
	}
	if len(o.TrailingMetadata) != 1 || o.TrailingMetadata[0] != (Metadatum{Key: "t", Value: "1"}) {
		t.Errorf("trailing metadata %v", o.TrailingMetadata)
	}
	for err := range errs {
		t.Error(err)
	}
}

// TestStreamOperations: a stream-stream RPC with StartResponseStream,
// SendMessage, CloseSend and RecvMessage on the client, RecvMessage and
// SendMessage (the first carrying the initial metadata) on the server;
// then a unary-stream one, whose request goes with the start.
func TestStreamOperations(t *testing.T) {
	ch := rpcServer(t, func(sc *ServerCall) {
		sc.WatchClose(func(bool) {})
		for {
			o, err := sc.RecvMessage()
			if err != nil || !o.Wait().HasMessage {
				break
			}
			if o, err := sc.SendMessage(Payload{Bytes: append([]byte("echo:"), o.Message.Bytes()...)}); err != nil || !o.Wait().Success {
				return
			}
		}
		// OK: a non-OK status may overtake responses not yet read.
		sc.SendStatus(StatusOK, "done", OutgoingMetadata{}, Payload{}, false, func(bool) {})
	})
	for _, hasRequest := range []bool{false, true} {
		cc, err := ch.NewCall("/t/Stream", "", 5*time.Second, CallCredentials{})
		if err != nil {
			t.Fatal(err)
		}
		initialSeen := make(chan struct{})
		status, err := cc.StartResponseStream(OutgoingMetadata{}, nil, Payload{Bytes: []byte("first")}, hasRequest,
			func(*Op) { close(initialSeen) }, func(status, initial *Op) {})
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		if hasRequest {
			want = []string{"echo:first"}
		} else {
			for _, m := range []string{"a", "b"} {
				o, err := cc.SendMessage(Payload{Bytes: []byte(m)})
				if err != nil || !waitOp(t, o).Success {
					t.Fatalf("send %s: %v", m, err)
				}
				want = append(want, "echo:"+m)
			}
			o, err := cc.CloseSend()
			if err != nil || !waitOp(t, o).Success {
				t.Fatalf("close send: %v", err)
			}
		}
		var got []string
		for {
			o, err := cc.RecvMessage()
			if errors.Is(err, ErrCallOver) {
				break // the status came: no message can follow
			}
			if err != nil {
				t.Fatal(err)
			}
			if !waitOp(t, o).HasMessage {
				break
			}
			got = append(got, string(o.Message.Bytes()))
		}
		waitOp(t, status)
		<-initialSeen
		if fmt.Sprint(got) != fmt.Sprint(want) || status.Status != StatusOK || status.Details != "done" {
			t.Errorf("hasRequest %v: got %v, status %d %q; want %v, OK \"done\"", hasRequest, got, status.Status, status.Details, want)
		}
		if _, err := cc.SendMessage(Payload{Bytes: []byte("late")}); err == nil {
			t.Error("SendMessage after the status was accepted")
		}
	}
}

// TestFailedFirstStartReleasesTheCall: a call whose first batch cannot
// start (a second unary start on the same call) is released by core, not
// by its caller: the live call count returns to where it was.
func TestFailedFirstStartReleasesTheCall(t *testing.T) {
	ch := rpcServer(t, func(sc *ServerCall) {
		sc.SendStatus(StatusOK, "", OutgoingMetadata{}, Payload{Bytes: []byte("r")}, true, func(bool) {})
	})
	before := Live().Calls
	cc, err := ch.NewCall("/t/Unary", "", 5*time.Second, CallCredentials{})
	if err != nil {
		t.Fatal(err)
	}
	o, err := cc.StartUnary(OutgoingMetadata{}, nil, Payload{Bytes: []byte("q")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cc.StartUnary(OutgoingMetadata{}, nil, Payload{Bytes: []byte("q")}, nil); err == nil {
		t.Fatal("a second unary batch on one call started")
	}
	waitOp(t, o)
	o.Message.Release()
	deadline := time.Now().Add(5 * time.Second)
	for Live().Calls > before {
		if time.Now().After(deadline) {
			t.Fatalf("client call not released: %+v", Live())
		}
		time.Sleep(time.Millisecond)
	}
}
