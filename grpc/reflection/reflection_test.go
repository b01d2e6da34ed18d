package reflection_test

import (
	"errors"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/gofeaturespb"

	golden "github.com/grpcpy/grpcpy/cmd/protoc-gen-grpcpy/testdata/golden/importer"
	pb "github.com/grpcpy/grpcpy/examples/helloworld/helloworld"
	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/grpc/reflection"
)

// Both protocol versions answer the same questions the same way.
var protocols = []protoreflect.FullName{"grpc.reflection.v1", "grpc.reflection.v1alpha"}

// The protobuf packages these tests describe: linking them registers
// their files globally, as importing *_pb2 modules does in Python.
var _ = []protoreflect.FileDescriptor{
	golden.File_importer_importer_proto, pb.File_helloworld_proto,
	gofeaturespb.File_google_protobuf_go_features_proto,
}

func TestNames(t *testing.T) {
	if reflection.ServiceName != "grpc.reflection.v1alpha.ServerReflection" ||
		reflection.ServiceNameV1 != "grpc.reflection.v1.ServerReflection" {
		t.Fatal(reflection.ServiceName, reflection.ServiceNameV1)
	}
}

func TestListServices(t *testing.T) {
	for _, pkg := range protocols {
		t.Run(string(pkg), func(t *testing.T) {
			target := serve(t, []string{reflection.ServiceName, "helloworld.Greeter", "a.First"}, nil)
			s := openStream(t, target, pkg)
			resp := s.ask("list_services", "")
			if k := kind(resp); k != "list_services_response" {
				t.Fatalf("answer %s", k)
			}
			var got []string
			list := get(get(resp, "list_services_response").Message(), "service").List()
			for i := range list.Len() {
				got = append(got, get(list.Get(i).Message(), "name").String())
			}
			// grpcio lists tuple(sorted(service_names)).
			want := []string{"a.First", "grpc.reflection.v1alpha.ServerReflection", "helloworld.Greeter"}
			if !slices.Equal(got, want) {
				t.Fatalf("services %q, want %q", got, want)
			}
		})
	}
}

// TestFileContainingSymbol: the file of a symbol comes with its
// transitive imports (well-known types and another package's file), they
// build a complete registry, and a stream sends each import once.
func TestFileContainingSymbol(t *testing.T) {
	for _, pkg := range protocols {
		t.Run(string(pkg), func(t *testing.T) {
			target := serve(t, nil, nil)
			s := openStream(t, target, pkg)
			fdps := s.files(s.ask("file_containing_symbol", "grpcpy.golden.importer.Importer"))
			got := names(fdps)
			want := []string{"importer/importer.proto", "google/protobuf/empty.proto",
				"google/protobuf/timestamp.proto", "shapes/shapes.proto"}
			if !slices.Equal(got, want) {
				t.Fatalf("files %q, want %q", got, want)
			}
			// What a client does with them: a registry of its own that
			// resolves the service's methods and their message types.
			files, err := protodesc.NewFiles(&descriptorpb.FileDescriptorSet{File: fdps})
			if err != nil {
				t.Fatalf("the files do not make a registry: %v", err)
			}
			d, err := files.FindDescriptorByName("grpcpy.golden.importer.Importer.Now")
			if err != nil {
				t.Fatal(err)
			}
			if out := d.(protoreflect.MethodDescriptor).Output().FullName(); out != "google.protobuf.Timestamp" {
				t.Fatalf("Now returns %s", out)
			}
			if !proto.Equal(fdps[0], protodesc.ToFileDescriptorProto(golden.File_importer_importer_proto)) {
				t.Fatal("importer.proto differs from the linked descriptor")
			}

			// The same stream: what was sent is not sent again, except the
			// file asked for.
			if got := names(s.files(s.ask("file_containing_symbol", "grpcpy.golden.shapes.Resp"))); !slices.Equal(got, []string{"shapes/shapes.proto"}) {
				t.Fatalf("files %q", got)
			}
			if got := names(s.files(s.ask("file_containing_symbol", "grpcpy.golden.importer.Local"))); !slices.Equal(got, []string{"importer/importer.proto"}) {
				t.Fatalf("files %q", got)
			}
			// Another stream starts afresh.
			s2 := openStream(t, target, pkg)
			if got := names(s2.files(s2.ask("file_containing_symbol", "grpcpy.golden.importer.Importer"))); !slices.Equal(got, want) {
				t.Fatalf("a new stream: files %q, want %q", got, want)
			}
		})
	}
}

// TestSymbolKinds: Python's FindFileContainingSymbol finds every kind of
// named descriptor, and gRPC's own services (kept out of the global
// registry) are described too.
func TestSymbolKinds(t *testing.T) {
	target := serve(t, nil, nil)
	for _, pkg := range protocols {
		s := openStream(t, target, pkg)
		for symbol, file := range map[string]string{
			"helloworld.Greeter":                              "helloworld.proto",
			"helloworld.Greeter.SayHello":                     "helloworld.proto",
			"helloworld.HelloRequest":                         "helloworld.proto",
			"helloworld.HelloRequest.name":                    "helloworld.proto",
			"google.protobuf.Timestamp":                       "google/protobuf/timestamp.proto",
			"google.protobuf.FieldDescriptorProto.Type":       "google/protobuf/descriptor.proto",
			"google.protobuf.FieldDescriptorProto.TYPE_INT32": "google/protobuf/descriptor.proto",
			"pb.go":                                      "google/protobuf/go_features.proto", // an extension
			"grpc.health.v1.Health":                      "grpc/health/v1/health.proto",
			"grpc.channelz.v1.Channelz.GetServer":        "grpc/channelz/v1/channelz.proto",
			"grpc.reflection.v1alpha.ServerReflection":   "grpc/reflection/v1alpha/reflection.proto",
			"grpc.reflection.v1.ServerReflectionRequest": "grpc/reflection/v1/reflection.proto",
		} {
			if got := s.files(s.ask("file_containing_symbol", symbol)); got[0].GetName() != file {
				t.Errorf("%s: %s in %s, want %s", pkg, symbol, got[0].GetName(), file)
			}
		}
	}
}

func TestFileByFilename(t *testing.T) {
	for _, pkg := range protocols {
		t.Run(string(pkg), func(t *testing.T) {
			s := openStream(t, serve(t, nil, nil), pkg)
			if got := names(s.files(s.ask("file_by_filename", "google/protobuf/timestamp.proto"))); !slices.Equal(got, []string{"google/protobuf/timestamp.proto"}) {
				t.Fatalf("files %q", got)
			}
			got := names(s.files(s.ask("file_by_filename", "importer/importer.proto")))
			want := []string{"importer/importer.proto", "google/protobuf/empty.proto", "shapes/shapes.proto"}
			if !slices.Equal(got, want) {
				t.Fatalf("files %q, want %q (timestamp.proto was sent on this stream)", got, want)
			}
			got = names(s.files(s.ask("file_by_filename", "grpc/channelz/v1/channelz.proto")))
			if got[0] != "grpc/channelz/v1/channelz.proto" || !slices.Contains(got, "google/protobuf/any.proto") {
				t.Fatalf("channelz files %q", got)
			}
		})
	}
}

// TestNotFound: unknown names are an error_response of NOT_FOUND, as
// grpcio answers (code 5, "not found"), and the stream goes on.
func TestNotFound(t *testing.T) {
	for _, pkg := range protocols {
		t.Run(string(pkg), func(t *testing.T) {
			s := openStream(t, serve(t, nil, nil), pkg)
			for _, q := range []struct {
				field protoreflect.Name
				value any
			}{
				{"file_by_filename", "no/such.proto"},
				{"file_by_filename", ""},
				{"file_containing_symbol", "helloworld.NoSuchMessage"},
				{"file_containing_symbol", "not..valid"},
				{"file_containing_symbol", ""},
				{"file_containing_extension", extension{"google.protobuf.FeatureSet", 9}},
				{"file_containing_extension", extension{"no.Such", 1002}},
				{"file_containing_extension", extension{"helloworld.Greeter", 1}}, // not a message
				{"all_extension_numbers_of_type", "no.Such"},
				{"all_extension_numbers_of_type", "helloworld.Greeter.SayHello"},
			} {
				code, msg := s.errorResponse(s.ask(q.field, q.value))
				if code != int32(grpc.StatusCodeNotFound) || msg != "not found" {
					t.Errorf("%s %v: error %d %q", q.field, q.value, code, msg)
				}
			}
			// A request asking nothing: INVALID_ARGUMENT, as grpcio answers.
			if code, msg := s.errorResponse(s.ask("", nil)); code != int32(grpc.StatusCodeInvalidArgument) || msg != "invalid argument" {
				t.Errorf("an empty request: error %d %q", code, msg)
			}
			// Still serving.
			if got := names(s.files(s.ask("file_containing_symbol", "helloworld.HelloReply"))); got[0] != "helloworld.proto" {
				t.Fatalf("files %q", got)
			}
		})
	}
}

// TestExtensions: google.protobuf.FeatureSet's extension pb.go (1002,
// from gofeaturespb) is found by number, with the file declaring it and
// descriptor.proto; a message without extensions has none.
func TestExtensions(t *testing.T) {
	for _, pkg := range protocols {
		t.Run(string(pkg), func(t *testing.T) {
			s := openStream(t, serve(t, nil, nil), pkg)
			got := names(s.files(s.ask("file_containing_extension", extension{"google.protobuf.FeatureSet", 1002})))
			if want := []string{"google/protobuf/go_features.proto", "google/protobuf/descriptor.proto"}; !slices.Equal(got, want) {
				t.Fatalf("files %q, want %q", got, want)
			}
			base, numbers := extensionNumbers(t, s, "google.protobuf.FeatureSet")
			if base != "google.protobuf.FeatureSet" || !slices.Contains(numbers, 1002) || !slices.IsSorted(numbers) {
				t.Fatalf("extensions of %s: %v", base, numbers)
			}
			if base, numbers := extensionNumbers(t, s, "helloworld.HelloRequest"); base != "helloworld.HelloRequest" || len(numbers) != 0 {
				t.Fatalf("extensions of %s: %v", base, numbers)
			}
		})
	}
}

func extensionNumbers(t *testing.T, s *stream, typ string) (string, []int32) {
	t.Helper()
	resp := s.ask("all_extension_numbers_of_type", typ)
	if k := kind(resp); k != "all_extension_numbers_response" {
		t.Fatalf("%s: answer %s: %v", typ, k, resp)
	}
	r := get(resp, "all_extension_numbers_response").Message()
	var numbers []int32
	list := get(r, "extension_number").List()
	for i := range list.Len() {
		numbers = append(numbers, int32(list.Get(i).Int()))
	}
	return get(r, "base_type_name").String(), numbers
}

// dynamicPool is a pool of descriptors loaded at run time, not linked: a
// proto2 file with a message, extensions of it (one at top level, one
// inside a message) and an extension of a global message.
func dynamicPool(t *testing.T) *protoregistry.Files {
	t.Helper()
	s := proto.String
	optional := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()
	fdp := &descriptorpb.FileDescriptorProto{
		Name:       s("dyn/ext.proto"),
		Package:    s("grpcpy.test.dyn"),
		Dependency: []string{"google/protobuf/descriptor.proto", "google/protobuf/timestamp.proto"},
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: s("Base"), ExtensionRange: []*descriptorpb.DescriptorProto_ExtensionRange{{Start: proto.Int32(100), End: proto.Int32(200)}}},
			{Name: s("Holder"), Extension: []*descriptorpb.FieldDescriptorProto{
				{Name: s("nested"), Number: proto.Int32(151), Label: optional, Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(), Extendee: s(".grpcpy.test.dyn.Base")},
			}},
		},
		Extension: []*descriptorpb.FieldDescriptorProto{
			{Name: s("num"), Number: proto.Int32(150), Label: optional, Type: descriptorpb.FieldDescriptorProto_TYPE_INT32.Enum(), Extendee: s(".grpcpy.test.dyn.Base")},
			{Name: s("at"), Number: proto.Int32(120), Label: optional, Type: descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum(), TypeName: s(".google.protobuf.Timestamp"), Extendee: s(".grpcpy.test.dyn.Base")},
			{Name: s("tag"), Number: proto.Int32(51234), Label: optional, Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(), Extendee: s(".google.protobuf.MessageOptions")},
		},
	}
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	files := new(protoregistry.Files)
	if err := files.RegisterFile(fd); err != nil {
		t.Fatal(err)
	}
	return files
}

// TestWithPool: pool= adds descriptors that no linked package registers.
func TestWithPool(t *testing.T) {
	pool := dynamicPool(t)
	without := openStream(t, serve(t, nil, nil), "grpc.reflection.v1")
	if code, _ := without.errorResponse(without.ask("file_containing_symbol", "grpcpy.test.dyn.Base")); code != 5 {
		t.Fatalf("without the pool: error %d", code)
	}
	for _, pkg := range protocols {
		t.Run(string(pkg), func(t *testing.T) {
			s := openStream(t, serve(t, nil, nil, reflection.WithPool(pool)), pkg)
			want := []string{"dyn/ext.proto", "google/protobuf/descriptor.proto", "google/protobuf/timestamp.proto"}
			if got := names(s.files(s.ask("file_containing_symbol", "grpcpy.test.dyn.Holder"))); !slices.Equal(got, want) {
				t.Fatalf("files %q, want %q", got, want)
			}
			if got := names(s.files(s.ask("file_by_filename", "dyn/ext.proto"))); !slices.Equal(got, want[:1]) {
				t.Fatalf("files %q", got)
			}
			for _, n := range []int32{120, 150, 151} {
				if got := names(s.files(s.ask("file_containing_extension", extension{"grpcpy.test.dyn.Base", n}))); got[0] != "dyn/ext.proto" {
					t.Fatalf("extension %d: files %q", n, got)
				}
			}
			if base, numbers := extensionNumbers(t, s, "grpcpy.test.dyn.Base"); base != "grpcpy.test.dyn.Base" || !slices.Equal(numbers, []int32{120, 150, 151}) {
				t.Fatalf("extensions of %s: %v", base, numbers)
			}
			// A global message extended in the pool.
			if got := names(s.files(s.ask("file_containing_extension", extension{"google.protobuf.MessageOptions", 51234}))); got[0] != "dyn/ext.proto" {
				t.Fatalf("files %q", got)
			}
			if _, numbers := extensionNumbers(t, s, "google.protobuf.MessageOptions"); !slices.Contains(numbers, 51234) {
				t.Fatalf("extensions of MessageOptions: %v", numbers)
			}
		})
	}
}

// TestServicerDirect drives ReflectionServicer.ServerReflectionInfo
// without a network, with another type of request than the registered
// handlers pass: any proto.Message of the request type works.
func TestServicerDirect(t *testing.T) {
	s := reflection.NewReflectionServicer([]string{"b.B", "a.A"})
	req := (&stream{pkg: "grpc.reflection.v1alpha"}).request("list_services", "*")
	var got []string
	for resp, err := range s.ServerReflectionInfo(grpc.Requests[any](req), nil) {
		if err != nil {
			t.Fatal(err)
		}
		m := resp.(proto.Message).ProtoReflect()
		if m.Descriptor().FullName() != "grpc.reflection.v1alpha.ServerReflectionResponse" {
			t.Fatalf("response %s", m.Descriptor().FullName())
		}
		list := get(get(m, "list_services_response").Message(), "service").List()
		for i := range list.Len() {
			got = append(got, get(list.Get(i).Message(), "name").String())
		}
	}
	if !slices.Equal(got, []string{"a.A", "b.B"}) {
		t.Fatalf("services %q", got)
	}
	// Not a reflection request: the RPC fails, nothing panics.
	for _, err := range s.ServerReflectionInfo(grpc.Requests[any](&descriptorpb.FileDescriptorProto{}), nil) {
		if err == nil {
			t.Fatal("a FileDescriptorProto request was answered")
		}
	}
	for _, err := range s.ServerReflectionInfo(grpc.Requests[any]("text"), nil) {
		if err == nil {
			t.Fatal("a string request was answered")
		}
	}
}

// TestEnableAfterStart: like every handler, reflection is added before
// Start.
func TestEnableAfterStart(t *testing.T) {
	server, err := grpc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { server.Stop(grpc.NoGrace).Wait() }()
	if _, err := server.AddInsecurePort("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	if err := reflection.EnableServerReflection(nil, server); !errors.Is(err, grpc.ErrServerStarted) {
		t.Fatalf("after Start: %v", err)
	}
}
