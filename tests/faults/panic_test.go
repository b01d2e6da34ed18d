package faults

import (
	"context"
	"fmt"
	"iter"
	"log/slog"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

// logCapture is a slog handler keeping every record logged through it.
type logCapture struct {
	mu   sync.Mutex
	recs []logRecord
}

type logRecord struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

// captureHandler is logCapture with the attributes of Logger.With calls.
type captureHandler struct {
	c     *logCapture
	attrs []slog.Attr
}

func (h captureHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h captureHandler) WithGroup(string) slog.Handler            { return h }
func (h captureHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return captureHandler{h.c, append(h.attrs[:len(h.attrs):len(h.attrs)], as...)}
}

func (h captureHandler) Handle(_ context.Context, r slog.Record) error {
	rec := logRecord{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	for _, a := range h.attrs {
		rec.attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.String()
		return true
	})
	h.c.mu.Lock()
	h.c.recs = append(h.c.recs, rec)
	h.c.mu.Unlock()
	return nil
}

// errorsMentioning counts the ERROR records whose message or attributes
// contain s.
func (c *logCapture) errorsMentioning(s string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, r := range c.recs {
		if r.level < slog.LevelError {
			continue
		}
		hit := strings.Contains(r.msg, s)
		for _, v := range r.attrs {
			hit = hit || strings.Contains(v, s)
		}
		if hit {
			n++
		}
	}
	return n
}

// probes tracks, per panic value, the callback registered after the
// panicking one on the same object: it must still run.
type probes struct{ m sync.Map } // panic value -> *atomic.Int64

func (p *probes) add(value string) *atomic.Int64 {
	n, _ := p.m.LoadOrStore(value, new(atomic.Int64))
	return n.(*atomic.Int64)
}

func (p *probes) values() []string {
	var out []string
	p.m.Range(func(k, _ any) bool { out = append(out, k.(string)); return true })
	sort.Strings(out)
	return out
}

func (p *probes) ran(value string) int64 {
	n, ok := p.m.Load(value)
	if !ok {
		return 0
	}
	return n.(*atomic.Int64).Load()
}

// boom is the panic value of one kind of callback on one path; "faults
// boom" prefixes them all so the log can be searched.
func boom(kind, path string) string { return "faults boom " + kind + "/" + path }

// noPropagation runs fn (a Cancel, Close or AddDoneCallback that may run
// callbacks on this goroutine) and reports a panic that came out of it.
func noPropagation(t *testing.T, what string, fn func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: a callback's panic propagated to the caller: %v", what, r)
		}
	}()
	fn()
}

// TestPanickingCallbacks registers, on every kind of callback the API
// takes, a callback that panics followed by one that counts, then ends
// the RPC (or changes the channel's state) in every way that runs them:
// normal completion, Cancel, deadline, Channel.Close, a client cancel
// seen by the server. Each panic must be recovered and logged at ERROR
// through grpc.SetLogger's logger with the panic value, the counting
// callback must still run, no panic may reach the goroutine that called
// Cancel/Close, the process lives on and the server keeps serving.
func TestPanickingCallbacks(t *testing.T) {
	leakcheck.Check(t)
	watchdog(t, 2*time.Minute)
	logs := &logCapture{}
	grpc.SetLogger(slog.New(captureHandler{c: logs}))
	t.Cleanup(func() { grpc.SetLogger(nil) })

	var pr probes
	registered := make(chan string, 64) // server callbacks registered, by panic value
	// Server-side: every shape registers a panicking ServicerContext
	// callback and a counting one; "hold" requests wait for the client to
	// cancel, so the callbacks run on the server's cancellation path too.
	serverCallbacks := func(ctx *grpc.ServicerContext, sh shape, req any) {
		path := "ok"
		if _, held := holdID(req); held {
			path = "client-cancel"
		}
		v := boom("ServicerContext.AddCallback/"+sh.String(), path)
		n := pr.add(v)
		ctx.AddCallback(func() { panic(v) })
		ctx.AddCallback(func() { n.Add(1) })
		registered <- v
		if path == "client-cancel" {
			<-ctx.Context().Done()
		}
	}
	cbSvc := grpc.MethodHandlersGenericHandler("faults.Callbacks", map[string]*grpc.RpcMethodHandler{
		"Unary": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			serverCallbacks(ctx, unary, req)
			return req, nil
		}),
		"ServerStream": grpc.UnaryStreamRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) iter.Seq2[any, error] {
			return func(yield func(any, error) bool) {
				serverCallbacks(ctx, serverStream, req)
				yield(req, nil)
			}
		}),
		"ClientStream": grpc.StreamUnaryRpcMethodHandler(func(reqs iter.Seq2[any, error], ctx *grpc.ServicerContext) (any, error) {
			var last any
			for r, err := range reqs {
				if err != nil {
					return nil, err
				}
				last = r
			}
			serverCallbacks(ctx, clientStream, last)
			return last, nil
		}),
		"Bidi": grpc.StreamStreamRpcMethodHandler(func(reqs iter.Seq2[any, error], ctx *grpc.ServicerContext) iter.Seq2[any, error] {
			return func(yield func(any, error) bool) {
				for r, err := range reqs {
					if err != nil {
						return
					}
					if string(r.([]byte)) == "a" { // call's first request
						continue
					}
					serverCallbacks(ctx, bidi, r)
					yield(r, nil)
					return
				}
			}
		}),
	})
	sv := &service{}
	_, addr := serve(t, sv, grpc.WithHandlers(cbSvc))
	ch := dial(t, addr)
	st := newStubs(ch)
	cb := stubs{ch.UnaryUnary("/faults.Callbacks/Unary"), ch.UnaryStream("/faults.Callbacks/ServerStream"),
		ch.StreamUnary("/faults.Callbacks/ClientStream"), ch.StreamStream("/faults.Callbacks/Bidi")}
	mustOK(t, st)
	opts := []grpc.CallOption{grpc.WithTimeout(rpcTimeout)}
	var seq atomic.Int64
	nextID := func() string { return fmt.Sprintf("cb%d", seq.Add(1)) }

	// How each client-side path ends an RPC started with "hold:<id>" on
	// channel c; the RPC is awaited by the caller.
	type ender func(t *testing.T, c *grpc.Channel, id string, call grpc.RpcContext)
	paths := map[string]ender{
		"ok": func(t *testing.T, _ *grpc.Channel, id string, _ grpc.RpcContext) { sv.release(id) },
		"cancel": func(t *testing.T, _ *grpc.Channel, _ string, c grpc.RpcContext) {
			noPropagation(t, "Cancel", func() { c.Cancel() })
		},
		"close": func(t *testing.T, c *grpc.Channel, _ string, _ grpc.RpcContext) {
			noPropagation(t, "Close", func() { c.Close() })
		},
		"deadline": func(*testing.T, *grpc.Channel, string, grpc.RpcContext) {
			// Started with a short timeout: nothing to do but wait.
		},
	}
	pathOpts := func(path string) []grpc.CallOption {
		if path == "deadline" {
			return []grpc.CallOption{grpc.WithTimeout(time.Second)}
		}
		return opts
	}
	var reg holdRegistry
	sv.onHold = reg.notify
	// Each path gets its own channel, so "close" only ends its own RPC.
	newChannel := func(t *testing.T) (*grpc.Channel, stubs) {
		c := dial(t, addr)
		return c, newStubs(c)
	}
	pathNames := []string{"ok", "cancel", "deadline", "close"}

	t.Run("Future.AddDoneCallback", func(t *testing.T) {
		for _, sh := range []shape{unary, clientStream} {
			for _, path := range pathNames {
				c, s := newChannel(t)
				id := nextID()
				held := reg.expect(id)
				var f grpc.CallFuture
				var err error
				if sh == unary {
					f, err = s.u.Future([]byte("hold:"+id), pathOpts(path)...)
				} else {
					f, err = s.su.Future(grpc.Requests[any]([]byte("hold:"+id)), pathOpts(path)...)
				}
				if err != nil {
					t.Fatal(err)
				}
				v := boom("Future.AddDoneCallback/"+sh.String(), path)
				n := pr.add(v)
				f.AddDoneCallback(func(grpc.Future) { panic(v) })
				f.AddDoneCallback(func(grpc.Future) { n.Add(1) })
				if !held(rpcTimeout) && path != "deadline" { // (a deadline may come first)
					t.Fatalf("%v %s: the RPC never reached the server", sh, path)
				}
				paths[path](t, c, id, f)
				f.Exception(rpcTimeout)
				if path == "ok" {
					// On a finished future the callback runs at once, on
					// this goroutine: logged too, not thrown at the caller.
					late := boom("Future.AddDoneCallback/"+sh.String(), "already-done")
					nl := pr.add(late)
					noPropagation(t, "AddDoneCallback on a done future", func() {
						f.AddDoneCallback(func(grpc.Future) { panic(late) })
					})
					f.AddDoneCallback(func(grpc.Future) { nl.Add(1) })
				}
			}
		}
	})

	t.Run("Call.AddCallback", func(t *testing.T) {
		for _, sh := range []shape{unary, clientStream} {
			for _, path := range pathNames {
				c, s := newChannel(t)
				id := nextID()
				held := reg.expect(id)
				var f grpc.CallFuture
				var err error
				if sh == unary {
					f, err = s.u.Future([]byte("hold:"+id), pathOpts(path)...)
				} else {
					f, err = s.su.Future(grpc.Requests[any]([]byte("hold:"+id)), pathOpts(path)...)
				}
				if err != nil {
					t.Fatal(err)
				}
				v := boom("Call.AddCallback/"+sh.String(), path)
				n := pr.add(v)
				if !f.AddCallback(func() { panic(v) }) || !f.AddCallback(func() { n.Add(1) }) {
					t.Fatalf("%v %s: AddCallback on an RPC in flight returned false", sh, path)
				}
				if !held(rpcTimeout) && path != "deadline" { // (a deadline may come first)
					t.Fatalf("%v %s: the RPC never reached the server", sh, path)
				}
				paths[path](t, c, id, f)
				f.Exception(rpcTimeout)
			}
		}
		// WithCall returns a terminated Call: AddCallback refuses the
		// callback (grpcio returns False) and never runs it.
		_, c, err := st.u.WithCall([]byte("x"), opts...)
		if err != nil {
			t.Fatal(err)
		}
		noPropagation(t, "AddCallback on WithCall's Call", func() {
			if c.AddCallback(func() { panic(boom("Call.AddCallback", "with-call-never-runs")) }) {
				t.Error("AddCallback on the terminated Call of WithCall returned true")
			}
		})
	})

	t.Run("CallIterator.AddCallback", func(t *testing.T) {
		for _, sh := range []shape{serverStream, bidi} {
			for _, path := range pathNames {
				c, s := newChannel(t)
				id := nextID()
				held := reg.expect(id)
				var it grpc.CallIterator
				var err error
				if sh == serverStream {
					it, err = s.us.Call([]byte("hold:"+id), pathOpts(path)...)
				} else {
					it, err = s.ss.Call(grpc.Requests[any]([]byte("hold:"+id)), pathOpts(path)...)
				}
				if err != nil {
					t.Fatal(err)
				}
				v := boom("CallIterator.AddCallback/"+sh.String(), path)
				n := pr.add(v)
				if !it.AddCallback(func() { panic(v) }) || !it.AddCallback(func() { n.Add(1) }) {
					t.Fatalf("%v %s: AddCallback on an RPC in flight returned false", sh, path)
				}
				if !held(rpcTimeout) && path != "deadline" { // (a deadline may come first)
					t.Fatalf("%v %s: the RPC never reached the server", sh, path)
				}
				paths[path](t, c, id, it)
				var o outcome
				drain(it, &o)
			}
		}
	})

	t.Run("ServicerContext.AddCallback", func(t *testing.T) {
		for _, sh := range shapes {
			if o := call(cb, sh, "x", opts...); o.code != grpc.StatusCodeOK {
				t.Errorf("%v: %v", sh, o)
			}
			<-registered
			// Held until the client cancels: the callbacks run when the
			// server sees the cancellation.
			ctx, cancel := context.WithCancel(context.Background())
			out := make(chan outcome, 1)
			goCall(out, cb, sh, "hold:", append(opts, grpc.WithContext(ctx))...)
			select {
			case <-registered:
			case <-time.After(rpcTimeout):
				t.Fatalf("%v: the held RPC never reached its handler", sh)
			}
			cancel()
			if o := collect(t, out, 1, rpcTimeout)[0]; o.code != grpc.StatusCodeCancelled {
				t.Errorf("%v cancelled by the client: %v; want CANCELLED", sh, o)
			}
		}
	})

	t.Run("Channel.Subscribe", func(t *testing.T) {
		c, s := newChannel(t)
		v := boom("Channel.Subscribe", "every-state")
		n := pr.add(v)
		var mu sync.Mutex
		var states []grpc.ChannelConnectivity
		c.Subscribe(func(grpc.ChannelConnectivity) { panic(v) }, true)
		c.Subscribe(func(s grpc.ChannelConnectivity) {
			mu.Lock()
			states = append(states, s)
			mu.Unlock()
			n.Add(1)
		}, false)
		if o := call(s, unary, "x", opts...); o.code != grpc.StatusCodeOK {
			t.Fatalf("RPC: %v", o)
		}
		noPropagation(t, "Close", func() { c.Close() })
		seen := func() []grpc.ChannelConnectivity {
			mu.Lock()
			defer mu.Unlock()
			return append([]grpc.ChannelConnectivity(nil), states...)
		}
		if _, ok := settle(rpcTimeout, func(snap) bool {
			st := seen()
			return len(st) > 0 && st[len(st)-1] == grpc.ChannelConnectivityShutdown
		}); !ok {
			t.Errorf("the subscription after the panicking one saw %v; want it to end with SHUTDOWN", seen())
		}
		t.Logf("states seen by the subscription after the panicking one: %v", seen())
	})

	t.Run("ChannelReadyFuture.AddDoneCallback", func(t *testing.T) {
		// Ready: the callbacks run when the channel connects.
		c, _ := newChannel(t)
		f := grpc.ChannelReadyFuture(c)
		v := boom("ChannelReadyFuture.AddDoneCallback", "ready")
		n := pr.add(v)
		f.AddDoneCallback(func(grpc.Future) { panic(v) })
		f.AddDoneCallback(func(grpc.Future) { n.Add(1) })
		if _, err := f.Result(rpcTimeout); err != nil {
			t.Fatalf("ChannelReadyFuture: %v", err)
		}
		// Cancelled: nobody listens on the port, the future never
		// matures; Cancel runs the callbacks on this goroutine.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		dead := l.Addr().String()
		l.Close()
		f2 := grpc.ChannelReadyFuture(dial(t, dead))
		v2 := boom("ChannelReadyFuture.AddDoneCallback", "cancel")
		n2 := pr.add(v2)
		f2.AddDoneCallback(func(grpc.Future) { panic(v2) })
		f2.AddDoneCallback(func(grpc.Future) { n2.Add(1) })
		noPropagation(t, "Cancel of a ChannelReadyFuture", func() { f2.Cancel() })
	})

	// Every panic logged, every follow-up callback run.
	var missingLog, missingRun []string
	for _, v := range pr.values() {
		if _, ok := settle(rpcTimeout, func(snap) bool { return pr.ran(v) > 0 && logs.errorsMentioning(v) > 0 }); !ok {
			if pr.ran(v) == 0 {
				missingRun = append(missingRun, v)
			}
			if logs.errorsMentioning(v) == 0 {
				missingLog = append(missingLog, v)
			}
		}
	}
	if n := logs.errorsMentioning(boom("Call.AddCallback", "with-call-never-runs")); n > 0 {
		t.Errorf("a callback refused by AddCallback ran (%d ERROR records of its panic)", n)
	}
	// The server keeps serving, on the channel that saw every panic.
	mustOK(t, st)
	// Per kind: path(ERROR records / runs of the callback after the panicking one).
	perKind := map[string][]string{}
	var kinds []string
	for _, v := range pr.values() {
		kind, path, _ := strings.Cut(strings.TrimPrefix(v, "faults boom "), "/")
		if perKind[kind] == nil {
			kinds = append(kinds, kind)
		}
		perKind[kind] = append(perKind[kind], fmt.Sprintf("%s(%d/%d)", path, logs.errorsMentioning(v), pr.ran(v)))
	}
	var summary strings.Builder
	for _, k := range kinds {
		fmt.Fprintf(&summary, "%s{%s} ", k, strings.Join(perKind[k], " "))
	}
	t.Logf("FAULT panicking-callbacks: %d panicking callbacks (kind/path), process alive, server serving; "+
		"ERROR records mentioning a panic: %d; per kind, path(ERROR records/follow-up runs): %s; not logged: %v; follow-up not run: %v",
		len(pr.values()), logs.errorsMentioning("faults boom"), strings.TrimSpace(summary.String()), missingLog, missingRun)
	for _, v := range missingLog {
		t.Errorf("no ERROR record mentions the panic %q", v)
	}
	for _, v := range missingRun {
		t.Errorf("the callback registered after the one panicking with %q did not run", v)
	}
}
