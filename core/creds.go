package core

import (
	"fmt"

	"github.com/grpcpy/grpcpy/cgo"
)

// Credential objects of the core (see package cgo). Each value holds one
// reference; whoever builds one releases it after handing it to the core.
type (
	CallCredentials   = cgo.CallCredentials
	ServerCredentials = cgo.ServerCredentials
	KeyCertPair       = cgo.KeyCertPair
	MetadataPlugin    = cgo.MetadataPlugin
	PluginDone        = cgo.PluginDone
	CertFetcher       = cgo.CertFetcher
)

// Constructors, re-exported for the public layer.
var (
	NewSSLChannelCredentials       = cgo.NewSSLChannelCredentials
	NewCompositeChannelCredentials = cgo.NewCompositeChannelCredentials
	NewAccessTokenCredentials      = cgo.NewAccessTokenCredentials
	NewCompositeCallCredentials    = cgo.NewCompositeCallCredentials
	NewPluginCredentials           = cgo.NewPluginCredentials
	NewSSLServerCredentials        = cgo.NewSSLServerCredentials
	NewDynamicSSLServerCredentials = cgo.NewDynamicSSLServerCredentials
	NewInsecureChannelCredentials  = cgo.NewInsecureChannelCredentials
	NewXdsChannelCredentials       = cgo.NewXdsChannelCredentials
	NewInsecureServerCredentials   = cgo.NewInsecureServerCredentials
	NewXdsServerCredentials        = cgo.NewXdsServerCredentials
)

// Constants of grpc_security_constants.h.
const (
	DontRequestClientCertificate                = cgo.DontRequestClientCertificate
	RequestAndRequireClientCertificateAndVerify = cgo.RequestAndRequireClientCertificateAndVerify
	ReloadUnchanged                             = cgo.ReloadUnchanged
	ReloadNew                                   = cgo.ReloadNew
	ReloadFail                                  = cgo.ReloadFail
)

// AddSecurePort binds addr with TLS credentials; it returns the bound port.
func (srv *Server) AddSecurePort(addr string, creds ServerCredentials) (int, error) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.shuttingDown {
		return 0, ErrServerStopped
	}
	if srv.started {
		return 0, ErrServerStarted
	}
	if creds.Nil() {
		return 0, fmt.Errorf("invalid server credentials for %s", addr)
	}
	port := srv.s.AddSecurePort(addr, creds)
	if port == 0 {
		return 0, fmt.Errorf("Failed to bind to address %s; set GRPC_VERBOSITY=debug environment variable to see detailed error message.", addr)
	}
	return port, nil
}

// OnDestroy registers f to run once the server is destroyed (after its
// listeners and credentials are gone).
func (srv *Server) OnDestroy(f func()) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.destroyed {
		f()
		return
	}
	srv.onDestroy = append(srv.onDestroy, f)
}
