package grpc_test

import (
	"bufio"
	"fmt"
	"iter"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

const helperEnv = "GRPCPY_TEST_HELPER_SERVER"

// runHelperServer serves /test.Mem/Download in a separate process, so the
// test measures the client's memory alone: the request is a byte count,
// the responses are 64 KiB messages adding up to it. /test.Mem/Echo is a
// unary echo (engine_test.go). It prints its port and exits when its stdin
// closes.
func runHelperServer() {
	chunk := make([]byte, 64<<10)
	s, err := grpc.NewServer(nil, grpc.WithHandlers(grpc.MethodHandlersGenericHandler("test.Mem",
		map[string]*grpc.RpcMethodHandler{
			"Echo": grpc.UnaryUnaryRpcMethodHandler(func(req any, _ *grpc.ServicerContext) (any, error) {
				return req, nil
			}),
			"Download": grpc.UnaryStreamRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) iter.Seq2[any, error] {
				total, _ := strconv.ParseInt(string(req.([]byte)), 10, 64)
				return func(yield func(any, error) bool) {
					for sent := int64(0); sent < total; sent += int64(len(chunk)) {
						if !yield(chunk, nil) {
							return
						}
					}
				}
			}),
		})))
	if err != nil {
		panic(err)
	}
	port, err := s.AddInsecurePort("127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	s.Start()
	fmt.Printf("PORT %d\n", port)
	bufio.NewReader(os.Stdin).ReadString('\n') // until the test closes stdin
	s.Stop(grpc.NoGrace)
}

// startHelperServer runs runHelperServer in a child process (this test
// binary) and returns its address; the child exits when the test ends.
func startHelperServer(t *testing.T) string {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "PORT ") {
		t.Fatalf("helper said %q, %v", line, err)
	}
	return "127.0.0.1:" + strings.TrimSpace(strings.TrimPrefix(line, "PORT "))
}

func rssBytes() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// TestServerStreamMemoryIsBounded reads a 1 GiB server stream from a
// server in another process and reports the client's peak heap and RSS
// growth. Reading is one message at a time, so flow control holds the
// server back instead of memory filling up: the Go heap grows by a few
// MiB. RSS also counts the core's transport buffers, which its BDP
// estimator enlarges as throughput rises (the same under grpcio); with
// grpc.http2.bdp_probe=0 they stay small too.
func TestServerStreamMemoryIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 2 GiB")
	}
	leakcheck.Check(t)
	target := startHelperServer(t)
	// Bounds with headroom over what was measured (heap +4 to 8 MiB; RSS
	// +36 to 97 MiB by default and +17 MiB without BDP probing, under
	// -race, whose shadow memory counts too): fixed costs against 1,024 MiB.
	// Without BDP probing first: each run's baseline includes what the runs
	// before it left allocated, so the smaller one goes first.
	t.Run("bdp probing off", func(t *testing.T) {
		streamAndMeasure(t, target, 16<<20, 40<<20, grpc.ChannelOption{Key: "grpc.http2.bdp_probe", Value: 0})
	})
	t.Run("core defaults", func(t *testing.T) {
		streamAndMeasure(t, target, 16<<20, 160<<20)
	})
}

func streamAndMeasure(t *testing.T, target string, maxHeap, maxRSS int64, opts ...grpc.ChannelOption) {
	const total = int64(1 << 30)
	ch := dial(t, target, opts...)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heap0, rss0 := ms.HeapInuse, rssBytes()
	var mu sync.Mutex
	var peakHeap uint64
	var peakRSS int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			r := rssBytes()
			mu.Lock()
			peakHeap, peakRSS = max(peakHeap, m.HeapInuse), max(peakRSS, r)
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	start := time.Now()
	it, err := ch.UnaryStream("/test.Mem/Download").Call([]byte(strconv.FormatInt(total, 10)), grpc.WithTimeout(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	var got int64
	for r, err := range it.All() {
		if err != nil {
			t.Fatal(err)
		}
		got += int64(len(r.([]byte)))
	}
	close(stop)
	<-sampled
	if got < total {
		t.Fatalf("received %d of %d bytes", got, total)
	}
	heapGrowth := int64(peakHeap) - int64(heap0)
	rssGrowth := peakRSS - rss0
	t.Logf("streamed %d MiB in %v (%.0f MB/s): peak heap growth %.1f MiB, peak RSS growth %.1f MiB",
		got>>20, time.Since(start).Round(time.Millisecond), float64(got)/time.Since(start).Seconds()/1e6,
		float64(heapGrowth)/(1<<20), float64(rssGrowth)/(1<<20))
	fmt.Fprintf(os.Stderr, "MEMORY %s, %d MiB stream: peak heap +%.1f MiB, peak RSS +%.1f MiB\n",
		t.Name(), got>>20, float64(heapGrowth)/(1<<20), float64(rssGrowth)/(1<<20))
	if heapGrowth > maxHeap {
		t.Errorf("client heap grew by %.1f MiB reading a 1 GiB stream (bound %d MiB)", float64(heapGrowth)/(1<<20), maxHeap>>20)
	}
	if rssGrowth > maxRSS {
		t.Errorf("client RSS grew by %.1f MiB reading a 1 GiB stream (bound %d MiB)", float64(rssGrowth)/(1<<20), maxRSS>>20)
	}
}
