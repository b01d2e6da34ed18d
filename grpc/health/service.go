package health

import (
	"iter"

	"github.com/grpcpy/grpcpy/grpc"
)

// Servicer mirrors health_pb2_grpc.HealthServicer, the base class of
// grpc.health.v1.Health servers: the methods AddHealthServicerToServer
// serves. *HealthServicer is one; embed UnimplementedHealthServicer to
// write another.
type Servicer interface {
	// Check mirrors Check(request, context).
	Check(request *HealthCheckRequest, context *grpc.ServicerContext) (*HealthCheckResponse, error)
	// Watch mirrors Watch(request, context): a response stream.
	Watch(request *HealthCheckRequest, context *grpc.ServicerContext) iter.Seq2[*HealthCheckResponse, error]
}

var _ Servicer = (*HealthServicer)(nil)

// UnimplementedHealthServicer mirrors the methods of the generated base
// class health_pb2_grpc.HealthServicer: UNIMPLEMENTED "Method not
// implemented!" and a *grpc.NotImplementedError, as generated Go
// servicers' Unimplemented types do.
type UnimplementedHealthServicer struct{}

// Check answers UNIMPLEMENTED.
func (UnimplementedHealthServicer) Check(request *HealthCheckRequest, context *grpc.ServicerContext) (*HealthCheckResponse, error) {
	context.SetCode(grpc.StatusCodeUnimplemented)
	context.SetDetails("Method not implemented!")
	return nil, &grpc.NotImplementedError{Msg: "Method not implemented!"}
}

// Watch answers UNIMPLEMENTED.
func (UnimplementedHealthServicer) Watch(request *HealthCheckRequest, context *grpc.ServicerContext) iter.Seq2[*HealthCheckResponse, error] {
	context.SetCode(grpc.StatusCodeUnimplemented)
	context.SetDetails("Method not implemented!")
	return func(yield func(*HealthCheckResponse, error) bool) {
		yield(nil, &grpc.NotImplementedError{Msg: "Method not implemented!"})
	}
}

// AddHealthServicerToServer mirrors
// health_pb2_grpc.add_HealthServicer_to_server(servicer, server): it
// registers servicer's Check and Watch with server as the generic handler
// of ServiceName.
func AddHealthServicerToServer(servicer Servicer, server *grpc.Server) error {
	watch := grpc.TypedUnaryStreamRpcMethodHandler(servicer.Watch,
		grpc.WithRequestDeserializer(deserializeRequest), grpc.WithResponseSerializer(serializeResponse))
	if s, ok := servicer.(*HealthServicer); ok {
		// What grpcio's HealthServicer sets as attributes of its Watch.
		watch.ExperimentalNonBlocking, watch.ExperimentalThreadPool = !s.blocking, s.threadPool
	}
	return server.AddGenericRpcHandlers(grpc.MethodHandlersGenericHandler(ServiceName, map[string]*grpc.RpcMethodHandler{
		"Check": grpc.TypedUnaryUnaryRpcMethodHandler(servicer.Check,
			grpc.WithRequestDeserializer(deserializeRequest), grpc.WithResponseSerializer(serializeResponse)),
		"Watch": watch,
	}))
}

// HealthStub mirrors health_pb2_grpc.HealthStub: typed multi-callables of
// grpc.health.v1.Health.
type HealthStub struct {
	// Check mirrors stub.Check: the status of one service; NOT_FOUND if
	// the server does not know it.
	Check *grpc.UnaryUnary[*HealthCheckRequest, *HealthCheckResponse]
	// Watch mirrors stub.Watch: the status now, then every change.
	Watch *grpc.UnaryStream[*HealthCheckRequest, *HealthCheckResponse]
}

// NewHealthStub mirrors HealthStub(channel).
func NewHealthStub(channel *grpc.Channel) *HealthStub {
	opts := []grpc.MultiCallableOption{grpc.WithRequestSerializer(serializeRequest), grpc.WithResponseDeserializer(deserializeResponse)}
	return &HealthStub{
		Check: grpc.NewUnaryUnary[*HealthCheckRequest, *HealthCheckResponse](channel, "/"+ServiceName+"/Check", opts...),
		Watch: grpc.NewUnaryStream[*HealthCheckRequest, *HealthCheckResponse](channel, "/"+ServiceName+"/Watch", opts...),
	}
}
