// Package health cross-tests grpcpy's health checking
// (github.com/grpcpy/grpcpy/grpc/health) with grpc-go v1.85.0 in the same
// process: grpc-go's generated health client (grpc_health_v1.HealthClient)
// checks and watches a grpcpy server, grpc-go's client-side health
// checking (healthCheckConfig, which drives Watch) routes around a
// service grpcpy reports NOT_SERVING, and grpcpy's HealthStub asks
// grpc-go's own health server. This binary links grpcpy's grpc/health
// and grpc-go's grpc_health_v1 and health packages, which register
// grpc.health.v1 in protobuf-go's global registry: that it starts at all
// is the first check.
package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	grpcgo "google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	gohealth "google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	pb "github.com/grpcpy/grpcpy/examples/helloworld/helloworld"
	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/grpc/health"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// timeout bounds every RPC and every wait.
const timeout = 30 * time.Second

type greeter struct{}

func (greeter) SayHello(request *pb.HelloRequest, _ *grpc.ServicerContext) (*pb.HelloReply, error) {
	return &pb.HelloReply{Message: "Hello, " + request.GetName() + "!"}, nil
}

// grpcpyServer serves helloworld.Greeter and health on a grpcpy server;
// it returns the server and its target; the server stops when the test
// ends.
func grpcpyServer(t *testing.T, servicer *health.HealthServicer) (*grpc.Server, string) {
	t.Helper()
	server, err := grpc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Stop(grpc.NoGrace).Wait() })
	if err := pb.AddGreeterServicerToServer(greeter{}, server); err != nil {
		t.Fatal(err)
	}
	if err := health.AddHealthServicerToServer(servicer, server); err != nil {
		t.Fatal(err)
	}
	port, err := server.AddInsecurePort("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	return server, fmt.Sprintf("127.0.0.1:%d", port)
}

// goClient is a grpc-go client connection, closed when the test ends.
func goClient(t *testing.T, target string, opts ...grpcgo.DialOption) *grpcgo.ClientConn {
	t.Helper()
	conn, err := grpcgo.NewClient(target, append([]grpcgo.DialOption{grpcgo.WithTransportCredentials(insecure.NewCredentials())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// TestGrpcGoCheck: grpc-go's generated client checks a grpcpy server.
func TestGrpcGoCheck(t *testing.T) {
	leakcheck.Check(t)
	servicer := health.NewHealthServicer()
	servicer.Set("helloworld.Greeter", health.HealthCheckResponseNotServing)
	_, target := grpcpyServer(t, servicer)
	client := healthpb.NewHealthClient(goClient(t, target))
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for service, want := range map[string]healthpb.HealthCheckResponse_ServingStatus{
		"":                   healthpb.HealthCheckResponse_SERVING,
		"helloworld.Greeter": healthpb.HealthCheckResponse_NOT_SERVING,
	} {
		resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: service})
		if err != nil || resp.GetStatus() != want {
			t.Errorf("Check(%q) = %v, %v; want %v", service, resp.GetStatus(), err, want)
		}
	}
	_, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: "unknown"})
	if status.Code(err) != codes.NotFound {
		t.Errorf("Check(unknown): %v, want NotFound", err)
	}
	t.Logf("grpc-go Check(unknown): %v", err)
}

// TestGrpcGoWatch: grpc-go's generated client watches a grpcpy server and
// sees SERVICE_UNKNOWN, then every change in order (a Set that changes
// nothing sends nothing), EnterGracefulShutdown's NOT_SERVING, and the
// end of the stream when the server stops.
func TestGrpcGoWatch(t *testing.T) {
	leakcheck.Check(t)
	servicer := health.NewHealthServicer()
	server, target := grpcpyServer(t, servicer)
	client := healthpb.NewHealthClient(goClient(t, target))
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	watch := func(service string) healthpb.Health_WatchClient {
		t.Helper()
		stream, err := client.Watch(ctx, &healthpb.HealthCheckRequest{Service: service})
		if err != nil {
			t.Fatal(err)
		}
		return stream
	}
	recv := func(stream healthpb.Health_WatchClient) healthpb.HealthCheckResponse_ServingStatus {
		t.Helper()
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		return resp.GetStatus()
	}
	svc, overall := watch("svc"), watch("")
	if got := recv(svc); got != healthpb.HealthCheckResponse_SERVICE_UNKNOWN {
		t.Fatalf("first of svc: %v", got)
	}
	if got := recv(overall); got != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("first of the server: %v", got)
	}

	S, N := health.HealthCheckResponseServing, health.HealthCheckResponseNotServing
	for _, s := range []health.ServingStatus{S, S, N, S, N, N, S} {
		servicer.Set("svc", s)
	}
	var got []string
	for range 5 {
		got = append(got, recv(svc).String())
	}
	if fmt.Sprint(got) != "[SERVING NOT_SERVING SERVING NOT_SERVING SERVING]" {
		t.Errorf("svc's changes: %v", got)
	}
	t.Logf("grpc-go Watch(svc) received SERVICE_UNKNOWN, then %v", got)

	servicer.EnterGracefulShutdown()
	if got := recv(overall); got != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("the server after EnterGracefulShutdown: %v", got)
	}
	if got := recv(svc); got != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("svc after EnterGracefulShutdown: %v", got)
	}

	if !server.Stop(0).Wait(timeout) {
		t.Fatal("the server did not stop with two Watch streams open")
	}
	for name, stream := range map[string]healthpb.Health_WatchClient{"svc": svc, "server": overall} {
		_, err := stream.Recv()
		if c := status.Code(err); c != codes.Unavailable && c != codes.Canceled {
			t.Errorf("%s's Watch after the stop: %v", name, err)
		}
		t.Logf("grpc-go Watch(%s) after Stop(0): %v", name, err)
	}
}

// TestGrpcGoClientSideHealthChecking: grpc-go's client-side health
// checking (service config healthCheckConfig, round_robin), a real
// consumer of Watch, sends RPCs to a grpcpy server only while grpcpy
// reports the service SERVING.
func TestGrpcGoClientSideHealthChecking(t *testing.T) {
	leakcheck.Check(t)
	servicer := health.NewHealthServicer()
	_, target := grpcpyServer(t, servicer)
	conn := goClient(t, target, grpcgo.WithDefaultServiceConfig(
		`{"loadBalancingConfig":[{"round_robin":{}}],"healthCheckConfig":{"serviceName":"helloworld.Greeter"}}`))
	sayHello := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		var reply pb.HelloReply
		return conn.Invoke(ctx, "/helloworld.Greeter/SayHello", &pb.HelloRequest{Name: "go"}, &reply)
	}
	// until waits until SayHello succeeds (ok) or fails UNAVAILABLE (!ok).
	until := func(ok bool, what string) {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for {
			err := sayHello()
			if (err == nil) == ok && (ok || status.Code(err) == codes.Unavailable) {
				t.Logf("%s: SayHello: %v", what, err)
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: SayHello still %v after %v", what, err, timeout)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	until(false, "helloworld.Greeter unknown")
	servicer.Set("helloworld.Greeter", health.HealthCheckResponseServing)
	until(true, "SERVING")
	servicer.Set("helloworld.Greeter", health.HealthCheckResponseNotServing)
	until(false, "NOT_SERVING")
	servicer.Set("helloworld.Greeter", health.HealthCheckResponseServing)
	until(true, "SERVING again")
	servicer.EnterGracefulShutdown()
	until(false, "after EnterGracefulShutdown")
}

// TestGrpcpyStubAgainstGrpcGoServer: grpcpy's HealthStub checks and
// watches grpc-go's own health server (google.golang.org/grpc/health) in
// the same binary.
func TestGrpcpyStubAgainstGrpcGoServer(t *testing.T) {
	leakcheck.Check(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	goServer := grpcgo.NewServer()
	hs := gohealth.NewServer()
	healthpb.RegisterHealthServer(goServer, hs)
	go goServer.Serve(lis)
	t.Cleanup(goServer.Stop)
	hs.SetServingStatus("helloworld.Greeter", healthpb.HealthCheckResponse_NOT_SERVING)

	channel, err := grpc.InsecureChannel(lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer channel.Close()
	stub := health.NewHealthStub(channel)
	for service, want := range map[string]health.ServingStatus{
		"":                   health.HealthCheckResponseServing,
		"helloworld.Greeter": health.HealthCheckResponseNotServing,
	} {
		resp, err := stub.Check.Call(&health.HealthCheckRequest{Service: service}, grpc.WithTimeout(timeout))
		if err != nil || resp.GetStatus() != want {
			t.Errorf("Check(%q) = %v, %v; want %v", service, resp.GetStatus(), err, want)
		}
	}
	_, err = stub.Check.Call(&health.HealthCheckRequest{Service: "unknown"}, grpc.WithTimeout(timeout))
	var rpcErr *grpc.RpcError
	if !errors.As(err, &rpcErr) || rpcErr.Code() != grpc.StatusCodeNotFound {
		t.Errorf("Check(unknown): %v, want NOT_FOUND", err)
	}
	t.Logf("grpcpy Check(unknown) against grpc-go: %v", err)

	it, err := stub.Watch.Call(&health.HealthCheckRequest{Service: "helloworld.Greeter"}, grpc.WithTimeout(timeout))
	if err != nil {
		t.Fatal(err)
	}
	defer it.Cancel()
	next := func() health.ServingStatus {
		t.Helper()
		resp, err := it.Next()
		if err != nil {
			t.Fatalf("Watch: %v", err)
		}
		return resp.GetStatus()
	}
	if got := next(); got != health.HealthCheckResponseNotServing {
		t.Fatalf("first: %v", got)
	}
	hs.SetServingStatus("helloworld.Greeter", healthpb.HealthCheckResponse_SERVING)
	if got := next(); got != health.HealthCheckResponseServing {
		t.Errorf("after grpc-go's SetServingStatus(SERVING): %v", got)
	}
	hs.Shutdown()
	if got := next(); got != health.HealthCheckResponseNotServing {
		t.Errorf("after grpc-go's Shutdown: %v", got)
	}
}
