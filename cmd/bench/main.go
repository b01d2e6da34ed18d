// Command bench measures grpcpy with the same flags and output as the peer
// programs of other gRPC implementations, so any client can be pointed at
// any server.
//
//	bench server --addr=127.0.0.1:50051
//	bench client --addr=127.0.0.1:50051 --workload=W1 --duration=5 --warmup=1 \
//	             --concurrency=1 --payload=32 --impl=grpcpy
//
// The server serves /bench.Echo/Unary, whose response is the request's raw
// bytes (no protobuf), and exits within a second of SIGTERM or SIGINT.
// The client prints exactly one line:
//
//	RESULT impl=grpcpy workload=W1 payload=32 concurrency=1 duration_s=5.00 ops=N ops_per_s=X mb_per_s=Y p50_us=A p99_us=B
//
// An operation counts when it completes inside the measured window (after
// the warm-up); percentiles are nearest-rank over the counted operations;
// mb_per_s counts echoed payload bytes, 1 MB = 10^6 B.
//
// The server also serves /bench.Echo/Stream, a bidi stream that sends back
// each message in order and ends with OK when the client half-closes.
//
// GRPCPY_CPUPROFILE=file writes a CPU profile of the run; GRPCPY_TRACE=file
// an execution trace (go tool trace).
//
// Workloads: W1, one unary call at a time; W2, --concurrency unary calls in
// flight on one channel; W3, one stream, send one message and wait for its
// echo, repeat (ops = round trips); W4, one stream, the client pushes
// 64 KiB messages as fast as flow control allows while reading the echoes
// (ops = echoed messages; latency fields print NA); W5 (cost of growth),
// --concurrency idle bidi streams open at once on one channel: it prints
// the client's RSS and OS threads with all of them established, as
// "IDLE impl=... streams=N rss_mib=R threads=T" before the RESULT line.
package main

import (
	"flag"
	"fmt"
	"iter"
	"math"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	pb "github.com/grpcpy/grpcpy/examples/routeguide/routeguide"
	"github.com/grpcpy/grpcpy/grpc"
)

// streamAPISet reports whether --stream_api was given.
func streamAPISet(fs *flag.FlagSet) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == "stream_api" })
	return set
}

const (
	unaryMethod  = "/bench.Echo/Unary"
	streamMethod = "/bench.Echo/Stream"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: bench server|client [flags]")
		os.Exit(2)
	}
	if prof := os.Getenv("GRPCPY_CPUPROFILE"); prof != "" {
		f, err := os.Create(prof)
		if err == nil {
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	if tf := os.Getenv("GRPCPY_TRACE"); tf != "" {
		if f, err := os.Create(tf); err == nil && trace.Start(f) == nil {
			defer trace.Stop()
		}
	}
	var err error
	switch os.Args[1] {
	case "server":
		err = runServer(os.Args[2:])
	case "client":
		err = runClient(os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q (want server or client)", os.Args[1])
	}
	if err != nil {
		pprof.StopCPUProfile()
		trace.Stop()
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func echo() *grpc.RpcMethodHandler {
	return grpc.UnaryUnaryRpcMethodHandler(func(req any, _ *grpc.ServicerContext) (any, error) {
		return req, nil
	})
}

func echoStream() *grpc.RpcMethodHandler {
	return grpc.StreamStreamRpcMethodHandler(func(reqs iter.Seq2[any, error], _ *grpc.ServicerContext) iter.Seq2[any, error] {
		return reqs // each request, in order, is the response
	})
}

func runServer(args []string) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:50051", "address to serve on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := grpc.NewServer(nil, grpc.WithHandlers(grpc.MethodHandlersGenericHandler("bench.Echo",
		map[string]*grpc.RpcMethodHandler{"Unary": echo(), "Stream": echoStream()})))
	if err != nil {
		return err
	}
	if err := pb.AddRouteGuideServicerToServer(benchRouteGuide{}, s); err != nil { // W6
		return err
	}
	port, err := s.AddInsecurePort(*addr)
	if err != nil {
		return err
	}
	if err := s.Start(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench server: serving on port %d\n", port)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	// Abort what is in flight: the peer is a benchmark client being torn down.
	s.Stop(0).Wait(900 * time.Millisecond)
	return nil
}

type clientConfig struct {
	addr        string
	workload    string
	duration    time.Duration
	warmup      time.Duration
	concurrency int
	payload     int
	impl        string
	streamAPI   string // W3: "iterator" (grpcio 1.18's request iterator) or "open" (Write/Read)
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func runClient(args []string) error {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	var c clientConfig
	var dur, warm float64
	fs.StringVar(&c.addr, "addr", "127.0.0.1:50051", "server address")
	fs.StringVar(&c.workload, "workload", "W1", "W1-W6 (W6: route_guide through the typed stubs: GetFeature, or RouteChat with --stream_api)")
	fs.Float64Var(&dur, "duration", 5, "measured seconds")
	fs.Float64Var(&warm, "warmup", 1, "warm-up seconds, not measured")
	fs.IntVar(&c.concurrency, "concurrency", 1, "calls in flight (W2)")
	fs.IntVar(&c.payload, "payload", 32, "payload bytes")
	fs.StringVar(&c.impl, "impl", "grpcpy", "name printed in the RESULT line")
	fs.StringVar(&c.streamAPI, "stream_api", "iterator",
		"W3's client API: iterator (the 1.18 request iterator) or open (StreamStreamMultiCallable.Open: Write, Read)")
	chanArgs := fs.String("channel_args", "", "core channel args for the client, key=value,... (integers or strings)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	payloadSet := false
	fs.Visit(func(f *flag.Flag) { payloadSet = payloadSet || f.Name == "payload" })
	if c.workload == "W4" && !payloadSet {
		c.payload = 64 << 10
	}
	c.duration, c.warmup = seconds(dur), seconds(warm)
	if c.duration <= 0 || c.warmup < 0 || c.payload < 0 {
		return fmt.Errorf("bad duration, warmup or payload")
	}
	run := runUnary
	switch c.workload {
	case "W1":
		c.concurrency = 1
	case "W2":
		if c.concurrency < 1 {
			return fmt.Errorf("--concurrency must be at least 1")
		}
	case "W3":
		c.concurrency, run = 1, runPingPong
		if c.streamAPI == "open" {
			run = runPingPongOpen
		} else if c.streamAPI != "iterator" {
			return fmt.Errorf("unknown --stream_api %q (want iterator or open)", c.streamAPI)
		}
	case "W4":
		c.concurrency, run = 1, runStreamThroughput
	case "W5":
		run = runIdleStreams
	case "W6":
		c.concurrency, run = 1, runGetFeature
		if fs.Lookup("stream_api") != nil && streamAPISet(fs) {
			run = runRouteChat
		}
	default:
		return fmt.Errorf("unknown workload %q", c.workload)
	}
	var opts []grpc.ChannelOption
	for _, kv := range strings.Split(*chanArgs, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			if n, err := strconv.Atoi(v); err == nil {
				opts = append(opts, grpc.ChannelOption{Key: k, Value: n})
			} else {
				opts = append(opts, grpc.ChannelOption{Key: k, Value: v})
			}
		}
	}
	ch, err := grpc.InsecureChannel(c.addr, opts...)
	if err != nil {
		return err
	}
	defer ch.Close()
	// One call first, so a dead server fails fast instead of after the run.
	if _, err := ch.UnaryUnary(unaryMethod).Call([]byte{}, grpc.WithTimeout(10*time.Second),
		grpc.WithWaitForReady(true)); err != nil {
		return fmt.Errorf("first call: %w", err)
	}
	r, err := run(ch, c)
	if err != nil {
		return err
	}
	fmt.Println(r.line(c))
	return nil
}

type result struct {
	ops       int
	bytes     int64
	latencies []time.Duration
	noLatency bool // W4: latency fields print NA
}

// runUnary keeps c.concurrency unary calls in flight, each worker one call
// at a time, and records the calls that complete inside the window.
func runUnary(ch *grpc.Channel, c clientConfig) (result, error) {
	mc := grpc.NewUnaryUnary[[]byte, []byte](ch, unaryMethod)
	payload := makePayload(c.payload)
	start := time.Now().Add(c.warmup)
	end := start.Add(c.duration)
	var wg sync.WaitGroup
	results := make([]result, c.concurrency)
	errs := make(chan error, c.concurrency)
	for w := 0; w < c.concurrency; w++ {
		wg.Add(1)
		go func(r *result) {
			defer wg.Done()
			r.latencies = make([]time.Duration, 0, 1<<16)
			for {
				t0 := time.Now()
				if t0.After(end) {
					return
				}
				resp, err := mc.Call(payload, grpc.WithTimeout(30*time.Second))
				t1 := time.Now()
				if err != nil {
					errs <- err
					return
				}
				if t1.After(start) && !t1.After(end) {
					r.ops++
					r.bytes += int64(len(resp))
					r.latencies = append(r.latencies, t1.Sub(t0))
				}
			}
		}(&results[w])
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return result{}, err
	}
	var total result
	for _, r := range results {
		total.ops += r.ops
		total.bytes += r.bytes
		total.latencies = append(total.latencies, r.latencies...)
	}
	return total, nil
}

func makePayload(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i)
	}
	return p
}

// runPingPong (W3): one bidi stream; send a message, wait for its echo,
// repeat. The request iterator yields the next message only when the
// loop hands it one.
func runPingPong(ch *grpc.Channel, c clientConfig) (result, error) {
	payload := makePayload(c.payload)
	next := make(chan []byte)
	requests := func(yield func([]byte, error) bool) {
		for p := range next {
			if !yield(p, nil) {
				return
			}
		}
	}
	it, err := grpc.NewStreamStream[[]byte, []byte](ch, streamMethod).Call(requests)
	if err != nil {
		return result{}, err
	}
	start := time.Now().Add(c.warmup)
	end := start.Add(c.duration)
	r := result{latencies: make([]time.Duration, 0, 1<<16)}
	for {
		t0 := time.Now()
		if t0.After(end) {
			break
		}
		next <- payload
		resp, err := it.Next()
		t1 := time.Now()
		if err != nil {
			close(next)
			return result{}, err
		}
		if t1.After(start) && !t1.After(end) {
			r.ops++
			r.bytes += int64(len(resp))
			r.latencies = append(r.latencies, t1.Sub(t0))
		}
	}
	close(next) // half-close: the server ends the stream with OK
	for _, err := range it.All() {
		if err != nil {
			return result{}, err
		}
	}
	return r, nil
}

// runPingPongOpen (W3 with --stream_api=open): the same exchange driven by
// Write and Read on this goroutine alone (no request iterator).
func runPingPongOpen(ch *grpc.Channel, c clientConfig) (result, error) {
	payload := makePayload(c.payload)
	call, err := grpc.NewStreamStream[[]byte, []byte](ch, streamMethod).Open()
	if err != nil {
		return result{}, err
	}
	start := time.Now().Add(c.warmup)
	end := start.Add(c.duration)
	r := result{latencies: make([]time.Duration, 0, 1<<16)}
	for {
		t0 := time.Now()
		if t0.After(end) {
			break
		}
		if err := call.Write(payload); err != nil {
			return result{}, err
		}
		resp, err := call.Read()
		t1 := time.Now()
		if err != nil {
			return result{}, err
		}
		if t1.After(start) && !t1.After(end) {
			r.ops++
			r.bytes += int64(len(resp))
			r.latencies = append(r.latencies, t1.Sub(t0))
		}
	}
	call.DoneWriting() // the server ends the stream with OK
	for _, err := range call.All() {
		if err != nil {
			return result{}, err
		}
	}
	return r, nil
}

// runStreamThroughput (W4): one bidi stream; the request iterator pushes
// messages as fast as flow control allows (each send waits for the
// previous one) while this goroutine reads the echoes.
func runStreamThroughput(ch *grpc.Channel, c clientConfig) (result, error) {
	payload := makePayload(c.payload)
	start := time.Now().Add(c.warmup)
	end := start.Add(c.duration)
	requests := func(yield func([]byte, error) bool) {
		for time.Now().Before(end) {
			if !yield(payload, nil) {
				return
			}
		}
	}
	it, err := grpc.NewStreamStream[[]byte, []byte](ch, streamMethod).Call(requests)
	if err != nil {
		return result{}, err
	}
	r := result{noLatency: true}
	for resp, err := range it.All() {
		if err != nil {
			return result{}, err
		}
		if t := time.Now(); t.After(start) && !t.After(end) {
			r.ops++
			r.bytes += int64(len(resp))
		}
	}
	return r, nil
}

// runIdleStreams (W5) opens c.concurrency bidi streams, each echoing one
// message so it is established, then holds them idle and reads the
// process's RSS and thread count.
func runIdleStreams(ch *grpc.Channel, c clientConfig) (result, error) {
	payload := makePayload(c.payload)
	release := make(chan struct{})
	its := make([]grpc.CallIterator, 0, c.concurrency)
	defer func() {
		close(release)
		for _, it := range its {
			if call, ok := it.(*grpc.StreamStreamCall); ok {
				call.DoneWriting()
			}
			for range it.All() {
			}
		}
	}()
	rss0, _ := procStatus("VmRSS:")
	start := time.Now()
	for i := 0; i < c.concurrency; i++ {
		if c.streamAPI == "open" {
			// Open: no request-iterator goroutine per stream.
			call, err := ch.StreamStream(streamMethod).Open()
			if err != nil {
				return result{}, err
			}
			if err := call.Write(payload); err != nil {
				return result{}, fmt.Errorf("stream %d: %w", i, err)
			}
			if _, err := call.Read(); err != nil {
				return result{}, fmt.Errorf("stream %d: %w", i, err)
			}
			its = append(its, call)
			continue
		}
		it, err := ch.StreamStream(streamMethod).Call(func(yield func(any, error) bool) {
			if yield(payload, nil) {
				<-release // then idle until the end
			}
		})
		if err != nil {
			return result{}, err
		}
		if _, err := it.Next(); err != nil {
			return result{}, fmt.Errorf("stream %d: %w", i, err)
		}
		its = append(its, it)
	}
	rss, _ := procStatus("VmRSS:")
	threads, _ := procStatus("Threads:")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("IDLE impl=%s streams=%d rss_mib=%.1f rss_growth_mib=%.1f go_stacks_mib=%.1f go_heap_mib=%.1f threads=%d setup_s=%.2f\n",
		c.impl, c.concurrency, float64(rss)/1024, float64(rss-rss0)/1024, float64(ms.StackInuse)/(1<<20),
		float64(ms.HeapInuse)/(1<<20), threads, time.Since(start).Seconds())
	return result{ops: c.concurrency, noLatency: true}, nil
}

// procStatus reads a number from /proc/self/status (kB for memory lines).
func procStatus(key string) (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key); ok {
			return strconv.ParseInt(strings.Fields(v)[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s", key)
}

// percentile is the nearest-rank percentile of sorted latencies.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[max(rank, 1)-1]
}

func (r result) line(c clientConfig) string {
	secs := c.duration.Seconds()
	slices.Sort(r.latencies)
	us := func(d time.Duration) string {
		if r.noLatency {
			return "NA"
		}
		return fmt.Sprintf("%.1f", float64(d)/float64(time.Microsecond))
	}
	return fmt.Sprintf("RESULT impl=%s workload=%s payload=%d concurrency=%d duration_s=%.2f ops=%d ops_per_s=%.1f mb_per_s=%.3f p50_us=%s p99_us=%s",
		c.impl, c.workload, c.payload, c.concurrency, secs, r.ops, float64(r.ops)/secs,
		float64(r.bytes)/secs/1e6, us(percentile(r.latencies, 50)), us(percentile(r.latencies, 99)))
}
