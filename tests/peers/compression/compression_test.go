// Package compression cross-tests grpcpy's compression (grpc.Compression,
// ChannelCompression, WithCompression, WithServerCompression,
// ServicerContext.SetCompression and DisableNextMessageCompression) with
// grpc-go v1.85.0 in the same process, gzip registered, in both
// directions and for the four RPC shapes. What went on the wire is read
// from grpc-go's own stats handlers: InHeader.Compression is the
// grpc-encoding it received, and an InPayload's CompressedLength is the
// size of the message on the wire (equal to Length when it went plain).
package compression

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"iter"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	grpcgo "google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding/gzip" // registers gzip: grpc-go can send and accept it
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

const timeout = 30 * time.Second

// A message of 1 MiB of zeros: gzip makes about a kilobyte of it, so
// whether it went compressed is beyond doubt.
const zerosLen = 1 << 20

var zeros = make([]byte, zerosLen)

// The four shapes, as methods of test.Z on both sides.
var shapes = []string{"UU", "US", "SU", "SS"}

// rawCodec lets grpc-go send and receive []byte as they are, as grpcpy
// does without serializers: no protos on either side.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	switch v := v.(type) {
	case []byte:
		return v, nil
	case *[]byte:
		return *v, nil
	}
	return nil, fmt.Errorf("rawCodec: %T", v)
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}

func (rawCodec) Name() string { return "raw" }

// payload is one stats.InPayload or stats.OutPayload.
type payload struct{ Length, CompressedLength int }

func (p payload) compressed() bool { return p.CompressedLength < p.Length/10 }

// rpcStats is what grpc-go's stats handler saw of one RPC.
type rpcStats struct {
	method     string
	inHeader   bool
	inEncoding string // InHeader.Compression: the grpc-encoding received
	in, out    []payload
}

// recorder is a grpc-go stats.Handler keeping every RPC's stats.
type recorder struct {
	mu   sync.Mutex
	rpcs []*rpcStats
}

type rpcKey struct{}

func (r *recorder) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	s := &rpcStats{method: info.FullMethodName}
	r.mu.Lock()
	r.rpcs = append(r.rpcs, s)
	r.mu.Unlock()
	return context.WithValue(ctx, rpcKey{}, s)
}

func (r *recorder) HandleRPC(ctx context.Context, st stats.RPCStats) {
	s, _ := ctx.Value(rpcKey{}).(*rpcStats)
	if s == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch st := st.(type) {
	case *stats.InHeader:
		s.inHeader, s.inEncoding = true, st.Compression
	case *stats.InPayload:
		s.in = append(s.in, payload{st.Length, st.CompressedLength})
	case *stats.OutPayload:
		s.out = append(s.out, payload{st.Length, st.CompressedLength})
	}
}

func (r *recorder) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (r *recorder) HandleConn(context.Context, stats.ConnStats)                       {}

// last returns a copy of the stats of the latest RPC to method.
func (r *recorder) last(method string) rpcStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.rpcs) - 1; i >= 0; i-- {
		if r.rpcs[i].method == method {
			s := *r.rpcs[i]
			s.in, s.out = append([]payload(nil), s.in...), append([]payload(nil), s.out...)
			return s
		}
	}
	return rpcStats{}
}

// ---- grpcpy client → grpc-go server ----

// goServer starts a grpc-go server whose test.Z methods (any shape) check
// that every request is 1 MiB of zeros and answer "ok N" (bidi: "ok" per
// request).
func goServer(t *testing.T, rec *recorder) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpcgo.NewServer(grpcgo.ForceServerCodec(rawCodec{}), grpcgo.StatsHandler(rec),
		grpcgo.UnknownServiceHandler(func(_ any, ss grpcgo.ServerStream) error {
			method, _ := grpcgo.MethodFromServerStream(ss)
			n := 0
			for {
				var m []byte
				if err := ss.RecvMsg(&m); err == io.EOF {
					break
				} else if err != nil {
					return err
				}
				if !bytes.Equal(m, zeros) {
					return status.Errorf(codes.InvalidArgument, "request %d: %d bytes, not 1 MiB of zeros", n, len(m))
				}
				n++
				if method == "/test.Z/SS" {
					if err := ss.SendMsg([]byte("ok")); err != nil {
						return err
					}
				}
			}
			if method == "/test.Z/SS" {
				return nil
			}
			return ss.SendMsg([]byte(fmt.Sprintf("ok %d", n)))
		}))
	done := make(chan struct{})
	go func() { defer close(done); s.Serve(l) }()
	t.Cleanup(func() { s.Stop(); <-done })
	return l.Addr().String()
}

// pyCall makes one RPC of the shape with grpcpy, sending requests (one
// for the unary-request shapes) and returning the responses as strings.
func pyCall(ch *grpc.Channel, shape string, requests [][]byte, opts ...grpc.CallOption) ([]string, error) {
	method := "/test.Z/" + shape
	opts = append([]grpc.CallOption{grpc.WithTimeout(timeout)}, opts...)
	reqs := func(yield func(any, error) bool) {
		for _, r := range requests {
			if !yield(r, nil) {
				return
			}
		}
	}
	var it grpc.CallIterator
	var err error
	switch shape {
	case "UU":
		r, err := ch.UnaryUnary(method).Call(requests[0], opts...)
		if err != nil {
			return nil, err
		}
		return []string{string(r.([]byte))}, nil
	case "SU":
		r, err := ch.StreamUnary(method).Call(reqs, opts...)
		if err != nil {
			return nil, err
		}
		return []string{string(r.([]byte))}, nil
	case "US":
		it, err = ch.UnaryStream(method).Call(requests[0], opts...)
	case "SS":
		it, err = ch.StreamStream(method).Call(reqs, opts...)
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for r, err := range it.All() {
		if err != nil {
			return out, err
		}
		out = append(out, string(r.([]byte)))
	}
	return out, nil
}

// requestsFor is what each shape sends: 1 MiB of zeros, twice when the
// client streams.
func requestsFor(shape string) [][]byte {
	if shape == "SU" || shape == "SS" {
		return [][]byte{zeros, zeros}
	}
	return [][]byte{zeros}
}

func wantReplies(shape string) string {
	switch shape {
	case "SU":
		return "ok 2"
	case "SS":
		return "ok,ok"
	}
	return "ok 1"
}

// TestGrpcpyClientToGrpcGoServer: grpcpy's ChannelCompression (grpcio's
// insecure_channel(compression=)) and WithCompression (a call's
// compression=) reach a grpc-go server as grpc-encoding gzip with
// compressed messages, for each shape; without, or with NoCompression
// over a gzip channel, the messages arrive plain.
func TestGrpcpyClientToGrpcGoServer(t *testing.T) {
	leakcheck.Check(t)
	rec := &recorder{}
	target := goServer(t, rec)
	for _, c := range []struct {
		name     string
		chOpts   []grpc.ChannelOption
		callOpts []grpc.CallOption
		gzip     bool
	}{
		{"no compression", nil, nil, false},
		{"ChannelCompression(Gzip)", []grpc.ChannelOption{grpc.ChannelCompression(grpc.CompressionGzip)}, nil, true},
		{"WithCompression(Gzip)", nil, []grpc.CallOption{grpc.WithCompression(grpc.CompressionGzip)}, true},
		{"WithCompression(NoCompression) over ChannelCompression(Gzip)",
			[]grpc.ChannelOption{grpc.ChannelCompression(grpc.CompressionGzip)},
			[]grpc.CallOption{grpc.WithCompression(grpc.CompressionNoCompression)}, false},
	} {
		ch, err := grpc.InsecureChannel(target, c.chOpts...)
		if err != nil {
			t.Fatal(err)
		}
		for _, shape := range shapes {
			got, err := pyCall(ch, shape, requestsFor(shape), c.callOpts...)
			if err != nil {
				t.Fatalf("%s %s: %v", c.name, shape, err)
			}
			if strings.Join(got, ",") != wantReplies(shape) {
				t.Fatalf("%s %s: grpc-go server answered %q", c.name, shape, got)
			}
			s := rec.last("/test.Z/" + shape)
			t.Logf("%s %s: grpc-go server saw InHeader.Compression=%q InPayload %+v", c.name, shape, s.inEncoding, s.in)
			if wantEnc := map[bool]string{true: "gzip", false: ""}[c.gzip]; s.inEncoding != wantEnc && !(wantEnc == "" && s.inEncoding == "identity") {
				t.Errorf("%s %s: InHeader.Compression = %q, want %q", c.name, shape, s.inEncoding, wantEnc)
			}
			if len(s.in) != len(requestsFor(shape)) {
				t.Fatalf("%s %s: %d InPayloads", c.name, shape, len(s.in))
			}
			for i, p := range s.in {
				if p.Length != zerosLen || p.compressed() != c.gzip || (!c.gzip && p.CompressedLength != p.Length) {
					t.Errorf("%s %s: request %d on the wire %+v, compressed want %v", c.name, shape, i, p, c.gzip)
				}
			}
		}
		ch.Close()
	}
}

// ---- grpc-go client → grpcpy server ----

// An order is a one-byte request asking for responses of 1 MiB of zeros:
// 'x' as the server's default has it, 'c' after SetCompression(Gzip), 'd'
// also with DisableNextMessageCompression before the last response, 'n'
// after SetCompression(NoCompression).
func isOrder(req []byte) bool { return len(req) == 1 }

// pyServer starts a grpcpy server with test.Z: a request of 1 MiB of zeros
// is checked and answered "ok N" ("ok" each for bidi); an order is
// answered with zeros, once on the unary-response shapes and twice on the
// streaming ones.
func pyServer(t *testing.T, opts ...grpc.ServerOption) string {
	t.Helper()
	order := func(ctx *grpc.ServicerContext, o byte) {
		c := map[byte]grpc.Compression{'c': grpc.CompressionGzip, 'd': grpc.CompressionGzip, 'n': grpc.CompressionNoCompression}
		if c, ok := c[o]; ok {
			if err := ctx.SetCompression(c); err != nil {
				t.Error(err)
			}
		}
	}
	twice := func(ctx *grpc.ServicerContext, o byte, yield func(any, error) bool) bool {
		if !yield(zeros, nil) {
			return false
		}
		if o == 'd' {
			ctx.DisableNextMessageCompression()
		}
		return yield(zeros, nil)
	}
	// bad ends the RPC INVALID_ARGUMENT (Abort unwinds the handler).
	bad := func(ctx *grpc.ServicerContext, r []byte) error {
		ctx.Abort(grpc.StatusCodeInvalidArgument, fmt.Sprintf("%d bytes, not 1 MiB of zeros", len(r)))
		return nil
	}
	h := grpc.MethodHandlersGenericHandler("test.Z", map[string]*grpc.RpcMethodHandler{
		"UU": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			r := req.([]byte)
			if isOrder(r) {
				order(ctx, r[0])
				if r[0] == 'd' {
					ctx.DisableNextMessageCompression()
				}
				return zeros, nil
			}
			if !bytes.Equal(r, zeros) {
				return nil, bad(ctx, r)
			}
			return []byte("ok 1"), nil
		}),
		"US": grpc.UnaryStreamRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) iter.Seq2[any, error] {
			r := req.([]byte)
			return func(yield func(any, error) bool) {
				if isOrder(r) {
					order(ctx, r[0])
					twice(ctx, r[0], yield)
				} else if !bytes.Equal(r, zeros) {
					yield(nil, bad(ctx, r))
				} else {
					yield([]byte("ok 1"), nil)
				}
			}
		}),
		"SU": grpc.StreamUnaryRpcMethodHandler(func(reqs iter.Seq2[any, error], ctx *grpc.ServicerContext) (any, error) {
			n, o := 0, byte(0)
			for req, err := range reqs {
				if err != nil {
					return nil, err
				}
				r := req.([]byte)
				if isOrder(r) {
					o = r[0]
					continue
				}
				if !bytes.Equal(r, zeros) {
					return nil, bad(ctx, r)
				}
				n++
			}
			if o != 0 {
				order(ctx, o)
				if o == 'd' {
					ctx.DisableNextMessageCompression()
				}
				return zeros, nil
			}
			return []byte(fmt.Sprintf("ok %d", n)), nil
		}),
		"SS": grpc.StreamStreamRpcMethodHandler(func(reqs iter.Seq2[any, error], ctx *grpc.ServicerContext) iter.Seq2[any, error] {
			return func(yield func(any, error) bool) {
				for req, err := range reqs {
					if err != nil {
						yield(nil, err)
						return
					}
					r := req.([]byte)
					if isOrder(r) {
						order(ctx, r[0])
						if !twice(ctx, r[0], yield) {
							return
						}
						continue
					}
					if !bytes.Equal(r, zeros) {
						yield(nil, bad(ctx, r))
						return
					}
					if !yield([]byte("ok"), nil) {
						return
					}
				}
			}
		}),
	})
	s, err := grpc.NewServer(nil, append([]grpc.ServerOption{grpc.WithHandlers(h)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	port, err := s.AddInsecurePort("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !s.Stop(0).Wait(timeout) {
			t.Errorf("grpcpy server did not stop within %v", timeout)
		}
	})
	return fmt.Sprintf("127.0.0.1:%d", port)
}

// goClient is a grpc-go client recording its stats in rec.
func goClient(t *testing.T, target string, rec *recorder) *grpcgo.ClientConn {
	t.Helper()
	cc, err := grpcgo.NewClient(target, grpcgo.WithTransportCredentials(insecure.NewCredentials()),
		grpcgo.WithStatsHandler(rec), grpcgo.WithDefaultCallOptions(grpcgo.ForceCodec(rawCodec{})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// goCall makes one RPC of the shape with grpc-go and returns the responses.
func goCall(cc *grpcgo.ClientConn, shape string, requests [][]byte, opts ...grpcgo.CallOption) ([][]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	method := "/test.Z/" + shape
	if shape == "UU" {
		var resp []byte
		err := cc.Invoke(ctx, method, requests[0], &resp, opts...)
		return [][]byte{resp}, err
	}
	desc := &grpcgo.StreamDesc{ClientStreams: shape == "SU" || shape == "SS", ServerStreams: shape == "US" || shape == "SS"}
	cs, err := cc.NewStream(ctx, desc, method, opts...)
	if err != nil {
		return nil, err
	}
	for _, r := range requests {
		// io.EOF: the server ended the RPC; RecvMsg tells how.
		if err := cs.SendMsg(r); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
	}
	if err := cs.CloseSend(); err != nil {
		return nil, err
	}
	var out [][]byte
	for {
		var m []byte
		if err := cs.RecvMsg(&m); err == io.EOF {
			return out, nil
		} else if err != nil {
			return out, err
		}
		out = append(out, m)
	}
}

func joined(bs [][]byte) string {
	var s []string
	for _, b := range bs {
		if len(b) > 16 {
			s = append(s, fmt.Sprintf("<%d bytes>", len(b)))
		} else {
			s = append(s, string(b))
		}
	}
	return strings.Join(s, ",")
}

// TestGrpcGoClientCompressesToGrpcpyServer: a grpc-go client sending gzip
// (grpc.UseCompressor(gzip.Name)) on each shape: its stats show the
// requests went compressed, and the grpcpy server decoded each to 1 MiB of
// zeros.
func TestGrpcGoClientCompressesToGrpcpyServer(t *testing.T) {
	leakcheck.Check(t)
	rec := &recorder{}
	cc := goClient(t, pyServer(t), rec)
	for _, shape := range shapes {
		got, err := goCall(cc, shape, requestsFor(shape), grpcgo.UseCompressor(gzip.Name))
		if err != nil {
			t.Fatalf("%s: %v", shape, err)
		}
		if joined(got) != wantReplies(shape) {
			t.Fatalf("%s: grpcpy server answered %q", shape, joined(got))
		}
		s := rec.last("/test.Z/" + shape)
		t.Logf("%s: grpc-go client sent OutPayload %+v; grpcpy answered %q", shape, s.out, joined(got))
		for i, p := range s.out {
			if p.Length != zerosLen || !p.compressed() {
				t.Errorf("%s: request %d went %+v, want compressed", shape, i, p)
			}
		}
	}
}

// TestGrpcpyServerCompressesToGrpcGoClient: what a grpc-go client receives
// from a grpcpy server without compression, with WithServerCompression
// (grpc.server(compression=)), after a handler's SetCompression, and
// with DisableNextMessageCompression before the last response.
func TestGrpcpyServerCompressesToGrpcGoClient(t *testing.T) {
	leakcheck.Check(t)
	plain := pyServer(t)
	gzipped := pyServer(t, grpc.WithServerCompression(grpc.CompressionGzip))
	rec := &recorder{}
	ccPlain, ccGzip := goClient(t, plain, rec), goClient(t, gzipped, rec)
	for _, c := range []struct {
		name  string
		cc    *grpcgo.ClientConn
		order byte
		gzip  bool // the response headers say grpc-encoding gzip
		// want is each response's compression, in order.
		want map[string][]bool
	}{
		{"no compression", ccPlain, 'x', false, map[string][]bool{"UU": {false}, "US": {false, false}, "SU": {false}, "SS": {false, false}}},
		{"WithServerCompression(Gzip)", ccGzip, 'x', true, map[string][]bool{"UU": {true}, "US": {true, true}, "SU": {true}, "SS": {true, true}}},
		{"SetCompression(Gzip)", ccPlain, 'c', true, map[string][]bool{"UU": {true}, "US": {true, true}, "SU": {true}, "SS": {true, true}}},
		// Every message but the last is compressed; the last goes plain
		// under grpc-encoding gzip (its compressed flag unset).
		{"SetCompression(Gzip) + DisableNextMessageCompression", ccPlain, 'd', true,
			map[string][]bool{"UU": {false}, "US": {true, false}, "SU": {false}, "SS": {true, false}}},
		{"WithServerCompression(Gzip) + SetCompression(NoCompression)", ccGzip, 'n', false,
			map[string][]bool{"UU": {false}, "US": {false, false}, "SU": {false}, "SS": {false, false}}},
	} {
		for _, shape := range shapes {
			got, err := goCall(c.cc, shape, [][]byte{{c.order}})
			if err != nil {
				t.Fatalf("%s %s: %v", c.name, shape, err)
			}
			want := c.want[shape]
			if len(got) != len(want) {
				t.Fatalf("%s %s: %d responses, want %d", c.name, shape, len(got), len(want))
			}
			for i, r := range got {
				if !bytes.Equal(r, zeros) {
					t.Fatalf("%s %s: response %d is %d bytes, not 1 MiB of zeros", c.name, shape, i, len(r))
				}
			}
			s := rec.last("/test.Z/" + shape)
			t.Logf("%s %s: grpc-go client saw InHeader.Compression=%q InPayload %+v", c.name, shape, s.inEncoding, s.in)
			if c.gzip && s.inEncoding != "gzip" {
				t.Errorf("%s %s: InHeader.Compression = %q, want gzip", c.name, shape, s.inEncoding)
			} else if !c.gzip && s.inEncoding != "" && s.inEncoding != "identity" {
				t.Errorf("%s %s: InHeader.Compression = %q, want none", c.name, shape, s.inEncoding)
			}
			if len(s.in) != len(want) {
				t.Fatalf("%s %s: %d InPayloads", c.name, shape, len(s.in))
			}
			for i, p := range s.in {
				if p.Length != zerosLen || p.compressed() != want[i] || (!want[i] && p.CompressedLength != p.Length) {
					t.Errorf("%s %s: response %d on the wire %+v, compressed want %v", c.name, shape, i, p, want[i])
				}
			}
		}
	}
}

// TestGzipDisabledOnGrpcpyServer: a grpcpy server whose enabled algorithms
// (grpc.compression_enabled_algorithms_bitset) exclude gzip refuses a
// grpc-go client's gzip request with UNIMPLEMENTED, the core's answer;
// the same client without compression is served.
func TestGzipDisabledOnGrpcpyServer(t *testing.T) {
	leakcheck.Check(t)
	target := pyServer(t, grpc.WithOptions(grpc.Option("grpc.compression_enabled_algorithms_bitset",
		1<<int(grpc.CompressionNoCompression)|1<<int(grpc.CompressionDeflate))))
	cc := goClient(t, target, &recorder{})
	for _, shape := range shapes {
		_, err := goCall(cc, shape, requestsFor(shape), grpcgo.UseCompressor(gzip.Name))
		st, _ := status.FromError(err)
		if st.Code() != codes.Unimplemented {
			t.Fatalf("%s: gzip to a server without gzip: %v, want Unimplemented", shape, err)
		}
		t.Logf("%s: grpc-go client got code=%s message=%q", shape, st.Code(), st.Message())
		if got, err := goCall(cc, shape, requestsFor(shape)); err != nil || joined(got) != wantReplies(shape) {
			t.Fatalf("%s: uncompressed after the refusal: %q, %v", shape, joined(got), err)
		}
	}
}
