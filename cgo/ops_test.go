package cgo

import (
	"bytes"
	"errors"
	"math/bits"
	"strconv"
	"testing"
	"time"
)

// allOps is every Op* constant (every GP_OP_* of shim.h): a new op is
// added here too.
var allOps = []uint32{
	OpSendInitialMetadata, OpSendMessage, OpSendCloseFromClient, OpSendStatusFromServer,
	OpRecvInitialMetadata, OpRecvMessage, OpRecvStatusOnClient, OpRecvCloseOnServer,
}

const recvOps = OpRecvInitialMetadata | OpRecvMessage | OpRecvStatusOnClient | OpRecvCloseOnServer

// TestOpTablesComplete checks that every op has exactly one row in ops.c's
// op_table (its build, flatten and free) and one in opTable (its reader),
// and that exactly the receive ops have a reader.
func TestOpTablesComplete(t *testing.T) {
	var all uint32
	for _, b := range allOps {
		if bits.OnesCount32(b) != 1 || all&b != 0 {
			t.Fatalf("op bit %#x is not a single new bit", b)
		}
		all |= b
	}

	cBits, cRows := opsTableC()
	if cBits != all {
		t.Errorf("ops.c's op_table covers bits %#x, want %#x (missing %#x, unknown %#x)",
			cBits, all, all&^cBits, cBits&^all)
	}
	if cRows != len(allOps) {
		t.Errorf("ops.c's op_table has %d rows for %d ops (a duplicate row?)", cRows, len(allOps))
	}

	var goBits uint32
	for _, row := range opTable {
		if bits.OnesCount32(row.bit) != 1 || goBits&row.bit != 0 {
			t.Errorf("opTable row bit %#x is not a single new bit", row.bit)
		}
		goBits |= row.bit
		if hasReader, isRecv := row.read != nil, row.bit&recvOps != 0; hasReader != isRecv {
			t.Errorf("opTable row %#x: reader %v, but receive op %v", row.bit, hasReader, isRecv)
		}
	}
	if goBits != all || len(opTable) != len(allOps) {
		t.Errorf("opTable covers bits %#x in %d rows, want %#x in %d", goBits, len(opTable), all, len(allOps))
	}
}

// tag is a test completion target.
type tag struct {
	ops     uint32
	done    bool
	success bool
	res     Results
	// request-call tags
	call   Call
	method string
	md     []Metadatum
}

// waitTags polls q (without blocking, so a lost tag fails instead of
// hanging) until every tag in tags has completed, reading each event as
// package core does.
func waitTags(t *testing.T, q CQ, tags ...*tag) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		pending := 0
		for _, tg := range tags {
			if !tg.done {
				pending++
			}
		}
		if pending == 0 {
			return
		}
		ev := q.Next(Batch{}, false)
		switch ev.Type {
		case QueueTimeout:
			if time.Now().After(deadline) {
				t.Fatalf("%d tags still pending", pending)
			}
			time.Sleep(time.Millisecond)
			continue
		case QueueShutdown:
			t.Fatal("queue shut down with tags pending")
		}
		tg := ev.Batch.Take().(*tag)
		tg.done, tg.success = true, ev.Success
		switch ev.Batch.Kind() {
		case TagBatch:
			tg.res.Success = ev.Success
			ev.Batch.Read(tg.ops, &tg.res)
		case TagRequestCall:
			if ev.Success {
				tg.call = ev.Batch.NewCall()
				tg.method = ev.Batch.Method()
				tg.md = ev.Batch.InitialMetadata()
			}
		}
		ev.Batch.Release()
	}
}

func start(t *testing.T, c Call, ops uint32, s *Send) *tag {
	t.Helper()
	tg := &tag{ops: ops}
	b := NewBatch(tg, TagBatch)
	if rc := c.StartBatch(b, ops, s); rc != CallOK {
		b.Free()
		t.Fatalf("StartBatch(%#x) = %s", ops, CallErrorString(rc))
	}
	return tg
}

func mdValue(md []Metadatum, key string) string {
	for _, m := range md {
		if m.Key == key {
			return m.Value
		}
	}
	return "<absent>"
}

// TestEveryOpRoundTrip runs one call over loopback whose batches use every
// op, plus a batch whose start fails after every send op was built, and
// checks what each op's reader returns and that every C object is freed
// (under -asan, that nothing leaks or is freed twice).
func TestEveryOpRoundTrip(t *testing.T) {
	Init()
	before := LiveCounts()
	q := NewCQ()
	srv := NewServer(&ArgsBuilder{})
	srv.RegisterCQ(q)
	port := srv.AddInsecurePort("127.0.0.1:0")
	if port == 0 {
		t.Fatal("no port")
	}
	srv.Start()

	req := &tag{}
	if rc := srv.RequestCall(q, NewBatch(req, TagRequestCall)); rc != CallOK {
		t.Fatalf("RequestCall = %s", CallErrorString(rc))
	}

	ch := NewChannel("127.0.0.1:"+strconv.Itoa(port), ChannelCredentials{}, &ArgsBuilder{})
	cc := ch.CreateCall(q, "/test.Ops/Every", "", 20*time.Second)
	if cc.Nil() {
		t.Fatal("no call")
	}
	md, mdN := encode("k", "v", "k-bin", "\x00\xff")
	tmd, tmdN := encode("t", "2", "t-bin", "\x01")

	// A start that fails on its first op (invalid flags) after every send
	// op was built: Free must release the metadata, message, trailing
	// metadata and the details slice. On a call of its own: core 1.51
	// keeps a failed batch's slot taken, so the next batch on the call
	// beginning with the same op would fail with TOO_MANY_OPERATIONS.
	spare := ch.CreateCall(q, "/test.Ops/Spare", "", 20*time.Second)
	failed := NewBatch(&tag{}, TagBatch)
	sendAll := OpSendInitialMetadata | OpSendMessage | OpSendStatusFromServer
	if rc := spare.StartBatch(failed, sendAll, &Send{Flags: 1 << 31, Metadata: md, MetadataCount: mdN,
		Message: []byte("x"), Status: 5, Details: "details, long enough not to be inlined",
		Trailing: tmd, TrailingCount: tmdN}); rc == CallOK {
		t.Fatal("a batch with invalid initial-metadata flags started")
	}
	failed.Free()
	spare.Unref()

	clientOps := OpSendInitialMetadata | OpSendMessage | OpSendCloseFromClient |
		OpRecvInitialMetadata | OpRecvMessage | OpRecvStatusOnClient
	client := start(t, cc, clientOps, &Send{Metadata: md, MetadataCount: mdN, Message: nil})

	waitTags(t, q, req)
	if !req.success || req.call.Nil() {
		t.Fatal("request call failed")
	}
	sc := req.call
	if req.method != "/test.Ops/Every" || mdValue(req.md, "k") != "v" || mdValue(req.md, "k-bin") != "\x00\xff" {
		t.Fatalf("request: method %q, metadata %q", req.method, req.md)
	}

	// The client's empty message: HasMessage, and an empty, non-nil Message.
	s1 := start(t, sc, OpSendInitialMetadata|OpRecvMessage, func() *Send {
		smd, n := encode("s", "1")
		return &Send{Metadata: smd, MetadataCount: n}
	}())
	s1.res.Details = "untouched"
	waitTags(t, q, s1)
	if m := s1.res.Message.Bytes(); !s1.success || !s1.res.HasMessage || m == nil || len(m) != 0 {
		t.Fatalf("server first read: success %v, has %v, message %q", s1.success, s1.res.HasMessage, m)
	}
	if s1.res.Details != "untouched" || s1.res.InitialMetadata != nil {
		t.Fatalf("Read set fields of ops the batch did not have: %+v", s1.res)
	}

	// The client half-closed: end of stream.
	s2 := start(t, sc, OpRecvMessage, nil)
	waitTags(t, q, s2)
	if m := s2.res.Message.Bytes(); !s2.success || s2.res.HasMessage || m != nil {
		t.Fatalf("server second read: success %v, has %v, message %d bytes", s2.success, s2.res.HasMessage, len(m))
	}

	big := bytes.Repeat([]byte("0123456789abcdef"), 8192) // 128 KiB: more than one slice
	details := "not found, and long enough not to be an inlined slice"
	s3 := start(t, sc, OpSendMessage|OpSendStatusFromServer|OpRecvCloseOnServer, &Send{
		Message: big, Status: 5, Details: details, Trailing: tmd, TrailingCount: tmdN})
	waitTags(t, q, s3, client)
	if !s3.success || s3.res.Cancelled {
		t.Fatalf("server close: success %v, cancelled %v", s3.success, s3.res.Cancelled)
	}
	r := client.res
	if m := r.Message.Bytes(); !client.success || !r.HasMessage || !bytes.Equal(m, big) {
		t.Fatalf("client: success %v, has %v, message %d bytes", client.success, r.HasMessage, len(m))
	}
	if mdValue(r.InitialMetadata, "s") != "1" {
		t.Errorf("client initial metadata %q", r.InitialMetadata)
	}
	if r.Status != 5 || r.Details != details {
		t.Errorf("client status %d %q, want 5 %q", r.Status, r.Details, details)
	}
	if mdValue(r.TrailingMetadata, "t") != "2" || mdValue(r.TrailingMetadata, "t-bin") != "\x01" {
		t.Errorf("client trailing metadata %q", r.TrailingMetadata)
	}
	t.Logf("client error string: %q", r.ErrorString)

	cc.Unref()
	sc.Unref()
	ch.Destroy()
	down := &tag{}
	srv.ShutdownAndNotify(q, NewBatch(down, TagShutdown))
	srv.CancelAllCalls()
	waitTags(t, q, down)
	srv.Destroy()
	q.Shutdown()
	for ev := q.Next(Batch{}, true); ev.Type != QueueShutdown; ev = q.Next(Batch{}, true) {
		t.Errorf("stray event %d after the server shut down", ev.Type)
		ev.Batch.Take()
		ev.Batch.Release()
	}
	q.Destroy()
	if after := LiveCounts(); after != before {
		t.Fatalf("live counts %+v, want %+v", after, before)
	}
}

// fixedMarshaler marshals a []byte message as itself; grow and shrink make
// MarshalAppend write more or fewer bytes than Size said (a message
// changed in between); fail makes it fail.
type fixedMarshaler struct {
	grow, shrink int
	fail         error
}

func (m fixedMarshaler) Size(msg any) int { return len(msg.([]byte)) }

func (m fixedMarshaler) MarshalAppend(buf []byte, msg any) ([]byte, error) {
	if m.fail != nil {
		return buf, m.fail
	}
	b := msg.([]byte)
	buf = append(buf, b[:len(b)-m.shrink]...)
	for range m.grow {
		buf = append(buf, '+')
	}
	return buf, nil
}

// TestPreparedMessagesAndViews sends messages marshalled straight into core
// memory (PrepareMessage: an inlined short slice, a long one, one that
// outgrew its Size, one that shrank, an empty one) and reads each received
// message in place or flattened (View), checking the bytes, that View used
// the core's slice for a one-slice message and a pooled copy for a
// multi-slice one, and that every C object is freed (under -asan: nothing
// leaked or freed twice), including the slices of batches that never
// started.
func TestPreparedMessagesAndViews(t *testing.T) {
	Init()
	before := LiveCounts()

	// Batches that never start: Free releases the prepared slice.
	for _, n := range []int{5, 100} {
		b := NewBatch(&tag{}, TagBatch)
		if err := b.PrepareMessage(fixedMarshaler{}, bytes.Repeat([]byte("p"), n)); err != nil {
			t.Fatal(err)
		}
		b.Free()
	}
	failing := NewBatch(&tag{}, TagBatch)
	if err := failing.PrepareMessage(fixedMarshaler{fail: errTest}, []byte("xyz")); err != errTest {
		t.Fatalf("PrepareMessage error %v, want %v", err, errTest)
	}
	failing.Free()

	q := NewCQ()
	srv := NewServer(&ArgsBuilder{})
	srv.RegisterCQ(q)
	port := srv.AddInsecurePort("127.0.0.1:0")
	if port == 0 {
		t.Fatal("no port")
	}
	srv.Start()
	req := &tag{}
	if rc := srv.RequestCall(q, NewBatch(req, TagRequestCall)); rc != CallOK {
		t.Fatalf("RequestCall = %s", CallErrorString(rc))
	}
	ch := NewChannel("127.0.0.1:"+strconv.Itoa(port), ChannelCredentials{}, &ArgsBuilder{})
	cc := ch.CreateCall(q, "/test.Ops/Prepared", "", 20*time.Second)
	status := start(t, cc, OpSendInitialMetadata|OpRecvInitialMetadata|OpRecvStatusOnClient, &Send{})
	waitTags(t, q, req)
	sc := req.call
	start(t, sc, OpSendInitialMetadata, &Send{})

	big := bytes.Repeat([]byte("0123456789abcdef"), 8192) // 128 KiB: several slices
	cases := []struct {
		name   string
		msg    []byte
		m      fixedMarshaler
		want   string
		inline bool // expect the one-slice, read-in-place path
	}{
		{"short (inlined slice)", []byte("hello"), fixedMarshaler{}, "hello", true},
		{"1 KiB", bytes.Repeat([]byte("k"), 1024), fixedMarshaler{}, string(bytes.Repeat([]byte("k"), 1024)), true},
		{"grew after Size", []byte("abc"), fixedMarshaler{grow: 40}, "abc" + string(bytes.Repeat([]byte("+"), 40)), true},
		{"shrank after Size", []byte("abcdef"), fixedMarshaler{shrink: 2}, "abcd", true},
		{"shrank to nothing", []byte("ab"), fixedMarshaler{shrink: 2}, "", true},
		{"empty", []byte{}, fixedMarshaler{}, "", true},
		{"128 KiB", big, fixedMarshaler{}, string(big), false},
	}
	for _, c := range cases {
		// Client to server and back, each side sending a prepared message.
		for dir, pair := range [][2]Call{{cc, sc}, {sc, cc}} {
			from, to := pair[0], pair[1]
			tg := &tag{ops: OpSendMessage}
			b := NewBatch(tg, TagBatch)
			if err := b.PrepareMessage(c.m, c.msg); err != nil {
				t.Fatal(err)
			}
			if rc := from.StartBatch(b, OpSendMessage, &Send{Message: []byte("ignored: the batch holds a prepared slice")}); rc != CallOK {
				b.Free()
				t.Fatalf("%s: StartBatch = %s", c.name, CallErrorString(rc))
			}
			rt := start(t, to, OpRecvMessage, nil)
			waitTags(t, q, tg, rt)
			if !tg.success || !rt.success || !rt.res.HasMessage {
				t.Fatalf("%s (direction %d): send %v, receive %v, has %v", c.name, dir, tg.success, rt.success, rt.res.HasMessage)
			}
			if n := rt.res.Message.Len(); n != len(c.want) {
				t.Fatalf("%s: received %d bytes, want %d", c.name, n, len(c.want))
			}
			if len(c.want) > 0 {
				if got := rt.res.Message.viewInPlace(); got != c.inline {
					t.Errorf("%s: read in place %v, want %v", c.name, got, c.inline)
				}
			}
			var got string
			if err := rt.res.Message.View(func(b []byte) error { got = string(b); return nil }); err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Fatalf("%s: received %d bytes %.20q..., want %d bytes %.20q...", c.name, len(got), got, len(c.want), c.want)
			}
			if err := rt.res.Message.View(func(b []byte) error {
				if b != nil {
					t.Errorf("%s: a second View saw %d bytes, want nil", c.name, len(b))
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
	}

	// A message taken and released unread, and one View whose f panics.
	for _, panics := range []bool{false, true} {
		st := start(t, sc, OpSendMessage, &Send{Message: big})
		rt := start(t, cc, OpRecvMessage, nil)
		waitTags(t, q, st, rt)
		if !panics {
			rt.res.Message.Release()
			rt.res.Message.Release()
			continue
		}
		func() {
			defer func() { recover() }()
			rt.res.Message.View(func([]byte) error { panic("deserializer panicked") })
		}()
	}

	done := start(t, sc, OpSendStatusFromServer|OpRecvCloseOnServer, &Send{Status: 0})
	waitTags(t, q, done, status)
	cc.Unref()
	sc.Unref()
	ch.Destroy()
	down := &tag{}
	srv.ShutdownAndNotify(q, NewBatch(down, TagShutdown))
	waitTags(t, q, down)
	srv.Destroy()
	q.Shutdown()
	for ev := q.Next(Batch{}, true); ev.Type != QueueShutdown; ev = q.Next(Batch{}, true) {
		t.Errorf("stray event %d after the server shut down", ev.Type)
		ev.Batch.Take()
		ev.Batch.Release()
	}
	q.Destroy()
	if after := LiveCounts(); after != before {
		t.Fatalf("live counts %+v, want %+v", after, before)
	}
}

var errTest = errors.New("marshal failed")
