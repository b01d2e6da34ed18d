// Command route_guide_client is grpc's route_guide_client.py in Go: it
// calls one method of each RPC shape and prints what comes back.
package main

import (
	"flag"
	"fmt"
	"log"
	"time"

	pb "github.com/grpcpy/grpcpy/examples/routeguide/routeguide"
	"github.com/grpcpy/grpcpy/grpc"
)

func guideGetOneFeature(stub *pb.RouteGuideStub, p *pb.Point) {
	f, err := stub.GetFeature.Call(p, grpc.WithTimeout(10*time.Second))
	if err != nil {
		log.Fatalf("GetFeature: %v", err)
	}
	if f.GetName() == "" {
		fmt.Printf("Server returned incomplete feature\n")
		return
	}
	fmt.Printf("Feature called %q at (%d, %d)\n", f.GetName(), f.GetLocation().GetLatitude(), f.GetLocation().GetLongitude())
}

func guideListFeatures(stub *pb.RouteGuideStub, rect *pb.Rectangle) {
	fmt.Println("Looking for features between", rect.GetLo(), "and", rect.GetHi())
	features, err := stub.ListFeatures.Call(rect, grpc.WithTimeout(10*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	for f, err := range features.All() {
		if err != nil {
			log.Fatalf("ListFeatures: %v", err)
		}
		fmt.Printf("Feature called %q at (%d, %d)\n", f.GetName(), f.GetLocation().GetLatitude(), f.GetLocation().GetLongitude())
	}
}

func guideRecordRoute(stub *pb.RouteGuideStub, db []*pb.Feature) {
	var points []*pb.Point
	for i := 0; i < 10; i++ {
		points = append(points, db[(i*5+1)%len(db)].GetLocation())
	}
	s, err := stub.RecordRoute.Call(grpc.Requests(points...), grpc.WithTimeout(10*time.Second))
	if err != nil {
		log.Fatalf("RecordRoute: %v", err)
	}
	fmt.Printf("Finished trip with %d points\nPassed %d features\nTravelled %d meters\nIt took %d seconds\n",
		s.GetPointCount(), s.GetFeatureCount(), s.GetDistance(), s.GetElapsedTime())
}

func guideRouteChat(stub *pb.RouteGuideStub) {
	notes := []*pb.RouteNote{
		{Location: &pb.Point{Latitude: 0, Longitude: 0}, Message: "First message"},
		{Location: &pb.Point{Latitude: 0, Longitude: 1}, Message: "Second message"},
		{Location: &pb.Point{Latitude: 1, Longitude: 0}, Message: "Third message"},
		{Location: &pb.Point{Latitude: 0, Longitude: 0}, Message: "Fourth message"},
		{Location: &pb.Point{Latitude: 1, Longitude: 0}, Message: "Fifth message"},
	}
	responses, err := stub.RouteChat.Call(grpc.Requests(notes...), grpc.WithTimeout(10*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	for n, err := range responses.All() {
		if err != nil {
			log.Fatalf("RouteChat: %v", err)
		}
		fmt.Printf("Received message %s at (%d, %d)\n", n.GetMessage(), n.GetLocation().GetLatitude(), n.GetLocation().GetLongitude())
	}
}

func main() {
	target := flag.String("target", "localhost:50051", "server address")
	flag.Parse()
	db, err := pb.LoadFeatures()
	if err != nil {
		log.Fatal(err)
	}
	channel, err := grpc.InsecureChannel(*target)
	if err != nil {
		log.Fatal(err)
	}
	defer channel.Close()
	stub := pb.NewRouteGuideStub(channel)
	fmt.Println("-------------- GetFeature --------------")
	guideGetOneFeature(stub, db[0].GetLocation())
	guideGetOneFeature(stub, &pb.Point{Latitude: 0, Longitude: 0})
	fmt.Println("-------------- ListFeatures --------------")
	guideListFeatures(stub, &pb.Rectangle{
		Lo: &pb.Point{Latitude: 400000000, Longitude: -750000000},
		Hi: &pb.Point{Latitude: 420000000, Longitude: -730000000}})
	fmt.Println("-------------- RecordRoute --------------")
	guideRecordRoute(stub, db)
	fmt.Println("-------------- RouteChat --------------")
	guideRouteChat(stub)
}
