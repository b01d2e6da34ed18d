package lb

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

// python is Debian's interpreter with grpcio 1.51.
const python = "/usr/bin/python3"

const flakyMethod = "/grpcpy.lb.Backend/Flaky"

// argsCase is one channel configuration, run by grpcpy and by grpcio
// (testdata/lbclient.py) with the same options.
type argsCase struct {
	Name    string  `json:"-"`
	Target  string  `json:"target"`
	Method  string  `json:"method"`
	N       int     `json:"n"`
	Warm    int     `json:"warm"` // distinct backends to wait for first
	Options [][]any `json:"options"`

	want string // the outcome both must show (outcome())
}

// outcome is what a run shows: "round_robin" (every one of 3 backends
// got a third), "pick_first" (one got all), and for Flaky runs the
// failures: "retried: 0 failed" or "not retried: N/2 UNAVAILABLE".
func outcome(answers, failures map[string]int, c argsCase) string {
	if c.Method == flakyMethod {
		if len(failures) == 0 {
			return "retried: 0 failed"
		}
		if len(failures) == 1 && failures[grpc.StatusCodeUnavailable.Name()] == c.N/2 {
			return "not retried: N/2 UNAVAILABLE"
		}
		return fmt.Sprintf("failures %v", failures)
	}
	if len(failures) > 0 {
		return fmt.Sprintf("failures %v", failures)
	}
	if len(answers) == 1 {
		return "pick_first"
	}
	if len(answers) == 3 {
		even := true
		for _, k := range answers {
			even = even && k == c.N/3
		}
		if even {
			return "round_robin"
		}
	}
	return fmt.Sprintf("answers %v", answers)
}

// options turns a case's options into grpcpy's.
func (c argsCase) options() []grpc.ChannelOption {
	var opts []grpc.ChannelOption
	for _, o := range c.Options {
		v := o[1]
		if f, ok := v.(float64); ok {
			v = int(f)
		}
		opts = append(opts, grpc.Option(o[0].(string), v))
	}
	return opts
}

// TestChannelArgsLikeGrpcio passes the channel args that change name
// resolution, load balancing and retries to a grpcpy channel and, with
// the same (key, value) tuples, to a grpcio 1.51 channel in a Python
// process, and requires the same outcome of both: grpc.lb_policy_name
// selects the policy when the service config names none, and a service
// config's loadBalancingConfig overrides it; grpc.service_config_disable_resolution=0
// turns on the DNS TXT service config lookup; grpc.enable_retries=0
// disables a service config's retryPolicy (the backend's Flaky method
// fails every other call, so half of the sequential RPCs then fail);
// grpc.dns_min_time_between_resolutions_ms, grpc.dns_enable_srv_queries
// and grpc.dns_ares_query_timeout are accepted.
func TestChannelArgsLikeGrpcio(t *testing.T) {
	leakcheck.Check(t)
	dns := startDNS(t)
	bs := dnsBackends(t, 3)
	dns.setA(dnsName, hosts(bs...)...)
	dns.setTXT("_grpc_config."+dnsName, `grpc_config=[{"serviceConfig":{"loadBalancingConfig":[{"round_robin":{}}]}}]`)
	ipv4 := ipv4Target(bs...)
	dnsTarget := fmt.Sprintf("dns://%s/%s:%d", dns.addr, dnsName, bs[0].port)
	flaky := startBackend(t, "flaky", "127.0.0.1", 0)

	const rr, pf = `{"loadBalancingConfig": [{"round_robin": {}}]}`, `{"loadBalancingConfig": [{"pick_first": {}}]}`
	const retry = `{"methodConfig": [{"name": [{"service": "grpcpy.lb.Backend"}], "retryPolicy": {"maxAttempts": 2, ` +
		`"initialBackoff": "0.01s", "maxBackoff": "0.05s", "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}`
	const n = 60
	cases := []argsCase{
		{Name: "no options", Target: ipv4, want: "pick_first"},
		{Name: "lb_policy_name=round_robin", Target: ipv4, want: "round_robin",
			Options: [][]any{{"grpc.lb_policy_name", "round_robin"}}},
		{Name: "service config round_robin", Target: ipv4, want: "round_robin",
			Options: [][]any{{"grpc.service_config", rr}}},
		{Name: "lb_policy_name=round_robin, service config pick_first", Target: ipv4, want: "pick_first",
			Options: [][]any{{"grpc.lb_policy_name", "round_robin"}, {"grpc.service_config", pf}}},
		{Name: "lb_policy_name=pick_first, service config round_robin", Target: ipv4, want: "round_robin",
			Options: [][]any{{"grpc.lb_policy_name", "pick_first"}, {"grpc.service_config", rr}}},
		{Name: "dns, TXT round_robin, lookup off (default)", Target: dnsTarget, want: "pick_first"},
		{Name: "dns, TXT round_robin, service_config_disable_resolution=0", Target: dnsTarget, want: "round_robin",
			Options: [][]any{{"grpc.service_config_disable_resolution", 0}}},
		{Name: "dns, lb_policy_name=round_robin, dns_* args", Target: dnsTarget, want: "round_robin",
			Options: [][]any{{"grpc.lb_policy_name", "round_robin"}, {"grpc.dns_min_time_between_resolutions_ms", 100},
				{"grpc.dns_enable_srv_queries", 0}, {"grpc.dns_ares_query_timeout", 5000}}},
		{Name: "Flaky, retryPolicy", Target: flaky.addr(), Method: flakyMethod, want: "retried: 0 failed",
			Options: [][]any{{"grpc.service_config", retry}}},
		{Name: "Flaky, retryPolicy, enable_retries=0", Target: flaky.addr(), Method: flakyMethod, want: "not retried: N/2 UNAVAILABLE",
			Options: [][]any{{"grpc.service_config", retry}, {"grpc.enable_retries", 0}}},
		{Name: "Flaky, no retryPolicy", Target: flaky.addr(), Method: flakyMethod, want: "not retried: N/2 UNAVAILABLE"},
	}
	for i := range cases {
		c := &cases[i]
		c.N, c.Warm = n, 1
		if c.Method == "" {
			c.Method = whoMethod
		}
		if c.want == "round_robin" {
			c.Warm = 3
		}
		if c.Options == nil {
			c.Options = [][]any{}
		}
	}

	// grpcio, all cases in one process.
	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, filepath.Join(root(), "tests", "lb", "testdata", "lbclient.py"))
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("grpcio client: %v\n%s%s", err, out, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(cases) {
		t.Fatalf("grpcio client printed %d lines for %d cases:\n%s%s", len(lines), len(cases), out, stderr.String())
	}

	for i, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			var py struct{ Answers, Failures map[string]int }
			if err := json.Unmarshal([]byte(lines[i]), &py); err != nil {
				t.Fatalf("grpcio client line %q: %v", lines[i], err)
			}
			ch := dial(t, c.Target, c.options()...)
			seen := map[string]bool{}
			for len(seen) < c.Warm {
				name, err := who(ch, grpc.WithWaitForReady(true))
				if err != nil {
					t.Fatalf("warm-up: %v", err)
				}
				seen[name] = true
			}
			got := newTally()
			rpc := ch.UnaryUnary(c.Method)
			for range c.N {
				resp, err := rpc.Call([]byte("?"), grpc.WithTimeout(rpcTimeout))
				name := ""
				if err == nil {
					name = string(resp.([]byte))
				}
				got.add(name, err)
			}
			goOutcome := outcome(got.answers, got.failures, c)
			pyOutcome := outcome(py.Answers, py.Failures, c)
			t.Logf("LB channel args %s %v: grpcpy %v → %s; grpcio %s → %s", c.Target, c.Options, got, goOutcome, lines[i], pyOutcome)
			if goOutcome != c.want || pyOutcome != c.want {
				t.Errorf("grpcpy: %s, grpcio: %s; want %s for both", goOutcome, pyOutcome, c.want)
			}
		})
	}
}
