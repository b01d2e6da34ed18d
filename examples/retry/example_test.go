package retry_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	pb "github.com/grpcpy/grpcpy/examples/helloworld/helloworld"
	"github.com/grpcpy/grpcpy/examples/internal/exampletest"
	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// serviceConfig is the retry client's service config.
const serviceConfig = `{"methodConfig": [{"name": [{"service": "helloworld.Greeter", "method": "SayHello"}],
	"retryPolicy": {"maxAttempts": 5, "initialBackoff": "0.1s", "maxBackoff": "1s", "backoffMultiplier": 2,
	"retryableStatusCodes": ["UNAVAILABLE"]}}]}`

// calls makes n SayHello calls at once, each on a channel of its own with
// its own connection (a new peer for the flaky server, whose first
// attempts then fail three times in four), and returns their errors.
func calls(target string, n int, options ...grpc.ChannelOption) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ch, err := grpc.InsecureChannel(target, append(options, grpc.Option("grpc.use_local_subchannel_pool", 1))...)
			if err != nil {
				errs[i] = err
				return
			}
			defer ch.Close()
			reply, err := pb.NewGreeterStub(ch).SayHello.Call(&pb.HelloRequest{Name: "you"}, grpc.WithTimeout(20*time.Second))
			if err == nil && reply.GetMessage() != "Hello, you!" {
				err = fmt.Errorf("reply %q", reply.GetMessage())
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	return errs
}

// attempts parses a flaky server's log: per peer, how many attempts it
// failed on purpose and how many it answered.
func attempts(log string) (injected, answered map[string]int) {
	injected, answered = map[string]int{}, map[string]int{}
	for _, l := range strings.Split(log, "\n") {
		if p, ok := strings.CutPrefix(l, "INFO:root:Injecting error to RPC from "); ok {
			injected[p]++
		} else if p, ok := strings.CutPrefix(l, "INFO:root:Successfully responding to RPC from "); ok {
			answered[p]++
		}
	}
	return injected, answered
}

// logSince waits until the server's log since offset shows want
// attempts, counting only answered ones if answeredOnly, and returns that
// part of the log (a server's output may lag behind the calls).
func logSince(t *testing.T, s *exampletest.Proc, offset, want int, answeredOnly bool) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		log := s.Output()[offset:]
		injected, answered := attempts(log)
		n := 0
		for _, c := range answered {
			n += c
		}
		if !answeredOnly {
			for _, c := range injected {
				n += c
			}
		}
		if n >= want || time.Now().After(deadline) {
			return log
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRetry shows the retry policy at work against both flaky servers
// (Go and Python). With the policy, every call succeeds: the example
// clients (Go against Go, Python against Go, Go against Python, three runs
// each) and 16 concurrent grpcpy calls per server with the same service
// config; the servers' logs show that some of them succeeded only after
// injected UNAVAILABLE failures, each peer answered once after at most
// four. Without the policy, the same 16 calls per server fail with
// UNAVAILABLE "injected error" (each does with probability 3/4; the test
// needs one of 16: it fails by chance once in 4^16).
func TestRetry(t *testing.T) {
	leakcheck.Check(t)
	stubs := exampletest.PythonStubs(t, "examples/helloworld/helloworld/helloworld.proto")
	py := []string{stubs}
	servers := map[string]*exampletest.Proc{
		"go":     exampletest.GoServer(t, "./examples/retry/flaky_server"),
		"python": exampletest.PythonServer(t, "examples/retry/python/flaky_server.py", py),
	}
	goClient := "./examples/retry/retry_client"
	exampletest.Go(t, goClient)
	const want = "Greeter client received: Hello, you!"
	const runs, n = 3, 16

	offsets := map[string]int{}
	for name, s := range servers {
		const started = "INFO:root:Starting flaky server on 127.0.0.1:0\n"
		exampletest.Contains(t, name+" server", s.WaitOutput(started), started)
		offsets[name] = len(s.Output())
	}
	t.Run("with retry policy", func(t *testing.T) {
		t.Run("clients", func(t *testing.T) {
			for i := range runs {
				t.Run(fmt.Sprint(i), func(t *testing.T) {
					t.Parallel()
					exampletest.Contains(t, "go client → go", exampletest.GoClient(t, goClient, servers["go"].Target), want)
					exampletest.Contains(t, "python client → go",
						exampletest.PythonClient(t, "examples/retry/python/retry_client.py", py, servers["go"].Target), want)
					exampletest.Contains(t, "go client → python", exampletest.GoClient(t, goClient, servers["python"].Target), want)
				})
			}
		})
		for name, s := range servers {
			for i, err := range calls(s.Target, n, grpc.Option("grpc.service_config", serviceConfig)) {
				if err != nil {
					t.Errorf("%s server: call %d with the retry policy failed: %v", name, i, err)
				}
			}
			clients := runs
			if name == "go" {
				clients = 2 * runs
			}
			log := logSince(t, s, offsets[name], clients+n, true)
			injected, answered := attempts(log)
			if len(answered) != clients+n {
				t.Errorf("%s server answered %d peers, want %d (one per call):\n%s", name, len(answered), clients+n, log)
			}
			total := 0
			for peer, c := range injected {
				total += c
				if c > 4 || answered[peer] != 1 {
					t.Errorf("%s server: peer %s failed %d attempts and got %d answers, want at most 4 and 1", name, peer, c, answered[peer])
				}
			}
			if total == 0 {
				t.Errorf("%s server injected no error: no call needed a retry:\n%s", name, log)
			}
			t.Logf("%s server: %d calls succeeded after %d injected failures", name, clients+n, total)
			offsets[name] = len(s.Output())
		}
	})
	t.Run("without retry policy", func(t *testing.T) {
		for name, s := range servers {
			failed := 0
			for i, err := range calls(s.Target, n) {
				var rpcErr *grpc.RpcError
				switch {
				case err == nil:
				case errors.As(err, &rpcErr) && rpcErr.Code() == grpc.StatusCodeUnavailable && rpcErr.Details() == "injected error":
					failed++
				default:
					t.Errorf("%s server: call %d failed with %v, want UNAVAILABLE \"injected error\"", name, i, err)
				}
			}
			if failed == 0 {
				t.Errorf("%s server: no call failed without the retry policy", name)
			}
			// One attempt per call: the client did not retry.
			log := logSince(t, s, offsets[name], n, false)
			injected, answered := attempts(log)
			if len(injected) != failed || len(injected)+len(answered) != n {
				t.Errorf("%s server: %d failed calls, log shows %d injected and %d answered, want one attempt per call:\n%s",
					name, failed, len(injected), len(answered), log)
			}
			t.Logf("%s server: %d of %d calls failed without the policy", name, failed, n)
		}
	})
}
