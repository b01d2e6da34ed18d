package testing_test

// The application grpcio's own grpc_testing unit tests exercise
// (tests/testing: _server_application.py, _client_application.py,
// _application_common.py), written again in Go: the servicer the server
// tests drive and the client code the channel tests drive.

import (
	"errors"
	"io"
	"iter"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/grpc/testing/internal/testpb"
)

func up(n int32) *testpb.Up           { return &testpb.Up{FirstUpField: n} }
func down(n int32) *testpb.Down       { return &testpb.Down{FirstDownField: n} }
func charm(n int32) *testpb.Charm     { return &testpb.Charm{FirstCharmField: n} }
func strange(n int32) *testpb.Strange { return &testpb.Strange{FirstStrangeField: n} }
func top(n int32) *testpb.Top         { return &testpb.Top{FirstTopField: n} }
func bottom(n int32) *testpb.Bottom   { return &testpb.Bottom{FirstBottomField: n} }
func same(a, b proto.Message) bool    { return proto.Equal(a, b) }
func method(name string) protoreflect.MethodDescriptor {
	return testpb.File_services_proto.Services().ByName("FirstService").Methods().ByName(protoreflect.Name(name))
}

// The messages of _application_common.py.
var (
	unaryUnaryRequest          = up(2)
	erroneousUnaryUnaryRequest = up(3)
	unaryUnaryResponse         = down(5)
	erroneousUnaryUnaryResp    = down(7)
	unaryStreamRequest         = charm(11)
	streamUnaryRequest         = charm(13)
	streamUnaryResponse        = strange(17)
	streamStreamRequest        = top(19)
	streamStreamResponse       = bottom(23)
	abortRequest               = up(42)
	abortSuccessQuery          = up(43)
	abortNoStatusResponse      = down(50)
	abortSuccessResponse       = down(51)
	abortFailureResponse       = down(52)
	streamStreamMutatingReq    = top(24601)
	streamStreamMutatingCount  = 2
	infiniteRequestTimeout     = 200 * time.Millisecond
)

var (
	unUn     = method("UnUn")
	unStre   = method("UnStre")
	streUn   = method("StreUn")
	streStre = method("StreStre")
)

// firstServicer is _server_application.FirstServiceServicer.
type firstServicer struct {
	testpb.UnimplementedFirstServiceServicer
	abortMu       sync.Mutex
	abortResponse *testpb.Down
}

func newFirstServicer() *firstServicer { return &firstServicer{abortResponse: abortNoStatusResponse} }

func (s *firstServicer) UnUn(request *testpb.Up, context *grpc.ServicerContext) (*testpb.Down, error) {
	switch {
	case same(request, unaryUnaryRequest):
		return unaryUnaryResponse, nil
	case same(request, abortRequest):
		s.abortMu.Lock()
		defer s.abortMu.Unlock()
		// Python catches the exception abort raises; Go recovers its panic.
		func() {
			defer func() {
				if recover() != nil {
					s.abortResponse = abortSuccessResponse
				}
			}()
			context.Abort(grpc.StatusCodePermissionDenied, "Denying permission to test abort.")
			s.abortResponse = abortFailureResponse
		}()
		return nil, nil
	case same(request, abortSuccessQuery):
		s.abortMu.Lock()
		defer s.abortMu.Unlock()
		return s.abortResponse, nil
	default:
		context.SetCode(grpc.StatusCodeInvalidArgument)
		context.SetDetails("Something is wrong with your request!")
		return &testpb.Down{}, nil
	}
}

func (s *firstServicer) UnStre(request *testpb.Charm, context *grpc.ServicerContext) iter.Seq2[*testpb.Strange, error] {
	if !same(request, unaryStreamRequest) {
		context.SetCode(grpc.StatusCodeInvalidArgument)
		context.SetDetails("Something is wrong with your request!")
	}
	return func(yield func(*testpb.Strange, error) bool) {}
}

func (s *firstServicer) StreUn(requests iter.Seq2[*testpb.Charm, error], context *grpc.ServicerContext) (*testpb.Strange, error) {
	if err := context.SendInitialMetadata(grpc.Metadata{{Key: "server_application_metadata_key", Value: "Hi there!"}}); err != nil {
		return nil, err
	}
	for request, err := range requests {
		if err != nil {
			return nil, err
		}
		if !same(request, streamUnaryRequest) {
			context.SetCode(grpc.StatusCodeInvalidArgument)
			context.SetDetails("Something is wrong with your request!")
			return &testpb.Strange{}, nil
		}
		if !context.IsActive() {
			return &testpb.Strange{}, nil
		}
	}
	return streamUnaryResponse, nil
}

func (s *firstServicer) StreStre(requests iter.Seq2[*testpb.Top, error], context *grpc.ServicerContext) iter.Seq2[*testpb.Bottom, error] {
	return func(yield func(*testpb.Bottom, error) bool) {
		for request, err := range requests {
			if err != nil {
				yield(nil, err)
				return
			}
			switch {
			case !same(request, streamStreamRequest) && !same(request, streamStreamMutatingReq):
				context.SetCode(grpc.StatusCodeInvalidArgument)
				context.SetDetails("Something is wrong with your request!")
				return
			case !context.IsActive():
				return
			case same(request, streamStreamRequest):
				for i := 0; i < 2; i++ {
					if !yield(streamStreamResponse, nil) {
						return
					}
				}
			default:
				// One message, changed between yields: each response must
				// be what it was when yielded.
				response := &testpb.Bottom{}
				for i := 0; i < streamStreamMutatingCount; i++ {
					response.FirstBottomField = int32(i)
					if !yield(response, nil) {
						return
					}
				}
			}
		}
	}
}

// outcome is _client_application.Outcome.
type outcome struct {
	kind    string // satisfactory, unsatisfactory, rpc error
	code    grpc.StatusCode
	details string
}

var (
	satisfactory   = outcome{kind: "satisfactory"}
	unsatisfactory = outcome{kind: "unsatisfactory"}
)

// pipe is _client_application._Pipe: a request iterator the scenario
// feeds while the RPC runs.
type pipe struct {
	ch chan *testpb.Top
}

func newPipe() *pipe { return &pipe{ch: make(chan *testpb.Top, 16)} }

func (p *pipe) add(m *testpb.Top) { p.ch <- m }
func (p *pipe) close()            { close(p.ch) }
func (p *pipe) seq(yield func(*testpb.Top, error) bool) {
	for m := range p.ch {
		if !yield(m, nil) {
			return
		}
	}
}

func repeated[T any](v T, n int) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for i := 0; i < n; i++ {
			if !yield(v, nil) {
				return
			}
		}
	}
}

func runStreamStream(stub *testpb.FirstServiceStub) (outcome, error) {
	p := newPipe()
	it, err := stub.StreStre.Call(p.seq)
	if err != nil {
		return outcome{}, err
	}
	var responses []*testpb.Bottom
	p.add(streamStreamRequest)
	for i := 0; i < 2; i++ {
		r, err := it.Next()
		if err != nil {
			return outcome{}, err
		}
		responses = append(responses, r)
	}
	p.add(streamStreamRequest)
	for i := 0; i < 2; i++ {
		r, err := it.Next()
		if err != nil {
			return outcome{}, err
		}
		responses = append(responses, r)
	}
	p.close()
	if _, err := it.Next(); !errors.Is(err, io.EOF) {
		if err != nil {
			return outcome{}, err
		}
		return unsatisfactory, nil // an unexpected extra response
	}
	for _, r := range responses {
		if !same(r, streamStreamResponse) {
			return unsatisfactory, nil
		}
	}
	return satisfactory, nil
}

// cancelUnaryUnaryServed is closed by the test once it has taken the
// RPC of the "cancel unary unary" scenario (a new one per run).
var cancelUnaryUnaryServed chan struct{}

// runScenario is _client_application.run(scenario, channel): the code
// under test, given only a *grpc.Channel. An RpcError that escapes the
// scenario is an "rpc error" outcome.
func runScenario(scenario string, channel *grpc.Channel) outcome {
	o, err := scenarioOutcome(scenario, channel)
	if err != nil {
		var rpcErr *grpc.RpcError
		if errors.As(err, &rpcErr) {
			return outcome{kind: "rpc error", code: rpcErr.Code(), details: rpcErr.Details()}
		}
		return outcome{kind: "error: " + err.Error()}
	}
	return o
}

func scenarioOutcome(scenario string, channel *grpc.Channel) (outcome, error) {
	stub := testpb.NewFirstServiceStub(channel)
	switch scenario {
	case "unary unary":
		resp, err := stub.UnUn.Call(unaryUnaryRequest)
		if err != nil {
			return outcome{}, err
		}
		if same(resp, unaryUnaryResponse) {
			return satisfactory, nil
		}
		return unsatisfactory, nil
	case "unary stream":
		it, err := stub.UnStre.Call(unaryStreamRequest)
		if err != nil {
			return outcome{}, err
		}
		if _, err := it.Next(); errors.Is(err, io.EOF) {
			return satisfactory, nil
		} else if err != nil {
			return outcome{}, err
		}
		return unsatisfactory, nil
	case "stream unary":
		resp, call, err := stub.StreUn.WithCall(repeated(streamUnaryRequest, 3))
		if err != nil {
			return outcome{}, err
		}
		if same(resp, streamUnaryResponse) && call.Code() == grpc.StatusCodeOK {
			return satisfactory, nil
		}
		return unsatisfactory, nil
	case "stream stream":
		return runStreamStream(stub)
	case "concurrent stream unary":
		var futures []*grpc.TypedCallFuture[*testpb.Strange]
		for i := 0; i < 25; i++ {
			f, err := stub.StreUn.Future(repeated(streamUnaryRequest, 3))
			if err != nil {
				return outcome{}, err
			}
			futures = append(futures, f)
		}
		for _, f := range futures {
			if f.Code() != grpc.StatusCodeOK {
				return unsatisfactory, nil
			}
			if r, err := f.Result(); err != nil || !same(r, streamUnaryResponse) {
				return unsatisfactory, nil
			}
		}
		return satisfactory, nil
	case "concurrent stream stream":
		results := make(chan outcome, 200)
		for i := 0; i < 200; i++ {
			go func() {
				o, err := runStreamStream(stub)
				if err != nil {
					o = unsatisfactory
				}
				results <- o
			}()
		}
		all := satisfactory
		for i := 0; i < 200; i++ {
			if o := <-results; o != satisfactory {
				all = unsatisfactory
			}
		}
		return all, nil
	case "cancel unary unary":
		served := cancelUnaryUnaryServed
		f, err := stub.UnUn.Future(unaryUnaryRequest)
		if err != nil {
			return outcome{}, err
		}
		// grpcio's scenario waits for f.initial_metadata(). On the core a
		// unary-unary future receives its initial metadata in the one
		// batch with the response (as grpcio's does, with a real
		// channel), so the test says when the RPC is being served.
		<-served
		if f.Cancel() {
			return satisfactory, nil
		}
		return unsatisfactory, nil
	case "infinite request stream":
		endless := func(yield func(*testpb.Charm, error) bool) {
			for yield(streamUnaryRequest, nil) {
			}
		}
		f, err := stub.StreUn.Future(endless, grpc.WithTimeout(infiniteRequestTimeout))
		if err != nil {
			return outcome{}, err
		}
		if f.Code() == grpc.StatusCodeDeadlineExceeded {
			return satisfactory, nil
		}
		return unsatisfactory, nil
	}
	return outcome{}, errors.New("unknown scenario " + scenario)
}

// deadline bounds anything a test waits for, so a bug fails the test
// instead of hanging CI.
func deadline[T any](t *testing.T, what string, f func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- f() }()
	select {
	case v := <-done:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not finish in 20 s", what)
		panic("unreachable")
	}
}

func asRpcError(err error, target **grpc.RpcError) bool { return errors.As(err, target) }
