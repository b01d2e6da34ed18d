package grpc

import (
	"iter"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// UnaryUnaryBehavior is the behavior of a unary-unary method: it "accepts
// one request and returns one response". Returning an error ends the RPC
// as a raised exception does in grpcio: UNKNOWN with "Exception calling
// application: ..." unless SetCode/SetDetails chose otherwise.
type UnaryUnaryBehavior func(request any, context *ServicerContext) (any, error)

// UnaryStreamBehavior is the behavior of a unary-stream method: it "accepts
// one request and returns an iterator of response values". Yielding a
// non-nil error ends the stream as a raised exception does.
type UnaryStreamBehavior func(request any, context *ServicerContext) iter.Seq2[any, error]

// StreamUnaryBehavior is the behavior of a stream-unary method: it "accepts
// an iterator of request values and returns a single response value". The
// iterator yields a non-nil error if the client's stream fails.
type StreamUnaryBehavior func(requests iter.Seq2[any, error], context *ServicerContext) (any, error)

// StreamStreamBehavior is the behavior of a stream-stream method: it
// "accepts an iterator of request values and returns an iterator of
// response values".
type StreamStreamBehavior func(requests iter.Seq2[any, error], context *ServicerContext) iter.Seq2[any, error]

// RpcMethodHandler mirrors grpc.RpcMethodHandler, "An implementation of a
// single RPC method". Exactly one of the four behaviors is non-nil, the one
// the two streaming flags select.
type RpcMethodHandler struct {
	// RequestStreaming mirrors request_streaming.
	RequestStreaming bool
	// ResponseStreaming mirrors response_streaming.
	ResponseStreaming bool
	// RequestDeserializer mirrors request_deserializer; nil passes the raw
	// request bytes ([]byte) to the behavior. The typed handlers set it to
	// protobuf's for a protobuf request type and decode requests where the
	// core received them (no Go copy); set it with WithRequestDeserializer,
	// not by assigning the field afterwards, for yours to be the one used.
	RequestDeserializer Deserializer
	// ResponseSerializer mirrors response_serializer; nil sends responses
	// as they are ([]byte or string). The typed handlers set it to
	// protobuf's for a protobuf response type and marshal responses
	// straight into core memory; set it with WithResponseSerializer, not
	// by assigning the field afterwards, for yours to be the one used.
	ResponseSerializer Serializer
	// UnaryUnary mirrors unary_unary.
	UnaryUnary UnaryUnaryBehavior
	// UnaryStream mirrors unary_stream.
	UnaryStream UnaryStreamBehavior
	// StreamUnary mirrors stream_unary.
	StreamUnary StreamUnaryBehavior
	// StreamStream mirrors stream_stream.
	StreamStream StreamStreamBehavior

	// ExperimentalNonBlocking mirrors the experimental_non_blocking
	// attribute grpcio's server reads from a behavior (grpc_health's
	// HealthServicer sets it on Watch): the response iterator of a
	// response-streaming method is drained on a goroutine of its own, so
	// an RPC that mostly waits (a Watch) does not hold a worker of the
	// server's thread pool. The RPC still counts against
	// maximum_concurrent_rpcs until it ends.
	ExperimentalNonBlocking bool
	// ExperimentalThreadPool mirrors the experimental_thread_pool
	// attribute: the executor that runs this method's behavior instead of
	// the server's thread pool (nil: the server's).
	ExperimentalThreadPool Executor

	// reqProto and respProto mark the serializers the typed handlers set
	// (typedHandlerOptions) as protobuf's defaults: the copy-free paths.
	// The options of this file clear them; a handler rebuilt from these
	// fields (as an interceptor does) does not carry them and copies.
	reqProto  protoreflect.MessageType
	respProto bool
}

// requestDecoder is RequestDeserializer as the server's paths use it.
func (h *RpcMethodHandler) requestDecoder() decoder {
	return decoder{des: h.RequestDeserializer, proto: h.reqProto}
}

// responseEncoder is ResponseSerializer as the server's paths use it.
func (h *RpcMethodHandler) responseEncoder() encoder {
	return encoder{ser: h.ResponseSerializer, proto: h.respProto}
}

// HandlerOption is a keyword argument of the *_rpc_method_handler
// functions: request_deserializer, response_serializer.
type HandlerOption func(*RpcMethodHandler)

// WithRequestDeserializer is the request_deserializer= keyword.
func WithRequestDeserializer(d Deserializer) HandlerOption {
	return func(h *RpcMethodHandler) { h.RequestDeserializer, h.reqProto = d, nil }
}

// WithResponseSerializer is the response_serializer= keyword.
func WithResponseSerializer(s Serializer) HandlerOption {
	return func(h *RpcMethodHandler) { h.ResponseSerializer, h.respProto = s, false }
}

func newHandler(reqStream, respStream bool, opts []HandlerOption) *RpcMethodHandler {
	h := &RpcMethodHandler{RequestStreaming: reqStream, ResponseStreaming: respStream}
	for _, o := range opts {
		o(h)
	}
	return h
}

// UnaryUnaryRpcMethodHandler mirrors grpc.unary_unary_rpc_method_handler(
// behavior, request_deserializer=None, response_serializer=None).
func UnaryUnaryRpcMethodHandler(behavior UnaryUnaryBehavior, opts ...HandlerOption) *RpcMethodHandler {
	h := newHandler(false, false, opts)
	h.UnaryUnary = behavior
	return h
}

// UnaryStreamRpcMethodHandler mirrors grpc.unary_stream_rpc_method_handler.
func UnaryStreamRpcMethodHandler(behavior UnaryStreamBehavior, opts ...HandlerOption) *RpcMethodHandler {
	h := newHandler(false, true, opts)
	h.UnaryStream = behavior
	return h
}

// StreamUnaryRpcMethodHandler mirrors grpc.stream_unary_rpc_method_handler.
func StreamUnaryRpcMethodHandler(behavior StreamUnaryBehavior, opts ...HandlerOption) *RpcMethodHandler {
	h := newHandler(true, false, opts)
	h.StreamUnary = behavior
	return h
}

// StreamStreamRpcMethodHandler mirrors grpc.stream_stream_rpc_method_handler.
func StreamStreamRpcMethodHandler(behavior StreamStreamBehavior, opts ...HandlerOption) *RpcMethodHandler {
	h := newHandler(true, true, opts)
	h.StreamStream = behavior
	return h
}

// HandlerCallDetails mirrors grpc.HandlerCallDetails: "Describes an RPC that
// has just arrived for service."
type HandlerCallDetails struct {
	// Method mirrors method: "The method name of the RPC", e.g.
	// "/helloworld.Greeter/SayHello".
	Method string
	// InvocationMetadata mirrors invocation_metadata: "The metadata sent by
	// the client."
	InvocationMetadata Metadata
}

// GenericRpcHandler mirrors grpc.GenericRpcHandler: "An implementation of
// arbitrarily many RPC methods."
type GenericRpcHandler interface {
	// Service mirrors service(handler_call_details): the handler for the
	// RPC, or nil (Python's None) if this handler does not service it.
	Service(handlerCallDetails *HandlerCallDetails) *RpcMethodHandler
}

// ServiceRpcHandler mirrors grpc.ServiceRpcHandler: "An implementation of
// RPC methods belonging to a service", methods named
// "/Service.Name/Service.Method".
type ServiceRpcHandler interface {
	GenericRpcHandler
	// ServiceName mirrors service_name().
	ServiceName() string
}

// GenericRpcHandlerFunc adapts a function to GenericRpcHandler.
type GenericRpcHandlerFunc func(handlerCallDetails *HandlerCallDetails) *RpcMethodHandler

// Service calls f.
func (f GenericRpcHandlerFunc) Service(d *HandlerCallDetails) *RpcMethodHandler { return f(d) }

type dictionaryGenericHandler struct {
	name     string
	handlers map[string]*RpcMethodHandler
}

func (d *dictionaryGenericHandler) ServiceName() string { return d.name }

func (d *dictionaryGenericHandler) Service(details *HandlerCallDetails) *RpcMethodHandler {
	return d.handlers[details.Method]
}

// MethodHandlersGenericHandler mirrors grpc.method_handlers_generic_handler(
// service, method_handlers): a ServiceRpcHandler for the service named
// service (e.g. "helloworld.Greeter"), serving "/service/method" with
// methodHandlers[method].
func MethodHandlersGenericHandler(service string, methodHandlers map[string]*RpcMethodHandler) ServiceRpcHandler {
	d := &dictionaryGenericHandler{name: service, handlers: make(map[string]*RpcMethodHandler, len(methodHandlers))}
	for m, h := range methodHandlers {
		d.handlers["/"+service+"/"+m] = h
	}
	return d
}
