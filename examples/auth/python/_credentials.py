"""auth's _credentials.py: the TLS material, read from files.

The original ships credentials/localhost.crt, localhost.key and root.crt.
No private key is committed here: `go run ./examples/auth/gencerts`
writes the three files, to examples/auth/credentials by default, which is
where they are read from unless EXAMPLE_CREDENTIALS_DIR names another
directory.
"""
import os


def _load_credential_from_file(filename):
    directory = os.environ.get("EXAMPLE_CREDENTIALS_DIR") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "credentials"
    )
    with open(os.path.join(directory, filename), "rb") as f:
        return f.read()


SERVER_CERTIFICATE = _load_credential_from_file("localhost.crt")
SERVER_CERTIFICATE_KEY = _load_credential_from_file("localhost.key")
ROOT_CERTIFICATE = _load_credential_from_file("root.crt")
