package grpc_test

// Fuzz targets for every entry point that takes untrusted input. Their seed
// corpora live in testdata/fuzz/FuzzXxx, so plain `go test` replays them;
// scripts/fuzz.sh runs the fuzzer itself.
//
// Safety: no input may make the process reach a non-loopback address or
// ask a DNS server anything. Targets and addresses go through the
// classifiers near the end of this file, which mirror how core 1.51 parses
// them and skip every input whose host is not a loopback literal.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/grpcpy/grpcpy/cgo"
	"github.com/grpcpy/grpcpy/core"
	hw "github.com/grpcpy/grpcpy/examples/helloworld/helloworld"
	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
	testpb "github.com/grpcpy/grpcpy/interop/grpc_testing"
)

const (
	// fuzzRPCTimeout bounds RPCs to a live loopback server: long enough
	// not to flake under -race on a loaded machine, short enough that a
	// stuck call fails the input rather than the whole run.
	fuzzRPCTimeout = 5 * time.Second
	// hangAfter is when guard declares an input hung: the fuzzer has no
	// per-input timeout of its own.
	hangAfter = 30 * time.Second
)

// ---- FuzzProtoDeserializer, FuzzProtoSerializer, FuzzMessageEcho ----

// FuzzProtoDeserializer feeds arbitrary bytes to ProtoDeserializer for
// three message shapes (a proto3 string, nested messages and enums,
// recursive maps and oneofs). Property: no panic; an error and no message,
// or a message of the right type that ProtoSerializer writes back to bytes
// that decode to the same message.
func FuzzProtoDeserializer(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode[hw.HelloRequest](t, data)
		checkDecode[testpb.SimpleRequest](t, data)
		checkDecode[structpb.Struct](t, data)
	})
}

func checkDecode[T any, PT interface {
	*T
	proto.Message
}](t *testing.T, data []byte) {
	t.Helper()
	des := grpc.ProtoDeserializer[T, PT]()
	m, err := des(data)
	if err != nil {
		if m != nil {
			t.Fatalf("%T: error %v with a message %v", PT(nil), err, m)
		}
		return
	}
	pm, ok := m.(PT)
	if !ok || pm == nil {
		t.Fatalf("decoded a %T, want a non-nil %T", m, PT(nil))
	}
	b, err := grpc.ProtoSerializer(pm)
	if err != nil {
		t.Fatalf("%T: decoded, but ProtoSerializer fails: %v", pm, err)
	}
	again, err := des(b)
	if err != nil {
		t.Fatalf("%T: ProtoSerializer's own output does not decode: %v", pm, err)
	}
	// Compared as deterministic encodings: proto.Equal holds NaN unequal
	// to itself, and a float field may well be NaN here.
	if !bytes.Equal(deterministic(t, pm), deterministic(t, again.(PT))) {
		t.Fatalf("%T: %v became %v after a round trip", pm, pm, again)
	}
}

func deterministic(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatalf("deterministic marshal of %T: %v", m, err)
	}
	return b
}

// FuzzProtoSerializer builds messages from arbitrary field values.
// Property: ProtoSerializer fails exactly when proto3 forbids the value (a
// string that is not UTF-8), never panics, and what it writes decodes
// back to an equal message; values that are not proto messages are an
// error.
func FuzzProtoSerializer(f *testing.F) {
	f.Fuzz(func(t *testing.T, name string, body []byte, size int32, code int32, message string) {
		hello := &hw.HelloRequest{Name: name}
		b, err := grpc.ProtoSerializer(hello)
		if utf8.ValidString(name) != (err == nil) {
			t.Fatalf("HelloRequest{Name: %q}: err = %v, valid UTF-8 = %v", name, err, utf8.ValidString(name))
		}
		if err == nil {
			back, err := grpc.ProtoDeserializer[hw.HelloRequest]()(b)
			if err != nil || back.(*hw.HelloRequest).GetName() != name {
				t.Fatalf("HelloRequest{Name: %q} came back as %v, %v", name, back, err)
			}
		}
		req := &testpb.SimpleRequest{ResponseSize: size, Payload: &testpb.Payload{Body: body},
			ResponseStatus: &testpb.EchoStatus{Code: code, Message: message}}
		b, err = grpc.ProtoSerializer(req)
		if utf8.ValidString(message) != (err == nil) {
			t.Fatalf("SimpleRequest with message %q: err = %v", message, err)
		}
		if err == nil {
			back, err := grpc.ProtoDeserializer[testpb.SimpleRequest]()(b)
			if err != nil || !proto.Equal(back.(*testpb.SimpleRequest), req) {
				t.Fatalf("%v came back as %v, %v", req, back, err)
			}
		}
		for _, notProto := range []any{nil, name, body, size} {
			if _, err := grpc.ProtoSerializer(notProto); err == nil {
				t.Fatalf("ProtoSerializer(%T) accepted a value that is no proto.Message", notProto)
			}
		}
	})
}

// FuzzMessageEcho sends arbitrary bytes through a real RPC. Property: raw
// bytes come back identical, unary and as a two-message stream; through a
// proto method they come back as the same message if they decode, and
// otherwise fail with the server's INTERNAL "Exception deserializing
// request!".
func FuzzMessageEcho(f *testing.F) {
	leakcheck.Check(f)
	protoEcho := grpc.UnaryUnaryRpcMethodHandler(
		func(req any, ctx *grpc.ServicerContext) (any, error) { return req, nil },
		grpc.WithRequestDeserializer(grpc.ProtoDeserializer[testpb.SimpleRequest]()),
		grpc.WithResponseSerializer(grpc.ProtoSerializer))
	streamEcho := grpc.StreamStreamRpcMethodHandler(
		func(reqs iter.Seq2[any, error], ctx *grpc.ServicerContext) iter.Seq2[any, error] { return reqs })
	methods := map[string]*grpc.RpcMethodHandler{"Raw": echoHandler(), "Proto": protoEcho, "Stream": streamEcho}
	target := fuzzServe(f, grpc.MethodHandlersGenericHandler("fuzz.E", methods))
	ch := fuzzDial(f, target)
	raw := ch.UnaryUnary("/fuzz.E/Raw")
	protoCall := ch.UnaryUnary("/fuzz.E/Proto",
		grpc.WithResponseDeserializer(grpc.ProtoDeserializer[testpb.SimpleRequest]()))
	stream := ch.StreamStream("/fuzz.E/Stream")
	base := core.Live()

	f.Fuzz(func(t *testing.T, data []byte) {
		guard(t, data)
		defer settle(t, base)
		got, err := raw.Call(data, grpc.WithTimeout(fuzzRPCTimeout))
		if err != nil || !bytes.Equal(got.([]byte), data) {
			t.Fatalf("raw echo of %q: %q, %v", data, got, err)
		}

		half := data[:len(data)/2]
		it, err := stream.Call(grpc.Requests[any](data, half), grpc.WithTimeout(fuzzRPCTimeout))
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		var back [][]byte
		for m, err := range it.All() {
			if err != nil {
				t.Fatalf("stream echo of %q: %v", data, err)
			}
			back = append(back, m.([]byte))
		}
		if len(back) != 2 || !bytes.Equal(back[0], data) || !bytes.Equal(back[1], half) {
			t.Fatalf("stream echo of %q, %q: got %q", data, half, back)
		}

		var want testpb.SimpleRequest
		decodeErr := proto.Unmarshal(data, &want)
		resp, err := protoCall.Call(data, grpc.WithTimeout(fuzzRPCTimeout))
		if decodeErr != nil {
			var rpcErr *grpc.RpcError
			if !errors.As(err, &rpcErr) || rpcErr.Code() != grpc.StatusCodeInternal ||
				rpcErr.Details() != "Exception deserializing request!" {
				t.Fatalf("undecodable %q: %v, want INTERNAL \"Exception deserializing request!\"", data, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("proto echo of %q: %v", data, err)
		}
		if !bytes.Equal(deterministic(t, resp.(*testpb.SimpleRequest)), deterministic(t, &want)) {
			t.Fatalf("proto echo of %v came back as %v", &want, resp)
		}
	})
}

// ---- FuzzInsecureChannelTarget ----

// FuzzInsecureChannelTarget gives arbitrary target strings to
// InsecureChannel, then makes one 50 ms call on the channel. Inputs whose
// host could be anything but loopback are skipped (loopbackTarget); the
// tokens @PORT@ (a TCP port held closed on 127.0.0.1 and ::1), @TMP@ (a
// private directory) and @ABS@ (a private abstract-socket prefix) let the
// corpus reach the loopback forms. Property: no crash, hang or leak; the
// channel is refused with an error, or the call fails with a non-OK
// status (nothing listens). Targets with a NUL byte may be refused with a
// *grpc.ValueError or cut at the NUL; either is accepted for now.
func FuzzInsecureChannelTarget(f *testing.F) {
	leakcheck.Check(f)
	env := newLoopbackEnv(f)
	base := core.Live()
	f.Fuzz(func(t *testing.T, raw string) {
		target := env.expand(raw)
		if !env.loopbackTarget(target) {
			t.Skip("target might leave loopback")
		}
		guard(t, target)
		defer settle(t, base)
		ch, err := grpc.InsecureChannel(target)
		if err != nil {
			var verr *grpc.ValueError
			if strings.IndexByte(target, 0) >= 0 && !errors.As(err, &verr) {
				t.Fatalf("InsecureChannel(%q): %T %v, want a *grpc.ValueError for a NUL byte", target, err, err)
			}
			t.Logf("InsecureChannel(%q) refused: %v", target, err)
			return
		}
		defer ch.Close()
		if ch.Target() != target {
			t.Fatalf("Target() = %q, want %q", ch.Target(), target)
		}
		_, err = ch.UnaryUnary("/fuzz.T/Nothing").Call([]byte("x"), grpc.WithTimeout(50*time.Millisecond))
		var rpcErr *grpc.RpcError
		if !errors.As(err, &rpcErr) || rpcErr.Code() == grpc.StatusCodeOK {
			t.Fatalf("call on %q with nothing listening: %T %v, want an *RpcError", target, err, err)
		}
	})
}

// ---- FuzzMethodName ----

// FuzzMethodName calls arbitrary method names on a real server that knows
// one method. Property: that method answers OK with the echo; any other
// string ends with a non-OK status (UNIMPLEMENTED for well-formed names),
// never a crash, hang or leak.
func FuzzMethodName(f *testing.F) {
	leakcheck.Check(f)
	target := fuzzServe(f, grpc.MethodHandlersGenericHandler("fuzz.N", map[string]*grpc.RpcMethodHandler{"Echo": echoHandler()}))
	ch := fuzzDial(f, target)
	base := core.Live()
	f.Fuzz(func(t *testing.T, method string) {
		guard(t, method)
		defer settle(t, base)
		got, err := ch.UnaryUnary(method).Call([]byte("ping"), grpc.WithTimeout(fuzzRPCTimeout))
		if method == "/fuzz.N/Echo" {
			if err != nil || string(got.([]byte)) != "ping" {
				t.Fatalf("%q: %v, %v", method, got, err)
			}
			return
		}
		var rpcErr *grpc.RpcError
		if !errors.As(err, &rpcErr) {
			t.Fatalf("method %q: %T %v (response %q), want an *RpcError", method, err, err, got)
		}
		if wellFormedMethod(method) && rpcErr.Code() != grpc.StatusCodeUnimplemented {
			t.Fatalf("unknown method %q: %v, want UNIMPLEMENTED", method, err)
		}
	})
}

// wellFormedMethod: "/" then printable ASCII the HTTP/2 layers carry as
// is, short enough for any header-list limit.
func wellFormedMethod(m string) bool {
	return strings.HasPrefix(m, "/") && len(m) <= 1024 && printable(m) && !strings.ContainsAny(m, " %?#")
}

// ---- FuzzAddInsecurePort ----

// FuzzAddInsecurePort binds arbitrary addresses on a fresh server each,
// restricted to loopback the same way (loopbackAddress; same tokens).
// Property: a port, or an error, never a crash or leak; a server that
// bound starts and stops cleanly. NUL bytes: refused or cut, as above.
func FuzzAddInsecurePort(f *testing.F) {
	leakcheck.Check(f)
	env := newLoopbackEnv(f)
	base := core.Live()
	f.Fuzz(func(t *testing.T, raw string) {
		addr := env.expand(raw)
		if !env.loopbackAddress(addr) {
			t.Skip("address might leave loopback")
		}
		guard(t, addr)
		defer settle(t, base)
		s, err := grpc.NewServer(nil)
		if err != nil {
			t.Fatalf("NewServer: %v", err)
		}
		defer func() {
			if !s.Stop(0).Wait(fuzzRPCTimeout) {
				t.Fatalf("server that bound %q did not stop", addr)
			}
		}()
		port, err := s.AddInsecurePort(addr)
		if err != nil {
			if port != 0 {
				t.Fatalf("AddInsecurePort(%q) = %d with error %v", addr, port, err)
			}
			return
		}
		if port <= 0 || port > 65535 {
			t.Fatalf("AddInsecurePort(%q) = %d and no error", addr, port)
		}
		if err := s.Start(); err != nil {
			t.Fatalf("Start after binding %q: %v", addr, err)
		}
	})
}

// ---- FuzzServiceConfig ----

// FuzzServiceConfig creates a channel to a real loopback server with
// arbitrary JSON as its grpc.service_config, then makes one short RPC.
// Configs that may name the RLS policy are skipped: its lookupService is a
// target of its own, resolved outside this file's control (mayReachOut).
// Property: no crash, hang or leak; the RPC echoes or fails with an
// *RpcError.
func FuzzServiceConfig(f *testing.F) {
	leakcheck.Check(f)
	target := fuzzServe(f, grpc.MethodHandlersGenericHandler("fuzz.C", map[string]*grpc.RpcMethodHandler{"Echo": echoHandler()}))
	base := core.Live()
	f.Fuzz(func(t *testing.T, config string) {
		if mayReachOut(config) {
			t.Skip("service config names a policy with a target of its own")
		}
		guard(t, config)
		defer settle(t, base)
		ch, err := grpc.InsecureChannel(target, grpc.ChannelOption{Key: "grpc.service_config", Value: config})
		if err != nil {
			var verr *grpc.ValueError
			if !errors.As(err, &verr) {
				t.Fatalf("InsecureChannel with config %q: %T %v", config, err, err)
			}
			return
		}
		defer ch.Close()
		got, err := ch.UnaryUnary("/fuzz.C/Echo").Call([]byte("ping"), grpc.WithTimeout(200*time.Millisecond))
		if err == nil {
			if string(got.([]byte)) != "ping" {
				t.Fatalf("config %q: echo came back as %q", config, got)
			}
			return
		}
		var rpcErr *grpc.RpcError
		if !errors.As(err, &rpcErr) || rpcErr.Code() == grpc.StatusCodeOK {
			t.Fatalf("config %q: %T %v, want an *RpcError", config, err, err)
		}
	})
}

// mayReachOut reports a service config that might name the RLS policy,
// whose routeLookupConfig.lookupService the core dials, or a DNS name
// (xds_cluster_resolver's LOGICAL_DNS dnsHostname: that policy needs an
// XdsClient this channel lacks, and aborts without one, but no need to
// rely on it). JSON escapes are undone first, so "\u0072ls" cannot slip
// through; matching any "rls" or "dns" costs a few harmless inputs.
func mayReachOut(config string) bool {
	if i := strings.IndexByte(config, 0); i >= 0 {
		config = config[:i] // the core reads a C string
	}
	var b strings.Builder
	for i := 0; i < len(config); i++ {
		if config[i] == '\\' && i+5 < len(config) && config[i+1] == 'u' {
			if v, err := strconv.ParseUint(config[i+2:i+6], 16, 16); err == nil {
				b.WriteRune(rune(v))
				i += 5
				continue
			}
		}
		if config[i] != '\\' { // other escapes (\/) stand for the next byte
			b.WriteByte(config[i])
		}
	}
	s := strings.ToLower(b.String())
	for _, word := range []string{"rls", "lookupservice", "dns"} {
		if strings.Contains(s, word) {
			return true
		}
	}
	return false
}

// ---- FuzzMetadata ----

// FuzzMetadata checks the metadata rules on all three paths that take user
// metadata: WithMetadata on the client, SendInitialMetadata and
// SetTrailingMetadata in a handler. Two entries, so order, repeated keys
// and the index of the first bad entry are covered. Property: metadata the
// core's rules refuse (mirrored by metadataOracle) is a *grpc.ValueError
// naming the first bad entry, and never reaches the server; metadata they
// accept comes back unchanged on a real RPC, in all three directions.
func FuzzMetadata(f *testing.F) {
	leakcheck.Check(f)
	var reached atomic.Int64
	methods := map[string]*grpc.RpcMethodHandler{
		// Reflect gets the metadata under test in its request, applies it
		// as initial and trailing metadata, and answers with the two
		// errors and the invocation metadata it saw under the same keys.
		"Reflect": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			reached.Add(1)
			md, err := decodeMetadata(req.([]byte))
			if err != nil {
				return nil, err
			}
			initialErr := ctx.SendInitialMetadata(md)
			trailingErr := ctx.SetTrailingMetadata(md)
			resp := grpc.Metadata{errorEntry(initialErr), errorEntry(trailingErr)}
			return encodeMetadata(append(resp, withKeysOf(ctx.InvocationMetadata(), md)...)), nil
		}),
	}
	target := fuzzServe(f, grpc.MethodHandlersGenericHandler("fuzz.M", methods))
	reflect := fuzzDial(f, target).UnaryUnary("/fuzz.M/Reflect")
	base := core.Live()

	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		guard(t, []string{k1, v1, k2, v2})
		defer settle(t, base)
		md := grpc.Metadata{{Key: k1, Value: v1}, {Key: k2, Value: v2}}
		bad, why := metadataOracle(md)
		req := encodeMetadata(md)

		if bad >= 0 {
			before := reached.Load()
			_, err := reflect.Call(req, grpc.WithMetadata(md), grpc.WithTimeout(fuzzRPCTimeout))
			wantMetadataError(t, "WithMetadata", err, bad, why)
			if reached.Load() != before {
				t.Fatalf("an RPC with invalid metadata %q reached the server", md)
			}
			// The same metadata inside a handler: refused there too, and
			// the RPC itself goes on (SendInitialMetadata is not fatal).
			resp, call, err := reflect.WithCall(req, grpc.WithTimeout(fuzzRPCTimeout))
			if err != nil {
				t.Fatalf("RPC without client metadata: %v", err)
			}
			got := mustDecode(t, resp)
			wantHandlerError(t, "SendInitialMetadata", got[0], bad, why)
			wantHandlerError(t, "SetTrailingMetadata", got[1], bad, why)
			if n := withKeysOf(call.InitialMetadata(), md); len(n) != 0 {
				t.Fatalf("refused initial metadata was sent anyway: %q", n)
			}
			if n := withKeysOf(call.TrailingMetadata(), md); len(n) != 0 {
				t.Fatalf("refused trailing metadata was sent anyway: %q", n)
			}
			return
		}

		// Keys the core interprets itself (reservedKeys) may be refused with
		// a *ValueError on any path: the core mishandles some of them.
		clientSent := true
		resp, call, err := reflect.WithCall(req, grpc.WithMetadata(md), grpc.WithTimeout(fuzzRPCTimeout))
		var verr *grpc.ValueError
		if errors.As(err, &verr) && anyReserved(md) {
			clientSent = false
			resp, call, err = reflect.WithCall(req, grpc.WithTimeout(fuzzRPCTimeout))
		}
		if err == nil && resp == nil && anyReserved(md) {
			// A client grpc-status other than "0" makes core 1.51 end the
			// client's call with OK and no response message, whatever the
			// server answers.
			t.Logf("metadata %q: OK with no response", md)
			return
		}
		if err != nil {
			var rpcErr *grpc.RpcError
			if !errors.As(err, &rpcErr) {
				t.Fatalf("valid metadata %q: error %T %v, want an *RpcError if anything", md, err, err)
			}
			// Past the peers' header-list limits an RPC may fail, and
			// reserved keys (grpc-timeout, grpc-encoding, ...) may make it
			// fail; anything else must work.
			if wireSize(md) <= 4096 && !anyReserved(md) {
				t.Fatalf("valid metadata %q: %v", md, err)
			}
			return
		}
		got := mustDecode(t, resp)
		initialSent := handlerAccepted(t, "SendInitialMetadata", got[0], md)
		trailingSent := handlerAccepted(t, "SetTrailingMetadata", got[1], md)
		want := withoutReserved(md)
		if seen := withoutReserved(got[2:]); clientSent && !sameMetadata(seen, want) {
			t.Fatalf("client→server: sent %q, handler saw %q", want, seen)
		}
		if seen := withoutReserved(withKeysOf(call.InitialMetadata(), md)); initialSent && !sameMetadata(seen, want) {
			t.Fatalf("server initial metadata: sent %q, client got %q", want, seen)
		}
		if seen := withoutReserved(withKeysOf(call.TrailingMetadata(), md)); trailingSent && !sameMetadata(seen, want) {
			t.Fatalf("server trailing metadata: sent %q, client got %q", want, seen)
		}
	})
}

// handlerAccepted reports whether a handler-side call took valid metadata;
// it may refuse it only with a *ValueError, and only for reserved keys.
func handlerAccepted(t *testing.T, what string, got grpc.Metadatum, md grpc.Metadata) bool {
	t.Helper()
	switch {
	case got.Key == "nil":
		return true
	case anyReserved(md) && (got.Key == "*grpc.ValueError" || strings.HasPrefix(got.Key, "metadata ")):
		return false
	}
	t.Fatalf("valid metadata %q: %s in a handler failed: %s %q", md, what, got.Key, got.Value)
	return false
}

// metadataOracle restates the core's header rules (grpc_header_key_is_legal,
// grpc_header_nonbin_value_is_legal, grpc_is_binary_header) independently
// of the library: the index of the first bad entry and why (1 key, 2
// value), or -1.
func metadataOracle(md grpc.Metadata) (index, why int) {
	for i, m := range md {
		if !legalKey(m.Key) {
			return i, 1
		}
		if !binaryKey(m.Key) && !printable(m.Value) {
			return i, 2
		}
	}
	return -1, 0
}

func legalKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// binaryKey: the core needs at least one character before "-bin".
func binaryKey(k string) bool { return len(k) > 4 && strings.HasSuffix(k, "-bin") }

func printable(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return false
		}
	}
	return true
}

// reservedKeys are the legal keys core 1.51 parses into typed metadata
// (grpc_metadata_batch traits) or drops: they are sent, interpreted or
// filtered by the core, so they need not come back as sent.
var reservedKeys = map[string]bool{
	"content-type": true, "te": true, "grpc-encoding": true, "grpc-internal-encoding-request": true,
	"grpc-accept-encoding": true, "grpc-status": true, "grpc-timeout": true,
	"grpc-previous-rpc-attempts": true, "grpc-retry-pushback-ms": true, "user-agent": true,
	"grpc-message": true, "host": true, "endpoint-load-metrics-bin": true,
	"grpc-server-stats-bin": true, "grpc-trace-bin": true, "grpc-tags-bin": true,
	"grpclb_client_stats": true, "lb-cost-bin": true, "lb-token": true, "content-length": true,
}

func anyReserved(md grpc.Metadata) bool {
	for _, m := range md {
		if reservedKeys[m.Key] {
			return true
		}
	}
	return false
}

func withoutReserved(md grpc.Metadata) grpc.Metadata {
	var out grpc.Metadata
	for _, m := range md {
		if !reservedKeys[m.Key] {
			out = append(out, m)
		}
	}
	return out
}

// withKeysOf keeps the entries of got whose key is one of sent's, in order.
func withKeysOf(got, sent grpc.Metadata) grpc.Metadata {
	var out grpc.Metadata
	for _, m := range got {
		for _, s := range sent {
			if m.Key == s.Key {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

func sameMetadata(a, b grpc.Metadata) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// wireSize is the HPACK size of md (RFC 7541 §4.1), binary values base64'd.
func wireSize(md grpc.Metadata) int {
	n := 0
	for _, m := range md {
		v := len(m.Value)
		if binaryKey(m.Key) {
			v = (v + 2) / 3 * 4
		}
		n += len(m.Key) + v + 32
	}
	return n
}

func wantMetadataError(t *testing.T, what string, err error, index, why int) {
	t.Helper()
	var verr *grpc.ValueError
	var merr *core.MetadataError
	if !errors.As(err, &verr) || !errors.As(err, &merr) {
		t.Fatalf("%s: err = %T %v, want a *grpc.ValueError wrapping a *core.MetadataError", what, err, err)
	}
	if merr.Index != index || merr.Why != why {
		t.Fatalf("%s: refused entry %d (why %d), the core's rules refuse entry %d (why %d): %v",
			what, merr.Index, merr.Why, index, why, err)
	}
}

// errorEntry carries a handler-side error to the client: its kind in the
// key, its text in the value ("" for none).
func errorEntry(err error) grpc.Metadatum {
	var verr *grpc.ValueError
	var merr *core.MetadataError
	switch {
	case err == nil:
		return grpc.Metadatum{Key: "nil"}
	case errors.As(err, &verr) && errors.As(err, &merr):
		return grpc.Metadatum{Key: fmt.Sprintf("metadata %d %d", merr.Index, merr.Why), Value: err.Error()}
	default:
		return grpc.Metadatum{Key: fmt.Sprintf("%T", err), Value: err.Error()}
	}
}

func wantHandlerError(t *testing.T, what string, got grpc.Metadatum, index, why int) {
	t.Helper()
	if want := fmt.Sprintf("metadata %d %d", index, why); got.Key != want {
		t.Fatalf("%s in a handler: error %s %q, want a ValueError for entry %d (why %d)", what, got.Key, got.Value, index, why)
	}
}

// encodeMetadata is the request and response encoding of FuzzMetadata:
// length-prefixed keys and values, so any bytes survive.
func encodeMetadata(md grpc.Metadata) []byte {
	var b []byte
	for _, m := range md {
		b = binary.AppendUvarint(b, uint64(len(m.Key)))
		b = append(b, m.Key...)
		b = binary.AppendUvarint(b, uint64(len(m.Value)))
		b = append(b, m.Value...)
	}
	return b
}

func decodeMetadata(b []byte) (grpc.Metadata, error) {
	var md grpc.Metadata
	next := func() (string, error) {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return "", errors.New("bad metadata encoding")
		}
		s := string(b[k : k+int(n)])
		b = b[k+int(n):]
		return s, nil
	}
	for len(b) > 0 {
		k, err := next()
		if err != nil {
			return nil, err
		}
		v, err := next()
		if err != nil {
			return nil, err
		}
		md = append(md, grpc.Metadatum{Key: k, Value: v})
	}
	return md, nil
}

func mustDecode(t *testing.T, resp any) grpc.Metadata {
	t.Helper()
	b, ok := resp.([]byte)
	if !ok {
		t.Fatalf("response of type %T, want []byte", resp)
	}
	md, err := decodeMetadata(b)
	if err != nil || len(md) < 2 {
		t.Fatalf("undecodable response %q: %v", b, err)
	}
	return md
}

// ---- shared helpers ----

// fuzzServe starts one server on 127.0.0.1 for the whole fuzz target (the
// per-test serve helper takes a *testing.T) and stops it at the end.
func fuzzServe(f *testing.F, handler grpc.GenericRpcHandler) string {
	f.Helper()
	s, err := grpc.NewServer(nil, grpc.WithHandlers(handler))
	if err != nil {
		f.Fatalf("NewServer: %v", err)
	}
	port, err := s.AddInsecurePort("127.0.0.1:0")
	if err != nil {
		f.Fatalf("AddInsecurePort: %v", err)
	}
	if err := s.Start(); err != nil {
		f.Fatalf("Start: %v", err)
	}
	f.Cleanup(func() {
		if !s.Stop(0).Wait(testTimeout) {
			f.Errorf("server did not stop within %v", testTimeout)
		}
	})
	return fmt.Sprintf("127.0.0.1:%d", port)
}

func fuzzDial(f *testing.F, target string) *grpc.Channel {
	f.Helper()
	ch, err := grpc.InsecureChannel(target)
	if err != nil {
		f.Fatalf("InsecureChannel: %v", err)
	}
	f.Cleanup(func() { ch.Close() })
	return ch
}

// guard turns an input that runs past hangAfter into a crash with every
// goroutine's stack, which the fuzzer records with the input.
func guard(t *testing.T, input any) {
	timer := time.AfterFunc(hangAfter, func() {
		debug.SetTraceback("all")
		panic(fmt.Sprintf("%s: input %q still running after %v", t.Name(), input, hangAfter))
	})
	t.Cleanup(func() { timer.Stop() })
}

// settle waits until the input's calls are released and only the target's
// own channels and servers are alive (base, taken before the first input),
// so a leak is pinned on the input that made it: in fuzzing mode the
// package's leakcheck runs too late to say which.
func settle(t *testing.T, base cgo.Live) {
	t.Helper()
	deadline := time.Now().Add(leakcheck.Wait)
	for {
		l := core.Live()
		if l.Calls == 0 && l.Channels == base.Channels && l.Servers == base.Servers && l.Credentials == base.Credentials {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("leak: %+v alive after the input, want no calls and %+v", l, base)
		}
		time.Sleep(time.Millisecond)
	}
}

// ---- loopback-only targets and addresses ----

// loopbackEnv holds what the @PORT@, @TMP@ and @ABS@ tokens stand for.
type loopbackEnv struct {
	port     int    // bound without listening on 127.0.0.1 and ::1: refused
	tmp      string // unix sockets only in here
	abstract string // abstract sockets only with this prefix
	services map[string]bool
}

func newLoopbackEnv(f *testing.F) *loopbackEnv {
	return &loopbackEnv{port: closedPort(f), tmp: f.TempDir(),
		abstract: fmt.Sprintf("grpcpy-fuzz-%d-", os.Getpid()), services: tcpServices()}
}

func (e *loopbackEnv) expand(s string) string {
	return strings.NewReplacer("@PORT@", strconv.Itoa(e.port), "@TMP@", e.tmp, "@ABS@", e.abstract).Replace(s)
}

// closedPort reserves a TCP port on 127.0.0.1 and ::1 by binding sockets
// that never listen: connecting is refused at once, and no other process
// (nor a server under test) can take the port while the target runs.
func closedPort(f *testing.F) int {
	for range 20 {
		fd4, port, err := bindOnly(syscall.AF_INET, 0)
		if err != nil {
			f.Fatalf("reserving a port: %v", err)
		}
		fd6, _, err := bindOnly(syscall.AF_INET6, port)
		if err != nil {
			syscall.Close(fd4)
			continue
		}
		f.Cleanup(func() { syscall.Close(fd4); syscall.Close(fd6) })
		return port
	}
	f.Fatal("no port free on both 127.0.0.1 and ::1")
	return 0
}

func bindOnly(family, port int) (fd, bound int, err error) {
	fd, err = syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, 0, err
	}
	var sa syscall.Sockaddr = &syscall.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}
	if family == syscall.AF_INET6 {
		if err = syscall.SetsockoptInt(fd, syscall.IPPROTO_IPV6, syscall.IPV6_V6ONLY, 1); err == nil {
			sa = &syscall.SockaddrInet6{Port: port, Addr: [16]byte{15: 1}}
		}
	}
	if err == nil {
		err = syscall.Bind(fd, sa)
	}
	if err == nil {
		sa, err = syscall.Getsockname(fd)
	}
	if err != nil {
		syscall.Close(fd)
		return -1, 0, err
	}
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		bound = a.Port
	case *syscall.SockaddrInet6:
		bound = a.Port
	}
	return fd, bound, nil
}

// loopbackTarget reports whether the core 1.51 client can only resolve
// target to our closed loopback port, a socket in e.tmp or an abstract
// socket under e.abstract, with no DNS query: the mirror of
// ResolverRegistry's choice (a registered scheme, else "dns:///" + target)
// and of the dns, ipv4/ipv6 and unix resolvers' parsing. Anything it is
// unsure of is false. "localhost" is false too: c-ares asks a DNS server
// for its AAAA record, /etc/hosts having none.
func (e *loopbackEnv) loopbackTarget(target string) bool {
	if i := strings.IndexByte(target, 0); i >= 0 {
		target = target[:i] // all the core can see of it
	}
	if u, ok := parseURI(target); ok {
		switch u.scheme {
		case "dns":
			return e.dnsLoopback(u)
		case "ipv4", "ipv6":
			return e.sockaddrLoopback(u)
		case "unix", "unix-abstract":
			return e.localSockets(u)
		}
		// Other schemes may be registered (xds, google-c2p) and reach
		// out; unregistered ones fall back to dns with a host that is
		// the scheme, no literal.
		return false
	}
	u, ok := parseURI("dns:///" + target)
	if !ok {
		return true // no resolver at all: the channel fails on its own
	}
	return e.dnsLoopback(u)
}

func (e *loopbackEnv) dnsLoopback(u uri) bool {
	if u.authority != "" {
		return false // a DNS server to ask
	}
	name := strings.TrimPrefix(u.path, "/")
	if name == "" {
		return true // the resolver refuses a URI without a name
	}
	host, port, ok := splitHostPort(name)
	return ok && (host == "127.0.0.1" || host == "::1") && e.isClosedPort(port)
}

func (e *loopbackEnv) sockaddrLoopback(u uri) bool {
	want := "127.0.0.1"
	if u.scheme == "ipv6" {
		want = "::1"
	}
	for _, a := range strings.Split(u.path, ",") {
		host, port, ok := splitHostPort(strings.TrimPrefix(a, "/"))
		if !ok || host != want || !e.isClosedPort(port) {
			return false
		}
	}
	return u.authority == ""
}

func (e *loopbackEnv) localSockets(u uri) bool {
	for _, p := range strings.Split(u.path, ",") {
		if !e.localSocket(u.scheme, p) {
			return false
		}
	}
	return u.authority == ""
}

// localSocket: a file directly inside e.tmp, or an abstract name under
// e.abstract. A NUL (from %00) only shortens the path within e.tmp.
func (e *loopbackEnv) localSocket(scheme, path string) bool {
	if scheme == "unix-abstract" {
		return strings.HasPrefix(path, e.abstract)
	}
	name, ok := strings.CutPrefix(path, e.tmp+"/")
	return ok && name != "" && name != "." && name != ".." && !strings.Contains(name, "/")
}

// isClosedPort: digits only, naming our closed port (leading zeros are
// the one freedom; "" would mean 443).
func (e *loopbackEnv) isClosedPort(port string) bool {
	if port == "" || strings.Trim(port, "0123456789") != "" {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n == e.port
}

// loopbackAddress reports whether grpc_server_add_http2_port (core 1.51:
// percent-decode, then "unix:", "unix-abstract:", "external:" or a
// blocking getaddrinfo of host:port) can only bind a loopback host, with
// port 0 or our closed port (after glibc's parse), or fail; or a socket
// of our own.
// "localhost" is fine here: getaddrinfo finds it in /etc/hosts.
func (e *loopbackEnv) loopbackAddress(addr string) bool {
	if i := strings.IndexByte(addr, 0); i >= 0 {
		addr = addr[:i]
	}
	if strings.HasPrefix(addr, "external:") {
		return true // an acceptor fed by the application: no socket
	}
	d := percentDecode(addr)
	if i := strings.IndexByte(d, 0); i >= 0 {
		d = d[:i] // getaddrinfo and the socket path read C strings
	}
	if p, ok := strings.CutPrefix(d, "unix:"); ok {
		return e.localSocket("unix", p)
	}
	if p, ok := strings.CutPrefix(d, "unix-abstract:"); ok {
		return e.localSocket("unix-abstract", p)
	}
	host, port, ok := splitHostPort(d)
	if !ok {
		return true // refused before any lookup
	}
	if host != "127.0.0.1" && host != "::1" && host != "localhost" {
		return false
	}
	if port == "" {
		return false // "https": 443
	}
	if n, ok := strtoul(port); ok {
		n &= 0xffff // glibc keeps the low 16 bits: "65536" binds port 0, "66536" port 1000
		return n == 0 || n == uint64(e.port)
	}
	return !e.services[port] // a service name getaddrinfo cannot map fails
}

// strtoul mirrors glibc getaddrinfo's service parse: strtoul(s, &end, 10)
// with nothing left over; a negative number wraps, an overflow saturates.
func strtoul(s string) (uint64, bool) {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg, s = s[0] == '-', s[1:]
	}
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		n = ^uint64(0) // ERANGE: ULONG_MAX
	}
	if neg {
		n = -n
	}
	return n, true
}

// tcpServices are the names getaddrinfo maps to ports: /etc/services, and
// the two the core maps itself when that fails.
func tcpServices() map[string]bool {
	names := map[string]bool{"http": true, "https": true}
	file, err := os.Open("/etc/services")
	if err != nil {
		return names
	}
	defer file.Close()
	r := bufio.NewReader(file)
	for {
		line, err := r.ReadString('\n')
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) >= 2 {
			names[fields[0]] = true
			for _, alias := range fields[2:] {
				names[alias] = true
			}
		}
		if err == io.EOF {
			return names
		}
		if err != nil {
			return names
		}
	}
}

type uri struct{ scheme, authority, path string }

// parseURI mirrors grpc_core::URI::Parse (core 1.51) for what the
// resolvers read; false where the core refuses the text.
func parseURI(s string) (uri, bool) {
	colon := strings.IndexByte(s, ':')
	if colon <= 0 {
		return uri{}, false
	}
	scheme := s[:colon]
	if strings.Trim(scheme, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+-.") != "" {
		return uri{}, false
	}
	if c := scheme[0]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
		return uri{}, false
	}
	u := uri{scheme: scheme}
	rest := s[colon+1:]
	if r, ok := strings.CutPrefix(rest, "//"); ok {
		end := strings.IndexAny(r, "/?#")
		if end < 0 {
			end = len(r)
		}
		u.authority, rest = percentDecode(r[:end]), r[end:]
	}
	end := strings.IndexAny(rest, "?#")
	if end < 0 {
		end = len(rest)
	}
	u.path, rest = percentDecode(rest[:end]), rest[end:]
	if q, ok := strings.CutPrefix(rest, "?"); ok {
		end := strings.IndexByte(q, '#')
		if end < 0 {
			end = len(q)
		}
		if end == 0 || !queryOrFragment(q[:end]) {
			return uri{}, false
		}
		rest = q[end:]
	}
	if fr, ok := strings.CutPrefix(rest, "#"); ok && !queryOrFragment(fr) {
		return uri{}, false
	}
	return u, true
}

// queryOrFragment: RFC 3986 pchar, '/', '?' and '%'.
func queryOrFragment(s string) bool {
	return strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/?%") == ""
}

// percentDecode mirrors grpc_core::URI::PercentDecode: "%" and two hex
// digits become that byte; anything else passes through.
func percentDecode(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// splitHostPort mirrors grpc_core::SplitHostPort: "[host]:port" with a
// colon inside the brackets, "host:port" with exactly one colon, else the
// whole text is the host.
func splitHostPort(name string) (host, port string, ok bool) {
	if strings.HasPrefix(name, "[") {
		rb := strings.IndexByte(name[1:], ']')
		if rb < 0 {
			return "", "", false
		}
		rb++
		switch {
		case rb == len(name)-1:
		case name[rb+1] == ':':
			port = name[rb+2:]
		default:
			return "", "", false
		}
		host = name[1:rb]
		if !strings.Contains(host, ":") {
			return "", "", false
		}
		return host, port, true
	}
	if c := strings.IndexByte(name, ':'); c >= 0 && strings.IndexByte(name[c+1:], ':') < 0 {
		return name[:c], name[c+1:], true
	}
	return name, "", true
}
