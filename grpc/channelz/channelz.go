// Package channelz is gRPC Python's channelz service,
// grpc_channelz.v1.channelz (the grpcio-channelz package), in Go:
// AddChannelzServicer serves grpc.channelz.v1.Channelz on a grpcpy server
// from the C core's own channelz data, and ChannelzStub is the client side
// of the generated channelz_pb2_grpc module.
//
//	from grpc_channelz.v1 import channelz                    // import "github.com/grpcpy/grpcpy/grpc/channelz"
//	channelz.add_channelz_servicer(server)                   // channelz.AddChannelzServicer(server)
//	stub = channelz_pb2_grpc.ChannelzStub(channel)           // stub := channelz.NewChannelzStub(channel)
//	stub.GetServers(channelz_pb2.GetServersRequest())        // stub.GetServers.Call(channelz.NewMessage("GetServersRequest"))
//
// # What it serves
//
// The seven methods of grpc/channelz/v1/channelz.proto, each answered as
// grpcio answers it: the core renders the entity as JSON
// (grpc_channelz_get_top_channels, _get_servers, _get_server,
// _get_server_sockets, _get_channel, _get_subchannel, _get_socket) and the
// JSON becomes the response message (grpcio: json_format.Parse; here
// protojson). The data is the whole process's, whichever server serves it:
// every channel, subchannel, server and socket of the core, grpcpy's own
// and those of any other library over the same core.
//
//   - GetTopChannels(start_channel_id) and GetServers(start_server_id):
//     the channels (servers) whose id is at least the start id, in id
//     order, at most 100 per page; end is true on the last page. Their
//     max_results is ignored, as the core and grpcio ignore it.
//   - GetServerSockets(server_id, start_socket_id, max_results): one page
//     of the server's connections (500 when max_results is 0); end is true
//     on the last page.
//   - GetServer, GetChannel, GetSubchannel, GetSocket: one entity by id.
//
// An id the core does not know as an entity of that kind, and a negative
// start_socket_id or max_results, end the RPC with NOT_FOUND and grpcio's
// details ("Failed to get the server, please ensure your server_id==7 is
// valid"); GetTopChannels and GetServers answer INTERNAL in that case, as
// grpcio does (the core always answers them). JSON that cannot be read
// into the response is INTERNAL with the parser's message.
//
// One deliberate difference: fields the response message does not have,
// and google.protobuf.Any values of a type no registry here knows, are
// dropped instead of failing the RPC (grpcio's json_format.Parse would
// answer INTERNAL): a future core may render more than this proto knows,
// and a debugging service is most useful when it still answers. An
// unknown Any keeps its type URL with an empty value. The core 1.51
// renders neither.
//
// # What is listed
//
// Channelz is on by default in the core (channel argument
// "grpc.enable_channelz", default 1): every grpcpy channel and server is
// listed with no option. A channel made with
// grpc.Option("grpc.enable_channelz", 0), or a server made with
// grpc.WithOptions(grpc.Option("grpc.enable_channelz", 0)), is not
// tracked: it is missing from GetTopChannels (GetServers), its calls are
// counted nowhere on its side, and its id is unknown. Adding the servicer
// does not depend on it, as in grpcio: a channelz-disabled server may
// serve channelz. "grpc.max_channel_trace_event_memory_per_node" bounds
// each entity's trace events (the core's default keeps some).
//
// Call counts are the core's: a channel or subchannel counts a call when
// it starts and as succeeded or failed by the status the client receives
// (UNIMPLEMENTED for an unknown method is a failure); a server counts it
// failed when it sent a non-OK status or the call was cancelled, once
// the call has closed on the server, which may be a moment after the
// client has seen the status.
//
// # Messages and grpc-go
//
// The request and response messages are dynamic messages
// (google.golang.org/protobuf/types/dynamicpb) over the descriptors of
// channelz.proto held in a private registry, not generated Go types: a
// program may also link grpc-go, whose generated
// google.golang.org/grpc/channelz/grpc_channelz_v1 registers
// grpc.channelz.v1 in protobuf-go's global registry, and protobuf-go
// panics at start-up on a name registered twice. ChannelzStub takes any
// proto.Message of the request's full name (a NewMessage one or grpc-go's
// generated type); tests/peers/channelz reads this service with grpc-go's
// ChannelzClient in one binary with this package.
//
// # Experimental
//
// As in grpcio ("This is an EXPERIMENTAL API"): the core's channelz
// functions are experimental, and the content of the answers is the
// core's.
package channelz

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/grpcpy/grpcpy/core"
	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/grpcprotos"
)

// ServiceName mirrors
// channelz_pb2.DESCRIPTOR.services_by_name["Channelz"].full_name: the full
// name of the channelz service (for reflection's list of service names).
const ServiceName = "grpc.channelz.v1.Channelz"

// protoPackage is the proto package of channelz.proto's messages.
const protoPackage = "grpc.channelz.v1"

// method is one RPC of the service: its request and response messages,
// the core's query, and grpcio's error when the core answers nothing.
type method struct {
	name, request, response string
	// query asks the core; "" means the core returned NULL.
	query func(req protoreflect.Message) string
	// missing is grpcio's ValueError text (cygrpc.channelz_get_*) and the
	// code its servicer maps it to.
	missing     func(req protoreflect.Message) string
	missingCode grpc.StatusCode
}

// field reads an int64 field of a request by its proto name.
func field(m protoreflect.Message, name protoreflect.Name) int64 {
	fd := m.Descriptor().Fields().ByName(name)
	if fd == nil {
		return 0
	}
	return m.Get(fd).Int()
}

var methods = []method{
	{
		name: "GetTopChannels", request: "GetTopChannelsRequest", response: "GetTopChannelsResponse",
		query: func(r protoreflect.Message) string { return core.ChannelzTopChannels(field(r, "start_channel_id")) },
		missing: func(r protoreflect.Message) string {
			return fmt.Sprintf("Failed to get top channels, please ensure your start_channel_id==%d is valid", field(r, "start_channel_id"))
		},
		missingCode: grpc.StatusCodeInternal,
	},
	{
		name: "GetServers", request: "GetServersRequest", response: "GetServersResponse",
		query: func(r protoreflect.Message) string { return core.ChannelzServers(field(r, "start_server_id")) },
		missing: func(r protoreflect.Message) string {
			return fmt.Sprintf("Failed to get servers, please ensure your start_server_id==%d is valid", field(r, "start_server_id"))
		},
		missingCode: grpc.StatusCodeInternal,
	},
	{
		name: "GetServer", request: "GetServerRequest", response: "GetServerResponse",
		query: func(r protoreflect.Message) string { return core.ChannelzServer(field(r, "server_id")) },
		missing: func(r protoreflect.Message) string {
			return fmt.Sprintf("Failed to get the server, please ensure your server_id==%d is valid", field(r, "server_id"))
		},
		missingCode: grpc.StatusCodeNotFound,
	},
	{
		name: "GetServerSockets", request: "GetServerSocketsRequest", response: "GetServerSocketsResponse",
		query: func(r protoreflect.Message) string {
			return core.ChannelzServerSockets(field(r, "server_id"), field(r, "start_socket_id"), field(r, "max_results"))
		},
		missing: func(r protoreflect.Message) string {
			return fmt.Sprintf("Failed to get server sockets, please ensure your server_id==%d and start_socket_id==%d and max_results==%d is valid",
				field(r, "server_id"), field(r, "start_socket_id"), field(r, "max_results"))
		},
		missingCode: grpc.StatusCodeNotFound,
	},
	{
		name: "GetChannel", request: "GetChannelRequest", response: "GetChannelResponse",
		query: func(r protoreflect.Message) string { return core.ChannelzChannel(field(r, "channel_id")) },
		missing: func(r protoreflect.Message) string {
			return fmt.Sprintf("Failed to get the channel, please ensure your channel_id==%d is valid", field(r, "channel_id"))
		},
		missingCode: grpc.StatusCodeNotFound,
	},
	{
		name: "GetSubchannel", request: "GetSubchannelRequest", response: "GetSubchannelResponse",
		query: func(r protoreflect.Message) string { return core.ChannelzSubchannel(field(r, "subchannel_id")) },
		missing: func(r protoreflect.Message) string {
			return fmt.Sprintf("Failed to get the subchannel, please ensure your subchannel_id==%d is valid", field(r, "subchannel_id"))
		},
		missingCode: grpc.StatusCodeNotFound,
	},
	{
		name: "GetSocket", request: "GetSocketRequest", response: "GetSocketResponse",
		query: func(r protoreflect.Message) string { return core.ChannelzSocket(field(r, "socket_id")) },
		missing: func(r protoreflect.Message) string {
			return fmt.Sprintf("Failed to get the socket, please ensure your socket_id==%d is valid", field(r, "socket_id"))
		},
		missingCode: grpc.StatusCodeNotFound,
	},
}

// methodNamed is the method of the name.
func methodNamed(name string) method {
	for _, m := range methods {
		if m.name == name {
			return m
		}
	}
	panic("channelz: no method " + name)
}

// serve is the behavior of m, grpcio's ChannelzServicer method: the
// core's JSON as the response, or the RPC ends with the code and details
// grpcio's method sets (it sets them and returns None; Abort sends the
// same status without grpcio's "Exception serializing message!" log).
func (m method) serve(request any, context *grpc.ServicerContext) (any, error) {
	req, ok := request.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("channelz: %s request is a %T", m.name, request)
	}
	text := m.query(req.ProtoReflect())
	if text == "" {
		context.Abort(m.missingCode, m.missing(req.ProtoReflect()))
	}
	resp, err := fromJSON(text, protoreflect.FullName(protoPackage+"."+m.response))
	if err != nil {
		context.Abort(grpc.StatusCodeInternal, err.Error())
	}
	return resp, nil
}

// AddChannelzServicer mirrors
// grpc_channelz.v1.channelz.add_channelz_servicer(server): it registers
// the channelz service (ServiceName) with server, answering from the
// core's channelz data for the entire process. Like any handler it must
// be added before server.Start. See the package documentation for what is
// listed and the errors.
func AddChannelzServicer(server *grpc.Server) error {
	handlers := make(map[string]*grpc.RpcMethodHandler, len(methods))
	for _, m := range methods {
		handlers[m.name] = grpc.UnaryUnaryRpcMethodHandler(m.serve,
			grpc.WithRequestDeserializer(grpcprotos.Deserializer(protoPackage+"."+protoreflect.FullName(m.request))),
			grpc.WithResponseSerializer(grpcprotos.Serializer))
	}
	return server.AddGenericRpcHandlers(grpc.MethodHandlersGenericHandler(ServiceName, handlers))
}

// ---- the core's JSON to the response message ----

// fromJSON reads the core's JSON into a new message of the full name
// (grpcio: json_format.Parse(text, message)).
func fromJSON(text string, name protoreflect.FullName) (proto.Message, error) {
	m := grpcprotos.New(name)
	if err := (protojson.UnmarshalOptions{Resolver: anyResolver{}, DiscardUnknown: true}).Unmarshal([]byte(text), m); err != nil {
		return nil, err
	}
	return m, nil
}

// unresolved is the message type an unknown google.protobuf.Any is read
// as: no fields, so everything but its type URL is dropped.
var unresolved = func() protoreflect.MessageType {
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name:        proto.String("grpcpy/channelz/unresolved.proto"),
		Package:     proto.String("grpcpy.channelz"),
		Syntax:      proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String("Unresolved")}},
	}, new(protoregistry.Files))
	if err != nil {
		panic("channelz: " + err.Error())
	}
	return dynamicpb.NewMessageType(fd.Messages().Get(0))
}()

// anyResolver resolves the messages of gRPC's private registry, then the
// global one (the well-known types), and reads any other Any as
// unresolved instead of failing.
type anyResolver struct{}

func (anyResolver) FindMessageByName(name protoreflect.FullName) (protoreflect.MessageType, error) {
	if mt, err := grpcprotos.Types.FindMessageByName(name); err == nil {
		return mt, nil
	}
	return protoregistry.GlobalTypes.FindMessageByName(name)
}

func (anyResolver) FindMessageByURL(url string) (protoreflect.MessageType, error) {
	if mt, err := grpcprotos.Types.FindMessageByURL(url); err == nil {
		return mt, nil
	}
	if mt, err := protoregistry.GlobalTypes.FindMessageByURL(url); err == nil {
		return mt, nil
	}
	return unresolved, nil
}

func (anyResolver) FindExtensionByName(field protoreflect.FullName) (protoreflect.ExtensionType, error) {
	return protoregistry.GlobalTypes.FindExtensionByName(field)
}

func (anyResolver) FindExtensionByNumber(message protoreflect.FullName, field protoreflect.FieldNumber) (protoreflect.ExtensionType, error) {
	return protoregistry.GlobalTypes.FindExtensionByNumber(message, field)
}

// ---- the client side ----

// ChannelzStub mirrors channelz_pb2_grpc.ChannelzStub: the multi-callables
// of grpc.channelz.v1.Channelz. Requests are any proto.Message of the
// method's request type (NewMessage, or grpc-go's generated type);
// responses are dynamic messages of the response type.
type ChannelzStub struct {
	// GetTopChannels mirrors stub.GetTopChannels: the root channels.
	GetTopChannels *grpc.UnaryUnary[proto.Message, proto.Message]
	// GetServers mirrors stub.GetServers: the servers.
	GetServers *grpc.UnaryUnary[proto.Message, proto.Message]
	// GetServer mirrors stub.GetServer: one server.
	GetServer *grpc.UnaryUnary[proto.Message, proto.Message]
	// GetServerSockets mirrors stub.GetServerSockets: a server's sockets.
	GetServerSockets *grpc.UnaryUnary[proto.Message, proto.Message]
	// GetChannel mirrors stub.GetChannel: one channel.
	GetChannel *grpc.UnaryUnary[proto.Message, proto.Message]
	// GetSubchannel mirrors stub.GetSubchannel: one subchannel.
	GetSubchannel *grpc.UnaryUnary[proto.Message, proto.Message]
	// GetSocket mirrors stub.GetSocket: one socket.
	GetSocket *grpc.UnaryUnary[proto.Message, proto.Message]
}

// NewChannelzStub mirrors channelz_pb2_grpc.ChannelzStub(channel).
func NewChannelzStub(channel *grpc.Channel) *ChannelzStub {
	mc := func(name string) *grpc.UnaryUnary[proto.Message, proto.Message] {
		m := methodNamed(name)
		return grpc.NewUnaryUnary[proto.Message, proto.Message](channel, "/"+ServiceName+"/"+m.name,
			grpc.WithRequestSerializer(grpcprotos.Serializer),
			grpc.WithResponseDeserializer(grpcprotos.Deserializer(protoPackage+"."+protoreflect.FullName(m.response))))
	}
	return &ChannelzStub{
		GetTopChannels:   mc("GetTopChannels"),
		GetServers:       mc("GetServers"),
		GetServer:        mc("GetServer"),
		GetServerSockets: mc("GetServerSockets"),
		GetChannel:       mc("GetChannel"),
		GetSubchannel:    mc("GetSubchannel"),
		GetSocket:        mc("GetSocket"),
	}
}

// NewMessage mirrors the message classes of channelz_pb2
// (channelz_pb2.GetServersRequest()): a new, empty dynamic message of
// grpc.channelz.v1, named without its package ("GetServersRequest",
// "GetSocketRequest", "Channel", ...). Set its fields with ProtoReflect,
// or read JSON into it with protojson. A name channelz.proto does not
// define is a programming error and panics, as Python raises
// AttributeError.
func NewMessage(name string) *dynamicpb.Message {
	return grpcprotos.New(protoPackage + "." + protoreflect.FullName(name))
}
