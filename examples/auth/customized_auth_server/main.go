// Command customized_auth_server is grpc's
// examples/python/auth/customized_auth_server.py in Go: a TLS greeter whose
// server interceptor lets an RPC through only if it carries the header
// "x-signature: <method name reversed>", and answers UNAUTHENTICATED
// "Invalid signature" otherwise.
//
// Python:
//
//	def abort(ignored_request, context):
//	    context.abort(grpc.StatusCode.UNAUTHENTICATED, 'Invalid signature')
//	self._abortion = grpc.unary_unary_rpc_method_handler(abort)
//	...
//	method_name = handler_call_details.method.split('/')[-1]
//	expected_metadata = (_SIGNATURE_HEADER_KEY, method_name[::-1])
//	if expected_metadata in handler_call_details.invocation_metadata:
//	    return continuation(handler_call_details)
//	else:
//	    return self._abortion
//	...
//	server = grpc.server(futures.ThreadPoolExecutor(),
//	                     interceptors=(SignatureValidationInterceptor(),))
//	server_credentials = grpc.ssl_server_credentials(((
//	    _credentials.SERVER_CERTIFICATE_KEY, _credentials.SERVER_CERTIFICATE),))
//	port = server.add_secure_port(_LISTEN_ADDRESS_TEMPLATE % port, server_credentials)
//
// Go:
//
//	abort := func(ignoredRequest any, context *grpc.ServicerContext) (any, error) {
//	    context.Abort(grpc.StatusCodeUnauthenticated, "Invalid signature")
//	    return nil, nil
//	}
//	abortion: grpc.UnaryUnaryRpcMethodHandler(abort)
//	...
//	methodName := details.Method[strings.LastIndex(details.Method, "/")+1:]
//	expectedMetadata := grpc.Metadatum{Key: signatureHeaderKey, Value: reverse(methodName)}
//	if slices.Contains(details.InvocationMetadata, expectedMetadata) {
//	    return continuation(details)
//	}
//	return i.abortion
//	...
//	server, err := grpc.NewServer(grpc.NewThreadPoolExecutor(),
//	    grpc.WithInterceptors(newSignatureValidationInterceptor()))
//	serverCredentials, err := grpc.SslServerCredentials([]grpc.PrivateKeyCertificateChainPair{{
//	    PrivateKey: creds.serverCertificateKey, CertificateChain: creds.serverCertificate}}, nil, false)
//	port, err := server.AddSecurePort(address, serverCredentials)
//
// Flags: --addr (default localhost:50051, the original's 'localhost:%d' %
// --port), --port_file (written once serving) and --credentials_dir, the
// directory of localhost.crt and localhost.key (default
// $EXAMPLE_CREDENTIALS_DIR, else examples/auth/credentials; write them with
// `go run ./examples/auth/gencerts`). SIGINT or SIGTERM stops it.
package main

import (
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/grpcpy/grpcpy/examples/auth/internal/credentials"
	pb "github.com/grpcpy/grpcpy/examples/helloworld/helloworld"
	"github.com/grpcpy/grpcpy/grpc"
)

const signatureHeaderKey = "x-signature"

// signatureValidationInterceptor is a grpc.ServerInterceptor.
type signatureValidationInterceptor struct {
	abortion *grpc.RpcMethodHandler
}

func newSignatureValidationInterceptor() *signatureValidationInterceptor {
	abort := func(ignoredRequest any, context *grpc.ServicerContext) (any, error) {
		context.Abort(grpc.StatusCodeUnauthenticated, "Invalid signature")
		return nil, nil
	}
	return &signatureValidationInterceptor{abortion: grpc.UnaryUnaryRpcMethodHandler(abort)}
}

// reverse is Python's s[::-1].
func reverse(s string) string {
	r := []rune(s)
	slices.Reverse(r)
	return string(r)
}

func (i *signatureValidationInterceptor) InterceptService(
	continuation func(*grpc.HandlerCallDetails) *grpc.RpcMethodHandler,
	handlerCallDetails *grpc.HandlerCallDetails) *grpc.RpcMethodHandler {
	// handlerCallDetails.Method is "/helloworld.Greeter/SayHello";
	// InvocationMetadata holds the client's headers.
	method := handlerCallDetails.Method
	methodName := method[strings.LastIndex(method, "/")+1:]
	expectedMetadata := grpc.Metadatum{Key: signatureHeaderKey, Value: reverse(methodName)}
	if slices.Contains(handlerCallDetails.InvocationMetadata, expectedMetadata) {
		return continuation(handlerCallDetails)
	}
	return i.abortion
}

// simpleGreeter implements helloworld.Greeter.
type simpleGreeter struct{}

func (simpleGreeter) SayHello(request *pb.HelloRequest, _ *grpc.ServicerContext) (*pb.HelloReply, error) {
	return &pb.HelloReply{Message: fmt.Sprintf("Hello, %s!", request.GetName())}, nil
}

// runServer is the original's run_server context manager: the caller
// stops the server it returns (server.stop(0) in its finally).
func runServer(address string, creds *credentials.Credentials) (*grpc.Server, int) {
	// Bind interceptor to server
	server, err := grpc.NewServer(grpc.NewThreadPoolExecutor(),
		grpc.WithInterceptors(newSignatureValidationInterceptor()))
	if err != nil {
		log.Fatal(err)
	}
	if err := pb.AddGreeterServicerToServer(simpleGreeter{}, server); err != nil {
		log.Fatal(err)
	}

	// Loading credentials
	serverCredentials, err := grpc.SslServerCredentials([]grpc.PrivateKeyCertificateChainPair{{
		PrivateKey:       creds.ServerCertificateKey,
		CertificateChain: creds.ServerCertificate,
	}}, nil, false)
	if err != nil {
		log.Fatal(err)
	}

	// Pass down credentials
	port, err := server.AddSecurePort(address, serverCredentials)
	if err != nil {
		log.Fatal(err)
	}
	if err := server.Start(); err != nil {
		log.Fatal(err)
	}
	return server, port
}

func main() {
	addr := flag.String("addr", "localhost:50051", "address to listen on (port 0: the kernel picks)")
	portFile := flag.String("port_file", "", "if set, write the bound port to this file once serving")
	credentialsDir := flag.String("credentials_dir", credentials.DefaultDir(), "directory of localhost.crt and localhost.key")
	flag.Parse()
	creds, err := credentials.Load(*credentialsDir)
	if err != nil {
		log.Fatal(err)
	}

	server, port := runServer(*addr, creds)
	defer server.Stop(0)
	slog.Info(fmt.Sprintf("Server is listening at port :%d", port))
	if *portFile != "" {
		if err := os.WriteFile(*portFile, []byte(fmt.Sprint(port)), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		server.Stop(0)
	}()
	server.WaitForTermination()
}
