package grpc_test

import (
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/scanner"
	"go/token"
	"maps"
	"os"
	"path/filepath"
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

// TestPythonToGoTable checks docs/python-to-go.md against the source of
// package grpc. The name table must list exactly API-001..API-145, every row
// marked done must name a Python symbol that pythonToGo pins (or an enum
// member), and every Go identifier named in the Go column of the name table
// and of the "Additions" table must exist in the package's public API, read
// from its .go files (see goAPIOf). Each missing identifier is reported with
// its row.
//
// Only code spans (`...`) of the Go column are read; the prose around them
// ("(nil = None)", "range", "also") is not. Each span is split into Go tokens
// and these forms are recognised:
//
//   - `grpc.Name` anywhere in a span (a call `grpc.F(...)`, a type in a
//     signature `(*grpc.Channel, error)`, `[]grpc.T`, `map[string]*grpc.T`):
//     Name must be an exported top-level name (func, type, var or const).
//   - `grpc.T{A, B}` or `grpc.T{A: x}`: additionally A and B must be exported
//     fields of struct T (`grpc.T{...}` names no field).
//   - `v.Name` with v a lower-case variable (`ch.Close()`, `mc.Call(...)`,
//     `it.All()`): followed by "(" Name must be an exported method of some
//     exported type; otherwise an exported method or field of some exported
//     type.
//   - A span that starts with an exported `Name(`, such as
//     `AddDoneCallback(func(grpc.Future))` or `Code() grpc.StatusCode`:
//     Name must be an exported method of some exported type.
//   - A span that follows the word "field" (field `Method`, field
//     `Timeout *time.Duration`): its first identifier must be an exported
//     field of some exported struct.
//   - Any other exported identifier without a qualifier (`CallIterator`,
//     `StatusCodeNotFound`, `*RpcMethodHandler` in a signature): an exported
//     top-level name.
//   - Names qualified by a standard-library package (`time.Duration`,
//     `iter.Seq2`, `slog.Logger`; see stdQualifiers) and lower-case
//     identifiers (`ctx`, `callback(metadata, err)`, `any`, `error`) are not
//     checked.
//   - A qualifier that is exported (`Server.Stop`) is reported as an
//     unrecognised form.
//
// In the name table, a row whose Python name is a member `grpc.C.member` of a
// class C that is a Go type is held tighter: the first method the row names
// must be in C's method set, and its fields must be fields of C (methods and
// fields promoted through embedding within the package count).
//
// Every row must name at least one identifier in a recognised form, so a row
// cannot escape the check by dropping its backticks.
func TestPythonToGoTable(t *testing.T) {
	api := goAPIOf(t, "../grpc")
	data, err := os.ReadFile("../docs/python-to-go.md")
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	member := regexp.MustCompile(`^grpc\.([A-Z]\w*)\.([a-z_]\w*)$`)
	additions, inAdditions, checked := 0, false, 0
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "## ") {
			inAdditions = strings.HasPrefix(line, "## Additions")
			continue
		}
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cols := tableCells(line)
		if inAdditions {
			if len(cols) != 3 || cols[1] == "Go" || strings.HasPrefix(cols[1], "---") {
				continue
			}
			additions++
			checked += api.checkGoColumn(t, fmt.Sprintf("Additions row %d", additions), cols[1], "")
			continue
		}
		if len(cols) != 4 || !regexp.MustCompile(`^API-\d{3}$`).MatchString(cols[0]) {
			continue
		}
		id, state := cols[0], cols[3]
		if ids[id] {
			t.Errorf("%s is listed twice", id)
		}
		ids[id] = true
		py, ok := strings.CutPrefix(cols[1], "`")
		py, ok2 := strings.CutSuffix(py, "`")
		if !ok || !ok2 {
			t.Errorf("%s: Python column %q is not one code span", id, cols[1])
			continue
		}
		name := strings.SplitN(py, "(", 2)[0]
		name = strings.TrimPrefix(strings.TrimPrefix(name, "class "), "exception ")
		class := ""
		if m := member.FindStringSubmatch(name); m != nil {
			class = m[1]
		}
		checked += api.checkGoColumn(t, id, cols[2], class)
		if !strings.HasPrefix(state, "done") {
			continue
		}
		if strings.HasPrefix(name, "grpc.StatusCode.") || strings.HasPrefix(name, "grpc.ChannelConnectivity.") {
			continue
		}
		if _, ok := pythonToGo[name]; !ok {
			t.Errorf("%s %s is marked done but has no pinned Go symbol", id, name)
		}
	}
	if len(ids) != 145 {
		t.Errorf("table lists %d checklist IDs, want 145", len(ids))
	}
	for i := 1; i <= 145; i++ {
		if id := fmt.Sprintf("API-%03d", i); !ids[id] {
			t.Errorf("table has no row %s", id)
		}
	}
	if additions == 0 {
		t.Error(`no rows found under "## Additions"`)
	}
	t.Logf("checked %d Go identifiers in %d name-table rows and %d Additions rows", checked, len(ids), additions)
}

// tableCells splits a Markdown table row into its trimmed cells; a "|" inside
// a code span does not split.
func tableCells(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimSuffix(strings.TrimPrefix(line, "|"), "|")
	var cells []string
	var cur strings.Builder
	inCode := false
	for _, r := range line {
		switch {
		case r == '`':
			inCode = !inCode
		case r == '|' && !inCode:
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
			continue
		}
		cur.WriteRune(r)
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

// typeParams are the type-parameter names the tables use in generic
// signatures (`grpc.NewUnaryUnary[Req, Resp]`, `iter.Seq2[T, error]`):
// placeholders, not names of package grpc.
var typeParams = map[string]bool{"T": true, "Req": true, "Resp": true, "S": true}

// stdQualifiers are the package names whose qualified identifiers in the
// table are Go's, not grpc's, and go unchecked.
var stdQualifiers = map[string]bool{
	"time": true, "iter": true, "io": true, "slog": true, "context": true,
	"errors": true, "fmt": true, "os": true, "sync": true, "net": true,
}

// goAPI is the public API of package grpc, read from its source.
type goAPI struct {
	top       map[string]bool            // exported top-level names
	methods   map[string]map[string]bool // exported type -> its exported methods, promoted ones included
	fields    map[string]map[string]bool // exported struct type -> its exported fields, promoted ones included
	anyMethod map[string]bool            // exported methods of some exported type
	anyField  map[string]bool            // exported fields of some exported struct
}

// goAPIOf parses the non-test .go files of dir that the default build
// context selects (as `go test` builds them) with go/parser, and collects
// the exported top-level names, and the exported methods (declared on the
// type, listed in an interface, or promoted from a type of the package
// embedded in a struct or interface or aliased) and exported fields
// (promoted ones included) of each exported type.
func goAPIOf(t *testing.T, dir string) *goAPI {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	type typeInfo struct {
		methods, fields map[string]bool
		embeds          []string // types of this package embedded or aliased
	}
	types := map[string]*typeInfo{}
	info := func(name string) *typeInfo {
		if types[name] == nil {
			types[name] = &typeInfo{methods: map[string]bool{}, fields: map[string]bool{}}
		}
		return types[name]
	}
	// localName is the name of a type of this package in expression e
	// (T, *T, T[K], *T[K, V]), or "".
	var localName func(e ast.Expr) string
	localName = func(e ast.Expr) string {
		switch e := e.(type) {
		case *ast.Ident:
			return e.Name
		case *ast.StarExpr:
			return localName(e.X)
		case *ast.IndexExpr:
			return localName(e.X)
		case *ast.IndexListExpr:
			return localName(e.X)
		case *ast.ParenExpr:
			return localName(e.X)
		}
		return ""
	}
	api := &goAPI{top: map[string]bool{}, methods: map[string]map[string]bool{},
		fields: map[string]map[string]bool{}, anyMethod: map[string]bool{}, anyField: map[string]bool{}}
	fset := token.NewFileSet()
	parsed := 0
	for _, path := range paths {
		base := filepath.Base(path)
		if strings.HasSuffix(base, "_test.go") {
			continue
		}
		if ok, err := build.Default.MatchFile(dir, base); err != nil {
			t.Fatal(err)
		} else if !ok {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		if f.Name.Name != "grpc" {
			continue
		}
		parsed++
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					if d.Name.IsExported() {
						api.top[d.Name.Name] = true
					}
				} else if len(d.Recv.List) == 1 && d.Name.IsExported() {
					if recv := localName(d.Recv.List[0].Type); recv != "" {
						info(recv).methods[d.Name.Name] = true
					}
				}
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.IsExported() {
								api.top[n.Name] = true
							}
						}
					case *ast.TypeSpec:
						if s.Name.IsExported() {
							api.top[s.Name.Name] = true
						}
						ti := info(s.Name.Name)
						switch ty := s.Type.(type) {
						case *ast.StructType:
							for _, fl := range ty.Fields.List {
								if len(fl.Names) == 0 { // embedded
									if n := localName(fl.Type); n != "" {
										ti.embeds = append(ti.embeds, n)
										if ast.IsExported(n) {
											ti.fields[n] = true
										}
									}
									continue
								}
								for _, n := range fl.Names {
									if n.IsExported() {
										ti.fields[n.Name] = true
									}
								}
							}
						case *ast.InterfaceType:
							for _, m := range ty.Methods.List {
								if len(m.Names) == 0 {
									if n := localName(m.Type); n != "" {
										ti.embeds = append(ti.embeds, n)
									}
									continue
								}
								for _, n := range m.Names {
									if n.IsExported() {
										ti.methods[n.Name] = true
									}
								}
							}
						default:
							if s.Assign.IsValid() { // type A = B
								if n := localName(s.Type); n != "" {
									ti.embeds = append(ti.embeds, n)
								}
							}
						}
					}
				}
			}
		}
	}
	if parsed == 0 {
		t.Fatalf("no Go files of package grpc in %s", dir)
	}
	var collect func(name string, seen map[string]bool, methods, fields map[string]bool)
	collect = func(name string, seen map[string]bool, methods, fields map[string]bool) {
		ti := types[name]
		if ti == nil || seen[name] {
			return
		}
		seen[name] = true
		maps.Copy(methods, ti.methods)
		maps.Copy(fields, ti.fields)
		for _, e := range ti.embeds {
			collect(e, seen, methods, fields)
		}
	}
	for name := range types {
		if !ast.IsExported(name) {
			continue
		}
		methods, fields := map[string]bool{}, map[string]bool{}
		collect(name, map[string]bool{}, methods, fields)
		api.methods[name], api.fields[name] = methods, fields
		maps.Copy(api.anyMethod, methods)
		maps.Copy(api.anyField, fields)
	}
	return api
}

// checkGoColumn checks the Go identifiers that the Go column text col of row
// names, in the forms TestPythonToGoTable lists. class, when not "", is the
// Python class the row's member belongs to. It returns how many identifiers
// it checked.
func (api *goAPI) checkGoColumn(t *testing.T, row, col, class string) int {
	t.Helper()
	if _, ok := api.methods[class]; !ok {
		class = "" // not a Go type: no tighter check
	}
	spans := regexp.MustCompile("`([^`]*)`").FindAllStringSubmatchIndex(col, -1)
	checked, firstMethod := 0, true
	missing := func(kind, name, span string) {
		t.Helper()
		t.Errorf("%s: Go column names %s %s (in `%s`), which package grpc does not have", row, kind, name, span)
	}
	method := func(name, span string) {
		t.Helper()
		checked++
		switch {
		case !api.anyMethod[name]:
			missing("method", name, span)
		case class != "" && firstMethod && !api.methods[class][name]:
			t.Errorf("%s: Go column names method %s (in `%s`), which grpc.%s does not have", row, name, span, class)
		}
		firstMethod = false
	}
	for _, sp := range spans {
		span := col[sp[2]:sp[3]]
		isField := strings.HasSuffix(strings.TrimSpace(col[:sp[0]]), "field")
		toks, err := goTokens(span)
		if err != nil {
			t.Errorf("%s: Go column span `%s` is not Go tokens: %v", row, span, err)
			continue
		}
		tokAt := func(i int) token.Token {
			if i < len(toks) {
				return toks[i].tok
			}
			return token.EOF
		}
		for i := 0; i < len(toks); i++ {
			if toks[i].tok != token.IDENT {
				continue
			}
			name := toks[i].lit
			if tokAt(i+1) == token.PERIOD && tokAt(i+2) == token.IDENT && (i == 0 || toks[i-1].tok != token.PERIOD) {
				sel := toks[i+2].lit
				j := i + 3
				switch {
				case name == "grpc":
					checked++
					if !api.top[sel] {
						missing("top-level name", "grpc."+sel, span)
					}
					if tokAt(j) == token.LBRACE { // grpc.T{A, B: x}: fields of T
						depth := 0
						for ; j < len(toks); j++ {
							switch toks[j].tok {
							case token.LBRACE:
								depth++
							case token.RBRACE:
								depth--
							case token.IDENT:
								prev, next := toks[j-1].tok, tokAt(j+1)
								if depth == 1 && ast.IsExported(toks[j].lit) && (prev == token.LBRACE || prev == token.COMMA) &&
									(next == token.COMMA || next == token.RBRACE || next == token.COLON) {
									checked++
									if !api.fields[sel][toks[j].lit] {
										missing("field", "grpc."+sel+"."+toks[j].lit, span)
									}
								}
							}
							if depth == 0 {
								break
							}
						}
					}
				case stdQualifiers[name]:
				case !ast.IsExported(name): // a variable: v.Method(...) or v.Field
					if !ast.IsExported(sel) {
						break
					}
					if tokAt(j) == token.LPAREN {
						method(sel, span)
					} else {
						checked++
						if !api.anyMethod[sel] && !api.anyField[sel] {
							missing("method or field", sel, span)
						}
					}
				default:
					checked++
					t.Errorf("%s: Go column span `%s` has %s.%s, a form this test does not recognise (write grpc.%s, or v.%s for a method)", row, span, name, sel, sel, sel)
				}
				i = j - 1
				continue
			}
			if !ast.IsExported(name) || (i > 0 && toks[i-1].tok == token.PERIOD) || typeParams[name] {
				continue
			}
			switch {
			case isField && i == 0:
				checked++
				if !api.anyField[name] {
					missing("field", name, span)
				} else if class != "" && !api.fields[class][name] {
					t.Errorf("%s: Go column names field %s (in `%s`), which grpc.%s does not have", row, name, span, class)
				}
			case i == 0 && tokAt(1) == token.LPAREN:
				method(name, span)
			default:
				checked++
				if !api.top[name] {
					missing("top-level name", name, span)
				}
			}
		}
	}
	if checked == 0 {
		t.Errorf("%s: Go column %q names no Go identifier in a form this test recognises", row, col)
	}
	return checked
}

type goToken struct {
	tok token.Token
	lit string
}

// goTokens splits s into Go tokens (automatic semicolons dropped).
func goTokens(s string) ([]goToken, error) {
	fset := token.NewFileSet()
	var sc scanner.Scanner
	var errs scanner.ErrorList
	sc.Init(fset.AddFile("", -1, len(s)), []byte(s), errs.Add, 0)
	var toks []goToken
	for {
		_, tok, lit := sc.Scan()
		if tok == token.EOF {
			break
		}
		if tok == token.SEMICOLON && lit == "\n" {
			continue
		}
		toks = append(toks, goToken{tok, lit})
	}
	return toks, errs.Err()
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
