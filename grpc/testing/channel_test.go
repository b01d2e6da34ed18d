package testing_test

// grpcio's tests/testing/_client_test.py (ClientTest): the client code of
// application_test.go runs against a testing Channel on a goroutine of its
// own (grpcio: a one-thread pool) while the test plays server. Plus what
// the Go port adds: a fake-time deadline of the code under test, and no
// socket.

import (
	"testing"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/grpcpy/grpcpy/grpc"
	grpctesting "github.com/grpcpy/grpcpy/grpc/testing"
	"github.com/grpcpy/grpcpy/grpc/testing/internal/testpb"
)

// channels is setUp: a fake-time and a real-time Channel for every
// service of services.proto.
func channels(t *testing.T) (fake, real *grpctesting.Channel, fakeTime, realTime grpctesting.Time) {
	t.Helper()
	var descriptors []protoreflect.ServiceDescriptor
	services := testpb.File_services_proto.Services()
	for i := 0; i < services.Len(); i++ {
		descriptors = append(descriptors, services.Get(i))
	}
	fakeTime = grpctesting.StrictFakeTime(time.Now())
	realTime = grpctesting.StrictRealTime()
	var err error
	if fake, err = grpctesting.NewChannel(descriptors, fakeTime); err != nil {
		t.Fatal(err)
	}
	if real, err = grpctesting.NewChannel(descriptors, realTime); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		fake.Close()
		real.Close()
	})
	return fake, real, fakeTime, realTime
}

// application runs a scenario of the code under test on its own goroutine.
func application(scenario string, ch *grpctesting.Channel) <-chan outcome {
	done := make(chan outcome, 1)
	go func() { done <- runScenario(scenario, ch.Channel) }()
	return done
}

func result(t *testing.T, done <-chan outcome) outcome {
	t.Helper()
	select {
	case o := <-done:
		return o
	case <-time.After(20 * time.Second):
		t.Fatal("the application did not finish in 20 s")
		return outcome{}
	}
}

func takeRequest(t *testing.T, rpc interface{ TakeRequest() (any, error) }) any {
	t.Helper()
	r, err := rpc.TakeRequest()
	if err != nil {
		t.Fatalf("take_request: %v", err)
	}
	return r
}

// serveStreamStream plays the server of the "stream stream" scenario:
// for each of its two requests, perRequest responses, then the end of the
// requests; it returns the two requests.
func serveStreamStream(t *testing.T, rpc *grpctesting.StreamStreamChannelRpc, perRequest int) (first, second any) {
	t.Helper()
	first = takeRequest(t, rpc)
	for i := 0; i < perRequest; i++ {
		rpc.SendResponse(streamStreamResponse)
	}
	second = takeRequest(t, rpc)
	for i := 0; i < perRequest; i++ {
		rpc.SendResponse(streamStreamResponse)
	}
	if err := rpc.RequestsClosed(); err != nil {
		t.Fatal(err)
	}
	return first, second
}

func TestClientSuccessfulUnaryUnary(t *testing.T) {
	_, real, _, _ := channels(t)
	done := application("unary unary", real)
	_, request, rpc := real.TakeUnaryUnary(unUn)
	if err := rpc.SendInitialMetadata(nil); err != nil {
		t.Fatal(err)
	}
	rpc.Terminate(unaryUnaryResponse, nil, grpc.StatusCodeOK, "")
	if o := result(t, done); o != satisfactory || !same(request.(*testpb.Up), unaryUnaryRequest) {
		t.Errorf("outcome %v, request %v", o, request)
	}
}

func TestClientSuccessfulUnaryStream(t *testing.T) {
	fake, _, _, _ := channels(t)
	done := application("unary stream", fake)
	_, request, rpc := fake.TakeUnaryStream(unStre)
	if err := rpc.SendInitialMetadata(nil); err != nil {
		t.Fatal(err)
	}
	rpc.Terminate(nil, grpc.StatusCodeOK, "")
	if o := result(t, done); o != satisfactory || !same(request.(*testpb.Charm), unaryStreamRequest) {
		t.Errorf("outcome %v, request %v", o, request)
	}
}

func TestClientSuccessfulStreamUnary(t *testing.T) {
	_, real, _, _ := channels(t)
	done := application("stream unary", real)
	_, rpc := real.TakeStreamUnary(streUn)
	if err := rpc.SendInitialMetadata(nil); err != nil {
		t.Fatal(err)
	}
	var requests []any
	for i := 0; i < 3; i++ {
		requests = append(requests, takeRequest(t, rpc))
	}
	if err := rpc.RequestsClosed(); err != nil {
		t.Fatal(err)
	}
	rpc.Terminate(streamUnaryResponse, nil, grpc.StatusCodeOK, "")
	if o := result(t, done); o != satisfactory {
		t.Errorf("outcome %v", o)
	}
	for _, r := range requests {
		if !same(r.(*testpb.Charm), streamUnaryRequest) {
			t.Errorf("request %v", r)
		}
	}
}

func TestClientSuccessfulStreamStream(t *testing.T) {
	fake, _, _, _ := channels(t)
	done := application("stream stream", fake)
	_, rpc := fake.TakeStreamStream(streStre)
	first, second := serveStreamStream(t, rpc, 2)
	rpc.Terminate(nil, grpc.StatusCodeOK, "")
	if o := result(t, done); o != satisfactory {
		t.Errorf("outcome %v", o)
	}
	if !same(first.(*testpb.Top), streamStreamRequest) || !same(second.(*testpb.Top), streamStreamRequest) {
		t.Errorf("requests %v %v", first, second)
	}
}

func TestClientConcurrentStreamStream(t *testing.T) {
	_, real, _, _ := channels(t)
	done := application("concurrent stream stream", real)
	var rpcs []*grpctesting.StreamStreamChannelRpc
	for i := 0; i < 200; i++ {
		_, rpc := real.TakeStreamStream(streStre)
		rpcs = append(rpcs, rpc)
	}
	var requests []any
	for _, rpc := range rpcs {
		requests = append(requests, takeRequest(t, rpc))
	}
	for _, rpc := range rpcs {
		rpc.SendResponse(streamStreamResponse)
		rpc.SendResponse(streamStreamResponse)
	}
	for _, rpc := range rpcs {
		requests = append(requests, takeRequest(t, rpc))
	}
	for _, rpc := range rpcs {
		rpc.SendResponse(streamStreamResponse)
		rpc.SendResponse(streamStreamResponse)
	}
	for _, rpc := range rpcs {
		if err := rpc.RequestsClosed(); err != nil {
			t.Fatal(err)
		}
	}
	for _, rpc := range rpcs {
		rpc.Terminate(nil, grpc.StatusCodeOK, "")
	}
	if o := result(t, done); o != satisfactory {
		t.Errorf("outcome %v", o)
	}
	for _, r := range requests {
		if !same(r.(*testpb.Top), streamStreamRequest) {
			t.Errorf("request %v", r)
		}
	}
}

func TestClientCancelledUnaryUnary(t *testing.T) {
	fake, _, _, _ := channels(t)
	cancelUnaryUnaryServed = make(chan struct{})
	done := application("cancel unary unary", fake)
	_, request, rpc := fake.TakeUnaryUnary(unUn)
	if err := rpc.SendInitialMetadata(nil); err != nil {
		t.Fatal(err)
	}
	close(cancelUnaryUnaryServed)
	if err := rpc.Cancelled(); err != nil {
		t.Errorf("cancelled: %v", err)
	}
	if o := result(t, done); o != satisfactory || !same(request.(*testpb.Up), unaryUnaryRequest) {
		t.Errorf("outcome %v, request %v", o, request)
	}
}

func TestClientStatusStreamUnary(t *testing.T) {
	fake, _, _, _ := channels(t)
	done := application("concurrent stream unary", fake)
	var rpcs []*grpctesting.StreamUnaryChannelRpc
	for i := 0; i < 25; i++ {
		_, rpc := fake.TakeStreamUnary(streUn)
		rpcs = append(rpcs, rpc)
	}
	for _, rpc := range rpcs {
		for i := 0; i < 3; i++ {
			takeRequest(t, rpc)
		}
		if err := rpc.RequestsClosed(); err != nil {
			t.Fatal(err)
		}
		if err := rpc.SendInitialMetadata(grpc.Metadata{{Key: "my_metadata_key", Value: "My Metadata Value!"}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, rpc := range rpcs[:len(rpcs)-1] {
		rpc.Terminate(streamUnaryResponse, nil, grpc.StatusCodeOK, "")
	}
	rpcs[len(rpcs)-1].Terminate(streamUnaryResponse, nil, grpc.StatusCodeResourceExhausted, "nope; not able to handle all those RPCs!")
	if o := result(t, done); o != unsatisfactory {
		t.Errorf("outcome %v, want unsatisfactory", o)
	}
}

func TestClientStatusStreamStream(t *testing.T) {
	_, real, _, _ := channels(t)
	const details = "test deadline exceeded!"
	done := application("stream stream", real)
	_, rpc := real.TakeStreamStream(streStre)
	first, second := serveStreamStream(t, rpc, 2)
	rpc.Terminate(nil, grpc.StatusCodeDeadlineExceeded, details)
	o := result(t, done)
	if o.kind != "rpc error" || o.code != grpc.StatusCodeDeadlineExceeded || o.details != details {
		t.Errorf("outcome %+v", o)
	}
	if !same(first.(*testpb.Top), streamStreamRequest) || !same(second.(*testpb.Top), streamStreamRequest) {
		t.Errorf("requests %v %v", first, second)
	}
}

func TestClientMisbehavingServerUnaryUnary(t *testing.T) {
	fake, _, _, _ := channels(t)
	done := application("unary unary", fake)
	_, request, rpc := fake.TakeUnaryUnary(unUn)
	if err := rpc.SendInitialMetadata(nil); err != nil {
		t.Fatal(err)
	}
	rpc.Terminate(erroneousUnaryUnaryResp, nil, grpc.StatusCodeOK, "")
	if o := result(t, done); o != unsatisfactory || !same(request.(*testpb.Up), unaryUnaryRequest) {
		t.Errorf("outcome %v, request %v", o, request)
	}
}

func TestClientMisbehavingServerStreamStream(t *testing.T) {
	_, real, _, _ := channels(t)
	done := application("stream stream", real)
	_, rpc := real.TakeStreamStream(streStre)
	first, second := serveStreamStream(t, rpc, 3)
	rpc.Terminate(nil, grpc.StatusCodeOK, "")
	if o := result(t, done); o != unsatisfactory {
		t.Errorf("outcome %v, want unsatisfactory (a leftover response)", o)
	}
	if !same(first.(*testpb.Top), streamStreamRequest) || !same(second.(*testpb.Top), streamStreamRequest) {
		t.Errorf("requests %v %v", first, second)
	}
}

func TestClientInfiniteRequestStreamRealTime(t *testing.T) {
	_, real, _, realTime := channels(t)
	done := application("infinite request stream", real)
	_, rpc := real.TakeStreamUnary(streUn)
	if err := rpc.SendInitialMetadata(nil); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if r := takeRequest(t, rpc); !same(r.(*testpb.Charm), streamUnaryRequest) {
			t.Errorf("request %v", r)
		}
	}
	realTime.SleepFor(infiniteRequestTimeout)
	rpc.Terminate(streamUnaryResponse, nil, grpc.StatusCodeDeadlineExceeded, "")
	if o := result(t, done); o != satisfactory {
		t.Errorf("outcome %v", o)
	}
}

// TestClientDeadlineOnFakeTime: the code under test's timeout counts on
// the Channel's fake Time: real time passing does nothing, the fake clock
// passing the deadline ends the RPC DEADLINE_EXCEEDED, and the test sees
// it as cancelled.
func TestClientDeadlineOnFakeTime(t *testing.T) {
	fake, _, fakeTime, _ := channels(t)
	done := make(chan error, 1)
	go func() {
		_, err := testpb.NewFirstServiceStub(fake.Channel).UnUn.Call(unaryUnaryRequest, grpc.WithTimeout(time.Second))
		done <- err
	}()
	_, _, rpc := fake.TakeUnaryUnary(unUn)
	time.Sleep(1500 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("the RPC ended on real time: %v", err)
	default:
	}
	fakeTime.SleepFor(2 * time.Second)
	select {
	case err := <-done:
		var rpcErr *grpc.RpcError
		if !asRpcError(err, &rpcErr) || rpcErr.Code() != grpc.StatusCodeDeadlineExceeded {
			t.Errorf("error %v, want DEADLINE_EXCEEDED", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the RPC did not end when the fake clock passed its deadline")
	}
	if err := rpc.Cancelled(); err != nil {
		t.Errorf("cancelled: %v", err)
	}
}

// TestClientOpensNoSocket runs every scenario shape through a Channel and
// checks the process holds no more sockets than before.
func TestClientOpensNoSocket(t *testing.T) {
	before := sockets(t)
	fake, _, _, _ := channels(t)
	d1 := application("unary unary", fake)
	_, _, uu := fake.TakeUnaryUnary(unUn)
	uu.Terminate(unaryUnaryResponse, nil, grpc.StatusCodeOK, "")
	d2 := application("unary stream", fake)
	_, _, us := fake.TakeUnaryStream(unStre)
	us.Terminate(nil, grpc.StatusCodeOK, "")
	d3 := application("stream unary", fake)
	_, su := fake.TakeStreamUnary(streUn)
	su.RequestsClosed()
	su.Terminate(streamUnaryResponse, nil, grpc.StatusCodeOK, "")
	for _, d := range []<-chan outcome{d1, d2, d3} {
		if o := result(t, d); o != satisfactory {
			t.Errorf("outcome %v", o)
		}
	}
	if opened := openedSockets(before, sockets(t)); len(opened) > 0 {
		t.Errorf("sockets opened: %v", opened)
	}
}

// TestClientMethodNotServed: the code under test calling a method of no
// descriptor given to NewChannel gets UNIMPLEMENTED at once.
func TestClientMethodNotServed(t *testing.T) {
	var descriptors []protoreflect.ServiceDescriptor
	descriptors = append(descriptors, testpb.File_services_proto.Services().ByName("SecondService"))
	ch, err := grpctesting.NewChannel(descriptors, grpctesting.StrictRealTime())
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	o := result(t, application("unary unary", ch))
	if o.kind != "rpc error" || o.code != grpc.StatusCodeUnimplemented {
		t.Errorf("outcome %+v", o)
	}
}
