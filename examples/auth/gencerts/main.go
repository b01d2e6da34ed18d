// Command gencerts writes the TLS material of the auth example: the three
// files of the original's credentials/ directory, generated fresh (valid
// for 24 hours) by package testcerts, so no private key is committed.
//
//	root.crt       the certificate authority the client trusts
//	localhost.crt  the server's certificate, for localhost and 127.0.0.1
//	localhost.key  its private key
//
// The default directory, examples/auth/credentials (from the repository
// root), is where the example's servers and clients look by default; git
// ignores it.
package main

import (
	"flag"
	"log"
	"os"
	"path/filepath"

	"github.com/grpcpy/grpcpy/internal/testcerts"
)

func main() {
	dir := flag.String("dir", filepath.Join("examples", "auth", "credentials"), "where to write root.crt, localhost.crt and localhost.key")
	flag.Parse()
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		log.Fatal(err)
	}
	ca := testcerts.NewCA("grpcpy auth example CA")
	server := ca.Server("localhost")
	for name, b := range map[string][]byte{"root.crt": ca.CertPEM, "localhost.crt": server.CertPEM, "localhost.key": server.KeyPEM} {
		if err := os.WriteFile(filepath.Join(*dir, name), b, 0o600); err != nil {
			log.Fatal(err)
		}
	}
	log.Printf("wrote root.crt, localhost.crt and localhost.key to %s", *dir)
}
