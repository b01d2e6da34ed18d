package xds

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"

	"github.com/grpcpy/grpcpy/grpc"
)

const serverNode = "xds-server-node"

// freePort returns a port the kernel just gave out and took back: the xDS
// server's Listener is named by its address, so the port is chosen first.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// statusLine is one "STATUS <address> <code> <message>" of the child.
type statusLine struct {
	at      time.Time
	address string
	code    string
	message string
}

func parseStatus(t *testing.T, line string) statusLine {
	t.Helper()
	f := strings.SplitN(line, " ", 4)
	if len(f) != 4 {
		t.Fatalf("bad status line %q", line)
	}
	msg, err := strconv.Unquote(f[3])
	if err != nil {
		t.Fatalf("bad status line %q: %v", line, err)
	}
	return statusLine{at: time.Now(), address: f[1], code: f[2], message: msg}
}

// who makes one RPC on ch; it returns the answering server or the error.
func who(ch *grpc.Channel, timeout time.Duration) (string, error) {
	r, err := ch.UnaryUnary(whoMethod).Call([]byte{}, grpc.WithTimeout(timeout))
	if err != nil {
		return "", err
	}
	return string(r.([]byte)), nil
}

// TestXdsServer: an xDS server (grpc.server(xds=True), a port added with
// xds_server_credentials(insecure_server_credentials())) serves only
// while the control plane has its inbound Listener, and reports each
// change through the serving-status callback.
func TestXdsServer(t *testing.T) {
	t.Parallel()
	cp := newControlPlane(t)
	cp.set(serverNode, map[resource.Type][]types.Resource{})
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	listener := map[resource.Type][]types.Resource{resource.ListenerType: {serverListener("127.0.0.1", port)}}

	start := time.Now()
	srv := startChild(t, "server", cp.bootstrap(serverNode), "GRPCPY_XDS_PORT="+strconv.Itoa(port))
	// AddSecurePort on an xDS server: the core does not bind the port
	// before the Listener arrives, and returns -1.
	if got := srv.expect("PORT ", testTimeout); got != "PORT -1" && got != fmt.Sprintf("PORT %d", port) {
		t.Fatalf("server child: AddSecurePort(%q) returned %q", addr, got)
	} else {
		t.Logf("XDS server: AddSecurePort(%q, XdsServerCredentials(...)) returned %s", addr, strings.TrimPrefix(got, "PORT "))
	}

	// 1. No Listener yet: not serving. The core learns that the Listener
	// does not exist only when its resource timer (15s) fires.
	if err := refused(t, addr); err != nil {
		t.Logf("XDS server: before any Listener, an RPC fails: %s", describe(err))
	}
	first := parseStatus(t, srv.expect("STATUS ", testTimeout))
	t.Logf("XDS server: with no Listener, first serving status %v after the server started: %s %s %q",
		first.at.Sub(start).Round(time.Millisecond), first.address, first.code, first.message)
	if first.code == grpc.StatusCodeOK.String() || first.address != addr {
		t.Fatalf("serving without a Listener: %+v", first)
	}
	if err := refused(t, addr); err != nil {
		t.Logf("XDS server: while NOT_SERVING, an RPC fails: %s", describe(err))
	}

	// 2. The Listener arrives: serving.
	added := cp.set(serverNode, listener)
	serving := parseStatus(t, srv.expect("STATUS ", testTimeout))
	t.Logf("XDS server: Listener added, serving status %v later: %s %s %q",
		serving.at.Sub(added).Round(time.Millisecond), serving.address, serving.code, serving.message)
	if serving.code != grpc.StatusCodeOK.String() || serving.address != addr {
		t.Fatalf("after the Listener: %+v", serving)
	}
	existing, after := firstAnswer(t, addr, added)
	t.Logf("XDS server: serving, the first RPC on a new channel was answered %v after the Listener was set", after.Round(time.Millisecond))

	// 3. The Listener is removed while an RPC is in flight on an open
	// connection: see what becomes of it, of that connection and of new
	// ones.
	inflight := make(chan error, 1)
	go func() {
		_, err := existing.UnaryUnary(sleepMethod).Call([]byte("1000"), grpc.WithTimeout(rpcTimeout))
		inflight <- err
	}()
	time.Sleep(200 * time.Millisecond)
	removed := cp.set(serverNode, map[resource.Type][]types.Resource{})
	gone := parseStatus(t, srv.expect("STATUS ", testTimeout))
	t.Logf("XDS server: Listener removed, serving status %v later: %s %s %q",
		gone.at.Sub(removed).Round(time.Millisecond), gone.address, gone.code, gone.message)
	if gone.code == grpc.StatusCodeOK.String() {
		t.Fatalf("still serving after the Listener was removed: %+v", gone)
	}
	var existingOK, existingFailed int
	var firstFail string
	var firstFailAfter time.Duration
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if _, err := who(existing, time.Second); err != nil {
			if existingFailed == 0 {
				firstFail, firstFailAfter = describe(err), time.Since(removed)
			}
			existingFailed++
		} else {
			existingOK++
		}
	}
	select {
	case err := <-inflight:
		if err != nil {
			t.Errorf("XDS server: the RPC in flight when the Listener was removed failed: %s", describe(err))
		} else {
			t.Logf("XDS server: the RPC in flight when the Listener was removed completed (drained, not cut)")
		}
	case <-time.After(testTimeout):
		t.Fatal("the RPC in flight never ended")
	}
	existing.Close()
	t.Logf("XDS server: on the channel connected before the removal, over 1s: %d RPCs answered, %d failed (first failure %v after the removal: %s)",
		existingOK, existingFailed, firstFailAfter.Round(time.Millisecond), firstFail)
	if existingOK > 1 {
		t.Errorf("%d new RPCs answered after the Listener was removed", existingOK)
	}
	if err := refused(t, addr); err != nil {
		t.Logf("XDS server: a new channel after the removal fails: %s", describe(err))
	}

	// 4. The Listener comes back: serving again.
	readded := cp.set(serverNode, listener)
	again := parseStatus(t, srv.expect("STATUS ", testTimeout))
	t.Logf("XDS server: Listener added again, serving status %v later: %s %s %q",
		again.at.Sub(readded).Round(time.Millisecond), again.address, again.code, again.message)
	if again.code != grpc.StatusCodeOK.String() {
		t.Fatalf("after the Listener came back: %+v", again)
	}
	ch, after := firstAnswer(t, addr, readded)
	ch.Close()
	t.Logf("XDS server: serving again, the first RPC on a new channel was answered %v after the Listener was set", after.Round(time.Millisecond))
	cp.logRequests(t)
}

// newChannel opens a plain channel to addr with a subchannel pool of its
// own, so that no other channel's reconnect backoff delays it.
func newChannel(t *testing.T, addr string) *grpc.Channel {
	t.Helper()
	ch, err := grpc.InsecureChannel(addr, grpc.Option("grpc.use_local_subchannel_pool", 1))
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// refused checks that an RPC on a new channel to addr fails, and returns
// its error.
func refused(t *testing.T, addr string) error {
	t.Helper()
	ch := newChannel(t, addr)
	defer ch.Close()
	name, err := who(ch, time.Second)
	if err == nil {
		t.Fatalf("an RPC to %s while not serving was answered by %s", addr, name)
	}
	return err
}

// firstAnswer opens new channels to addr until one answers (each with a
// short deadline); it returns that channel and the time since since.
func firstAnswer(t *testing.T, addr string, since time.Time) (*grpc.Channel, time.Duration) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		ch := newChannel(t, addr)
		_, err := who(ch, 500*time.Millisecond)
		if err == nil {
			return ch, time.Since(since)
		}
		ch.Close()
		if time.Now().After(deadline) {
			t.Fatalf("no answer from %s within %v: %s", addr, testTimeout, describe(err))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
