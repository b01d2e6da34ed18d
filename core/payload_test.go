package core

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// testMarshaler marshals []byte messages as themselves (a stand-in for
// protobuf's marshaler in package grpc); fail and panics make it refuse.
type testMarshaler struct{ fail, panics bool }

func (m testMarshaler) Size(msg any) int { return len(msg.([]byte)) }

func (m testMarshaler) MarshalAppend(b []byte, msg any) ([]byte, error) {
	if m.panics {
		panic("marshaler exploded")
	}
	if m.fail {
		return b, errors.New("refused")
	}
	return append(b, msg.([]byte)...), nil
}

func marshalled(msg []byte, m testMarshaler) Payload { return Payload{Marshaler: m, Message: msg} }

func isMarshalError(err error) bool {
	var me *MarshalError
	return errors.As(err, &me)
}

// view reads a received message in place (Received.View).
func view(r *Received) string {
	var s string
	r.View(func(b []byte) error { s = string(b); return nil })
	return s
}

// TestMarshalledPayloads sends messages marshalled straight into core
// memory on every path that sends one (StartUnary, StartResponseStream's
// request, SendMessage on both sides, SendStatus's response) and reads
// them in place; a Marshaler that fails or panics is a *MarshalError that
// starts nothing: the client call is released when it was the first
// batch, a server may still send its status, and no C object (received
// messages included) outlives the test.
func TestMarshalledPayloads(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 8192) // 128 KiB: several slices on receive
	errs := make(chan error, 16)
	ch := rpcServer(t, func(sc *ServerCall) {
		if sc.Method == "/t/Unary" {
			o, _ := sc.RecvMessage()
			req := view(&o.Wait().Message)
			if _, err := sc.SendMessage(marshalled([]byte("x"), testMarshaler{fail: true})); !isMarshalError(err) {
				errs <- errors.New("server SendMessage with a failing marshaler: no MarshalError")
			}
			for _, m := range []testMarshaler{{fail: true}, {panics: true}} {
				if err := sc.SendStatus(StatusOK, "", OutgoingMetadata{}, marshalled([]byte("x"), m), true, func(bool) {}); !isMarshalError(err) {
					errs <- errors.New("SendStatus with a failing marshaler: no MarshalError")
				}
			}
			if err := sc.SendStatus(StatusOK, "", OutgoingMetadata{}, marshalled([]byte(req+":pong"), testMarshaler{}), true, func(bool) {}); err != nil {
				errs <- err
			}
			return
		}
		sc.WatchClose(func(bool) {})
		for {
			o, err := sc.RecvMessage()
			if err != nil || !o.Wait().HasMessage {
				break
			}
			var echo []byte
			o.Message.View(func(b []byte) error { echo = append([]byte("echo:"), b...); return nil })
			if o, err := sc.SendMessage(marshalled(echo, testMarshaler{})); err != nil || !o.Wait().Success {
				return
			}
		}
		sc.SendStatus(StatusOK, "", OutgoingMetadata{}, Payload{}, false, func(bool) {})
	})
	calls := Live().Calls

	for _, req := range [][]byte{[]byte("ping"), big, {}} {
		cc, _ := ch.NewCall("/t/Unary", "", 5*time.Second, CallCredentials{})
		o, err := cc.StartUnary(OutgoingMetadata{}, nil, marshalled(req, testMarshaler{}), nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := view(&waitOp(t, o).Message); o.Status != StatusOK || got != string(req)+":pong" {
			t.Fatalf("unary: status %d %q, response of %d bytes, want %d", o.Status, o.Details, len(got), len(req)+5)
		}
	}
	for _, m := range []testMarshaler{{fail: true}, {panics: true}} {
		cc, _ := ch.NewCall("/t/Unary", "", 5*time.Second, CallCredentials{})
		if _, err := cc.StartUnary(OutgoingMetadata{}, nil, marshalled([]byte("x"), m), nil); !isMarshalError(err) {
			t.Fatalf("StartUnary with a failing marshaler: err = %v, want a *MarshalError", err)
		}
		cc, _ = ch.NewCall("/t/Stream", "", 5*time.Second, CallCredentials{})
		if _, err := cc.StartResponseStream(OutgoingMetadata{}, nil, marshalled([]byte("x"), m), true,
			func(*Op) {}, func(_, _ *Op) {}); !isMarshalError(err) {
			t.Fatalf("StartResponseStream with a failing marshaler: err = %v, want a *MarshalError", err)
		}
	}

	cc, _ := ch.NewCall("/t/Stream", "", 5*time.Second, CallCredentials{})
	status, err := cc.StartResponseStream(OutgoingMetadata{}, nil, Payload{}, false, func(*Op) {}, func(_, _ *Op) {})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cc.SendMessage(marshalled([]byte("x"), testMarshaler{fail: true})); !isMarshalError(err) {
		t.Fatalf("SendMessage with a failing marshaler: err = %v, want a *MarshalError", err)
	}
	for _, m := range [][]byte{[]byte("a"), big} { // the call went on
		o, err := cc.SendMessage(marshalled(m, testMarshaler{}))
		if err != nil || !waitOp(t, o).Success {
			t.Fatalf("send: %v", err)
		}
		o, err = cc.RecvMessage()
		if err != nil {
			t.Fatal(err)
		}
		if got := view(&waitOp(t, o).Message); got != "echo:"+string(m) {
			t.Fatalf("echo of %d bytes, want %d", len(got), len(m)+5)
		}
	}
	if o, err := cc.CloseSend(); err != nil || !waitOp(t, o).Success {
		t.Fatalf("close send: %v", err)
	}
	if o, err := cc.RecvMessage(); err == nil && waitOp(t, o).HasMessage {
		t.Fatal("a message after the half-close")
	}
	waitOp(t, status)

	deadline := time.Now().Add(5 * time.Second)
	for l := Live(); l.Calls > calls || l.Messages != 0; l = Live() {
		if time.Now().After(deadline) {
			t.Fatalf("after the RPCs: %+v (calls before %d)", l, calls)
		}
		time.Sleep(time.Millisecond)
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestUnreadMessagesAreReleased: a pre-read request the handler never
// reads is released by Finish, and messages a consumer releases unread
// (Release) or reads twice are destroyed once: the live message count
// returns to zero (rpcServer's cleanup checks it too).
func TestUnreadMessagesAreReleased(t *testing.T) {
	ch := rpcServer(t, func(sc *ServerCall) {
		sc.SendStatus(StatusOK, "", OutgoingMetadata{}, Payload{Bytes: []byte("unasked")}, true, func(bool) {})
	})
	for i := range 3 {
		cc, _ := ch.NewCall("/t/Unary", "", 5*time.Second, CallCredentials{})
		o, err := cc.StartUnary(OutgoingMetadata{}, nil, Payload{Bytes: bytes.Repeat([]byte("r"), 100<<10)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		waitOp(t, o)
		switch i {
		case 0:
			o.Message.Release()
		case 1:
			if string(o.Message.Bytes()) != "unasked" || o.Message.Bytes() != nil {
				t.Fatal("Bytes: want the message once, then nil")
			}
		case 2:
			view(&o.Message)
			o.Message.Release()
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for Live().Messages != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("received messages alive: %+v", Live())
		}
		time.Sleep(time.Millisecond)
	}
}
