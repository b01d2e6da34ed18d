package lb

import (
	"testing"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

// spreadRPCs is how many RPCs a spread is measured over.
const spreadRPCs, spreadWorkers = 3000, 8

// TestSpread sends 3,000 RPCs from 8 goroutines through one channel to 3
// backends named by an ipv4: target. round_robin, chosen by the typed
// service config, by grpcio's raw grpc.service_config JSON or by the
// grpc.lb_policy_name channel arg, gives each backend about a third (the
// band is 25–42%); pick_first, the default, sends every RPC to the first
// address. No RPC fails. At the end the backends are stopped with
// SIGTERM, and each one's own count of the RPCs it answered must match
// what the client saw.
func TestSpread(t *testing.T) {
	leakcheck.Check(t)
	bs := startBackends(t, 3)
	target := ipv4Target(bs...)
	names := []string{"b1", "b2", "b3"}
	all := newTally() // every answer the client saw, warm-ups included
	merge := func(c *tally) {
		for name, k := range c.answers {
			all.answers[name] += k
		}
	}

	for _, tc := range []struct {
		name    string
		options []grpc.ChannelOption
		first   bool // pick_first: everything to b1
	}{
		{name: "round_robin typed service config", options: []grpc.ChannelOption{roundRobin}},
		{name: "round_robin raw service config", options: []grpc.ChannelOption{
			grpc.Option("grpc.service_config", `{"loadBalancingConfig": [{"round_robin": {}}]}`)}},
		{name: "round_robin grpc.lb_policy_name", options: []grpc.ChannelOption{
			grpc.Option("grpc.lb_policy_name", "round_robin")}},
		{name: "pick_first default", first: true},
		{name: "pick_first typed service config", first: true, options: []grpc.ChannelOption{
			grpc.WithServiceConfig(grpc.ServiceConfig{LoadBalancingPolicy: "pick_first"})}},
		{name: "pick_first grpc.lb_policy_name", first: true, options: []grpc.ChannelOption{
			grpc.Option("grpc.lb_policy_name", "pick_first")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := dial(t, target, tc.options...)
			if tc.first {
				merge(warmUp(t, ch, "b1"))
			} else {
				merge(warmUp(t, ch, names...))
			}
			c, took := load(ch, spreadRPCs, spreadWorkers, nil, 0, nil)
			merge(c)
			t.Logf("LB spread %s, %s: %d RPCs in %v: %v", tc.name, target, spreadRPCs, took.Round(1e6), c)
			if c.failed() > 0 {
				t.Errorf("%d RPCs failed: %v", c.failed(), c.examples)
			}
			if tc.first {
				if c.get("b1") != spreadRPCs {
					t.Errorf("pick_first: b1 answered %d of %d RPCs, want all (%v)", c.get("b1"), spreadRPCs, c)
				}
			} else {
				checkShare(t, tc.name, c, 0.25, 0.42, names...)
			}
		})
	}
	for _, b := range bs {
		n := b.stop()
		t.Logf("LB spread: backend %s stopped on SIGTERM after answering %d RPCs; the client saw %d answers from it", b.name, n, all.get(b.name))
		if n != all.get(b.name) {
			t.Errorf("backend %s answered %d RPCs, the client saw %d", b.name, n, all.get(b.name))
		}
	}
}
