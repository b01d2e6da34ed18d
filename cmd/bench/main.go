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
// Workloads: W1, one unary call at a time; W2, --concurrency unary calls in
// flight on one channel.
package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
)

const unaryMethod = "/bench.Echo/Unary"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: bench server|client [flags]")
		os.Exit(2)
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
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func echo() *grpc.RpcMethodHandler {
	return grpc.UnaryUnaryRpcMethodHandler(func(req any, _ *grpc.ServicerContext) (any, error) {
		return req, nil
	})
}

func runServer(args []string) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:50051", "address to serve on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := grpc.NewServer(nil, grpc.WithHandlers(grpc.MethodHandlersGenericHandler("bench.Echo",
		map[string]*grpc.RpcMethodHandler{"Unary": echo()})))
	if err != nil {
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
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func runClient(args []string) error {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	var c clientConfig
	var dur, warm float64
	fs.StringVar(&c.addr, "addr", "127.0.0.1:50051", "server address")
	fs.StringVar(&c.workload, "workload", "W1", "W1 or W2")
	fs.Float64Var(&dur, "duration", 5, "measured seconds")
	fs.Float64Var(&warm, "warmup", 1, "warm-up seconds, not measured")
	fs.IntVar(&c.concurrency, "concurrency", 1, "calls in flight (W2)")
	fs.IntVar(&c.payload, "payload", 32, "payload bytes")
	fs.StringVar(&c.impl, "impl", "grpcpy", "name printed in the RESULT line")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c.duration, c.warmup = seconds(dur), seconds(warm)
	if c.duration <= 0 || c.warmup < 0 || c.payload < 0 {
		return fmt.Errorf("bad duration, warmup or payload")
	}
	switch c.workload {
	case "W1":
		c.concurrency = 1
	case "W2":
		if c.concurrency < 1 {
			return fmt.Errorf("--concurrency must be at least 1")
		}
	default:
		return fmt.Errorf("unknown workload %q", c.workload)
	}
	ch, err := grpc.InsecureChannel(c.addr)
	if err != nil {
		return err
	}
	defer ch.Close()
	r, err := runUnary(ch, c)
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
}

// runUnary keeps c.concurrency unary calls in flight, each worker one call
// at a time, and records the calls that complete inside the window.
func runUnary(ch *grpc.Channel, c clientConfig) (result, error) {
	mc := ch.UnaryUnary(unaryMethod)
	payload := make([]byte, c.payload)
	for i := range payload {
		payload[i] = byte(i)
	}
	// One call first, so a dead server fails fast instead of after the run.
	if _, err := mc.Call(payload, grpc.WithTimeout(10*time.Second), grpc.WithWaitForReady(true)); err != nil {
		return result{}, fmt.Errorf("first call: %w", err)
	}
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
					r.bytes += int64(len(resp.([]byte)))
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
	us := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Microsecond)) }
	return fmt.Sprintf("RESULT impl=%s workload=%s payload=%d concurrency=%d duration_s=%.2f ops=%d ops_per_s=%.1f mb_per_s=%.3f p50_us=%s p99_us=%s",
		c.impl, c.workload, c.payload, c.concurrency, secs, r.ops, float64(r.ops)/secs,
		float64(r.bytes)/secs/1e6, us(percentile(r.latencies, 50)), us(percentile(r.latencies, 99)))
}
