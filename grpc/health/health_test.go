package health_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/grpc/health"
	"github.com/grpcpy/grpcpy/internal/grpcprotos"
)

const (
	serving        = health.HealthCheckResponseServing
	notServing     = health.HealthCheckResponseNotServing
	serviceUnknown = health.HealthCheckResponseServiceUnknown
)

// TestNames pins the Python names' Go forms and the proto's enum values.
func TestNames(t *testing.T) {
	if health.ServiceName != "grpc.health.v1.Health" || health.OverallHealth != "" {
		t.Errorf("SERVICE_NAME %q, OVERALL_HEALTH %q", health.ServiceName, health.OverallHealth)
	}
	enum := grpcprotos.Message("grpc.health.v1.HealthCheckResponse").Enums().ByName("ServingStatus").Values()
	for _, s := range []health.ServingStatus{health.HealthCheckResponseUnknown, serving, notServing, serviceUnknown} {
		v := enum.ByNumber(protoreflect.EnumNumber(s))
		if v == nil || string(v.Name()) != s.String() {
			t.Errorf("%d is %v in health.proto, %q here", s, v, s)
		}
	}
	if enum.Len() != 4 {
		t.Errorf("health.proto's ServingStatus has %d values", enum.Len())
	}
	if got := health.ServingStatus(7).String(); got != "ServingStatus(7)" {
		t.Errorf("String of 7: %q", got)
	}
}

// TestCheck: the whole server starts SERVING, an unknown service is
// NOT_FOUND (empty details, as grpcio), Set changes what Check answers.
func TestCheck(t *testing.T) {
	servicer := health.NewHealthServicer()
	s := serve(t, servicer, 4)
	stub := health.NewHealthStub(dial(t, s.target))
	check := func(service string) (health.ServingStatus, grpc.StatusCode, string) {
		t.Helper()
		resp, call, err := stub.Check.WithCall(&health.HealthCheckRequest{Service: service}, grpc.WithTimeout(rpcTimeout))
		if err != nil {
			return 0, code(t, err), call.Details()
		}
		return resp.GetStatus(), grpc.StatusCodeOK, ""
	}
	for _, c := range []struct {
		set     func()
		service string
		status  health.ServingStatus
		code    grpc.StatusCode
	}{
		{nil, health.OverallHealth, serving, grpc.StatusCodeOK},
		{nil, "helloworld.Greeter", 0, grpc.StatusCodeNotFound},
		{func() { servicer.Set("helloworld.Greeter", serving) }, "helloworld.Greeter", serving, grpc.StatusCodeOK},
		{func() { servicer.Set("helloworld.Greeter", notServing) }, "helloworld.Greeter", notServing, grpc.StatusCodeOK},
		{func() { servicer.Set(health.OverallHealth, notServing) }, health.OverallHealth, notServing, grpc.StatusCodeOK},
		{nil, "helloworld.greeter", 0, grpc.StatusCodeNotFound}, // names are exact
		{func() { servicer.Set("unknown-until-now", health.HealthCheckResponseUnknown) }, "unknown-until-now", health.HealthCheckResponseUnknown, grpc.StatusCodeOK},
	} {
		if c.set != nil {
			c.set()
		}
		status, code, details := check(c.service)
		if status != c.status || code != c.code || details != "" {
			t.Errorf("Check(%q) = %v, %v %q; want %v, %v", c.service, status, code, details, c.status, c.code)
		}
	}
}

// TestDynamicMessages drives the service through grpcpy's untyped
// multi-callables, with the dynamic messages of health.proto and with raw
// bytes: what any other client sends, bit for bit.
func TestDynamicMessages(t *testing.T) {
	servicer := health.NewHealthServicer()
	servicer.Set("a", notServing)
	s := serve(t, servicer, 4)
	ch := dial(t, s.target)

	const reqName, respName = "grpc.health.v1.HealthCheckRequest", "grpc.health.v1.HealthCheckResponse"
	request := func(service string) *dynamicpb.Message {
		m := grpcprotos.New(reqName)
		m.Set(m.Descriptor().Fields().ByName("service"), protoreflect.ValueOfString(service))
		return m
	}
	status := func(m any) health.ServingStatus {
		d := m.(*dynamicpb.Message)
		return health.ServingStatus(d.Get(d.Descriptor().Fields().ByName("status")).Enum())
	}
	check := ch.UnaryUnary("/grpc.health.v1.Health/Check",
		grpc.WithRequestSerializer(grpcprotos.Serializer), grpc.WithResponseDeserializer(grpcprotos.Deserializer(respName)))
	for service, want := range map[string]health.ServingStatus{"": serving, "a": notServing} {
		resp, err := check.Call(request(service), grpc.WithTimeout(rpcTimeout))
		if err != nil || status(resp) != want {
			t.Errorf("Check(%q) = %v, %v; want %v", service, resp, err, want)
		}
	}
	if _, err := check.Call(request("b"), grpc.WithTimeout(rpcTimeout)); code(t, err) != grpc.StatusCodeNotFound {
		t.Errorf("Check(b): %v, want NOT_FOUND", err)
	}

	// Raw bytes: the request {service: "a"} and the response {status: NOT_SERVING}.
	raw := ch.UnaryUnary("/grpc.health.v1.Health/Check")
	if resp, err := raw.Call([]byte("\x0a\x01a"), grpc.WithTimeout(rpcTimeout)); err != nil || string(resp.([]byte)) != "\x08\x02" {
		t.Errorf("raw Check(a) = %q, %v", resp, err)
	}
	if resp, err := raw.Call([]byte{}, grpc.WithTimeout(rpcTimeout)); err != nil || string(resp.([]byte)) != "\x08\x01" {
		t.Errorf("raw Check() = %q, %v", resp, err)
	}
	if _, err := raw.Call([]byte("\x0a\x05"), grpc.WithTimeout(rpcTimeout)); code(t, err) != grpc.StatusCodeInternal {
		t.Errorf("a truncated request: %v, want INTERNAL", err)
	}

	// Watch of an unknown service: SERVICE_UNKNOWN, then every change.
	watch := ch.UnaryStream("/grpc.health.v1.Health/Watch",
		grpc.WithRequestSerializer(grpcprotos.Serializer), grpc.WithResponseDeserializer(grpcprotos.Deserializer(respName)))
	it, err := watch.Call(request("b"), grpc.WithTimeout(rpcTimeout))
	if err != nil {
		t.Fatal(err)
	}
	defer it.Cancel()
	nextStatus := func() health.ServingStatus {
		t.Helper()
		m, err := it.Next()
		if err != nil {
			t.Fatalf("Watch(b): %v", err)
		}
		return status(m)
	}
	if got := nextStatus(); got != serviceUnknown {
		t.Fatalf("Watch(b) first: %v, want SERVICE_UNKNOWN", got)
	}
	servicer.Set("b", serving)
	servicer.Set("b", serving) // no change: no message
	servicer.Set("b", notServing)
	for i, want := range []health.ServingStatus{serving, notServing} {
		if got := nextStatus(); got != want {
			t.Fatalf("Watch(b) change %d: %v, want %v", i, got, want)
		}
	}
}

// TestWatch: each watcher gets the current status, then every change of
// its own service, in order; other services' changes do not reach it.
func TestWatch(t *testing.T) {
	servicer := health.NewHealthServicer()
	s := serve(t, servicer, 8)
	stub := health.NewHealthStub(dial(t, s.target))
	open := func(service string) *grpc.TypedCallIterator[*health.HealthCheckResponse] {
		t.Helper()
		it, err := stub.Watch.Call(&health.HealthCheckRequest{Service: service}, grpc.WithTimeout(rpcTimeout))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { it.Cancel() })
		return it
	}
	overall1, overall2, greeter := open(""), open(""), open("helloworld.Greeter")
	for _, c := range []struct {
		it   *grpc.TypedCallIterator[*health.HealthCheckResponse]
		want health.ServingStatus
	}{{overall1, serving}, {overall2, serving}, {greeter, serviceUnknown}} {
		if got := next(t, c.it); got != c.want {
			t.Fatalf("first status %v, want %v", got, c.want)
		}
	}
	if n := health.Watchers(servicer); n != 3 {
		t.Errorf("%d watchers registered, want 3", n)
	}

	servicer.Set("helloworld.Greeter", serving)
	servicer.Set("", notServing)
	servicer.Set("helloworld.Greeter", notServing)
	servicer.Set("", serving)
	for _, it := range []*grpc.TypedCallIterator[*health.HealthCheckResponse]{overall1, overall2} {
		if a, b := next(t, it), next(t, it); a != notServing || b != serving {
			t.Errorf("overall: %v, %v; want NOT_SERVING, SERVING", a, b)
		}
	}
	if a, b := next(t, greeter), next(t, greeter); a != serving || b != notServing {
		t.Errorf("greeter: %v, %v; want SERVING, NOT_SERVING", a, b)
	}

	// A watcher that cancels is unregistered; the others go on.
	overall2.Cancel()
	if err := ended(t, overall2); code(t, err) != grpc.StatusCodeCancelled {
		t.Errorf("cancelled Watch: %v", err)
	}
	waitWatchers(t, servicer, 2)
	servicer.Set("", notServing)
	if got := next(t, overall1); got != notServing {
		t.Errorf("overall after a cancel: %v", got)
	}
}

// waitWatchers waits until n Watch streams are registered with servicer.
func waitWatchers(t *testing.T, servicer *health.HealthServicer, n int) {
	t.Helper()
	deadline := time.Now().Add(rpcTimeout)
	for health.Watchers(servicer) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d watchers registered, want %d", health.Watchers(servicer), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestWatchDeadline: a Watch ends with the client's deadline and is
// unregistered.
func TestWatchDeadline(t *testing.T) {
	servicer := health.NewHealthServicer()
	s := serve(t, servicer, 4)
	stub := health.NewHealthStub(dial(t, s.target))
	it, err := stub.Watch.Call(&health.HealthCheckRequest{}, grpc.WithTimeout(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if got := next(t, it); got != serving {
		t.Fatalf("first: %v", got)
	}
	if err := ended(t, it); code(t, err) != grpc.StatusCodeDeadlineExceeded {
		t.Errorf("Watch past its deadline: %v", err)
	}
	waitWatchers(t, servicer, 0)
}

// TestEnterGracefulShutdown: every known service becomes NOT_SERVING (its
// watchers see it), unknown ones stay unknown, and later Sets are ignored.
func TestEnterGracefulShutdown(t *testing.T) {
	servicer := health.NewHealthServicer()
	servicer.Set("a", serving)
	servicer.Set("b", notServing)
	s := serve(t, servicer, 8)
	stub := health.NewHealthStub(dial(t, s.target))
	watch := func(service string, timeout time.Duration) *grpc.TypedCallIterator[*health.HealthCheckResponse] {
		t.Helper()
		it, err := stub.Watch.Call(&health.HealthCheckRequest{Service: service}, grpc.WithTimeout(timeout))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { it.Cancel() })
		return it
	}
	overall, a := watch("", rpcTimeout), watch("a", rpcTimeout)
	b, c := watch("b", 2*time.Second), watch("c", 2*time.Second)
	for _, w := range []struct {
		it   *grpc.TypedCallIterator[*health.HealthCheckResponse]
		want health.ServingStatus
	}{{overall, serving}, {a, serving}, {b, notServing}, {c, serviceUnknown}} {
		if got := next(t, w.it); got != w.want {
			t.Fatalf("first: %v, want %v", got, w.want)
		}
	}

	servicer.EnterGracefulShutdown()
	servicer.EnterGracefulShutdown() // idempotent
	servicer.Set("a", serving)
	servicer.Set("c", serving)
	servicer.Set("", serving)

	for name, it := range map[string]*grpc.TypedCallIterator[*health.HealthCheckResponse]{"overall": overall, "a": a} {
		if got := next(t, it); got != notServing {
			t.Errorf("%s after EnterGracefulShutdown: %v", name, got)
		}
	}
	// b was NOT_SERVING already and c is unknown: nothing until their deadline.
	for name, it := range map[string]*grpc.TypedCallIterator[*health.HealthCheckResponse]{"b": b, "c": c} {
		if err := ended(t, it); code(t, err) != grpc.StatusCodeDeadlineExceeded {
			t.Errorf("%s: %v, want nothing until DEADLINE_EXCEEDED", name, err)
		}
	}
	for service, want := range map[string]health.ServingStatus{"": notServing, "a": notServing, "b": notServing} {
		resp, err := stub.Check.Call(&health.HealthCheckRequest{Service: service}, grpc.WithTimeout(rpcTimeout))
		if err != nil || resp.GetStatus() != want {
			t.Errorf("Check(%q) = %v, %v; want %v", service, resp.GetStatus(), err, want)
		}
	}
	if _, err := stub.Check.Call(&health.HealthCheckRequest{Service: "c"}, grpc.WithTimeout(rpcTimeout)); code(t, err) != grpc.StatusCodeNotFound {
		t.Errorf("Check(c) after a Set during the shutdown: %v, want NOT_FOUND", err)
	}
}

// TestWatchEndsWhenServerStops: open Watch streams never hold a stopping
// server up; they end with the server's stop as every RPC does: at once
// with no grace, when the grace ends otherwise (changes still flow during
// the grace).
func TestWatchEndsWhenServerStops(t *testing.T) {
	for _, c := range []struct {
		name  string
		grace time.Duration
	}{{"Stop(0)", 0}, {"Stop(NoGrace)", grpc.NoGrace}, {"Stop(500ms)", 500 * time.Millisecond}} {
		t.Run(c.name, func(t *testing.T) {
			servicer := health.NewHealthServicer()
			s := serve(t, servicer, 8)
			stub := health.NewHealthStub(dial(t, s.target))
			var its []*grpc.TypedCallIterator[*health.HealthCheckResponse]
			for _, service := range []string{"", "", "x"} {
				it, err := stub.Watch.Call(&health.HealthCheckRequest{Service: service}, grpc.WithTimeout(rpcTimeout))
				if err != nil {
					t.Fatal(err)
				}
				defer it.Cancel()
				next(t, it)
				its = append(its, it)
			}
			start := time.Now()
			stopped := make(chan *grpc.Event, 1)
			go func() { stopped <- s.Stop(c.grace) }()
			var ev *grpc.Event
			select {
			case ev = <-stopped:
			case <-time.After(10 * time.Second):
				t.Fatalf("%s did not return", c.name)
			}
			if c.grace > 0 {
				servicer.Set("x", serving) // during the grace
				if got := next(t, its[2]); got != serving {
					t.Errorf("a change during the grace: %v", got)
				}
			}
			if !ev.Wait(10 * time.Second) {
				t.Fatalf("%s: the server did not stop within 10s of its grace", c.name)
			}
			for i, it := range its {
				err := ended(t, it)
				if code := code(t, err); code != grpc.StatusCodeCancelled && code != grpc.StatusCodeUnavailable {
					t.Errorf("watch %d after the stop: %v", i, err)
				}
			}
			took := time.Since(start)
			t.Logf("%s: stopped with 3 Watch streams open in %v", c.name, took)
			if c.grace > 0 && took < c.grace {
				t.Errorf("stopped in %v, before the grace of %v", took, c.grace)
			}
			waitWatchers(t, servicer, 0)
		})
	}
}

// TestConcurrentSet: Sets from many goroutines while watchers read; each
// watcher sees no repeated status and ends at the last one set.
func TestConcurrentSet(t *testing.T) {
	servicer := health.NewHealthServicer()
	s := serve(t, servicer, 8)
	stub := health.NewHealthStub(dial(t, s.target))
	const watchers, setters, sets = 4, 8, 300
	services := []string{"a", "b"}
	var its []*grpc.TypedCallIterator[*health.HealthCheckResponse]
	for i := range watchers {
		it, err := stub.Watch.Call(&health.HealthCheckRequest{Service: services[i%2]}, grpc.WithTimeout(rpcTimeout))
		if err != nil {
			t.Fatal(err)
		}
		defer it.Cancel()
		if got := next(t, it); got != serviceUnknown {
			t.Fatalf("first: %v", got)
		}
		its = append(its, it)
	}
	var wg sync.WaitGroup
	for i := range setters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range sets {
				servicer.Set(services[(i+j)%2], serving+health.ServingStatus(j/2%2))
			}
		}()
	}
	wg.Wait()
	// The last status, one no setter used.
	for _, service := range services {
		servicer.Set(service, health.HealthCheckResponseUnknown)
	}
	for i, it := range its {
		last, n := serviceUnknown, 0
		for status := next(t, it); status != health.HealthCheckResponseUnknown; status = next(t, it) {
			if status == last {
				t.Fatalf("watcher %d: %v twice in a row", i, status)
			}
			last, n = status, n+1
		}
		t.Logf("watcher %d of %q: %d changes", i, services[i%2], n)
	}
}

// TestWatchDoesNotHoldWorkers: with experimental_non_blocking (the
// default) more Watch streams than the server has workers leave Check
// answered; without it each Watch holds a worker, as in grpcio.
func TestWatchDoesNotHoldWorkers(t *testing.T) {
	for _, nonBlocking := range []bool{true, false} {
		t.Run(fmt.Sprint("non-blocking=", nonBlocking), func(t *testing.T) {
			servicer := health.NewHealthServicer(health.WithExperimentalNonBlocking(nonBlocking))
			s := serve(t, servicer, 2)
			stub := health.NewHealthStub(dial(t, s.target))
			for range 2 {
				it, err := stub.Watch.Call(&health.HealthCheckRequest{}, grpc.WithTimeout(rpcTimeout))
				if err != nil {
					t.Fatal(err)
				}
				defer it.Cancel()
				next(t, it)
			}
			timeout := rpcTimeout
			if !nonBlocking {
				timeout = 500 * time.Millisecond
			}
			_, err := stub.Check.Call(&health.HealthCheckRequest{}, grpc.WithTimeout(timeout))
			if want := map[bool]grpc.StatusCode{true: grpc.StatusCodeOK, false: grpc.StatusCodeDeadlineExceeded}[nonBlocking]; code(t, err) != want {
				t.Errorf("Check beside 2 Watch streams on 2 workers: %v, want %v", err, want)
			}
		})
	}
}

// TestExperimentalThreadPool: Watch's handler runs on the executor given.
func TestExperimentalThreadPool(t *testing.T) {
	own := grpc.NewThreadPoolExecutor(1)
	defer own.Shutdown(true)
	counting := &countingExecutor{Executor: own}
	servicer := health.NewHealthServicer(health.WithExperimentalThreadPool(counting))
	s := serve(t, servicer, 2)
	stub := health.NewHealthStub(dial(t, s.target))
	for range 3 {
		it, err := stub.Watch.Call(&health.HealthCheckRequest{}, grpc.WithTimeout(rpcTimeout))
		if err != nil {
			t.Fatal(err)
		}
		defer it.Cancel()
		next(t, it)
	}
	if n := counting.n.Load(); n != 3 {
		t.Errorf("the thread pool ran %d Watch handlers, want 3", n)
	}
}

// countingExecutor counts the work it passes on.
type countingExecutor struct {
	grpc.Executor
	n atomic.Int32
}

func (e *countingExecutor) Submit(fn func()) error {
	e.n.Add(1)
	return e.Executor.Submit(fn)
}

// tableServicer is a Servicer of its own, embedding the unimplemented
// base as generated servicers do.
type tableServicer struct {
	health.UnimplementedHealthServicer
}

func (tableServicer) Check(request *health.HealthCheckRequest, context *grpc.ServicerContext) (*health.HealthCheckResponse, error) {
	if request.Service == "db" {
		return &health.HealthCheckResponse{Status: notServing}, nil
	}
	return &health.HealthCheckResponse{Status: serving}, nil
}

// TestOwnServicer: AddHealthServicerToServer serves any Servicer; the
// unimplemented base answers UNIMPLEMENTED "Method not implemented!".
func TestOwnServicer(t *testing.T) {
	s := serve(t, tableServicer{}, 4)
	stub := health.NewHealthStub(dial(t, s.target))
	if resp, err := stub.Check.Call(&health.HealthCheckRequest{Service: "db"}, grpc.WithTimeout(rpcTimeout)); err != nil || resp.Status != notServing {
		t.Errorf("Check(db) = %v, %v", resp, err)
	}
	it, err := stub.Watch.Call(&health.HealthCheckRequest{}, grpc.WithTimeout(rpcTimeout))
	if err != nil {
		t.Fatal(err)
	}
	err = ended(t, it)
	if code(t, err) != grpc.StatusCodeUnimplemented || it.Details() != "Method not implemented!" {
		t.Errorf("Watch: %v", err)
	}
}

// ExampleHealthServicer serves health next to a service and checks it.
func ExampleHealthServicer() {
	server, _ := grpc.NewServer(nil)
	servicer := health.NewHealthServicer()
	health.AddHealthServicerToServer(servicer, server)
	port, _ := server.AddInsecurePort("127.0.0.1:0")
	server.Start()
	defer server.Stop(grpc.NoGrace)

	servicer.Set("helloworld.Greeter", health.HealthCheckResponseServing)

	channel, _ := grpc.InsecureChannel(fmt.Sprintf("127.0.0.1:%d", port))
	defer channel.Close()
	stub := health.NewHealthStub(channel)
	resp, _ := stub.Check.Call(&health.HealthCheckRequest{Service: "helloworld.Greeter"}, grpc.WithTimeout(5*time.Second))
	fmt.Println(resp.Status)
	_, err := stub.Check.Call(&health.HealthCheckRequest{Service: "routeguide.RouteGuide"}, grpc.WithTimeout(5*time.Second))
	fmt.Println(err.(*grpc.RpcError).Code())

	it, _ := stub.Watch.Call(&health.HealthCheckRequest{Service: "helloworld.Greeter"}, grpc.WithTimeout(5*time.Second))
	defer it.Cancel()
	first, _ := it.Next()
	servicer.Set("helloworld.Greeter", health.HealthCheckResponseNotServing)
	second, _ := it.Next()
	fmt.Println(first.Status, "then", second.Status)
	// Output:
	// SERVING
	// StatusCode.NOT_FOUND
	// SERVING then NOT_SERVING
}
