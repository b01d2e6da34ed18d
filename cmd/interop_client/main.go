// Command interop_client runs the official gRPC interop test cases
// (doc/interop-test-descriptions.md of grpc/grpc) against any
// grpc.testing.TestService server, with grpcpy's public API only.
//
//	interop_client --server_host=localhost --server_port=10000 --test_case=large_unary \
//	    [--use_tls --use_test_ca --ca_file=ca.pem --server_host_override=foo.test.google.fr]
//
// --test_case=all runs every official case; --test_case=extras runs
// grpcpy's additions (large_4mib, max_message_size). Exit status 0 means
// every case passed.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
	pb "github.com/grpcpy/grpcpy/interop/grpc_testing"
)

var (
	serverHost   = flag.String("server_host", "localhost", "server host")
	serverPort   = flag.Int("server_port", 10000, "server port")
	hostOverride = flag.String("server_host_override", "", "the name checked against the server certificate")
	useTLS       = flag.Bool("use_tls", false, "use TLS")
	useTestCA    = flag.Bool("use_test_ca", false, "trust --ca_file instead of the default roots")
	caFile       = flag.String("ca_file", "", "the test CA (PEM), with --use_test_ca")
	testCase     = flag.String("test_case", "large_unary", "the case to run, or all")

	soakIterations  = flag.Int("soak_iterations", 10, "RPCs in a soak case")
	soakMaxFailures = flag.Int("soak_max_failures", 0, "failed soak iterations tolerated")
	soakMaxLatency  = flag.Int("soak_per_iteration_max_acceptable_latency_ms", 1000, "slower iterations count as failures")
	soakTimeout     = flag.Int("soak_overall_timeout_seconds", 10, "time limit of a soak case")
)

// Cloud-credential flags of the official client: accepted, ignored.
func init() {
	for _, name := range []string{"default_service_account", "oauth_scope", "service_account_key_file",
		"service_account_key_file_path"} {
		flag.String(name, "", "accepted and ignored")
	}
}

const (
	echoInitialKey  = "x-grpc-test-echo-initial"
	echoTrailingKey = "x-grpc-test-echo-trailing-bin"
)

var rpcTimeout = grpc.WithTimeout(30 * time.Second)

func payload(n int) *pb.Payload {
	return &pb.Payload{Type: pb.PayloadType_COMPRESSABLE, Body: make([]byte, n)}
}

func dial() (*grpc.Channel, error) {
	return dialWith(fmt.Sprintf("%s:%d", *serverHost, *serverPort))
}

func dialWith(target string, opts ...grpc.ChannelOption) (*grpc.Channel, error) {
	if *hostOverride != "" {
		opts = append(opts, grpc.ChannelOption{Key: "grpc.ssl_target_name_override", Value: *hostOverride})
	}
	if !*useTLS {
		return grpc.InsecureChannel(target, opts...)
	}
	var roots []byte
	if *useTestCA {
		var err error
		if roots, err = os.ReadFile(*caFile); err != nil {
			return nil, fmt.Errorf("--use_test_ca needs --ca_file: %w", err)
		}
	}
	creds, err := grpc.SslChannelCredentials(roots, nil, nil)
	if err != nil {
		return nil, err
	}
	return grpc.SecureChannel(target, creds, opts...)
}

type testFn func(stub *pb.TestServiceStub, ch *grpc.Channel) error

var cases = []struct {
	name string
	fn   testFn
}{
	{"empty_unary", emptyUnary},
	{"large_unary", largeUnary},
	{"client_streaming", clientStreaming},
	{"server_streaming", serverStreaming},
	{"ping_pong", pingPong},
	{"empty_stream", emptyStream},
	{"timeout_on_sleeping_server", timeoutOnSleepingServer},
	{"cancel_after_begin", cancelAfterBegin},
	{"cancel_after_first_response", cancelAfterFirstResponse},
	{"status_code_and_message", statusCodeAndMessage},
	{"special_status_message", specialStatusMessage},
	{"custom_metadata", customMetadata},
	{"unimplemented_method", unimplementedMethod},
	{"unimplemented_service", unimplementedService},
	{"rpc_soak", rpcSoak},
	{"channel_soak", channelSoak},
}

// extras are grpcpy's own cases, run by name or with --test_case=extras:
// 4 MiB messages both ways, and a response over the client's default
// 4 MiB receive limit, which must end with RESOURCE_EXHAUSTED.
var extras = []struct {
	name string
	fn   testFn
}{
	{"large_4mib", large4MiB},
	{"max_message_size", maxMessageSize},
}

func main() {
	flag.Parse()
	ch, err := dial()
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop_client:", err)
		os.Exit(2)
	}
	defer ch.Close()
	stub := pb.NewTestServiceStub(ch)
	ran, failed := 0, 0
	all := append(append(cases[:0:0], cases...), extras...)
	for i, c := range all {
		isExtra := i >= len(cases)
		if !(*testCase == c.name || (*testCase == "all" && !isExtra) || (*testCase == "extras" && isExtra)) {
			continue
		}
		ran++
		if err := c.fn(stub, ch); err != nil {
			failed++
			fmt.Printf("FAIL %s: %v\n", c.name, err)
		} else {
			fmt.Printf("PASS %s\n", c.name)
		}
	}
	if ran == 0 {
		fmt.Fprintf(os.Stderr, "interop_client: unknown test case %q\n", *testCase)
		os.Exit(2)
	}
	if failed > 0 {
		os.Exit(1)
	}
}

func code(err error) grpc.StatusCode {
	var r *grpc.RpcError
	if errors.As(err, &r) {
		return r.Code()
	}
	return grpc.StatusCodeOK
}

func emptyUnary(stub *pb.TestServiceStub, _ *grpc.Channel) error {
	r, err := stub.EmptyCall.Call(&pb.Empty{}, rpcTimeout)
	if err != nil {
		return err
	}
	if r == nil {
		return errors.New("response <nil>")
	}
	return nil
}

func largeUnaryCall(stub *pb.TestServiceStub, opts ...grpc.CallOption) (*pb.SimpleResponse, grpc.Call, error) {
	req := &pb.SimpleRequest{ResponseType: pb.PayloadType_COMPRESSABLE, ResponseSize: 314159, Payload: payload(271828)}
	resp, call, err := stub.UnaryCall.WithCall(req, append([]grpc.CallOption{rpcTimeout}, opts...)...)
	if err != nil {
		return nil, call, err
	}
	if n := len(resp.GetPayload().GetBody()); n != 314159 {
		return nil, call, fmt.Errorf("payload of %d bytes, want 314159", n)
	}
	return resp, call, nil
}

func largeUnary(stub *pb.TestServiceStub, _ *grpc.Channel) error {
	_, _, err := largeUnaryCall(stub)
	return err
}

var inSizes, outSizes = []int{27182, 8, 1828, 45904}, []int{31415, 9, 2653, 58979}

func clientStreaming(stub *pb.TestServiceStub, _ *grpc.Channel) error {
	var reqs []*pb.StreamingInputCallRequest
	for _, n := range inSizes {
		reqs = append(reqs, &pb.StreamingInputCallRequest{Payload: payload(n)})
	}
	r, err := stub.StreamingInputCall.Call(grpc.Requests(reqs...), rpcTimeout)
	if err != nil {
		return err
	}
	if got := r.GetAggregatedPayloadSize(); got != 74922 {
		return fmt.Errorf("aggregated size %d, want 74922", got)
	}
	return nil
}

func serverStreaming(stub *pb.TestServiceStub, _ *grpc.Channel) error {
	req := &pb.StreamingOutputCallRequest{ResponseType: pb.PayloadType_COMPRESSABLE}
	for _, n := range outSizes {
		req.ResponseParameters = append(req.ResponseParameters, &pb.ResponseParameters{Size: int32(n)})
	}
	it, err := stub.StreamingOutputCall.Call(req, rpcTimeout)
	if err != nil {
		return err
	}
	i := 0
	for r, err := range it.All() {
		if err != nil {
			return err
		}
		if i >= len(outSizes) || len(r.GetPayload().GetBody()) != outSizes[i] {
			return fmt.Errorf("response %d has the wrong size", i)
		}
		i++
	}
	if i != len(outSizes) {
		return fmt.Errorf("%d responses, want %d", i, len(outSizes))
	}
	return nil
}

// duplex drives a FullDuplexCall one request at a time.
type duplex struct {
	send chan *pb.StreamingOutputCallRequest
	it   *grpc.TypedCallIterator[*pb.StreamingOutputCallResponse]
}

func startDuplex(stub *pb.TestServiceStub, opts ...grpc.CallOption) (*duplex, error) {
	d := &duplex{send: make(chan *pb.StreamingOutputCallRequest)}
	requests := func(yield func(*pb.StreamingOutputCallRequest, error) bool) {
		for r := range d.send {
			if !yield(r, nil) {
				return
			}
		}
	}
	it, err := stub.FullDuplexCall.Call(requests, append([]grpc.CallOption{rpcTimeout}, opts...)...)
	d.it = it
	return d, err
}

func pingPong(stub *pb.TestServiceStub, _ *grpc.Channel) error {
	d, err := startDuplex(stub)
	if err != nil {
		return err
	}
	for i := range outSizes {
		d.send <- &pb.StreamingOutputCallRequest{ResponseType: pb.PayloadType_COMPRESSABLE,
			ResponseParameters: []*pb.ResponseParameters{{Size: int32(outSizes[i])}}, Payload: payload(inSizes[i])}
		r, err := d.it.Next()
		if err != nil {
			close(d.send)
			return err
		}
		if n := len(r.GetPayload().GetBody()); n != outSizes[i] {
			close(d.send)
			return fmt.Errorf("response %d: %d bytes, want %d", i, n, outSizes[i])
		}
	}
	close(d.send)
	if _, err := d.it.Next(); err != io.EOF {
		return fmt.Errorf("after the last response: %v, want the end of the stream", err)
	}
	return nil
}

func emptyStream(stub *pb.TestServiceStub, _ *grpc.Channel) error {
	it, err := stub.FullDuplexCall.Call(grpc.Requests[*pb.StreamingOutputCallRequest](), rpcTimeout)
	if err != nil {
		return err
	}
	if _, err := it.Next(); err != io.EOF {
		return fmt.Errorf("empty stream: %v, want no response", err)
	}
	return nil
}

func timeoutOnSleepingServer(stub *pb.TestServiceStub, _ *grpc.Channel) error {
	d, err := startDuplex(stub, grpc.WithTimeout(time.Millisecond))
	if err != nil {
		return err
	}
	// Send one request and wait, without half-closing: the server never
	// ends the stream, so only the deadline does. (The send may be refused
	// once the deadline has passed: never block on it.)
	stop, sent := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sent)
		select {
		case d.send <- &pb.StreamingOutputCallRequest{Payload: payload(27182)}:
		case <-stop: // the RPC ended first (its deadline may pass before it starts)
		}
	}()
	for _, err := range d.it.All() {
		if err != nil {
			break
		}
	}
	close(stop)
	<-sent // only then close d.send: a send on a closed channel panics
	close(d.send)
	if c := d.it.Code(); c != grpc.StatusCodeDeadlineExceeded {
		return fmt.Errorf("status %v, want DEADLINE_EXCEEDED", c)
	}
	return nil
}

func cancelAfterBegin(stub *pb.TestServiceStub, _ *grpc.Channel) error {
	block := make(chan struct{})
	defer close(block)
	f, err := stub.StreamingInputCall.Future(func(yield func(*pb.StreamingInputCallRequest, error) bool) { <-block }, rpcTimeout)
	if err != nil {
		return err
	}
	f.Cancel()
	if c := f.Code(); c != grpc.StatusCodeCancelled {
		return fmt.Errorf("status %v, want CANCELLED", c)
	}
	return nil
}

func cancelAfterFirstResponse(stub *pb.TestServiceStub, _ *grpc.Channel) error {
	d, err := startDuplex(stub)
	if err != nil {
		return err
	}
	defer close(d.send)
	d.send <- &pb.StreamingOutputCallRequest{ResponseType: pb.PayloadType_COMPRESSABLE,
		ResponseParameters: []*pb.ResponseParameters{{Size: 31415}}, Payload: payload(27182)}
	if _, err := d.it.Next(); err != nil {
		return err
	}
	d.it.Cancel()
	if c := d.it.Code(); c != grpc.StatusCodeCancelled {
		return fmt.Errorf("status %v, want CANCELLED", c)
	}
	return nil
}

func checkStatus(err error, call grpc.Call, wantCode grpc.StatusCode, wantMsg string) error {
	if call == nil {
		return fmt.Errorf("no call: %v", err)
	}
	if call.Code() != wantCode || call.Details() != wantMsg {
		return fmt.Errorf("status %v %q, want %v %q", call.Code(), call.Details(), wantCode, wantMsg)
	}
	return nil
}

func statusWith(stub *pb.TestServiceStub, msg string) error {
	status := &pb.EchoStatus{Code: 2, Message: msg}
	_, call, err := stub.UnaryCall.WithCall(&pb.SimpleRequest{ResponseStatus: status}, rpcTimeout)
	if e := checkStatus(err, call, grpc.StatusCodeUnknown, msg); e != nil {
		return fmt.Errorf("UnaryCall: %w", e)
	}
	it, err := stub.FullDuplexCall.Call(grpc.Requests(&pb.StreamingOutputCallRequest{ResponseStatus: status}), rpcTimeout)
	if err != nil {
		return err
	}
	for range it.All() {
	}
	if e := checkStatus(nil, it, grpc.StatusCodeUnknown, msg); e != nil {
		return fmt.Errorf("FullDuplexCall: %w", e)
	}
	return nil
}

func statusCodeAndMessage(stub *pb.TestServiceStub, _ *grpc.Channel) error {
	return statusWith(stub, "test status message")
}

func specialStatusMessage(stub *pb.TestServiceStub, _ *grpc.Channel) error {
	const msg = "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n"
	_, call, err := stub.UnaryCall.WithCall(&pb.SimpleRequest{ResponseStatus: &pb.EchoStatus{Code: 2, Message: msg}}, rpcTimeout)
	return checkStatus(err, call, grpc.StatusCodeUnknown, msg)
}

func customMetadata(stub *pb.TestServiceStub, _ *grpc.Channel) error {
	const initial = "test_initial_metadata_value"
	trailing := string([]byte{0xab, 0xab, 0xab})
	md := grpc.WithMetadata(grpc.Pairs(echoInitialKey, initial, echoTrailingKey, trailing))
	check := func(name string, c grpc.Call) error {
		if got := c.InitialMetadata().Get(echoInitialKey); len(got) != 1 || got[0] != initial {
			return fmt.Errorf("%s: initial metadata %q", name, got)
		}
		if got := c.TrailingMetadata().Get(echoTrailingKey); len(got) != 1 || !bytes.Equal([]byte(got[0]), []byte(trailing)) {
			return fmt.Errorf("%s: trailing metadata %q", name, got)
		}
		return nil
	}
	_, call, err := largeUnaryCall(stub, md)
	if err != nil {
		return err
	}
	if err := check("UnaryCall", call); err != nil {
		return err
	}
	it, err := stub.FullDuplexCall.Call(grpc.Requests(&pb.StreamingOutputCallRequest{
		ResponseParameters: []*pb.ResponseParameters{{Size: 314159}}, Payload: payload(271828)}), rpcTimeout, md)
	if err != nil {
		return err
	}
	for _, err := range it.All() {
		if err != nil {
			return err
		}
	}
	return check("FullDuplexCall", it)
}

func unimplementedMethod(stub *pb.TestServiceStub, _ *grpc.Channel) error {
	_, err := stub.UnimplementedCall.Call(&pb.Empty{}, rpcTimeout)
	if c := code(err); c != grpc.StatusCodeUnimplemented {
		return fmt.Errorf("%v, want UNIMPLEMENTED", err)
	}
	return nil
}

func unimplementedService(_ *pb.TestServiceStub, ch *grpc.Channel) error {
	_, err := pb.NewUnimplementedServiceStub(ch).UnimplementedCall.Call(&pb.Empty{}, rpcTimeout)
	if c := code(err); c != grpc.StatusCodeUnimplemented {
		return fmt.Errorf("%v, want UNIMPLEMENTED", err)
	}
	return nil
}

// soak runs large_unary soak_iterations times, on one channel or a new
// channel each time, within the limits of the soak flags.
func soak(stub *pb.TestServiceStub, fresh bool) error {
	deadline := time.Now().Add(time.Duration(*soakTimeout) * time.Second)
	maxLatency := time.Duration(*soakMaxLatency) * time.Millisecond
	failures := 0
	var problems []string
	for i := 0; i < *soakIterations; i++ {
		if time.Now().After(deadline) {
			return fmt.Errorf("soak ran out of time after %d of %d iterations", i, *soakIterations)
		}
		s := stub
		var ch *grpc.Channel
		if fresh {
			var err error
			if ch, err = dial(); err != nil {
				return err
			}
			s = pb.NewTestServiceStub(ch)
		}
		start := time.Now()
		_, _, err := largeUnaryCall(s)
		lat := time.Since(start)
		if ch != nil {
			ch.Close()
		}
		if err != nil || lat > maxLatency {
			failures++
			problems = append(problems, fmt.Sprintf("iteration %d: %v in %v", i, err, lat))
		}
	}
	if failures > *soakMaxFailures {
		return fmt.Errorf("%d failed iterations (max %d): %s", failures, *soakMaxFailures, strings.Join(problems, "; "))
	}
	return nil
}

func rpcSoak(stub *pb.TestServiceStub, _ *grpc.Channel) error { return soak(stub, false) }

func channelSoak(stub *pb.TestServiceStub, _ *grpc.Channel) error { return soak(stub, true) }

func large4MiB(_ *pb.TestServiceStub, _ *grpc.Channel) error {
	// A channel that accepts 4 MiB plus the protobuf framing.
	target := fmt.Sprintf("%s:%d", *serverHost, *serverPort)
	ch, err := dialWith(target, grpc.ChannelOption{Key: "grpc.max_receive_message_length", Value: 8 << 20})
	if err != nil {
		return err
	}
	defer ch.Close()
	const size = 4 << 20
	r, err := pb.NewTestServiceStub(ch).UnaryCall.Call(&pb.SimpleRequest{ResponseSize: size, Payload: payload(size)}, rpcTimeout)
	if err != nil {
		return err
	}
	if n := len(r.GetPayload().GetBody()); n != size {
		return fmt.Errorf("payload of %d bytes, want %d", n, size)
	}
	return nil
}

func maxMessageSize(stub *pb.TestServiceStub, _ *grpc.Channel) error {
	_, err := stub.UnaryCall.Call(&pb.SimpleRequest{ResponseSize: 5 << 20}, rpcTimeout)
	if c := code(err); c != grpc.StatusCodeResourceExhausted {
		return fmt.Errorf("a 5 MiB response over the default 4 MiB limit: %v, want RESOURCE_EXHAUSTED", err)
	}
	return nil
}
