// Command grpcgo is the grpc-go peer of cmd/bench: the same server and
// client modes, flags and RESULT line, so either client can be pointed at
// either server. Messages are raw bytes, as in cmd/bench.
//
// It is configured as grpc-go's own benchmarks run grpc-go (v1.85.0):
//
//   - Raw bytes go through grpc-go's current codec interface,
//     encoding.CodecV2, as mem.BufferSlice: a received message is the
//     transport's pooled buffers, referenced rather than copied, and the
//     server echoes those same buffers back (gRPC frees them once written);
//     the client sends its payload wrapped in a mem.SliceBuffer, without a
//     copy. The legacy encoding.Codec, which this peer used before, made
//     grpc-go copy every message on receive (and this codec a second time).
//   - 128 KiB transport read and write buffers on both sides, as
//     benchmark/worker (grpc-go's side of the cross-language qps benchmark)
//     sets them.
//   - What benchmark/benchmain turns on by default, the shared receive
//     buffer pool (mem.DefaultBufferPool) and shared write buffers, are
//     grpc-go's own defaults in v1.85.0, so no option is needed for them.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
)

// rawCodec is an encoding.CodecV2 for raw bytes. Messages are
// *mem.BufferSlice (received: a reference to the transport's buffers, which
// the receiver frees or hands back to Marshal) or *[]byte (sent as is).
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	switch m := v.(type) {
	case *mem.BufferSlice:
		return *m, nil // its references pass to gRPC, which frees them
	case *[]byte:
		return mem.BufferSlice{mem.SliceBuffer(*m)}, nil
	}
	return nil, fmt.Errorf("raw codec: cannot marshal %T", v)
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(*mem.BufferSlice)
	if !ok {
		return fmt.Errorf("raw codec: cannot unmarshal into %T", v)
	}
	data.Ref() // keep the buffers past this call: no copy
	*m = data
	return nil
}

func (rawCodec) Name() string { return "raw" }

func init() { encoding.RegisterCodecV2(rawCodec{}) }

// bufferSize is the transport read and write buffer size of grpc-go's
// benchmark/worker (its default is 32 KiB).
const bufferSize = 128 << 10

var serviceDesc = grpc.ServiceDesc{
	ServiceName: "bench.Echo",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{MethodName: "Unary", Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
		var b mem.BufferSlice
		if err := dec(&b); err != nil {
			return nil, err
		}
		return &b, nil // echoed without a copy
	}}},
	Streams: []grpc.StreamDesc{{StreamName: "Stream", ServerStreams: true, ClientStreams: true,
		Handler: func(_ any, s grpc.ServerStream) error {
			for {
				var b mem.BufferSlice
				if err := s.RecvMsg(&b); err == io.EOF {
					return nil
				} else if err != nil {
					return err
				}
				if err := s.SendMsg(&b); err != nil {
					return err
				}
			}
		}}},
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: grpcgo server|client [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "server":
		err = runServer(os.Args[2:])
	case "client":
		err = runClient(os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "grpcgo:", err)
		os.Exit(1)
	}
}

func runServer(args []string) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:50051", "address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	s := grpc.NewServer(grpc.ForceServerCodecV2(rawCodec{}),
		grpc.WriteBufferSize(bufferSize), grpc.ReadBufferSize(bufferSize))
	s.RegisterService(&serviceDesc, nil)
	go s.Serve(l)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	done := make(chan struct{})
	go func() { s.Stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(900 * time.Millisecond):
	}
	return nil
}

type config struct {
	addr, workload, impl string
	duration, warmup     time.Duration
	concurrency, payload int
}

type result struct {
	ops       int
	bytes     int64
	latencies []time.Duration
	noLatency bool
}

func runClient(args []string) error {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	var c config
	var dur, warm float64
	fs.StringVar(&c.addr, "addr", "127.0.0.1:50051", "server address")
	fs.StringVar(&c.workload, "workload", "W1", "W1, W2, W3 or W4")
	fs.Float64Var(&dur, "duration", 5, "measured seconds")
	fs.Float64Var(&warm, "warmup", 1, "warm-up seconds")
	fs.IntVar(&c.concurrency, "concurrency", 1, "calls in flight (W2)")
	fs.IntVar(&c.payload, "payload", 32, "payload bytes")
	fs.StringVar(&c.impl, "impl", "grpc-go", "name printed in the RESULT line")
	if err := fs.Parse(args); err != nil {
		return err
	}
	payloadSet := false
	fs.Visit(func(f *flag.Flag) { payloadSet = payloadSet || f.Name == "payload" })
	if c.workload == "W4" && !payloadSet {
		c.payload = 64 << 10
	}
	c.duration = time.Duration(dur * float64(time.Second))
	c.warmup = time.Duration(warm * float64(time.Second))
	conn, err := grpc.NewClient(c.addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithWriteBufferSize(bufferSize), grpc.WithReadBufferSize(bufferSize),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(rawCodec{})))
	if err != nil {
		return err
	}
	defer conn.Close()
	payload := make([]byte, c.payload)
	for i := range payload {
		payload[i] = byte(i) // as cmd/bench's payload
	}
	var in mem.BufferSlice
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err = conn.Invoke(ctx, "/bench.Echo/Unary", &payload, &in, grpc.WaitForReady(true))
	cancel()
	in.Free()
	if err != nil {
		return fmt.Errorf("first call: %w", err)
	}
	start := time.Now().Add(c.warmup)
	end := start.Add(c.duration)
	var r result
	switch c.workload {
	case "W1", "W2":
		if c.workload == "W1" {
			c.concurrency = 1
		}
		r, err = unary(conn, c, payload, start, end)
	case "W3":
		c.concurrency = 1
		r, err = pingPong(conn, payload, start, end)
	case "W4":
		c.concurrency = 1
		r, err = throughput(conn, payload, start, end)
	default:
		return fmt.Errorf("unknown workload %q", c.workload)
	}
	if err != nil {
		return err
	}
	fmt.Println(line(r, c))
	return nil
}

func unary(conn *grpc.ClientConn, c config, payload []byte, start, end time.Time) (result, error) {
	results := make([]result, c.concurrency)
	var wg sync.WaitGroup
	errs := make(chan error, c.concurrency)
	for w := range results {
		wg.Add(1)
		go func(r *result) {
			defer wg.Done()
			for {
				t0 := time.Now()
				if t0.After(end) {
					return
				}
				var out mem.BufferSlice
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				err := conn.Invoke(ctx, "/bench.Echo/Unary", &payload, &out)
				cancel()
				t1 := time.Now()
				if err != nil {
					errs <- err
					return
				}
				if t1.After(start) && !t1.After(end) {
					r.ops++
					r.bytes += int64(out.Len())
					r.latencies = append(r.latencies, t1.Sub(t0))
				}
				out.Free()
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

func stream(conn *grpc.ClientConn) (grpc.ClientStream, error) {
	return conn.NewStream(context.Background(), &serviceDesc.Streams[0], "/bench.Echo/Stream")
}

func pingPong(conn *grpc.ClientConn, payload []byte, start, end time.Time) (result, error) {
	s, err := stream(conn)
	if err != nil {
		return result{}, err
	}
	var r result
	for {
		t0 := time.Now()
		if t0.After(end) {
			break
		}
		if err := s.SendMsg(&payload); err != nil {
			return result{}, err
		}
		var out mem.BufferSlice
		if err := s.RecvMsg(&out); err != nil {
			return result{}, err
		}
		t1 := time.Now()
		if t1.After(start) && !t1.After(end) {
			r.ops++
			r.bytes += int64(out.Len())
			r.latencies = append(r.latencies, t1.Sub(t0))
		}
		out.Free()
	}
	s.CloseSend()
	var out mem.BufferSlice
	for s.RecvMsg(&out) == nil {
		out.Free()
	}
	return r, nil
}

func throughput(conn *grpc.ClientConn, payload []byte, start, end time.Time) (result, error) {
	s, err := stream(conn)
	if err != nil {
		return result{}, err
	}
	sendErr := make(chan error, 1)
	go func() {
		for time.Now().Before(end) {
			if err := s.SendMsg(&payload); err != nil {
				sendErr <- err
				return
			}
		}
		sendErr <- s.CloseSend()
	}()
	r := result{noLatency: true}
	for {
		var out mem.BufferSlice
		err := s.RecvMsg(&out)
		if err == io.EOF {
			break
		}
		if err != nil {
			return result{}, err
		}
		if t := time.Now(); t.After(start) && !t.After(end) {
			r.ops++
			r.bytes += int64(out.Len())
		}
		out.Free()
	}
	return r, <-sendErr
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[max(rank, 1)-1]
}

func line(r result, c config) string {
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
