package grpc

import (
	"sync"

	"github.com/grpcpy/grpcpy/core"
	"github.com/grpcpy/grpcpy/internal/logging"
)

// xDS (the proxyless service mesh) as grpcio offers it, through the core:
// a channel to an "xds:///name" target resolves through the control plane
// named by the bootstrap (GRPC_XDS_BOOTSTRAP: a file; GRPC_XDS_BOOTSTRAP_CONFIG:
// its JSON), and an xDS server (WithXds) takes its listeners from it.

// InsecureChannelCredentials mirrors grpc.insecure_channel_credentials():
// credentials for a channel without transport security, for use as the
// fallback of XdsChannelCredentials (grpc_insecure_credentials_create).
func InsecureChannelCredentials() *ChannelCredentials {
	return &ChannelCredentials{kind: credsInsecure}
}

// XdsChannelCredentials mirrors grpc.xds_channel_credentials(fallback_credentials=None):
// security configured by the control plane, or fallback when it provides
// none; nil fallback is SSL with the default roots, as in grpcio
// (grpc_xds_credentials_create). Use with SecureChannel.
func XdsChannelCredentials(fallback *ChannelCredentials) *ChannelCredentials {
	return &ChannelCredentials{kind: credsXds, fallback: fallback}
}

// InsecureServerCredentials mirrors grpc.insecure_server_credentials(),
// the usual fallback of XdsServerCredentials
// (grpc_insecure_server_credentials_create).
func InsecureServerCredentials() *ServerCredentials {
	return &ServerCredentials{kind: credsInsecure}
}

// XdsServerCredentials mirrors grpc.xds_server_credentials(fallback_credentials):
// security configured by the control plane for a port of an xDS server,
// or fallback (grpc_xds_server_credentials_create). fallback is required,
// as in grpcio.
func XdsServerCredentials(fallback *ServerCredentials) (*ServerCredentials, error) {
	if fallback == nil {
		return nil, &ValueError{Msg: "xds_server_credentials needs fallback credentials"}
	}
	return &ServerCredentials{kind: credsXds, fallback: fallback}, nil
}

// WithXds is grpc.server(..., xds=True): the server's listeners follow the
// control plane's Listener resources (grpc_server_config_fetcher_xds_create).
// Ports are added with AddSecurePort and XdsServerCredentials, and serve
// once the control plane has sent their Listener. NewServer returns an
// error if the core cannot start xDS (no bootstrap).
func WithXds(xds bool) ServerOption {
	return func(o *serverOptions) { o.xds = xds }
}

// XdsServingStatus is one serving-status update of an xDS server: a
// listening Address starts serving (Code OK) or stops (another code, with
// the core's Message), as the control plane's resources come and go.
type XdsServingStatus struct {
	Address string
	Code    StatusCode
	Message string
}

// WithXdsServingStatusCallback receives an xDS server's serving-status
// updates (the core's grpc_server_xds_status_notifier; grpcio keeps this
// internal), in order, on a goroutine of their own. A Go addition.
func WithXdsServingStatusCallback(fn func(XdsServingStatus)) ServerOption {
	return func(o *serverOptions) { o.xdsStatus = fn }
}

// statusQueue delivers serving-status updates in order without ever
// blocking the core thread that reports them.
type statusQueue struct {
	fn      func(XdsServingStatus)
	mu      sync.Mutex
	pending []XdsServingStatus
	running bool
}

func (q *statusQueue) push(uri string, code int, message string) {
	q.mu.Lock()
	q.pending = append(q.pending, XdsServingStatus{Address: uri, Code: statusCodeFromCore(code), Message: message})
	start := !q.running
	q.running = true
	q.mu.Unlock()
	if start {
		go q.run()
	}
}

func (q *statusQueue) run() {
	for {
		q.mu.Lock()
		if len(q.pending) == 0 {
			q.running = false
			q.mu.Unlock()
			return
		}
		u := q.pending[0]
		q.pending = q.pending[1:]
		q.mu.Unlock()
		logging.Guard(logging.Server, "Exception calling xDS serving status callback!", func() { q.fn(u) })
	}
}

// newCoreServer creates the core server, with xDS when asked.
func newCoreServer(args *core.Args, o *serverOptions, dispatch func(*core.ServerCall)) (*core.Server, error) {
	if !o.xds {
		return core.NewServer(args, dispatch)
	}
	var onStatus func(string, int, string)
	if o.xdsStatus != nil {
		q := &statusQueue{fn: o.xdsStatus}
		onStatus = q.push
	}
	s, err := core.NewXdsServer(args, dispatch, onStatus)
	if err != nil {
		return nil, &ValueError{Msg: err.Error(), Err: err}
	}
	return s, nil
}
