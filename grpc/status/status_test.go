package status_test

import (
	"errors"
	"fmt"
	"iter"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/grpc/status"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

const rpcTimeout = 10 * time.Second

// richStatus is the errors example's status with a second detail: a
// QuotaFailure and a BadRequest, packed as Any.
func richStatus(t testing.TB) *spb.Status {
	t.Helper()
	quota, err := anypb.New(&errdetails.QuotaFailure{Violations: []*errdetails.QuotaFailure_Violation{
		{Subject: "name: Alice", Description: "Limit one greeting per person"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	bad, err := anypb.New(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
		{Field: "name", Description: "must not be empty"},
		{Field: "greeting", Description: "unknown language: ✓"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return &spb.Status{
		Code:    int32(grpc.StatusCodeResourceExhausted),
		Message: "Request limit exceeded.",
		Details: []*anypb.Any{quota, bad},
	}
}

func detailsEntry(t testing.TB, s *spb.Status) grpc.Metadatum {
	t.Helper()
	b, err := proto.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return grpc.Metadatum{Key: status.GrpcDetailsMetadataKey, Value: string(b)}
}

// serve starts a grpcpy server on 127.0.0.1 with a unary method "Unary"
// and a unary-stream method "Stream" (raw bytes in and out), and returns
// a channel to it. Both run behavior with the request as a case name.
func serve(t *testing.T, behavior func(name string, context *grpc.ServicerContext) []byte) *grpc.Channel {
	t.Helper()
	leakcheck.Check(t)
	server, err := grpc.NewServer(grpc.NewThreadPoolExecutor(4))
	if err != nil {
		t.Fatal(err)
	}
	unary := func(request any, context *grpc.ServicerContext) (any, error) {
		return behavior(string(request.([]byte)), context), nil
	}
	stream := func(request any, context *grpc.ServicerContext) iter.Seq2[any, error] {
		return func(yield func(any, error) bool) {
			if !yield([]byte("first"), nil) {
				return
			}
			yield(behavior(string(request.([]byte)), context), nil)
		}
	}
	err = server.AddGenericRpcHandlers(grpc.MethodHandlersGenericHandler("grpcpy.test.Rich", map[string]*grpc.RpcMethodHandler{
		"Unary":  grpc.UnaryUnaryRpcMethodHandler(unary),
		"Stream": grpc.UnaryStreamRpcMethodHandler(stream),
	}))
	if err != nil {
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
		server.Stop(grpc.NoGrace).Wait()
	})
	return channel
}

// call makes a unary call and returns its Call: the *grpc.RpcError of a
// failed RPC, WithCall's Call otherwise.
func call(t *testing.T, channel *grpc.Channel, name string) grpc.Call {
	t.Helper()
	_, c, err := channel.UnaryUnary("/grpcpy.test.Rich/Unary").WithCall([]byte(name), grpc.WithTimeout(rpcTimeout))
	var rpcError *grpc.RpcError
	if errors.As(err, &rpcError) {
		return rpcError
	}
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return c
}

// TestRichStatusRoundTrip: a grpcpy server aborts with ToStatus of a status
// with QuotaFailure and BadRequest details; the client's FromCall returns
// it, and the details unpack.
func TestRichStatusRoundTrip(t *testing.T) {
	want := richStatus(t)
	channel := serve(t, func(name string, context *grpc.ServicerContext) []byte {
		st, err := status.ToStatus(want)
		if err != nil {
			t.Error(err)
			return nil
		}
		context.AbortWithStatus(st)
		return nil
	})
	c := call(t, channel, "rich")
	if _, ok := c.(*grpc.RpcError); !ok {
		t.Fatalf("the RPC succeeded; want RESOURCE_EXHAUSTED")
	}
	if c.Code() != grpc.StatusCodeResourceExhausted || c.Details() != "Request limit exceeded." {
		t.Errorf("call: %s %q, want RESOURCE_EXHAUSTED %q", c.Code(), c.Details(), "Request limit exceeded.")
	}
	got, err := status.FromCall(c)
	if err != nil {
		t.Fatalf("FromCall: %v", err)
	}
	if !proto.Equal(got, want) {
		t.Fatalf("FromCall = %v, want %v", got, want)
	}
	checkDetails(t, got)
}

// checkDetails unpacks the two details as the errors example's client
// does (detail.Is, detail.Unpack).
func checkDetails(t *testing.T, got *spb.Status) {
	t.Helper()
	if len(got.GetDetails()) != 2 {
		t.Fatalf("%d details, want 2", len(got.GetDetails()))
	}
	quota := &errdetails.QuotaFailure{}
	if !got.Details[0].MessageIs(quota) {
		t.Fatalf("detail 0 is %s, want a QuotaFailure", got.Details[0].GetTypeUrl())
	}
	if err := got.Details[0].UnmarshalTo(quota); err != nil {
		t.Fatal(err)
	}
	if v := quota.GetViolations(); len(v) != 1 || v[0].GetSubject() != "name: Alice" || v[0].GetDescription() != "Limit one greeting per person" {
		t.Errorf("QuotaFailure = %v", quota)
	}
	detail, err := got.Details[1].UnmarshalNew()
	if err != nil {
		t.Fatal(err)
	}
	bad, ok := detail.(*errdetails.BadRequest)
	if !ok {
		t.Fatalf("detail 1 is %T, want *errdetails.BadRequest", detail)
	}
	if v := bad.GetFieldViolations(); len(v) != 2 || v[0].GetField() != "name" || v[1].GetDescription() != "unknown language: ✓" {
		t.Errorf("BadRequest = %v", bad)
	}
}

// TestFromCallStreaming: FromCall reads a response stream's Call (the
// iterator itself, once drained) and the *grpc.RpcError it ended with.
func TestFromCallStreaming(t *testing.T) {
	want := richStatus(t)
	channel := serve(t, func(name string, context *grpc.ServicerContext) []byte {
		st, _ := status.ToStatus(want)
		context.AbortWithStatus(st)
		return nil
	})
	it, err := channel.UnaryStream("/grpcpy.test.Rich/Stream").Call([]byte("rich"), grpc.WithTimeout(rpcTimeout))
	if err != nil {
		t.Fatal(err)
	}
	var responses int
	var end error
	for _, err := range it.All() {
		if err != nil {
			end = err
			break
		}
		responses++
	}
	var rpcError *grpc.RpcError
	if responses != 1 || !errors.As(end, &rpcError) {
		t.Fatalf("%d responses, end %v; want 1 and an RpcError", responses, end)
	}
	for _, c := range []struct {
		what string
		call grpc.Call
	}{{"the RpcError", rpcError}, {"the CallIterator", it}} {
		got, err := status.FromCall(c.call)
		if err != nil || !proto.Equal(got, want) {
			t.Errorf("FromCall(%s) = %v, %v; want the rich status", c.what, got, err)
		}
	}
}

// TestFromCall covers from_call's other outcomes: no entry (None), the
// mismatches grpcio-status raises ValueError for, an entry that does not
// parse, an OK call with a status, and the first of two entries.
func TestFromCall(t *testing.T) {
	type outcome struct {
		code    grpc.StatusCode
		details string
		entries []grpc.Metadatum
	}
	cases := map[string]outcome{
		"plain": {code: grpc.StatusCodeNotFound, details: "no such greeting"},
		"other metadata": {code: grpc.StatusCodeNotFound, details: "x",
			entries: []grpc.Metadatum{{Key: "grpc-status-details", Value: "not -bin"}, {Key: "other-bin", Value: "\x08\x05"}}},
		"code mismatch": {code: grpc.StatusCodeInternal, details: "m",
			entries: []grpc.Metadatum{detailsEntry(t, &spb.Status{Code: int32(grpc.StatusCodeNotFound), Message: "m"})}},
		"message mismatch": {code: grpc.StatusCodeInternal, details: "call details",
			entries: []grpc.Metadatum{detailsEntry(t, &spb.Status{Code: int32(grpc.StatusCodeInternal), Message: "proto message"})}},
		"invalid code": {code: grpc.StatusCodeInternal, details: "m",
			entries: []grpc.Metadatum{detailsEntry(t, &spb.Status{Code: 42, Message: "m"})}},
		"garbage": {code: grpc.StatusCodeInternal, details: "m",
			entries: []grpc.Metadatum{{Key: status.GrpcDetailsMetadataKey, Value: "\xff\xff\xff"}}},
		"ok": {code: grpc.StatusCodeOK,
			entries: []grpc.Metadatum{detailsEntry(t, &spb.Status{})}},
		"first wins": {code: grpc.StatusCodeAborted, details: "first",
			entries: []grpc.Metadatum{
				detailsEntry(t, &spb.Status{Code: int32(grpc.StatusCodeAborted), Message: "first"}),
				{Key: status.GrpcDetailsMetadataKey, Value: "\xff"},
			}},
	}
	channel := serve(t, func(name string, context *grpc.ServicerContext) []byte {
		o := cases[name]
		if err := context.SetTrailingMetadata(o.entries); err != nil {
			t.Errorf("%s: SetTrailingMetadata: %v", name, err)
		}
		if o.code != grpc.StatusCodeOK {
			context.Abort(o.code, o.details)
		}
		return []byte("ok")
	})
	for _, c := range []struct {
		name string
		want *spb.Status // or
		err  string      // the *grpc.ValueError's message
	}{
		{name: "plain"},
		{name: "other metadata"},
		{name: "code mismatch", err: "Code in Status proto (StatusCode.NOT_FOUND) doesn't match status code (StatusCode.INTERNAL)"},
		{name: "message mismatch", err: "Message in Status proto (proto message) doesn't match status details (call details)"},
		{name: "invalid code", err: "Invalid status code 42"},
		{name: "garbage", err: "Error parsing message with type 'google.rpc.Status'"},
		{name: "ok", want: &spb.Status{}},
		{name: "first wins", want: &spb.Status{Code: int32(grpc.StatusCodeAborted), Message: "first"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := status.FromCall(call(t, channel, c.name))
			if c.err != "" {
				var valueError *grpc.ValueError
				if got != nil || !errors.As(err, &valueError) || valueError.Msg != c.err {
					t.Fatalf("FromCall = %v, %v; want a ValueError %q", got, err, c.err)
				}
				if decodeError := errors.Is(err, proto.Error); decodeError != (c.name == "garbage") {
					t.Errorf("errors.Is(err, proto.Error) = %v", decodeError)
				}
				return
			}
			if err != nil {
				t.Fatalf("FromCall: %v", err)
			}
			if c.want == nil && got != nil || c.want != nil && (got == nil || !proto.Equal(got, c.want)) {
				t.Fatalf("FromCall = %v, want %v", got, c.want)
			}
		})
	}
}

// TestAbortWithOKStatus: an OK google.rpc.Status given to AbortWithStatus
// ends the RPC with UNKNOWN (abort refuses OK, as grpcio's), so the client
// sees the code mismatch grpcio-status reports.
func TestAbortWithOKStatus(t *testing.T) {
	channel := serve(t, func(name string, context *grpc.ServicerContext) []byte {
		st, err := status.ToStatus(&spb.Status{})
		if err != nil {
			t.Error(err)
		}
		if st.Code != grpc.StatusCodeOK {
			t.Errorf("ToStatus code = %s", st.Code)
		}
		context.AbortWithStatus(st)
		return nil
	})
	c := call(t, channel, "ok")
	_, err := status.FromCall(c)
	var valueError *grpc.ValueError
	want := "Code in Status proto (StatusCode.OK) doesn't match status code (StatusCode.UNKNOWN)"
	if c.Code() != grpc.StatusCodeUnknown || !errors.As(err, &valueError) || valueError.Msg != want {
		t.Fatalf("call %s, FromCall error %v; want UNKNOWN and %q", c.Code(), err, want)
	}
}

func TestToStatus(t *testing.T) {
	s := richStatus(t)
	got, err := status.ToStatus(s)
	if err != nil {
		t.Fatal(err)
	}
	serialized, _ := proto.Marshal(s)
	want := grpc.Status{
		Code:             grpc.StatusCodeResourceExhausted,
		Details:          "Request limit exceeded.",
		TrailingMetadata: grpc.Metadata{{Key: "grpc-status-details-bin", Value: string(serialized)}},
	}
	if got.Code != want.Code || got.Details != want.Details || len(got.TrailingMetadata) != 1 || got.TrailingMetadata[0] != want.TrailingMetadata[0] {
		t.Errorf("ToStatus = %+v, want %+v", got, want)
	}

	for _, code := range []int32{-1, 17, 42} {
		_, err := status.ToStatus(&spb.Status{Code: code})
		var valueError *grpc.ValueError
		if want := fmt.Sprintf("Invalid status code %d", code); !errors.As(err, &valueError) || valueError.Msg != want {
			t.Errorf("ToStatus(code %d) error = %v, want ValueError %q", code, err, want)
		}
	}
	for _, code := range grpc.StatusCodes {
		if st, err := status.ToStatus(&spb.Status{Code: int32(code)}); err != nil || st.Code != code {
			t.Errorf("ToStatus(code %d) = %v, %v", code, st.Code, err)
		}
	}
	var typeError *grpc.TypeError
	if _, err := status.ToStatus(nil); !errors.As(err, &typeError) {
		t.Errorf("ToStatus(nil) error = %v, want a TypeError", err)
	}
	if _, err := status.ToStatus(&spb.Status{Code: 3, Message: "\xff"}); err == nil {
		t.Errorf("ToStatus with a message that is not UTF-8: no error")
	}
}

func TestFromCallNil(t *testing.T) {
	var typeError *grpc.TypeError
	if _, err := status.FromCall(nil); !errors.As(err, &typeError) {
		t.Errorf("FromCall(nil) error = %v, want a TypeError", err)
	}
	var unset *grpc.RpcError
	if _, err := status.FromCall(unset); !errors.As(err, &typeError) {
		t.Errorf("FromCall((*grpc.RpcError)(nil)) error = %v, want a TypeError", err)
	}
}
