package grpc_test

import (
	"bytes"
	"errors"
	"iter"
	"testing"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/wiretap"
)

// A message of zeros: gzip or deflate shrinks it about a thousandfold,
// so whether it went compressed is plain from the bytes on the wire.
const zerosLen = 1 << 20

var zeros = make([]byte, zerosLen)

// compressionServer serves test.Z/{Echo, Twice, Collect, Chat} and reports
// what it was told through a request's first byte: 'c' sets the RPC's
// compression to gzip, 'd' also disables the second response's compression.
func compressionServer(t *testing.T, opts ...grpc.ServerOption) string {
	t.Helper()
	setup := func(ctx *grpc.ServicerContext, req []byte) {
		if len(req) > 0 && (req[0] == 'c' || req[0] == 'd') {
			if err := ctx.SetCompression(grpc.CompressionGzip); err != nil {
				t.Error(err)
			}
		}
	}
	_, target := serve(t, nil, service("test.Z", map[string]*grpc.RpcMethodHandler{
		"Echo": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			setup(ctx, req.([]byte))
			return zeros, nil
		}),
		"Twice": grpc.UnaryStreamRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) iter.Seq2[any, error] {
			r := req.([]byte)
			setup(ctx, r)
			return func(yield func(any, error) bool) {
				if !yield(zeros, nil) {
					return
				}
				if r[0] == 'd' {
					ctx.DisableNextMessageCompression()
				}
				yield(zeros, nil)
			}
		}),
		"Collect": grpc.StreamUnaryRpcMethodHandler(func(reqs iter.Seq2[any, error], ctx *grpc.ServicerContext) (any, error) {
			n := 0
			for r, err := range reqs {
				if err != nil {
					return nil, err
				}
				if !bytes.Equal(r.([]byte), zeros) {
					return nil, errors.New("request corrupted")
				}
				n++
			}
			return []byte{byte(n)}, nil
		}),
		"Chat": grpc.StreamStreamRpcMethodHandler(func(reqs iter.Seq2[any, error], ctx *grpc.ServicerContext) iter.Seq2[any, error] {
			return func(yield func(any, error) bool) {
				for r, err := range reqs {
					if err != nil || !yield(r, nil) {
						return
					}
				}
			}
		}),
	}), opts...)
	return target
}

func tap(t *testing.T, target string) *wiretap.Tap {
	t.Helper()
	w, err := wiretap.New(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w
}

// compressed reports whether n bytes on the wire carried m messages of
// zeros compressed (each well under a tenth of its size).
func compressed(n int64, m int) bool { return n < int64(m)*zerosLen/10 }

// TestCompressionRequests: a channel's compression (ChannelCompression,
// grpcio's insecure_channel(compression=)) and a call's (WithCompression)
// compress requests on the wire, for each request shape; without, they go
// plain.
func TestCompressionRequests(t *testing.T) {
	target := compressionServer(t)
	to := grpc.WithTimeout(testTimeout)
	for _, c := range []struct {
		name      string
		chOpts    []grpc.ChannelOption
		callOpts  []grpc.CallOption
		wantSmall bool
	}{
		{"none", nil, nil, false},
		{"channel gzip", []grpc.ChannelOption{grpc.ChannelCompression(grpc.CompressionGzip)}, nil, true},
		{"call deflate", nil, []grpc.CallOption{grpc.WithCompression(grpc.CompressionDeflate)}, true},
		{"call none over channel gzip", []grpc.ChannelOption{grpc.ChannelCompression(grpc.CompressionGzip)},
			[]grpc.CallOption{grpc.WithCompression(grpc.CompressionNoCompression)}, false},
	} {
		w := tap(t, target)
		ch := dial(t, w.Addr, c.chOpts...)
		opts := append([]grpc.CallOption{to}, c.callOpts...)
		if _, err := ch.UnaryUnary("/test.Z/Echo").Call(zeros, opts...); err != nil {
			t.Fatalf("%s: Echo: %v", c.name, err)
		}
		resp, err := ch.StreamUnary("/test.Z/Collect").Call(grpc.Requests[any](zeros, zeros), opts...)
		if err != nil || resp.([]byte)[0] != 2 {
			t.Fatalf("%s: Collect: %v, %v", c.name, resp, err)
		}
		it, err := ch.StreamStream("/test.Z/Chat").Call(grpc.Requests[any](zeros), opts...)
		if err != nil {
			t.Fatal(err)
		}
		for _, err := range it.All() {
			if err != nil {
				t.Fatalf("%s: Chat: %v", c.name, err)
			}
		}
		if got := compressed(w.Up(), 4); got != c.wantSmall {
			t.Errorf("%s: %d bytes up for 4 MiB of zeros: compressed = %v, want %v", c.name, w.Up(), got, c.wantSmall)
		}
	}
}

// TestCompressionResponses: the server's default (WithServerCompression,
// grpc.server(compression=)), a handler's SetCompression, and
// DisableNextMessageCompression for one message of a stream.
func TestCompressionResponses(t *testing.T) {
	to := grpc.WithTimeout(testTimeout)
	plain := compressionServer(t)
	gzipServer := compressionServer(t, grpc.WithServerCompression(grpc.CompressionGzip))
	for _, c := range []struct {
		name, target string
		first        byte
		method       string
		messages     int
		wantDown     func(int64) bool
	}{
		{"plain server", plain, 'x', "Echo", 1, func(n int64) bool { return !compressed(n, 1) }},
		{"server default gzip", gzipServer, 'x', "Echo", 1, func(n int64) bool { return compressed(n, 1) }},
		{"SetCompression", plain, 'c', "Echo", 1, func(n int64) bool { return compressed(n, 1) }},
		{"SetCompression stream", plain, 'c', "Twice", 2, func(n int64) bool { return compressed(n, 2) }},
		// The second message goes plain: about 1 MiB down, not 2.
		{"DisableNextMessageCompression", plain, 'd', "Twice", 2, func(n int64) bool {
			return n > zerosLen && n < zerosLen+zerosLen/10
		}},
	} {
		w := tap(t, c.target)
		ch := dial(t, w.Addr)
		req := []byte{c.first}
		if c.method == "Echo" {
			if _, err := ch.UnaryUnary("/test.Z/Echo").Call(req, to); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
		} else {
			it, err := ch.UnaryStream("/test.Z/"+c.method).Call(req, to)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for r, err := range it.All() {
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				if !bytes.Equal(r.([]byte), zeros) {
					t.Fatalf("%s: response corrupted", c.name)
				}
				n++
			}
			if n != c.messages {
				t.Fatalf("%s: %d responses", c.name, n)
			}
		}
		if !c.wantDown(w.Down()) {
			t.Errorf("%s: %d bytes down for %d MiB of zeros", c.name, w.Down(), c.messages)
		}
	}
}

// TestCompressionDisabledOnServer: a request compressed with an algorithm
// the server has disabled (grpc.compression_enabled_algorithms_bitset)
// ends UNIMPLEMENTED, as the core answers it; an unknown algorithm is a
// ValueError before anything is sent.
func TestCompressionDisabledOnServer(t *testing.T) {
	target := compressionServer(t, grpc.WithOptions(
		grpc.Option("grpc.compression_enabled_algorithms_bitset", 1<<int(grpc.CompressionNoCompression)|1<<int(grpc.CompressionDeflate))))
	ch := dial(t, target)
	_, err := ch.UnaryUnary("/test.Z/Echo").Call(zeros, grpc.WithTimeout(testTimeout), grpc.WithCompression(grpc.CompressionGzip))
	var rpcErr *grpc.RpcError
	if !errors.As(err, &rpcErr) || rpcErr.Code() != grpc.StatusCodeUnimplemented {
		t.Fatalf("gzip to a server without gzip: %v, want UNIMPLEMENTED", err)
	}
	t.Logf("the core answered: %v", rpcErr.Details())
	if _, err := ch.UnaryUnary("/test.Z/Echo").Call(zeros, grpc.WithTimeout(testTimeout), grpc.WithCompression(grpc.CompressionDeflate)); err != nil {
		t.Fatalf("deflate, enabled: %v", err)
	}
	var ve *grpc.ValueError
	if _, err := ch.UnaryUnary("/test.Z/Echo").Call(zeros, grpc.WithCompression(grpc.Compression(9))); !errors.As(err, &ve) {
		t.Fatalf("unknown algorithm: %v, want *grpc.ValueError", err)
	}
	if grpc.CompressionGzip.String() != "Compression.Gzip" {
		t.Fatal(grpc.CompressionGzip.String())
	}
}
