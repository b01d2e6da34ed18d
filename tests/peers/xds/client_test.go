package xds

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
)

const clientNode = "xds-client-node"

// arrival is one RPC reaching a backend.
type arrival struct {
	at      time.Time
	backend int
}

// recorder logs every RPC the backends answer, in order of arrival.
type recorder struct {
	mu  sync.Mutex
	log []arrival
}

func (r *recorder) add(b int) {
	r.mu.Lock()
	r.log = append(r.log, arrival{time.Now(), b})
	r.mu.Unlock()
}

// since returns the arrivals at or after t.
func (r *recorder) since(t time.Time) []arrival {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := len(r.log)
	for i > 0 && !r.log[i-1].at.Before(t) {
		i--
	}
	return append([]arrival(nil), r.log[i:]...)
}

// backends starts n grpcpy servers on 127.0.0.1 answering Who with
// their name (b1, b2, ...), recording each call; it returns their ports.
func backends(t *testing.T, rec *recorder, n int) []int {
	t.Helper()
	var ports []int
	for i := range n {
		s, err := grpc.NewServer(nil, grpc.WithHandlers(whoHandler(backendName(i), func() { rec.add(i) })))
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
		t.Cleanup(func() { s.Stop(0).Wait(testTimeout) })
		ports = append(ports, port)
	}
	return ports
}

func backendName(i int) string { return fmt.Sprintf("b%d", i+1) }

func count(arrs []arrival, n int) []int {
	c := make([]int, n)
	for _, a := range arrs {
		c[a.backend]++
	}
	return c
}

func formatSpread(c []int) string {
	total := 0
	for _, n := range c {
		total += n
	}
	var parts []string
	for i, n := range c {
		parts = append(parts, fmt.Sprintf("%s=%d (%.1f%%)", backendName(i), n, 100*float64(n)/float64(max(total, 1))))
	}
	return strings.Join(parts, " ")
}

// waitArrivals waits until n arrivals happened at or after t, and
// returns them (bounded by testTimeout).
func waitArrivals(t *testing.T, rec *recorder, from time.Time, n int) []arrival {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		arrs := rec.since(from)
		if len(arrs) >= n {
			return arrs[:n]
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d RPCs reached the backends within %v", len(arrs), n, testTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// followStop measures how long after t0 backend b kept getting traffic:
// it waits until b has had none for quiet while at least 300 RPCs went
// elsewhere, and returns its last arrival's distance from t0 (0 if it got
// none after t0).
func followStop(t *testing.T, rec *recorder, t0 time.Time, b int) time.Duration {
	t.Helper()
	const quiet = 500 * time.Millisecond
	deadline := time.Now().Add(testTimeout)
	for {
		arrs := rec.since(t0)
		last, after := t0, 0
		for _, a := range arrs {
			if a.backend == b {
				last, after = a.at, 0
			} else {
				after++
			}
		}
		if time.Since(last) >= quiet && after >= 300 {
			return last.Sub(t0)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still gets traffic %v after the change (last at +%v)", backendName(b), testTimeout, last.Sub(t0))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// followStart returns how long after t0 backend b got its first RPC.
func followStart(t *testing.T, rec *recorder, t0 time.Time, b int) time.Duration {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		for _, a := range rec.since(t0) {
			if a.backend == b {
				return a.at.Sub(t0)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s got no traffic within %v of the change", backendName(b), testTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// changePoint estimates where in arrs the share of backend b switched
// from p0 to p1: the split maximising the likelihood of the two binomial
// segments. The picker of the core's weighted_target is random, so the
// spread changes in law, not in a visible step.
func changePoint(arrs []arrival, b int, p0, p1 float64) int {
	best, bestLL := 0, math.Inf(-1)
	// ll of putting the change before index i: prefix under p0, suffix under p1.
	hits := make([]int, len(arrs)+1)
	for i, a := range arrs {
		hits[i+1] = hits[i]
		if a.backend == b {
			hits[i+1]++
		}
	}
	ll := func(k, n int, p float64) float64 { return float64(k)*math.Log(p) + float64(n-k)*math.Log(1-p) }
	total := len(arrs)
	for i := 0; i <= total; i++ {
		v := ll(hits[i], i, p0) + ll(hits[total]-hits[i], total-i, p1)
		if v > bestLL {
			best, bestLL = i, v
		}
	}
	return best
}

// stage ends a load phase of the client child: its failure count and its
// own per-backend counts.
func stage(t *testing.T, c *child, name string) int {
	t.Helper()
	c.send("stop")
	line := c.expect("STOPPED ", testTimeout)
	f := strings.Fields(line)
	failed, err := strconv.Atoi(strings.TrimPrefix(f[1], "failed="))
	if err != nil {
		t.Fatalf("bad line %q", line)
	}
	t.Logf("XDS client: %s: client saw %s, %d failed", name, strings.TrimPrefix(f[2], "counts="), failed)
	return failed
}

// TestXdsClient: a grpcpy channel to xds:///my-service, configured by the
// control plane through a Listener (API listener, HttpConnectionManager
// with RDS), a RouteConfiguration, an EDS Cluster and a
// ClusterLoadAssignment with two localities over three grpcpy backends:
// traffic reaches every backend, follows an endpoint removal and locality
// weight changes, and survives the control plane restarting.
func TestXdsClient(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	p := backends(t, rec, 3)
	cp := newControlPlane(t)
	defer cp.logRequests(t)
	cp.set(clientNode, clientResources(locality{"a", 1, []int{p[0], p[1]}}, locality{"b", 1, []int{p[2]}}))

	c := startChild(t, "client", cp.bootstrap(clientNode))
	c.expect("READY", testTimeout)
	start := time.Now()
	c.send("load")
	c.expect("LOADING", testTimeout)
	first := waitArrivals(t, rec, start, 1)[0]
	t.Logf("XDS client: first RPC reached %s %v after the load started (xDS resolution included)",
		backendName(first.backend), first.at.Sub(start).Round(time.Millisecond))

	// 1. Localities a{b1,b2} and b{b3}, weights 1:1: b3 gets half, b1
	// and b2 a quarter each (round_robin inside a locality).
	const window = 2000
	from := time.Now()
	spread := count(waitArrivals(t, rec, from, window), 3)
	t.Logf("XDS client: localities a{b1,b2}:1 b{b3}:1, %d RPCs: %s", window, formatSpread(spread))
	for i, want := range []float64{0.25, 0.25, 0.5} {
		if got := float64(spread[i]) / window; math.Abs(got-want) > 0.07 {
			t.Errorf("%s got %.1f%% of the traffic, want about %.0f%%", backendName(i), 100*got, 100*want)
		}
	}
	failed := stage(t, c, "3 backends")

	// 2. b2 leaves the ClusterLoadAssignment.
	c.send("load")
	t0 := cp.set(clientNode, clientResources(locality{"a", 1, []int{p[0]}}, locality{"b", 1, []int{p[2]}}))
	follow := followStop(t, rec, t0, 1)
	after := count(waitArrivals(t, rec, time.Now(), 1000), 3)
	t.Logf("XDS client: endpoint b2 removed: its last RPC came %v after the new snapshot; the next 1000 RPCs: %s",
		follow.Round(time.Millisecond), formatSpread(after))
	if after[1] != 0 {
		t.Errorf("b2 got %d RPCs after it was removed", after[1])
	}
	failed += stage(t, c, "endpoint removal")

	// 3. Locality weights 1:1 -> 3:1: b1 (alone in a) goes from half the
	// traffic to three quarters.
	c.send("load")
	t0 = cp.set(clientNode, clientResources(locality{"a", 3, []int{p[0]}}, locality{"b", 1, []int{p[2]}}))
	// The arrivals of the second before the change (weights 1:1) and
	// 3000 after it.
	before := len(rec.since(t0.Add(-time.Second))) - len(rec.since(t0))
	arrs := waitArrivals(t, rec, t0.Add(-time.Second), before+3000)
	cpi := changePoint(arrs, 0, 0.5, 0.75)
	followW := arrs[cpi].at.Sub(t0)
	steady := count(arrs[min(cpi+200, len(arrs)):], 3)
	share := float64(steady[0]) / float64(steady[0]+steady[2])
	t.Logf("XDS client: locality weights 1:1 -> 3:1: the b1 share changed %v after the new snapshot (change point estimated from the spread, ± a few tens of ms); after it: %s",
		followW.Round(time.Millisecond), formatSpread(steady))
	if share < 0.68 || share > 0.82 {
		t.Errorf("b1 share %.1f%% after weights 3:1, want about 75%%", 100*share)
	}
	if followW > 5*time.Second {
		t.Errorf("the spread followed the weights only %v later", followW)
	}

	// 3b. Weights 1:0: a locality of weight 0 gets nothing.
	t0 = cp.set(clientNode, clientResources(locality{"a", 1, []int{p[0]}}, locality{"b", 0, []int{p[2]}}))
	follow = followStop(t, rec, t0, 2)
	after = count(waitArrivals(t, rec, time.Now(), 500), 3)
	t.Logf("XDS client: locality weights 3:1 -> 1:0: b3's last RPC came %v after the new snapshot; the next 500 RPCs: %s",
		follow.Round(time.Millisecond), formatSpread(after))
	if after[2] != 0 {
		t.Errorf("b3 got %d RPCs with its locality at weight 0", after[2])
	}
	failed += stage(t, c, "locality weights")

	// 4. The control plane restarts (same port, a new cache with the same
	// snapshot): RPCs go on with the last config, and later updates are
	// followed once the client is back on the new server.
	c.send("load")
	t0 = cp.set(clientNode, clientResources(locality{"a", 1, []int{p[0]}}, locality{"b", 1, []int{p[2]}}))
	back := followStart(t, rec, t0, 2)
	t.Logf("XDS client: locality weights 1:0 -> 1:1: b3's first RPC came %v after the new snapshot", back.Round(time.Millisecond))
	streams := cp.streamCount()
	down := time.Now()
	cp.stop()
	time.Sleep(time.Second)
	duringDown := count(rec.since(down), 3)
	cp.start()
	up := time.Now()
	for cp.streamCount() == streams {
		if time.Since(up) > testTimeout {
			t.Fatalf("the client did not come back to the restarted control plane within %v", testTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	reconnect := time.Since(up)
	t.Logf("XDS client: control plane down for 1s: the backends got %s meanwhile; the client's new ADS stream came %v after the restart",
		formatSpread(duringDown), reconnect.Round(time.Millisecond))
	if duringDown[0] == 0 || duringDown[2] == 0 || duringDown[1] != 0 {
		t.Errorf("while the control plane was down, RPCs did not follow the last config (b1 and b3): %s", formatSpread(duringDown))
	}
	t0 = cp.set(clientNode, clientResources(locality{"a", 1, []int{p[0], p[1]}}, locality{"b", 1, []int{p[2]}}))
	backB2 := followStart(t, rec, t0, 1)
	backB3 := followStart(t, rec, t0, 2)
	t.Logf("XDS client: after the restart, b2 re-added: b2's first RPC came %v after the new snapshot (b3's %v)",
		backB2.Round(time.Millisecond), backB3.Round(time.Millisecond))
	spread = count(waitArrivals(t, rec, time.Now(), 1000), 3)
	t.Logf("XDS client: after the restart, 1000 RPCs: %s", formatSpread(spread))
	failed += stage(t, c, "control plane restart")

	// 5. An idle client (no RPCs for a second, its channel still
	// connected): the update reaches it in the background over its ADS
	// stream, and its next RPCs follow it.
	c.send("call")
	c.expect("CALL ok", testTimeout)
	time.Sleep(time.Second)
	t0 = cp.set(clientNode, clientResources(locality{"a", 1, []int{p[1]}}))
	old, idleFollow := followCalls(t, c, t0, "b2")
	t.Logf("XDS client: idle client, endpoints changed to b2 alone: RPCs (one per 20ms) reach only b2 from %v after the new snapshot (%d RPCs before that reached another backend)",
		idleFollow.Round(time.Millisecond), old)

	t.Logf("XDS client: %d RPCs failed across all stages", failed)
	if failed != 0 {
		t.Errorf("%d RPCs failed", failed)
	}
}

// followCalls makes one RPC after another on the client child (20ms
// apart) until 10 in a row reach want; it returns how many reached
// another backend before and how long after t0 the first of the 10 was:
// the follow time to within the 20ms spacing (the old picker may pick
// want too, so the streak may start an RPC or two early).
func followCalls(t *testing.T, c *child, t0 time.Time, want string) (int, time.Duration) {
	t.Helper()
	other, streak := 0, 0
	var first time.Duration
	for streak < 10 {
		c.send("call")
		line := c.expect("CALL ", testTimeout)
		at := time.Since(t0)
		switch {
		case strings.HasPrefix(line, "CALL ok "+want+" "):
			if streak == 0 {
				first = at
			}
			streak++
		case strings.HasPrefix(line, "CALL ok "):
			// The old picker, still in use, may have sent the RPCs of the
			// streak to want too: only 10 in a row show the new one.
			other, streak = other+1, 0
		default:
			t.Fatalf("%v after the update: %s", at, line)
		}
		if at > testTimeout {
			t.Fatalf("RPCs do not follow the update to %s after %v", want, testTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return other, first
}

// TestXdsClientIdleChannel: a channel that goes idle
// (grpc.client_idle_timeout_ms) lets go of its xDS watches, and the core
// then closes its ADS stream; its next RPC starts a new stream, fetches
// the resources again and follows what changed meanwhile.
func TestXdsClientIdleChannel(t *testing.T) {
	t.Parallel()
	const node = "xds-idle-client-node"
	rec := &recorder{}
	p := backends(t, rec, 2)
	cp := newControlPlane(t)
	defer cp.logRequests(t)
	cp.set(node, clientResources(locality{"a", 1, []int{p[0]}}))

	c := startChild(t, "client", cp.bootstrap(node), "GRPCPY_XDS_IDLE_MS=1000")
	c.expect("READY", testTimeout)
	c.send("call")
	if line := c.expect("CALL ", testTimeout); !strings.HasPrefix(line, "CALL ok b1 ") {
		t.Fatalf("first RPC: %s", line)
	}
	last := time.Now()
	for {
		opened, closed := cp.streamsOf(node)
		if opened == 1 && closed == 1 {
			break
		}
		if time.Since(last) > testTimeout {
			t.Fatalf("ADS streams of the idle client: %d opened, %d closed after %v", opened, closed, testTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("XDS client: idle timeout 1s: the control plane saw the client's ADS stream close %v after its last RPC",
		time.Since(last).Round(time.Millisecond))

	t0 := cp.set(node, clientResources(locality{"a", 1, []int{p[1]}}))
	c.send("call")
	line := c.expect("CALL ", testTimeout)
	t.Logf("XDS client: idle channel, endpoints changed to b2 meanwhile: its next RPC: %s (%v after the new snapshot)",
		line, time.Since(t0).Round(time.Millisecond))
	if !strings.HasPrefix(line, "CALL ok b2 ") {
		t.Errorf("the idle channel's next RPC did not follow the update: %s", line)
	}
	if opened, _ := cp.streamsOf(node); opened != 2 {
		t.Errorf("ADS streams of the idle client after it woke: %d, want 2", opened)
	}
}
