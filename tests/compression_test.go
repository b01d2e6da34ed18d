package tests

// Compression across languages: grpcio 1.51 (tests/python/compression_peer.py)
// and grpcpy compress or not as each side's API asks, in both directions
// and on the four shapes, observed on the wire with internal/wiretap
// between the processes. Messages are 1 MiB of zeros, which gzip and
// deflate make about a kilobyte of: each direction's byte count says how
// many messages went plain.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
	"github.com/grpcpy/grpcpy/internal/wiretap"
)

const zipLen = 1 << 20

var zipZeros = make([]byte, zipLen)

const zipTimeout = 30 * time.Second

var zipShapes = []string{"UU", "US", "SU", "SS"}

// zipCase is one RPC through its own tap. Send is "zeros" (1 MiB, twice
// when the client streams: the server checks them and answers "ok N") or
// a one-byte order for 1 MiB responses ("x" as the server's default has
// it, "c" after set_compression(Gzip), "d" also disabling the last
// response's compression, "n" after set_compression(NoCompression); see
// compression_peer.py).
type zipCase struct {
	Name    string `json:"name"`
	Target  string `json:"target"`
	Shape   string `json:"shape"`
	Channel string `json:"channel,omitempty"` // the client's channel compression
	Call    string `json:"call,omitempty"`    // the call's compression
	Send    string `json:"send"`

	server    string // which server: "plain", "gzip" (its default compression), "nogzip" (gzip disabled)
	wantErr   string // the error the client must get instead of replies
	upPlain   int    // messages of 1 MiB expected to go up plain
	downPlain int    // and down
	tap       *wiretap.Tap
}

// replies is what the client reads back, as the peer prints it.
func (c zipCase) replies() string {
	if c.Send == "zeros" {
		switch c.Shape {
		case "SU":
			return "ok 2"
		case "SS":
			return "ok,ok"
		}
		return "ok 1"
	}
	if c.Shape == "US" || c.Shape == "SS" {
		return "zeros,zeros"
	}
	return "zeros"
}

// requests is how many messages the client sends.
func (c zipCase) requests() int {
	if c.Send == "zeros" && (c.Shape == "SU" || c.Shape == "SS") {
		return 2
	}
	return 1
}

// zipPlain reports whether n bytes on the wire carried exactly plain
// messages of 1 MiB uncompressed (any others compressed): HTTP/2 framing,
// headers and compressed messages add well under 100 KiB.
func zipPlain(n int64, plain int) bool {
	return n >= int64(plain)*zipLen && n < int64(plain)*zipLen+zipLen/10
}

// zipCases: the upstream cases send zeros with the client's compression;
// the downstream cases send an order to a server.
//
// Asking for NoCompression where something else is the default differs:
// grpcio 1.51 tests the enum member for truth (_compression.augment_metadata
// for a call's compression=, _server._get_initial_metadata for
// set_compression), and NoCompression is 0, so it is ignored and the
// channel's or server's gzip stays; grpcpy's WithCompression and
// SetCompression send it (grpc-internal-encoding-request: identity) and the
// messages go plain. grpcioClient says which side is grpcio.
func zipCases(channelOpt, callOpt func(string) string, grpcioClient bool) []zipCase {
	var cs []zipCase
	up := func(name, shape, channel, call string, compressed bool) {
		c := zipCase{Name: name + " " + shape, Shape: shape, Channel: channel, Call: call, Send: "zeros", server: "plain"}
		if !compressed {
			c.upPlain = c.requests()
		}
		cs = append(cs, c)
	}
	for _, shape := range zipShapes {
		up(channelOpt("gzip"), shape, "gzip", "", true)
		up(callOpt("gzip"), shape, "", "gzip", true)
	}
	up(callOpt("deflate"), "SU", "", "deflate", true)
	up("no compression", "UU", "", "", false)
	up("no compression", "SS", "", "", false)
	up(channelOpt("gzip")+" "+callOpt("none"), "SU", "gzip", "none", grpcioClient)

	down := func(name, server, order, shape string, plain int) {
		cs = append(cs, zipCase{Name: name + " " + shape, Shape: shape, Send: order, server: server, downPlain: plain})
	}
	for _, shape := range zipShapes {
		n := 1
		if shape == "US" || shape == "SS" {
			n = 2
		}
		down("no compression", "plain", "x", shape, n)
		down("server compression=gzip", "gzip", "x", shape, 0)
		down("set_compression(Gzip)", "plain", "c", shape, 0)
		// One response goes plain: the only one, or the last of two.
		down("set_compression(Gzip) + disable_next_message_compression", "plain", "d", shape, 1)
	}
	// The server is grpcio when the client is not: grpcpy's server sends
	// the response plain, grpcio's keeps its gzip.
	plain := 0
	if grpcioClient {
		plain = 1
	}
	down("server compression=gzip + set_compression(NoCompression)", "gzip", "n", "UU", plain)
	return cs
}

// check compares what went on the wire with what c expects.
func (c zipCase) check(t *testing.T, got string) {
	t.Helper()
	up, down := c.tap.Up(), c.tap.Down()
	t.Logf("%s: %d bytes up, %d down; replies %s", c.Name, up, down, got)
	if got != c.replies() {
		t.Errorf("%s: replies %s, want %s", c.Name, got, c.replies())
	}
	if !zipPlain(up, c.upPlain) {
		t.Errorf("%s: %d bytes up for %d MiB of zeros, want %d of them plain", c.Name, up, c.requests(), c.upPlain)
	}
	if !zipPlain(down, c.downPlain) {
		t.Errorf("%s: %d bytes down, want %d MiB of zeros plain", c.Name, down, c.downPlain)
	}
}

func zipTap(t *testing.T, target string) *wiretap.Tap {
	t.Helper()
	w, err := wiretap.New(target)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// zipGoServer is grpcpy's side of compression_peer.py's server: test.Z
// with the same orders, through SetCompression and
// DisableNextMessageCompression.
func zipGoServer(t *testing.T, opts ...grpc.ServerOption) string {
	t.Helper()
	isOrder := func(r []byte) bool { return len(r) == 1 }
	obey := func(ctx *grpc.ServicerContext, o byte) {
		c := map[byte]grpc.Compression{'c': grpc.CompressionGzip, 'd': grpc.CompressionGzip, 'n': grpc.CompressionNoCompression}
		if c, ok := c[o]; ok {
			if err := ctx.SetCompression(c); err != nil {
				t.Error(err)
			}
		}
	}
	check := func(ctx *grpc.ServicerContext, r []byte) {
		if !bytes.Equal(r, zipZeros) {
			ctx.Abort(grpc.StatusCodeInvalidArgument, fmt.Sprintf("%d bytes, not 1 MiB of zeros", len(r)))
		}
	}
	twice := func(ctx *grpc.ServicerContext, o byte, yield func(any, error) bool) bool {
		if !yield(zipZeros, nil) {
			return false
		}
		if o == 'd' {
			ctx.DisableNextMessageCompression()
		}
		return yield(zipZeros, nil)
	}
	h := grpc.MethodHandlersGenericHandler("test.Z", map[string]*grpc.RpcMethodHandler{
		"UU": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			r := req.([]byte)
			if isOrder(r) {
				obey(ctx, r[0])
				if r[0] == 'd' {
					ctx.DisableNextMessageCompression()
				}
				return zipZeros, nil
			}
			check(ctx, r)
			return []byte("ok 1"), nil
		}),
		"US": grpc.UnaryStreamRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) iter.Seq2[any, error] {
			r := req.([]byte)
			return func(yield func(any, error) bool) {
				if isOrder(r) {
					obey(ctx, r[0])
					twice(ctx, r[0], yield)
					return
				}
				check(ctx, r)
				yield([]byte("ok 1"), nil)
			}
		}),
		"SU": grpc.StreamUnaryRpcMethodHandler(func(reqs iter.Seq2[any, error], ctx *grpc.ServicerContext) (any, error) {
			n, o := 0, byte(0)
			for req, err := range reqs {
				if err != nil {
					return nil, err
				}
				if r := req.([]byte); isOrder(r) {
					o = r[0]
				} else {
					check(ctx, r)
					n++
				}
			}
			if o == 0 {
				return []byte(fmt.Sprintf("ok %d", n)), nil
			}
			obey(ctx, o)
			if o == 'd' {
				ctx.DisableNextMessageCompression()
			}
			return zipZeros, nil
		}),
		"SS": grpc.StreamStreamRpcMethodHandler(func(reqs iter.Seq2[any, error], ctx *grpc.ServicerContext) iter.Seq2[any, error] {
			return func(yield func(any, error) bool) {
				for req, err := range reqs {
					if err != nil {
						yield(nil, err)
						return
					}
					r := req.([]byte)
					if isOrder(r) {
						obey(ctx, r[0])
						if !twice(ctx, r[0], yield) {
							return
						}
						continue
					}
					check(ctx, r)
					if !yield([]byte("ok"), nil) {
						return
					}
				}
			}
		}),
	})
	s, err := grpc.NewServer(nil, append([]grpc.ServerOption{grpc.WithHandlers(h)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	port, err := s.AddInsecurePort("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !s.Stop(0).Wait(zipTimeout) {
			t.Errorf("server did not stop within %v", zipTimeout)
		}
	})
	return fmt.Sprintf("127.0.0.1:%d", port)
}

// TestCompressionGrpcioClientToGoServer: a grpcio client compresses its
// requests with insecure_channel(compression=) or a call's compression=
// and the Go server decodes them; the Go server compresses its responses
// with WithServerCompression, SetCompression, and leaves one plain after
// DisableNextMessageCompression, and grpcio decodes them.
func TestCompressionGrpcioClientToGoServer(t *testing.T) {
	needPython(t)
	leakcheck.Check(t)
	servers := map[string]string{
		"plain": zipGoServer(t),
		"gzip":  zipGoServer(t, grpc.WithServerCompression(grpc.CompressionGzip)),
		"nogzip": zipGoServer(t, grpc.WithOptions(grpc.Option("grpc.compression_enabled_algorithms_bitset",
			1<<int(grpc.CompressionNoCompression)|1<<int(grpc.CompressionDeflate)))),
	}
	cases := zipCases(
		func(c string) string { return "insecure_channel(compression=" + c + ")" },
		func(c string) string { return "call compression=" + c }, true)
	// gzip to a server that disabled it: the core refuses the call.
	for _, shape := range []string{"UU", "SS"} {
		cases = append(cases, zipCase{Name: "call compression=gzip to a server without gzip " + shape, Shape: shape,
			Call: "gzip", Send: "zeros", server: "nogzip",
			wantErr: "StatusCode.UNIMPLEMENTED: Compression algorithm 'gzip' is disabled."})
	}
	for i := range cases {
		c := &cases[i]
		c.tap = zipTap(t, servers[c.server])
		defer c.tap.Close()
		c.Target = c.tap.Addr
		// In Go's names for the server side.
		c.Name = strings.NewReplacer("server compression=gzip", "WithServerCompression(Gzip)",
			"set_compression(Gzip)", "SetCompression(Gzip)", "set_compression(NoCompression)", "SetCompression(NoCompression)",
			"disable_next_message_compression", "DisableNextMessageCompression").Replace(c.Name)
	}
	js, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	out, err := runWithTimeout(exec.Command(python, "python/compression_peer.py", "client", string(js)), 120*time.Second)
	if err != nil {
		t.Fatalf("grpcio client: %v\n%s", err, out)
	}
	var res []struct {
		Name    string
		Replies []string
		Error   *string
	}
	if err := json.Unmarshal(lastLine(out), &res); err != nil || len(res) != len(cases) {
		t.Fatalf("grpcio client printed %q: %v", out, err)
	}
	for i, c := range cases {
		if c.wantErr != "" {
			if res[i].Error == nil {
				t.Errorf("%s: grpcio client got replies %v, want %s", c.Name, res[i].Replies, c.wantErr)
				continue
			}
			t.Logf("%s: grpcio client got %s", c.Name, *res[i].Error)
			if *res[i].Error != c.wantErr {
				t.Errorf("%s: grpcio client got %s, want %s", c.Name, *res[i].Error, c.wantErr)
			}
			continue
		}
		if res[i].Error != nil {
			t.Errorf("%s: grpcio client: %s", c.Name, *res[i].Error)
			continue
		}
		c.check(t, strings.Join(res[i].Replies, ","))
	}
}

// zipPythonServer starts compression_peer.py's server with the given
// grpc.server(compression=); it stops when the test ends.
func zipPythonServer(t *testing.T, compression string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	cmd := exec.CommandContext(ctx, python, "python/compression_peer.py", "server", "--compression="+compression)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Wait(); cancel() })
	line, err := readLineWithTimeout(stdout, 30*time.Second)
	if err != nil || !strings.HasPrefix(line, "PORT ") {
		t.Fatalf("grpcio server said %q: %v", line, err)
	}
	return "127.0.0.1:" + strings.TrimSpace(strings.TrimPrefix(line, "PORT "))
}

// zipGoCall makes c's RPC with a grpcpy channel and returns the replies
// as compression_peer.py prints them.
func zipGoCall(ch *grpc.Channel, c zipCase) (string, error) {
	method := "/test.Z/" + c.Shape
	reqs := []any{[]byte(c.Send)}
	if c.Send == "zeros" {
		reqs = reqs[:0]
		for range c.requests() {
			reqs = append(reqs, zipZeros)
		}
	}
	opts := []grpc.CallOption{grpc.WithTimeout(zipTimeout)}
	if c.Call != "" {
		opts = append(opts, grpc.WithCompression(zipCompression[c.Call]))
	}
	show := func(r any) string {
		b := r.([]byte)
		if bytes.Equal(b, zipZeros) {
			return "zeros"
		}
		if len(b) > 16 {
			return fmt.Sprintf("<%d bytes>", len(b))
		}
		return string(b)
	}
	var it grpc.CallIterator
	var err error
	switch c.Shape {
	case "UU":
		r, err := ch.UnaryUnary(method).Call(reqs[0], opts...)
		if err != nil {
			return "", err
		}
		return show(r), nil
	case "SU":
		r, err := ch.StreamUnary(method).Call(grpc.Requests(reqs...), opts...)
		if err != nil {
			return "", err
		}
		return show(r), nil
	case "US":
		it, err = ch.UnaryStream(method).Call(reqs[0], opts...)
	default:
		it, err = ch.StreamStream(method).Call(grpc.Requests(reqs...), opts...)
	}
	if err != nil {
		return "", err
	}
	var got []string
	for r, err := range it.All() {
		if err != nil {
			return "", err
		}
		got = append(got, show(r))
	}
	return strings.Join(got, ","), nil
}

var zipCompression = map[string]grpc.Compression{
	"none":    grpc.CompressionNoCompression,
	"deflate": grpc.CompressionDeflate,
	"gzip":    grpc.CompressionGzip,
}

// TestCompressionGoClientToGrpcioServer: the Go client compresses its
// requests with ChannelCompression or WithCompression and grpcio's server
// decodes them; grpcio's server compresses its responses with
// grpc.server(compression=) and context.set_compression, leaves one plain
// after context.disable_next_message_compression(), and the Go client
// decodes them.
func TestCompressionGoClientToGrpcioServer(t *testing.T) {
	needPython(t)
	leakcheck.Check(t)
	servers := map[string]string{"plain": zipPythonServer(t, "none"), "gzip": zipPythonServer(t, "gzip")}
	cases := zipCases(
		func(c string) string { return "ChannelCompression(" + c + ")" },
		func(c string) string { return "WithCompression(" + c + ")" }, false)
	for _, c := range cases {
		c.tap = zipTap(t, servers[c.server])
		var chOpts []grpc.ChannelOption
		if c.Channel != "" {
			chOpts = append(chOpts, grpc.ChannelCompression(zipCompression[c.Channel]))
		}
		ch, err := grpc.InsecureChannel(c.tap.Addr, chOpts...)
		if err != nil {
			t.Fatal(err)
		}
		got, err := zipGoCall(ch, c)
		ch.Close()
		c.tap.Close()
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		c.check(t, got)
	}
}
