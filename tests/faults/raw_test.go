package faults

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

// ---- hand-made HTTP/2 (RFC 9113) and HPACK (RFC 7541) ----

const clientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// HTTP/2 frame types and flags used here.
const (
	frameData         = 0x0
	frameHeaders      = 0x1
	frameRSTStream    = 0x3
	frameSettings     = 0x4
	framePing         = 0x6
	frameGoAway       = 0x7
	frameWindowUpdate = 0x8

	flagAck        = 0x1
	flagEndHeaders = 0x4

	errCodeCancel = 0x8
)

var frameNames = map[byte]string{0: "DATA", 1: "HEADERS", 2: "PRIORITY", 3: "RST_STREAM", 4: "SETTINGS",
	5: "PUSH_PROMISE", 6: "PING", 7: "GOAWAY", 8: "WINDOW_UPDATE", 9: "CONTINUATION"}

// appendFrame appends one frame: 24-bit length, type, flags, stream id.
func appendFrame(b []byte, typ, flags byte, stream uint32, payload []byte) []byte {
	n := len(payload)
	b = append(b, byte(n>>16), byte(n>>8), byte(n), typ, flags)
	b = binary.BigEndian.AppendUint32(b, stream&0x7fffffff)
	return append(b, payload...)
}

// hpackLiteral appends a "Literal Header Field without Indexing — New
// Name" (RFC 7541 6.2.2) with plain (non-Huffman) strings; every string
// here is shorter than 127 bytes, so each length fits the 7-bit prefix.
func hpackLiteral(b []byte, name, value string) []byte {
	b = append(b, 0x00, byte(len(name)))
	b = append(b, name...)
	b = append(b, byte(len(value)))
	return append(b, value...)
}

// grpcHeaders is the header block of a gRPC request for path.
func grpcHeaders(path string) []byte {
	var b []byte
	b = hpackLiteral(b, ":method", "POST")
	b = hpackLiteral(b, ":scheme", "http")
	b = hpackLiteral(b, ":path", path)
	b = hpackLiteral(b, ":authority", "127.0.0.1")
	b = hpackLiteral(b, "content-type", "application/grpc")
	return hpackLiteral(b, "te", "trailers")
}

// rawConn is a socket to the server with a reader that parses the frames
// it sends back (after a valid preface) or counts raw bytes (otherwise),
// and answers SETTINGS and PING as a client must.
type rawConn struct {
	c      net.Conn
	wmu    sync.Mutex // one frame group at a time
	w      *bufio.Writer
	parse  bool
	bytes  atomic.Int64
	closed chan struct{} // closed when the server closed (EOF or reset)
	endErr error

	mu          sync.Mutex
	frames      map[string]int
	goAway      string // the first GOAWAY: last stream id, error code, debug data
	prefaceDone bool   // our preface and SETTINGS are out: frames may follow
	pendingAcks int    // server SETTINGS received before that
}

// finishPreface sends our SETTINGS after the preface, then the acks of
// server SETTINGS that arrived meanwhile: an ack sent earlier would land
// in the middle of the preface.
func (r *rawConn) finishPreface(prefix []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := appendFrame(prefix, frameSettings, 0, 0, nil)
	for ; r.pendingAcks > 0; r.pendingAcks-- {
		b = appendFrame(b, frameSettings, flagAck, 0, nil)
	}
	r.prefaceDone = true
	return r.send(b)
}

func dialRaw(t *testing.T, addr string, parse bool) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	r := &rawConn{c: c, w: bufio.NewWriterSize(c, 64<<10), parse: parse, closed: make(chan struct{}), frames: map[string]int{}}
	t.Cleanup(func() { c.Close(); <-r.closed })
	go r.read()
	return r
}

func (r *rawConn) read() {
	defer close(r.closed)
	br := bufio.NewReader(r.c)
	if !r.parse {
		n, err := io.Copy(io.Discard, br)
		r.bytes.Add(n)
		r.endErr = err
		return
	}
	hdr := make([]byte, 9)
	for {
		if _, err := io.ReadFull(br, hdr); err != nil {
			r.endErr = err
			return
		}
		n := int(hdr[0])<<16 | int(hdr[1])<<8 | int(hdr[2])
		typ, flags := hdr[3], hdr[4]
		payload := make([]byte, n)
		if _, err := io.ReadFull(br, payload); err != nil {
			r.endErr = err
			return
		}
		r.bytes.Add(int64(9 + n))
		name := frameNames[typ]
		if name == "" {
			name = fmt.Sprintf("type%d", typ)
		}
		if typ == frameSettings && flags&flagAck != 0 {
			name += "(ack)"
		}
		r.mu.Lock()
		r.frames[name]++
		if typ == frameGoAway && r.goAway == "" && n >= 8 {
			r.goAway = fmt.Sprintf("last-stream=%d code=%d debug=%q",
				binary.BigEndian.Uint32(payload)&0x7fffffff, binary.BigEndian.Uint32(payload[4:]), payload[8:])
		}
		switch {
		case typ == frameSettings && flags&flagAck == 0 && !r.prefaceDone:
			r.pendingAcks++
		case typ == frameSettings && flags&flagAck == 0:
			r.send(appendFrame(nil, frameSettings, flagAck, 0, nil))
		case typ == framePing && flags&flagAck == 0 && r.prefaceDone:
			r.send(appendFrame(nil, framePing, flagAck, 0, payload))
		}
		r.mu.Unlock()
	}
}

// send writes and flushes b; an error means the server closed.
func (r *rawConn) send(b []byte) error {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if _, err := r.w.Write(b); err != nil {
		return err
	}
	return r.w.Flush()
}

// waitClosed reports whether the server closed the connection within d.
func (r *rawConn) waitClosed(d time.Duration) bool {
	select {
	case <-r.closed:
		return true
	case <-time.After(d):
		return false
	}
}

// reaction describes what the server sent and did.
func (r *rawConn) reaction() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	closed := "open"
	select {
	case <-r.closed:
		closed = "closed by server"
		if errors.Is(r.endErr, syscall.ECONNRESET) {
			closed = "reset by server"
		}
	default:
	}
	var fs []string
	for k, v := range r.frames {
		fs = append(fs, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(fs)
	s := fmt.Sprintf("%d bytes received, %s", r.bytes.Load(), closed)
	if len(fs) > 0 {
		s += ", frames{" + strings.Join(fs, " ") + "}"
	}
	if r.goAway != "" {
		s += ", GOAWAY " + r.goAway
	}
	return s
}

// ---- the test ----

// TestRawSocketAbuse attacks a server with raw TCP: idle connections that
// never send the HTTP/2 preface, a preface sent a byte at a time, an
// HTTP/1.1 GET, random bytes, and a rapid-reset flood (HEADERS opening a
// stream, then RST_STREAM at once, thousands of times on one connection,
// CVE-2023-44487's pattern). After each the server must still answer a
// grpcpy client's RPCs of every shape, and once the abusive sockets are
// closed its goroutines, fds and C objects settle back to the baseline.
// How the server reacted (bytes, frames, GOAWAY, closing) is reported.
func TestRawSocketAbuse(t *testing.T) {
	leakcheck.Check(t)
	watchdog(t, 3*time.Minute)
	sv := &service{}
	_, addr := serve(t, sv)
	ch := dial(t, addr)
	st := newStubs(ch)
	mustOK(t, st)
	base := quiet(t)

	// stillServes requires the server to answer every shape, and reports
	// how long the slowest took.
	stillServes := func(t *testing.T) time.Duration {
		t.Helper()
		var slowest time.Duration
		for _, sh := range shapes {
			o := call(st, sh, "n:2", grpc.WithTimeout(rpcTimeout))
			if o.code != grpc.StatusCodeOK {
				t.Errorf("the server stopped serving: %v", o)
			}
			slowest = max(slowest, o.took)
		}
		return slowest
	}
	settled := func(t *testing.T) snap {
		t.Helper()
		b := base
		b.goroutines++ // the subtest's own goroutine
		after, ok := settle(20*time.Second, backToBase(b))
		if !ok {
			t.Errorf("resources did not return to the baseline within 20s of closing the sockets: before %v, after %v\n%s", base, after, allStacks())
		}
		return after
	}

	t.Run("half-open", func(t *testing.T) {
		const n = 200
		conns := make([]*rawConn, n)
		for i := range conns {
			conns[i] = dialRaw(t, addr, false)
		}
		// The server holds both ends' fds in this process once accepted.
		during, accepted := settle(10*time.Second, func(s snap) bool { return s.fds >= base.fds+2*n })
		rpc := stillServes(t)
		time.Sleep(200 * time.Millisecond) // what the server sends unprompted
		var sent int64
		closedByServer := 0
		for _, c := range conns {
			sent += c.bytes.Load()
			select {
			case <-c.closed:
				closedByServer++
			default:
			}
		}
		for _, c := range conns {
			c.c.Close()
		}
		after := settled(t)
		t.Logf("FAULT raw-socket/half-open: %d idle connections (all accepted: %v) held without a preface; "+
			"server sent %d bytes in all unprompted, closed %d of them; RPCs of every shape meanwhile: OK, slowest %v; "+
			"before: %v; during: %v; after close: %v",
			n, accepted, sent, closedByServer, rpc.Round(time.Millisecond), base, during, after)
	})

	t.Run("slow-preface", func(t *testing.T) {
		c := dialRaw(t, addr, true)
		start := time.Now()
		for i := 0; i < len(clientPreface); i++ {
			if err := c.send([]byte{clientPreface[i]}); err != nil {
				t.Fatalf("server closed after %d preface bytes: %v", i, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := c.finishPreface(nil); err != nil {
			t.Fatalf("server closed after the preface: %v", err)
		}
		took := time.Since(start)
		rpc := stillServes(t)
		// A complete preface makes it a normal connection: the server's
		// SETTINGS and the ack of ours arrive.
		if _, ok := settle(10*time.Second, func(snap) bool {
			c.mu.Lock()
			defer c.mu.Unlock()
			return c.frames["SETTINGS"] > 0 && c.frames["SETTINGS(ack)"] > 0
		}); !ok {
			t.Errorf("no SETTINGS and SETTINGS ack after a slow but complete preface: %s", c.reaction())
		}
		reaction := c.reaction()
		c.c.Close()
		after := settled(t)
		t.Logf("FAULT raw-socket/slow-preface: preface a byte every 20ms (%v), then SETTINGS: server %s; "+
			"RPCs meanwhile OK, slowest %v; after close: %v", took.Round(time.Millisecond), reaction, rpc.Round(time.Millisecond), after)
	})

	junk := func(name string, payload []byte) {
		t.Run(name, func(t *testing.T) {
			c := dialRaw(t, addr, true)
			werr := c.send(payload)
			closed := c.waitClosed(10 * time.Second)
			rpc := stillServes(t)
			reaction := c.reaction()
			if !closed {
				t.Errorf("the server kept a connection open for 10s after %s (%s)", name, reaction)
			}
			c.c.Close()
			after := settled(t)
			t.Logf("FAULT raw-socket/%s: sent %d bytes (write error: %v); server %s; RPCs meanwhile OK, slowest %v; after close: %v",
				name, len(payload), werr, reaction, rpc.Round(time.Millisecond), after)
		})
	}
	junk("http1-get", []byte("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: faults\r\n\r\n"))
	garbage := make([]byte, 64<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range garbage {
		garbage[i] = byte(rng.UintN(256))
	}
	junk("garbage", garbage)

	t.Run("rapid-reset", func(t *testing.T) {
		const streams = 20000
		entered0 := sv.entered.Load()
		c := dialRaw(t, addr, true)
		if err := c.finishPreface([]byte(clientPreface)); err != nil {
			t.Fatal(err)
		}
		paths := []string{mUnary, mServerStream, mClientStream, mBidi}
		blocks := make([][]byte, len(paths))
		for i, p := range paths {
			blocks[i] = grpcHeaders(p)
		}
		rst := binary.BigEndian.AppendUint32(nil, errCodeCancel)
		stopSampling := sampler()
		start := time.Now()
		sent := 0
		var werr error
		var buf []byte
		for sent < streams && werr == nil {
			// A batch of HEADERS+RST_STREAM pairs per write, as a flooder would.
			buf = buf[:0]
			for k := 0; k < 100 && sent < streams; k++ {
				id := uint32(2*sent + 1)
				buf = appendFrame(buf, frameHeaders, flagEndHeaders, id, blocks[sent%len(blocks)])
				buf = appendFrame(buf, frameRSTStream, 0, id, rst)
				sent++
			}
			werr = c.send(buf)
		}
		took := time.Since(start)
		rpc := stillServes(t)
		// Let the server finish with the flood before reading its reaction.
		settle(5*time.Second, func(snap) bool { return sv.entered.Load() == sv.exited.Load() })
		peak := stopSampling()
		reaction := c.reaction()
		handlers := sv.entered.Load() - entered0
		c.c.Close()
		after := settled(t)
		if in, out := sv.entered.Load(), sv.exited.Load(); in != out {
			t.Errorf("%d handlers still running after the flood", in-out)
		}
		t.Logf("FAULT raw-socket/rapid-reset: %d HEADERS+RST_STREAM pairs sent in %v (write error: %v); "+
			"handlers invoked %d; server %s; RPCs of every shape right after: OK, slowest %v; "+
			"peak during flood: %v; after close: %v",
			sent, took.Round(time.Millisecond), werr, handlers-4, reaction, rpc.Round(time.Millisecond), peak, after)
	})
}
