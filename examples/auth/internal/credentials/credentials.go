// Package credentials loads the auth example's TLS material, as the
// original's _credentials.py does: localhost.crt, localhost.key and
// root.crt from one directory. Nothing secret is committed: write the
// files with `go run ./examples/auth/gencerts`.
package credentials

import (
	"fmt"
	"os"
	"path/filepath"
)

// Credentials are the PEM files' contents, named after _credentials.py's
// SERVER_CERTIFICATE, SERVER_CERTIFICATE_KEY and ROOT_CERTIFICATE.
type Credentials struct {
	ServerCertificate    []byte
	ServerCertificateKey []byte
	RootCertificate      []byte
}

// DefaultDir is $EXAMPLE_CREDENTIALS_DIR, else examples/auth/credentials
// (where gencerts writes by default, from the repository root).
func DefaultDir() string {
	if dir := os.Getenv("EXAMPLE_CREDENTIALS_DIR"); dir != "" {
		return dir
	}
	return filepath.Join("examples", "auth", "credentials")
}

// Load reads the three files from dir.
func Load(dir string) (*Credentials, error) {
	read := func(name string) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("%w (write the example's credentials with `go run ./examples/auth/gencerts --dir=%s`)", err, dir)
		}
		return b, nil
	}
	var c Credentials
	var err error
	if c.ServerCertificate, err = read("localhost.crt"); err != nil {
		return nil, err
	}
	if c.ServerCertificateKey, err = read("localhost.key"); err != nil {
		return nil, err
	}
	if c.RootCertificate, err = read("root.crt"); err != nil {
		return nil, err
	}
	return &c, nil
}
