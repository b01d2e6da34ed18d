// Command gencerts writes the interop tests' TLS material to a directory:
// ca.pem, and server.pem/server.key for *.test.google.fr, localhost and
// 127.0.0.1 (the names the official interop clients override to),
// generated fresh by package testcerts.
package main

import (
	"flag"
	"log"
	"os"
	"path/filepath"

	"github.com/grpcpy/grpcpy/internal/testcerts"
)

func main() {
	dir := flag.String("dir", ".", "where to write ca.pem, server.pem, server.key")
	flag.Parse()
	ca := testcerts.NewCA("grpcpy interop CA")
	server := ca.Server("*.test.google.fr")
	for name, b := range map[string][]byte{"ca.pem": ca.CertPEM, "server.pem": server.CertPEM, "server.key": server.KeyPEM} {
		if err := os.WriteFile(filepath.Join(*dir, name), b, 0o600); err != nil {
			log.Fatal(err)
		}
	}
}
