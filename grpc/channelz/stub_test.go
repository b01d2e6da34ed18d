package channelz_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/grpc/channelz"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
	"github.com/grpcpy/grpcpy/internal/testcerts"
)

// decode reads a response of the stub into one of the test's structs
// (through protojson, as grpcurl prints it).
func decode(t *testing.T, m proto.Message, into any) {
	t.Helper()
	b, err := protojson.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, into); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
}

// request is a new request message with its int64 fields set.
func request(name string, fields map[protoreflect.Name]int64) proto.Message {
	m := channelz.NewMessage(name)
	for f, v := range fields {
		m.Set(m.Descriptor().Fields().ByName(f), protoreflect.ValueOfInt64(v))
	}
	return m
}

// TestStubOverTLS: grpcpy's own ChannelzStub follows a TLS channel down
// to its socket, whose security is the server's certificate; an unknown
// id is an *RpcError NOT_FOUND with grpcio's details.
func TestStubOverTLS(t *testing.T) {
	leakcheck.Check(t)
	ca := testcerts.NewCA("channelz test CA")
	leaf := ca.Server("channelz test server")
	creds, err := grpc.SslServerCredentials([]grpc.PrivateKeyCertificateChainPair{{PrivateKey: leaf.KeyPEM, CertificateChain: leaf.CertPEM}}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	pool := grpc.NewThreadPoolExecutor(4)
	s, err := grpc.NewServer(pool)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Stop(grpc.NoGrace).Wait()
		pool.Shutdown(true)
	})
	if err := registerCounted(s); err != nil {
		t.Fatal(err)
	}
	port, err := s.AddSecurePort("127.0.0.1:0", creds)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	channelCreds, err := grpc.SslChannelCredentials(ca.CertPEM, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	target := fmt.Sprintf("localhost:%d", port)
	secure, err := grpc.SecureChannel(target, channelCreds)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { secure.Close() })
	for range 2 {
		if got := invoke(t, secure, "Ok"); got != grpc.StatusCodeOK {
			t.Fatalf("Ok: %v", got)
		}
	}

	stub := channelz.NewChannelzStub(dial(t, serveChannelz(t)))
	opt := grpc.WithTimeout(rpcTimeout)
	resp, err := stub.GetTopChannels.Call(channelz.NewMessage("GetTopChannelsRequest"), opt)
	if err != nil {
		t.Fatal(err)
	}
	var top topChannelsResponse
	decode(t, resp, &top)
	var tls channel
	for _, c := range top.Channel {
		if c.Data.Target == target {
			tls = c
		}
	}
	if tls.Data.Started != 2 || tls.Data.Succeeded != 2 || len(tls.SubchannelRef) != 1 {
		t.Fatalf("GetTopChannels: no channel to %s with 2 calls and a subchannel: %+v", target, top.Channel)
	}
	resp, err = stub.GetSubchannel.Call(request("GetSubchannelRequest", map[protoreflect.Name]int64{"subchannel_id": tls.SubchannelRef[0].SubchannelID}), opt)
	if err != nil {
		t.Fatal(err)
	}
	var sub subchannelResponse
	decode(t, resp, &sub)
	if len(sub.Subchannel.SocketRef) != 1 {
		t.Fatalf("GetSubchannel: %+v", sub)
	}
	resp, err = stub.GetSocket.Call(request("GetSocketRequest", map[protoreflect.Name]int64{"socket_id": sub.Subchannel.SocketRef[0].SocketID}), opt)
	if err != nil {
		t.Fatal(err)
	}
	var sock socketResponse
	decode(t, resp, &sock)
	if sock.Socket.Security == nil || sock.Socket.Security.TLS == nil || !bytes.Equal(sock.Socket.Security.TLS.RemoteCertificate, leaf.CertPEM) {
		t.Errorf("GetSocket: security %+v, want TLS with the server's certificate", sock.Socket.Security)
	}
	if sock.Socket.Remote.port() != port || sock.Socket.Data.MessagesReceived != 2 {
		t.Errorf("GetSocket: %+v", sock.Socket)
	}

	// An unknown id.
	_, err = stub.GetServer.Call(request("GetServerRequest", map[protoreflect.Name]int64{"server_id": 424242}), opt)
	var e *grpc.RpcError
	if !errors.As(err, &e) || e.Code() != grpc.StatusCodeNotFound ||
		e.Details() != "Failed to get the server, please ensure your server_id==424242 is valid" {
		t.Errorf("GetServer 424242: %v", err)
	}
}

// TestNewMessage: the messages of channelz.proto by their short name; any
// other name panics.
func TestNewMessage(t *testing.T) {
	if got := channelz.NewMessage("Channel").Descriptor().FullName(); got != "grpc.channelz.v1.Channel" {
		t.Errorf("NewMessage(Channel): %s", got)
	}
	defer func() {
		if recover() == nil {
			t.Errorf("NewMessage(NoSuchMessage) did not panic")
		}
	}()
	channelz.NewMessage("NoSuchMessage")
}

// Example: a server that serves channelz beside its own services, and a
// client that reads the servers of that process.
func Example() {
	pool := grpc.NewThreadPoolExecutor(4)
	defer pool.Shutdown(true)
	server, _ := grpc.NewServer(pool)
	channelz.AddChannelzServicer(server) // channelz.add_channelz_servicer(server)
	port, _ := server.AddInsecurePort("127.0.0.1:0")
	server.Start()
	defer func() { server.Stop(grpc.NoGrace).Wait() }()

	channel, _ := grpc.InsecureChannel(fmt.Sprintf("127.0.0.1:%d", port))
	defer channel.Close()
	stub := channelz.NewChannelzStub(channel)
	response, err := stub.GetServers.Call(channelz.NewMessage("GetServersRequest"), grpc.WithTimeout(10*time.Second))
	if err != nil {
		fmt.Println(err)
		return
	}
	r := response.ProtoReflect()
	fields := r.Descriptor().Fields()
	fmt.Println("servers:", r.Get(fields.ByName("server")).List().Len())
	fmt.Println("end:", r.Get(fields.ByName("end")).Bool())
	// Output:
	// servers: 1
	// end: true
}
