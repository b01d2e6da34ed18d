//go:build cgo

package cgo

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	rtcgo "runtime/cgo"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/grpcpy/grpcpy/internal/logging"
)

// Client-certificate request types (grpc_ssl_client_certificate_request_type).
const (
	DontRequestClientCertificate                = int(C.GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE)
	RequestAndRequireClientCertificateAndVerify = int(C.GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY)
)

// Certificate reload results (grpc_ssl_certificate_config_reload_status).
const (
	ReloadUnchanged = int(C.GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_UNCHANGED)
	ReloadNew       = int(C.GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_NEW)
	ReloadFail      = int(C.GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_FAIL)
)

// CallCredentials wraps grpc_call_credentials (one reference).
type CallCredentials struct{ p *C.grpc_call_credentials }

// ServerCredentials wraps grpc_server_credentials (one reference).
type ServerCredentials struct{ p *C.grpc_server_credentials }

// Nil reports a failed creation.
func (c ChannelCredentials) Nil() bool { return c.p == nil }

// Nil reports a failed creation.
func (c CallCredentials) Nil() bool { return c.p == nil }

// Nil reports a failed creation.
func (c ServerCredentials) Nil() bool { return c.p == nil }

// Release drops this reference (grpc_channel_credentials_release).
func (c ChannelCredentials) Release() {
	if c.p != nil {
		C.gp_channel_creds_release(c.p)
	}
}

// Release drops this reference (grpc_call_credentials_release).
func (c CallCredentials) Release() {
	if c.p != nil {
		C.gp_call_creds_release(c.p)
	}
}

// Release drops this reference (grpc_server_credentials_release).
func (c ServerCredentials) Release() {
	if c.p != nil {
		C.gp_server_creds_release(c.p)
	}
}

func cstr(b []byte) *C.char {
	if b == nil {
		return nil
	}
	return C.CString(string(b))
}

func free(p *C.char) {
	if p != nil {
		C.free(unsafe.Pointer(p))
	}
}

// NewSSLChannelCredentials is grpc_ssl_credentials_create: roots nil means
// the core's default roots; key and chain nil mean no client certificate.
func NewSSLChannelCredentials(roots, key, chain []byte) ChannelCredentials {
	r, k, c := cstr(roots), cstr(key), cstr(chain)
	defer free(r)
	defer free(k)
	defer free(c)
	return ChannelCredentials{C.gp_ssl_channel_creds(r, k, c)}
}

// NewCompositeChannelCredentials is grpc_composite_channel_credentials_create.
func NewCompositeChannelCredentials(ch ChannelCredentials, call CallCredentials) ChannelCredentials {
	return ChannelCredentials{C.gp_composite_channel_creds(ch.p, call.p)}
}

// NewAccessTokenCredentials is grpc_access_token_credentials_create.
func NewAccessTokenCredentials(token string) CallCredentials {
	t := C.CString(token)
	defer free(t)
	return CallCredentials{C.gp_access_token_creds(t)}
}

// NewCompositeCallCredentials is grpc_composite_call_credentials_create.
func NewCompositeCallCredentials(a, b CallCredentials) CallCredentials {
	return CallCredentials{C.gp_composite_call_creds(a.p, b.p)}
}

// SetCredentials is grpc_call_set_credentials (before any batch).
func (c Call) SetCredentials(creds CallCredentials) int {
	return int(C.gp_call_set_credentials(c.p, creds.p))
}

// MetadataPlugin is a Go metadata plugin. GetMetadata runs on its own
// goroutine, never on the core thread that asked; it must eventually call
// done.Complete (later calls are ignored).
type MetadataPlugin interface {
	GetMetadata(serviceURL, methodName string, done *PluginDone)
}

// PluginDone completes one get_metadata request.
type PluginDone struct {
	cb, userData C.uintptr_t
	once         sync.Once
}

// Complete passes metadata (status 0) or a failure to the core's callback,
// from the calling goroutine's thread. Only the first call counts; it
// reports whether this call was the first.
func (d *PluginDone) Complete(md []Metadatum, status int, details string) bool {
	first := false
	d.once.Do(func() {
		first = true
		var buf []byte
		for _, m := range md {
			buf = EncodeMetadata(buf, m.Key, m.Value)
		}
		var cd *C.char
		if details != "" {
			cd = C.CString(details)
			defer free(cd)
		}
		C.gp_plugin_complete(d.cb, d.userData, bytesPtr(buf), C.size_t(len(buf)), C.size_t(len(md)),
			C.int(status), cd)
	})
	return first
}

// NewPluginCredentials is grpc_metadata_credentials_create_from_plugin with
// GRPC_PRIVACY_AND_INTEGRITY. The plugin lives behind a handle deleted by
// the core's destroy callback.
func NewPluginCredentials(p MetadataPlugin) CallCredentials {
	h := rtcgo.NewHandle(p)
	c := C.gp_plugin_creds(C.uintptr_t(h))
	if c == nil {
		h.Delete()
	}
	return CallCredentials{c}
}

//export goPluginGetMetadata
func goPluginGetMetadata(state C.uintptr_t, serviceURL, methodName *C.char, cb, userData C.uintptr_t) {
	p := rtcgo.Handle(state).Value().(MetadataPlugin)
	su, mn := C.GoString(serviceURL), C.GoString(methodName)
	go p.GetMetadata(su, mn, &PluginDone{cb: cb, userData: userData})
}

//export goPluginDestroy
func goPluginDestroy(state C.uintptr_t) { rtcgo.Handle(state).Delete() }

// KeyCertPair is a PEM private key and its PEM certificate chain.
type KeyCertPair struct{ Key, Chain []byte }

func pairsBuf(pairs []KeyCertPair) []byte {
	var b []byte
	for _, p := range pairs {
		b = append(append(append(append(b, p.Key...), 0), p.Chain...), 0)
	}
	return b
}

// NewSSLServerCredentials is grpc_ssl_server_credentials_create_ex.
func NewSSLServerCredentials(roots []byte, pairs []KeyCertPair, requestType int) ServerCredentials {
	r := cstr(roots)
	defer free(r)
	buf := pairsBuf(pairs)
	return ServerCredentials{C.gp_ssl_server_creds(r, bytesPtr(buf), C.size_t(len(pairs)), C.int(requestType))}
}

// CertFetcher supplies certificates before each TLS handshake: ReloadNew
// with the configuration, ReloadUnchanged, or ReloadFail.
type CertFetcher func() (roots []byte, pairs []KeyCertPair, status int)

var (
	fetchers  sync.Map // uintptr → CertFetcher
	fetcherID atomic.Uintptr
)

// NewDynamicSSLServerCredentials makes server credentials whose
// certificates come from fetch (through an id, not a handle: the core
// gives no destroy callback for the fetcher's user data). Call the
// returned release once the server using them is destroyed; a fetch after
// that answers "unchanged".
func NewDynamicSSLServerCredentials(requestType int, fetch CertFetcher) (ServerCredentials, func()) {
	id := fetcherID.Add(1)
	fetchers.Store(id, fetch)
	c := C.gp_dynamic_ssl_server_creds(C.int(requestType), C.uintptr_t(id))
	return ServerCredentials{c}, func() { fetchers.Delete(id) }
}

//export goCertConfigFetch
func goCertConfigFetch(id C.uintptr_t, config **C.grpc_ssl_server_certificate_config) (status C.int) {
	v, ok := fetchers.Load(uintptr(id))
	if !ok {
		return C.int(ReloadUnchanged)
	}
	defer func() {
		if r := recover(); r != nil {
			logging.For(logging.Server).Error("certificate configuration fetcher panicked", "panic", r)
			status = C.int(ReloadFail)
		}
	}()
	roots, pairs, st := v.(CertFetcher)()
	if st != ReloadNew {
		return C.int(st)
	}
	r := cstr(roots)
	defer free(r)
	buf := pairsBuf(pairs)
	cfg := C.gp_server_cert_config(r, bytesPtr(buf), C.size_t(len(pairs)))
	if cfg == nil {
		return C.int(ReloadFail)
	}
	*config = cfg
	return C.int(ReloadNew)
}

// AddSecurePort is grpc_server_add_http2_port with credentials; 0 on failure.
func (s Server) AddSecurePort(addr string, creds ServerCredentials) int {
	a := C.CString(addr)
	defer free(a)
	return int(C.gp_server_add_secure_port(s.p, a, creds.p))
}

// NewInsecureChannelCredentials is grpc_insecure_credentials_create.
func NewInsecureChannelCredentials() ChannelCredentials {
	return ChannelCredentials{C.gp_insecure_channel_creds()}
}

// NewXdsChannelCredentials is grpc_xds_credentials_create(fallback).
func NewXdsChannelCredentials(fallback ChannelCredentials) ChannelCredentials {
	return ChannelCredentials{C.gp_xds_channel_creds(fallback.p)}
}

// NewInsecureServerCredentials is grpc_insecure_server_credentials_create.
func NewInsecureServerCredentials() ServerCredentials {
	return ServerCredentials{C.gp_insecure_server_creds()}
}

// NewXdsServerCredentials is grpc_xds_server_credentials_create(fallback).
func NewXdsServerCredentials(fallback ServerCredentials) ServerCredentials {
	return ServerCredentials{C.gp_xds_server_creds(fallback.p)}
}

// XdsServingStatus receives an xDS server's serving-status updates: the
// listening address, a grpc_status_code (OK: serving) and a message. It
// runs on a core thread, in the order of the updates, and must only hand
// off (never block, never run user code).
type XdsServingStatus func(uri string, code int, message string)

// NewXdsServer is grpc_server_create with the xDS config fetcher set
// (grpc_server_config_fetcher_xds_create): the server's listeners follow
// the control plane's Listener resources. onStatus, if not nil, receives
// the serving-status updates; release frees its handle once the server is
// destroyed. A Nil server means the core could not start xDS (no
// bootstrap: GRPC_XDS_BOOTSTRAP or GRPC_XDS_BOOTSTRAP_CONFIG).
func NewXdsServer(args *ArgsBuilder, onStatus XdsServingStatus) (s Server, release func()) {
	var h rtcgo.Handle
	if onStatus != nil {
		h = rtcgo.NewHandle(onStatus)
	}
	release = func() {
		if h != 0 {
			h.Delete()
		}
	}
	s = Server{C.gp_server_create_xds(bytesPtr(args.buf), C.size_t(len(args.buf)), C.size_t(args.n), C.uintptr_t(h))}
	if s.Nil() {
		release()
		release = func() {}
	}
	return s, release
}

//export goXdsServingStatus
func goXdsServingStatus(h C.uintptr_t, uri *C.char, code C.int, message *C.char) {
	f := rtcgo.Handle(h).Value().(XdsServingStatus)
	f(C.GoString(uri), int(code), C.GoString(message))
}
