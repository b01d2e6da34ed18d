// Package reflection mirrors grpcio-reflection's Python module
// grpc_reflection.v1alpha.reflection: gRPC server reflection, the service
// grpcurl, grpc_cli and Postman ask what a server serves and how its
// messages are laid out, so they can call it without the .proto files.
//
//	from grpc_reflection.v1alpha import reflection      // import "github.com/grpcpy/grpcpy/grpc/reflection"
//	SERVICE_NAMES = (                                    // serviceNames := []string{
//	    helloworld_pb2.DESCRIPTOR                        //     pb.GreeterServiceName,
//	        .services_by_name['Greeter'].full_name,      //     reflection.ServiceName,
//	    reflection.SERVICE_NAME,                         // }
//	)
//	reflection.enable_server_reflection(                 // err := reflection.EnableServerReflection(
//	    SERVICE_NAMES, server)                           //     serviceNames, server)
//
// # Protocols
//
// EnableServerReflection serves both grpc.reflection.v1alpha.ServerReflection
// (grpcio's, deprecated upstream) and grpc.reflection.v1.ServerReflection
// (what grpc-go and grpcurl ask first), with one servicer: each response
// is of the request's own version. Both answer:
//
//   - list_services: the service names given, sorted, as grpcio lists them
//     (pass ServiceName among them for the reflection service to be listed);
//   - file_by_filename, file_containing_symbol (any message, enum, service,
//     method, field or enum value name) and file_containing_extension: the
//     serialized FileDescriptorProto of the file and of its transitive
//     imports. As grpc-go does, a stream sends each file once: an import a
//     stream already received is left out of later responses (the file
//     asked for is always sent);
//   - all_extension_numbers_of_type: the extension numbers of a message,
//     sorted;
//   - an unknown file, symbol, type or extension: an error_response of
//     NOT_FOUND (5, "not found"), and a request with no question in it (or
//     one this version does not know): INVALID_ARGUMENT (3, "invalid
//     argument"), as grpcio answers. The stream goes on either way.
//
// Every response carries valid_host (the request's host) and
// original_request, as grpc-go's do.
//
// # Where descriptors come from
//
// grpcio looks symbols up in descriptor_pool.Default(), where every
// imported *_pb2 module registered its file; the Go counterpart is
// protobuf-go's global registry, where every linked *.pb.go package
// registers its file (protoc-gen-go's output; protoc-gen-grpcpy's stubs
// link it). Lookups go, in order, to protoregistry.GlobalFiles; to the
// private registry of gRPC's own service protos (health, reflection,
// channelz: grpcpy keeps them out of the global registry so a binary may
// also link grpc-go, see internal/grpcprotos), so those services are
// describable too; and to the pools given with WithPool.
package reflection

import (
	"fmt"
	"iter"
	"slices"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/grpcprotos"
)

// ServiceName mirrors SERVICE_NAME, the full name of the reflection
// service grpcio serves: "grpc.reflection.v1alpha.ServerReflection".
const ServiceName = "grpc.reflection.v1alpha.ServerReflection"

// ServiceNameV1 is the full name of the v1 reflection service,
// "grpc.reflection.v1.ServerReflection", served beside ServiceName. A Go
// addition (grpcio serves v1alpha only).
const ServiceNameV1 = "grpc.reflection.v1.ServerReflection"

// Pool is a descriptor pool to look files and symbols up in: what
// grpcio's pool= argument, a descriptor_pool.DescriptorPool, is here.
// *protoregistry.Files is one (fill it with protodesc.NewFiles from a
// FileDescriptorSet, or with RegisterFile). RangeFiles finds extensions.
type Pool interface {
	FindFileByPath(path string) (protoreflect.FileDescriptor, error)
	FindDescriptorByName(name protoreflect.FullName) (protoreflect.Descriptor, error)
	RangeFiles(f func(protoreflect.FileDescriptor) bool)
}

// Option is a keyword argument of enable_server_reflection and
// ReflectionServicer: pool=.
type Option func(*ReflectionServicer)

// WithPool is the pool= keyword: descriptors to serve beyond the linked
// protobuf packages. Where grpcio's pool replaces its default pool, here
// the pools are consulted after the global registry and gRPC's own
// protos, so a Go program describes what it links and what it loaded at
// run time (a FileDescriptorSet, say) alike. The pools must not change
// while the server serves.
func WithPool(pool Pool) Option {
	return func(s *ReflectionServicer) { s.pools = append(s.pools, pool) }
}

// ReflectionServicer mirrors grpc_reflection.v1alpha.reflection.ReflectionServicer,
// the servicer of the ServerReflection service (here of both versions).
type ReflectionServicer struct {
	serviceNames []string
	pools        []Pool
}

// NewReflectionServicer mirrors ReflectionServicer(service_names, pool=None):
// serviceNames are the fully qualified service names list_services
// answers.
func NewReflectionServicer(serviceNames []string, opts ...Option) *ReflectionServicer {
	s := &ReflectionServicer{serviceNames: slices.Sorted(slices.Values(serviceNames))}
	s.pools = []Pool{protoregistry.GlobalFiles, grpcprotos.Files}
	for _, o := range opts {
		o(s)
	}
	return s
}

// EnableServerReflection mirrors enable_server_reflection(service_names,
// server, pool=None): "Enables server reflection on a server", serving
// ServiceName and ServiceNameV1 from a NewReflectionServicer(serviceNames,
// opts...). Like every handler, only before server.Start
// (grpc.ErrServerStarted after).
func EnableServerReflection(serviceNames []string, server *grpc.Server, opts ...Option) error {
	return AddServerReflectionServicerToServer(NewReflectionServicer(serviceNames, opts...), server)
}

// AddServerReflectionServicerToServer mirrors grpcio-reflection's
// reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer,
// server), for both versions of the service (grpcio's registers v1alpha).
func AddServerReflectionServicerToServer(servicer *ReflectionServicer, server *grpc.Server) error {
	var handlers []grpc.GenericRpcHandler
	for _, service := range []protoreflect.FullName{ServiceNameV1, ServiceName} {
		pkg := service.Parent()
		h := grpc.StreamStreamRpcMethodHandler(servicer.ServerReflectionInfo,
			grpc.WithRequestDeserializer(grpcprotos.Deserializer(pkg.Append("ServerReflectionRequest"))),
			grpc.WithResponseSerializer(grpcprotos.Serializer))
		handlers = append(handlers, grpc.MethodHandlersGenericHandler(string(service),
			map[string]*grpc.RpcMethodHandler{"ServerReflectionInfo": h}))
	}
	return server.AddGenericRpcHandlers(handlers...)
}

// ServerReflectionInfo mirrors ReflectionServicer.ServerReflectionInfo(
// request_iterator, context): one response per request, in order. The
// requests are grpc.reflection.v1 or v1alpha ServerReflectionRequest
// messages (dynamic ones as the registered handlers deserialize them, or
// any proto.Message of those types); each response is a
// ServerReflectionResponse of the same version, a *dynamicpb.Message.
func (s *ReflectionServicer) ServerReflectionInfo(requestIterator iter.Seq2[any, error], context *grpc.ServicerContext) iter.Seq2[any, error] {
	return func(yield func(any, error) bool) {
		sent := make(map[string]bool) // files this stream has sent
		for request, err := range requestIterator {
			if err != nil {
				yield(nil, err)
				return
			}
			m, ok := request.(proto.Message)
			if !ok {
				yield(nil, fmt.Errorf("reflection: a request is a %T, not a ServerReflectionRequest", request))
				return
			}
			response, err := s.respond(m.ProtoReflect(), sent)
			if !yield(response, err) || err != nil {
				return
			}
		}
	}
}

// respond answers one request.
func (s *ReflectionServicer) respond(request protoreflect.Message, sent map[string]bool) (*dynamicpb.Message, error) {
	rd := request.Descriptor()
	respDesc := rd.ParentFile().Messages().ByName("ServerReflectionResponse")
	oneof := rd.Oneofs().ByName("message_request")
	if rd.Name() != "ServerReflectionRequest" || respDesc == nil || oneof == nil {
		return nil, fmt.Errorf("reflection: a request is a %s, not a ServerReflectionRequest", rd.FullName())
	}
	response := dynamicpb.NewMessage(respDesc)
	r := &responder{msg: response, fields: respDesc.Fields()}
	r.msg.Set(r.fields.ByName("valid_host"), request.Get(rd.Fields().ByName("host")))
	r.msg.Set(r.fields.ByName("original_request"), protoreflect.ValueOfMessage(request))

	field := request.WhichOneof(oneof)
	if field == nil {
		r.errorResponse(grpc.StatusCodeInvalidArgument)
		return response, nil
	}
	value := request.Get(field)
	var (
		file  protoreflect.FileDescriptor // the answer's file (its imports follow it)
		found bool
	)
	switch field.Name() {
	case "list_services":
		list := r.mutable("list_services_response").Mutable(r.sub("list_services_response").ByName("service")).List()
		for _, name := range s.serviceNames {
			service := list.NewElement()
			service.Message().Set(service.Message().Descriptor().Fields().ByName("name"), protoreflect.ValueOfString(name))
			list.Append(service)
		}
		return response, nil
	case "file_by_filename":
		file, found = s.findFile(value.String())
	case "file_containing_symbol":
		var d protoreflect.Descriptor
		if d, found = s.findSymbol(protoreflect.FullName(value.String())); found {
			file = d.ParentFile()
		}
	case "file_containing_extension":
		ext := value.Message()
		ef := ext.Descriptor().Fields()
		var xd protoreflect.ExtensionDescriptor
		xd, found = s.findExtension(protoreflect.FullName(ext.Get(ef.ByName("containing_type")).String()),
			protoreflect.FieldNumber(ext.Get(ef.ByName("extension_number")).Int()))
		if found {
			file = xd.ParentFile()
		}
	case "all_extension_numbers_of_type":
		var md protoreflect.MessageDescriptor
		if md, found = s.findMessage(protoreflect.FullName(value.String())); found {
			numbers := s.extensionNumbers(md.FullName())
			resp := r.mutable("all_extension_numbers_response")
			rf := r.sub("all_extension_numbers_response")
			resp.Set(rf.ByName("base_type_name"), protoreflect.ValueOfString(string(md.FullName())))
			list := resp.Mutable(rf.ByName("extension_number")).List()
			for _, n := range numbers {
				list.Append(protoreflect.ValueOfInt32(int32(n)))
			}
			return response, nil
		}
	default: // a question of a later version of the protocol
		r.errorResponse(grpc.StatusCodeInvalidArgument)
		return response, nil
	}
	if !found {
		r.errorResponse(grpc.StatusCodeNotFound)
		return response, nil
	}
	encoded, err := withDependencies(file, sent)
	if err != nil {
		return nil, err
	}
	list := r.mutable("file_descriptor_response").Mutable(r.sub("file_descriptor_response").ByName("file_descriptor_proto")).List()
	for _, b := range encoded {
		list.Append(protoreflect.ValueOfBytes(b))
	}
	return response, nil
}

// responder builds one ServerReflectionResponse.
type responder struct {
	msg    *dynamicpb.Message
	fields protoreflect.FieldDescriptors
}

// mutable sets the message_response field name and returns it.
func (r *responder) mutable(name protoreflect.Name) protoreflect.Message {
	return r.msg.Mutable(r.fields.ByName(name)).Message()
}

// sub is the fields of the message_response field name's message.
func (r *responder) sub(name protoreflect.Name) protoreflect.FieldDescriptors {
	return r.fields.ByName(name).Message().Fields()
}

// errorResponse sets error_response to code's value and text, as grpcio
// does: StatusCode.NOT_FOUND.value is (5, 'not found').
func (r *responder) errorResponse(code grpc.StatusCode) {
	value, message := code.Value()
	e := r.mutable("error_response")
	ef := r.sub("error_response")
	e.Set(ef.ByName("error_code"), protoreflect.ValueOfInt32(int32(value)))
	e.Set(ef.ByName("error_message"), protoreflect.ValueOfString(message))
}

// withDependencies serializes fd and its transitive imports (breadth
// first, fd first), leaving out the imports already in sent (fd itself
// is always sent) and adding what it sends to sent. Placeholder imports
// (files a dynamic pool could not resolve) are left out.
func withDependencies(fd protoreflect.FileDescriptor, sent map[string]bool) ([][]byte, error) {
	var out [][]byte
	seen := map[string]bool{fd.Path(): true}
	for queue := []protoreflect.FileDescriptor{fd}; len(queue) > 0; queue = queue[1:] {
		f := queue[0]
		if f == fd || !sent[f.Path()] {
			b, err := proto.Marshal(protodesc.ToFileDescriptorProto(f))
			if err != nil {
				return nil, fmt.Errorf("reflection: %s: %w", f.Path(), err)
			}
			out = append(out, b)
			sent[f.Path()] = true
		}
		imports := f.Imports()
		for i := range imports.Len() {
			imp := imports.Get(i).FileDescriptor
			if imp.IsPlaceholder() || seen[imp.Path()] {
				continue
			}
			seen[imp.Path()] = true
			queue = append(queue, imp)
		}
	}
	return out, nil
}

// findFile mirrors pool.FindFileByName.
func (s *ReflectionServicer) findFile(path string) (protoreflect.FileDescriptor, bool) {
	for _, p := range s.pools {
		if fd, err := p.FindFileByPath(path); err == nil && !fd.IsPlaceholder() {
			return fd, true
		}
	}
	return nil, false
}

// findSymbol mirrors pool.FindFileContainingSymbol: the descriptor of a
// message, enum, enum value, service, method, field, oneof or extension.
func (s *ReflectionServicer) findSymbol(name protoreflect.FullName) (protoreflect.Descriptor, bool) {
	if !name.IsValid() {
		return nil, false
	}
	for _, p := range s.pools {
		if d, err := p.FindDescriptorByName(name); err == nil && !d.IsPlaceholder() {
			return d, true
		}
	}
	return nil, false
}

// findMessage mirrors pool.FindMessageTypeByName.
func (s *ReflectionServicer) findMessage(name protoreflect.FullName) (protoreflect.MessageDescriptor, bool) {
	d, ok := s.findSymbol(name)
	if !ok {
		return nil, false
	}
	md, ok := d.(protoreflect.MessageDescriptor)
	return md, ok
}

// findExtension mirrors pool.FindExtensionByNumber(message, number).
func (s *ReflectionServicer) findExtension(message protoreflect.FullName, number protoreflect.FieldNumber) (xd protoreflect.ExtensionDescriptor, found bool) {
	if _, ok := s.findMessage(message); !ok {
		return nil, false
	}
	s.rangeExtensions(message, func(x protoreflect.ExtensionDescriptor) bool {
		if x.Number() == number {
			xd, found = x, true
		}
		return !found
	})
	return xd, found
}

// extensionNumbers mirrors pool.FindAllExtensions(message): the numbers,
// sorted, each once.
func (s *ReflectionServicer) extensionNumbers(message protoreflect.FullName) []protoreflect.FieldNumber {
	var numbers []protoreflect.FieldNumber
	s.rangeExtensions(message, func(x protoreflect.ExtensionDescriptor) bool {
		numbers = append(numbers, x.Number())
		return true
	})
	slices.Sort(numbers)
	return slices.Compact(numbers)
}

// rangeExtensions calls f with every extension of message declared in a
// file of the pools (at top level or inside a message), until f returns
// false.
func (s *ReflectionServicer) rangeExtensions(message protoreflect.FullName, f func(protoreflect.ExtensionDescriptor) bool) {
	more := true
	var walk func(xs protoreflect.ExtensionDescriptors, ms protoreflect.MessageDescriptors)
	walk = func(xs protoreflect.ExtensionDescriptors, ms protoreflect.MessageDescriptors) {
		for i := 0; more && i < xs.Len(); i++ {
			if x := xs.Get(i); x.ContainingMessage().FullName() == message {
				more = f(x)
			}
		}
		for i := 0; more && i < ms.Len(); i++ {
			walk(ms.Get(i).Extensions(), ms.Get(i).Messages())
		}
	}
	for _, p := range s.pools {
		p.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
			walk(fd.Extensions(), fd.Messages())
			return more
		})
		if !more {
			return
		}
	}
}
