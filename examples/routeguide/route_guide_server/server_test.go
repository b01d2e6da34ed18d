package main

// The servicer's tests, written with grpc/testing (Python's grpc_testing):
// no port, no socket, no client code; the test plays the client of the
// real handlers, RPC by RPC. examples/routeguide/example_test.go runs the
// whole programs against each other and against Python's.

import (
	"testing"
	"time"

	pb "github.com/grpcpy/grpcpy/examples/routeguide/routeguide"
	"github.com/grpcpy/grpcpy/grpc"
	grpctesting "github.com/grpcpy/grpcpy/grpc/testing"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
	"google.golang.org/protobuf/reflect/protoreflect"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// server is grpc_testing.server_from_dictionary({RouteGuide: servicer}, time).
func server(t *testing.T, tm grpctesting.Time) (*grpctesting.Server, []*pb.Feature) {
	t.Helper()
	db, err := pb.LoadFeatures()
	if err != nil {
		t.Fatal(err)
	}
	s, err := grpctesting.ServerFromDictionary([]grpctesting.Service{
		grpctesting.ServiceOf(&pb.RouteGuide_ServiceDesc, pb.RouteGuideServicer(&routeGuideServicer{db: db})),
	}, tm)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, db
}

// method is DESCRIPTOR.services_by_name['RouteGuide'].methods_by_name[name].
func method(name string) protoreflect.MethodDescriptor {
	return pb.File_route_guide_proto.Services().ByName("RouteGuide").Methods().ByName(protoreflect.Name(name))
}

func TestGetFeature(t *testing.T) {
	s, db := server(t, grpctesting.StrictRealTime())
	rpc, err := s.InvokeUnaryUnary(method("GetFeature"), nil, db[0].GetLocation(), grpc.WithTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	response, _, code, _ := rpc.Termination()
	if code != grpc.StatusCodeOK || response.(*pb.Feature).GetName() != db[0].GetName() {
		t.Errorf("GetFeature: %v %v", response, code)
	}
	// A point with no feature: a nameless feature at that point.
	rpc, _ = s.InvokeUnaryUnary(method("GetFeature"), nil, &pb.Point{Latitude: 1, Longitude: 1})
	response, _, code, _ = rpc.Termination()
	if f := response.(*pb.Feature); code != grpc.StatusCodeOK || f.GetName() != "" || f.GetLocation().GetLatitude() != 1 {
		t.Errorf("GetFeature of nothing: %v %v", response, code)
	}
}

func TestListFeatures(t *testing.T) {
	s, db := server(t, grpctesting.StrictRealTime())
	rpc, err := s.InvokeUnaryStream(method("ListFeatures"), nil, &pb.Rectangle{
		Lo: &pb.Point{Latitude: 0, Longitude: -900000000},
		Hi: &pb.Point{Latitude: 900000000, Longitude: 0}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		if _, err := rpc.TakeResponse(); err != nil {
			break // "No more responses!"
		}
		n++
	}
	if _, code, _ := rpc.Termination(); code != grpc.StatusCodeOK || n != len(db) {
		t.Errorf("ListFeatures: %d features (want %d), %v", n, len(db), code)
	}
}

func TestRecordRoute(t *testing.T) {
	s, db := server(t, grpctesting.StrictRealTime())
	rpc, err := s.InvokeStreamUnary(method("RecordRoute"), nil)
	if err != nil {
		t.Fatal(err)
	}
	rpc.SendRequest(db[0].GetLocation())
	rpc.SendRequest(db[1].GetLocation())
	rpc.SendRequest(&pb.Point{})
	rpc.RequestsClosed()
	response, _, code, _ := rpc.Termination()
	summary := response.(*pb.RouteSummary)
	if code != grpc.StatusCodeOK || summary.GetPointCount() != 3 || summary.GetFeatureCount() != 2 || summary.GetDistance() <= 0 {
		t.Errorf("RecordRoute: %v %v", summary, code)
	}
}

func TestRouteChat(t *testing.T) {
	s, _ := server(t, grpctesting.StrictRealTime())
	rpc, err := s.InvokeStreamStream(method("RouteChat"), nil)
	if err != nil {
		t.Fatal(err)
	}
	at := &pb.Point{Latitude: 1, Longitude: 1}
	elsewhere := &pb.Point{Latitude: 2, Longitude: 2}
	rpc.SendRequest(&pb.RouteNote{Location: at, Message: "a"})
	rpc.SendRequest(&pb.RouteNote{Location: elsewhere, Message: "x"})
	rpc.SendRequest(&pb.RouteNote{Location: at, Message: "b"})
	// The third note is the first with earlier notes at its place.
	if r, err := rpc.TakeResponse(); err != nil || r.(*pb.RouteNote).GetMessage() != "a" {
		t.Fatalf("first response: %v %v", r, err)
	}
	rpc.SendRequest(&pb.RouteNote{Location: at, Message: "c"})
	var got []string
	for i := 0; i < 2; i++ {
		r, err := rpc.TakeResponse()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r.(*pb.RouteNote).GetMessage())
	}
	rpc.RequestsClosed()
	if _, code, _ := rpc.Termination(); code != grpc.StatusCodeOK || len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Errorf("RouteChat: %v %v", got, code)
	}
}

// TestRouteChatDeadlineOnFakeTime: a chat that outlives its deadline ends
// DEADLINE_EXCEEDED when the fake clock, not the wall clock, passes it.
func TestRouteChatDeadlineOnFakeTime(t *testing.T) {
	fake := grpctesting.StrictFakeTime(time.Unix(1_700_000_000, 0))
	s, _ := server(t, fake)
	rpc, err := s.InvokeStreamStream(method("RouteChat"), nil, grpc.WithTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	rpc.SendRequest(&pb.RouteNote{Location: &pb.Point{}, Message: "hello"})
	fake.SleepFor(time.Minute)
	if _, code, _ := rpc.Termination(); code != grpc.StatusCodeDeadlineExceeded {
		t.Errorf("code %v, want DEADLINE_EXCEEDED", code)
	}
}
