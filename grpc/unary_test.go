package grpc_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

func TestUnaryEcho(t *testing.T) {
	leakcheck.Check(t)
	_, target := serve(t, nil, service("test.Echo", map[string]*grpc.RpcMethodHandler{"Unary": echoHandler()}))
	ch := dial(t, target)
	mc := ch.UnaryUnary("/test.Echo/Unary")
	for _, payload := range [][]byte{[]byte("hello"), {}, bytes.Repeat([]byte{0, 1, 2, 255}, 1<<16)} {
		resp, call, err := mc.WithCall(payload, grpc.WithTimeout(testTimeout))
		if err != nil {
			t.Fatalf("WithCall(%d bytes): %v", len(payload), err)
		}
		if !bytes.Equal(resp.([]byte), payload) {
			t.Fatalf("echo of %d bytes came back as %d bytes", len(payload), len(resp.([]byte)))
		}
		if call.Code() != grpc.StatusCodeOK || call.Details() != "" {
			t.Fatalf("call status = %v %q, want OK", call.Code(), call.Details())
		}
		if call.IsActive() {
			t.Fatal("finished call reports IsActive")
		}
	}
}

func TestUnaryUnknownMethod(t *testing.T) {
	leakcheck.Check(t)
	_, target := serve(t, nil, service("test.Echo", map[string]*grpc.RpcMethodHandler{"Unary": echoHandler()}))
	ch := dial(t, target)
	_, err := ch.UnaryUnary("/test.Echo/Nope").Call([]byte("x"), grpc.WithTimeout(testTimeout))
	var rerr *grpc.RpcError
	if !errors.As(err, &rerr) {
		t.Fatalf("err = %v, want *RpcError", err)
	}
	if rerr.Code() != grpc.StatusCodeUnimplemented || rerr.Details() != "Method not found!" {
		t.Fatalf("status = %v %q, want UNIMPLEMENTED \"Method not found!\"", rerr.Code(), rerr.Details())
	}
}
