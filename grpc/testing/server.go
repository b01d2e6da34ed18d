package testing

import (
	"io"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/grpc/internal/testhooks"
)

// Service is one entry of ServerFromDictionary's dictionary: a service
// and the servicer under test. Make it with ServiceOf.
type Service struct {
	name     string
	handlers map[string]*grpc.RpcMethodHandler
}

// ServiceOf pairs a generated service description (Foo_ServiceDesc)
// with the servicer under test: one entry of Python's
// {DESCRIPTOR.services_by_name['Foo']: servicer} dictionary. The
// servicer's handlers are those AddFooServicerToServer registers.
func ServiceOf[S any](desc *grpc.ServiceDesc[S], servicer S) Service {
	return Service{name: desc.ServiceName, handlers: desc.Handlers(servicer)}
}

// Server mirrors grpc_testing.Server: "a server with which the test
// plays client". Its Invoke methods run the servicers' real handlers in a
// real grpc.Server, reached over the core's in-process transport
// (grpc.InProcessChannel): no socket is opened, and what a servicer sees
// (metadata, abort, set_code, set_details, is_active, time_remaining,
// callbacks) is exactly what it sees in production. Deadlines follow the
// Server's Time.
type Server struct {
	server  *grpc.Server
	channel *grpc.Channel
	time    Time
}

// ServerFromDictionary mirrors grpc_testing.server_from_dictionary(
// descriptors_to_servicers, time): a Server serving each Service, whose
// RPC deadlines, TimeRemaining and IsActive follow time. Close it when
// done (Go has no garbage-collected servers).
func ServerFromDictionary(descriptorsToServicers []Service, time Time) (*Server, error) {
	var handlers []grpc.GenericRpcHandler
	for _, s := range descriptorsToServicers {
		handlers = append(handlers, grpc.MethodHandlersGenericHandler(s.name, s.handlers))
	}
	server, channel, err := inProcess(handlers, time)
	if err != nil {
		return nil, err
	}
	return &Server{server: server, channel: channel, time: time}, nil
}

// inProcess starts a port-less server with handlers and an in-process
// channel to it, both on time's clock.
func inProcess(handlers []grpc.GenericRpcHandler, t Time) (*grpc.Server, *grpc.Channel, error) {
	// No executor: a goroutine per RPC, as grpc_testing starts a thread
	// per RPC, so a test can hold any number of RPCs open.
	server, err := grpc.NewServer(nil, grpc.WithHandlers(handlers...))
	if err != nil {
		return nil, nil, err
	}
	clock := timeClock{t}
	testhooks.SetServerClock(server, clock)
	if err := server.Start(); err != nil {
		return nil, nil, err
	}
	channel, err := grpc.InProcessChannel(server)
	if err != nil {
		server.Stop(grpc.NoGrace).Wait()
		return nil, nil, err
	}
	testhooks.SetChannelClock(channel, clock)
	return server, channel, nil
}

// Close stops the server (RPCs still open end CANCELLED) and releases
// it. A Go addition.
func (s *Server) Close() {
	s.server.Stop(grpc.NoGrace).Wait()
	s.channel.Close()
}

// timeClock is a Time as the library's test clock.
type timeClock struct{ t Time }

func (c timeClock) Now() time.Time { return c.t.Time() }

func (c timeClock) At(f func(), at time.Time) func() {
	fut := c.t.CallAt(f, at)
	return func() { fut.Cancel() }
}

// fullMethod is the method's path on the wire: "/pkg.Service/Method".
func fullMethod(m protoreflect.MethodDescriptor) string {
	return "/" + string(m.Parent().FullName()) + "/" + string(m.Name())
}

// messageCodec serialises with protobuf and deserialises into the
// generated type of d (dynamicpb if none is linked in).
func deserializerFor(d protoreflect.MessageDescriptor) grpc.Deserializer {
	var mt protoreflect.MessageType
	if t, err := protoregistry.GlobalTypes.FindMessageByName(d.FullName()); err == nil {
		mt = t
	} else {
		mt = dynamicpb.NewMessageType(d)
	}
	return func(b []byte) (any, error) {
		m := mt.New().Interface()
		if err := proto.Unmarshal(b, m); err != nil {
			return nil, err
		}
		return m, nil
	}
}

func callOptions(invocationMetadata grpc.Metadata, opts []grpc.CallOption) []grpc.CallOption {
	return append([]grpc.CallOption{grpc.WithMetadata(invocationMetadata)}, opts...)
}

// InvokeUnaryUnary mirrors invoke_unary_unary(method_descriptor,
// invocation_metadata, request, timeout): starts the RPC. Python's
// timeout is grpc.WithTimeout among opts (none: no deadline), counted on
// the Server's Time. The error is for bad arguments (invalid metadata),
// as the multi-callables report them; a servicer's failure is in
// Termination.
func (s *Server) InvokeUnaryUnary(method protoreflect.MethodDescriptor, invocationMetadata grpc.Metadata,
	request any, opts ...grpc.CallOption) (*UnaryUnaryServerRpc, error) {
	mc := s.channel.UnaryUnary(fullMethod(method), grpc.WithRequestSerializer(grpc.ProtoSerializer), grpc.WithResponseDeserializer(deserializerFor(method.Output())))
	f, err := mc.Future(request, callOptions(invocationMetadata, opts)...)
	if err != nil {
		return nil, err
	}
	return &UnaryUnaryServerRpc{f: f}, nil
}

// InvokeUnaryStream mirrors invoke_unary_stream(method_descriptor,
// invocation_metadata, request, timeout).
func (s *Server) InvokeUnaryStream(method protoreflect.MethodDescriptor, invocationMetadata grpc.Metadata,
	request any, opts ...grpc.CallOption) (*UnaryStreamServerRpc, error) {
	mc := s.channel.UnaryStream(fullMethod(method), grpc.WithRequestSerializer(grpc.ProtoSerializer), grpc.WithResponseDeserializer(deserializerFor(method.Output())))
	it, err := mc.Call(request, callOptions(invocationMetadata, opts)...)
	if err != nil {
		return nil, err
	}
	return &UnaryStreamServerRpc{responses: newResponses(it)}, nil
}

// InvokeStreamUnary mirrors invoke_stream_unary(method_descriptor,
// invocation_metadata, timeout): the requests follow with SendRequest.
func (s *Server) InvokeStreamUnary(method protoreflect.MethodDescriptor, invocationMetadata grpc.Metadata,
	opts ...grpc.CallOption) (*StreamUnaryServerRpc, error) {
	mc := s.channel.StreamUnary(fullMethod(method), grpc.WithRequestSerializer(grpc.ProtoSerializer), grpc.WithResponseDeserializer(deserializerFor(method.Output())))
	q := newQueue()
	f, err := mc.Future(q.seq(), callOptions(invocationMetadata, opts)...)
	if err != nil {
		return nil, err
	}
	f.AddDoneCallback(func(grpc.Future) { q.close() }) // frees the request sender
	return &StreamUnaryServerRpc{UnaryUnaryServerRpc{f: f}, q}, nil
}

// InvokeStreamStream mirrors invoke_stream_stream(method_descriptor,
// invocation_metadata, timeout).
func (s *Server) InvokeStreamStream(method protoreflect.MethodDescriptor, invocationMetadata grpc.Metadata,
	opts ...grpc.CallOption) (*StreamStreamServerRpc, error) {
	mc := s.channel.StreamStream(fullMethod(method), grpc.WithRequestSerializer(grpc.ProtoSerializer), grpc.WithResponseDeserializer(deserializerFor(method.Output())))
	q := newQueue()
	it, err := mc.Call(q.seq(), callOptions(invocationMetadata, opts)...)
	if err != nil {
		return nil, err
	}
	if !it.AddCallback(q.close) { // frees the request sender
		q.close() // over already
	}
	return &StreamStreamServerRpc{UnaryStreamServerRpc{responses: newResponses(it)}, q}, nil
}

// UnaryUnaryServerRpc mirrors grpc_testing.UnaryUnaryServerRpc: the
// fixture of a unary-unary RPC under test.
type UnaryUnaryServerRpc struct {
	f grpc.CallFuture
}

// InitialMetadata mirrors initial_metadata(): blocks until the servicer
// sent its initial metadata (or a response or the status, which carry
// it), and returns it.
func (r *UnaryUnaryServerRpc) InitialMetadata() grpc.Metadata { return r.f.InitialMetadata() }

// Cancel mirrors cancel(): cancels the RPC as its client would; the
// servicer sees IsActive false and its callbacks run. False if it was
// over already.
func (r *UnaryUnaryServerRpc) Cancel() bool { return r.f.Cancel() }

// Termination mirrors termination(): blocks until the RPC is over and
// returns (response, trailing_metadata, code, details); response is nil
// unless code is OK. After Cancel code is CANCELLED (grpc_testing raises
// ValueError there).
func (r *UnaryUnaryServerRpc) Termination() (response any, trailingMetadata grpc.Metadata, code grpc.StatusCode, details string) {
	resp, err := r.f.Result()
	if err != nil {
		resp = nil
	}
	return resp, r.f.TrailingMetadata(), r.f.Code(), r.f.Details()
}

// StreamUnaryServerRpc mirrors grpc_testing.StreamUnaryServerRpc.
type StreamUnaryServerRpc struct {
	UnaryUnaryServerRpc
	q *queue
}

// SendRequest mirrors send_request(request): the servicer's request
// iterator yields it next. Ignored once the RPC is over.
func (r *StreamUnaryServerRpc) SendRequest(request any) { r.q.add(request) }

// RequestsClosed mirrors requests_closed(): the request stream ends
// (the client half-closes) after the requests sent so far.
func (r *StreamUnaryServerRpc) RequestsClosed() { r.q.close() }

// UnaryStreamServerRpc mirrors grpc_testing.UnaryStreamServerRpc.
type UnaryStreamServerRpc struct {
	*responses
}

// StreamStreamServerRpc mirrors grpc_testing.StreamStreamServerRpc.
type StreamStreamServerRpc struct {
	UnaryStreamServerRpc
	q *queue
}

// SendRequest mirrors send_request(request).
func (r *StreamStreamServerRpc) SendRequest(request any) { r.q.add(request) }

// RequestsClosed mirrors requests_closed().
func (r *StreamStreamServerRpc) RequestsClosed() { r.q.close() }

// responses reads a response stream as it arrives, so the status is
// known whether or not the test takes every response (the core delivers
// the status only after the messages before it are read).
type responses struct {
	it   grpc.CallIterator
	q    *queue
	done chan struct{}
}

func newResponses(it grpc.CallIterator) *responses {
	r := &responses{it: it, q: newQueue(), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		defer r.q.close()
		for {
			resp, err := it.Next()
			if err != nil {
				return
			}
			r.q.add(resp)
		}
	}()
	return r
}

// InitialMetadata mirrors initial_metadata().
func (r *responses) InitialMetadata() grpc.Metadata { return r.it.InitialMetadata() }

// TakeResponse mirrors take_response(): the servicer's next response, in
// order, blocking until there is one. When the RPC is over and every
// response was taken it is a *grpc.ValueError "No more responses!", as
// grpc_testing raises.
func (r *responses) TakeResponse() (any, error) {
	resp, ok := r.q.take()
	if !ok {
		return nil, &grpc.ValueError{Msg: "No more responses!", Err: io.EOF}
	}
	return resp, nil
}

// Cancel mirrors cancel().
func (r *responses) Cancel() bool { return r.it.Cancel() }

// Termination mirrors termination(): blocks until the RPC is over and
// returns (trailing_metadata, code, details). Responses not yet taken
// stay takeable.
func (r *responses) Termination() (trailingMetadata grpc.Metadata, code grpc.StatusCode, details string) {
	<-r.done
	return r.it.TrailingMetadata(), r.it.Code(), r.it.Details()
}

// queue is an unbounded FIFO of messages, closed once: a request stream
// fed by the test, or responses as they arrive.
type queue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	items  []any
	closed bool
}

func newQueue() *queue {
	q := &queue{}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func (q *queue) add(m any) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.items = append(q.items, m)
		q.cond.Broadcast()
	}
}

func (q *queue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.cond.Broadcast()
}

// take pops the oldest message, blocking while there is none; false once
// the queue is closed and empty.
func (q *queue) take() (any, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items) == 0 && !q.closed {
		q.cond.Wait()
	}
	if len(q.items) == 0 {
		return nil, false
	}
	m := q.items[0]
	q.items[0] = nil
	q.items = q.items[1:]
	return m, true
}

// seq yields the messages as they come until the queue is closed: the
// request iterator of an RPC the test drives.
func (q *queue) seq() func(yield func(any, error) bool) {
	return func(yield func(any, error) bool) {
		for {
			m, ok := q.take()
			if !ok || !yield(m, nil) {
				return
			}
		}
	}
}
