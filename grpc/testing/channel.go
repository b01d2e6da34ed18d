package testing

import (
	"iter"
	"sync"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/grpcpy/grpcpy/grpc"
)

// Channel mirrors grpc_testing.Channel: the channel the code under test
// is given (its embedded *grpc.Channel: pass ch.Channel wherever a
// *grpc.Channel goes, e.g. to a generated NewFooStub), with which the
// test plays server. The code under test's RPCs reach a real server of
// this process over the core's in-process transport (no socket); each
// waits until the test takes it (TakeUnaryUnary and the like) and answers
// it through the returned RPC object. Timeouts the code under test gives
// count on the Channel's Time, and expire as DEADLINE_EXCEEDED.
type Channel struct {
	*grpc.Channel
	server *grpc.Server

	mu      sync.Mutex
	arrived *sync.Cond
	rpcs    map[string][]*channelRpc // by full method, oldest first
}

// NewChannel mirrors grpc_testing.channel(service_descriptors, time): a
// Channel serving the methods of serviceDescriptors (from the generated
// code: File_foo_proto.Services(), or Foo_ServiceDesc.Descriptor()).
// grpc_testing ignores the descriptors; here they give each method its
// shape and message types. An RPC of any other method ends UNIMPLEMENTED.
// Close it when done.
func NewChannel(serviceDescriptors []protoreflect.ServiceDescriptor, time Time) (*Channel, error) {
	c := &Channel{rpcs: make(map[string][]*channelRpc)}
	c.arrived = sync.NewCond(&c.mu)
	handlers := make(map[string]*grpc.RpcMethodHandler)
	for _, sd := range serviceDescriptors {
		ms := sd.Methods()
		for i := 0; i < ms.Len(); i++ {
			m := ms.Get(i)
			handlers[fullMethod(m)] = c.handler(m)
		}
	}
	route := grpc.GenericRpcHandlerFunc(func(d *grpc.HandlerCallDetails) *grpc.RpcMethodHandler {
		return handlers[d.Method]
	})
	server, channel, err := inProcess([]grpc.GenericRpcHandler{route}, time)
	if err != nil {
		return nil, err
	}
	c.Channel, c.server = channel, server
	return c, nil
}

// Close closes the channel and stops its server; RPCs not yet terminated
// end CANCELLED. A Go addition.
func (c *Channel) Close() error {
	c.Channel.Close()
	c.server.Stop(grpc.NoGrace).Wait()
	return nil
}

// handler serves method m by handing each RPC to the test.
func (c *Channel) handler(m protoreflect.MethodDescriptor) *grpc.RpcMethodHandler {
	name := fullMethod(m)
	opts := []grpc.HandlerOption{
		grpc.WithRequestDeserializer(deserializerFor(m.Input())),
		grpc.WithResponseSerializer(grpc.ProtoSerializer),
	}
	switch {
	case !m.IsStreamingClient() && !m.IsStreamingServer():
		return grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			return c.arrive(name, ctx, req, nil).unaryResponse()
		}, opts...)
	case !m.IsStreamingClient():
		return grpc.UnaryStreamRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) iter.Seq2[any, error] {
			return c.arrive(name, ctx, req, nil).responseStream
		}, opts...)
	case !m.IsStreamingServer():
		return grpc.StreamUnaryRpcMethodHandler(func(reqs iter.Seq2[any, error], ctx *grpc.ServicerContext) (any, error) {
			return c.arrive(name, ctx, nil, reqs).unaryResponse()
		}, opts...)
	default:
		return grpc.StreamStreamRpcMethodHandler(func(reqs iter.Seq2[any, error], ctx *grpc.ServicerContext) iter.Seq2[any, error] {
			return c.arrive(name, ctx, nil, reqs).responseStream
		}, opts...)
	}
}

// arrive queues an RPC of the code under test for the test to take; for
// a request stream, a goroutine reads the requests as they come.
func (c *Channel) arrive(method string, ctx *grpc.ServicerContext, request any, requests iter.Seq2[any, error]) *channelRpc {
	r := &channelRpc{ctx: ctx, request: request, requests: newQueue(), commands: newQueue(),
		requestsDone: make(chan struct{})}
	if !ctx.AddCallback(r.commands.close) { // the RPC is over: stop waiting for the test
		r.commands.close() // over already
	}
	if requests != nil {
		go func() {
			defer close(r.requestsDone)
			defer r.requests.close()
			for req, err := range requests {
				if err != nil {
					return
				}
				r.requests.add(req)
			}
			r.mu.Lock()
			r.halfClosed = true
			r.mu.Unlock()
		}()
	} else {
		r.requests.close()
		r.halfClosed = true
		close(r.requestsDone)
	}
	c.mu.Lock()
	c.rpcs[method] = append(c.rpcs[method], r)
	c.arrived.Broadcast()
	c.mu.Unlock()
	return r
}

// take pops the oldest RPC of method, blocking until there is one.
func (c *Channel) take(method protoreflect.MethodDescriptor) *channelRpc {
	name := fullMethod(method)
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.rpcs[name]) == 0 {
		c.arrived.Wait()
	}
	r := c.rpcs[name][0]
	c.rpcs[name] = c.rpcs[name][1:]
	return r
}

// TakeUnaryUnary mirrors take_unary_unary(method_descriptor): blocks until
// the code under test invokes the method, and returns the invocation
// metadata, the request and the RPC to answer (oldest first).
func (c *Channel) TakeUnaryUnary(method protoreflect.MethodDescriptor) (grpc.Metadata, any, *UnaryUnaryChannelRpc) {
	r := c.take(method)
	return r.ctx.InvocationMetadata(), r.request, &UnaryUnaryChannelRpc{r}
}

// TakeUnaryStream mirrors take_unary_stream(method_descriptor).
func (c *Channel) TakeUnaryStream(method protoreflect.MethodDescriptor) (grpc.Metadata, any, *UnaryStreamChannelRpc) {
	r := c.take(method)
	return r.ctx.InvocationMetadata(), r.request, &UnaryStreamChannelRpc{r}
}

// TakeStreamUnary mirrors take_stream_unary(method_descriptor): the
// requests are taken with TakeRequest.
func (c *Channel) TakeStreamUnary(method protoreflect.MethodDescriptor) (grpc.Metadata, *StreamUnaryChannelRpc) {
	r := c.take(method)
	return r.ctx.InvocationMetadata(), &StreamUnaryChannelRpc{r}
}

// TakeStreamStream mirrors take_stream_stream(method_descriptor).
func (c *Channel) TakeStreamStream(method protoreflect.MethodDescriptor) (grpc.Metadata, *StreamStreamChannelRpc) {
	r := c.take(method)
	return r.ctx.InvocationMetadata(), &StreamStreamChannelRpc{r}
}

// channelRpc is one RPC of the code under test, served by the test: its
// handler waits for the test's commands (responses, then the status).
type channelRpc struct {
	ctx          *grpc.ServicerContext
	request      any
	requests     *queue        // what the code under test sent, not yet taken
	requestsDone chan struct{} // the request stream ended (half-close or the RPC's end)
	commands     *queue        // responses and the termination, for the handler

	mu         sync.Mutex
	halfClosed bool // the code under test closed its requests
	terminated bool // the test called Terminate
}

type termination struct {
	response    any
	hasResponse bool
	trailing    grpc.Metadata
	code        grpc.StatusCode
	details     string
}

// finish applies a termination on the handler's goroutine.
func (r *channelRpc) finish(t termination) {
	if err := r.ctx.SetTrailingMetadata(t.trailing); err != nil {
		r.ctx.Abort(grpc.StatusCodeInternal, "grpc_testing: invalid trailing metadata: "+err.Error())
	}
	if t.code != grpc.StatusCodeOK {
		r.ctx.Abort(t.code, t.details)
	}
	r.ctx.SetDetails(t.details)
}

// unaryResponse is the handler of a unary-response method: it waits for
// Terminate.
func (r *channelRpc) unaryResponse() (any, error) {
	cmd, ok := r.commands.take()
	if !ok {
		// Cancelled or expired: no status can be sent any more; Abort
		// ends the handler without logging an application error.
		r.ctx.Abort(grpc.StatusCodeCancelled, "the RPC ended before the test terminated it")
	}
	t := cmd.(termination)
	r.finish(t)
	return t.response, nil
}

// responseStream is the response iterator of a streaming-response
// method: the test's SendResponse calls, then its Terminate.
func (r *channelRpc) responseStream(yield func(any, error) bool) {
	for {
		cmd, ok := r.commands.take()
		if !ok {
			return
		}
		switch c := cmd.(type) {
		case termination:
			r.finish(c)
			return
		default:
			if !yield(c, nil) {
				return
			}
		}
	}
}

func (r *channelRpc) sendInitialMetadata(md grpc.Metadata) error {
	return r.ctx.SendInitialMetadata(md)
}

func (r *channelRpc) terminate(t termination) {
	r.mu.Lock()
	r.terminated = true
	r.mu.Unlock()
	r.commands.add(t)
}

func (r *channelRpc) takeRequest() (any, error) {
	req, ok := r.requests.take()
	if !ok {
		return nil, &grpc.ValueError{Msg: "No more requests!"}
	}
	return req, nil
}

// requestsClosed blocks until the request stream ended; an error if it
// ended because the RPC did (cancelled, expired) rather than by the
// code under test closing it.
func (r *channelRpc) requestsClosed() error {
	<-r.requestsDone
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.halfClosed {
		return &grpc.ValueError{Msg: "the RPC ended before its requests were closed"}
	}
	return nil
}

// cancelled blocks until the RPC is over; nil if the code under test
// cancelled it (or its deadline passed), an error if the test
// terminated it.
func (r *channelRpc) cancelled() error {
	<-r.ctx.Context().Done()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.terminated {
		return &grpc.ValueError{Msg: "Status code unexpectedly set by the test's terminate!"}
	}
	return nil
}

// UnaryUnaryChannelRpc mirrors grpc_testing.UnaryUnaryChannelRpc.
type UnaryUnaryChannelRpc struct{ r *channelRpc }

// SendInitialMetadata mirrors send_initial_metadata(initial_metadata).
// A second call is a *grpc.ValueError, as on a real server.
func (u *UnaryUnaryChannelRpc) SendInitialMetadata(initialMetadata grpc.Metadata) error {
	return u.r.sendInitialMetadata(initialMetadata)
}

// Cancelled mirrors cancelled(): blocks until the code under test
// cancelled the RPC (or its deadline passed); an error if the RPC ended
// otherwise.
func (u *UnaryUnaryChannelRpc) Cancelled() error { return u.r.cancelled() }

// Terminate mirrors terminate(response, trailing_metadata, code,
// details): ends the RPC. With a code other than OK the response is not
// sent and the code under test gets an RpcError with code and details.
func (u *UnaryUnaryChannelRpc) Terminate(response any, trailingMetadata grpc.Metadata, code grpc.StatusCode, details string) {
	u.r.terminate(termination{response, true, trailingMetadata, code, details})
}

// UnaryStreamChannelRpc mirrors grpc_testing.UnaryStreamChannelRpc.
type UnaryStreamChannelRpc struct{ r *channelRpc }

// SendInitialMetadata mirrors send_initial_metadata(initial_metadata).
func (u *UnaryStreamChannelRpc) SendInitialMetadata(initialMetadata grpc.Metadata) error {
	return u.r.sendInitialMetadata(initialMetadata)
}

// SendResponse mirrors send_response(response): the code under test
// receives it next.
func (u *UnaryStreamChannelRpc) SendResponse(response any) { u.r.commands.add(response) }

// Cancelled mirrors cancelled().
func (u *UnaryStreamChannelRpc) Cancelled() error { return u.r.cancelled() }

// Terminate mirrors terminate(trailing_metadata, code, details): ends
// the response stream with that status.
func (u *UnaryStreamChannelRpc) Terminate(trailingMetadata grpc.Metadata, code grpc.StatusCode, details string) {
	u.r.terminate(termination{nil, false, trailingMetadata, code, details})
}

// StreamUnaryChannelRpc mirrors grpc_testing.StreamUnaryChannelRpc.
type StreamUnaryChannelRpc struct{ r *channelRpc }

// SendInitialMetadata mirrors send_initial_metadata(initial_metadata).
func (s *StreamUnaryChannelRpc) SendInitialMetadata(initialMetadata grpc.Metadata) error {
	return s.r.sendInitialMetadata(initialMetadata)
}

// TakeRequest mirrors take_request(): the next request the code under
// test sent, blocking until there is one; a *grpc.ValueError once the
// request stream ended with none left (grpc_testing blocks for ever).
func (s *StreamUnaryChannelRpc) TakeRequest() (any, error) { return s.r.takeRequest() }

// RequestsClosed mirrors requests_closed(): blocks until the code under
// test closed its request stream; an error if the RPC ended first.
func (s *StreamUnaryChannelRpc) RequestsClosed() error { return s.r.requestsClosed() }

// Cancelled mirrors cancelled().
func (s *StreamUnaryChannelRpc) Cancelled() error { return s.r.cancelled() }

// Terminate mirrors terminate(response, trailing_metadata, code, details).
func (s *StreamUnaryChannelRpc) Terminate(response any, trailingMetadata grpc.Metadata, code grpc.StatusCode, details string) {
	s.r.terminate(termination{response, true, trailingMetadata, code, details})
}

// StreamStreamChannelRpc mirrors grpc_testing.StreamStreamChannelRpc.
type StreamStreamChannelRpc struct{ r *channelRpc }

// SendInitialMetadata mirrors send_initial_metadata(initial_metadata).
func (s *StreamStreamChannelRpc) SendInitialMetadata(initialMetadata grpc.Metadata) error {
	return s.r.sendInitialMetadata(initialMetadata)
}

// TakeRequest mirrors take_request().
func (s *StreamStreamChannelRpc) TakeRequest() (any, error) { return s.r.takeRequest() }

// SendResponse mirrors send_response(response).
func (s *StreamStreamChannelRpc) SendResponse(response any) { s.r.commands.add(response) }

// RequestsClosed mirrors requests_closed().
func (s *StreamStreamChannelRpc) RequestsClosed() error { return s.r.requestsClosed() }

// Cancelled mirrors cancelled().
func (s *StreamStreamChannelRpc) Cancelled() error { return s.r.cancelled() }

// Terminate mirrors terminate(trailing_metadata, code, details).
func (s *StreamStreamChannelRpc) Terminate(trailingMetadata grpc.Metadata, code grpc.StatusCode, details string) {
	s.r.terminate(termination{nil, false, trailingMetadata, code, details})
}
