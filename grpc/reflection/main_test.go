package reflection_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/grpc/reflection"
	"github.com/grpcpy/grpcpy/internal/grpcprotos"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// rpcTimeout bounds every RPC and every foreign client's run.
const rpcTimeout = 30 * time.Second

// serve starts a server on 127.0.0.1 (kernel-chosen port) with
// register's services and reflection listing names, and returns its
// target; the server stops when the test ends.
func serve(t *testing.T, names []string, register func(*grpc.Server) error, opts ...reflection.Option) string {
	t.Helper()
	return serveWith(t, nil, names, register, opts...)
}

// serveWith is serve with the server's options.
func serveWith(t *testing.T, serverOpts []grpc.ServerOption, names []string, register func(*grpc.Server) error, opts ...reflection.Option) string {
	t.Helper()
	server, err := grpc.NewServer(nil, serverOpts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Stop(grpc.NoGrace).Wait() })
	if register != nil {
		if err := register(server); err != nil {
			t.Fatal(err)
		}
	}
	if err := reflection.EnableServerReflection(names, server, opts...); err != nil {
		t.Fatal(err)
	}
	port, err := server.AddInsecurePort("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", port)
}

// stream is a client's ServerReflectionInfo stream, in one protocol
// version ("grpc.reflection.v1" or "grpc.reflection.v1alpha"), driven
// with grpcpy's own stream-stream call and dynamic messages.
type stream struct {
	t    *testing.T
	pkg  protoreflect.FullName
	call *grpc.StreamStreamCall
}

func openStream(t *testing.T, target string, pkg protoreflect.FullName) *stream {
	t.Helper()
	channel, err := grpc.InsecureChannel(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { channel.Close() })
	mc := channel.StreamStream("/"+string(pkg)+".ServerReflection/ServerReflectionInfo",
		grpc.WithRequestSerializer(grpcprotos.Serializer),
		grpc.WithResponseDeserializer(grpcprotos.Deserializer(pkg.Append("ServerReflectionResponse"))))
	call, err := mc.Open(grpc.WithTimeout(rpcTimeout))
	if err != nil {
		t.Fatal(err)
	}
	s := &stream{t: t, pkg: pkg, call: call}
	t.Cleanup(s.close)
	return s
}

// close half-closes the stream and reads it to its end: OK, as the
// server's iterator ends with the requests.
func (s *stream) close() {
	if err := s.call.DoneWriting(); err != nil {
		s.t.Errorf("DoneWriting: %v", err)
	}
	for {
		_, err := s.call.Read()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			s.t.Errorf("end of the stream: %v", err)
			return
		}
		s.t.Errorf("a response after the last request")
	}
}

// extension is the value of a file_containing_extension request.
type extension struct {
	containingType string
	number         int32
}

// request builds a ServerReflectionRequest with host "localhost" and
// field set to value (a string, an extension, or nil for none).
func (s *stream) request(field protoreflect.Name, value any) *dynamicpb.Message {
	req := grpcprotos.New(s.pkg.Append("ServerReflectionRequest"))
	fields := req.Descriptor().Fields()
	req.Set(fields.ByName("host"), protoreflect.ValueOfString("localhost"))
	switch v := value.(type) {
	case string:
		req.Set(fields.ByName(field), protoreflect.ValueOfString(v))
	case extension:
		m := req.Mutable(fields.ByName(field)).Message()
		ef := m.Descriptor().Fields()
		m.Set(ef.ByName("containing_type"), protoreflect.ValueOfString(v.containingType))
		m.Set(ef.ByName("extension_number"), protoreflect.ValueOfInt32(v.number))
	}
	return req
}

// ask sends one request and returns its response.
func (s *stream) ask(field protoreflect.Name, value any) *dynamicpb.Message {
	s.t.Helper()
	req := s.request(field, value)
	if err := s.call.Write(req); err != nil {
		s.t.Fatalf("write %s %v: %v", field, value, err)
	}
	resp, err := s.call.Read()
	if err != nil {
		s.t.Fatalf("read the answer to %s %v: %v", field, value, err)
	}
	m := resp.(*dynamicpb.Message)
	if got := m.Descriptor().FullName(); got != s.pkg.Append("ServerReflectionResponse") {
		s.t.Fatalf("response type %s", got)
	}
	if host := get(m, "valid_host").String(); host != "localhost" {
		s.t.Errorf("valid_host %q", host)
	}
	if orig := get(m, "original_request").Message().Interface(); !proto.Equal(orig, req) {
		s.t.Errorf("original_request %v, want %v", orig, req)
	}
	return m
}

// get reads the field name of m.
func get(m protoreflect.Message, name protoreflect.Name) protoreflect.Value {
	return m.Get(m.Descriptor().Fields().ByName(name))
}

// kind is the message_response field set in resp.
func kind(resp protoreflect.Message) protoreflect.Name {
	fd := resp.WhichOneof(resp.Descriptor().Oneofs().ByName("message_response"))
	if fd == nil {
		return ""
	}
	return fd.Name()
}

// files returns the FileDescriptorProtos of a file_descriptor_response.
func (s *stream) files(resp protoreflect.Message) []*descriptorpb.FileDescriptorProto {
	s.t.Helper()
	if k := kind(resp); k != "file_descriptor_response" {
		s.t.Fatalf("answer %s: %v", k, resp)
	}
	list := get(get(resp, "file_descriptor_response").Message(), "file_descriptor_proto").List()
	var out []*descriptorpb.FileDescriptorProto
	for i := range list.Len() {
		fdp := new(descriptorpb.FileDescriptorProto)
		if err := proto.Unmarshal(list.Get(i).Bytes(), fdp); err != nil {
			s.t.Fatal(err)
		}
		out = append(out, fdp)
	}
	return out
}

// names returns the files' names.
func names(fdps []*descriptorpb.FileDescriptorProto) []string {
	var out []string
	for _, f := range fdps {
		out = append(out, f.GetName())
	}
	return out
}

// errorResponse returns the code and message of an error_response.
func (s *stream) errorResponse(resp protoreflect.Message) (int32, string) {
	s.t.Helper()
	if k := kind(resp); k != "error_response" {
		s.t.Fatalf("answer %s, want error_response: %v", k, resp)
	}
	e := get(resp, "error_response").Message()
	return int32(get(e, "error_code").Int()), get(e, "error_message").String()
}

// root is the repository root (this file is grpc/reflection).
func root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// tool is the path of a foreign command-line tool installed by
// scripts/foreign-tools.sh ($GRPCPY_TOOLS or bin/tools).
func tool(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("GRPCPY_TOOLS")
	if dir == "" {
		dir = filepath.Join(root(), "bin", "tools")
	}
	path := filepath.Join(dir, name)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is missing (%v): run scripts/foreign-tools.sh, which installs it into bin/tools", name, err)
	}
	return path
}

// grpcurl runs bin/tools/grpcurl with args under rpcTimeout and returns
// its output; it fails the test if grpcurl fails.
func grpcurl(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, tool(t, "grpcurl"), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("grpcurl %v: %v\n%s", args, err, out)
	}
	t.Logf("grpcurl %v:\n%s", args, out)
	return string(out)
}

// grpcurlFails runs grpcurl as grpcurl does and returns its output; it
// fails the test unless grpcurl exits with an error.
func grpcurlFails(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, tool(t, "grpcurl"), args...).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("grpcurl %v: %v, want a failure\n%s", args, err, out)
	}
	t.Logf("grpcurl %v (exit %d):\n%s", args, exit.ExitCode(), out)
	return string(out)
}
