package xds

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	clusterpb "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corepb "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointpb "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerpb "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routepb "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	routerpb "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmpb "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	discoverypb "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/envoyproxy/go-control-plane/pkg/server/v3"
	grpcgo "google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// controlPlane is a management server as a service mesh runs one:
// go-control-plane's snapshot cache behind its xDS server, served by
// grpc-go on 127.0.0.1 with ADS. It can be stopped and started again on
// the same port, with a new cache holding the last snapshots (a restarted
// control plane process).
//
// The cache is not in ADS mode (ads=false): in ADS mode go-control-plane
// holds back any response that would not name every requested resource,
// so a client would never hear that a Listener was removed.
type controlPlane struct {
	t    *testing.T
	addr string

	mu        sync.Mutex
	cache     cache.SnapshotCache
	snapshots map[string]*cache.Snapshot // by node id
	version   int
	grpc      *grpcgo.Server
	done      chan struct{}
	cancel    context.CancelFunc
	streams   int               // ADS streams opened, across restarts
	gen       int               // how many times the server started
	nodes     map[string]string // node of each stream ("gen/id") that sent a request
	closed    map[string]int    // streams closed, by node
	requests  []string          // one line per DiscoveryRequest, for the log
	nacks     []string
}

func newControlPlane(t *testing.T) *controlPlane {
	t.Helper()
	cp := &controlPlane{t: t, addr: "127.0.0.1:0", snapshots: map[string]*cache.Snapshot{},
		nodes: map[string]string{}, closed: map[string]int{}}
	cp.start()
	t.Cleanup(cp.stop)
	return cp
}

// start serves on cp.addr (the first time a kernel-chosen port, then the
// same one) with a new cache holding every node's last snapshot.
func (cp *controlPlane) start() {
	cp.t.Helper()
	var lis net.Listener
	var err error
	// The port was just freed by stop; binding it again can race a
	// lingering accept on slow machines, so retry briefly.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if lis, err = net.Listen("tcp", cp.addr); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		cp.t.Fatalf("control plane: listen %s: %v", cp.addr, err)
	}
	cp.mu.Lock()
	defer cp.mu.Unlock()
	cp.addr = lis.Addr().String()
	cp.cache = cache.NewSnapshotCache(false, cache.IDHash{}, nil)
	for node, s := range cp.snapshots {
		if err := cp.cache.SetSnapshot(context.Background(), node, s); err != nil {
			cp.t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cp.cancel = cancel
	cp.gen++
	gen := cp.gen
	key := func(id int64) string { return fmt.Sprintf("%d/%d", gen, id) }
	callbacks := server.CallbackFuncs{
		StreamOpenFunc: func(context.Context, int64, string) error {
			cp.mu.Lock()
			cp.streams++
			cp.mu.Unlock()
			return nil
		},
		StreamClosedFunc: func(id int64, _ *corepb.Node) {
			cp.mu.Lock()
			if n, ok := cp.nodes[key(id)]; ok {
				cp.closed[n]++
			}
			cp.mu.Unlock()
		},
		StreamRequestFunc: func(id int64, r *discoverypb.DiscoveryRequest) error {
			line := fmt.Sprintf("stream %d node %s %s %v version %q nonce %q", id, r.GetNode().GetId(),
				shortType(r.GetTypeUrl()), r.GetResourceNames(), r.GetVersionInfo(), r.GetResponseNonce())
			cp.mu.Lock()
			cp.nodes[key(id)] = r.GetNode().GetId()
			cp.requests = append(cp.requests, line)
			if d := r.GetErrorDetail(); d != nil {
				cp.nacks = append(cp.nacks, line+": "+d.GetMessage())
			}
			cp.mu.Unlock()
			return nil
		},
	}
	cp.grpc = grpcgo.NewServer()
	discoverypb.RegisterAggregatedDiscoveryServiceServer(cp.grpc, server.NewServer(ctx, cp.cache, callbacks))
	done := make(chan struct{})
	cp.done = done
	go func() { cp.grpc.Serve(lis); close(done) }()
}

// stop ends the server: every ADS stream fails at once, as when the
// control plane's process dies.
func (cp *controlPlane) stop() {
	cp.mu.Lock()
	g, done, cancel := cp.grpc, cp.done, cp.cancel
	cp.grpc = nil
	cp.mu.Unlock()
	if g == nil {
		return
	}
	g.Stop()
	cancel()
	<-done
}

func (cp *controlPlane) restart() {
	cp.stop()
	cp.start()
}

// set publishes resources for a node as the next version; it returns the
// time the snapshot was handed to the cache (responses to open watches
// are sent from there).
func (cp *controlPlane) set(node string, resources map[resource.Type][]types.Resource) time.Time {
	cp.t.Helper()
	cp.mu.Lock()
	defer cp.mu.Unlock()
	cp.version++
	// Every type is listed, empty or not, so that each has a version and a
	// client asking for a missing resource gets an answer without it.
	for _, typ := range []resource.Type{resource.ListenerType, resource.RouteType, resource.ClusterType, resource.EndpointType} {
		if _, ok := resources[typ]; !ok {
			resources[typ] = nil
		}
	}
	s, err := cache.NewSnapshot(fmt.Sprint(cp.version), resources)
	if err != nil {
		cp.t.Fatal(err)
	}
	cp.snapshots[node] = s
	now := time.Now()
	if err := cp.cache.SetSnapshot(context.Background(), node, s); err != nil {
		cp.t.Fatal(err)
	}
	return now
}

func (cp *controlPlane) streamCount() int {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return cp.streams
}

// streamsOf returns how many ADS streams a node opened (that sent a
// request) and how many of them were closed, across restarts.
func (cp *controlPlane) streamsOf(node string) (opened, closed int) {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	for _, n := range cp.nodes {
		if n == node {
			opened++
		}
	}
	return opened, cp.closed[node]
}

// logRequests fails the test on any NACK (a resource the core rejected),
// and logs what the clients asked if the test failed.
func (cp *controlPlane) logRequests(t *testing.T) {
	t.Helper()
	cp.mu.Lock()
	defer cp.mu.Unlock()
	for _, n := range cp.nacks {
		t.Errorf("the core NACKed: %s", n)
	}
	if !t.Failed() {
		return
	}
	for _, r := range cp.requests {
		t.Logf("control plane got: %s", r)
	}
}

func shortType(url string) string { return url[strings.LastIndex(url, ".")+1:] }

// bootstrap is the xDS bootstrap JSON (GRPC_XDS_BOOTSTRAP_CONFIG) pointing
// at the control plane, with the template an xDS server names its
// Listeners with.
func (cp *controlPlane) bootstrap(node string) string {
	b, err := json.Marshal(map[string]any{
		"xds_servers": []any{map[string]any{
			"server_uri":      cp.addr,
			"channel_creds":   []any{map[string]any{"type": "insecure"}},
			"server_features": []string{"xds_v3"},
		}},
		"node":                                   map[string]any{"id": node, "locality": map[string]string{"zone": "test-zone"}},
		"server_listener_resource_name_template": serverListenerTemplate,
	})
	if err != nil {
		panic(err)
	}
	return string(b)
}

const serverListenerTemplate = "grpc/server?xds.resource.listening_address=%s"

func mustAny(m proto.Message) *anypb.Any {
	a, err := anypb.New(m)
	if err != nil {
		panic(err)
	}
	return a
}

func ads() *corepb.ConfigSource {
	return &corepb.ConfigSource{
		ConfigSourceSpecifier: &corepb.ConfigSource_Ads{Ads: &corepb.AggregatedConfigSource{}},
		ResourceApiVersion:    corepb.ApiVersion_V3,
	}
}

func routerFilter() []*hcmpb.HttpFilter {
	return []*hcmpb.HttpFilter{{
		Name:       "envoy.filters.http.router",
		ConfigType: &hcmpb.HttpFilter_TypedConfig{TypedConfig: mustAny(&routerpb.Router{})},
	}}
}

// Client-side resources: the names a channel to xds:///serviceName walks.
const (
	serviceName = "my-service"
	routeName   = "my-route"
	clusterName = "my-cluster"
	edsName     = "my-endpoints"
)

// apiListener is the client's Listener: an API listener whose
// HttpConnectionManager takes its routes from RDS over ADS.
func apiListener() *listenerpb.Listener {
	hcm := &hcmpb.HttpConnectionManager{
		RouteSpecifier: &hcmpb.HttpConnectionManager_Rds{Rds: &hcmpb.Rds{
			ConfigSource: ads(), RouteConfigName: routeName,
		}},
		HttpFilters: routerFilter(),
	}
	return &listenerpb.Listener{
		Name:        serviceName,
		ApiListener: &listenerpb.ApiListener{ApiListener: mustAny(hcm)},
	}
}

func routeConfig() *routepb.RouteConfiguration {
	return &routepb.RouteConfiguration{
		Name: routeName,
		VirtualHosts: []*routepb.VirtualHost{{
			Name:    "all",
			Domains: []string{"*"},
			Routes: []*routepb.Route{{
				Match: &routepb.RouteMatch{PathSpecifier: &routepb.RouteMatch_Prefix{Prefix: ""}},
				Action: &routepb.Route_Route{Route: &routepb.RouteAction{
					ClusterSpecifier: &routepb.RouteAction_Cluster{Cluster: clusterName},
				}},
			}},
		}},
	}
}

func edsCluster() *clusterpb.Cluster {
	return &clusterpb.Cluster{
		Name:                 clusterName,
		ClusterDiscoveryType: &clusterpb.Cluster_Type{Type: clusterpb.Cluster_EDS},
		EdsClusterConfig:     &clusterpb.Cluster_EdsClusterConfig{EdsConfig: ads(), ServiceName: edsName},
		LbPolicy:             clusterpb.Cluster_ROUND_ROBIN,
	}
}

// locality is one locality of the ClusterLoadAssignment.
type locality struct {
	zone   string
	weight uint32
	ports  []int
}

func socketAddress(port int) *corepb.Address {
	return &corepb.Address{Address: &corepb.Address_SocketAddress{SocketAddress: &corepb.SocketAddress{
		Address: "127.0.0.1", PortSpecifier: &corepb.SocketAddress_PortValue{PortValue: uint32(port)},
	}}}
}

func loadAssignment(localities ...locality) *endpointpb.ClusterLoadAssignment {
	cla := &endpointpb.ClusterLoadAssignment{ClusterName: edsName}
	for _, l := range localities {
		lle := &endpointpb.LocalityLbEndpoints{
			Locality:            &corepb.Locality{Region: "test-region", Zone: l.zone},
			LoadBalancingWeight: wrapperspb.UInt32(l.weight),
		}
		for _, p := range l.ports {
			lle.LbEndpoints = append(lle.LbEndpoints, &endpointpb.LbEndpoint{
				HostIdentifier: &endpointpb.LbEndpoint_Endpoint{Endpoint: &endpointpb.Endpoint{Address: socketAddress(p)}},
				HealthStatus:   corepb.HealthStatus_HEALTHY,
			})
		}
		cla.Endpoints = append(cla.Endpoints, lle)
	}
	return cla
}

// clientResources is the full client-side set for one endpoint layout.
func clientResources(localities ...locality) map[resource.Type][]types.Resource {
	return map[resource.Type][]types.Resource{
		resource.ListenerType: {apiListener()},
		resource.RouteType:    {routeConfig()},
		resource.ClusterType:  {edsCluster()},
		resource.EndpointType: {loadAssignment(localities...)},
	}
}

// serverListener is the inbound Listener an xDS server at addr asks for:
// named from the bootstrap's template, with the address itself and one
// filter chain whose HttpConnectionManager routes everything to the
// server (non_forwarding_action) through the router filter.
func serverListener(host string, port int) *listenerpb.Listener {
	hcm := &hcmpb.HttpConnectionManager{
		RouteSpecifier: &hcmpb.HttpConnectionManager_RouteConfig{RouteConfig: &routepb.RouteConfiguration{
			Name: "inbound",
			VirtualHosts: []*routepb.VirtualHost{{
				Name:    "inbound",
				Domains: []string{"*"},
				Routes: []*routepb.Route{{
					Match:  &routepb.RouteMatch{PathSpecifier: &routepb.RouteMatch_Prefix{Prefix: "/"}},
					Action: &routepb.Route_NonForwardingAction{NonForwardingAction: &routepb.NonForwardingAction{}},
				}},
			}},
		}},
		HttpFilters: routerFilter(),
	}
	return &listenerpb.Listener{
		Name:    fmt.Sprintf(serverListenerTemplate, net.JoinHostPort(host, fmt.Sprint(port))),
		Address: socketAddress(port),
		FilterChains: []*listenerpb.FilterChain{{
			Name: "inbound",
			Filters: []*listenerpb.Filter{{
				Name:       "envoy.filters.network.http_connection_manager",
				ConfigType: &listenerpb.Filter_TypedConfig{TypedConfig: mustAny(hcm)},
			}},
		}},
	}
}
