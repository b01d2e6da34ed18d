package core

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/grpcpy/grpcpy/cgo"
)

// SlotsPerCQ is how many grpc_server_request_call tags a started server
// keeps posted on each queue. grpcio keeps one, which serialises accepts
// through one thread; C# kept 2000 and grpc-rs 1024.
var SlotsPerCQ = 128

// Server owns one grpc_server: its ports, the request-call slots on every
// engine queue, and the shutdown sequence (shutdown_and_notify, then
// destroy once the shutdown tag, every slot and every call are back).
type Server struct {
	eng    *Engine
	onCall func(*ServerCall)

	mu           sync.Mutex
	s            cgo.Server
	started      bool
	shuttingDown bool
	shutdownSeen bool
	destroyed    bool
	slots        int
	calls        int
	stopped      chan struct{}
	onDestroy    []func()
}

// NewServer creates a grpc_server with the given channel args and
// registers every engine queue. onCall receives each new call on a poller
// goroutine and must hand it off without blocking.
func NewServer(args *cgo.ArgsBuilder, onCall func(*ServerCall)) (*Server, error) {
	e := Default()
	s := cgo.NewServer(args)
	srv := &Server{eng: e, s: s, onCall: onCall, stopped: make(chan struct{})}
	for _, q := range e.CQs() {
		s.RegisterCQ(q)
	}
	return srv, nil
}

// ErrServerStarted is returned for operations only allowed before Start.
var ErrServerStarted = errors.New("server already started")

// ErrServerStopped is returned for operations on a stopped server.
var ErrServerStopped = errors.New("server is stopped")

// AddInsecurePort binds addr without TLS; it returns the bound port.
func (srv *Server) AddInsecurePort(addr string) (int, error) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.shuttingDown {
		return 0, ErrServerStopped
	}
	if srv.started {
		return 0, ErrServerStarted
	}
	port := srv.s.AddInsecurePort(addr)
	if port == 0 {
		return 0, fmt.Errorf("Failed to bind to address %s; set GRPC_VERBOSITY=debug environment variable to see detailed error message.", addr)
	}
	return port, nil
}

// Start is grpc_server_start followed by posting the request-call slots.
func (srv *Server) Start() error {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.shuttingDown {
		return ErrServerStopped
	}
	if srv.started {
		return ErrServerStarted
	}
	srv.started = true
	srv.s.Start()
	for _, q := range srv.eng.CQs() {
		for range SlotsPerCQ {
			srv.postLocked(q)
		}
	}
	return nil
}

type requestSlot struct {
	srv *Server
	q   cgo.CQ
}

func (srv *Server) postLocked(q cgo.CQ) {
	b := cgo.NewBatch(&requestSlot{srv, q}, cgo.TagRequestCall)
	if rc := srv.s.RequestCall(q, b); rc != cgo.CallOK {
		b.Free()
		return
	}
	srv.slots++
}

// Complete handles a request-call tag: a new call, or (success false) a
// slot returned by shutdown.
func (r *requestSlot) Complete(ev cgo.Event) {
	srv := r.srv
	srv.mu.Lock()
	srv.slots--
	if !ev.Success {
		srv.maybeDestroyLocked()
		srv.mu.Unlock()
		return
	}
	b := ev.Batch
	sc := &ServerCall{
		srv:      srv,
		c:        b.NewCall(),
		Method:   b.Method(),
		Host:     b.Host(),
		Metadata: b.InitialMetadata(),
		closed:   make(chan struct{}),
	}
	sc.Deadline, sc.HasDeadline = b.Deadline()
	srv.calls++
	if !srv.shuttingDown {
		srv.postLocked(r.q) // replenish the slot this call used
	}
	srv.mu.Unlock()
	srv.onCall(sc)
}

type shutdownTag struct{ srv *Server }

func (t *shutdownTag) Complete(cgo.Event) {
	t.srv.mu.Lock()
	t.srv.shutdownSeen = true
	t.srv.maybeDestroyLocked()
	t.srv.mu.Unlock()
}

func (srv *Server) maybeDestroyLocked() {
	if srv.destroyed || !srv.shutdownSeen || srv.slots > 0 || srv.calls > 0 {
		return
	}
	srv.destroyed = true
	srv.s.Destroy()
	for _, f := range srv.onDestroy {
		f()
	}
	close(srv.stopped)
}

// Shutdown is grpc_server_shutdown_and_notify: no new calls are accepted;
// calls in flight go on. Idempotent.
func (srv *Server) Shutdown() {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.shuttingDown {
		return
	}
	srv.shuttingDown = true
	q := srv.eng.Pick()
	srv.s.ShutdownAndNotify(q, cgo.NewBatch(&shutdownTag{srv}, cgo.TagShutdown))
}

// CancelAll is grpc_server_cancel_all_calls; only after Shutdown.
func (srv *Server) CancelAll() {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.shuttingDown && !srv.destroyed {
		srv.s.CancelAllCalls()
	}
}

// Stopped is closed once the server is destroyed: shut down, every slot
// returned and every call finished.
func (srv *Server) Stopped() <-chan struct{} { return srv.stopped }

// ShuttingDown reports whether Shutdown was called.
func (srv *Server) ShuttingDown() bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.shuttingDown
}

func (srv *Server) callDone() {
	srv.mu.Lock()
	srv.calls--
	srv.maybeDestroyLocked()
	srv.mu.Unlock()
}

// ServerCall is one server-side grpc_call. Its owner (the handler
// goroutine) must call Finish exactly once.
type ServerCall struct {
	srv *Server

	Method      string
	Host        string
	Metadata    []Metadatum
	Deadline    time.Time
	HasDeadline bool

	mu         sync.Mutex
	c          cgo.Call
	pending    sync.WaitGroup
	closed     chan struct{}
	statusSent bool
	finished   bool
}

func (sc *ServerCall) batchDone(bool) { sc.pending.Done() }

// Start starts a batch on the call (serialised, as the core requires).
func (sc *ServerCall) Start(ops uint32, send *cgo.Send, after func(*Op)) (*Op, error) {
	o := newOp(sc, ops)
	o.after = after
	b := cgo.NewBatch(o, cgo.TagBatch)
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.finished {
		b.Free()
		return nil, ErrCallOver
	}
	sc.pending.Add(1)
	if rc := sc.c.StartBatch(b, ops, send); rc != cgo.CallOK {
		sc.pending.Done()
		b.Free()
		return nil, &CallError{Code: rc, Op: "grpc_call_start_batch"}
	}
	if ops&cgo.OpSendStatusFromServer != 0 {
		sc.statusSent = true
	}
	return o, nil
}

// StartRecvClose starts RECV_CLOSE_ON_SERVER alone (with RECV_MESSAGE in the
// same batch it would only complete when the call ends). onClose runs on
// the poller when the call is over, with cancelled true if it did not end
// with a status sent by this server.
func (sc *ServerCall) StartRecvClose(onClose func(cancelled bool)) error {
	_, err := sc.Start(cgo.OpRecvCloseOnServer, nil, func(o *Op) {
		close(sc.closed)
		onClose(o.Cancelled)
	})
	return err
}

// Closed is closed when RECV_CLOSE_ON_SERVER has completed.
func (sc *ServerCall) Closed() <-chan struct{} { return sc.closed }

// Cancel is grpc_call_cancel.
func (sc *ServerCall) Cancel() bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.finished {
		return false
	}
	return sc.c.Cancel() == cgo.CallOK
}

// Peer is grpc_call_get_peer.
func (sc *ServerCall) Peer() string {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.finished {
		return ""
	}
	return sc.c.Peer()
}

// AuthContext is grpc_call_auth_context, read into Go.
func (sc *ServerCall) AuthContext() (props []cgo.AuthProperty, identityName string, authenticated, ok bool) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.finished {
		return nil, "", false, false
	}
	return sc.c.AuthContext()
}

// Reject answers a call without running a handler: one batch of
// SEND_INITIAL_METADATA, RECV_CLOSE_ON_SERVER and SEND_STATUS_FROM_SERVER,
// as grpcio does for unknown methods.
func (sc *ServerCall) Reject(code int, details string) {
	o, err := sc.Start(cgo.OpSendInitialMetadata|cgo.OpRecvCloseOnServer|cgo.OpSendStatusFromServer,
		&cgo.Send{Status: code, Details: details}, nil)
	if err == nil {
		o.Wait()
	}
}

// Finish waits for every batch started on the call, including
// RECV_CLOSE_ON_SERVER, then drops the call's core reference.
func (sc *ServerCall) Finish() {
	sc.mu.Lock()
	if !sc.statusSent {
		// A handler path that never sent a status would leave
		// RECV_CLOSE_ON_SERVER pending until the client gave up.
		sc.c.Cancel()
	}
	sc.mu.Unlock()
	sc.pending.Wait()
	sc.mu.Lock()
	sc.finished = true
	c := sc.c
	sc.c = cgo.Call{}
	sc.mu.Unlock()
	if !c.Nil() {
		c.Unref()
	}
	sc.srv.callDone()
}
