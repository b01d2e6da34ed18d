// Command soak runs a grpcpy server and a grpcpy client in one process for
// a while, doing a mix of the four RPC shapes with some of them cancelled,
// and prints, every --interval, the process's resources:
//
//	soak --duration=10m --interval=10s --concurrency=16 --cancel=0.1
//
//	SOAK t_s=10 rpcs=.. rpcs_per_s=.. cancelled=.. cancel_too_late=.. errors=.. rss_mib=.. go_heap_inuse_mib=.. go_stack_mib=.. goroutines=.. threads=.. live_calls=.. live_batches=.. live_total=.. unwaited_tags=..
//
// The server serves soak.Echo on 127.0.0.1 with a kernel-picked port:
// Unary (the request back), ServerStream (the request back --messages
// times), ClientStream (the requests joined) and Bidi (each request back).
// Each of --concurrency workers loops: it picks a shape at random and,
// with probability --cancel, cancels the RPC part-way (a unary future
// cancelled at once, a stream after its first message, a client stream
// before it half-closes). A cancelled RPC must end with CANCELLED
// (cancel_too_late counts the unary ones that completed before the cancel);
// any other failure counts as an error.
//
// live_* are the C objects alive (core.Live: calls, batches, all kinds)
// and unwaited_tags the completion tags posted that nobody waits for
// (core.UnwaitedTags). At the end it stops the workers, closes the channel,
// stops the server and waits (at most 10 s) for the C objects of the RPCs
// to be gone, prints an END line (rpcs_per_s over the whole run), and exits 1 if any RPC failed or
// anything is left over (calls, batches, channels, servers, unwaited tags).
// It always exits by itself: a watchdog ends it --duration + 60 s after
// the start.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grpcpy/grpcpy/core"
	"github.com/grpcpy/grpcpy/grpc"
)

const (
	service      = "soak.Echo"
	unary        = "/soak.Echo/Unary"
	serverStream = "/soak.Echo/ServerStream"
	clientStream = "/soak.Echo/ClientStream"
	bidi         = "/soak.Echo/Bidi"
	rpcTimeout   = 20 * time.Second
)

type config struct {
	duration    time.Duration
	interval    time.Duration
	concurrency int
	cancel      float64
	payload     int
	messages    int
}

func main() {
	var c config
	flag.DurationVar(&c.duration, "duration", 10*time.Minute, "how long to run")
	flag.DurationVar(&c.interval, "interval", 10*time.Second, "time between two SOAK lines")
	flag.IntVar(&c.concurrency, "concurrency", 16, "client workers, each one RPC at a time")
	flag.Float64Var(&c.cancel, "cancel", 0.1, "fraction of RPCs cancelled part-way")
	flag.IntVar(&c.payload, "payload", 256, "message bytes")
	flag.IntVar(&c.messages, "messages", 4, "messages per stream, each way")
	flag.Parse()
	if c.duration <= 0 || c.interval <= 0 || c.concurrency < 1 || c.messages < 1 || c.cancel < 0 || c.cancel > 1 {
		fmt.Fprintln(os.Stderr, "soak: bad flags")
		os.Exit(2)
	}
	watchdog := time.AfterFunc(c.duration+60*time.Second, func() {
		fmt.Fprintln(os.Stderr, "soak: watchdog: still running 60 s after --duration, exiting")
		os.Exit(2)
	})
	defer watchdog.Stop()
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

type counters struct {
	rpcs, cancelled, late, errors atomic.Int64
	firstErr                      atomic.Value // string
}

func (n *counters) fail(shape string, err error) {
	n.errors.Add(1)
	n.firstErr.CompareAndSwap(nil, fmt.Sprintf("%s: %v", shape, err))
}

func run(c config) error {
	base := core.Live()
	s, port, err := startServer(c)
	if err != nil {
		return err
	}
	serverStopped := false
	defer func() {
		if !serverStopped {
			s.Stop(0).Wait(5 * time.Second)
		}
	}()
	ch, err := grpc.InsecureChannel(fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return err
	}
	chClosed := false
	defer func() {
		if !chClosed {
			ch.Close()
		}
	}()
	if _, err := ch.UnaryUnary(unary).Call([]byte("hello"), grpc.WithTimeout(rpcTimeout), grpc.WithWaitForReady(true)); err != nil {
		return fmt.Errorf("first call: %w", err)
	}

	var n counters
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range c.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			worker(ch, c, &n, rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano()))), stop)
		}()
	}

	start := time.Now()
	tick := time.NewTicker(c.interval)
	end := time.NewTimer(c.duration)
	var lastRPCs int64
	last := start
	report := func(tag string) {
		now := time.Now()
		rpcs := n.rpcs.Load()
		rate := float64(rpcs-lastRPCs) / now.Sub(last).Seconds()
		if tag == "END" {
			rate = float64(rpcs) / now.Sub(start).Seconds() // over the whole run
		}
		lastRPCs, last = rpcs, now
		fmt.Printf("%s t_s=%.0f rpcs=%d rpcs_per_s=%.0f cancelled=%d cancel_too_late=%d errors=%d %s\n", tag,
			now.Sub(start).Seconds(), rpcs, rate, n.cancelled.Load(), n.late.Load(), n.errors.Load(), resources())
	}
loop:
	for {
		select {
		case <-tick.C:
			report("SOAK")
		case <-end.C:
			break loop
		}
	}
	tick.Stop()
	close(stop)
	wg.Wait()
	ch.Close()
	chClosed = true
	if !s.Stop(0).Wait(10 * time.Second) {
		return errors.New("the server did not stop within 10 s")
	}
	serverStopped = true

	// The C objects of the RPCs are released asynchronously: wait for
	// them (the engine's queues stay).
	deadline := time.Now().Add(10 * time.Second)
	leftover := func() string {
		l := core.Live()
		var out []string
		for _, k := range []struct {
			name      string
			now, base int64
		}{{"calls", l.Calls, base.Calls}, {"batches", l.Batches, base.Batches},
			{"channels", l.Channels, base.Channels}, {"servers", l.Servers, base.Servers},
			{"credentials", l.Credentials, base.Credentials}, {"messages", l.Messages, base.Messages}} {
			if k.now > k.base {
				out = append(out, fmt.Sprintf("%s=%d", k.name, k.now-k.base))
			}
		}
		if u := core.UnwaitedTags(); u != 0 {
			out = append(out, fmt.Sprintf("unwaited_tags=%d", u))
		}
		return strings.Join(out, " ")
	}
	for leftover() != "" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	report("END")
	if lo := leftover(); lo != "" {
		return fmt.Errorf("left over after stop: %s", lo)
	}
	if e := n.errors.Load(); e > 0 {
		return fmt.Errorf("%d RPCs failed; first: %v", e, n.firstErr.Load())
	}
	return nil
}

// resources formats the process's memory, threads and C objects.
func resources() string {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mib := func(b uint64) float64 { return float64(b) / (1 << 20) }
	rss, _ := procStatus("VmRSS:")
	threads, _ := procStatus("Threads:")
	l := core.Live()
	return fmt.Sprintf("rss_mib=%.1f go_heap_inuse_mib=%.1f go_stack_mib=%.1f go_sys_mib=%.1f goroutines=%d threads=%d live_calls=%d live_batches=%d live_total=%d unwaited_tags=%d",
		float64(rss)/1024, mib(ms.HeapInuse), mib(ms.StackInuse), mib(ms.Sys), runtime.NumGoroutine(), threads,
		l.Calls, l.Batches, l.Total(), core.UnwaitedTags())
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
	return 0, fmt.Errorf("no %s in /proc/self/status", key)
}

func startServer(c config) (*grpc.Server, int, error) {
	echoUnary := grpc.UnaryUnaryRpcMethodHandler(func(req any, _ *grpc.ServicerContext) (any, error) {
		return req, nil
	})
	echoServerStream := grpc.UnaryStreamRpcMethodHandler(func(req any, _ *grpc.ServicerContext) iter.Seq2[any, error] {
		return func(yield func(any, error) bool) {
			for range c.messages {
				if !yield(req, nil) {
					return
				}
			}
		}
	})
	join := grpc.TypedStreamUnaryRpcMethodHandler(func(reqs iter.Seq2[[]byte, error], _ *grpc.ServicerContext) ([]byte, error) {
		var out []byte
		for r, err := range reqs {
			if err != nil {
				return nil, err
			}
			out = append(out, r...)
		}
		return out, nil
	})
	echoBidi := grpc.StreamStreamRpcMethodHandler(func(reqs iter.Seq2[any, error], _ *grpc.ServicerContext) iter.Seq2[any, error] {
		return reqs
	})
	s, err := grpc.NewServer(nil, grpc.WithHandlers(grpc.MethodHandlersGenericHandler(service,
		map[string]*grpc.RpcMethodHandler{"Unary": echoUnary, "ServerStream": echoServerStream,
			"ClientStream": join, "Bidi": echoBidi})))
	if err != nil {
		return nil, 0, err
	}
	port, err := s.AddInsecurePort("127.0.0.1:0")
	if err != nil {
		return nil, 0, err
	}
	if err := s.Start(); err != nil {
		return nil, 0, err
	}
	return s, port, nil
}

// worker runs RPCs one at a time until stop is closed.
func worker(ch *grpc.Channel, c config, n *counters, rng *rand.Rand, stop <-chan struct{}) {
	uu := grpc.NewUnaryUnary[[]byte, []byte](ch, unary)
	us := grpc.NewUnaryStream[[]byte, []byte](ch, serverStream)
	su := grpc.NewStreamUnary[[]byte, []byte](ch, clientStream)
	ss := grpc.NewStreamStream[[]byte, []byte](ch, bidi)
	payload := bytes.Repeat([]byte{'s'}, c.payload)
	for {
		select {
		case <-stop:
			return
		default:
		}
		cancel := rng.Float64() < c.cancel
		var shape string
		var err error
		switch rng.IntN(4) {
		case 0:
			shape, err = "unary", doUnary(uu, payload, cancel)
		case 1:
			shape, err = "server_stream", doServerStream(us, payload, c.messages, cancel)
		case 2:
			shape, err = "client_stream", doClientStream(su, payload, c.messages, cancel)
		default:
			shape, err = "bidi", doBidi(ss, payload, c.messages, cancel)
		}
		n.rpcs.Add(1)
		switch {
		case err == nil:
		case cancel && errors.Is(err, errCancelledOK):
			n.late.Add(1)
		case cancel && isCancelled(err):
			n.cancelled.Add(1)
		default:
			n.fail(shape, err)
		}
	}
}

// errCancelledOK marks a cancelled RPC that completed before the cancel
// took effect: not a failure.
var errCancelledOK = errors.New("cancelled after completion")

func isCancelled(err error) bool {
	var fc grpc.FutureCancelledError
	if errors.As(err, &fc) {
		return true
	}
	var re *grpc.RpcError
	return errors.As(err, &re) && re.Code() == grpc.StatusCodeCancelled
}

func doUnary(mc *grpc.UnaryUnary[[]byte, []byte], payload []byte, cancel bool) error {
	if !cancel {
		resp, err := mc.Call(payload, grpc.WithTimeout(rpcTimeout))
		if err != nil {
			return err
		}
		return check(resp, payload)
	}
	f, err := mc.Future(payload, grpc.WithTimeout(rpcTimeout))
	if err != nil {
		return err
	}
	if !f.Cancel() {
		if _, err := f.Result(); err != nil {
			return err
		}
		return errCancelledOK // it finished first
	}
	_, err = f.Result()
	if err == nil {
		return errors.New("cancelled unary future returned a result")
	}
	return err
}

func doServerStream(mc *grpc.UnaryStream[[]byte, []byte], payload []byte, messages int, cancel bool) error {
	it, err := mc.Call(payload, grpc.WithTimeout(rpcTimeout))
	if err != nil {
		return err
	}
	got := 0
	for {
		resp, err := it.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if err := check(resp, payload); err != nil {
			it.Cancel()
			return err
		}
		got++
		if cancel {
			it.Cancel()
			cancel = false // read on: the iterator ends with CANCELLED
		}
	}
	if got != messages {
		return fmt.Errorf("got %d messages, want %d", got, messages)
	}
	return nil
}

func doClientStream(mc *grpc.StreamUnary[[]byte, []byte], payload []byte, messages int, cancel bool) error {
	if !cancel {
		resp, err := mc.Call(grpc.Requests(repeat(payload, messages)...), grpc.WithTimeout(rpcTimeout))
		if err != nil {
			return err
		}
		return check(resp, bytes.Repeat(payload, messages))
	}
	// A request iterator that never half-closes until the RPC is cancelled.
	sent := make(chan struct{})
	release := make(chan struct{})
	defer close(release)
	f, err := mc.Future(func(yield func([]byte, error) bool) {
		if !yield(payload, nil) {
			return
		}
		close(sent)
		<-release
	}, grpc.WithTimeout(rpcTimeout))
	if err != nil {
		return err
	}
	select {
	case <-sent:
	case <-time.After(rpcTimeout):
	}
	f.Cancel()
	_, err = f.Result()
	if err == nil {
		return errors.New("cancelled client stream returned a result")
	}
	return err
}

func doBidi(mc *grpc.StreamStream[[]byte, []byte], payload []byte, messages int, cancel bool) error {
	call, err := mc.Open(grpc.WithTimeout(rpcTimeout))
	if err != nil {
		return err
	}
	for i := range messages {
		if err := call.Write(payload); err != nil {
			call.Cancel()
			return err
		}
		resp, err := call.Read()
		if err != nil {
			call.Cancel()
			return err
		}
		if err := check(resp, payload); err != nil {
			call.Cancel()
			return err
		}
		if cancel && i == 0 {
			call.Cancel()
			_, err := call.Read()
			if err == nil || err == io.EOF {
				return fmt.Errorf("read after cancel: %v", err)
			}
			return err
		}
	}
	if err := call.DoneWriting(); err != nil {
		return err
	}
	if _, err := call.Read(); err != io.EOF {
		return fmt.Errorf("after DoneWriting: want io.EOF, got %v", err)
	}
	return nil
}

func repeat(v []byte, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func check(resp, want []byte) error {
	if !bytes.Equal(resp, want) {
		return fmt.Errorf("wrong response (%d bytes, want %d)", len(resp), len(want))
	}
	return nil
}
