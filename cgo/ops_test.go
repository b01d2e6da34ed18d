package cgo

import (
	"bytes"
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
	if !s1.success || !s1.res.HasMessage || s1.res.Message == nil || len(s1.res.Message) != 0 {
		t.Fatalf("server first read: success %v, has %v, message %q", s1.success, s1.res.HasMessage, s1.res.Message)
	}
	if s1.res.Details != "untouched" || s1.res.InitialMetadata != nil {
		t.Fatalf("Read set fields of ops the batch did not have: %+v", s1.res)
	}

	// The client half-closed: end of stream.
	s2 := start(t, sc, OpRecvMessage, nil)
	waitTags(t, q, s2)
	if !s2.success || s2.res.HasMessage || s2.res.Message != nil {
		t.Fatalf("server second read: success %v, has %v, message %d bytes", s2.success, s2.res.HasMessage, len(s2.res.Message))
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
	if !client.success || !r.HasMessage || !bytes.Equal(r.Message, big) {
		t.Fatalf("client: success %v, has %v, message %d bytes", client.success, r.HasMessage, len(r.Message))
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
