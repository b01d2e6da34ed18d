package grpc_test

import (
	"bufio"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/grpcpy/grpcpy/grpc"
)

// pythonToGo pins each documented Python name (API-CHECKLIST.md) that is
// implemented to its Go symbol. It is the index behind
// docs/python-to-go.md and a compile-time check that the names exist.
var pythonToGo = map[string]any{
	"grpc.__version__":                                           grpc.Version,
	"grpc.insecure_channel":                                      grpc.InsecureChannel,
	"grpc.server":                                                grpc.NewServer,
	"grpc.unary_unary_rpc_method_handler":                        grpc.UnaryUnaryRpcMethodHandler,
	"grpc.unary_stream_rpc_method_handler":                       grpc.UnaryStreamRpcMethodHandler,
	"grpc.stream_unary_rpc_method_handler":                       grpc.StreamUnaryRpcMethodHandler,
	"grpc.stream_stream_rpc_method_handler":                      grpc.StreamStreamRpcMethodHandler,
	"grpc.method_handlers_generic_handler":                       grpc.MethodHandlersGenericHandler,
	"grpc.ChannelConnectivity":                                   grpc.ChannelConnectivityIdle,
	"grpc.StatusCode":                                            grpc.StatusCodeOK,
	"grpc.Channel":                                               (*grpc.Channel)(nil),
	"grpc.Channel.close":                                         (*grpc.Channel).Close,
	"grpc.Channel.unary_unary":                                   (*grpc.Channel).UnaryUnary,
	"grpc.Server":                                                (*grpc.Server)(nil),
	"grpc.Server.add_generic_rpc_handlers":                       (*grpc.Server).AddGenericRpcHandlers,
	"grpc.Server.add_insecure_port":                              (*grpc.Server).AddInsecurePort,
	"grpc.Server.start":                                          (*grpc.Server).Start,
	"grpc.Server.stop":                                           (*grpc.Server).Stop,
	"grpc.RpcError":                                              (*grpc.RpcError)(nil),
	"grpc.RpcContext":                                            (*grpc.RpcContext)(nil),
	"grpc.RpcContext.add_callback":                               grpc.RpcContext.AddCallback,
	"grpc.RpcContext.cancel":                                     grpc.RpcContext.Cancel,
	"grpc.RpcContext.is_active":                                  grpc.RpcContext.IsActive,
	"grpc.RpcContext.time_remaining":                             grpc.RpcContext.TimeRemaining,
	"grpc.Call":                                                  (*grpc.Call)(nil),
	"grpc.Call.code":                                             grpc.Call.Code,
	"grpc.Call.details":                                          grpc.Call.Details,
	"grpc.Call.initial_metadata":                                 grpc.Call.InitialMetadata,
	"grpc.Call.trailing_metadata":                                grpc.Call.TrailingMetadata,
	"grpc.ServicerContext":                                       (*grpc.ServicerContext)(nil),
	"grpc.ServicerContext.abort":                                 (*grpc.ServicerContext).Abort,
	"grpc.ServicerContext.abort_with_status":                     (*grpc.ServicerContext).AbortWithStatus,
	"grpc.ServicerContext.auth_context":                          (*grpc.ServicerContext).AuthContext,
	"grpc.ServicerContext.invocation_metadata":                   (*grpc.ServicerContext).InvocationMetadata,
	"grpc.ServicerContext.peer":                                  (*grpc.ServicerContext).Peer,
	"grpc.ServicerContext.peer_identities":                       (*grpc.ServicerContext).PeerIdentities,
	"grpc.ServicerContext.peer_identity_key":                     (*grpc.ServicerContext).PeerIdentityKey,
	"grpc.ServicerContext.send_initial_metadata":                 (*grpc.ServicerContext).SendInitialMetadata,
	"grpc.ServicerContext.set_code":                              (*grpc.ServicerContext).SetCode,
	"grpc.ServicerContext.set_details":                           (*grpc.ServicerContext).SetDetails,
	"grpc.ServicerContext.set_trailing_metadata":                 (*grpc.ServicerContext).SetTrailingMetadata,
	"grpc.RpcMethodHandler":                                      (*grpc.RpcMethodHandler)(nil),
	"grpc.RpcMethodHandler.request_streaming":                    field("RpcMethodHandler", "RequestStreaming"),
	"grpc.RpcMethodHandler.response_streaming":                   field("RpcMethodHandler", "ResponseStreaming"),
	"grpc.RpcMethodHandler.request_deserializer":                 field("RpcMethodHandler", "RequestDeserializer"),
	"grpc.RpcMethodHandler.response_serializer":                  field("RpcMethodHandler", "ResponseSerializer"),
	"grpc.RpcMethodHandler.unary_unary":                          field("RpcMethodHandler", "UnaryUnary"),
	"grpc.RpcMethodHandler.unary_stream":                         field("RpcMethodHandler", "UnaryStream"),
	"grpc.RpcMethodHandler.stream_unary":                         field("RpcMethodHandler", "StreamUnary"),
	"grpc.RpcMethodHandler.stream_stream":                        field("RpcMethodHandler", "StreamStream"),
	"grpc.HandlerCallDetails":                                    (*grpc.HandlerCallDetails)(nil),
	"grpc.HandlerCallDetails.method":                             field("HandlerCallDetails", "Method"),
	"grpc.HandlerCallDetails.invocation_metadata":                field("HandlerCallDetails", "InvocationMetadata"),
	"grpc.GenericRpcHandler":                                     (*grpc.GenericRpcHandler)(nil),
	"grpc.GenericRpcHandler.service":                             grpc.GenericRpcHandler.Service,
	"grpc.ServiceRpcHandler":                                     (*grpc.ServiceRpcHandler)(nil),
	"grpc.ServiceRpcHandler.service_name":                        grpc.ServiceRpcHandler.ServiceName,
	"grpc.UnaryUnaryMultiCallable":                               (*grpc.UnaryUnaryMultiCallable)(nil),
	"grpc.UnaryUnaryMultiCallable.__call__":                      (*grpc.UnaryUnaryMultiCallable).Call,
	"grpc.UnaryUnaryMultiCallable.future":                        (*grpc.UnaryUnaryMultiCallable).Future,
	"grpc.UnaryUnaryMultiCallable.with_call":                     (*grpc.UnaryUnaryMultiCallable).WithCall,
	"grpc.channel_ready_future":                                  grpc.ChannelReadyFuture,
	"grpc.Channel.stream_stream":                                 (*grpc.Channel).StreamStream,
	"grpc.Channel.stream_unary":                                  (*grpc.Channel).StreamUnary,
	"grpc.Channel.unary_stream":                                  (*grpc.Channel).UnaryStream,
	"grpc.Channel.subscribe":                                     (*grpc.Channel).Subscribe,
	"grpc.Channel.unsubscribe":                                   (*grpc.Channel).Unsubscribe,
	"grpc.UnaryStreamMultiCallable":                              (*grpc.UnaryStreamMultiCallable)(nil),
	"grpc.UnaryStreamMultiCallable.__call__":                     (*grpc.UnaryStreamMultiCallable).Call,
	"grpc.StreamUnaryMultiCallable":                              (*grpc.StreamUnaryMultiCallable)(nil),
	"grpc.StreamUnaryMultiCallable.__call__":                     (*grpc.StreamUnaryMultiCallable).Call,
	"grpc.StreamUnaryMultiCallable.future":                       (*grpc.StreamUnaryMultiCallable).Future,
	"grpc.StreamUnaryMultiCallable.with_call":                    (*grpc.StreamUnaryMultiCallable).WithCall,
	"grpc.StreamStreamMultiCallable":                             (*grpc.StreamStreamMultiCallable)(nil),
	"grpc.StreamStreamMultiCallable.__call__":                    (*grpc.StreamStreamMultiCallable).Call,
	"grpc.secure_channel":                                        grpc.SecureChannel,
	"grpc.ssl_channel_credentials":                               grpc.SslChannelCredentials,
	"grpc.metadata_call_credentials":                             grpc.MetadataCallCredentials,
	"grpc.access_token_call_credentials":                         grpc.AccessTokenCallCredentials,
	"grpc.composite_call_credentials":                            grpc.CompositeCallCredentials,
	"grpc.composite_channel_credentials":                         grpc.CompositeChannelCredentials,
	"grpc.ssl_server_credentials":                                grpc.SslServerCredentials,
	"grpc.ssl_server_certificate_configuration":                  grpc.SslServerCertificateConfiguration,
	"grpc.dynamic_ssl_server_credentials":                        grpc.DynamicSslServerCredentials,
	"grpc.Server.add_secure_port":                                (*grpc.Server).AddSecurePort,
	"grpc.ChannelCredentials":                                    (*grpc.ChannelCredentials)(nil),
	"grpc.CallCredentials":                                       (*grpc.CallCredentials)(nil),
	"grpc.AuthMetadataContext":                                   grpc.AuthMetadataContext{},
	"grpc.AuthMetadataContext.service_url":                       authField("ServiceURL"),
	"grpc.AuthMetadataContext.method_name":                       authField("MethodName"),
	"grpc.AuthMetadataPluginCallback":                            grpc.AuthMetadataPluginCallback(nil),
	"grpc.AuthMetadataPluginCallback.__call__":                   grpc.AuthMetadataPluginCallback(func(grpc.Metadata, error) {}),
	"grpc.AuthMetadataPlugin":                                    (*grpc.AuthMetadataPlugin)(nil),
	"grpc.AuthMetadataPlugin.__call__":                           grpc.AuthMetadataPlugin.Call,
	"grpc.ServerCredentials":                                     (*grpc.ServerCredentials)(nil),
	"grpc.ServerCertificateConfiguration":                        (*grpc.ServerCertificateConfiguration)(nil),
	"grpc.intercept_channel":                                     grpc.InterceptChannel,
	"grpc.ClientCallDetails":                                     (*grpc.ClientCallDetails)(nil),
	"grpc.ClientCallDetails.method":                              ccdField("Method"),
	"grpc.ClientCallDetails.timeout":                             ccdField("Timeout"),
	"grpc.ClientCallDetails.metadata":                            ccdField("Metadata"),
	"grpc.ClientCallDetails.credentials":                         ccdField("Credentials"),
	"grpc.ClientCallDetails.wait_for_ready":                      ccdField("WaitForReady"),
	"grpc.UnaryUnaryClientInterceptor":                           (*grpc.UnaryUnaryClientInterceptor)(nil),
	"grpc.UnaryUnaryClientInterceptor.intercept_unary_unary":     grpc.UnaryUnaryClientInterceptor.InterceptUnaryUnary,
	"grpc.UnaryStreamClientInterceptor":                          (*grpc.UnaryStreamClientInterceptor)(nil),
	"grpc.UnaryStreamClientInterceptor.intercept_unary_stream":   grpc.UnaryStreamClientInterceptor.InterceptUnaryStream,
	"grpc.StreamUnaryClientInterceptor":                          (*grpc.StreamUnaryClientInterceptor)(nil),
	"grpc.StreamUnaryClientInterceptor.intercept_stream_unary":   grpc.StreamUnaryClientInterceptor.InterceptStreamUnary,
	"grpc.StreamStreamClientInterceptor":                         (*grpc.StreamStreamClientInterceptor)(nil),
	"grpc.StreamStreamClientInterceptor.intercept_stream_stream": grpc.StreamStreamClientInterceptor.InterceptStreamStream,
	"grpc.ServerInterceptor":                                     (*grpc.ServerInterceptor)(nil),
	"grpc.ServerInterceptor.intercept_service":                   grpc.ServerInterceptor.InterceptService,
	"grpc.FutureTimeoutError":                                    grpc.FutureTimeoutError{},
	"grpc.FutureCancelledError":                                  grpc.FutureCancelledError{},
	"grpc.Future":                                                (*grpc.Future)(nil),
	"grpc.Future.add_done_callback":                              grpc.Future.AddDoneCallback,
	"grpc.Future.cancel":                                         grpc.Future.Cancel,
	"grpc.Future.cancelled":                                      grpc.Future.Cancelled,
	"grpc.Future.done":                                           grpc.Future.Done,
	"grpc.Future.exception":                                      grpc.Future.Exception,
	"grpc.Future.result":                                         grpc.Future.Result,
	"grpc.Future.running":                                        grpc.Future.Running,
	"grpc.Future.traceback":                                      grpc.Future.Traceback,
}

func ccdField(name string) any {
	f, ok := reflect.TypeOf(grpc.ClientCallDetails{}).FieldByName(name)
	if !ok {
		return nil
	}
	return f
}

func authField(name string) any {
	f, ok := reflect.TypeOf(grpc.AuthMetadataContext{}).FieldByName(name)
	if !ok {
		return nil
	}
	return f
}

func field(typ, name string) any {
	var t reflect.Type
	switch typ {
	case "RpcMethodHandler":
		t = reflect.TypeOf(grpc.RpcMethodHandler{})
	case "HandlerCallDetails":
		t = reflect.TypeOf(grpc.HandlerCallDetails{})
	}
	f, ok := t.FieldByName(name)
	if !ok {
		return nil
	}
	return f
}

func TestPythonNamesHaveGoSymbols(t *testing.T) {
	for py, sym := range pythonToGo {
		if sym == nil {
			t.Errorf("%s: no Go symbol", py)
		}
	}
	// Every StatusCode member the page documents has a Go constant of the
	// same name (OUT_OF_RANGE, undocumented on the page, too).
	names := map[string]bool{}
	for _, c := range grpc.StatusCodes {
		names[c.Name()] = true
	}
	for _, py := range []string{"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
		"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "UNAUTHENTICATED", "RESOURCE_EXHAUSTED",
		"FAILED_PRECONDITION", "ABORTED", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "OUT_OF_RANGE"} {
		if !names[py] {
			t.Errorf("grpc.StatusCode.%s has no Go member", py)
		}
	}
}

// TestPythonToGoTable checks docs/python-to-go.md: it lists all 145
// checklist IDs, and every row it marks as done names a Python symbol
// that this test pins (or an enum member).
func TestPythonToGoTable(t *testing.T) {
	f, err := os.Open("../docs/python-to-go.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	row := regexp.MustCompile("^\\| (API-\\d{3}) \\| `([^`]+)` \\| (.*) \\| (.*) \\|$")
	ids := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := row.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		ids[m[1]] = true
		py, state := m[2], strings.TrimSpace(m[4])
		if !strings.HasPrefix(state, "done") {
			continue
		}
		name := strings.SplitN(py, "(", 2)[0]
		name = strings.TrimPrefix(strings.TrimPrefix(name, "class "), "exception ")
		if strings.HasPrefix(name, "grpc.StatusCode.") || strings.HasPrefix(name, "grpc.ChannelConnectivity.") {
			continue
		}
		if _, ok := pythonToGo[name]; !ok {
			t.Errorf("%s %s is marked done but has no pinned Go symbol", m[1], name)
		}
	}
	if len(ids) != 145 {
		t.Errorf("table lists %d checklist IDs, want 145", len(ids))
	}
}

func TestStatusCodeValues(t *testing.T) {
	want := []struct {
		code  grpc.StatusCode
		n     int
		words string
		str   string
	}{
		{grpc.StatusCodeOK, 0, "ok", "StatusCode.OK"},
		{grpc.StatusCodeCancelled, 1, "cancelled", "StatusCode.CANCELLED"},
		{grpc.StatusCodeUnknown, 2, "unknown", "StatusCode.UNKNOWN"},
		{grpc.StatusCodeInvalidArgument, 3, "invalid argument", "StatusCode.INVALID_ARGUMENT"},
		{grpc.StatusCodeDeadlineExceeded, 4, "deadline exceeded", "StatusCode.DEADLINE_EXCEEDED"},
		{grpc.StatusCodeNotFound, 5, "not found", "StatusCode.NOT_FOUND"},
		{grpc.StatusCodeAlreadyExists, 6, "already exists", "StatusCode.ALREADY_EXISTS"},
		{grpc.StatusCodePermissionDenied, 7, "permission denied", "StatusCode.PERMISSION_DENIED"},
		{grpc.StatusCodeResourceExhausted, 8, "resource exhausted", "StatusCode.RESOURCE_EXHAUSTED"},
		{grpc.StatusCodeFailedPrecondition, 9, "failed precondition", "StatusCode.FAILED_PRECONDITION"},
		{grpc.StatusCodeAborted, 10, "aborted", "StatusCode.ABORTED"},
		{grpc.StatusCodeOutOfRange, 11, "out of range", "StatusCode.OUT_OF_RANGE"},
		{grpc.StatusCodeUnimplemented, 12, "unimplemented", "StatusCode.UNIMPLEMENTED"},
		{grpc.StatusCodeInternal, 13, "internal", "StatusCode.INTERNAL"},
		{grpc.StatusCodeUnavailable, 14, "unavailable", "StatusCode.UNAVAILABLE"},
		{grpc.StatusCodeDataLoss, 15, "data loss", "StatusCode.DATA_LOSS"},
		{grpc.StatusCodeUnauthenticated, 16, "unauthenticated", "StatusCode.UNAUTHENTICATED"},
	}
	if len(grpc.StatusCodes) != len(want) {
		t.Fatalf("%d status codes, want %d", len(grpc.StatusCodes), len(want))
	}
	for _, w := range want {
		n, words := w.code.Value()
		if n != w.n || words != w.words || w.code.String() != w.str {
			t.Errorf("%s: Value()=(%d,%q) String()=%q; want (%d,%q) %q", w.str, n, words, w.code.String(), w.n, w.words, w.str)
		}
	}
}

func TestChannelConnectivityValues(t *testing.T) {
	want := []struct {
		c     grpc.ChannelConnectivity
		n     int
		words string
	}{
		{grpc.ChannelConnectivityIdle, 0, "idle"},
		{grpc.ChannelConnectivityConnecting, 1, "connecting"},
		{grpc.ChannelConnectivityReady, 2, "ready"},
		{grpc.ChannelConnectivityTransientFailure, 3, "transient failure"},
		{grpc.ChannelConnectivityShutdown, 4, "shutdown"},
	}
	for _, w := range want {
		n, words := w.c.Value()
		if n != w.n || words != w.words || w.c.String() != "ChannelConnectivity."+strings.ToUpper(strings.ReplaceAll(w.words, " ", "_")) {
			t.Errorf("%v: (%d,%q)", w.c, n, words)
		}
	}
}

func TestVersions(t *testing.T) {
	if grpc.Version != "1.18.0" {
		t.Fatalf("Version = %q", grpc.Version)
	}
	v := grpc.CoreVersion()
	if !regexp.MustCompile(`^\d+\.\d+\.\d+`).MatchString(v) {
		t.Fatalf("CoreVersion = %q", v)
	}
	if grpc.GStandsFor() == "" {
		t.Fatal("GStandsFor is empty")
	}
	if !strings.HasPrefix(grpc.LinkInfo, "dynamic") && !strings.HasPrefix(grpc.LinkInfo, "static") {
		t.Fatalf("LinkInfo = %q", grpc.LinkInfo)
	}
	t.Logf("core %s, g stands for %q", v, grpc.GStandsFor())
}
