package grpc_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
	"github.com/grpcpy/grpcpy/internal/testcerts"
)

// pki is the material of one test: a CA, a server and a client certificate.
type pki struct {
	ca     *testcerts.CA
	server testcerts.Leaf
	client testcerts.Leaf
}

func newPKI() pki {
	ca := testcerts.NewCA("grpcpy test CA")
	return pki{ca: ca, server: ca.Server("grpcpy test server"), client: ca.Client("client.grpcpy.test")}
}

func pair(l testcerts.Leaf) []grpc.PrivateKeyCertificateChainPair {
	return []grpc.PrivateKeyCertificateChainPair{{PrivateKey: l.KeyPEM, CertificateChain: l.CertPEM}}
}

// identity is what the WhoAmI handler reports about its caller.
type identity struct {
	key      string
	ids      []string
	security []string
	auth     []string
	plugin   []string
}

// secureServer serves the four-shape methods and WhoAmI over TLS.
func secureServer(t *testing.T, creds *grpc.ServerCredentials) (string, <-chan identity) {
	t.Helper()
	who := make(chan identity, 16)
	handlers := modeServer(t, make(chan string, 8))
	handlers = append(handlers, service("test.Sec", map[string]*grpc.RpcMethodHandler{
		"WhoAmI": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			md := ctx.InvocationMetadata()
			who <- identity{ctx.PeerIdentityKey(), ctx.PeerIdentities(), ctx.AuthContext()["transport_security_type"],
				md.Get("authorization"), md.Get("x-plugin")}
			return req, nil
		}),
	})...)
	s, err := grpc.NewServer(nil, grpc.WithHandlers(handlers...))
	if err != nil {
		t.Fatal(err)
	}
	port, err := s.AddSecurePort("127.0.0.1:0", creds)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop(grpc.NoGrace) })
	return fmt.Sprintf("127.0.0.1:%d", port), who
}

func secureDial(t *testing.T, target string, creds *grpc.ChannelCredentials, opts ...grpc.ChannelOption) *grpc.Channel {
	t.Helper()
	ch, err := grpc.SecureChannel(target, creds, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ch.Close() })
	return ch
}

// pluginFunc is a metadata plugin that sends x-plugin: <method name>.
var pluginCalls atomic.Int64

func headerPlugin(ctx grpc.AuthMetadataContext, cb grpc.AuthMetadataPluginCallback) {
	pluginCalls.Add(1)
	go cb(grpc.Pairs("x-plugin", ctx.ServiceURL+" "+ctx.MethodName), nil) // asynchronously
}

func TestMutualTLS(t *testing.T) {
	leakcheck.Check(t)
	p := newPKI()
	serverCreds, err := grpc.SslServerCredentials(pair(p.server), p.ca.CertPEM, true)
	if err != nil {
		t.Fatal(err)
	}
	target, who := secureServer(t, serverCreds)
	clientCreds, err := grpc.SslChannelCredentials(p.ca.CertPEM, p.client.KeyPEM, p.client.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	plugin := grpc.MetadataCallCredentials(grpc.AuthMetadataPluginFunc(headerPlugin), "header")
	composite, err := grpc.CompositeChannelCredentials(clientCreds, plugin)
	if err != nil {
		t.Fatal(err)
	}
	ch := secureDial(t, target, composite)

	t.Run("four shapes", func(t *testing.T) {
		want := map[string]string{"UU": "a", "US": "a,a-1,a-2", "SU": "a+b+c", "SS": "a,b,c"}
		for shape, w := range want {
			o := invoke(t, ch, shape, []grpc.CallOption{grpc.WithTimeout(testTimeout)}, nil)
			if o.code != grpc.StatusCodeOK || strings.Join(o.got, ",") != w {
				t.Fatalf("%s over mTLS: %v", shape, o)
			}
		}
	})
	t.Run("peer identity and call credentials", func(t *testing.T) {
		token := grpc.AccessTokenCallCredentials("s3cr3t")
		if _, err := ch.UnaryUnary("/test.Sec/WhoAmI").Call([]byte("x"), grpc.WithTimeout(testTimeout),
			grpc.WithCredentials(token)); err != nil {
			t.Fatal(err)
		}
		id := <-who
		if fmt.Sprint(id.security) != "[ssl]" {
			t.Errorf("transport_security_type = %v", id.security)
		}
		if id.key == "" || !contains(id.ids, "client.grpcpy.test") {
			t.Errorf("peer identity %q %q, want the client certificate's name", id.key, id.ids)
		}
		if fmt.Sprint(id.auth) != "[Bearer s3cr3t]" {
			t.Errorf("authorization = %v (per-call access token)", id.auth)
		}
		if len(id.plugin) != 1 || !strings.HasSuffix(id.plugin[0], "/test.Sec WhoAmI") {
			t.Errorf("x-plugin = %v (service_url and method_name from the plugin)", id.plugin)
		}
		t.Logf("peer identity key %q, identities %q, plugin saw %q", id.key, id.ids, id.plugin)
	})
	t.Run("composite call credentials", func(t *testing.T) {
		both, err := grpc.CompositeCallCredentials(grpc.AccessTokenCallCredentials("t1"),
			grpc.MetadataCallCredentials(grpc.AuthMetadataPluginFunc(func(_ grpc.AuthMetadataContext, cb grpc.AuthMetadataPluginCallback) {
				cb(grpc.Pairs("x-extra", "yes"), nil) // synchronously
			}), "sync"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := grpc.CompositeCallCredentials(both); err == nil {
			t.Fatal("composite of one was accepted")
		}
		if _, err := ch.UnaryUnary("/test.Sec/WhoAmI").Call([]byte("x"), grpc.WithTimeout(testTimeout),
			grpc.WithCredentials(both)); err != nil {
			t.Fatal(err)
		}
		if id := <-who; fmt.Sprint(id.auth) != "[Bearer t1]" || len(id.plugin) != 1 {
			t.Fatalf("composite: authorization %v, x-plugin %v", id.auth, id.plugin)
		}
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestCallCredentialsNeedPrivacy(t *testing.T) {
	leakcheck.Check(t)
	var called atomic.Bool
	methods := map[string]*grpc.RpcMethodHandler{"Echo": grpc.UnaryUnaryRpcMethodHandler(
		func(req any, ctx *grpc.ServicerContext) (any, error) { called.Store(true); return req, nil })}
	_, target := serve(t, nil, service("test.P", methods))
	ch := dial(t, target)
	_, err := ch.UnaryUnary("/test.P/Echo").Call([]byte("x"), grpc.WithTimeout(testTimeout),
		grpc.WithCredentials(grpc.AccessTokenCallCredentials("secret")))
	// grpcio (core's client auth filter) fails the call before it goes
	// out: call credentials need PRIVACY_AND_INTEGRITY, plaintext has NONE.
	const want = "Established channel does not have a sufficient security level to transfer call credential."
	if rerr := rpcErr(t, err, grpc.StatusCodeUnauthenticated); rerr.Details() != want {
		t.Errorf("call credentials over plaintext: details %q, want %q", rerr.Details(), want)
	}
	if called.Load() {
		t.Fatal("the RPC carrying call credentials went out over plaintext")
	}
}

func TestTLSFailures(t *testing.T) {
	leakcheck.Check(t)
	p := newPKI()
	serverCreds, _ := grpc.SslServerCredentials(pair(p.server), p.ca.CertPEM, true)
	target, who := secureServer(t, serverCreds)
	call := func(creds *grpc.ChannelCredentials, opts ...grpc.ChannelOption) error {
		ch := secureDial(t, target, creds, opts...)
		_, err := ch.UnaryUnary("/test.Sec/WhoAmI").Call([]byte("x"), grpc.WithTimeout(testTimeout))
		return err
	}
	good, _ := grpc.SslChannelCredentials(p.ca.CertPEM, p.client.KeyPEM, p.client.CertPEM)

	t.Run("wrong CA", func(t *testing.T) {
		other := testcerts.NewCA("someone else")
		creds, _ := grpc.SslChannelCredentials(other.CertPEM, p.client.KeyPEM, p.client.CertPEM)
		start := time.Now()
		r := rpcErr(t, call(creds), grpc.StatusCodeUnavailable)
		if time.Since(start) > 10*time.Second {
			t.Fatal("a failing handshake took too long")
		}
		if !strings.Contains(strings.ToLower(r.Details()+r.DebugErrorString()), "handshak") {
			t.Errorf("details %q do not name the handshake", r.Details())
		}
	})
	t.Run("no client certificate to a server that requires one", func(t *testing.T) {
		creds, _ := grpc.SslChannelCredentials(p.ca.CertPEM, nil, nil)
		rpcErr(t, call(creds), grpc.StatusCodeUnavailable)
		if err := call(good); err != nil {
			t.Fatalf("server unhealthy after a rejected client: %v", err)
		}
		<-who
	})
	t.Run("client certificate from another CA", func(t *testing.T) {
		stranger := testcerts.NewCA("stranger").Client("mallory")
		creds, _ := grpc.SslChannelCredentials(p.ca.CertPEM, stranger.KeyPEM, stranger.CertPEM)
		rpcErr(t, call(creds), grpc.StatusCodeUnavailable)
	})
	t.Run("expired server certificate", func(t *testing.T) {
		expired := p.ca.Issue(testcerts.Options{CommonName: "old", DNSNames: []string{"localhost"}, Expired: true})
		sc, err := grpc.SslServerCredentials(pair(expired), nil, false)
		if err != nil {
			t.Fatal(err)
		}
		oldTarget, _ := secureServer(t, sc)
		creds, _ := grpc.SslChannelCredentials(p.ca.CertPEM, nil, nil)
		ch := secureDial(t, oldTarget, creds)
		_, err = ch.UnaryUnary("/test.Sec/WhoAmI").Call([]byte("x"), grpc.WithTimeout(testTimeout))
		rpcErr(t, err, grpc.StatusCodeUnavailable)
	})
	t.Run("host name override", func(t *testing.T) {
		nameOnly := p.ca.Issue(testcerts.Options{CommonName: "override", DNSNames: []string{"*.test.google.fr"}})
		sc, _ := grpc.SslServerCredentials(pair(nameOnly), nil, false)
		nameTarget, who2 := secureServer(t, sc)
		creds, _ := grpc.SslChannelCredentials(p.ca.CertPEM, nil, nil)
		_, err := secureDial(t, nameTarget, creds).UnaryUnary("/test.Sec/WhoAmI").Call([]byte("x"), grpc.WithTimeout(testTimeout))
		rpcErr(t, err, grpc.StatusCodeUnavailable) // 127.0.0.1 is not in the certificate
		ch := secureDial(t, nameTarget, creds, grpc.ChannelOption{Key: "grpc.ssl_target_name_override", Value: "foo.test.google.fr"})
		if _, err := ch.UnaryUnary("/test.Sec/WhoAmI").Call([]byte("x"), grpc.WithTimeout(testTimeout)); err != nil {
			t.Fatalf("with grpc.ssl_target_name_override: %v", err)
		}
		<-who2
	})
}

func TestGarbagePEMIsRefusedAtCreation(t *testing.T) {
	p := newPKI()
	garbage := []byte("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
	cases := map[string]error{}
	_, cases["channel roots"] = grpc.SslChannelCredentials([]byte("garbage"), nil, nil)
	_, cases["channel roots, broken PEM"] = grpc.SslChannelCredentials(garbage, nil, nil)
	_, cases["channel key"] = grpc.SslChannelCredentials(p.ca.CertPEM, []byte("nope"), p.client.CertPEM)
	_, cases["channel key without chain"] = grpc.SslChannelCredentials(nil, p.client.KeyPEM, nil)
	_, cases["key of another certificate"] = grpc.SslChannelCredentials(nil, p.server.KeyPEM, p.client.CertPEM)
	_, cases["server pair"] = grpc.SslServerCredentials([]grpc.PrivateKeyCertificateChainPair{{PrivateKey: []byte("x"), CertificateChain: []byte("y")}}, nil, false)
	_, cases["server roots"] = grpc.SslServerCredentials(pair(p.server), garbage, true)
	_, cases["no pairs"] = grpc.SslServerCredentials(nil, nil, false)
	_, cases["client auth without roots"] = grpc.SslServerCredentials(pair(p.server), nil, true)
	_, cases["config"] = grpc.SslServerCertificateConfiguration(pair(p.server), []byte("junk"))
	for name, err := range cases {
		var verr *grpc.ValueError
		if !errors.As(err, &verr) {
			t.Errorf("%s: err = %v, want a *ValueError", name, err)
		}
	}
}

func TestMetadataPluginMisbehaviour(t *testing.T) {
	leakcheck.Check(t)
	p := newPKI()
	serverCreds, _ := grpc.SslServerCredentials(pair(p.server), nil, false)
	target, who := secureServer(t, serverCreds)
	tls, _ := grpc.SslChannelCredentials(p.ca.CertPEM, nil, nil)
	ch := secureDial(t, target, tls)
	var twice sync.WaitGroup
	cases := []struct {
		name    string
		plugin  grpc.AuthMetadataPluginFunc
		ok      bool
		details string
	}{
		{"returns an error", func(_ grpc.AuthMetadataContext, cb grpc.AuthMetadataPluginCallback) {
			cb(nil, errors.New("token service down"))
		}, false, "token service down"},
		{"panics", func(grpc.AuthMetadataContext, grpc.AuthMetadataPluginCallback) {
			panic("plugin bug")
		}, false, "raised exception"},
		{"never calls back", func(grpc.AuthMetadataContext, grpc.AuthMetadataPluginCallback) {}, false, "did not call back"},
		{"calls back twice", func(_ grpc.AuthMetadataContext, cb grpc.AuthMetadataPluginCallback) {
			twice.Add(1)
			cb(grpc.Pairs("x-plugin", "first"), nil)
			go func() { defer twice.Done(); cb(grpc.Pairs("x-plugin", "second"), nil) }()
		}, true, ""},
		{"returns invalid metadata", func(_ grpc.AuthMetadataContext, cb grpc.AuthMetadataPluginCallback) {
			cb(grpc.Pairs("Bad Key", "v"), nil)
		}, false, "metadata was invalid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			creds := grpc.MetadataCallCredentials(c.plugin, "p", grpc.WithPluginTimeout(300*time.Millisecond))
			_, err := ch.UnaryUnary("/test.Sec/WhoAmI").Call([]byte("x"), grpc.WithTimeout(testTimeout), grpc.WithCredentials(creds))
			if c.ok {
				if err != nil {
					t.Fatal(err)
				}
				if id := <-who; fmt.Sprint(id.plugin) != "[first]" {
					t.Fatalf("x-plugin = %v, want the first callback's", id.plugin)
				}
				return
			}
			r := rpcErr(t, err, grpc.StatusCodeUnavailable)
			if !strings.Contains(r.Details(), c.details) {
				t.Fatalf("details %q do not name %q", r.Details(), c.details)
			}
		})
	}
	twice.Wait()
	// The channel and server are still healthy.
	if _, err := ch.UnaryUnary("/test.Sec/WhoAmI").Call([]byte("x"), grpc.WithTimeout(testTimeout)); err != nil {
		t.Fatal(err)
	}
	<-who
}

// TestCertificateRotation: a dynamic-credentials server switches from a
// certificate of CA 1 to one of CA 2; the next connection sees the new one.
func TestCertificateRotation(t *testing.T) {
	leakcheck.Check(t)
	ca1, ca2 := testcerts.NewCA("CA one"), testcerts.NewCA("CA two")
	clients := testcerts.NewCA("clients")
	cfg1, err := grpc.SslServerCertificateConfiguration(pair(ca1.Server("one")), clients.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	cfg2, _ := grpc.SslServerCertificateConfiguration(pair(ca2.Server("two")), clients.CertPEM)
	noRoots, _ := grpc.SslServerCertificateConfiguration(pair(ca2.Server("two")), nil)
	if _, err := grpc.DynamicSslServerCredentials(noRoots, func() *grpc.ServerCertificateConfiguration { return nil }, false); err == nil {
		t.Fatal("a dynamic configuration without roots was accepted (the core would abort)")
	}
	var rotate, broken atomic.Bool
	var fetches atomic.Int64
	creds, err := grpc.DynamicSslServerCredentials(cfg1, func() *grpc.ServerCertificateConfiguration {
		fetches.Add(1)
		switch {
		case broken.Load():
			return noRoots // refused: the current certificates stay
		case rotate.Load():
			return cfg2
		}
		return nil // no change
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	target, who := secureServer(t, creds)
	trust1, _ := grpc.SslChannelCredentials(ca1.CertPEM, nil, nil)
	trust2, _ := grpc.SslChannelCredentials(ca2.CertPEM, nil, nil)
	try := func(c *grpc.ChannelCredentials) error {
		ch, err := grpc.SecureChannel(target, c)
		if err != nil {
			return err
		}
		defer ch.Close()
		_, err = ch.UnaryUnary("/test.Sec/WhoAmI").Call([]byte("x"), grpc.WithTimeout(testTimeout))
		if err == nil {
			<-who
		}
		return err
	}
	if err := try(trust1); err != nil {
		t.Fatalf("before rotation, CA 1: %v", err)
	}
	broken.Store(true)
	if err := try(trust1); err != nil {
		t.Fatalf("after a refused fetch, CA 1: %v", err)
	}
	broken.Store(false)
	rpcErr(t, try(trust2), grpc.StatusCodeUnavailable)
	rotate.Store(true)
	if err := try(trust2); err != nil {
		t.Fatalf("after rotation, CA 2: %v", err)
	}
	rpcErr(t, try(trust1), grpc.StatusCodeUnavailable)
	if fetches.Load() < 4 {
		t.Fatalf("fetcher asked %d times for 5 handshakes", fetches.Load())
	}
}
