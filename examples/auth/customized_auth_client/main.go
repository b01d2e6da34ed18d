// Command customized_auth_client is grpc's
// examples/python/auth/customized_auth_client.py in Go: a TLS channel whose
// call credentials, a metadata plugin, sign every RPC with the header
// "x-signature: <method name reversed>", which the server's interceptor
// checks.
//
// Python:
//
//	class AuthGateway(grpc.AuthMetadataPlugin):
//	    def __call__(self, context, callback):
//	        signature = context.method_name[::-1]
//	        callback(((_SIGNATURE_HEADER_KEY, signature),), None)
//	...
//	call_credentials = grpc.metadata_call_credentials(AuthGateway(), name="auth gateway")
//	channel_credential = grpc.ssl_channel_credentials(_credentials.ROOT_CERTIFICATE)
//	composite_credentials = grpc.composite_channel_credentials(channel_credential, call_credentials)
//	channel = grpc.secure_channel(addr, composite_credentials)
//
// Go:
//
//	func (authGateway) Call(context grpc.AuthMetadataContext, callback grpc.AuthMetadataPluginCallback) {
//	    signature := reverse(context.MethodName)
//	    callback(grpc.Metadata{{Key: signatureHeaderKey, Value: signature}}, nil)
//	}
//	...
//	callCredentials := grpc.MetadataCallCredentials(authGateway{}, "auth gateway")
//	channelCredential, err := grpc.SslChannelCredentials(creds.RootCertificate, nil, nil)
//	compositeCredentials, err := grpc.CompositeChannelCredentials(channelCredential, callCredentials)
//	channel, err := grpc.SecureChannel(addr, compositeCredentials)
//
// Flags: --target (default localhost:50051, the original's 'localhost:%d' %
// --port) and --credentials_dir, the directory of root.crt (default
// $EXAMPLE_CREDENTIALS_DIR, else examples/auth/credentials; write it with
// `go run ./examples/auth/gencerts`).
package main

import (
	"flag"
	"fmt"
	"log"
	"log/slog"
	"slices"
	"strconv"

	"github.com/grpcpy/grpcpy/examples/auth/internal/credentials"
	pb "github.com/grpcpy/grpcpy/examples/helloworld/helloworld"
	"github.com/grpcpy/grpcpy/grpc"
)

const signatureHeaderKey = "x-signature"

// authGateway is a grpc.AuthMetadataPlugin.
type authGateway struct{}

// reverse is Python's s[::-1].
func reverse(s string) string {
	r := []rune(s)
	slices.Reverse(r)
	return string(r)
}

// Call passes the signature to the callback. It must not block. context
// is e.g. {ServiceURL: "https://localhost:50051/helloworld.Greeter",
// MethodName: "SayHello"}.
func (authGateway) Call(context grpc.AuthMetadataContext, callback grpc.AuthMetadataPluginCallback) {
	signature := reverse(context.MethodName)
	// Metadata keys must be lowercase.
	callback(grpc.Metadata{{Key: signatureHeaderKey, Value: signature}}, nil)
}

// createClientChannel is the original's create_client_channel context
// manager: the caller closes the channel.
func createClientChannel(addr string, creds *credentials.Credentials) *grpc.Channel {
	// Call credentials are asked for metadata on every RPC
	callCredentials := grpc.MetadataCallCredentials(authGateway{}, "auth gateway")
	// Channel credentials hold for the whole channel
	channelCredential, err := grpc.SslChannelCredentials(creds.RootCertificate, nil, nil)
	if err != nil {
		log.Fatal(err)
	}
	// Both together
	compositeCredentials, err := grpc.CompositeChannelCredentials(channelCredential, callCredentials)
	if err != nil {
		log.Fatal(err)
	}
	channel, err := grpc.SecureChannel(addr, compositeCredentials)
	if err != nil {
		log.Fatal(err)
	}
	return channel
}

// str prints a HelloReply as Python's str() of the message does.
func str(r *pb.HelloReply) string {
	if r.GetMessage() == "" {
		return ""
	}
	return "message: " + strconv.Quote(r.GetMessage())
}

func sendRPC(channel *grpc.Channel) (*pb.HelloReply, error) {
	stub := pb.NewGreeterStub(channel)
	request := &pb.HelloRequest{Name: "you"}
	response, err := stub.SayHello.Call(request)
	if err != nil {
		slog.Error(fmt.Sprintf("Received error: %s", err))
		return nil, err
	}
	slog.Info(fmt.Sprintf("Received message: %s", str(response)))
	return response, nil
}

func main() {
	target := flag.String("target", "localhost:50051", "the address of the server")
	credentialsDir := flag.String("credentials_dir", credentials.DefaultDir(), "directory of root.crt")
	flag.Parse()
	creds, err := credentials.Load(*credentialsDir)
	if err != nil {
		log.Fatal(err)
	}

	channel := createClientChannel(*target, creds)
	defer channel.Close()
	sendRPC(channel) // as the original: an error is logged, the exit status stays 0
}
