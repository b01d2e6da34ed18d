package main

// The client's tests, written with grpc/testing (Python's grpc_testing):
// the client functions run against a testing Channel while the test plays
// the server, so what they send and how they print each answer is checked
// without a server program, a port or a socket.

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"

	pb "github.com/grpcpy/grpcpy/examples/routeguide/routeguide"
	"github.com/grpcpy/grpcpy/grpc"
	grpctesting "github.com/grpcpy/grpcpy/grpc/testing"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
	"google.golang.org/protobuf/reflect/protoreflect"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func method(name string) protoreflect.MethodDescriptor {
	return pb.File_route_guide_proto.Services().ByName("RouteGuide").Methods().ByName(protoreflect.Name(name))
}

// client runs f with a stub over a testing Channel (grpc_testing.channel)
// on a goroutine of its own, its standard output captured; the returned
// function waits for it and returns the lines it printed.
func client(t *testing.T, f func(*pb.RouteGuideStub)) (*grpctesting.Channel, func() []string) {
	t.Helper()
	ch, err := grpctesting.NewChannel([]protoreflect.ServiceDescriptor{
		pb.File_route_guide_proto.Services().ByName("RouteGuide")}, grpctesting.StrictRealTime())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ch.Close() })
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	lines := make(chan []string, 1)
	go func() {
		var out []string
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			out = append(out, sc.Text())
		}
		lines <- out
	}()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(pb.NewRouteGuideStub(ch.Channel))
	}()
	return ch, func() []string {
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("the client did not finish in 20 s")
		}
		os.Stdout = stdout
		w.Close()
		out := <-lines
		r.Close()
		return out
	}
}

func TestGuideGetFeature(t *testing.T) {
	ch, wait := client(t, guideGetFeature)
	_, request, rpc := ch.TakeUnaryUnary(method("GetFeature"))
	p := request.(*pb.Point)
	rpc.Terminate(&pb.Feature{Name: "Harbour Lighthouse", Location: p}, nil, grpc.StatusCodeOK, "")
	_, request, rpc = ch.TakeUnaryUnary(method("GetFeature"))
	rpc.Terminate(&pb.Feature{Location: request.(*pb.Point)}, nil, grpc.StatusCodeOK, "")
	want := []string{
		"Feature called 'Harbour Lighthouse' at latitude: 405433012, longitude: -747469171",
		"Found no feature at latitude: 0, longitude: 0",
	}
	if got := wait(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("printed %q, want %q", got, want)
	}
}

func TestGuideListFeatures(t *testing.T) {
	ch, wait := client(t, guideListFeatures)
	_, request, rpc := ch.TakeUnaryStream(method("ListFeatures"))
	if r := request.(*pb.Rectangle); r.GetLo().GetLatitude() != 400000000 || r.GetHi().GetLongitude() != -730000000 {
		t.Errorf("rectangle %v", r)
	}
	rpc.SendResponse(&pb.Feature{Name: "a", Location: &pb.Point{Latitude: 1, Longitude: 2}})
	rpc.SendResponse(&pb.Feature{Name: "b", Location: &pb.Point{Latitude: 3, Longitude: 4}})
	rpc.Terminate(nil, grpc.StatusCodeOK, "")
	got := wait()
	if len(got) != 3 || got[1] != "Feature called 'a' at latitude: 1, longitude: 2" ||
		got[2] != "Feature called 'b' at latitude: 3, longitude: 4" {
		t.Errorf("printed %q", got)
	}
}

func TestGuideRecordRoute(t *testing.T) {
	ch, wait := client(t, guideRecordRoute)
	_, rpc := ch.TakeStreamUnary(method("RecordRoute"))
	for i := 0; i < 10; i++ {
		if _, err := rpc.TakeRequest(); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if err := rpc.RequestsClosed(); err != nil {
		t.Fatal(err)
	}
	rpc.Terminate(&pb.RouteSummary{PointCount: 10, FeatureCount: 7, Distance: 1234, ElapsedTime: 5}, nil, grpc.StatusCodeOK, "")
	got := wait()
	want := []string{"Finished trip with 10 points ", "Passed 7 features ", "Travelled 1234 meters ", "It took 5 seconds "}
	if len(got) < 4 || strings.Join(got[len(got)-4:], "\n") != strings.Join(want, "\n") {
		t.Errorf("printed %q", got)
	}
}

func TestGuideRouteChat(t *testing.T) {
	ch, wait := client(t, guideRouteChat)
	_, rpc := ch.TakeStreamStream(method("RouteChat"))
	var sent []string
	for i := 0; i < 5; i++ {
		r, err := rpc.TakeRequest()
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, r.(*pb.RouteNote).GetMessage())
	}
	rpc.SendResponse(&pb.RouteNote{Message: "echo", Location: &pb.Point{Latitude: 7}})
	if err := rpc.RequestsClosed(); err != nil {
		t.Fatal(err)
	}
	rpc.Terminate(nil, grpc.StatusCodeOK, "")
	got := wait()
	if strings.Join(sent, ",") != "First message,Second message,Third message,Fourth message,Fifth message" {
		t.Errorf("sent %v", sent)
	}
	if got[len(got)-1] != "Received message echo at latitude: 7, longitude: 0" {
		t.Errorf("printed %q", got)
	}
}
