// Package xds tests grpcpy's xDS support end to end against a management
// server built on github.com/envoyproxy/go-control-plane (snapshot cache
// and ADS, served by grpc-go on 127.0.0.1): a channel to xds:///my-service
// follows the control plane's endpoints and locality weights and survives
// its restart, and an xDS server (grpc.WithXds) serves only while its
// inbound Listener exists.
//
// The core reads the xDS bootstrap (GRPC_XDS_BOOTSTRAP_CONFIG) once per
// process, when the first xDS channel or server is made, and the control
// plane's port is known only once it runs: so the xDS client and the xDS
// server each run in a child process, this test binary started again with
// GRPCPY_XDS_CHILD set, driven over its standard input and output. The
// backends, the control plane and the plain clients stay in the test
// process, which the leak checks cover.
package xds

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

const childEnv = "GRPCPY_XDS_CHILD"

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "":
		leakcheck.Main(m)
	case "client":
		os.Exit(clientChild())
	case "server":
		os.Exit(serverChild())
	default:
		fmt.Fprintf(os.Stderr, "unknown %s=%q\n", childEnv, os.Getenv(childEnv))
		os.Exit(2)
	}
}

// rpcTimeout bounds every RPC; testTimeout bounds every wait.
const (
	rpcTimeout  = 5 * time.Second
	testTimeout = 30 * time.Second
)

const (
	whoService = "xdstest.Backend"
	whoMethod  = "/xdstest.Backend/Who"
)

// whoHandler answers Who with the server's name and reports each call.
func whoHandler(name string, onCall func()) grpc.GenericRpcHandler {
	return grpc.MethodHandlersGenericHandler(whoService, map[string]*grpc.RpcMethodHandler{
		"Who": grpc.UnaryUnaryRpcMethodHandler(func(any, *grpc.ServicerContext) (any, error) {
			if onCall != nil {
				onCall()
			}
			return []byte(name), nil
		}),
	})
}

// child is a child process of this test binary, spoken to line by line.
type child struct {
	t     *testing.T
	cmd   *exec.Cmd
	in    *os.File
	lines chan string
	done  chan struct{}
	once  sync.Once
}

// startChild runs this test binary as the named child with the given
// bootstrap and extra environment; its standard error goes to the test
// log.
func startChild(t *testing.T, kind, bootstrap string, env ...string) *child {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+kind, "GRPC_XDS_BOOTSTRAP_CONFIG="+bootstrap)
	cmd.Env = append(slicesWithout(cmd.Env, "GRPC_XDS_BOOTSTRAP="), env...)
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin = inR
	cmd.Stderr = &logWriter{t: t, prefix: kind + " child: "}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	inR.Close()
	c := &child{t: t, cmd: cmd, in: inW, lines: make(chan string, 1024), done: make(chan struct{})}
	go func() {
		defer close(c.lines)
		s := bufio.NewScanner(out)
		for s.Scan() {
			c.lines <- s.Text()
		}
	}()
	go func() { cmd.Wait(); close(c.done) }()
	t.Cleanup(c.close)
	return c
}

func slicesWithout(env []string, prefix string) []string {
	out := env[:0:0]
	for _, e := range env {
		if !strings.HasPrefix(e, prefix) {
			out = append(out, e)
		}
	}
	return out
}

func (c *child) send(line string) {
	c.t.Helper()
	if _, err := fmt.Fprintln(c.in, line); err != nil {
		c.t.Fatalf("to child: %v", err)
	}
}

// expect returns the next line starting with prefix; other lines are
// logged and skipped.
func (c *child) expect(prefix string, timeout time.Duration) string {
	c.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				c.t.Fatalf("child ended before %q", prefix)
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
			c.t.Logf("child: %s", l)
		case <-deadline:
			c.t.Fatalf("no %q from the child within %v", prefix, timeout)
		}
	}
}

// close ends the child (end of input, then a kill if it lingers).
func (c *child) close() { c.once.Do(c.end) }

func (c *child) end() {
	c.in.Close()
	select {
	case <-c.done:
	case <-time.After(testTimeout):
		c.t.Errorf("child did not exit within %v; killing it", testTimeout)
		c.cmd.Process.Kill()
		<-c.done
	}
	if c.cmd.ProcessState != nil && !c.cmd.ProcessState.Success() {
		c.t.Errorf("child: %v", c.cmd.ProcessState)
	}
}

type logWriter struct {
	t      *testing.T
	prefix string
	mu     sync.Mutex
	buf    []byte
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := strings.IndexByte(string(w.buf), '\n')
		if i < 0 {
			break
		}
		line := string(w.buf[:i])
		w.buf = w.buf[i+1:]
		// The core's own chatter at ERROR level is expected when the
		// control plane goes away; keep the log readable.
		if len(line) > 400 {
			line = line[:400] + "…"
		}
		w.t.Log(w.prefix + line)
	}
	return len(p), nil
}
