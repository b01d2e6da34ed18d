package grpc

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/grpcpy/grpcpy/core"
	"github.com/grpcpy/grpcpy/internal/logging"
)

// ChannelConnectivity mirrors grpc.ChannelConnectivity ("Mirrors
// grpc_connectivity_state in the gRPC Core"); the integer is the core's.
type ChannelConnectivity int

// The members of grpc.ChannelConnectivity.
const (
	ChannelConnectivityIdle             ChannelConnectivity = core.ConnectivityIdle             // grpc.ChannelConnectivity.IDLE
	ChannelConnectivityConnecting       ChannelConnectivity = core.ConnectivityConnecting       // grpc.ChannelConnectivity.CONNECTING
	ChannelConnectivityReady            ChannelConnectivity = core.ConnectivityReady            // grpc.ChannelConnectivity.READY
	ChannelConnectivityTransientFailure ChannelConnectivity = core.ConnectivityTransientFailure // grpc.ChannelConnectivity.TRANSIENT_FAILURE
	ChannelConnectivityShutdown         ChannelConnectivity = core.ConnectivityShutdown         // grpc.ChannelConnectivity.SHUTDOWN
)

var connectivityNames = [...]string{"IDLE", "CONNECTING", "READY", "TRANSIENT_FAILURE", "SHUTDOWN"}

// Name is the Python member name, e.g. "READY".
func (c ChannelConnectivity) Name() string {
	if c >= 0 && int(c) < len(connectivityNames) {
		return connectivityNames[c]
	}
	return fmt.Sprintf("ChannelConnectivity(%d)", int(c))
}

// Value is grpcio's (core int, words) pair, e.g. (3, "transient failure").
func (c ChannelConnectivity) Value() (int, string) {
	return int(c), strings.ToLower(strings.ReplaceAll(c.Name(), "_", " "))
}

// String prints as Python: "ChannelConnectivity.READY".
func (c ChannelConnectivity) String() string { return "ChannelConnectivity." + c.Name() }

// Subscription is the handle Subscribe returns, standing for the
// callback in Python's unsubscribe(callback) (Go funcs are not comparable).
type Subscription struct {
	callback     func(ChannelConnectivity)
	tryToConnect bool
}

// connectivity is a channel's single connectivity watcher: one core watch
// at a time on the shared queues (no polling, no thread), and one ordered
// delivery queue for the callbacks, which never run on a poller.
type connectivity struct {
	ch *Channel

	mu         sync.Mutex
	subs       []*Subscription
	state      ChannelConnectivity
	watching   bool
	closed     bool
	queue      []delivery
	delivering bool
}

type delivery struct {
	subs  []*Subscription
	state ChannelConnectivity
}

// Subscribe mirrors grpc.Channel.subscribe(callback, try_to_connect=False):
// callback is called at once with the current state and then on every
// change, until Unsubscribe or Close (which delivers SHUTDOWN). Callbacks
// run in order on a delivery goroutine. With tryToConnect the channel
// leaves IDLE and starts connecting. Drives
// grpc_channel_check_connectivity_state and
// grpc_channel_watch_connectivity_state.
func (ch *Channel) Subscribe(callback func(ChannelConnectivity), tryToConnect bool) *Subscription {
	c := ch.conn()
	sub := &Subscription{callback: callback, tryToConnect: tryToConnect}
	// The state check and the watch stay under c.mu: reading the state
	// outside it let a stale read overwrite a newer one and, under load, a
	// try-to-connect subscriber saw only IDLE (TestConnectivityLifecycle).
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		c.enqueueLocked([]*Subscription{sub}, ChannelConnectivityShutdown)
		return sub
	}
	c.subs = append(c.subs, sub)
	state, err := ch.c.State(c.tryToConnectLocked())
	if err != nil {
		state = int(ChannelConnectivityShutdown)
	}
	c.state = ChannelConnectivity(state)
	c.enqueueLocked([]*Subscription{sub}, c.state)
	c.armLocked()
	return sub
}

// Unsubscribe mirrors grpc.Channel.unsubscribe(callback): the subscription's
// callback is not called again (a delivery already running may finish).
func (ch *Channel) Unsubscribe(sub *Subscription) {
	c := ch.conn()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, s := range c.subs {
		if s == sub {
			c.subs = append(c.subs[:i:i], c.subs[i+1:]...)
			break
		}
	}
}

func (ch *Channel) conn() *connectivity {
	r := ch.rootChannel()
	r.connOnce.Do(func() { r.connectivity = &connectivity{ch: r} })
	return r.connectivity
}

func (c *connectivity) tryToConnectLocked() bool {
	for _, s := range c.subs {
		if s.tryToConnect {
			return true
		}
	}
	return false
}

// armLocked starts a core watch from the current state, if none is pending
// and someone listens. A watch left pending after the last Unsubscribe
// ends at the next change or when the channel is destroyed.
func (c *connectivity) armLocked() {
	if c.watching || c.closed || len(c.subs) == 0 {
		return
	}
	if c.ch.c.Watch(int(c.state), c.changed) == nil {
		c.watching = true
	}
}

// changed runs on a poller when the watched state changed. It holds c.mu
// across its two short core calls (check, watch): moving them out let a
// stale state win (see Subscribe); a Subscribe holding c.mu meanwhile is
// also in a short core call.
func (c *connectivity) changed(bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.watching = false
	if c.closed {
		return
	}
	state, err := c.ch.c.State(c.tryToConnectLocked())
	if err != nil {
		return
	}
	if s := ChannelConnectivity(state); s != c.state {
		c.state = s
		c.enqueueLocked(append([]*Subscription(nil), c.subs...), s)
	}
	c.armLocked()
}

// close delivers SHUTDOWN to every subscriber and stops watching.
func (c *connectivity) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.closed = true
	c.enqueueLocked(c.subs, ChannelConnectivityShutdown)
	c.subs = nil
}

func (c *connectivity) enqueueLocked(subs []*Subscription, s ChannelConnectivity) {
	if len(subs) == 0 {
		return
	}
	c.queue = append(c.queue, delivery{subs, s})
	if !c.delivering {
		c.delivering = true
		go c.deliver()
	}
}

// deliver runs queued callbacks in order; it exits when the queue is empty.
func (c *connectivity) deliver() {
	for {
		c.mu.Lock()
		if len(c.queue) == 0 {
			c.delivering = false
			c.mu.Unlock()
			return
		}
		d := c.queue[0]
		c.queue = c.queue[1:]
		c.mu.Unlock()
		for _, sub := range d.subs {
			if d.state != ChannelConnectivityShutdown && !c.subscribed(sub) {
				continue // unsubscribed since the change was queued
			}
			logging.Guard(logging.Channel, "Exception calling channel subscription callback!",
				func() { sub.callback(d.state) })
		}
	}
}

func (c *connectivity) subscribed(sub *Subscription) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.subs {
		if s == sub {
			return true
		}
	}
	return false
}

// ChannelReadyFuture mirrors grpc.channel_ready_future(channel): a Future
// that matures (with a nil result) when the channel is READY. It asks the
// channel to connect. Cancelling it only detaches it from the channel.
func ChannelReadyFuture(ch *Channel) Future {
	f := &readyFuture{ch: ch, done: make(chan struct{})}
	sub := ch.Subscribe(func(s ChannelConnectivity) {
		if s == ChannelConnectivityReady {
			f.finish(false)
		}
	}, true)
	f.mu.Lock()
	f.sub = sub
	finished := f.finished
	f.mu.Unlock()
	if finished {
		ch.Unsubscribe(sub)
	}
	return f
}

type readyFuture struct {
	ch   *Channel
	sub  *Subscription
	done chan struct{}

	mu        sync.Mutex
	finished  bool
	cancelled bool
	callbacks []func(Future)
}

func (f *readyFuture) finish(cancelled bool) bool {
	f.mu.Lock()
	if f.finished {
		f.mu.Unlock()
		return false
	}
	f.finished, f.cancelled = true, cancelled
	cbs, sub := f.callbacks, f.sub
	f.callbacks = nil
	f.mu.Unlock()
	close(f.done)
	if sub != nil { // else ChannelReadyFuture unsubscribes once it has the handle
		f.ch.Unsubscribe(sub)
	}
	for _, cb := range cbs {
		logging.Guard(logging.Utilities, readyCallbackPanicked, func() { cb(f) })
	}
	return true
}

func (f *readyFuture) Cancel() bool { return f.finish(true) }

func (f *readyFuture) Cancelled() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cancelled
}

func (f *readyFuture) Done() bool {
	select {
	case <-f.done:
		return true
	default:
		return false
	}
}

func (f *readyFuture) Running() bool { return !f.Done() }

func (f *readyFuture) Result(timeout ...time.Duration) (any, error) {
	_, err := f.Exception(timeout...)
	return nil, err
}

func (f *readyFuture) Exception(timeout ...time.Duration) (error, error) {
	if !waitDone(f.done, timeout) {
		return nil, FutureTimeoutError{}
	}
	if f.Cancelled() {
		return nil, FutureCancelledError{}
	}
	return nil, nil
}

func (f *readyFuture) Traceback(timeout ...time.Duration) (string, error) {
	_, err := f.Exception(timeout...)
	return "", err
}

func (f *readyFuture) AddDoneCallback(fn func(Future)) {
	f.mu.Lock()
	if !f.finished {
		f.callbacks = append(f.callbacks, fn)
		f.mu.Unlock()
		return
	}
	f.mu.Unlock()
	logging.Guard(logging.Utilities, readyCallbackPanicked, func() { fn(f) })
}

// readyCallbackPanicked is grpcio's _DONE_CALLBACK_EXCEPTION_LOG_MESSAGE.
const readyCallbackPanicked = `Exception calling connectivity future "done" callback!`
