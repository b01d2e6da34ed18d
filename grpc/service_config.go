package grpc

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ServiceConfig builds the JSON of grpcio's grpc.service_config channel
// option (gRFC A2 service config) from Go values, so that a mistake is a
// compile error or a *ValueError at channel creation rather than a
// service config the core rejects (a Go addition; grpcio takes the JSON
// string only, which stays available as Option("grpc.service_config",
// json)). Pass it with WithServiceConfig.
//
//	grpc.WithServiceConfig(grpc.ServiceConfig{
//		LoadBalancingPolicy: "round_robin",
//		MethodConfig: []grpc.MethodConfig{{
//			Name:        []grpc.MethodName{{Service: "helloworld.Greeter"}},
//			Timeout:     2 * time.Second,
//			RetryPolicy: &grpc.RetryPolicy{MaxAttempts: 4, InitialBackoff: 100 * time.Millisecond,
//				MaxBackoff: time.Second, BackoffMultiplier: 2,
//				RetryableStatusCodes: []grpc.StatusCode{grpc.StatusCodeUnavailable}},
//		}},
//	})
type ServiceConfig struct {
	// LoadBalancingPolicy names the policy ("pick_first", "round_robin"),
	// sent as loadBalancingConfig [{"<policy>": {}}]. Empty: the core's
	// default (pick_first).
	LoadBalancingPolicy string
	// MethodConfig are per-method settings.
	MethodConfig []MethodConfig
	// RetryThrottling, if set, limits retries channel-wide.
	RetryThrottling *RetryThrottling
}

// MethodConfig is one entry of methodConfig.
type MethodConfig struct {
	// Name lists the methods it applies to; a MethodName without Method
	// matches the whole service, an empty MethodName every method.
	Name []MethodName
	// Timeout is the default deadline of these calls (0: none).
	Timeout time.Duration
	// WaitForReady is their default wait_for_ready (nil: unset).
	WaitForReady *bool
	// RetryPolicy retries failed attempts (nil: no retries).
	RetryPolicy *RetryPolicy
	// MaxRequestMessageBytes and MaxResponseMessageBytes cap message sizes (0: unset).
	MaxRequestMessageBytes, MaxResponseMessageBytes int
}

// MethodName selects methods: {Service: "pkg.Svc", Method: "M"}.
type MethodName struct{ Service, Method string }

// RetryPolicy is a method's retryPolicy (gRFC A6). The core requires
// every field: MaxAttempts of at least 2 (it caps them at 5), positive
// backoffs and multiplier, and at least one retryable code.
type RetryPolicy struct {
	MaxAttempts          int
	InitialBackoff       time.Duration
	MaxBackoff           time.Duration
	BackoffMultiplier    float64
	RetryableStatusCodes []StatusCode
}

// RetryThrottling is retryThrottling: retries stop while the token count
// is below half of MaxTokens (1..1000); TokenRatio (> 0) is refunded per
// success.
type RetryThrottling struct {
	MaxTokens  int
	TokenRatio float64
}

// WithServiceConfig is the grpc.service_config channel option built from
// config; an invalid config makes InsecureChannel/SecureChannel return a
// *ValueError saying what is wrong.
func WithServiceConfig(config ServiceConfig) ChannelOption {
	return ChannelOption{Key: "grpc.service_config", Value: config}
}

// jsonDuration is the proto3 JSON form of a Duration ("1.5s").
func jsonDuration(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"
}

// JSON validates config and returns its service config JSON.
func (config ServiceConfig) JSON() (string, error) {
	bad := func(format string, args ...any) (string, error) {
		return "", &ValueError{Msg: "service config: " + fmt.Sprintf(format, args...)}
	}
	out := map[string]any{}
	if p := config.LoadBalancingPolicy; p != "" {
		if strings.ContainsAny(p, "\" \t\n") {
			return bad("load balancing policy %q is not a policy name", p)
		}
		out["loadBalancingConfig"] = []any{map[string]any{p: map[string]any{}}}
	}
	var methods []any
	for i, mc := range config.MethodConfig {
		m := map[string]any{}
		var names []any
		for _, n := range mc.Name {
			if n.Method != "" && n.Service == "" {
				return bad("methodConfig[%d]: method %q without a service", i, n.Method)
			}
			name := map[string]any{}
			if n.Service != "" {
				name["service"] = n.Service
			}
			if n.Method != "" {
				name["method"] = n.Method
			}
			names = append(names, name)
		}
		if len(names) == 0 {
			return bad("methodConfig[%d]: no name (use MethodName{} for every method)", i)
		}
		m["name"] = names
		if mc.Timeout < 0 {
			return bad("methodConfig[%d]: negative timeout %v", i, mc.Timeout)
		}
		if mc.Timeout > 0 {
			m["timeout"] = jsonDuration(mc.Timeout)
		}
		if mc.WaitForReady != nil {
			m["waitForReady"] = *mc.WaitForReady
		}
		if mc.MaxRequestMessageBytes < 0 || mc.MaxResponseMessageBytes < 0 {
			return bad("methodConfig[%d]: negative message size limit", i)
		}
		if mc.MaxRequestMessageBytes > 0 {
			m["maxRequestMessageBytes"] = mc.MaxRequestMessageBytes
		}
		if mc.MaxResponseMessageBytes > 0 {
			m["maxResponseMessageBytes"] = mc.MaxResponseMessageBytes
		}
		if r := mc.RetryPolicy; r != nil {
			switch {
			case r.MaxAttempts < 2:
				return bad("methodConfig[%d].retryPolicy: maxAttempts %d, must be at least 2", i, r.MaxAttempts)
			case r.InitialBackoff <= 0 || r.MaxBackoff <= 0:
				return bad("methodConfig[%d].retryPolicy: backoffs must be positive", i)
			case r.BackoffMultiplier <= 0:
				return bad("methodConfig[%d].retryPolicy: backoffMultiplier must be positive", i)
			case len(r.RetryableStatusCodes) == 0:
				return bad("methodConfig[%d].retryPolicy: no retryableStatusCodes", i)
			}
			var codes []string
			for _, c := range r.RetryableStatusCodes {
				if c == StatusCodeOK || c < 0 || int(c) >= len(statusNames) {
					return bad("methodConfig[%d].retryPolicy: %v is not a retryable code", i, c)
				}
				codes = append(codes, c.Name())
			}
			m["retryPolicy"] = map[string]any{
				"maxAttempts":          r.MaxAttempts,
				"initialBackoff":       jsonDuration(r.InitialBackoff),
				"maxBackoff":           jsonDuration(r.MaxBackoff),
				"backoffMultiplier":    r.BackoffMultiplier,
				"retryableStatusCodes": codes,
			}
		}
		methods = append(methods, m)
	}
	if len(methods) > 0 {
		out["methodConfig"] = methods
	}
	if t := config.RetryThrottling; t != nil {
		if t.MaxTokens <= 0 || t.MaxTokens > 1000 || t.TokenRatio <= 0 {
			return bad("retryThrottling: maxTokens must be in 1..1000 and tokenRatio positive")
		}
		out["retryThrottling"] = map[string]any{"maxTokens": t.MaxTokens, "tokenRatio": t.TokenRatio}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return bad("%v", err)
	}
	return string(b), nil
}
