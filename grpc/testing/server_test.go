package testing_test

// grpcio's tests/testing/_server_test.py (FirstServiceServicerTest), one
// test per scenario, plus what the Go port adds: time_remaining on fake
// time, cancel as the servicer sees it, and no socket.

import (
	"errors"
	"iter"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
	grpctesting "github.com/grpcpy/grpcpy/grpc/testing"
	"github.com/grpcpy/grpcpy/grpc/testing/internal/testpb"
)

// servers is setUp: one servicer behind a real-time and a fake-time server.
func servers(t *testing.T) (real, fake *grpctesting.Server, fakeTime grpctesting.Time, servicer *firstServicer) {
	t.Helper()
	servicer = newFirstServicer()
	realTime := grpctesting.StrictRealTime()
	fakeTime = grpctesting.StrictFakeTime(time.Now())
	var err error
	if real, err = grpctesting.ServerFromDictionary([]grpctesting.Service{
		grpctesting.ServiceOf(&testpb.FirstService_ServiceDesc, testpb.FirstServiceServicer(servicer)),
	}, realTime); err != nil {
		t.Fatal(err)
	}
	if fake, err = grpctesting.ServerFromDictionary([]grpctesting.Service{
		grpctesting.ServiceOf(&testpb.FirstService_ServiceDesc, testpb.FirstServiceServicer(servicer)),
	}, fakeTime); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		real.Close()
		fake.Close()
	})
	return real, fake, fakeTime, servicer
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestServerSuccessfulUnaryUnary(t *testing.T) {
	real, _, _, _ := servers(t)
	rpc := must(real.InvokeUnaryUnary(unUn, nil, unaryUnaryRequest))
	deadline(t, "initial_metadata", rpc.InitialMetadata)
	resp, _, code, _ := rpc.Termination()
	if !same(resp.(*testpb.Down), unaryUnaryResponse) || code != grpc.StatusCodeOK {
		t.Errorf("termination: %v %v", resp, code)
	}
}

func TestServerSuccessfulUnaryStream(t *testing.T) {
	real, _, _, _ := servers(t)
	rpc := must(real.InvokeUnaryStream(unStre, nil, unaryStreamRequest))
	deadline(t, "initial_metadata", rpc.InitialMetadata)
	_, code, _ := rpc.Termination()
	if code != grpc.StatusCodeOK {
		t.Errorf("code %v", code)
	}
}

func TestServerSuccessfulStreamUnary(t *testing.T) {
	real, _, _, _ := servers(t)
	rpc := must(real.InvokeStreamUnary(streUn, nil))
	for i := 0; i < 3; i++ {
		rpc.SendRequest(streamUnaryRequest)
	}
	rpc.RequestsClosed()
	md := deadline(t, "initial_metadata", rpc.InitialMetadata)
	if !hasEntry(md, "server_application_metadata_key", "Hi there!") {
		t.Errorf("initial metadata %v", md)
	}
	resp, _, code, _ := rpc.Termination()
	if !same(resp.(*testpb.Strange), streamUnaryResponse) || code != grpc.StatusCodeOK {
		t.Errorf("termination: %v %v", resp, code)
	}
}

func hasEntry(md grpc.Metadata, key, value string) bool {
	for _, m := range md {
		if m.Key == key && m.Value == value {
			return true
		}
	}
	return false
}

func takeResponses(t *testing.T, rpc interface{ TakeResponse() (any, error) }, n int) []any {
	t.Helper()
	var out []any
	for i := 0; i < n; i++ {
		var err error
		r := deadline(t, "take_response", func() any {
			r, e := rpc.TakeResponse()
			err = e
			return r
		})
		if err != nil {
			t.Fatalf("take_response %d: %v", i, err)
		}
		out = append(out, r)
	}
	return out
}

func TestServerSuccessfulStreamStream(t *testing.T) {
	real, _, _, _ := servers(t)
	rpc := must(real.InvokeStreamStream(streStre, nil))
	rpc.SendRequest(streamStreamRequest)
	deadline(t, "initial_metadata", rpc.InitialMetadata)
	first := takeResponses(t, rpc, 2)
	rpc.SendRequest(streamStreamRequest)
	rpc.SendRequest(streamStreamRequest)
	rest := takeResponses(t, rpc, 4)
	rpc.RequestsClosed()
	_, code, _ := rpc.Termination()
	for _, r := range append(first, rest...) {
		if !same(r.(*testpb.Bottom), streamStreamResponse) {
			t.Errorf("response %v", r)
		}
	}
	if code != grpc.StatusCodeOK {
		t.Errorf("code %v", code)
	}
	if _, err := rpc.TakeResponse(); err == nil {
		t.Error("take_response after the last one: no error")
	}
}

func TestServerMutatingStreamStream(t *testing.T) {
	real, _, _, _ := servers(t)
	rpc := must(real.InvokeStreamStream(streStre, nil))
	rpc.SendRequest(streamStreamMutatingReq)
	deadline(t, "initial_metadata", rpc.InitialMetadata)
	got := takeResponses(t, rpc, streamStreamMutatingCount)
	rpc.SendRequest(streamStreamMutatingReq)
	got = append(got, takeResponses(t, rpc, streamStreamMutatingCount)...)
	rpc.RequestsClosed()
	rpc.Termination()
	for i, r := range got {
		if want := bottom(int32(i % streamStreamMutatingCount)); !same(r.(*testpb.Bottom), want) {
			t.Errorf("response %d: %v, want %v", i, r, want)
		}
	}
}

func TestServerRpcIdempotence(t *testing.T) {
	real, _, _, _ := servers(t)
	rpc := must(real.InvokeUnaryUnary(unUn, nil, unaryUnaryRequest))
	first := deadline(t, "initial_metadata", rpc.InitialMetadata)
	for i := 0; i < 2; i++ {
		if md := rpc.InitialMetadata(); len(md) != len(first) {
			t.Errorf("initial metadata changed: %v then %v", first, md)
		}
	}
	resp, tm, code, details := rpc.Termination()
	for i := 0; i < 2; i++ {
		r2, tm2, code2, details2 := rpc.Termination()
		if !same(r2.(*testpb.Down), resp.(*testpb.Down)) || len(tm2) != len(tm) || code2 != code || details2 != details {
			t.Errorf("termination changed")
		}
	}
	if !same(resp.(*testpb.Down), unaryUnaryResponse) || code != grpc.StatusCodeOK {
		t.Errorf("termination: %v %v", resp, code)
	}
}

func TestServerMisbehavingClientUnaryUnary(t *testing.T) {
	real, _, _, _ := servers(t)
	rpc := must(real.InvokeUnaryUnary(unUn, nil, erroneousUnaryUnaryRequest))
	deadline(t, "initial_metadata", rpc.InitialMetadata)
	resp, _, code, details := rpc.Termination()
	// set_code(INVALID_ARGUMENT) with a returned Down(): the status wins.
	if code != grpc.StatusCodeInvalidArgument || details != "Something is wrong with your request!" || resp != nil {
		t.Errorf("termination: %v %v %q", resp, code, details)
	}
}

func TestServerInfiniteRequestStreamRealTime(t *testing.T) {
	real, _, _, _ := servers(t)
	rpc := must(real.InvokeStreamUnary(streUn, nil, grpc.WithTimeout(infiniteRequestTimeout)))
	for i := 0; i < 3; i++ {
		rpc.SendRequest(streamUnaryRequest)
	}
	deadline(t, "initial_metadata", rpc.InitialMetadata)
	grpctesting.StrictRealTime().SleepFor(2 * infiniteRequestTimeout)
	rpc.SendRequest(streamUnaryRequest) // queued after the end, never seen
	code := deadline(t, "termination", func() grpc.StatusCode { _, _, c, _ := rpc.Termination(); return c })
	if code != grpc.StatusCodeDeadlineExceeded {
		t.Errorf("code %v, want DEADLINE_EXCEEDED", code)
	}
}

func TestServerInfiniteRequestStreamFakeTime(t *testing.T) {
	_, fake, fakeTime, _ := servers(t)
	rpc := must(fake.InvokeStreamUnary(streUn, nil, grpc.WithTimeout(infiniteRequestTimeout)))
	for i := 0; i < 3; i++ {
		rpc.SendRequest(streamUnaryRequest)
	}
	deadline(t, "initial_metadata", rpc.InitialMetadata)
	ended := make(chan grpc.StatusCode, 1)
	go func() { _, _, c, _ := rpc.Termination(); ended <- c }()
	// Real time passing changes nothing: the deadline is on fake time.
	time.Sleep(2 * infiniteRequestTimeout)
	select {
	case c := <-ended:
		t.Fatalf("the RPC ended (%v) on real time", c)
	default:
	}
	fakeTime.SleepFor(2 * infiniteRequestTimeout) // the deadline passes here
	rpc.SendRequest(streamUnaryRequest)
	code := deadline(t, "termination", func() grpc.StatusCode { _, _, c, _ := rpc.Termination(); return c })
	if code != grpc.StatusCodeDeadlineExceeded {
		t.Errorf("code %v, want DEADLINE_EXCEEDED", code)
	}
}

func TestServerServicerContextAbort(t *testing.T) {
	real, _, _, _ := servers(t)
	rpc := must(real.InvokeUnaryUnary(unUn, nil, abortRequest))
	deadline(t, "termination", func() grpc.StatusCode { _, _, c, _ := rpc.Termination(); return c })
	_, _, code, details := rpc.Termination()
	if code != grpc.StatusCodePermissionDenied || details != "Denying permission to test abort." {
		t.Errorf("abort: %v %q", code, details)
	}
	rpc = must(real.InvokeUnaryUnary(unUn, nil, abortSuccessQuery))
	resp, _, code3, _ := rpc.Termination()
	if !same(resp.(*testpb.Down), abortSuccessResponse) || code3 != grpc.StatusCodeOK {
		t.Errorf("after abort the servicer recorded %v (%v), want %v: abort did not unwind", resp, code3, abortSuccessResponse)
	}
}

// TestServerTimeRemainingFollowsFakeTime: what the servicer sees of its
// deadline moves only with the fake clock, and IsActive turns false when
// the clock passes the deadline.
func TestServerTimeRemainingFollowsFakeTime(t *testing.T) {
	fakeTime := grpctesting.StrictFakeTime(time.Unix(1_000_000, 0))
	seen := make(chan time.Duration, 4)
	release := make(chan struct{})
	active := make(chan bool, 1)
	servicer := &probeServicer{seen: seen, release: release, active: active}
	server, err := grpctesting.ServerFromDictionary([]grpctesting.Service{
		grpctesting.ServiceOf(&testpb.FirstService_ServiceDesc, testpb.FirstServiceServicer(servicer)),
	}, fakeTime)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	rpc := must(server.InvokeStreamUnary(streUn, grpc.Metadata{{Key: "k", Value: "v"}}, grpc.WithTimeout(10*time.Second)))
	if got := <-seen; got != 10*time.Second {
		t.Errorf("time_remaining at start: %v, want 10s", got)
	}
	time.Sleep(50 * time.Millisecond) // real time: no change
	fakeTime.SleepFor(4 * time.Second)
	rpc.SendRequest(streamUnaryRequest)
	if got := <-seen; got != 6*time.Second {
		t.Errorf("time_remaining after 4 s of fake time: %v, want 6s", got)
	}
	fakeTime.SleepFor(7 * time.Second) // past the deadline
	close(release)
	if a := deadline(t, "is_active", func() bool { return <-active }); a {
		t.Error("is_active after the fake deadline: true")
	}
	code := deadline(t, "termination", func() grpc.StatusCode { _, _, c, _ := rpc.Termination(); return c })
	if code != grpc.StatusCodeDeadlineExceeded {
		t.Errorf("code %v", code)
	}
	if servicer.md == nil || !hasEntry(servicer.md, "k", "v") {
		t.Errorf("invocation metadata %v", servicer.md)
	}
	for _, m := range servicer.md {
		if strings.HasPrefix(m.Key, "grpcpy-testing") {
			t.Errorf("the test clock's deadline key reached the servicer: %v", servicer.md)
		}
	}
}

type probeServicer struct {
	testpb.UnimplementedFirstServiceServicer
	seen    chan time.Duration
	release chan struct{}
	active  chan bool
	md      grpc.Metadata
}

func (p *probeServicer) StreUn(requests iter.Seq2[*testpb.Charm, error], ctx *grpc.ServicerContext) (*testpb.Strange, error) {
	p.md = ctx.InvocationMetadata()
	d, _ := ctx.TimeRemaining()
	p.seen <- d
	for _, err := range requests {
		if err != nil {
			break
		}
		d, _ := ctx.TimeRemaining()
		p.seen <- d
		break
	}
	<-p.release
	// RECV_CLOSE_ON_SERVER may land just after the client's cancel.
	for i := 0; i < 200 && ctx.IsActive(); i++ {
		time.Sleep(5 * time.Millisecond)
	}
	p.active <- ctx.IsActive()
	return &testpb.Strange{}, nil
}

// TestServerCancel: the fixture's cancel is the client's; the servicer
// sees is_active false and its callback runs.
func TestServerCancel(t *testing.T) {
	servicer := &cancelServicer{started: make(chan struct{}), callback: make(chan struct{})}
	server, err := grpctesting.ServerFromDictionary([]grpctesting.Service{
		grpctesting.ServiceOf(&testpb.FirstService_ServiceDesc, testpb.FirstServiceServicer(servicer)),
	}, grpctesting.StrictRealTime())
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	rpc := must(server.InvokeStreamStream(streStre, nil))
	deadline(t, "servicer start", func() struct{} { <-servicer.started; return struct{}{} })
	if !rpc.Cancel() {
		t.Error("cancel: false")
	}
	deadline(t, "callback", func() struct{} { <-servicer.callback; return struct{}{} })
	_, code, _ := rpc.Termination()
	if code != grpc.StatusCodeCancelled {
		t.Errorf("code %v", code)
	}
	if rpc.Cancel() {
		t.Error("second cancel: true")
	}
}

type cancelServicer struct {
	testpb.UnimplementedFirstServiceServicer
	started  chan struct{}
	callback chan struct{}
}

func (c *cancelServicer) StreStre(requests iter.Seq2[*testpb.Top, error], ctx *grpc.ServicerContext) iter.Seq2[*testpb.Bottom, error] {
	ctx.AddCallback(func() { close(c.callback) })
	close(c.started)
	return func(yield func(*testpb.Bottom, error) bool) {
		for _, err := range requests {
			if err != nil {
				var rpcErr *grpc.RpcError
				if !errors.As(err, &rpcErr) {
					panic(err)
				}
				return
			}
		}
	}
}

// TestServerOpensNoSocket runs every shape through a Server and checks the
// process holds no more sockets than before.
func TestServerOpensNoSocket(t *testing.T) {
	before := sockets(t)
	real, _, _, _ := servers(t)
	must(real.InvokeUnaryUnary(unUn, nil, unaryUnaryRequest)).Termination()
	must(real.InvokeUnaryStream(unStre, nil, unaryStreamRequest)).Termination()
	su := must(real.InvokeStreamUnary(streUn, nil))
	su.RequestsClosed()
	su.Termination()
	ss := must(real.InvokeStreamStream(streStre, nil))
	ss.SendRequest(streamStreamRequest)
	ss.RequestsClosed()
	ss.Termination()
	if opened := openedSockets(before, sockets(t)); len(opened) > 0 {
		t.Errorf("sockets opened: %v", opened)
	}
}

// sockets is the set of sockets this process holds open ("socket:[inode]"):
// a socket opened between two readings is one the second has and the first
// has not (another test's socket closing meanwhile is no concern).
func sockets(t *testing.T) map[string]bool {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	out := make(map[string]bool)
	for _, e := range ents {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.HasPrefix(l, "socket:") {
			out[l] = true
		}
	}
	return out
}

// openedSockets are the sockets in after and not in before.
func openedSockets(before, after map[string]bool) []string {
	var opened []string
	for s := range after {
		if !before[s] {
			opened = append(opened, s)
		}
	}
	return opened
}

// TestServerRpcsThatNeverStart: an RPC over before it reaches the servicer
// (a deadline already past, a service not in the dictionary) still
// reports its status, and leaves no goroutine behind (TestMain checks).
func TestServerRpcsThatNeverStart(t *testing.T) {
	real, _, _, _ := servers(t)
	ss := must(real.InvokeStreamStream(streStre, nil, grpc.WithTimeout(0)))
	if _, code, _ := ss.Termination(); code != grpc.StatusCodeDeadlineExceeded {
		t.Errorf("stream-stream with a past deadline: %v", code)
	}
	if _, err := ss.TakeResponse(); err == nil {
		t.Error("take_response: no error")
	}
	su := must(real.InvokeStreamUnary(streUn, nil, grpc.WithTimeout(-time.Second)))
	if _, _, code, _ := su.Termination(); code != grpc.StatusCodeDeadlineExceeded {
		t.Errorf("stream-unary with a past deadline: %v", code)
	}
	other := testpb.File_services_proto.Services().ByName("SecondService").Methods().ByName("UnStre")
	us := must(real.InvokeUnaryStream(other, nil, strange(1)))
	if _, code, details := us.Termination(); code != grpc.StatusCodeUnimplemented {
		t.Errorf("a service not served: %v %q", code, details)
	}
	bad := must(real.InvokeStreamStream(streStre, grpc.Metadata{{Key: "ok", Value: "v"}}))
	bad.SendRequest(top(5)) // not a request the servicer accepts: INVALID_ARGUMENT
	if _, code, details := bad.Termination(); code != grpc.StatusCodeInvalidArgument || details != "Something is wrong with your request!" {
		t.Errorf("bad request: %v %q", code, details)
	}
	if _, err := real.InvokeUnaryUnary(unUn, grpc.Metadata{{Key: "Bad Key", Value: "v"}}, unaryUnaryRequest); err == nil {
		t.Error("invalid invocation metadata: no error")
	}
}
