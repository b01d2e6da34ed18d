// Package testcerts makes the TLS material the tests use, with crypto/x509,
// so nothing secret or expiring is committed: a CA, server and client
// certificates it signs, and deliberately bad ones (expired, from another
// CA). Everything is PEM, as grpcio's credential functions take it.
package testcerts

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"sync/atomic"
	"time"
)

// CA is a certificate authority that signs leaves.
type CA struct {
	CertPEM []byte
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
}

// Leaf is a certificate and its private key, PEM-encoded.
type Leaf struct {
	CertPEM, KeyPEM []byte
}

var serial atomic.Int64

func next() *big.Int { return big.NewInt(time.Now().UnixNano() + serial.Add(1)) }

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// NewCA makes a self-signed CA named name.
func NewCA(name string) *CA {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	tmpl := &x509.Certificate{
		SerialNumber:          next(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"grpcpy tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(err)
	cert, err := x509.ParseCertificate(der)
	must(err)
	return &CA{CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), cert: cert, key: key}
}

// Options shape a leaf.
type Options struct {
	CommonName string
	DNSNames   []string
	IPs        []net.IP
	Client     bool // for client authentication rather than a server
	Expired    bool // valid until an hour ago
}

// Issue signs a leaf.
func (ca *CA) Issue(o Options) Leaf {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	notBefore, notAfter := time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	if o.Expired {
		notBefore, notAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour)
	}
	usage := x509.ExtKeyUsageServerAuth
	if o.Client {
		usage = x509.ExtKeyUsageClientAuth
	}
	tmpl := &x509.Certificate{
		SerialNumber: next(),
		Subject:      pkix.Name{CommonName: o.CommonName, Organization: []string{"grpcpy tests"}},
		DNSNames:     o.DNSNames,
		IPAddresses:  o.IPs,
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	must(err)
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	must(err)
	return Leaf{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}),
	}
}

// Server issues a server certificate for localhost, 127.0.0.1 and
// *.test.google.fr (the name the official interop tests override to).
func (ca *CA) Server(cn string) Leaf {
	return ca.Issue(Options{CommonName: cn, DNSNames: []string{"localhost", "*.test.google.fr"},
		IPs: []net.IP{net.ParseIP("127.0.0.1")}})
}

// Client issues a client certificate whose identity is name (CN and DNS SAN).
func (ca *CA) Client(name string) Leaf {
	return ca.Issue(Options{CommonName: name, DNSNames: []string{name}, Client: true})
}
