// Package lb tests load balancing, retries and wait_for_ready on real
// processes, as a Python team running several grpcio servers behind one
// channel relies on them: each backend is a cmd/lbbackend process of its
// own on 127.0.0.1 (or another loopback address), started, SIGKILLed and
// restarted on the same port by the test, and the client is a grpcpy
// channel in the test process. Every test logs what it saw in "LB ..."
// lines: RPCs per backend, failures per status code, and how long each
// transition took.
package lb

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

// TestMain is leakcheck.Main, then removes the backend binary.
func TestMain(m *testing.M) {
	code := leakcheck.Run(m)
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

const (
	// whoMethod answers with the backend's name; slowMethod too, after
	// waiting as long as the request says.
	whoMethod  = "/grpcpy.lb.Backend/Who"
	slowMethod = "/grpcpy.lb.Backend/Slow"

	// rpcTimeout bounds every RPC; startTimeout every backend start.
	rpcTimeout   = 20 * time.Second
	startTimeout = 30 * time.Second
)

// fastReconnect makes subchannels reconnect within 100–200 ms of losing
// their backend instead of the core's default 1 s growing to 120 s, so a
// backend restarted on its port is found again quickly.
var fastReconnect = []grpc.ChannelOption{
	grpc.Option("grpc.initial_reconnect_backoff_ms", 100),
	grpc.Option("grpc.min_reconnect_backoff_ms", 100),
	grpc.Option("grpc.max_reconnect_backoff_ms", 200),
}

// roundRobin is the typed service config selecting round_robin.
var roundRobin = grpc.WithServiceConfig(grpc.ServiceConfig{LoadBalancingPolicy: "round_robin"})

// root is the repository root (this file is tests/lb).
func root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

var (
	buildOnce sync.Once
	buildDir  string // removed by TestMain
	buildBin  string
	buildErr  error
)

// backendEnv, if set, names an lbbackend binary already built (a child
// test process gets its parent's).
const backendEnv = "GRPCPY_LBBACKEND"

// backendBinary builds cmd/lbbackend once per test process, into a
// directory of its own (two test processes at once must not overwrite a
// binary the other runs), removed by TestMain.
func backendBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if bin := os.Getenv(backendEnv); bin != "" {
			buildBin = bin
			return
		}
		if buildDir, buildErr = os.MkdirTemp("", "grpcpy-lbbackend-"); buildErr != nil {
			return
		}
		buildBin = filepath.Join(buildDir, "lbbackend")
		cmd := exec.Command("go", "build", "-o", buildBin, "./cmd/lbbackend")
		cmd.Dir = root()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/lbbackend: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

// syncBuffer collects a process's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// backend is one lbbackend process, (re)started on the same address.
type backend struct {
	name string
	host string // "127.0.0.1", "127.0.0.2", "[::1]"
	port int    // 0 until the first start has bound one
	t    testing.TB

	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan struct{}
}

// addr is host:port, as an ipv4: target list names it.
func (b *backend) addr() string { return b.host + ":" + strconv.Itoa(b.port) }

// startBackend starts a backend named name on host, on a kernel-chosen
// port if port is 0. It is killed when the test ends.
func startBackend(t testing.TB, name, host string, port int) *backend {
	t.Helper()
	b := &backend{name: name, host: host, port: port, t: t}
	b.start()
	return b
}

// start starts the process on b's address and waits until it serves.
// Binding the port of a process just killed can fail for a moment, so a
// start on a fixed port is retried until startTimeout.
func (b *backend) start() {
	t := b.t
	t.Helper()
	bin := backendBinary(t)
	deadline := time.Now().Add(startTimeout)
	for attempt := 1; ; attempt++ {
		pf := filepath.Join(t.TempDir(), "port")
		out := &syncBuffer{}
		cmd := exec.Command(bin, "--addr="+b.host+":"+strconv.Itoa(b.port), "--port_file="+pf, "--name="+b.name)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %v: %v", cmd.Args, err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			cmd.Process.Kill()
			<-exited
		})
		for {
			if p, err := os.ReadFile(pf); err == nil && len(p) > 0 {
				port, err := strconv.Atoi(strings.TrimSpace(string(p)))
				if err != nil {
					t.Fatalf("backend %s: port file %q: %v", b.name, p, err)
				}
				b.port, b.cmd, b.out, b.exited = port, cmd, out, exited
				return
			}
			select {
			case <-exited:
			case <-time.After(10 * time.Millisecond):
				if time.Now().Before(deadline) {
					continue
				}
				t.Fatalf("backend %s (%v) did not serve within %v:\n%s", b.name, cmd.Args, startTimeout, out.String())
			}
			break
		}
		if b.port == 0 || time.Now().After(deadline) {
			t.Fatalf("backend %s (%v) exited before serving (attempt %d):\n%s", b.name, cmd.Args, attempt, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill SIGKILLs the process and waits until it is gone.
func (b *backend) kill() {
	b.cmd.Process.Signal(syscall.SIGKILL)
	<-b.exited
}

// stop SIGTERMs the process and waits until it has stopped (SIGKILL
// after startTimeout); it returns how many RPCs the backend says it
// answered, or -1 if it did not stop cleanly.
func (b *backend) stop() int {
	b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.exited:
	case <-time.After(startTimeout):
		b.t.Errorf("backend %s did not stop on SIGTERM within %v", b.name, startTimeout)
		b.kill()
		return -1
	}
	out := b.out.String()
	var n int
	if i := strings.LastIndex(out, "stopped after answering "); i < 0 || b.cmd.ProcessState.ExitCode() != 0 {
		b.t.Errorf("backend %s: exit %v, output:\n%s", b.name, b.cmd.ProcessState, out)
		return -1
	} else if _, err := fmt.Sscanf(out[i:], "stopped after answering %d RPCs", &n); err != nil {
		b.t.Errorf("backend %s: %v in %q", b.name, err, out[i:])
		return -1
	}
	return n
}

// ipv4Target is the ipv4: target listing backends in order.
func ipv4Target(backends ...*backend) string {
	addrs := make([]string, len(backends))
	for i, b := range backends {
		addrs[i] = b.addr()
	}
	return "ipv4:" + strings.Join(addrs, ",")
}

// startBackends starts n backends b1..bn on 127.0.0.1.
func startBackends(t testing.TB, n int) []*backend {
	t.Helper()
	bs := make([]*backend, n)
	for i := range bs {
		bs[i] = startBackend(t, fmt.Sprintf("b%d", i+1), "127.0.0.1", 0)
	}
	return bs
}

// dial opens a channel closed when the test ends.
func dial(t testing.TB, target string, options ...grpc.ChannelOption) *grpc.Channel {
	t.Helper()
	ch, err := grpc.InsecureChannel(target, options...)
	if err != nil {
		t.Fatalf("InsecureChannel(%q): %v", target, err)
	}
	t.Cleanup(func() { ch.Close() })
	return ch
}

// who makes one Who RPC and returns the answering backend's name.
func who(ch *grpc.Channel, opts ...grpc.CallOption) (string, error) {
	resp, err := ch.UnaryUnary(whoMethod).Call([]byte("?"), append([]grpc.CallOption{grpc.WithTimeout(rpcTimeout)}, opts...)...)
	if err != nil {
		return "", err
	}
	return string(resp.([]byte)), nil
}

// tally counts RPC outcomes: answers per backend, failures per code.
type tally struct {
	mu       sync.Mutex
	answers  map[string]int
	failures map[string]int
	examples []string
}

func newTally() *tally { return &tally{answers: map[string]int{}, failures: map[string]int{}} }

func (c *tally) add(name string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil {
		c.answers[name]++
		return
	}
	var re *grpc.RpcError
	code := "not an RpcError"
	if errors.As(err, &re) {
		code = re.Code().Name()
	}
	c.failures[code]++
	if len(c.examples) < 3 {
		c.examples = append(c.examples, err.Error())
	}
}

func (c *tally) get(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.answers[name]
}

func (c *tally) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.answers {
		n += v
	}
	return n
}

func (c *tally) failed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.failures {
		n += v
	}
	return n
}

// String is "b1=1000 (33.3%) b2=... ; failed 0" or "; failed 5 (UNAVAILABLE=5)".
func (c *tally) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	ok := 0
	for _, v := range c.answers {
		ok += v
	}
	var parts []string
	for _, name := range slices.Sorted(mapKeys(c.answers)) {
		parts = append(parts, fmt.Sprintf("%s=%d (%.1f%%)", name, c.answers[name], 100*float64(c.answers[name])/float64(max(ok, 1))))
	}
	failed := 0
	var codes []string
	for _, code := range slices.Sorted(mapKeys(c.failures)) {
		failed += c.failures[code]
		codes = append(codes, fmt.Sprintf("%s=%d", code, c.failures[code]))
	}
	if len(parts) == 0 {
		parts = []string{"no answers"}
	}
	s := strings.Join(parts, " ") + fmt.Sprintf("; failed %d", failed)
	if failed > 0 {
		s += " (" + strings.Join(codes, " ") + ")"
	}
	return s
}

func mapKeys(m map[string]int) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// load makes n Who RPCs from workers goroutines and tallies them (see
// loadFunc for at and hook).
func load(ch *grpc.Channel, n, workers int, opts []grpc.CallOption, at int, hook func()) (*tally, time.Duration) {
	return loadFunc(n, workers, func() (string, error) { return who(ch, opts...) }, at, hook)
}

// loadFunc makes n RPCs with rpc from workers goroutines and tallies
// them. If at > 0, hook runs once at RPCs have been started, on the
// worker about to start RPC number at.
func loadFunc(n, workers int, rpc func() (string, error), at int, hook func()) (*tally, time.Duration) {
	c := newTally()
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1))
				if i > n {
					return
				}
				if i == at && hook != nil {
					hook()
				}
				name, err := rpc()
				c.add(name, err)
			}
		}()
	}
	wg.Wait()
	return c, time.Since(start)
}

// slow makes one Slow RPC that the backend holds for d.
func slow(ch *grpc.Channel, d time.Duration, opts ...grpc.CallOption) (string, error) {
	resp, err := ch.UnaryUnary(slowMethod).Call([]byte(d.String()), append([]grpc.CallOption{grpc.WithTimeout(rpcTimeout)}, opts...)...)
	if err != nil {
		return "", err
	}
	return string(resp.([]byte)), nil
}

// warmUp makes wait-for-ready Who RPCs until every one of names has
// answered (a round_robin channel is READY once its first subchannel is,
// so the first RPCs may all go there), within rpcTimeout, and returns
// their tally.
func warmUp(t testing.TB, ch *grpc.Channel, names ...string) *tally {
	t.Helper()
	c := newTally()
	deadline := time.Now().Add(rpcTimeout)
	for len(c.answers) < len(names) {
		name, err := who(ch, grpc.WithWaitForReady(true))
		if err != nil {
			t.Fatalf("warm-up RPC: %v", err)
		}
		c.add(name, nil)
		if time.Now().After(deadline) {
			t.Fatalf("warm-up: only %v answered within %v, want %v", c, rpcTimeout, names)
		}
	}
	return c
}

// checkShare fails t unless every backend named got between lo and hi
// of the answers (fractions).
func checkShare(t testing.TB, what string, c *tally, lo, hi float64, names ...string) {
	t.Helper()
	total := float64(c.total())
	for _, name := range names {
		share := float64(c.get(name)) / max(total, 1)
		if share < lo || share > hi {
			t.Errorf("%s: %s got %.1f%% of the answers, want %.0f–%.0f%% (%v)", what, name, 100*share, 100*lo, 100*hi, c)
		}
	}
}
