package grpc

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"

	"github.com/grpcpy/grpcpy/core"
	"github.com/grpcpy/grpcpy/grpc/internal/testhooks"
)

// ChannelOption is one entry of grpcio's options list, a (key, value) pair
// passed to the core unchanged as a channel arg. Value must be a string
// (GRPC_ARG_STRING) or an integer of any Go integer type (GRPC_ARG_INTEGER),
// e.g. grpc.Option("grpc.max_receive_message_length", 1<<20).
type ChannelOption struct {
	Key   string
	Value any
}

// Option makes a ChannelOption as Python writes one, a (key, value) tuple:
// grpc.Option("grpc.max_receive_message_length", 1<<20) for
// ('grpc.max_receive_message_length', 1 << 20). (A ChannelOption{k, v}
// literal works too, but go vet flags unkeyed fields.)
func Option(key string, value any) ChannelOption { return ChannelOption{Key: key, Value: value} }

// userAgent is sent before the core's own ("grpc-c/29.0.0 (linux;
// chttp2)"), as grpcio sends grpc-python/<version>.
var userAgent = "grpcpy/" + Version

// channelArgs is buildArgs for a channel: grpcio's _augment_options adds
// its user agent after the caller's options (a caller's own
// grpc.primary_user_agent then comes first: "foo/1 grpcpy/1.18.0 grpc-c/...").
func channelArgs(options []ChannelOption) (*core.Args, error) {
	opts := make([]ChannelOption, 0, len(options)+1)
	opts = append(opts, options...)
	return buildArgs(append(opts, Option("grpc.primary_user_agent", userAgent)))
}

func buildArgs(options []ChannelOption) (*core.Args, error) {
	a := &core.Args{}
	for _, o := range options {
		if err := checkNoNUL("channel option key", o.Key); err != nil {
			return nil, err
		}
		if sc, ok := o.Value.(ServiceConfig); ok {
			js, err := sc.JSON()
			if err != nil {
				return nil, err
			}
			o.Value = js
		}
		switch v := o.Value.(type) {
		case string:
			if err := checkNoNUL("channel option "+o.Key, v); err != nil {
				return nil, err
			}
			if o.Key == "grpc.service_config" {
				if err := checkServiceConfig(v); err != nil {
					return nil, err
				}
			}
			a.String(o.Key, v)
		case bool:
			if v {
				a.Int(o.Key, 1)
			} else {
				a.Int(o.Key, 0)
			}
		default:
			rv := reflect.ValueOf(o.Value)
			switch {
			case rv.CanInt() && rv.Int() >= math.MinInt32 && rv.Int() <= math.MaxInt32:
				a.Int(o.Key, rv.Int())
			case rv.CanUint() && rv.Uint() <= math.MaxInt32:
				a.Int(o.Key, int64(rv.Uint()))
			case rv.CanInt() || rv.CanUint():
				// The core's integer args are C ints: a larger value would
				// be cut to its low 32 bits and mean something else.
				return nil, &ValueError{Msg: fmt.Sprintf("channel option %q = %v is outside the core's "+
					"integer range [%d, %d]", o.Key, o.Value, math.MinInt32, math.MaxInt32)}
			default:
				return nil, &ValueError{Msg: fmt.Sprintf("channel option %q has a value of type %T; "+
					"the core takes strings and integers", o.Key, o.Value)}
			}
		}
	}
	return a, nil
}

// Channel mirrors grpc.Channel: "Affords RPC invocation via generic methods
// on client-side." It is safe for concurrent use. Python's context-manager
// use becomes defer ch.Close().
type Channel struct {
	c      *core.Channel
	target string

	root         *Channel // the channel an intercepted channel wraps; nil for itself
	interceptors []any    // client interceptors, outermost first

	connOnce     sync.Once
	connectivity *connectivity

	clock testhooks.Clock // grpc/testing's Time; nil: real time and core deadlines
}

func init() {
	testhooks.SetChannelClock = func(channel any, c testhooks.Clock) { channel.(*Channel).rootChannel().clock = c }
}

// checkNoNUL refuses a string the core would read as a C string: it would
// be cut at the NUL and name something else (Python's "embedded null
// byte" ValueError).
func checkNoNUL(what, s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return &ValueError{Msg: fmt.Sprintf("%s %q contains an embedded null byte", what, s)}
	}
	return nil
}

// xdsOnlyPolicies are load-balancing policies that only the xds resolver
// can drive: named in an application's service config, the core 1.51
// aborts (cds_experimental: child_policy_handler.cc assertion) or crashes
// on the first pick (ring_hash_experimental needs the per-call hash xDS
// sets).
var xdsOnlyPolicies = map[string]bool{
	"cds_experimental":                  true,
	"ring_hash_experimental":            true,
	"xds_cluster_resolver_experimental": true,
	"xds_cluster_impl_experimental":     true,
	"xds_cluster_manager_experimental":  true,
	"xds_wrr_locality_experimental":     true,
}

// checkServiceConfig refuses a grpc.service_config that names an xDS-only
// policy anywhere (child policies nest). Every string token is looked at,
// keys and values alike, after JSON unescaping; anything else about the
// JSON is the core's to judge.
func checkServiceConfig(js string) error {
	dec := json.NewDecoder(strings.NewReader(js))
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // the end, or malformed JSON the core will refuse
		}
		if s, ok := tok.(string); ok && xdsOnlyPolicies[s] {
			return &ValueError{Msg: fmt.Sprintf("grpc.service_config names the load-balancing policy %q, "+
				"which only an xds: target can drive", s)}
		}
	}
}

func (ch *Channel) rootChannel() *Channel {
	if ch.root != nil {
		return ch.root
	}
	return ch
}

// InsecureChannel mirrors grpc.insecure_channel(target, options=None):
// a Channel without transport security. Drives grpc_channel_create with
// grpc_insecure_credentials_create and the options as channel args.
func InsecureChannel(target string, options ...ChannelOption) (*Channel, error) {
	if err := checkNoNUL("target", target); err != nil {
		return nil, err
	}
	args, err := channelArgs(options)
	if err != nil {
		return nil, err
	}
	c, err := core.NewChannel(target, core.ChannelCredentials{}, args)
	if err != nil {
		return nil, channelError(err)
	}
	return &Channel{c: c, target: target}, nil
}

// InProcessChannel creates a Channel to server, in this process, over the
// core's in-process transport (grpc_inproc_channel_create): the RPCs go
// through both sides' whole core call stack (deadlines, metadata rules,
// status, flow control, interceptors) without a socket, a port or a
// resolver. server must be started. The options are channel args as for
// InsecureChannel. grpcio has no equivalent; grpc/testing is built on it.
// A Go addition.
func InProcessChannel(server *Server, options ...ChannelOption) (*Channel, error) {
	args, err := channelArgs(options)
	if err != nil {
		return nil, err
	}
	c, err := core.NewInprocChannel(server.core, args)
	if err != nil {
		return nil, &ValueError{Msg: err.Error(), Err: err}
	}
	return &Channel{c: c, target: "inproc"}, nil
}

// channelError maps a service config the core rejected to a *ValueError
// (grpcio hands back a channel whose every call fails with
// INVALID_ARGUMENT "Failed to create secure client channel", the real
// reason only in the core's log).
func channelError(err error) error {
	var sce *core.ServiceConfigError
	if errors.As(err, &sce) {
		return &ValueError{Msg: sce.Error(), Err: err}
	}
	return err
}

// Close mirrors grpc.Channel.close(): terminates every RPC active on the
// channel with CANCELLED ("Channel closed!") and releases the channel
// (grpc_call_cancel_with_status, grpc_channel_destroy). New RPCs then fail
// with ErrChannelClosed. Idempotent; the error is always nil.
func (ch *Channel) Close() error {
	r := ch.rootChannel()
	r.c.Close()
	r.conn().close()
	return nil
}

// Target is the target the channel was created for.
func (ch *Channel) Target() string { return ch.target }

// MultiCallableOption is a keyword argument of the Channel's multi-callable
// factories: request_serializer, response_deserializer.
type MultiCallableOption func(*multiCallableOptions)

type multiCallableOptions struct {
	ser   encoder
	deser decoder
}

// WithRequestSerializer is the request_serializer= keyword.
func WithRequestSerializer(s Serializer) MultiCallableOption {
	return func(o *multiCallableOptions) { o.ser = encoder{ser: s} }
}

// WithResponseDeserializer is the response_deserializer= keyword.
func WithResponseDeserializer(d Deserializer) MultiCallableOption {
	return func(o *multiCallableOptions) { o.deser = decoder{des: d} }
}

func buildMultiCallableOptions(opts []MultiCallableOption) multiCallableOptions {
	var o multiCallableOptions
	for _, f := range opts {
		f(&o)
	}
	return o
}

// UnaryUnary mirrors grpc.Channel.unary_unary(method, request_serializer=None,
// response_deserializer=None): "A UnaryUnaryMultiCallable value for the
// named unary-unary method."
func (ch *Channel) UnaryUnary(method string, opts ...MultiCallableOption) *UnaryUnaryMultiCallable {
	o := buildMultiCallableOptions(opts)
	return &UnaryUnaryMultiCallable{ch: ch, method: method, ser: o.ser, deser: o.deser}
}
