// Package channelz cross-tests grpcpy's channelz service
// (github.com/grpcpy/grpcpy/grpc/channelz) with grpc-go v1.85.0 in the
// same process: grpc-go's generated ChannelzClient
// (google.golang.org/grpc/channelz/grpc_channelz_v1) reads the counts of
// calls made to a grpcpy server by a grpcpy channel and by a grpc-go
// client, and grpcpy's ChannelzStub reads grpc-go's own channelz service.
// This binary links grpc-go's generated channelz package, which registers
// grpc.channelz.v1 in protobuf-go's global registry, beside grpcpy's
// channelz over its private registry: that it starts at all is the first
// check.
package channelz

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	grpcgo "google.golang.org/grpc"
	channelzpb "google.golang.org/grpc/channelz/grpc_channelz_v1"
	channelzservice "google.golang.org/grpc/channelz/service"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/grpc/channelz"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

const timeout = 30 * time.Second

// serve starts a grpcpy server on 127.0.0.1 with register's handlers and
// returns its port; it stops when the test ends.
func serve(t *testing.T, register func(*grpc.Server) error) int {
	t.Helper()
	pool := grpc.NewThreadPoolExecutor(4)
	s, err := grpc.NewServer(pool)
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
	return port
}

// Ok echoes, Abort aborts with INVALID_ARGUMENT; other methods are
// UNIMPLEMENTED. Raw bytes: a grpc-go client sends an empty message.
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
	}))
}

// dialGo opens a grpc-go client connection, closed when the test ends.
func dialGo(t *testing.T, target string) *grpcgo.ClientConn {
	t.Helper()
	conn, err := grpcgo.NewClient(target, grpcgo.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

type counts struct{ started, succeeded, failed int64 }

func countsOf(d interface {
	GetCallsStarted() int64
	GetCallsSucceeded() int64
	GetCallsFailed() int64
}) counts {
	return counts{d.GetCallsStarted(), d.GetCallsSucceeded(), d.GetCallsFailed()}
}

// TestGrpcGoChannelzClient: a grpcpy channel makes 6 calls (3 fail) and a
// grpc-go client 3 (1 fails) to a grpcpy server; grpc-go's ChannelzClient
// reads the server's 9/5/4, the grpcpy channel's 6/3/3 down to its
// socket, pages through the server's two connections, and gets NotFound
// for an unknown id.
func TestGrpcGoChannelzClient(t *testing.T) {
	leakcheck.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	admin := serve(t, channelz.AddChannelzServicer)
	port := serve(t, registerCounted)
	target := fmt.Sprintf("127.0.0.1:%d", port)

	ch, err := grpc.InsecureChannel(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ch.Close() })
	for _, c := range []struct {
		method string
		n      int
	}{{"Ok", 3}, {"Abort", 2}, {"Missing", 1}} {
		for range c.n {
			ch.UnaryUnary("/"+testService+"/"+c.method).Call([]byte("ping"), grpc.WithTimeout(timeout))
		}
	}
	goConn := dialGo(t, target)
	for _, method := range []string{"Ok", "Ok", "Abort"} {
		err := goConn.Invoke(ctx, "/"+testService+"/"+method, &emptypb.Empty{}, &emptypb.Empty{})
		if want := map[string]codes.Code{"Ok": codes.OK, "Abort": codes.InvalidArgument}[method]; status.Code(err) != want {
			t.Fatalf("grpc-go %s: %v, want %v", method, err, want)
		}
	}

	client := channelzpb.NewChannelzClient(dialGo(t, fmt.Sprintf("127.0.0.1:%d", admin)))

	// The server under test: the one whose connections end at port.
	var app *channelzpb.Server
	var sockets []*channelzpb.SocketRef
	deadline := time.Now().Add(timeout)
	for app == nil || countsOf(app.GetData()) != (counts{9, 5, 4}) {
		if time.Now().After(deadline) {
			t.Fatalf("no server with 9 calls closed (5 succeeded, 4 failed): %v", app)
		}
		time.Sleep(20 * time.Millisecond)
		servers, err := client.GetServers(ctx, &channelzpb.GetServersRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if !servers.GetEnd() {
			t.Fatalf("GetServers: no end: %v", servers)
		}
	servers:
		for _, s := range servers.GetServer() {
			resp, err := client.GetServerSockets(ctx, &channelzpb.GetServerSocketsRequest{ServerId: s.GetRef().GetServerId()})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range resp.GetSocketRef() {
				sock, err := client.GetSocket(ctx, &channelzpb.GetSocketRequest{SocketId: r.GetSocketId()})
				if status.Code(err) == codes.NotFound {
					continue // a connection of the channelz client that has closed since
				}
				if err != nil {
					t.Fatal(err)
				}
				if int(sock.GetSocket().GetLocal().GetTcpipAddress().GetPort()) == port {
					app, sockets = s, resp.GetSocketRef()
					break servers
				}
			}
		}
	}
	one, err := client.GetServer(ctx, &channelzpb.GetServerRequest{ServerId: app.GetRef().GetServerId()})
	if err != nil || countsOf(one.GetServer().GetData()) != (counts{9, 5, 4}) {
		t.Errorf("GetServer: %v, %v; want 9 started, 5 succeeded, 4 failed", one, err)
	}
	t.Logf("grpc-go ChannelzClient GetServer: %v", one)

	// Its two connections (grpcpy's channel and grpc-go's), a page each.
	if len(sockets) != 2 {
		t.Fatalf("GetServerSockets: %v, want 2", sockets)
	}
	var paged []int64
	start := int64(0)
	for page := 1; page <= 2; page++ {
		resp, err := client.GetServerSockets(ctx, &channelzpb.GetServerSocketsRequest{
			ServerId: app.GetRef().GetServerId(), StartSocketId: start, MaxResults: 1})
		if err != nil || len(resp.GetSocketRef()) != 1 || resp.GetEnd() != (page == 2) {
			t.Fatalf("GetServerSockets page %d from %d: %v, %v", page, start, resp, err)
		}
		paged = append(paged, resp.GetSocketRef()[0].GetSocketId())
		start = resp.GetSocketRef()[0].GetSocketId() + 1
	}
	if paged[0] != sockets[0].GetSocketId() || paged[1] != sockets[1].GetSocketId() {
		t.Errorf("pages %v, want %v", paged, sockets)
	}

	// The grpcpy channel (grpc-go's are not the core's), its subchannel
	// and the client end of its connection.
	top, err := client.GetTopChannels(ctx, &channelzpb.GetTopChannelsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var mine *channelzpb.Channel
	for _, c := range top.GetChannel() {
		if c.GetData().GetTarget() == target {
			mine = c
		}
	}
	if mine == nil || countsOf(mine.GetData()) != (counts{6, 3, 3}) || !top.GetEnd() {
		t.Fatalf("GetTopChannels: %v; want the channel to %s with 6 started, 3 succeeded, 3 failed", top, target)
	}
	t.Logf("grpc-go ChannelzClient GetTopChannels, the grpcpy channel: %v", mine)
	byID, err := client.GetChannel(ctx, &channelzpb.GetChannelRequest{ChannelId: mine.GetRef().GetChannelId()})
	if err != nil || byID.GetChannel().GetData().GetState().GetState() != channelzpb.ChannelConnectivityState_READY ||
		len(byID.GetChannel().GetSubchannelRef()) != 1 {
		t.Fatalf("GetChannel: %v, %v", byID, err)
	}
	sub, err := client.GetSubchannel(ctx, &channelzpb.GetSubchannelRequest{SubchannelId: byID.GetChannel().GetSubchannelRef()[0].GetSubchannelId()})
	if err != nil || countsOf(sub.GetSubchannel().GetData()) != (counts{6, 3, 3}) || len(sub.GetSubchannel().GetSocketRef()) != 1 {
		t.Fatalf("GetSubchannel: %v, %v", sub, err)
	}
	sock, err := client.GetSocket(ctx, &channelzpb.GetSocketRequest{SocketId: sub.GetSubchannel().GetSocketRef()[0].GetSocketId()})
	if err != nil || sock.GetSocket().GetData().GetStreamsStarted() != 6 || sock.GetSocket().GetData().GetMessagesReceived() != 3 ||
		int(sock.GetSocket().GetRemote().GetTcpipAddress().GetPort()) != port ||
		!net.IP(sock.GetSocket().GetRemote().GetTcpipAddress().GetIpAddress()).Equal(net.IPv4(127, 0, 0, 1)) {
		t.Errorf("GetSocket: %v, %v; want 6 streams, 3 messages received, remote 127.0.0.1:%d", sock, err, port)
	}

	// Unknown ids.
	_, err = client.GetChannel(ctx, &channelzpb.GetChannelRequest{ChannelId: 555555})
	if s, _ := status.FromError(err); s.Code() != codes.NotFound ||
		s.Message() != "Failed to get the channel, please ensure your channel_id==555555 is valid" {
		t.Errorf("GetChannel 555555: %v", err)
	}
	t.Logf("grpc-go ChannelzClient GetChannel 555555: %v", err)
	_, err = client.GetSocket(ctx, &channelzpb.GetSocketRequest{SocketId: app.GetRef().GetServerId()})
	if status.Code(err) != codes.NotFound {
		t.Errorf("GetSocket of a server's id: %v", err)
	}
}

// TestGrpcpyStubReadsGrpcGo: grpcpy's ChannelzStub, whose messages are
// dynamic over grpcpy's private registry, reads grpc-go's own channelz
// service (generated types over the global registry) in the same binary:
// a grpc-go channel with 2 calls, one failed.
func TestGrpcpyStubReadsGrpcGo(t *testing.T) {
	leakcheck.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	goServer := grpcgo.NewServer()
	channelzservice.RegisterChannelzServiceToServer(goServer)
	served := make(chan error, 1)
	go func() { served <- goServer.Serve(lis) }()
	t.Cleanup(func() {
		goServer.Stop()
		<-served
	})

	// A grpc-go channel to the grpc-go server: one call succeeds (a
	// channelz call), one is UNIMPLEMENTED.
	goConn := dialGo(t, lis.Addr().String())
	if _, err := channelzpb.NewChannelzClient(goConn).GetServers(ctx, &channelzpb.GetServersRequest{}); err != nil {
		t.Fatal(err)
	}
	if err := goConn.Invoke(ctx, "/no.Such/Method", &emptypb.Empty{}, &emptypb.Empty{}); status.Code(err) != codes.Unimplemented {
		t.Fatalf("unknown method: %v", err)
	}

	ch, err := grpc.InsecureChannel(lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ch.Close() })
	stub := channelz.NewChannelzStub(ch)
	resp, err := stub.GetTopChannels.Call(channelz.NewMessage("GetTopChannelsRequest"), grpc.WithTimeout(timeout))
	if err != nil {
		t.Fatal(err)
	}
	// The dynamic message in grpc-go's generated type: the same bytes.
	b, err := proto.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	var top channelzpb.GetTopChannelsResponse
	if err := proto.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	var found *channelzpb.Channel
	for _, c := range top.GetChannel() {
		if c.GetData().GetTarget() == lis.Addr().String() {
			found = c
		}
	}
	if found == nil || countsOf(found.GetData()) != (counts{2, 1, 1}) {
		t.Fatalf("grpc-go's GetTopChannels read by grpcpy's stub: %v; want the channel to %s with 2 started, 1 succeeded, 1 failed", &top, lis.Addr())
	}
	t.Logf("grpcpy ChannelzStub read grpc-go's channelz: %v", found.GetData())

	// An unknown id: grpc-go's NotFound, as grpcpy's stub sees it.
	req := channelz.NewMessage("GetServerRequest")
	req.Set(req.Descriptor().Fields().ByName("server_id"), protoreflect.ValueOfInt64(987654))
	_, err = stub.GetServer.Call(req, grpc.WithTimeout(timeout))
	var e *grpc.RpcError
	if !errors.As(err, &e) || e.Code() != grpc.StatusCodeNotFound {
		t.Errorf("GetServer 987654 of grpc-go: %v", err)
	}
}
