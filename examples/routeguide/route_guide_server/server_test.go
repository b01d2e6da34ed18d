package main

import (
	"fmt"
	"testing"
	"time"

	pb "github.com/grpcpy/grpcpy/examples/routeguide/routeguide"
	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func TestRouteGuideAllFourShapes(t *testing.T) {
	leakcheck.Check(t)
	db, err := pb.LoadFeatures()
	if err != nil {
		t.Fatal(err)
	}
	server, err := grpc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	pb.AddRouteGuideServicerToServer(&routeGuideServicer{db: db}, server)
	port, err := server.AddInsecurePort("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	server.Start()
	defer server.Stop(grpc.NoGrace)
	ch, err := grpc.InsecureChannel(fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	stub := pb.NewRouteGuideStub(ch)
	timeout := grpc.WithTimeout(20 * time.Second)

	f, err := stub.GetFeature.Call(db[0].GetLocation(), timeout)
	if err != nil || f.GetName() != db[0].GetName() {
		t.Fatalf("GetFeature: %v %v", f, err)
	}

	it, err := stub.ListFeatures.Call(&pb.Rectangle{Lo: &pb.Point{Latitude: 0, Longitude: -900000000},
		Hi: &pb.Point{Latitude: 900000000, Longitude: 0}}, timeout)
	if err != nil {
		t.Fatal(err)
	}
	// Every entry lies inside the rectangle; those without a name are
	// listed too, as the Python server lists them.
	want := len(db)
	n := 0
	for _, err := range it.All() {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != want {
		t.Fatalf("ListFeatures: %d features, want %d", n, want)
	}

	s, err := stub.RecordRoute.Call(grpc.Requests(db[0].GetLocation(), db[1].GetLocation(), &pb.Point{}), timeout)
	if err != nil {
		t.Fatal(err)
	}
	if s.GetPointCount() != 3 || s.GetFeatureCount() != 2 || s.GetDistance() <= 0 {
		t.Fatalf("RecordRoute: %v", s)
	}

	at := &pb.Point{Latitude: 1, Longitude: 1}
	chat, err := stub.RouteChat.Call(grpc.Requests(
		&pb.RouteNote{Location: at, Message: "a"}, &pb.RouteNote{Location: at, Message: "b"},
		&pb.RouteNote{Location: at, Message: "c"}), timeout)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for r, err := range chat.All() {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r.GetMessage())
	}
	if fmt.Sprint(got) != "[a a b]" {
		t.Fatalf("RouteChat: %v", got)
	}
}
