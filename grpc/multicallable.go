package grpc

import "github.com/grpcpy/grpcpy/core"

// UnaryUnaryMultiCallable mirrors grpc.UnaryUnaryMultiCallable: "Affords
// invoking a unary-unary RPC from client-side." Each invocation is one core
// batch (core.ClientCall.StartUnary), as in grpcio.
type UnaryUnaryMultiCallable struct {
	ch     *Channel
	method string
	ser    encoder
	deser  decoder
}

// Call mirrors __call__(request, timeout=None, metadata=None,
// credentials=None, wait_for_ready=None): "Synchronously invokes the
// underlying RPC" and returns the response. A non-OK status is returned as
// an *RpcError (also a Call); bad arguments (invalid metadata, a closed
// channel) as a *ValueError, before anything is sent.
func (m *UnaryUnaryMultiCallable) Call(request any, opts ...CallOption) (any, error) {
	resp, _, err := m.WithCall(request, opts...)
	return resp, err
}

// WithCall mirrors with_call(request, ...): the response and a Call for the
// RPC. On a non-OK status the Call is returned with the *RpcError.
func (m *UnaryUnaryMultiCallable) WithCall(request any, opts ...CallOption) (any, Call, error) {
	if len(m.ch.interceptors) > 0 {
		f, err := m.intercepted(request, opts, true)
		if err != nil {
			return nil, nil, err
		}
		return futureOutcome(f)
	}
	s, op, err := m.start(request, opts, false)
	if err != nil {
		return nil, nil, err
	}
	if op != nil {
		op.Wait()
		m.complete(s, op)
	}
	if s.err != nil {
		return nil, s, s.err
	}
	return s.response, s, nil
}

// Future mirrors future(request, ...): "Asynchronously invokes the
// underlying RPC" and returns a Call-Future whose result is the response
// and whose exception, on a non-OK status, is an *RpcError. Its Cancel
// cancels the RPC. The error is only for bad arguments, as for Call.
func (m *UnaryUnaryMultiCallable) Future(request any, opts ...CallOption) (CallFuture, error) {
	if len(m.ch.interceptors) > 0 {
		return m.intercepted(request, opts, false)
	}
	s, _, err := m.start(request, opts, true)
	if err != nil {
		return nil, err
	}
	return (*unaryFuture)(s), nil
}

// start serialises, validates and starts the RPC. A request that fails to
// serialise yields an RPC already terminated with INTERNAL, as in grpcio.
func (m *UnaryUnaryMultiCallable) start(request any, opts []CallOption, async bool) (*rpcState, *core.Op, error) {
	s, o, md, payload, err := m.ch.newRPC(m.method, opts, m.ser, request, true)
	if err != nil || s.cc == nil {
		return s, nil, err
	}
	var after func(*core.Op)
	if async {
		// Deserialising and callbacks are user code: off the poller.
		after = func(op *core.Op) { go m.complete(s, op) }
	}
	op, err := s.cc.StartUnary(md, o.waitForReady, payload, after)
	if cause, failed := marshalFailed(err); failed {
		// The request failed to marshal into core memory (core released
		// the call): as a serializer failing in newRPC.
		s.terminate(nil, StatusCodeInternal, "Exception serializing request!", nil, nil, cause.Error())
		return s, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	s.watchContext(o.ctx)
	return s, op, nil
}

// complete is the read-after-event half: status, metadata, and the
// response through the deserializer. It owns the received message: read
// only with an OK status, released either way.
func (m *UnaryUnaryMultiCallable) complete(s *rpcState, op *core.Op) {
	defer op.Message.Release()
	initial := fromCoreMetadata(op.InitialMetadata)
	trailing := fromCoreMetadata(op.TrailingMetadata)
	code := statusCodeFromCore(op.Status)
	details := op.Details
	var resp any
	if code == StatusCodeOK && op.HasMessage {
		r, err := decode(m.deser, &op.Message)
		if err != nil {
			code, details = StatusCodeInternal, "Exception deserializing response!"
		} else {
			resp = r
		}
	}
	s.terminate(resp, code, details, initial, trailing, op.ErrorString)
}
