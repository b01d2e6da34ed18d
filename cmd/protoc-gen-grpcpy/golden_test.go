package main

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

// go test ./cmd/protoc-gen-grpcpy -update rewrites testdata/golden from
// the current plugin (and protoc-gen-go, so the golden tree compiles).
var update = flag.Bool("update", false, "rewrite the golden files")

// The golden cases: each proto under testdata/protos, what it exercises.
var goldenCases = []string{
	"shapes/shapes.proto",     // all four shapes, comments
	"multi/multi.proto",       // several services in one file
	"nogopkg/nogopkg.proto",   // no go_package (an M flag gives it)
	"importer/importer.proto", // messages of another file and package, well-known types
	"names/names.proto",       // Go keywords, Call/Future/Open/Untyped/WithCall methods, "context" message
	"empty/empty.proto",       // a service with no methods
	"optional/optional.proto", // proto3 optional
}

const goldenPkg = "github.com/grpcpy/grpcpy/cmd/protoc-gen-grpcpy/testdata/golden"

var tools struct{ plugin, protocGenGo, include string }

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "protoc-gen-grpcpy")
	if err != nil {
		panic(err)
	}
	tools.plugin = filepath.Join(dir, "protoc-gen-grpcpy")
	tools.protocGenGo = filepath.Join(dir, "protoc-gen-go")
	for _, b := range [][]string{
		{"build", "-o", tools.plugin, "."},
		{"build", "-o", tools.protocGenGo, "google.golang.org/protobuf/cmd/protoc-gen-go"},
	} {
		if out, err := exec.Command("go", b...).CombinedOutput(); err != nil {
			os.Stderr.Write(out)
			panic(err)
		}
	}
	// The well-known types' .proto files (Debian's libprotobuf-dev).
	for _, d := range []string{"/usr/include", "/usr/local/include"} {
		if _, err := os.Stat(filepath.Join(d, "google/protobuf/empty.proto")); err == nil {
			tools.include = d
		}
	}
	code := leakcheck.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// protoc runs protoc with both plugins on protos (paths relative to
// testdata/protos), writing into out.
func protoc(t *testing.T, out string, protos ...string) ([]byte, error) {
	t.Helper()
	if _, err := exec.LookPath("protoc"); err != nil {
		t.Fatal("protoc not installed (Debian's protobuf-compiler; scripts/lib.sh ensure_deps installs it)")
	}
	if tools.include == "" {
		t.Fatal("google/protobuf/*.proto not found (Debian's libprotobuf-dev)")
	}
	args := []string{
		"--plugin=protoc-gen-grpcpy=" + tools.plugin,
		"--plugin=protoc-gen-go=" + tools.protocGenGo,
		"-I", "testdata/protos", "-I", tools.include,
		"--go_out=" + out, "--go_opt=paths=source_relative",
		"--grpcpy_out=" + out, "--grpcpy_opt=paths=source_relative",
		"--go_opt=Mnogopkg/nogopkg.proto=" + goldenPkg + "/nogopkg",
		"--grpcpy_opt=Mnogopkg/nogopkg.proto=" + goldenPkg + "/nogopkg",
	}
	return exec.Command("protoc", append(args, protos...)...).CombinedOutput()
}

// TestGolden regenerates every case and compares it with testdata/golden
// byte for byte; the golden tree itself is compiled and vetted, and the
// shapes service runs against a real server (TestGeneratedShapes).
func TestGolden(t *testing.T) {
	out := t.TempDir()
	if msg, err := protoc(t, out, goldenCases...); err != nil {
		t.Fatalf("protoc: %v\n%s", err, msg)
	}
	for _, c := range goldenCases {
		for _, suffix := range []string{"_grpcpy.pb.go", ".pb.go"} {
			name := strings.TrimSuffix(c, ".proto") + suffix
			got, err := os.ReadFile(filepath.Join(out, name))
			if os.IsNotExist(err) && suffix == "_grpcpy.pb.go" && c != "empty/empty.proto" {
				t.Errorf("%s: no %s generated", c, name)
				continue
			}
			if os.IsNotExist(err) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata/golden", name)
			if *update {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if suffix == ".pb.go" {
				continue // protoc-gen-go's output: kept for compiling, not ours to compare
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%s (run go test ./cmd/protoc-gen-grpcpy -update): %v", golden, err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s (run with -update if the change is meant):\n%s", name, golden, firstDiff(got, want))
			}
		}
	}
	// The golden tree must be valid, vetted Go.
	cmd := exec.Command("go", "vet", "./testdata/golden/...")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go vet of the golden tree: %v\n%s", err, msg)
	}
}

func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + strconv.Itoa(i+1) + ":\n  got:  " + gl + "\n  want: " + wl
		}
	}
	return ""
}

// TestRefusedProtos: protos whose generated Go would not compile fail
// with a protoc error naming the element, and no file is written.
func TestRefusedProtos(t *testing.T) {
	for _, c := range []struct{ proto, want string }{
		{"bad/collide.proto", "service grpcpy.golden.bad.Foo: generated name FooStub collides with message grpcpy.golden.bad.FooStub"},
		{"bad/methods.proto", "methods get_thing and GetThing both become Go name GetThing"},
	} {
		out := t.TempDir()
		msg, err := protoc(t, out, c.proto)
		if err == nil {
			t.Errorf("%s: protoc succeeded", c.proto)
			continue
		}
		if !strings.Contains(string(msg), c.want) || !strings.Contains(string(msg), "--grpcpy_out") {
			t.Errorf("%s: protoc said %q, want it to contain %q", c.proto, msg, c.want)
		}
		filepath.Walk(out, func(p string, info os.FileInfo, err error) error {
			if err == nil && strings.HasSuffix(p, "_grpcpy.pb.go") {
				t.Errorf("%s: %s written anyway", c.proto, p)
			}
			return nil
		})
	}
}

// TestVersionFlag: --version names the plugin (what go install users check).
func TestVersionFlag(t *testing.T) {
	out, err := exec.Command(tools.plugin, "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "protoc-gen-grpcpy ") {
		t.Fatalf("--version: %q, %v", out, err)
	}
}
