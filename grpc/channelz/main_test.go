package channelz_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/grpc/channelz"
	"github.com/grpcpy/grpcpy/internal/grpcprotos"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// rpcTimeout bounds every RPC and every grpcurl run.
const rpcTimeout = 30 * time.Second

// settle bounds the wait for the core's counts to include every call (a
// server counts a call once it has closed there, a moment after the
// client has its status).
const settle = 20 * time.Second

// root is the repository root (this file is grpc/channelz).
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

// protoset writes channelz.proto and its imports (the well-known types,
// which internal/grpcprotos/grpc_protos.binpb leaves out) as a descriptor
// set grpcurl reads with -protoset.
func protoset(t *testing.T) string {
	t.Helper()
	fd, err := grpcprotos.Files.FindFileByPath("grpc/channelz/v1/channelz.proto")
	if err != nil {
		t.Fatal(err)
	}
	var set descriptorpb.FileDescriptorSet
	seen := map[string]bool{}
	var add func(protoreflect.FileDescriptor)
	add = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		for i := 0; i < fd.Imports().Len(); i++ {
			add(fd.Imports().Get(i).FileDescriptor)
		}
		set.File = append(set.File, protodesc.ToFileDescriptorProto(fd))
	}
	add(fd)
	b, err := proto.Marshal(&set)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "channelz.protoset")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// grpcurl asks the channelz service at target with grpcurl (a client no
// one here wrote, reading channelz.proto from a protoset): method with
// the JSON request. It returns grpcurl's output, and an error if grpcurl
// failed (an RPC error prints "ERROR:\n  Code: NotFound\n  Message: ...").
type grpcurl struct {
	t        *testing.T
	bin, set string
	target   string
}

func newGrpcurl(t *testing.T, target string) *grpcurl {
	return &grpcurl{t: t, bin: tool(t, "grpcurl"), set: protoset(t), target: target}
}

func (g *grpcurl) run(method, request string) (string, error) {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, g.bin, "-plaintext", "-max-time", "20", "-protoset", g.set,
		"-d", request, g.target, channelz.ServiceName+"/"+method).CombinedOutput()
	return string(out), err
}

// call runs method and decodes its JSON answer into resp; grpcurl must
// succeed.
func (g *grpcurl) call(method, request string, resp any) string {
	g.t.Helper()
	out, err := g.run(method, request)
	if err != nil {
		g.t.Fatalf("grpcurl %s %s: %v\n%s", method, request, err, out)
	}
	if err := json.Unmarshal([]byte(out), resp); err != nil {
		g.t.Fatalf("grpcurl %s %s: %v\n%s", method, request, err, out)
	}
	return out
}

// tryCall is call for an entity that may be gone: false if grpcurl
// printed NOT_FOUND.
func (g *grpcurl) tryCall(method, request string, resp any) bool {
	g.t.Helper()
	out, err := g.run(method, request)
	if err != nil && strings.Contains(out, "Code: NotFound") {
		return false
	}
	if err != nil {
		g.t.Fatalf("grpcurl %s %s: %v\n%s", method, request, err, out)
	}
	if err := json.Unmarshal([]byte(out), resp); err != nil {
		g.t.Fatalf("grpcurl %s %s: %v\n%s", method, request, err, out)
	}
	return true
}

// The parts of the answers the tests read, as grpcurl prints them
// (protojson: lowerCamelCase names, int64 as strings, bytes as base64).

type ref struct {
	ChannelID    int64  `json:"channelId,string"`
	SubchannelID int64  `json:"subchannelId,string"`
	SocketID     int64  `json:"socketId,string"`
	ServerID     int64  `json:"serverId,string"`
	Name         string `json:"name"`
}

type counts struct {
	Started   int64 `json:"callsStarted,string"`
	Succeeded int64 `json:"callsSucceeded,string"`
	Failed    int64 `json:"callsFailed,string"`
}

func (c counts) String() string {
	return fmt.Sprintf("started %d, succeeded %d, failed %d", c.Started, c.Succeeded, c.Failed)
}

type channelData struct {
	counts
	State struct {
		State string `json:"state"`
	} `json:"state"`
	Target                   string `json:"target"`
	LastCallStartedTimestamp string `json:"lastCallStartedTimestamp"`
	Trace                    struct {
		Events []struct {
			Description string `json:"description"`
			Severity    string `json:"severity"`
		} `json:"events"`
	} `json:"trace"`
}

type channel struct {
	Ref           ref         `json:"ref"`
	Data          channelData `json:"data"`
	SubchannelRef []ref       `json:"subchannelRef"`
	SocketRef     []ref       `json:"socketRef"`
}

type server struct {
	Ref          ref         `json:"ref"`
	Data         channelData `json:"data"`
	ListenSocket []ref       `json:"listenSocket"`
}

type address struct {
	TCPIP *struct {
		IP   []byte `json:"ipAddress"`
		Port int    `json:"port"`
	} `json:"tcpipAddress"`
}

func (a address) port() int {
	if a.TCPIP == nil {
		return -1
	}
	return a.TCPIP.Port
}

type socket struct {
	Ref  ref `json:"ref"`
	Data struct {
		StreamsStarted   int64 `json:"streamsStarted,string"`
		StreamsSucceeded int64 `json:"streamsSucceeded,string"`
		StreamsFailed    int64 `json:"streamsFailed,string"`
		MessagesSent     int64 `json:"messagesSent,string"`
		MessagesReceived int64 `json:"messagesReceived,string"`
	} `json:"data"`
	Local    address `json:"local"`
	Remote   address `json:"remote"`
	Security *struct {
		TLS *struct {
			RemoteCertificate []byte `json:"remoteCertificate"`
		} `json:"tls"`
	} `json:"security"`
}

type (
	topChannelsResponse struct {
		Channel []channel `json:"channel"`
		End     bool      `json:"end"`
	}
	serversResponse struct {
		Server []server `json:"server"`
		End    bool     `json:"end"`
	}
	serverSocketsResponse struct {
		SocketRef []ref `json:"socketRef"`
		End       bool  `json:"end"`
	}
	channelResponse    struct{ Channel channel }
	subchannelResponse struct{ Subchannel channel }
	serverResponse     struct{ Server server }
	socketResponse     struct{ Socket socket }
)

// ---- grpcpy servers and channels ----

// serve starts a server on 127.0.0.1 (kernel-chosen port) with the
// handlers register adds; it stops when the test ends. It returns the
// server and its port.
func serve(t *testing.T, register func(*grpc.Server) error, opts ...grpc.ServerOption) (*grpc.Server, int) {
	t.Helper()
	pool := grpc.NewThreadPoolExecutor(4)
	s, err := grpc.NewServer(pool, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Stop(grpc.NoGrace).Wait()
		pool.Shutdown(true)
	})
	if err := register(s); err != nil {
		t.Fatal(err)
	}
	port, err := s.AddInsecurePort("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	return s, port
}

// serveChannelz starts the admin server: the channelz service alone (its
// own calls are then never counted on the servers under test).
func serveChannelz(t *testing.T) string {
	t.Helper()
	_, port := serve(t, channelz.AddChannelzServicer)
	return fmt.Sprintf("127.0.0.1:%d", port)
}

// The service under test: Ok echoes, Abort aborts with INVALID_ARGUMENT,
// Raise returns an error (UNKNOWN); any other method is UNIMPLEMENTED.
const testService = "grpcpy.test.Counted"

func registerCounted(s *grpc.Server) error {
	return s.AddGenericRpcHandlers(grpc.MethodHandlersGenericHandler(testService, map[string]*grpc.RpcMethodHandler{
		"Ok": grpc.UnaryUnaryRpcMethodHandler(func(request any, _ *grpc.ServicerContext) (any, error) {
			return request, nil
		}),
		"Abort": grpc.UnaryUnaryRpcMethodHandler(func(_ any, context *grpc.ServicerContext) (any, error) {
			context.Abort(grpc.StatusCodeInvalidArgument, "aborted on purpose")
			return nil, nil
		}),
		"Raise": grpc.UnaryUnaryRpcMethodHandler(func(any, *grpc.ServicerContext) (any, error) {
			return nil, errors.New("raised on purpose")
		}),
	}))
}

// dial opens a channel to target, closed when the test ends.
func dial(t *testing.T, target string, options ...grpc.ChannelOption) *grpc.Channel {
	t.Helper()
	ch, err := grpc.InsecureChannel(target, options...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ch.Close() })
	return ch
}

// invoke calls method of the service under test and returns its code.
func invoke(t *testing.T, ch *grpc.Channel, method string) grpc.StatusCode {
	t.Helper()
	_, err := ch.UnaryUnary("/"+testService+"/"+method).Call([]byte("ping"), grpc.WithTimeout(rpcTimeout))
	if err == nil {
		return grpc.StatusCodeOK
	}
	var e *grpc.RpcError
	if !errors.As(err, &e) {
		t.Fatalf("%s: not an *RpcError: %T %v", method, err, err)
	}
	return e.Code()
}

// contains fails the test unless out contains every one of want.
func contains(t *testing.T, what, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("%s: output lacks %q:\n%s", what, w, out)
		}
	}
}
