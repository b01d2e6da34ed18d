package grpc

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/grpcpy/grpcpy/core"
	"github.com/grpcpy/grpcpy/internal/logging"
)

// Credentials are plain Go descriptions. The core's objects are built
// from them when a channel, port or call uses them and released as soon as
// the core holds its own reference, so nothing here needs closing.

// ChannelCredentials mirrors grpc.ChannelCredentials: "An encapsulation of
// the data required to create a secure Channel." It has no methods, as in
// grpcio.
type ChannelCredentials struct {
	kind              credsKind
	roots, key, chain []byte
	calls             []*CallCredentials // from CompositeChannelCredentials
	base              *ChannelCredentials
	fallback          *ChannelCredentials // xDS
}

// credsKind says which core credentials a value builds.
type credsKind int

const (
	credsSSL credsKind = iota // the zero value: SSL/TLS (or composite, with base)
	credsInsecure
	credsXds
)

// CallCredentials mirrors grpc.CallCredentials: "An encapsulation of the data
// required to assert an identity over a call."
type CallCredentials struct {
	token    string
	plugin   *pluginAdapter
	children []*CallCredentials
}

// ServerCredentials mirrors grpc.ServerCredentials: "An encapsulation of the
// data required to open a secure port on a Server."
type ServerCredentials struct {
	kind     credsKind
	config   *ServerCertificateConfiguration // static
	require  bool
	initial  *ServerCertificateConfiguration // dynamic
	fetcher  func() *ServerCertificateConfiguration
	fallback *ServerCredentials // xDS
}

// ServerCertificateConfiguration mirrors grpc.ServerCertificateConfiguration:
// "A certificate configuration for use with an SSL-enabled Server."
type ServerCertificateConfiguration struct {
	pairs []core.KeyCertPair
	roots []byte
}

// PrivateKeyCertificateChainPair is one entry of grpcio's
// private_key_certificate_chain_pairs: a PEM private key and its PEM
// certificate chain.
type PrivateKeyCertificateChainPair struct {
	PrivateKey       []byte
	CertificateChain []byte
}

func checkRoots(roots []byte) error {
	if roots == nil {
		return nil
	}
	n := 0
	for rest := roots; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			return &ValueError{Msg: "root certificates: " + err.Error(), Err: err}
		}
		n++
	}
	if n == 0 {
		return &ValueError{Msg: "root certificates: no PEM certificate found"}
	}
	return nil
}

func checkPair(key, chain []byte) error {
	if _, err := tls.X509KeyPair(chain, key); err != nil {
		return &ValueError{Msg: "private key and certificate chain: " + err.Error(), Err: err}
	}
	return nil
}

// SslChannelCredentials mirrors grpc.ssl_channel_credentials(
// root_certificates=None, private_key=None, certificate_chain=None): TLS
// for a channel. nil roots means the core's default roots; a key and chain
// (both or neither) authenticate the client. PEM that does not parse is an
// error here, before any connection. Drives grpc_ssl_credentials_create.
func SslChannelCredentials(rootCertificates, privateKey, certificateChain []byte) (*ChannelCredentials, error) {
	if err := checkRoots(rootCertificates); err != nil {
		return nil, err
	}
	if (privateKey == nil) != (certificateChain == nil) {
		return nil, &ValueError{Msg: "private_key and certificate_chain must be given together"}
	}
	if privateKey != nil {
		if err := checkPair(privateKey, certificateChain); err != nil {
			return nil, err
		}
	}
	return &ChannelCredentials{roots: rootCertificates, key: privateKey, chain: certificateChain}, nil
}

// CompositeChannelCredentials mirrors grpc.composite_channel_credentials(
// channel_credentials, *call_credentials): every call on the channel also
// asserts these call credentials. Drives
// grpc_composite_channel_credentials_create.
func CompositeChannelCredentials(channelCredentials *ChannelCredentials, callCredentials ...*CallCredentials) (*ChannelCredentials, error) {
	if channelCredentials == nil || len(callCredentials) == 0 {
		return nil, &ValueError{Msg: "composite_channel_credentials needs channel credentials and at least one CallCredentials"}
	}
	return &ChannelCredentials{base: channelCredentials, calls: callCredentials}, nil
}

// AccessTokenCallCredentials mirrors grpc.access_token_call_credentials(
// access_token): sends "authorization: Bearer <access_token>". Drives
// grpc_access_token_credentials_create.
func AccessTokenCallCredentials(accessToken string) *CallCredentials {
	return &CallCredentials{token: accessToken}
}

// CompositeCallCredentials mirrors grpc.composite_call_credentials(
// *call_credentials): at least two, all asserted. Drives
// grpc_composite_call_credentials_create.
func CompositeCallCredentials(callCredentials ...*CallCredentials) (*CallCredentials, error) {
	if len(callCredentials) < 2 {
		return nil, &ValueError{Msg: fmt.Sprintf("composite_call_credentials needs at least two CallCredentials, got %d", len(callCredentials))}
	}
	return &CallCredentials{children: callCredentials}, nil
}

// AuthMetadataContext mirrors grpc.AuthMetadataContext: "Provides
// information to call credentials metadata plugins."
type AuthMetadataContext struct {
	// ServiceURL mirrors service_url: "A string URL of the service being
	// called into", e.g. "https://localhost/helloworld.Greeter".
	ServiceURL string
	// MethodName mirrors method_name: the method being called.
	MethodName string
}

// AuthMetadataPluginCallback mirrors grpc.AuthMetadataPluginCallback: call it
// once with the metadata (err nil) or with an error. Calls after the first
// are ignored.
type AuthMetadataPluginCallback func(metadata Metadata, err error)

// AuthMetadataPlugin mirrors grpc.AuthMetadataPlugin, "A specification for
// custom authentication". Call (Python's __call__) must not block; it may
// invoke the callback at once or later, from any goroutine.
type AuthMetadataPlugin interface {
	Call(context AuthMetadataContext, callback AuthMetadataPluginCallback)
}

// AuthMetadataPluginFunc adapts a function to AuthMetadataPlugin.
type AuthMetadataPluginFunc func(context AuthMetadataContext, callback AuthMetadataPluginCallback)

// Call calls f.
func (f AuthMetadataPluginFunc) Call(c AuthMetadataContext, cb AuthMetadataPluginCallback) { f(c, cb) }

// DefaultPluginTimeout bounds how long a metadata plugin may take to call
// back before the call fails (a plugin that never calls back would
// otherwise hold the call, and its core request, until the call's
// deadline, or forever without one). Change it with WithPluginTimeout.
const DefaultPluginTimeout = 30 * time.Second

// MetadataCallCredentialsOption configures MetadataCallCredentials.
type MetadataCallCredentialsOption func(*pluginAdapter)

// WithPluginTimeout sets how long the plugin may take to call back.
func WithPluginTimeout(d time.Duration) MetadataCallCredentialsOption {
	return func(p *pluginAdapter) { p.timeout = d }
}

// MetadataCallCredentials mirrors grpc.metadata_call_credentials(
// metadata_plugin, name=None). The core asks for metadata on one of its
// own threads; grpcpy hands that request to a new goroutine at once, so
// the plugin never runs on, or blocks, a core thread. A plugin that
// panics, returns an error or does not call back in time fails the RPC
// (the core reports UNAVAILABLE "Getting metadata from plugin failed with
// error: ..."); a second callback is ignored. As in grpcio, the
// credentials require a channel with privacy and integrity (TLS): they are
// never sent over plaintext. Drives
// grpc_metadata_credentials_create_from_plugin.
func MetadataCallCredentials(metadataPlugin AuthMetadataPlugin, name string, opts ...MetadataCallCredentialsOption) *CallCredentials {
	a := &pluginAdapter{plugin: metadataPlugin, name: name, timeout: DefaultPluginTimeout}
	if a.name == "" {
		a.name = fmt.Sprintf("%T", metadataPlugin)
	}
	for _, o := range opts {
		o(a)
	}
	return &CallCredentials{plugin: a}
}

type pluginAdapter struct {
	plugin  AuthMetadataPlugin
	name    string
	timeout time.Duration
}

// GetMetadata runs on its own goroutine (package cgo starts it).
func (a *pluginAdapter) GetMetadata(serviceURL, methodName string, done *core.PluginDone) {
	timer := time.AfterFunc(a.timeout, func() {
		if done.Complete(nil, int(StatusCodeInternal), fmt.Sprintf(
			"AuthMetadataPlugin %q did not call back within %v", a.name, a.timeout)) {
			logging.For(logging.Plugin).Error("metadata plugin did not call back in time", "plugin", a.name)
		}
	})
	callback := func(md Metadata, err error) {
		var first bool
		switch {
		case err != nil:
			first = done.Complete(nil, int(StatusCodeInternal), err.Error())
		default:
			buf := make([]core.Metadatum, len(md))
			for i, m := range md {
				buf[i] = core.Metadatum{Key: m.Key, Value: m.Value}
			}
			if _, cerr := core.CheckMetadata(buf); cerr != nil {
				first = done.Complete(nil, int(StatusCodeInternal), cerr.Error())
			} else {
				first = done.Complete(buf, int(StatusCodeOK), "")
			}
		}
		if first {
			timer.Stop()
		} else {
			logging.For(logging.Plugin).Warn("AuthMetadataPluginCallback called more than once; ignored", "plugin", a.name)
		}
	}
	defer func() {
		if r := recover(); r != nil {
			logging.For(logging.Plugin).Error("metadata plugin panicked", "plugin", a.name, "panic", r, "stack", string(debug.Stack()))
			callback(nil, fmt.Errorf("AuthMetadataPluginCallback %q raised exception!: %v", a.name, r))
		}
	}()
	a.plugin.Call(AuthMetadataContext{ServiceURL: serviceURL, MethodName: methodName}, callback)
}

// build makes the core object (one reference, to release).
func (c *CallCredentials) build() core.CallCredentials {
	switch {
	case c.plugin != nil:
		return core.NewPluginCredentials(c.plugin)
	case len(c.children) > 0:
		acc := c.children[0].build()
		for _, child := range c.children[1:] {
			next := child.build()
			comp := core.NewCompositeCallCredentials(acc, next)
			acc.Release()
			next.Release()
			acc = comp
		}
		return acc
	default:
		return core.NewAccessTokenCredentials(c.token)
	}
}

func (c *ChannelCredentials) build() (core.ChannelCredentials, error) {
	switch c.kind {
	case credsInsecure:
		return core.NewInsecureChannelCredentials(), nil
	case credsXds:
		fb := c.fallback
		if fb == nil {
			fb = &ChannelCredentials{} // grpcio: SSL with the default roots
		}
		base, err := fb.build()
		if err != nil {
			return base, err
		}
		out := core.NewXdsChannelCredentials(base)
		base.Release()
		if out.Nil() {
			return out, errors.New("grpc_xds_credentials_create failed")
		}
		return out, nil
	}
	if c.base == nil {
		creds := core.NewSSLChannelCredentials(c.roots, c.key, c.chain)
		if creds.Nil() {
			return creds, errors.New("grpc_ssl_credentials_create failed")
		}
		return creds, nil
	}
	base, err := c.base.build()
	if err != nil {
		return base, err
	}
	call := c.calls[0].build()
	for _, more := range c.calls[1:] {
		next := more.build()
		comp := core.NewCompositeCallCredentials(call, next)
		call.Release()
		next.Release()
		call = comp
	}
	out := core.NewCompositeChannelCredentials(base, call)
	base.Release()
	call.Release()
	return out, nil
}

// SecureChannel mirrors grpc.secure_channel(target, credentials,
// options=None): a Channel with TLS (and any composed call credentials).
// Drives grpc_channel_create with the built credentials. The channel arg
// "grpc.ssl_target_name_override" sets the name checked against the
// server's certificate.
func SecureChannel(target string, credentials *ChannelCredentials, options ...ChannelOption) (*Channel, error) {
	if credentials == nil {
		return nil, &ValueError{Msg: "secure_channel needs ChannelCredentials"}
	}
	if err := checkNoNUL("target", target); err != nil {
		return nil, err
	}
	args, err := channelArgs(options)
	if err != nil {
		return nil, err
	}
	creds, err := credentials.build()
	if err != nil {
		return nil, err
	}
	defer creds.Release() // the channel holds its own reference
	c, err := core.NewChannel(target, creds, args)
	if err != nil {
		return nil, channelError(err)
	}
	return &Channel{c: c, target: target}, nil
}

func toPairs(pairs []PrivateKeyCertificateChainPair) ([]core.KeyCertPair, error) {
	if len(pairs) == 0 {
		return nil, &ValueError{Msg: "At least one private key-certificate chain pair is required!"}
	}
	out := make([]core.KeyCertPair, len(pairs))
	for i, p := range pairs {
		if err := checkPair(p.PrivateKey, p.CertificateChain); err != nil {
			return nil, err
		}
		out[i] = core.KeyCertPair{Key: p.PrivateKey, Chain: p.CertificateChain}
	}
	return out, nil
}

// SslServerCertificateConfiguration mirrors
// grpc.ssl_server_certificate_configuration(private_key_certificate_chain_pairs,
// root_certificates=None): what a dynamic-credentials fetcher returns.
func SslServerCertificateConfiguration(privateKeyCertificateChainPairs []PrivateKeyCertificateChainPair, rootCertificates []byte) (*ServerCertificateConfiguration, error) {
	pairs, err := toPairs(privateKeyCertificateChainPairs)
	if err != nil {
		return nil, err
	}
	if err := checkRoots(rootCertificates); err != nil {
		return nil, err
	}
	return &ServerCertificateConfiguration{pairs: pairs, roots: rootCertificates}, nil
}

// SslServerCredentials mirrors grpc.ssl_server_credentials(
// private_key_certificate_chain_pairs, root_certificates=None,
// require_client_auth=False). With requireClientAuth, clients must present
// a certificate signed by rootCertificates. Drives
// grpc_ssl_server_credentials_create_ex.
func SslServerCredentials(privateKeyCertificateChainPairs []PrivateKeyCertificateChainPair, rootCertificates []byte, requireClientAuth bool) (*ServerCredentials, error) {
	if requireClientAuth && rootCertificates == nil {
		return nil, &ValueError{Msg: "Illegal to require client auth without providing root certificates!"}
	}
	cfg, err := SslServerCertificateConfiguration(privateKeyCertificateChainPairs, rootCertificates)
	if err != nil {
		return nil, err
	}
	return &ServerCredentials{config: cfg, require: requireClientAuth}, nil
}

// DynamicSslServerCredentials mirrors grpc.dynamic_ssl_server_credentials(
// initial_certificate_configuration, certificate_configuration_fetcher,
// require_client_authentication=False): the fetcher is asked "on every new
// client connection before starting the TLS handshake" and returns a new
// configuration, or nil for no change. It runs on a core thread and must
// return quickly; a panic keeps the current certificates for that
// handshake. Every configuration must carry root certificates: core 1.51
// aborts the process on a fetched configuration without them (as it would
// under grpcio), so grpcpy refuses one (a *ValueError for the initial
// configuration; a fetched one fails that handshake's reload and the
// current certificates stay). Drives
// grpc_ssl_server_credentials_create_options_using_config_fetcher.
func DynamicSslServerCredentials(initialCertificateConfiguration *ServerCertificateConfiguration,
	certificateConfigurationFetcher func() *ServerCertificateConfiguration, requireClientAuthentication bool) (*ServerCredentials, error) {
	if initialCertificateConfiguration == nil || certificateConfigurationFetcher == nil {
		return nil, &ValueError{Msg: "dynamic_ssl_server_credentials needs an initial configuration and a fetcher"}
	}
	if initialCertificateConfiguration.roots == nil {
		return nil, &ValueError{Msg: errDynamicRoots}
	}
	return &ServerCredentials{initial: initialCertificateConfiguration, fetcher: certificateConfigurationFetcher,
		require: requireClientAuthentication}, nil
}

const errDynamicRoots = "dynamic_ssl_server_credentials: certificate configurations need root_certificates " +
	"(the core aborts on one without them)"

func requestType(require bool) int {
	if require {
		return core.RequestAndRequireClientCertificateAndVerify
	}
	return core.DontRequestClientCertificate
}

// AddSecurePort mirrors grpc.Server.add_secure_port(address,
// server_credentials): opens a TLS port and returns its number (port 0:
// the runtime picks). Only before Start. Drives grpc_server_add_http2_port.
// On an xDS server (WithXds) with XdsServerCredentials the core binds only
// once the control plane's Listener for the address arrives and returns
// -1, as in grpcio; give an explicit port (port 0 would name the Listener
// "...:0").
func (s *Server) AddSecurePort(address string, serverCredentials *ServerCredentials) (int, error) {
	if serverCredentials == nil {
		return 0, &ValueError{Msg: "add_secure_port needs ServerCredentials"}
	}
	if err := checkAddress(address); err != nil {
		return 0, err
	}
	creds, err := s.buildServerCredentials(serverCredentials)
	if err != nil {
		return 0, err
	}
	defer creds.Release() // the port holds its own reference
	port, err := s.core.AddSecurePort(address, creds)
	return port, mapServerErr(err)
}

// buildServerCredentials makes the core object (one reference, to release).
func (s *Server) buildServerCredentials(serverCredentials *ServerCredentials) (core.ServerCredentials, error) {
	switch serverCredentials.kind {
	case credsInsecure:
		return core.NewInsecureServerCredentials(), nil
	case credsXds:
		fb, err := s.buildServerCredentials(serverCredentials.fallback)
		if err != nil {
			return fb, err
		}
		defer fb.Release()
		return core.NewXdsServerCredentials(fb), nil
	}
	var creds core.ServerCredentials
	if serverCredentials.config != nil {
		cfg := serverCredentials.config
		creds = core.NewSSLServerCredentials(cfg.roots, cfg.pairs, requestType(serverCredentials.require))
	} else {
		var initialSent atomic.Bool // handshakes may fetch from several core threads
		fetch := func() ([]byte, []core.KeyCertPair, int) {
			// As grpcio: the first fetch (at port creation) is the initial
			// configuration; later ones ask the user's fetcher.
			if initialSent.CompareAndSwap(false, true) {
				return serverCredentials.initial.roots, serverCredentials.initial.pairs, core.ReloadNew
			}
			cfg := serverCredentials.fetcher()
			if cfg == nil {
				return nil, nil, core.ReloadUnchanged
			}
			if cfg.roots == nil {
				logging.For(logging.Server).Error(errDynamicRoots)
				return nil, nil, core.ReloadFail
			}
			return cfg.roots, cfg.pairs, core.ReloadNew
		}
		var release func()
		creds, release = core.NewDynamicSSLServerCredentials(requestType(serverCredentials.require), fetch)
		s.core.OnDestroy(release)
	}
	return creds, nil
}

// WithCredentials is the credentials= keyword of every multi-callable:
// call credentials for this RPC only (grpc_call_set_credentials). Like any
// call credentials they need a TLS channel.
func WithCredentials(credentials *CallCredentials) CallOption {
	return func(o *callOptions) { o.credentials = credentials }
}
