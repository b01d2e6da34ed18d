// Package status_test cross-tests grpcpy's grpc/status (grpcio-status's
// rpc_status) against grpc-go v1.85.0's status package, in one process
// that links both (and the one google.rpc.Status / errdetails Go package
// they share): a grpc-go client reads a grpcpy server's rich status with
// status.FromError(err).Details(), and grpcpy's FromCall reads a grpc-go
// server's status.WithDetails.
package status_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	grpcgo "google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	gostatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/grpc/status"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

const (
	rpcTimeout = 10 * time.Second
	method     = "/grpcpy.test.Rich/Unary"
)

var (
	quotaFailure = &errdetails.QuotaFailure{Violations: []*errdetails.QuotaFailure_Violation{
		{Subject: "name: Alice", Description: "Limit one greeting per person"},
	}}
	badRequest = &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
		{Field: "name", Description: "must not be empty"},
		{Field: "greeting", Description: "unknown language: ✓"},
	}}
)

func richStatus(t *testing.T) *spb.Status {
	t.Helper()
	var details []*anypb.Any
	for _, d := range []proto.Message{quotaFailure, badRequest} {
		a, err := anypb.New(d)
		if err != nil {
			t.Fatal(err)
		}
		details = append(details, a)
	}
	return &spb.Status{Code: int32(codes.ResourceExhausted), Message: "Request limit exceeded.", Details: details}
}

// TestGrpcGoClientReadsGrpcpyRichStatus: a grpcpy server aborts with
// ToStatus(rich status); grpc-go's client sees the code, the message and,
// through status.FromError(err).Details(), the two details.
func TestGrpcGoClientReadsGrpcpyRichStatus(t *testing.T) {
	leakcheck.Check(t)
	want := richStatus(t)
	server, err := grpc.NewServer(grpc.NewThreadPoolExecutor(2))
	if err != nil {
		t.Fatal(err)
	}
	abort := func(request any, context *grpc.ServicerContext) (any, error) {
		st, err := status.ToStatus(want)
		if err != nil {
			return nil, err
		}
		context.AbortWithStatus(st)
		return nil, nil
	}
	server.AddGenericRpcHandlers(grpc.MethodHandlersGenericHandler("grpcpy.test.Rich",
		map[string]*grpc.RpcMethodHandler{"Unary": grpc.UnaryUnaryRpcMethodHandler(abort)}))
	port, err := server.AddInsecurePort("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Stop(grpc.NoGrace).Wait() })

	conn, err := grpcgo.NewClient(fmt.Sprintf("127.0.0.1:%d", port), grpcgo.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
	defer cancel()
	err = conn.Invoke(ctx, method, &emptypb.Empty{}, &emptypb.Empty{})
	st, ok := gostatus.FromError(err)
	if !ok {
		t.Fatalf("grpc-go: not a status error: %v", err)
	}
	t.Logf("grpc-go client: status.FromError(err) = code %s, message %q", st.Code(), st.Message())
	if st.Code() != codes.ResourceExhausted || st.Message() != "Request limit exceeded." {
		t.Errorf("grpc-go client: %s %q, want ResourceExhausted %q", st.Code(), st.Message(), "Request limit exceeded.")
	}
	details := st.Details()
	for i, d := range details {
		t.Logf("grpc-go client: Details()[%d] = %T %v", i, d, d)
	}
	if len(details) != 2 {
		t.Fatalf("grpc-go client: %d details, want 2: %v", len(details), details)
	}
	if q, ok := details[0].(*errdetails.QuotaFailure); !ok || !proto.Equal(q, quotaFailure) {
		t.Errorf("grpc-go client: detail 0 = %v, want %v", details[0], quotaFailure)
	}
	if b, ok := details[1].(*errdetails.BadRequest); !ok || !proto.Equal(b, badRequest) {
		t.Errorf("grpc-go client: detail 1 = %v, want %v", details[1], badRequest)
	}
	if !proto.Equal(st.Proto(), want) {
		t.Errorf("grpc-go client: Proto() = %v, want %v", st.Proto(), want)
	}
}

// TestGrpcpyReadsGrpcGoWithDetails: a grpc-go server returns
// status.New(...).WithDetails(...).Err(); grpcpy's FromCall on the client's
// *grpc.RpcError returns the same google.rpc.Status.
func TestGrpcpyReadsGrpcGoWithDetails(t *testing.T) {
	leakcheck.Check(t)
	st, err := gostatus.New(codes.ResourceExhausted, "Request limit exceeded.").WithDetails(quotaFailure, badRequest)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpcgo.NewServer(grpcgo.UnknownServiceHandler(func(_ any, stream grpcgo.ServerStream) error {
		if err := stream.RecvMsg(&emptypb.Empty{}); err != nil {
			return err
		}
		return st.Err()
	}))
	go gs.Serve(lis)
	defer gs.Stop()

	channel, err := grpc.InsecureChannel(lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer channel.Close()
	_, err = channel.UnaryUnary(method).Call([]byte{}, grpc.WithTimeout(rpcTimeout))
	var rpcError *grpc.RpcError
	if !errors.As(err, &rpcError) {
		t.Fatalf("grpcpy client: %v, want an RpcError", err)
	}
	if rpcError.Code() != grpc.StatusCodeResourceExhausted || rpcError.Details() != "Request limit exceeded." {
		t.Errorf("grpcpy client: %s %q", rpcError.Code(), rpcError.Details())
	}
	got, err := status.FromCall(rpcError)
	if err != nil {
		t.Fatalf("FromCall: %v", err)
	}
	if !proto.Equal(got, st.Proto()) {
		t.Fatalf("FromCall = %v, want %v", got, st.Proto())
	}
	q, b := &errdetails.QuotaFailure{}, &errdetails.BadRequest{}
	if len(got.Details) != 2 || got.Details[0].UnmarshalTo(q) != nil || got.Details[1].UnmarshalTo(b) != nil ||
		!proto.Equal(q, quotaFailure) || !proto.Equal(b, badRequest) {
		t.Fatalf("details do not unpack to the QuotaFailure and BadRequest sent: %v", got.Details)
	}
	t.Logf("grpcpy client: FromCall = code %d, message %q, details %v, %v", got.Code, got.Message, q, b)
}

// TestGrpcpyReadsGrpcGoMismatch: a grpc-go server that sets the
// grpc-status-details-bin trailer by hand, with a code other than the
// status it returns; grpcpy's FromCall answers with grpcio-status's
// ValueError.
func TestGrpcpyReadsGrpcGoMismatch(t *testing.T) {
	leakcheck.Check(t)
	inner, err := proto.Marshal(&spb.Status{Code: int32(codes.NotFound), Message: "m"})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpcgo.NewServer(grpcgo.UnknownServiceHandler(func(_ any, stream grpcgo.ServerStream) error {
		if err := stream.RecvMsg(&emptypb.Empty{}); err != nil {
			return err
		}
		stream.SetTrailer(map[string][]string{"grpc-status-details-bin": {string(inner)}})
		return gostatus.Error(codes.Internal, "m")
	}))
	go gs.Serve(lis)
	defer gs.Stop()

	channel, err := grpc.InsecureChannel(lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer channel.Close()
	_, err = channel.UnaryUnary(method).Call([]byte{}, grpc.WithTimeout(rpcTimeout))
	var rpcError *grpc.RpcError
	if !errors.As(err, &rpcError) {
		t.Fatalf("grpcpy client: %v, want an RpcError", err)
	}
	got, err := status.FromCall(rpcError)
	var valueError *grpc.ValueError
	want := "Code in Status proto (StatusCode.NOT_FOUND) doesn't match status code (StatusCode.INTERNAL)"
	if got != nil || !errors.As(err, &valueError) || valueError.Msg != want {
		t.Fatalf("FromCall = %v, %v; want ValueError %q (trailer %q)", got, err, want, rpcError.TrailingMetadata())
	}
}
