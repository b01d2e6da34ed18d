package grpc_test

import (
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

type orderLog struct {
	mu    sync.Mutex
	names []string
}

func (l *orderLog) add(n string) {
	l.mu.Lock()
	l.names = append(l.names, n)
	l.mu.Unlock()
}

func (l *orderLog) take() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := strings.Join(l.names, ",")
	l.names = nil
	return s
}

// clientIC implements all four client interceptor kinds with one hook:
// before(details) may change the details; around(call) decides what to do
// with the continuation.
type clientIC struct {
	name string
	log  *orderLog
	// mode: "" pass through with x-trace, "retry", "short", "panic", "panic-after"
	mode string
}

func (c *clientIC) details(d *grpc.ClientCallDetails) *grpc.ClientCallDetails {
	c.log.add(c.name)
	if c.mode == "panic" {
		panic("interceptor " + c.name + " broke")
	}
	d2 := *d
	d2.Metadata = append(append(grpc.Metadata(nil), d.Metadata...), grpc.Metadatum{Key: "x-trace", Value: c.name})
	return &d2
}

func (c *clientIC) InterceptUnaryUnary(cont grpc.UnaryUnaryContinuation, d *grpc.ClientCallDetails, req any) (grpc.CallFuture, error) {
	d = c.details(d)
	switch c.mode {
	case "short":
		return grpc.CompletedCallFuture([]byte("cached"), grpc.Status{Code: grpc.StatusCodeOK}), nil
	case "retry":
		f, err := cont(d, req)
		if err == nil && f.Code() == grpc.StatusCodeUnavailable {
			return cont(d, req)
		}
		return f, err
	case "panic-after":
		cont(d, req)
		panic("after the call started")
	}
	return cont(d, req)
}

func (c *clientIC) InterceptStreamUnary(cont grpc.StreamUnaryContinuation, d *grpc.ClientCallDetails, reqs iter.Seq2[any, error]) (grpc.CallFuture, error) {
	d = c.details(d)
	switch c.mode {
	case "short":
		return grpc.CompletedCallFuture([]byte("cached"), grpc.Status{Code: grpc.StatusCodeOK}), nil
	case "retry": // grpc.Requests iterators can be ranged again
		f, err := cont(d, reqs)
		if err == nil && f.Code() == grpc.StatusCodeUnavailable {
			return cont(d, reqs)
		}
		return f, err
	case "panic-after":
		cont(d, reqs)
		panic("after the call started")
	}
	return cont(d, reqs)
}

func (c *clientIC) InterceptUnaryStream(cont grpc.UnaryStreamContinuation, d *grpc.ClientCallDetails, req any) (grpc.CallIterator, error) {
	d = c.details(d)
	return c.streamResponses(func() (grpc.CallIterator, error) { return cont(d, req) })
}

func (c *clientIC) InterceptStreamStream(cont grpc.StreamStreamContinuation, d *grpc.ClientCallDetails, reqs iter.Seq2[any, error]) (grpc.CallIterator, error) {
	d = c.details(d)
	return c.streamResponses(func() (grpc.CallIterator, error) { return cont(d, reqs) })
}

func (c *clientIC) streamResponses(cont func() (grpc.CallIterator, error)) (grpc.CallIterator, error) {
	switch c.mode {
	case "short":
		return grpc.CompletedCallIterator([]any{[]byte("cached")}, grpc.Status{Code: grpc.StatusCodeOK}), nil
	case "retry":
		// A stream's status comes after its messages, so peek at the first.
		it, err := cont()
		if err != nil {
			return nil, err
		}
		first, err := it.Next()
		var rerr *grpc.RpcError
		if errors.As(err, &rerr) && rerr.Code() == grpc.StatusCodeUnavailable {
			return cont()
		}
		return &peeked{CallIterator: it, first: first, err: err}, nil
	case "panic-after":
		cont()
		panic("after the call started")
	}
	return cont()
}

// peeked puts back the value a retrying interceptor read.
type peeked struct {
	grpc.CallIterator
	mu    sync.Mutex
	first any
	err   error
	used  bool
}

func (p *peeked) Next() (any, error) {
	p.mu.Lock()
	if !p.used {
		p.used = true
		p.mu.Unlock()
		return p.first, p.err
	}
	p.mu.Unlock()
	return p.CallIterator.Next()
}

func (p *peeked) All() iter.Seq2[any, error] {
	return func(yield func(any, error) bool) {
		for {
			v, err := p.Next()
			if err != nil {
				if err.Error() != "EOF" {
					yield(nil, err)
				}
				return
			}
			if !yield(v, nil) {
				p.Cancel()
				return
			}
		}
	}
}

// denyLike returns a handler of h's shape that aborts with code.
func denyLike(h *grpc.RpcMethodHandler, code grpc.StatusCode, details string) *grpc.RpcMethodHandler {
	abort := func(ctx *grpc.ServicerContext) { ctx.Abort(code, details) }
	switch {
	case h.RequestStreaming && h.ResponseStreaming:
		return grpc.StreamStreamRpcMethodHandler(func(_ iter.Seq2[any, error], ctx *grpc.ServicerContext) iter.Seq2[any, error] {
			abort(ctx)
			return nil
		})
	case h.RequestStreaming:
		return grpc.StreamUnaryRpcMethodHandler(func(_ iter.Seq2[any, error], ctx *grpc.ServicerContext) (any, error) {
			abort(ctx)
			return nil, nil
		})
	case h.ResponseStreaming:
		return grpc.UnaryStreamRpcMethodHandler(func(_ any, ctx *grpc.ServicerContext) iter.Seq2[any, error] {
			abort(ctx)
			return nil
		})
	}
	return grpc.UnaryUnaryRpcMethodHandler(func(_ any, ctx *grpc.ServicerContext) (any, error) {
		abort(ctx)
		return nil, nil
	})
}

func TestInterceptors(t *testing.T) {
	leakcheck.Check(t)
	serverLog := &orderLog{}
	var served atomic.Int64
	var attempts sync.Map // x-attempt key → count
	// Handlers report the metadata they saw in their trailing metadata and
	// fail the first attempt of a key with UNAVAILABLE.
	prologue := func(ctx *grpc.ServicerContext) {
		served.Add(1)
		md := ctx.InvocationMetadata()
		var tr grpc.Metadata
		for _, v := range md.Get("x-trace") {
			tr = append(tr, grpc.Metadatum{Key: "x-seen-trace", Value: v})
		}
		ctx.SetTrailingMetadata(tr)
		if k := md.Get("x-attempt"); len(k) > 0 {
			n, _ := attempts.LoadOrStore(k[0], new(atomic.Int64))
			if n.(*atomic.Int64).Add(1) == 1 {
				ctx.Abort(grpc.StatusCodeUnavailable, "first attempt fails")
			}
		}
	}
	methods := map[string]*grpc.RpcMethodHandler{
		"UU": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			prologue(ctx)
			return req, nil
		}),
		"US": grpc.UnaryStreamRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) iter.Seq2[any, error] {
			prologue(ctx)
			return grpc.Requests(req, req)
		}),
		"SU": grpc.StreamUnaryRpcMethodHandler(func(reqs iter.Seq2[any, error], ctx *grpc.ServicerContext) (any, error) {
			prologue(ctx)
			n := 0
			for range reqs {
				n++
			}
			return []byte(fmt.Sprint(n)), nil
		}),
		"SS": grpc.StreamStreamRpcMethodHandler(func(reqs iter.Seq2[any, error], ctx *grpc.ServicerContext) iter.Seq2[any, error] {
			prologue(ctx)
			return reqs
		}),
	}
	named := func(name string) grpc.ServerInterceptor {
		return grpc.ServerInterceptorFunc(func(cont func(*grpc.HandlerCallDetails) *grpc.RpcMethodHandler, d *grpc.HandlerCallDetails) *grpc.RpcMethodHandler {
			// Only RPCs that ask are logged: a call of an earlier subtest
			// (a client interceptor that panicked after starting it) may
			// reach the server while a later subtest reads the log.
			if len(d.InvocationMetadata.Get("x-log-order")) > 0 {
				serverLog.add(name)
			}
			if len(d.InvocationMetadata.Get("x-server-panic")) > 0 && name == "s2" {
				panic("server interceptor broke")
			}
			h := cont(d)
			if h != nil && len(d.InvocationMetadata.Get("x-deny")) > 0 && name == "s2" {
				return denyLike(h, grpc.StatusCodePermissionDenied, "denied by s2")
			}
			return h
		})
	}
	_, target := serve(t, nil, service("test.I", methods),
		grpc.WithInterceptors(named("s1"), named("s2"), named("s3")))
	base := dial(t, target)

	clientLog := &orderLog{}
	chain := func(modes ...string) *grpc.Channel {
		var ics []any
		for i, m := range modes {
			ics = append(ics, &clientIC{name: fmt.Sprintf("c%d", i+1), log: clientLog, mode: m})
		}
		ch, err := grpc.InterceptChannel(base, ics...)
		if err != nil {
			t.Fatal(err)
		}
		return ch
	}

	// run invokes one shape and returns (responses, code, details, trailing x-seen-trace).
	type result struct {
		got      string
		code     grpc.StatusCode
		details  string
		trailing string
	}
	run := func(ch *grpc.Channel, shape string, opts ...grpc.CallOption) result {
		t.Helper()
		opts = append([]grpc.CallOption{grpc.WithTimeout(testTimeout)}, opts...)
		reqs := grpc.Requests[any]([]byte("a"), []byte("b"))
		var f grpc.CallFuture
		var it grpc.CallIterator
		var err error
		m := "/test.I/" + shape
		switch shape {
		case "UU":
			var c grpc.Call
			var resp any
			resp, c, err = ch.UnaryUnary(m).WithCall([]byte("a"), opts...)
			if c == nil {
				return result{code: rpcCode(err), details: fmt.Sprint(err)}
			}
			got := ""
			if resp != nil {
				got = string(resp.([]byte))
			}
			return result{got, c.Code(), c.Details(), strings.Join(c.TrailingMetadata().Get("x-seen-trace"), ",")}
		case "SU":
			f, err = ch.StreamUnary(m).Future(reqs, opts...)
		case "US":
			it, err = ch.UnaryStream(m).Call([]byte("a"), opts...)
		case "SS":
			it, err = ch.StreamStream(m).Call(reqs, opts...)
		}
		if err != nil {
			return result{code: rpcCode(err), details: err.Error()}
		}
		var r result
		if f != nil {
			if v, err := f.Result(testTimeout); err == nil {
				r.got = string(v.([]byte))
			}
			r.code, r.details = f.Code(), f.Details()
			r.trailing = strings.Join(f.TrailingMetadata().Get("x-seen-trace"), ",")
			return r
		}
		var parts []string
		for v, err := range it.All() {
			if err != nil {
				break
			}
			parts = append(parts, string(v.([]byte)))
		}
		r.got = strings.Join(parts, ",")
		r.code, r.details = it.Code(), it.Details()
		r.trailing = strings.Join(it.TrailingMetadata().Get("x-seen-trace"), ",")
		return r
	}
	okGot := map[string]string{"UU": "a", "US": "a,a", "SU": "2", "SS": "a,b"}

	for _, shape := range []string{"UU", "US", "SU", "SS"} {
		t.Run(shape+"/three in order, metadata injected", func(t *testing.T) {
			clientLog.take()
			serverLog.take()
			r := run(chain("", "", ""), shape, grpc.WithMetadata(grpc.Pairs("x-log-order", "1")))
			if r.code != grpc.StatusCodeOK || r.got != okGot[shape] {
				t.Fatalf("%+v", r)
			}
			if got := clientLog.take(); got != "c1,c2,c3" {
				t.Errorf("client order %s", got)
			}
			if got := serverLog.take(); got != "s1,s2,s3" {
				t.Errorf("server order %s", got)
			}
			if r.trailing != "c1,c2,c3" {
				t.Errorf("server saw x-trace %q, want c1,c2,c3", r.trailing)
			}
		})
		t.Run(shape+"/retry after UNAVAILABLE", func(t *testing.T) {
			before := served.Load()
			r := run(chain("retry"), shape, grpc.WithMetadata(grpc.Pairs("x-attempt", t.Name())))
			if r.code != grpc.StatusCodeOK || r.got != okGot[shape] {
				t.Fatalf("%+v", r)
			}
			if n := served.Load() - before; n != 2 {
				t.Fatalf("%d attempts reached the server, want 2", n)
			}
		})
		t.Run(shape+"/short-circuit never reaches the wire", func(t *testing.T) {
			before := served.Load()
			serverLog.take()
			r := run(chain("", "short"), shape, grpc.WithMetadata(grpc.Pairs("x-log-order", "1")))
			if r.code != grpc.StatusCodeOK || r.got != "cached" {
				t.Fatalf("%+v", r)
			}
			if served.Load() != before || serverLog.take() != "" {
				t.Fatal("a short-circuited RPC reached the server")
			}
		})
		t.Run(shape+"/server interceptor rejects by metadata", func(t *testing.T) {
			r := run(chain(""), shape, grpc.WithMetadata(grpc.Pairs("x-deny", "1")))
			if r.code != grpc.StatusCodePermissionDenied || r.details != "denied by s2" {
				t.Fatalf("%+v", r)
			}
		})
		t.Run(shape+"/panicking client interceptor", func(t *testing.T) {
			for _, mode := range []string{"panic", "panic-after"} {
				r := run(chain("", mode), shape)
				if r.code != grpc.StatusCodeUnknown || !strings.Contains(r.details, "Exception calling interceptor") {
					t.Fatalf("%s: %+v", mode, r)
				}
			}
		})
		t.Run(shape+"/panicking server interceptor", func(t *testing.T) {
			r := run(chain(""), shape, grpc.WithMetadata(grpc.Pairs("x-server-panic", "1")))
			if r.code != grpc.StatusCodeUnknown || r.details != "Error in service handler!" {
				t.Fatalf("%+v", r)
			}
		})
	}
	t.Run("an interceptor of no known kind is a TypeError", func(t *testing.T) {
		_, err := grpc.InterceptChannel(base, struct{}{})
		var te *grpc.TypeError
		if !errors.As(err, &te) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("nested intercept_channel: the outer interceptor runs first", func(t *testing.T) {
		inner, _ := grpc.InterceptChannel(base, &clientIC{name: "inner", log: clientLog})
		outer, _ := grpc.InterceptChannel(inner, &clientIC{name: "outer", log: clientLog})
		clientLog.take()
		if r := run(outer, "UU"); r.code != grpc.StatusCodeOK {
			t.Fatalf("%+v", r)
		}
		if got := clientLog.take(); got != "outer,inner" {
			t.Fatalf("order %s", got)
		}
	})
	t.Run("server interceptor returning nil is UNIMPLEMENTED", func(t *testing.T) {
		none := grpc.ServerInterceptorFunc(func(func(*grpc.HandlerCallDetails) *grpc.RpcMethodHandler, *grpc.HandlerCallDetails) *grpc.RpcMethodHandler {
			return nil
		})
		_, target2 := serve(t, nil, service("test.I", methods), grpc.WithInterceptors(none))
		_, err := dial(t, target2).UnaryUnary("/test.I/UU").Call([]byte("a"), grpc.WithTimeout(testTimeout))
		rpcErr(t, err, grpc.StatusCodeUnimplemented)
	})
}

func rpcCode(err error) grpc.StatusCode {
	var r *grpc.RpcError
	if errors.As(err, &r) {
		return r.Code()
	}
	return grpc.StatusCode(-1)
}
