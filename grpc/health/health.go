// Package health is gRPC Python's health checking, grpc_health.v1.health
// (the grpcio-health-checking package), in Go: a HealthServicer that
// serves grpc.health.v1.Health (Check and Watch) on a grpcpy server, and
// the parts of the generated health_pb2 / health_pb2_grpc modules a
// program uses with it.
//
//	from grpc_health.v1 import health, health_pb2, health_pb2_grpc
//	health_servicer = health.HealthServicer()                       // servicer := health.NewHealthServicer()
//	health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)  // health.AddHealthServicerToServer(servicer, server)
//	health_servicer.set('helloworld.Greeter',                       // servicer.Set("helloworld.Greeter",
//	    health_pb2.HealthCheckResponse.NOT_SERVING)                 //     health.HealthCheckResponseNotServing)
//	health_servicer.enter_graceful_shutdown()                       // servicer.EnterGracefulShutdown()
//
// Behaviour is grpcio's: the whole server (OverallHealth, the empty name)
// starts SERVING, every other service is unknown until Set; Check of an
// unknown service ends with NOT_FOUND; Watch answers at once with the
// current status (SERVICE_UNKNOWN for an unknown service) and then streams
// every change, in order, until the client cancels, its deadline passes,
// or the server stops: Server.Stop cancels a Watch as it cancels every
// RPC, at once without a grace and when the grace ends otherwise, so an
// open Watch never holds a stopping server up. EnterGracefulShutdown
// makes every known service NOT_SERVING for good; call it when a graceful
// stop begins.
//
// Two differences from grpcio. A Set that does not change a service's
// status (or EnterGracefulShutdown for a service that is NOT_SERVING
// already) sends its watchers nothing, where grpcio sends the same status
// again: the health protocol has the server send "a new message whenever
// the service's serving status changes", and grpc-go's server does the
// same. And a watcher whose client does not read keeps at most 1,024
// changes (the oldest go; the latest always arrives), where grpcio's
// queue has no bound.
//
// # Messages and grpc-go
//
// HealthCheckRequest and HealthCheckResponse are plain Go structs with
// protobuf's encoding, not generated protobuf types: a program may also
// link grpc-go, whose generated google.golang.org/grpc/health/grpc_health_v1
// registers grpc.health.v1 in protobuf-go's global registry, and
// protobuf-go panics at start-up on a name registered twice. Their
// encoding is written out with protowire: this package adds about 44 KiB
// to a stripped grpcpy program, where grpc-go's generated package would
// bring grpc-go itself (about 5.4 MiB). tests/peers/health runs grpc-go's
// health client and server in one binary with this package and measures
// both.
package health

import (
	"iter"
	"sync"

	"github.com/grpcpy/grpcpy/grpc"
)

// ServiceName mirrors grpc_health.v1.health.SERVICE_NAME: the full name
// of the health checking service.
const ServiceName = "grpc.health.v1.Health"

// OverallHealth mirrors grpc_health.v1.health.OVERALL_HEALTH: the service
// name that stands for the whole server.
const OverallHealth = ""

// maxPending bounds the changes queued for one watcher whose client does
// not read (flow control holds its stream): past it the oldest are
// dropped, so the client still ends at the latest status (grpc-go's
// server keeps only the latest; grpcio queues without bound).
const maxPending = 1024

// HealthServicer mirrors grpc_health.v1.health.HealthServicer: the
// statuses of a server's services, served as grpc.health.v1.Health by
// AddHealthServicerToServer. Its methods are safe for concurrent use. The
// zero value is what NewHealthServicer() returns.
type HealthServicer struct {
	blocking   bool // experimental_non_blocking=False
	threadPool grpc.Executor

	mu           sync.Mutex
	status       map[string]ServingStatus
	watchers     map[string]map[*watcher]struct{}
	shuttingDown bool
}

// watcher is one Watch stream: the statuses still to send, guarded by the
// servicer's mu.
type watcher struct {
	pending    []ServingStatus
	lastQueued ServingStatus
	wake       chan struct{} // capacity 1: something was queued
}

// push queues status unless it repeats the last one queued; s.mu is held.
func (w *watcher) push(status ServingStatus) {
	if status == w.lastQueued {
		return
	}
	if len(w.pending) == maxPending {
		w.pending = w.pending[1:]
	}
	w.pending = append(w.pending, status)
	w.lastQueued = status
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// HealthServicerOption is a keyword argument of HealthServicer().
type HealthServicerOption func(*HealthServicer)

// WithExperimentalNonBlocking is the experimental_non_blocking= keyword
// (default true, as grpcio's): Watch streams hold no worker of the
// server's thread pool while they wait for changes
// (grpc.RpcMethodHandler.ExperimentalNonBlocking: the stream is drained on
// a goroutine of its own). With false each open Watch holds a worker
// until it ends, and a server with n workers serves no other RPC while n
// Watch streams are open.
func WithExperimentalNonBlocking(nonBlocking bool) HealthServicerOption {
	return func(s *HealthServicer) { s.blocking = !nonBlocking }
}

// WithExperimentalThreadPool is the experimental_thread_pool= keyword: the
// executor that runs Watch's handler instead of the server's thread pool
// (grpc.RpcMethodHandler.ExperimentalThreadPool).
func WithExperimentalThreadPool(threadPool grpc.Executor) HealthServicerOption {
	return func(s *HealthServicer) { s.threadPool = threadPool }
}

// NewHealthServicer mirrors HealthServicer(experimental_non_blocking=True,
// experimental_thread_pool=None): a servicer whose whole server
// (OverallHealth) is SERVING and every other service unknown.
func NewHealthServicer(opts ...HealthServicerOption) *HealthServicer {
	s := new(HealthServicer)
	for _, o := range opts {
		o(s)
	}
	return s
}

// lock locks s.mu, first making the state of a new servicer.
func (s *HealthServicer) lock() {
	s.mu.Lock()
	if s.status == nil {
		s.status = map[string]ServingStatus{OverallHealth: HealthCheckResponseServing}
		s.watchers = map[string]map[*watcher]struct{}{}
	}
}

// Set mirrors set(service, status): the status of service (OverallHealth
// for the whole server), sent to its watchers if it changed. Ignored after
// EnterGracefulShutdown.
func (s *HealthServicer) Set(service string, status ServingStatus) {
	s.lock()
	defer s.mu.Unlock()
	if s.shuttingDown {
		return
	}
	s.setLocked(service, status)
}

func (s *HealthServicer) setLocked(service string, status ServingStatus) {
	s.status[service] = status
	for w := range s.watchers[service] {
		w.push(status)
	}
}

// EnterGracefulShutdown mirrors enter_graceful_shutdown(): "Permanently
// sets the status of all services to NOT_SERVING"; later Sets are
// ignored. Services never Set stay unknown. Call it when the server
// begins a graceful stop, so that load balancers and probes move away
// before Stop's grace ends.
func (s *HealthServicer) EnterGracefulShutdown() {
	s.lock()
	defer s.mu.Unlock()
	if s.shuttingDown {
		return
	}
	s.shuttingDown = true
	for service := range s.status {
		s.setLocked(service, HealthCheckResponseNotServing)
	}
}

// Check mirrors Check(request, context): the status of request.Service;
// an unknown service ends the RPC with NOT_FOUND (and empty details, as
// grpcio's).
func (s *HealthServicer) Check(request *HealthCheckRequest, context *grpc.ServicerContext) (*HealthCheckResponse, error) {
	s.lock()
	status, ok := s.status[request.GetService()]
	s.mu.Unlock()
	if !ok {
		context.SetCode(grpc.StatusCodeNotFound)
		return &HealthCheckResponse{}, nil
	}
	return &HealthCheckResponse{Status: status}, nil
}

// Watch mirrors Watch(request, context): a stream that starts with the
// current status of request.Service (SERVICE_UNKNOWN if it is unknown)
// and then carries every change, in order, until the RPC ends: the client
// cancels, its deadline passes, or the server stops (which cancels every
// RPC). The stream never ends on its own.
func (s *HealthServicer) Watch(request *HealthCheckRequest, context *grpc.ServicerContext) iter.Seq2[*HealthCheckResponse, error] {
	service := request.GetService()
	return func(yield func(*HealthCheckResponse, error) bool) {
		for status := range s.watch(service, context.Context().Done()) {
			if !yield(&HealthCheckResponse{Status: status}, nil) {
				return
			}
		}
	}
}

// watch yields the current status of service, then every change, until
// done is closed or the consumer stops.
func (s *HealthServicer) watch(service string, done <-chan struct{}) iter.Seq[ServingStatus] {
	return func(yield func(ServingStatus) bool) {
		w := s.addWatcher(service)
		defer s.removeWatcher(service, w)
		sent, last := false, HealthCheckResponseUnknown
		for {
			s.lock()
			if len(w.pending) == 0 {
				s.mu.Unlock()
				select {
				case <-w.wake:
					continue
				case <-done:
					return
				}
			}
			status := w.pending[0]
			w.pending = w.pending[1:]
			s.mu.Unlock()
			if sent && status == last {
				continue // the changes between were dropped (maxPending)
			}
			if !yield(status) {
				return
			}
			sent, last = true, status
		}
	}
}

// addWatcher registers a watcher of service with its current status queued.
func (s *HealthServicer) addWatcher(service string) *watcher {
	s.lock()
	defer s.mu.Unlock()
	status, ok := s.status[service]
	if !ok {
		status = HealthCheckResponseServiceUnknown
	}
	w := &watcher{pending: []ServingStatus{status}, lastQueued: status, wake: make(chan struct{}, 1)}
	ws := s.watchers[service]
	if ws == nil {
		ws = map[*watcher]struct{}{}
		s.watchers[service] = ws
	}
	ws[w] = struct{}{}
	return w
}

func (s *HealthServicer) removeWatcher(service string, w *watcher) {
	s.lock()
	defer s.mu.Unlock()
	delete(s.watchers[service], w)
	if len(s.watchers[service]) == 0 {
		delete(s.watchers, service)
	}
}
