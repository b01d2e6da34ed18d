package xds

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/grpcpy/grpcpy/core"
	"github.com/grpcpy/grpcpy/grpc"
)

// The children's side. Each reads commands on standard input and answers
// with lines on standard output; the end of input ends it.

// out serialises the child's output lines.
var out = struct {
	sync.Mutex
	w *bufio.Writer
}{w: bufio.NewWriter(os.Stdout)}

func say(format string, args ...any) {
	out.Lock()
	defer out.Unlock()
	fmt.Fprintf(out.w, format+"\n", args...)
	out.w.Flush()
}

func describe(err error) string {
	var rpcErr *grpc.RpcError
	if errors.As(err, &rpcErr) {
		return fmt.Sprintf("%s %q", rpcErr.Code(), rpcErr.Details())
	}
	return err.Error()
}

// clientChild is the xDS client: a channel to xds:///my-service with xDS
// credentials falling back to insecure, under load on "load" until
// "stop", or one RPC on "call". With GRPCPY_XDS_IDLE_MS set the channel
// goes idle after that long without RPCs (grpc.client_idle_timeout_ms).
func clientChild() int { return leakFree(runClient()) }

func runClient() int {
	var opts []grpc.ChannelOption
	if ms := os.Getenv("GRPCPY_XDS_IDLE_MS"); ms != "" {
		n, err := strconv.Atoi(ms)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		opts = append(opts, grpc.Option("grpc.client_idle_timeout_ms", n))
	}
	ch, err := grpc.SecureChannel("xds:///"+serviceName, grpc.XdsChannelCredentials(grpc.InsecureChannelCredentials()), opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer ch.Close()
	who := ch.UnaryUnary(whoMethod)
	call := func() (string, error) {
		r, err := who.Call([]byte{}, grpc.WithTimeout(rpcTimeout))
		if err != nil {
			return "", err
		}
		return string(r.([]byte)), nil
	}
	say("READY")

	var (
		stopLoad chan struct{}
		loadDone chan struct{}
		mu       sync.Mutex
		counts   map[string]int
		failed   int
	)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch cmd := in.Text(); cmd {
		case "load":
			stopLoad, loadDone = make(chan struct{}), make(chan struct{})
			counts, failed = map[string]int{}, 0
			go func(stop, done chan struct{}) {
				defer close(done)
				for {
					select {
					case <-stop:
						return
					default:
					}
					name, err := call()
					mu.Lock()
					if err != nil {
						failed++
						if failed <= 20 {
							say("FAIL %s", describe(err))
						}
					} else {
						counts[name]++
					}
					mu.Unlock()
				}
			}(stopLoad, loadDone)
			say("LOADING")
		case "stop":
			if stopLoad == nil {
				say("STOPPED not loading")
				continue
			}
			close(stopLoad)
			<-loadDone
			stopLoad = nil
			mu.Lock()
			say("STOPPED failed=%d counts=%s", failed, formatCounts(counts))
			mu.Unlock()
		case "call":
			start := time.Now()
			name, err := call()
			if err != nil {
				say("CALL fail %s after %v", describe(err), time.Since(start).Round(time.Millisecond))
			} else {
				say("CALL ok %s after %v", name, time.Since(start).Round(time.Millisecond))
			}
		default:
			fmt.Fprintf(os.Stderr, "unknown command %q\n", cmd)
			return 2
		}
	}
	if stopLoad != nil {
		close(stopLoad)
		<-loadDone
	}
	return 0
}

func formatCounts(counts map[string]int) string {
	var names []string
	for n := range counts {
		names = append(names, n)
	}
	sort.Strings(names)
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s:%d", n, counts[n]))
	}
	return strings.Join(parts, ",")
}

// serverChild is the xDS server: grpc.server(xds=True) with one port
// added with xDS server credentials falling back to insecure, on the port
// named by GRPCPY_XDS_PORT. It prints what AddSecurePort returned, each serving-status update as
// "STATUS <address> <code> <message>" and serves until the end of input.
func serverChild() int { return leakFree(runServer()) }

func runServer() int {
	port := os.Getenv("GRPCPY_XDS_PORT")
	server, err := grpc.NewServer(nil,
		grpc.WithXds(true),
		grpc.WithHandlers(whoHandler("xds-server", nil), sleepHandler()),
		grpc.WithXdsServingStatusCallback(func(s grpc.XdsServingStatus) {
			say("STATUS %s %s %q", s.Address, s.Code, s.Message)
		}))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	creds, err := grpc.XdsServerCredentials(grpc.InsecureServerCredentials())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	bound, err := server.AddSecurePort("127.0.0.1:"+port, creds)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := server.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// The core (1.51) binds an xDS server's port only once its Listener
	// arrives, and grpc_server_add_http2_port answers -1 meanwhile.
	say("PORT %d", bound)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
	}
	if !server.Stop(time.Second).Wait(testTimeout) {
		fmt.Fprintln(os.Stderr, "server did not stop")
		return 1
	}
	return 0
}

// sleepHandler's Sleep answers after the number of milliseconds its
// request spells: an RPC in flight across a control-plane change.
func sleepHandler() grpc.GenericRpcHandler {
	return grpc.MethodHandlersGenericHandler(sleepService, map[string]*grpc.RpcMethodHandler{
		"Sleep": grpc.UnaryUnaryRpcMethodHandler(func(req any, _ *grpc.ServicerContext) (any, error) {
			ms, err := strconv.Atoi(string(req.([]byte)))
			if err != nil {
				return nil, err
			}
			time.Sleep(time.Duration(ms) * time.Millisecond)
			return []byte("slept"), nil
		}),
	})
}

const (
	sleepService = "xdstest.Sleeper"
	sleepMethod  = "/xdstest.Sleeper/Sleep"
)

// leakFree is the children's leak check (leakcheck.Main's, for a process
// that is not running tests): once the child has closed what it opened,
// every C object grpcpy made must be released, and after the engine's
// shutdown nothing may be left.
func leakFree(code int) int {
	if code != 0 {
		return code
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		l := core.Live()
		if l.Channels+l.Calls+l.Servers+l.Batches+l.Credentials == 0 && core.UnwaitedTags() == 0 {
			break
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "leak check: C objects still alive: %+v\n", l)
			return 1
		}
		time.Sleep(5 * time.Millisecond)
	}
	core.Shutdown()
	if l := core.Live(); l.Total() != 0 {
		fmt.Fprintf(os.Stderr, "leak check: C objects alive at exit: %+v\n", l)
		return 1
	}
	return 0
}
