package grpc_test

import (
	"errors"
	"fmt"
	"iter"
	"strings"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

// modeServer serves the four shapes; the "mode" metadata picks what the
// handler does: ok, error (set_code NOT_FOUND after one response), hang
// (wait for the RPC to end), abort (PERMISSION_DENIED).
func modeServer(t *testing.T, entered chan<- string) []grpc.GenericRpcHandler {
	mode := func(ctx *grpc.ServicerContext) string {
		if m := ctx.InvocationMetadata().Get("mode"); len(m) > 0 {
			return m[0]
		}
		return "ok"
	}
	// act runs the mode's behaviour; false means: stop producing.
	act := func(ctx *grpc.ServicerContext, shape string) bool {
		switch mode(ctx) {
		case "hang":
			entered <- shape
			<-ctx.Context().Done()
			return false
		case "abort":
			ctx.Abort(grpc.StatusCodePermissionDenied, "no")
		case "error":
			ctx.SetCode(grpc.StatusCodeNotFound)
			ctx.SetDetails("nf")
		}
		return true
	}
	collect := func(reqs iter.Seq2[any, error]) ([]string, error) {
		var got []string
		for r, err := range reqs {
			if err != nil {
				return got, err
			}
			got = append(got, string(r.([]byte)))
		}
		return got, nil
	}
	return service("test.Shapes", map[string]*grpc.RpcMethodHandler{
		"UU": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			act(ctx, "UU")
			return req, nil
		}),
		"US": grpc.UnaryStreamRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) iter.Seq2[any, error] {
			return func(yield func(any, error) bool) {
				if !yield(req, nil) || !act(ctx, "US") || mode(ctx) == "error" {
					return
				}
				for i := 1; i < 3; i++ {
					if !yield([]byte(fmt.Sprintf("%s-%d", req, i)), nil) {
						return
					}
				}
			}
		}),
		"SU": grpc.StreamUnaryRpcMethodHandler(func(reqs iter.Seq2[any, error], ctx *grpc.ServicerContext) (any, error) {
			got, err := collect(reqs)
			if err != nil {
				return nil, err
			}
			act(ctx, "SU")
			return []byte(strings.Join(got, "+")), nil
		}),
		"SS": grpc.StreamStreamRpcMethodHandler(func(reqs iter.Seq2[any, error], ctx *grpc.ServicerContext) iter.Seq2[any, error] {
			return func(yield func(any, error) bool) {
				first := true
				for r, err := range reqs {
					if err != nil {
						yield(nil, err)
						return
					}
					if !yield(r, nil) {
						return
					}
					if first {
						first = false
						if !act(ctx, "SS") || mode(ctx) == "error" {
							return
						}
					}
				}
			}
		}),
	})
}

// outcome is how an RPC ended, seen from the client.
type outcome struct {
	got     []string
	code    grpc.StatusCode
	details string
}

func (o outcome) String() string { return fmt.Sprintf("%v %v %q", o.got, o.code, o.details) }

// invoke runs one RPC of the shape. With cancelOn, it cancels the RPC once
// the handler reported in.
func invoke(t *testing.T, ch *grpc.Channel, shape string, opts []grpc.CallOption, cancelOn <-chan string) outcome {
	t.Helper()
	reqs := grpc.Requests[any]([]byte("a"), []byte("b"), []byte("c"))
	var it grpc.CallIterator
	var fut grpc.CallFuture
	var err error
	switch shape {
	case "UU":
		fut, err = ch.UnaryUnary("/test.Shapes/UU").Future([]byte("a"), opts...)
	case "SU":
		fut, err = ch.StreamUnary("/test.Shapes/SU").Future(reqs, opts...)
	case "US":
		it, err = ch.UnaryStream("/test.Shapes/US").Call([]byte("a"), opts...)
	case "SS":
		it, err = ch.StreamStream("/test.Shapes/SS").Call(reqs, opts...)
	}
	if err != nil {
		t.Fatalf("%s: %v", shape, err)
	}
	if cancelOn != nil {
		go func() {
			<-cancelOn
			if fut != nil {
				fut.Cancel()
			} else {
				it.Cancel()
			}
		}()
	}
	if fut != nil {
		r, err := fut.Result(testTimeout)
		var rerr *grpc.RpcError
		switch {
		case err == nil:
			return outcome{[]string{string(r.([]byte))}, fut.Code(), fut.Details()}
		case errors.As(err, &grpc.FutureCancelledError{}), errors.As(err, &rerr):
			return outcome{nil, fut.Code(), fut.Details()}
		}
		t.Fatalf("%s: %v", shape, err)
	}
	var o outcome
	for r, err := range it.All() {
		if err != nil {
			var rerr *grpc.RpcError
			if !errors.As(err, &rerr) {
				t.Fatalf("%s: iterator error %v is not an RpcError", shape, err)
			}
			if rerr.Code() != it.Code() {
				t.Fatalf("%s: iterator error %v, Call code %v", shape, rerr.Code(), it.Code())
			}
			break
		}
		o.got = append(o.got, string(r.([]byte)))
	}
	o.code, o.details = it.Code(), it.Details()
	return o
}

func TestFourShapesTable(t *testing.T) {
	leakcheck.Check(t)
	entered := make(chan string, 8)
	_, target := serve(t, nil, modeServer(t, entered))
	ch := dial(t, target)
	okWant := map[string]string{"UU": "a", "US": "a,a-1,a-2", "SU": "a+b+c", "SS": "a,b,c"}
	for _, shape := range []string{"UU", "US", "SU", "SS"} {
		md := func(mode string) grpc.CallOption { return grpc.WithMetadata(grpc.Pairs("mode", mode)) }
		cases := []struct {
			name     string
			opts     []grpc.CallOption
			cancelOn <-chan string
			code     grpc.StatusCode
			details  string
			got      string
		}{
			{"ok", nil, nil, grpc.StatusCodeOK, "", okWant[shape]},
			{"error status", []grpc.CallOption{md("error")}, nil, grpc.StatusCodeNotFound, "nf", ""},
			{"server abort", []grpc.CallOption{md("abort")}, nil, grpc.StatusCodePermissionDenied, "no", ""},
			{"deadline", []grpc.CallOption{md("hang"), grpc.WithTimeout(200 * time.Millisecond)}, nil,
				grpc.StatusCodeDeadlineExceeded, "Deadline Exceeded", ""},
			{"cancel by client", []grpc.CallOption{md("hang")}, entered,
				grpc.StatusCodeCancelled, "Locally cancelled by application!", ""},
		}
		for _, c := range cases {
			t.Run(shape+"/"+c.name, func(t *testing.T) {
				opts := append([]grpc.CallOption{grpc.WithTimeout(testTimeout)}, c.opts...)
				o := invoke(t, ch, shape, opts, c.cancelOn)
				if o.code != c.code || o.details != c.details {
					t.Fatalf("ended with %v, want %v %q", o, c.code, c.details)
				}
				if c.code == grpc.StatusCodeOK && strings.Join(o.got, ",") != c.got {
					t.Fatalf("responses %v, want %s", o.got, c.got)
				}
				if c.name == "deadline" {
					<-entered // the handler got there before the deadline
				}
			})
		}
	}
}
