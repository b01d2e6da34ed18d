package main

import (
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/cmd/protoc-gen-grpcpy/testdata/golden/shapes"
	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

// shapesServer implements all four shapes of the golden Shapes service.
type shapesServer struct {
	shapes.UnimplementedShapesServicer
}

func (shapesServer) Unary(r *shapes.Req, _ *grpc.ServicerContext) (*shapes.Resp, error) {
	return &shapes.Resp{Text: "unary:" + r.GetText()}, nil
}

func (shapesServer) ServerStream(r *shapes.Req, _ *grpc.ServicerContext) iter.Seq2[*shapes.Resp, error] {
	return func(yield func(*shapes.Resp, error) bool) {
		for i := range r.GetN() {
			if !yield(&shapes.Resp{Text: fmt.Sprintf("%s%d", r.GetText(), i)}, nil) {
				return
			}
		}
	}
}

func (shapesServer) ClientStream(requests iter.Seq2[*shapes.Req, error], _ *grpc.ServicerContext) (*shapes.Resp, error) {
	var parts []string
	for r, err := range requests {
		if err != nil {
			return nil, err
		}
		parts = append(parts, r.GetText())
	}
	return &shapes.Resp{Text: strings.Join(parts, "+")}, nil
}

// Bidi is left to UnimplementedShapesServicer.

func startShapes(t *testing.T) *shapes.ShapesStub {
	t.Helper()
	server, err := grpc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := shapes.AddShapesServicerToServer(shapesServer{}, server); err != nil {
		t.Fatal(err)
	}
	port, err := server.AddInsecurePort("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	channel, err := grpc.InsecureChannel(fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		channel.Close()
		server.Stop(0).Wait()
		leakcheck.Check(t)
	})
	return shapes.NewShapesStub(channel)
}

// TestGeneratedShapes drives the generated typed stub of each shape
// against a real server: no type assertion anywhere, and the
// unimplemented method answers as grpcio's base class does.
func TestGeneratedShapes(t *testing.T) {
	stub := startShapes(t)
	timeout := grpc.WithTimeout(10 * time.Second)

	resp, err := stub.Unary.Call(&shapes.Req{Text: "a"}, timeout)
	if err != nil || resp.GetText() != "unary:a" {
		t.Fatalf("Unary: %v, %v", resp, err)
	}
	f, err := stub.Unary.Future(&shapes.Req{Text: "f"}, timeout)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := f.Result(); err != nil || r.GetText() != "unary:f" {
		t.Fatalf("Unary future: %v, %v", r, err)
	}

	it, err := stub.ServerStream.Call(&shapes.Req{Text: "s", N: 3}, timeout)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for r, err := range it.All() {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r.GetText())
	}
	if strings.Join(got, ",") != "s0,s1,s2" {
		t.Fatalf("ServerStream: %v", got)
	}

	resp, err = stub.ClientStream.Call(grpc.Requests(&shapes.Req{Text: "x"}, &shapes.Req{Text: "y"}), timeout)
	if err != nil || resp.GetText() != "x+y" {
		t.Fatalf("ClientStream: %v, %v", resp, err)
	}

	// Bidi is unimplemented: UNIMPLEMENTED "Method not implemented!".
	bidi, err := stub.Bidi.Open(timeout)
	if err != nil {
		t.Fatal(err)
	}
	_, err = bidi.Read()
	var rpcErr *grpc.RpcError
	if !errors.As(err, &rpcErr) || rpcErr.Code() != grpc.StatusCodeUnimplemented || rpcErr.Details() != "Method not implemented!" {
		t.Fatalf("Bidi: %v, want UNIMPLEMENTED \"Method not implemented!\"", err)
	}
	if _, err := bidi.Read(); err == io.EOF || err == nil {
		t.Fatalf("Bidi second read: %v", err)
	}
}
