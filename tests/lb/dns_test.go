package lb

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

// dnsName is the name the test DNS server resolves to the backends.
const dnsName = "lb.test"

// dnsBackends starts backends b1..bn on 127.0.0.1, 127.0.0.2, ... (all
// loopback on Linux), on one port: a DNS name then names them all with
// one port, as it names a service's servers.
func dnsBackends(t *testing.T, n int) []*backend {
	t.Helper()
	bs := make([]*backend, n)
	port := 0
	for i := range bs {
		bs[i] = startBackend(t, fmt.Sprintf("b%d", i+1), fmt.Sprintf("127.0.0.%d", i+1), port)
		port = bs[i].port
	}
	return bs
}

// hosts returns the backends' IP addresses.
func hosts(bs ...*backend) []string {
	var ips []string
	for _, b := range bs {
		ips = append(ips, b.host)
	}
	return ips
}

// onlyOne returns the name of the one backend that answered every RPC
// of c, or "".
func onlyOne(c *tally, n int) string {
	for _, name := range []string{"b1", "b2", "b3"} {
		if c.get(name) == n {
			return name
		}
	}
	return ""
}

// TestDNSSeveralAddresses resolves dns://127.0.0.1:<dns port>/lb.test:<port>
// through the core's default (c-ares) resolver, which sends its queries
// to the DNS server the target's authority names: a test server that
// answers lb.test with 127.0.0.1, 127.0.0.2 and 127.0.0.3, where three
// backend processes serve the same port. (The machine's /etc/hosts cannot
// be edited, and a name there could only resolve to one address per
// family.) round_robin spreads over the three; pick_first sticks to one.
// The service config published in DNS (a TXT record at
// _grpc_config.lb.test, gRFC A2) is not even looked up by default in core
// 1.51, as in grpcio 1.51; the channel arg
// grpc.service_config_disable_resolution=0 turns the lookup on and the
// record's round_robin then applies.
func TestDNSSeveralAddresses(t *testing.T) {
	leakcheck.Check(t)
	dns := startDNS(t)
	bs := dnsBackends(t, 3)
	dns.setA(dnsName, hosts(bs...)...)
	dns.setTXT("_grpc_config."+dnsName, `grpc_config=[{"serviceConfig":{"loadBalancingConfig":[{"round_robin":{}}]}}]`)
	target := fmt.Sprintf("dns://%s/%s:%d", dns.addr, dnsName, bs[0].port)
	names := []string{"b1", "b2", "b3"}

	for _, tc := range []struct {
		name       string
		options    []grpc.ChannelOption
		roundRobin bool
		txt        bool // a TXT lookup is expected
	}{
		{name: "round_robin", options: []grpc.ChannelOption{roundRobin}, roundRobin: true},
		{name: "pick_first"},
		{name: "TXT service config, lookup enabled", roundRobin: true, txt: true,
			options: []grpc.ChannelOption{grpc.Option("grpc.service_config_disable_resolution", 0)}},
		{name: "TXT service config, lookup disabled (default)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := dns.countQueries("TXT _grpc_config." + dnsName)
			ch := dial(t, target, tc.options...)
			if tc.roundRobin {
				warmUp(t, ch, names...)
			} else {
				warmUp(t, ch, "b1")
			}
			c, took := load(ch, spreadRPCs, spreadWorkers, nil, 0, nil)
			txt := dns.countQueries("TXT _grpc_config."+dnsName) - before
			t.Logf("LB dns %s, %s: %d RPCs in %v: %v; TXT lookups %d", tc.name, target, spreadRPCs, took.Round(time.Millisecond), c, txt)
			if c.failed() > 0 {
				t.Errorf("%d RPCs failed: %v", c.failed(), c.examples)
			}
			if tc.roundRobin {
				checkShare(t, tc.name, c, 0.25, 0.42, names...)
			} else if onlyOne(c, spreadRPCs) == "" {
				t.Errorf("pick_first: the RPCs went to more than one backend: %v", c)
			}
			if (txt > 0) != tc.txt {
				t.Errorf("%d TXT lookups of _grpc_config.%s, want them: %v (queries: %v)", txt, dnsName, tc.txt, dns.queryLog())
			}
		})
	}
}

// TestDNSReresolution changes what lb.test resolves to (127.0.0.1 and
// 127.0.0.2, then 127.0.0.1 and 127.0.0.3) and SIGKILLs b2 under load.
// The round_robin policy asks the resolver to resolve again when b2's
// subchannel fails; the c-ares resolver waits at least
// grpc.dns_min_time_between_resolutions_ms since its last resolution
// (30 s by default). With 100 ms, b3 takes traffic within a second or
// so; with the default it gets none for the 3 s the test watches, and
// the DNS server sees no second query. A retry policy keeps every RPC
// OK across the change.
func TestDNSReresolution(t *testing.T) {
	leakcheck.Check(t)
	retry := grpc.WithServiceConfig(grpc.ServiceConfig{
		LoadBalancingPolicy: "round_robin",
		MethodConfig: []grpc.MethodConfig{{
			Name: []grpc.MethodName{{Service: "grpcpy.lb.Backend"}},
			RetryPolicy: &grpc.RetryPolicy{MaxAttempts: 5, InitialBackoff: 50 * time.Millisecond,
				MaxBackoff: 500 * time.Millisecond, BackoffMultiplier: 2,
				RetryableStatusCodes: []grpc.StatusCode{grpc.StatusCodeUnavailable}},
		}},
	})
	const watch = 3 * time.Second
	for _, tc := range []struct {
		name    string
		minTime int // grpc.dns_min_time_between_resolutions_ms; 0: the default
	}{
		{name: "min time 100ms", minTime: 100},
		{name: "min time default (30s)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dns := startDNS(t)
			bs := dnsBackends(t, 3)
			dns.setA(dnsName, bs[0].host, bs[1].host)
			target := fmt.Sprintf("dns://%s/%s:%d", dns.addr, dnsName, bs[0].port)
			options := append([]grpc.ChannelOption{retry}, fastReconnect...)
			if tc.minTime > 0 {
				options = append(options, grpc.Option("grpc.dns_min_time_between_resolutions_ms", tc.minTime))
			}
			ch := dial(t, target, options...)
			warmUp(t, ch, "b1", "b2")
			resolutions := dns.countQueries("A " + dnsName)

			dns.setA(dnsName, bs[0].host, bs[2].host)
			c := newTally()
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() { // steady load from 4 goroutines until stop
				defer close(done)
				loadUntil(ch, 4, c, stop, time.Millisecond)
			}()
			time.Sleep(200 * time.Millisecond)
			before := c.get("b2")
			killed := time.Now()
			bs[1].kill()
			var followed time.Duration
			for time.Since(killed) < watch {
				if c.get("b3") > 0 {
					followed = time.Since(killed)
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			if tc.minTime > 0 {
				time.Sleep(300 * time.Millisecond) // some RPCs on the new pair
			}
			close(stop)
			<-done
			again := dns.countQueries("A "+dnsName) - resolutions
			first := "never within " + watch.String()
			if followed > 0 {
				first = followed.Round(time.Millisecond).String() + " after the kill"
			}
			t.Logf("LB dns re-resolution, %s: b2 killed under load (b2 had %d answers then); b3 first answered: %s; "+
				"A queries after the change: %d; %v", tc.name, before, first, again, c)
			if c.failed() > 0 {
				t.Errorf("%d RPCs failed despite the retry policy: %v", c.failed(), c.examples)
			}
			if tc.minTime > 0 {
				if followed == 0 {
					t.Errorf("b3 got no RPC within %v of b2's kill (A queries since the change: %d): %v", watch, again, c)
				}
			} else if followed != 0 || again != 0 {
				t.Errorf("with the default 30 s between resolutions, b3 answered %v after the kill and %d A queries were "+
					"made within %v; want none", followed, again, watch)
			}
		})
	}
}

// loadUntil makes Who RPCs from workers goroutines, each pausing pace
// between RPCs, until stop is closed.
func loadUntil(ch *grpc.Channel, workers int, c *tally, stop <-chan struct{}, pace time.Duration, opts ...grpc.CallOption) {
	done := make(chan struct{})
	for range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for {
				select {
				case <-stop:
					return
				default:
				}
				name, err := who(ch, opts...)
				c.add(name, err)
				time.Sleep(pace)
			}
		}()
	}
	for range workers {
		<-done
	}
}

// localhostEnv marks a child test process (see TestDNSLocalhost).
const localhostEnv = "GRPCPY_LB_LOCALHOST_CHILD"

// TestDNSLocalhost targets dns:///localhost:<port> with round_robin, a
// backend on 127.0.0.1:<port> and another on [::1]:<port> (one process
// per address family: only one process can own a port per address). What
// localhost resolves to is the machine's and the resolver's business:
// on the Debian machine this was written on, /etc/hosts lists only
// 127.0.0.1, the native resolver (getaddrinfo) returns that alone, and
// the c-ares resolver (the default; c-ares 1.18) returns ::1 as well, so
// the RPCs spread over both families. The resolver is
// chosen by GRPC_DNS_RESOLVER, read once at the core's start, so each
// resolver runs in a child test process of its own. The test asserts
// that no RPC fails and that only the two backends answer, and logs the
// spread.
func TestDNSLocalhost(t *testing.T) {
	if os.Getenv(localhostEnv) != "" {
		localhostSpread(t)
		return
	}
	for _, resolver := range []string{"ares", "native"} {
		t.Run(resolver, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*rpcTimeout)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestDNSLocalhost$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), localhostEnv+"=1", "GRPC_DNS_RESOLVER="+resolver, backendEnv+"="+backendBinary(t))
			out, err := cmd.CombinedOutput()
			for _, l := range strings.Split(string(out), "\n") {
				if l = strings.TrimSpace(l); strings.Contains(l, "LB ") {
					t.Log(l[strings.Index(l, "LB "):])
				}
			}
			if err != nil {
				t.Errorf("child test with GRPC_DNS_RESOLVER=%s: %v\n%s", resolver, err, out)
			}
		})
	}
}

// localhostSpread is TestDNSLocalhost in the child process.
func localhostSpread(t *testing.T) {
	leakcheck.Check(t)
	v4 := startBackend(t, "v4", "127.0.0.1", 0)
	families := []*backend{v4}
	if l, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		l.Close()
		families = append(families, startBackend(t, "v6", "[::1]", v4.port))
	} else {
		t.Logf("LB dns localhost: no IPv6 loopback here (%v): serving 127.0.0.1 only", err)
	}
	target := "dns:///localhost:" + strconv.Itoa(v4.port)
	ch := dial(t, target, roundRobin)
	if _, err := who(ch, grpc.WithWaitForReady(true)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // let a second subchannel connect
	const n = 600
	c, took := load(ch, n, 4, nil, 0, nil)
	t.Logf("LB dns localhost, GRPC_DNS_RESOLVER=%s, %s with round_robin: %d RPCs in %v: %v",
		os.Getenv("GRPC_DNS_RESOLVER"), target, n, took.Round(time.Millisecond), c)
	if c.failed() > 0 || c.get("v4")+c.get("v6") != n {
		t.Errorf("want %d answers from v4 and v6 and no failure: %v", n, c)
	}
}
