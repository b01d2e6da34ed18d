package debug_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/grpcpy/grpcpy/examples/internal/exampletest"
	"github.com/grpcpy/grpcpy/internal/grpcprotos"
)

const (
	serverPkg  = "./examples/debug/debug_server"
	sendPkg    = "./examples/debug/send_message"
	statsPkg   = "./examples/debug/get_stats"
	serverPy   = "examples/debug/python/debug_server.py"
	sendPy     = "examples/debug/python/send_message.py"
	statsPy    = "examples/debug/python/get_stats.py"
	failure    = "Randomly injected failure."
	greeting   = "Hello, you!"
	statsTitle = "Info for all servers: "
)

// channelzStubs generates channelz_pb2 and channelz_pb2_grpc with
// grpc_tools.protoc, as the original's Bazel build provides them when
// grpcio-channelz is not installed: from channelz.proto as
// internal/grpcprotos holds it (Debian's grpc-proto), renamed
// "channelz.proto" so the modules are top-level (grpc.channelz.v1 would
// clash with grpcio's own grpc package), with its imports.
func channelzStubs(t *testing.T) string {
	t.Helper()
	fd, err := grpcprotos.Files.FindFileByPath("grpc/channelz/v1/channelz.proto")
	if err != nil {
		t.Fatal(err)
	}
	var set descriptorpb.FileDescriptorSet
	for i := 0; i < fd.Imports().Len(); i++ {
		set.File = append(set.File, protodesc.ToFileDescriptorProto(fd.Imports().Get(i).FileDescriptor))
	}
	main := protodesc.ToFileDescriptorProto(fd)
	main.Name = proto.String("channelz.proto")
	set.File = append(set.File, main)
	b, err := proto.Marshal(&set)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	setFile := filepath.Join(dir, "channelz.protoset")
	if err := os.WriteFile(setFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "stubs")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	// grpc_tools.protoc's __main__ adds an -I, which protoc refuses beside
	// --descriptor_set_in: call its main directly.
	cmd := exec.Command(exampletest.Python, "-c", "import sys; from grpc_tools import protoc; sys.exit(protoc.main(sys.argv))",
		"--descriptor_set_in="+setFile,
		"--python_out="+out, "--grpc_python_out="+out, "channelz.proto")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("grpc_tools.protoc channelz.proto: %v\n%s", err, b)
	}
	return out
}

// pythonClient runs a Python client script with arguments against target
// (EXAMPLE_TARGET); it fails the test if the script fails.
func pythonClient(t *testing.T, script string, py []string, target string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), exampletest.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, exampletest.Python, append([]string{"-u", filepath.Join(exampletest.Root(), script)}, args...)...)
	cmd.Env = append(os.Environ(), "EXAMPLE_TARGET="+target, "PYTHONPATH="+strings.Join(py, ":"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	return string(out)
}

// outcomes counts the replies and the errors send_message printed, and
// checks what they say.
func outcomes(t *testing.T, what, out string, n int) (ok, failed int64) {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, "Received message: "):
			ok++
			exampletest.Contains(t, what, l, greeting)
		case strings.HasPrefix(l, "Received error: "):
			failed++
		}
	}
	if ok+failed != int64(n) || ok == 0 || failed == 0 {
		t.Fatalf("%s: %d replies and %d errors, want %d together and some of each (failure rate 0.5):\n%s", what, ok, failed, n, out)
	}
	// Python prints the error over several lines: its code and details
	// follow the "Received error:" line.
	exampletest.Contains(t, what, out, "StatusCode.UNAVAILABLE", failure)
	return ok, failed
}

var (
	statsField = regexp.MustCompile(`\b(calls_started|calls_succeeded|calls_failed):\s*(\d+)`)
	// Python's text format writes "server {", protobuf-go's "server: {"
	// (with a space or two: protobuf-go varies it on purpose).
	oneServer = regexp.MustCompile(`^` + statsTitle + `server:?\s*\{`)
)

// stats reads the calls get_stats printed for the one server.
func stats(t *testing.T, what, out string) (started, succeeded, failed int64) {
	t.Helper()
	if !oneServer.MatchString(out) || strings.Count(out, "server_id:") != 1 {
		t.Fatalf("%s: not one server's statistics:\n%s", what, out)
	}
	for _, m := range statsField.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseInt(m[2], 10, 64)
		switch m[1] {
		case "calls_started":
			started = v
		case "calls_succeeded":
			succeeded = v
		case "calls_failed":
			failed = v
		}
	}
	return started, succeeded, failed
}

// TestDebug: against the Go debug server (failure rate 0.5), the Go and
// the Python send_message make 40 and 30 calls; then get_stats, Go and
// Python, read through channelz that the server started every call
// (theirs: each get_stats call is in flight when it is counted), and
// that the succeeded and failed counts are the replies and errors the
// clients printed.
func TestDebug(t *testing.T) {
	helloworld := exampletest.PythonStubs(t, "examples/helloworld/helloworld/helloworld.proto")
	py := []string{helloworld, channelzStubs(t)}
	server := exampletest.GoServer(t, serverPkg, "--failure_rate=0.5")

	okGo, failedGo := outcomes(t, "go send_message → go server",
		exampletest.GoClient(t, sendPkg, server.Target, "-n=40"), 40)
	okPy, failedPy := outcomes(t, "python send_message → go server",
		pythonClient(t, sendPy, py, server.Target, "-n", "30"), 30)
	t.Logf("send_message: go %d replies, %d errors; python %d replies, %d errors", okGo, failedGo, okPy, failedPy)

	// The k-th get_stats call sees 70 + k calls started, every earlier
	// one closed. A server counts a call when it has closed there, a
	// moment after its client has the status: ask again until the count
	// has caught up.
	getStats := []struct {
		what string
		run  func() string
	}{
		{"go get_stats", func() string { return exampletest.GoClient(t, statsPkg, server.Target) }},
		{"python get_stats", func() string { return pythonClient(t, statsPy, py, server.Target) }},
	}
	k := int64(0)
	for _, g := range getStats {
		deadline := time.Now().Add(exampletest.Timeout)
		for {
			out := g.run()
			k++
			started, succeeded, failed := stats(t, g.what, out)
			if succeeded+failed == started-1 {
				if started != 70+k || succeeded != okGo+okPy+k-1 || failed != failedGo+failedPy {
					t.Errorf("%s (call %d): started %d, succeeded %d, failed %d; want %d, %d, %d\n%s",
						g.what, k, started, succeeded, failed, 70+k, okGo+okPy+k-1, failedGo+failedPy, out)
				}
				t.Logf("%s printed:\n%s", g.what, out)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: counts never settled: started %d, succeeded %d, failed %d", g.what, started, succeeded, failed)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// TestDebugPythonServer: the Go send_message against the Python debug
// server. Without grpcio-channelz (Debian's python3 has none) the Python
// server cannot serve channelz: the Go get_stats then fails with
// UNIMPLEMENTED, as any client would; with it, it reads the counts.
func TestDebugPythonServer(t *testing.T) {
	py := []string{exampletest.PythonStubs(t, "examples/helloworld/helloworld/helloworld.proto")}
	server := exampletest.PythonServer(t, serverPy, py)
	okGo, failedGo := outcomes(t, "go send_message → python server",
		exampletest.GoClient(t, sendPkg, server.Target, "-n=20"), 20)
	t.Logf("send_message → python server: %d replies, %d errors", okGo, failedGo)
	outcomes(t, "python send_message → python server",
		pythonClient(t, sendPy, py, server.Target, "-n", "10"), 10)

	if exec.Command(exampletest.Python, "-c", "import grpc_channelz").Run() == nil {
		exampletest.Contains(t, "go get_stats → python server", exampletest.GoClient(t, statsPkg, server.Target), statsTitle, "calls_started")
		return
	}
	exampletest.Contains(t, "python server without grpc_channelz", server.WaitOutput("grpc_channelz is not installed"),
		"grpc_channelz is not installed: serving without channelz")
	ctx, cancel := context.WithTimeout(context.Background(), exampletest.Timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, exampletest.Go(t, statsPkg), "--target="+server.Target).CombinedOutput()
	if err == nil {
		t.Fatalf("go get_stats → python server without channelz succeeded:\n%s", out)
	}
	exampletest.Contains(t, "go get_stats → python server without channelz", string(out), "StatusCode.UNIMPLEMENTED", "Method not found!")
}
