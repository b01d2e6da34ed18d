package reflection_test

import (
	"iter"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	rg "github.com/grpcpy/grpcpy/examples/routeguide/routeguide"
	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/grpc/reflection"
)

// routeGuide serves two features of route_guide_db.json.
type routeGuide struct {
	rg.UnimplementedRouteGuideServicer
}

var features = []*rg.Feature{
	{Name: "Berkshire Valley Management Area Trail, Jefferson, NJ, USA", Location: &rg.Point{Latitude: 409146138, Longitude: -746188906}},
	{Name: "Patriots Path, Mendham, NJ 07945, USA", Location: &rg.Point{Latitude: 407838351, Longitude: -746143763}},
}

func (routeGuide) GetFeature(point *rg.Point, _ *grpc.ServicerContext) (*rg.Feature, error) {
	for _, f := range features {
		if proto.Equal(f.GetLocation(), point) {
			return f, nil
		}
	}
	return &rg.Feature{Location: point}, nil
}

func (routeGuide) ListFeatures(r *rg.Rectangle, _ *grpc.ServicerContext) iter.Seq2[*rg.Feature, error] {
	return func(yield func(*rg.Feature, error) bool) {
		for _, f := range features {
			if !yield(f, nil) {
				return
			}
		}
	}
}

// TestGrpcurlRouteGuide: grpcurl lists, describes and calls route_guide
// knowing nothing but what reflection tells it.
func TestGrpcurlRouteGuide(t *testing.T) {
	var (
		mu      sync.Mutex
		methods = map[string]int{} // RPCs by method
	)
	record := grpc.ServerInterceptorFunc(func(next func(*grpc.HandlerCallDetails) *grpc.RpcMethodHandler, d *grpc.HandlerCallDetails) *grpc.RpcMethodHandler {
		mu.Lock()
		methods[d.Method]++
		mu.Unlock()
		return next(d)
	})
	target := serveWith(t, []grpc.ServerOption{grpc.WithInterceptors(record)},
		[]string{rg.RouteGuideServiceName, reflection.ServiceName},
		func(s *grpc.Server) error { return rg.AddRouteGuideServicerToServer(routeGuide{}, s) })

	out := grpcurl(t, "-plaintext", target, "list")
	if want := "grpc.reflection.v1alpha.ServerReflection\nrouteguide.RouteGuide\n"; out != want {
		t.Errorf("list: %q, want %q", out, want)
	}
	contains(t, grpcurl(t, "-plaintext", target, "list", "routeguide.RouteGuide"),
		"routeguide.RouteGuide.GetFeature", "routeguide.RouteGuide.ListFeatures",
		"routeguide.RouteGuide.RecordRoute", "routeguide.RouteGuide.RouteChat")
	contains(t, grpcurl(t, "-plaintext", target, "describe", "routeguide.RouteGuide"),
		"routeguide.RouteGuide is a service:",
		"rpc GetFeature ( .routeguide.Point ) returns ( .routeguide.Feature );",
		"rpc ListFeatures ( .routeguide.Rectangle ) returns ( stream .routeguide.Feature );",
		"rpc RecordRoute ( stream .routeguide.Point ) returns ( .routeguide.RouteSummary );",
		"rpc RouteChat ( stream .routeguide.RouteNote ) returns ( stream .routeguide.RouteNote );")
	contains(t, grpcurl(t, "-plaintext", target, "describe", "routeguide.Feature"),
		"routeguide.Feature is a message:", "string name = 1;", ".routeguide.Point location = 2;")

	contains(t, grpcurl(t, "-plaintext", "-d", `{"latitude": 409146138, "longitude": -746188906}`,
		target, "routeguide.RouteGuide/GetFeature"),
		`"name": "Berkshire Valley Management Area Trail, Jefferson, NJ, USA"`, `"latitude": 409146138`)
	contains(t, grpcurl(t, "-plaintext", "-d", `{"lo": {"latitude": 400000000, "longitude": -750000000}, "hi": {"latitude": 420000000, "longitude": -730000000}}`,
		target, "routeguide.RouteGuide/ListFeatures"),
		`"name": "Berkshire Valley Management Area Trail, Jefferson, NJ, USA"`, `"name": "Patriots Path, Mendham, NJ 07945, USA"`)

	// gRPC's own services are described from grpcpy's private registry.
	contains(t, grpcurl(t, "-plaintext", target, "describe", "grpc.health.v1.Health"),
		"grpc.health.v1.Health is a service:",
		"rpc Watch ( .grpc.health.v1.HealthCheckRequest ) returns ( stream .grpc.health.v1.HealthCheckResponse );")
	contains(t, grpcurl(t, "-plaintext", target, "describe", reflection.ServiceName),
		"rpc ServerReflectionInfo ( stream .grpc.reflection.v1alpha.ServerReflectionRequest ) returns ( stream .grpc.reflection.v1alpha.ServerReflectionResponse );")

	// An unknown symbol: NOT_FOUND, which grpcurl reports as such.
	contains(t, grpcurlFails(t, "-plaintext", target, "describe", "routeguide.NoSuch"),
		`Failed to resolve symbol "routeguide.NoSuch": Symbol not found: routeguide.NoSuch`)

	// grpcurl v1.9.4 asks v1 first and uses it when served (v1alpha, the
	// only version grpcio serves, is its fallback).
	mu.Lock()
	defer mu.Unlock()
	t.Logf("RPCs by method: %v", methods)
	if methods["/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"] == 0 {
		t.Errorf("grpcurl did not use grpc.reflection.v1: %v", methods)
	}
}

func contains(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}
