// Package faults is grpcpy's fault-injection suite: servers killed
// mid-RPC and restarted, cancel and deadline storms, channel churn, Stop
// and Channel.Close under load, panicking user callbacks and raw-socket
// abuse of a server. Every test asserts invariants (every RPC ends, with
// an allowed status; resources return to their baseline), never timings,
// and reports its figures in one t.Logf line starting with "FAULT <name>:".
//
// The test binary doubles as the peer server process: with childEnv set it
// serves the faults.Svc service instead of running tests, so a test can
// SIGKILL its server.
package faults

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/cgo"
	"github.com/grpcpy/grpcpy/core"
	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

// childEnv, when set to an address, makes this binary a faults.Svc server
// on it (see runChild) instead of a test run.
const childEnv = "GRPCPY_FAULTS_CHILD"

func TestMain(m *testing.M) {
	if addr := os.Getenv(childEnv); addr != "" {
		runChild(addr)
		return
	}
	leakcheck.Main(m)
}

// rpcTimeout bounds every RPC a test makes: nothing can hang CI.
const rpcTimeout = 20 * time.Second

// holdCap bounds how long a "hold" handler waits for its RPC to end, so a
// missed cancellation shows up as a failed assertion, not a stuck server.
const holdCap = 60 * time.Second

// fastReconnect makes channels retry within ~100 ms instead of the core's
// default 1 s backoff, so a restarted server is found quickly.
var fastReconnect = []grpc.ChannelOption{
	{Key: "grpc.initial_reconnect_backoff_ms", Value: 100},
	{Key: "grpc.min_reconnect_backoff_ms", Value: 100},
	{Key: "grpc.max_reconnect_backoff_ms", Value: 200},
}

// ---- the service ----

const (
	svcName       = "faults.Svc"
	mUnary        = "/faults.Svc/Unary"
	mServerStream = "/faults.Svc/ServerStream"
	mClientStream = "/faults.Svc/ClientStream"
	mBidi         = "/faults.Svc/Bidi"
)

// service is faults.Svc, one method per RPC shape. A request is a command:
// "hold:<id>" makes the handler report <id> through onHold and wait until
// the RPC ends or release(<id>) (ServerStream and Bidi send one response
// first); "n:<N>" makes ServerStream send N responses; anything else is
// echoed. ClientStream counts its requests; Bidi echoes each.
type service struct {
	entered, exited atomic.Int64 // handler invocations, for "handlers finish"
	onHold          func(shape, id string)
	gates           sync.Map // id -> chan struct{}: closed by release, ends a hold
}

func (sv *service) gate(id string) chan struct{} {
	c, _ := sv.gates.LoadOrStore(id, make(chan struct{}))
	return c.(chan struct{})
}

// release ends the hold of the RPCs with this id: they finish with OK.
func (sv *service) release(id string) { close(sv.gate(id)) }

func holdID(req any) (string, bool) {
	b, _ := req.([]byte)
	return strings.CutPrefix(string(b), "hold:")
}

// hold waits for the RPC to end (client cancel, deadline, Stop, peer gone)
// or for release(id).
func (sv *service) hold(ctx *grpc.ServicerContext, shape, id string) {
	if sv.onHold != nil && id != "" {
		sv.onHold(shape, id)
	}
	var released chan struct{}
	if id != "" {
		released = sv.gate(id)
	}
	t := time.NewTimer(holdCap)
	defer t.Stop()
	select {
	case <-ctx.Context().Done():
	case <-released:
	case <-t.C:
	}
}

func (sv *service) enter() func() {
	sv.entered.Add(1)
	return func() { sv.exited.Add(1) }
}

func (sv *service) handlers() []grpc.GenericRpcHandler {
	return []grpc.GenericRpcHandler{grpc.MethodHandlersGenericHandler(svcName, map[string]*grpc.RpcMethodHandler{
		"Unary": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			defer sv.enter()()
			if id, ok := holdID(req); ok {
				sv.hold(ctx, "unary", id)
			}
			return req, nil
		}),
		"ServerStream": grpc.UnaryStreamRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) iter.Seq2[any, error] {
			exit := sv.enter()
			return func(yield func(any, error) bool) {
				defer exit()
				if id, ok := holdID(req); ok {
					if yield([]byte("first"), nil) {
						sv.hold(ctx, "server-stream", id)
					}
					return
				}
				n := 1
				if v, ok := strings.CutPrefix(string(req.([]byte)), "n:"); ok {
					n, _ = strconv.Atoi(v)
				}
				for i := 0; i < n; i++ {
					if !yield(req, nil) {
						return
					}
				}
			}
		}),
		"ClientStream": grpc.StreamUnaryRpcMethodHandler(func(reqs iter.Seq2[any, error], ctx *grpc.ServicerContext) (any, error) {
			defer sv.enter()()
			n := 0
			for req, err := range reqs {
				if err != nil {
					return nil, err
				}
				if id, ok := holdID(req); ok {
					sv.hold(ctx, "client-stream", id)
				}
				n++
			}
			return []byte(strconv.Itoa(n)), nil
		}),
		"Bidi": grpc.StreamStreamRpcMethodHandler(func(reqs iter.Seq2[any, error], ctx *grpc.ServicerContext) iter.Seq2[any, error] {
			exit := sv.enter()
			return func(yield func(any, error) bool) {
				defer exit()
				for req, err := range reqs {
					if err != nil {
						return
					}
					if !yield(req, nil) {
						return
					}
					if id, ok := holdID(req); ok {
						sv.hold(ctx, "bidi", id)
						return
					}
				}
			}
		}),
	})}
}

// holdRegistry lets a test wait until the handlers of specific RPCs are
// holding, i.e. the RPCs are really in flight on the server.
type holdRegistry struct{ m sync.Map } // id -> chan struct{}

func (r *holdRegistry) notify(_, id string) {
	if c, ok := r.m.Load(id); ok {
		select {
		case c.(chan struct{}) <- struct{}{}:
		default: // more notices than expected: never block a handler
		}
	}
}

// expect registers ids and returns a wait function for all of them; the
// ids are forgotten when it returns. An expectation never waited for
// is harmless: its notices go to a buffered channel.
func (r *holdRegistry) expect(ids ...string) func(time.Duration) bool {
	c := make(chan struct{}, len(ids))
	for _, id := range ids {
		r.m.Store(id, c)
	}
	return func(d time.Duration) bool {
		defer func() {
			for _, id := range ids {
				r.m.Delete(id)
			}
		}()
		timer := time.NewTimer(d)
		defer timer.Stop()
		for range ids {
			select {
			case <-c:
			case <-timer.C:
				return false
			}
		}
		return true
	}
}

// serve starts an in-process server on 127.0.0.1 with a kernel-chosen
// port; it is stopped (no grace, bounded wait) when the test ends.
func serve(t *testing.T, sv *service, opts ...grpc.ServerOption) (*grpc.Server, string) {
	t.Helper()
	s, err := grpc.NewServer(nil, append([]grpc.ServerOption{grpc.WithHandlers(sv.handlers()...)}, opts...)...)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	port, err := s.AddInsecurePort("127.0.0.1:0")
	if err != nil {
		t.Fatalf("AddInsecurePort: %v", err)
	}
	if err := s.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if !s.Stop(0).Wait(rpcTimeout) {
			t.Errorf("server did not stop within %v", rpcTimeout)
		}
	})
	return s, fmt.Sprintf("127.0.0.1:%d", port)
}

// dial opens an insecure channel closed when the test ends.
func dial(t *testing.T, target string, opts ...grpc.ChannelOption) *grpc.Channel {
	t.Helper()
	ch, err := grpc.InsecureChannel(target, opts...)
	if err != nil {
		t.Fatalf("InsecureChannel: %v", err)
	}
	t.Cleanup(func() { ch.Close() })
	return ch
}

// ---- the client side: one RPC of a shape, run to its end ----

type shape int

const (
	unary shape = iota
	serverStream
	clientStream
	bidi
)

var shapes = []shape{unary, serverStream, clientStream, bidi}

func (s shape) String() string {
	return [...]string{"unary", "server-stream", "client-stream", "bidi"}[s]
}

type stubs struct {
	u  *grpc.UnaryUnaryMultiCallable
	us *grpc.UnaryStreamMultiCallable
	su *grpc.StreamUnaryMultiCallable
	ss *grpc.StreamStreamMultiCallable
}

func newStubs(ch *grpc.Channel) stubs {
	return stubs{ch.UnaryUnary(mUnary), ch.UnaryStream(mServerStream), ch.StreamUnary(mClientStream), ch.StreamStream(mBidi)}
}

// notRPCError is the code recorded for an error that is not an *RpcError;
// valueError for a *grpc.ValueError (bad arguments, closed channel).
const (
	notRPCError grpc.StatusCode = -1
	valueError  grpc.StatusCode = -2
)

// outcome is how one RPC ended.
type outcome struct {
	shape   shape
	code    grpc.StatusCode
	details string
	err     error
	msgs    int
	took    time.Duration
}

func (o *outcome) setErr(err error) {
	o.err = err
	var r *grpc.RpcError
	switch {
	case err == nil:
		o.code = grpc.StatusCodeOK
	case errors.As(err, &r):
		o.code, o.details = r.Code(), r.Details()
	case errors.As(err, new(*grpc.ValueError)):
		o.code, o.details = valueError, err.Error()
	default:
		o.code, o.details = notRPCError, err.Error()
	}
}

func (o outcome) String() string {
	return fmt.Sprintf("%v %s %q (%d msgs, %v)", o.shape, codeName(o.code), o.details, o.msgs, o.took.Round(time.Millisecond))
}

func codeName(c grpc.StatusCode) string {
	switch c {
	case notRPCError:
		return "NOT_AN_RPCERROR"
	case valueError:
		return "VALUE_ERROR"
	}
	return c.Name()
}

// drain reads a response iterator to its end.
func drain(it grpc.CallIterator, o *outcome) error {
	for _, err := range it.All() {
		if err != nil {
			return err
		}
		o.msgs++
	}
	return nil
}

// call runs one RPC of shape sh with request req to its end. The
// stream-request shapes send "a" then req.
func call(st stubs, sh shape, req string, opts ...grpc.CallOption) outcome {
	start := time.Now()
	o := outcome{shape: sh}
	var err error
	switch sh {
	case unary:
		if _, err = st.u.Call([]byte(req), opts...); err == nil {
			o.msgs = 1
		}
	case serverStream:
		var it grpc.CallIterator
		if it, err = st.us.Call([]byte(req), opts...); err == nil {
			err = drain(it, &o)
		}
	case clientStream:
		if _, err = st.su.Call(grpc.Requests[any]([]byte("a"), []byte(req)), opts...); err == nil {
			o.msgs = 1
		}
	case bidi:
		var it grpc.CallIterator
		if it, err = st.ss.Call(grpc.Requests[any]([]byte("a"), []byte(req)), opts...); err == nil {
			err = drain(it, &o)
		}
	}
	o.setErr(err)
	o.took = time.Since(start)
	return o
}

// start starts one RPC of shape sh on the calling goroutine (for the
// stream-request shapes: the request iterator may still be sending), and
// returns the function that waits for its end. An RPC that could not
// start finishes at once with that error.
func start(st stubs, sh shape, req string, opts ...grpc.CallOption) func() outcome {
	begin := time.Now()
	o := outcome{shape: sh}
	end := func(err error) outcome {
		o.setErr(err)
		o.took = time.Since(begin)
		return o
	}
	var f grpc.CallFuture
	var it grpc.CallIterator
	var err error
	switch sh {
	case unary:
		f, err = st.u.Future([]byte(req), opts...)
	case serverStream:
		it, err = st.us.Call([]byte(req), opts...)
	case clientStream:
		f, err = st.su.Future(grpc.Requests[any]([]byte("a"), []byte(req)), opts...)
	case bidi:
		it, err = st.ss.Call(grpc.Requests[any]([]byte("a"), []byte(req)), opts...)
	}
	return func() outcome {
		switch {
		case err != nil:
			return end(err)
		case f != nil:
			_, err := f.Result()
			if err == nil {
				o.msgs = 1
			}
			return end(err)
		default:
			return end(drain(it, &o))
		}
	}
}

// goCall runs call on its own goroutine; the outcome arrives on out.
func goCall(out chan<- outcome, st stubs, sh shape, req string, opts ...grpc.CallOption) {
	go func() { out <- call(st, sh, req, opts...) }()
}

// collect receives n outcomes; an RPC that has not ended within d is a hang.
func collect(t *testing.T, out <-chan outcome, n int, d time.Duration) []outcome {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	var got []outcome
	for len(got) < n {
		select {
		case o := <-out:
			got = append(got, o)
		case <-timer.C:
			hang(t, "only %d of %d RPCs ended within %v", len(got), n, d)
		}
	}
	return got
}

// mustOK runs one RPC of every shape and requires OK.
func mustOK(t *testing.T, st stubs, opts ...grpc.CallOption) {
	t.Helper()
	for _, sh := range shapes {
		o := call(st, sh, "n:2", append([]grpc.CallOption{grpc.WithTimeout(rpcTimeout)}, opts...)...)
		if o.code != grpc.StatusCodeOK {
			t.Fatalf("%v RPC failed: %v (%v)", sh, o, o.err)
		}
	}
}

// tally counts outcomes by shape and code.
type tally struct {
	mu sync.Mutex
	m  map[string]int
}

func (tl *tally) add(o outcome) { tl.addKey(o.shape.String(), codeName(o.code)) }

// addDetailed counts o by shape, code and, for a failure, details (ports
// elided, so that a figure does not split by server instance; long ones
// shortened in the middle).
func (tl *tally) addDetailed(o outcome) {
	key := codeName(o.code)
	if o.code != grpc.StatusCodeOK {
		d := portRE.ReplaceAllString(o.details, "127.0.0.1:PORT")
		if len(d) > 60 { // the core's connect errors run to 130 characters
			d = d[:28] + "…" + d[len(d)-28:]
		}
		key += fmt.Sprintf("%q", d)
	}
	tl.addKey(o.shape.String(), key)
}

var portRE = regexp.MustCompile(`127\.0\.0\.1:[0-9]+`)

func (tl *tally) addKey(group, key string) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if tl.m == nil {
		tl.m = map[string]int{}
	}
	tl.m[group+"\x00"+key]++
}

// String prints "group{KEY=n KEY=n} group{...}", sorted.
func (tl *tally) String() string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	groups := map[string][]string{}
	var names []string
	for k, n := range tl.m {
		g, key, _ := strings.Cut(k, "\x00")
		if _, ok := groups[g]; !ok {
			names = append(names, g)
		}
		groups[g] = append(groups[g], fmt.Sprintf("%s=%d", key, n))
	}
	sort.Strings(names)
	var b strings.Builder
	for i, g := range names {
		sort.Strings(groups[g])
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s{%s}", g, strings.Join(groups[g], " "))
	}
	return b.String()
}

// ---- process resources ----

// snap is this process's resources at one moment.
type snap struct {
	fds, goroutines, threads int
	live                     cgo.Live
}

func take() snap {
	return snap{fds: countFDs(), goroutines: runtime.NumGoroutine(), threads: countThreads(), live: core.Live()}
}

func (s snap) String() string {
	l := s.live
	return fmt.Sprintf("fds=%d goroutines=%d threads=%d C{channels=%d calls=%d servers=%d batches=%d creds=%d cqs=%d}",
		s.fds, s.goroutines, s.threads, l.Channels, l.Calls, l.Servers, l.Batches, l.Credentials, l.CQs)
}

func countFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

func countThreads() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return -1
}

// settle polls until ok holds or d passes, and returns the last snapshot
// and whether ok held. Releases are asynchronous (core executor threads,
// pollers, delivery goroutines), so a fixed sleep would be either slow or
// flaky.
func settle(d time.Duration, ok func(snap) bool) (snap, bool) {
	deadline := time.Now().Add(d)
	for {
		s := take()
		if ok(s) {
			return s, true
		}
		if time.Now().After(deadline) {
			return s, false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// backToBase is the usual settle condition: no more fds, goroutines or C
// objects than at the baseline. Threads are compared separately: the Go
// runtime never destroys an OS thread it created, so they can only be
// bounded, not returned.
func backToBase(base snap) func(snap) bool {
	return func(s snap) bool {
		return s.fds <= base.fds && s.goroutines <= base.goroutines && s.live == base.live
	}
}

// sampler records the peak of each resource every 10 ms until stopped.
func sampler() (stop func() snap) {
	var peak snap
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			s := take()
			peak.fds, peak.goroutines, peak.threads = max(peak.fds, s.fds), max(peak.goroutines, s.goroutines), max(peak.threads, s.threads)
			l := &peak.live
			l.Channels, l.Calls, l.Servers = max(l.Channels, s.live.Channels), max(l.Calls, s.live.Calls), max(l.Servers, s.live.Servers)
			l.Batches, l.Credentials, l.CQs = max(l.Batches, s.live.Batches), max(l.Credentials, s.live.Credentials), max(l.CQs, s.live.CQs)
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return func() snap {
		close(done)
		<-finished
		return peak
	}
}

// quiet waits until no client or server call is alive, so a baseline is
// not taken in the middle of a release.
func quiet(t *testing.T) snap {
	t.Helper()
	s, ok := settle(10*time.Second, func(s snap) bool { return s.live.Calls == 0 })
	if !ok {
		t.Fatalf("calls still alive before the baseline: %v", s)
	}
	// Give goroutines finishing previous work (delivery, completions) a moment.
	time.Sleep(50 * time.Millisecond)
	return take()
}

// allStacks is every goroutine's stack, the evidence for a leak or hang.
func allStacks() string {
	buf := make([]byte, 16<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

// hang fails the test for a hang, with the stacks of every goroutine (the
// evidence of where it is stuck) in the log.
func hang(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Fatalf("HANG: "+format+"\ngoroutines:\n%s", append(args, allStacks())...)
}

// watchdog aborts the test binary with every goroutine's stack if the
// test is still running after limit: a hang is reported at once, with
// the evidence, instead of at go test's 10-minute timeout.
func watchdog(t *testing.T, limit time.Duration) {
	name := t.Name()
	timer := time.AfterFunc(limit, func() {
		buf := make([]byte, 16<<20)
		buf = buf[:runtime.Stack(buf, true)]
		fmt.Fprintf(os.Stderr, "FAULT watchdog: %s still running after %v (HANG); all goroutines:\n%s\n", name, limit, buf)
		panic("FAULT watchdog: " + name + " hung")
	})
	t.Cleanup(func() { timer.Stop() })
}

// ---- the child server process ----

// runChild serves faults.Svc on addr and prints "PORT <n>", then one
// "HOLD <shape> <id>" line per holding handler; "ERR <msg>" if it cannot
// listen. It exits when its stdin closes (the test ended or died).
func runChild(addr string) {
	var mu sync.Mutex
	sv := &service{onHold: func(shape, id string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Printf("HOLD %s %s\n", shape, id)
	}}
	s, err := grpc.NewServer(nil, grpc.WithHandlers(sv.handlers()...))
	if err != nil {
		fmt.Printf("ERR %v\n", err)
		os.Exit(1)
	}
	port, err := s.AddInsecurePort(addr)
	if err != nil {
		fmt.Printf("ERR %v\n", err)
		os.Exit(1)
	}
	if err := s.Start(); err != nil {
		fmt.Printf("ERR %v\n", err)
		os.Exit(1)
	}
	mu.Lock()
	fmt.Printf("PORT %d\n", port)
	mu.Unlock()
	io.Copy(io.Discard, os.Stdin)
	s.Stop(grpc.NoGrace)
	os.Exit(0)
}

// child is a server process running runChild.
type child struct {
	cmd   *exec.Cmd
	addr  string
	holds chan string // "shape id" of each holding handler
	once  sync.Once
}

// kill SIGKILLs the child and reaps it. Idempotent.
func (c *child) kill() {
	c.once.Do(func() {
		c.cmd.Process.Kill()
		c.cmd.Wait()
	})
}

// startChild starts a server process listening on addr ("127.0.0.1:0" for
// a kernel-chosen port). It is killed when the test ends.
func startChild(t *testing.T, addr string) (*child, error) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"="+addr)
	cmd.Stderr = os.Stderr
	if _, err := cmd.StdinPipe(); err != nil { // closed by Wait; the child exits on EOF
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, holds: make(chan string, 4096)}
	t.Cleanup(c.kill)
	first := make(chan string, 1)
	go func() {
		r := bufio.NewScanner(stdout)
		firstSent := false
		for r.Scan() {
			line := r.Text()
			if !firstSent {
				first <- line
				firstSent = true
				continue
			}
			if s, ok := strings.CutPrefix(line, "HOLD "); ok {
				select {
				case c.holds <- s:
				default:
				}
			}
		}
		if !firstSent {
			first <- "EOF"
		}
		close(c.holds)
	}()
	var line string
	select {
	case line = <-first:
	case <-time.After(30 * time.Second):
		c.kill()
		return nil, errors.New("child server did not report its port within 30s")
	}
	port, ok := strings.CutPrefix(line, "PORT ")
	if !ok {
		c.kill()
		return nil, fmt.Errorf("child server said %q", line)
	}
	c.addr = "127.0.0.1:" + port
	return c, nil
}

// startChildRetry retries startChild for a while: rebinding the port of a
// killed server can fail briefly if the kernel lent the port to another
// socket meanwhile.
func startChildRetry(t *testing.T, addr string) *child {
	t.Helper()
	var last error
	for i := 0; i < 50; i++ {
		c, err := startChild(t, addr)
		if err == nil {
			return c
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("could not start a server on %s: %v", addr, last)
	return nil
}

// waitHolds reads n HOLD lines from a child within d.
func (c *child) waitHolds(n int, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for i := 0; i < n; i++ {
		select {
		case _, ok := <-c.holds:
			if !ok {
				return false
			}
		case <-timer.C:
			return false
		}
	}
	return true
}
