// Command multiplex_client is grpc's examples/python/multiplex/
// multiplex_client.py in Go: two stubs, Greeter and RouteGuide, share one
// channel, and the client makes RPCs of every shape through them.
//
//	with grpc.insecure_channel('localhost:50051') as channel:   channel, err := grpc.InsecureChannel(*target); defer channel.Close()
//	    greeter_stub = helloworld_pb2_grpc.GreeterStub(channel)  greeterStub := hwpb.NewGreeterStub(channel)
//	    route_guide_stub = route_guide_pb2_grpc.RouteGuideStub(channel)
//	                                                             routeGuideStub := rgpb.NewRouteGuideStub(channel)
//	greeter_stub.SayHello(helloworld_pb2.HelloRequest(name='you'))
//	                                                             greeterStub.SayHello.Call(&hwpb.HelloRequest{Name: "you"})
//	for feature in route_guide_stub.ListFeatures(rectangle):     for feature, err := range features.All() {
//	route_guide_stub.RecordRoute(generate_route(feature_list))   routeGuideStub.RecordRoute.Call(generateRoute(featureList))
//	for response in route_guide_stub.RouteChat(generate_messages()):
//	                                                             for response, err := range responses.All() {
//
// Messages print as Python prints them (%s of a message is its text
// format, without zero fields): see pointText.
package main

import (
	"flag"
	"fmt"
	"iter"
	"log"
	"math/rand/v2"
	"strings"
	"time"

	hwpb "github.com/grpcpy/grpcpy/examples/helloworld/helloworld"
	rgpb "github.com/grpcpy/grpcpy/examples/routeguide/routeguide"
	"github.com/grpcpy/grpcpy/grpc"
)

// delayScale scales the original's random pauses between streamed
// messages (1: as in the original).
var delayScale = flag.Float64("delay_scale", 1, "scale of the random pauses between streamed messages")

// sleepUniform is time.sleep(random.uniform(lo, hi)), scaled.
func sleepUniform(lo, hi float64) {
	time.Sleep(time.Duration((lo + rand.Float64()*(hi-lo)) * *delayScale * float64(time.Second)))
}

// pointText is Python's str() of a Point: its text format, one
// "field: value" line per non-zero field.
func pointText(p *rgpb.Point) string {
	var b strings.Builder
	if p.GetLatitude() != 0 {
		fmt.Fprintf(&b, "latitude: %d\n", p.GetLatitude())
	}
	if p.GetLongitude() != 0 {
		fmt.Fprintf(&b, "longitude: %d\n", p.GetLongitude())
	}
	return b.String()
}

func makeRouteNote(message string, latitude, longitude int32) *rgpb.RouteNote {
	return &rgpb.RouteNote{Message: message, Location: &rgpb.Point{Latitude: latitude, Longitude: longitude}}
}

func guideGetOneFeature(routeGuideStub *rgpb.RouteGuideStub, point *rgpb.Point) {
	feature, err := routeGuideStub.GetFeature.Call(point)
	if err != nil {
		log.Fatal(err)
	}
	if feature.GetLocation() == nil {
		fmt.Println("Server returned incomplete feature")
		return
	}
	if feature.GetName() != "" {
		fmt.Printf("Feature called %s at %s\n", feature.GetName(), pointText(feature.GetLocation()))
	} else {
		fmt.Printf("Found no feature at %s\n", pointText(feature.GetLocation()))
	}
}

func guideGetFeature(routeGuideStub *rgpb.RouteGuideStub) {
	// The original's (409146138, -746188906) is not in this repository's
	// route_guide_db.json; (405433012, -747469171) is.
	guideGetOneFeature(routeGuideStub, &rgpb.Point{Latitude: 405433012, Longitude: -747469171})
	guideGetOneFeature(routeGuideStub, &rgpb.Point{Latitude: 0, Longitude: 0})
}

func guideListFeatures(routeGuideStub *rgpb.RouteGuideStub) {
	rectangle := &rgpb.Rectangle{
		Lo: &rgpb.Point{Latitude: 400000000, Longitude: -750000000},
		Hi: &rgpb.Point{Latitude: 420000000, Longitude: -730000000},
	}
	fmt.Println("Looking for features between 40, -75 and 42, -73")
	features, err := routeGuideStub.ListFeatures.Call(rectangle)
	if err != nil {
		log.Fatal(err)
	}
	for feature, err := range features.All() {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("Feature called %s at %s\n", feature.GetName(), pointText(feature.GetLocation()))
	}
}

// generateRoute is the original's generator: ten random points of the
// database, with a pause after each.
func generateRoute(featureList []*rgpb.Feature) iter.Seq2[*rgpb.Point, error] {
	return func(yield func(*rgpb.Point, error) bool) {
		for range 10 {
			randomFeature := featureList[rand.IntN(len(featureList))]
			fmt.Printf("Visiting point %s\n", pointText(randomFeature.GetLocation()))
			if !yield(randomFeature.GetLocation(), nil) {
				return
			}
			sleepUniform(0.5, 1.5)
		}
	}
}

func guideRecordRoute(routeGuideStub *rgpb.RouteGuideStub) {
	featureList, err := rgpb.LoadFeatures()
	if err != nil {
		log.Fatal(err)
	}
	routeSummary, err := routeGuideStub.RecordRoute.Call(generateRoute(featureList))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("Finished trip with %d points \n", routeSummary.GetPointCount())
	fmt.Printf("Passed %d features \n", routeSummary.GetFeatureCount())
	fmt.Printf("Travelled %d meters \n", routeSummary.GetDistance())
	fmt.Printf("It took %d seconds \n", routeSummary.GetElapsedTime())
}

func generateMessages() iter.Seq2[*rgpb.RouteNote, error] {
	messages := []*rgpb.RouteNote{
		makeRouteNote("First message", 0, 0),
		makeRouteNote("Second message", 0, 1),
		makeRouteNote("Third message", 1, 0),
		makeRouteNote("Fourth message", 0, 0),
		makeRouteNote("Fifth message", 1, 0),
	}
	return func(yield func(*rgpb.RouteNote, error) bool) {
		for _, msg := range messages {
			fmt.Printf("Sending %s at %s\n", msg.GetMessage(), pointText(msg.GetLocation()))
			if !yield(msg, nil) {
				return
			}
			sleepUniform(0.5, 1.0)
		}
	}
}

func guideRouteChat(routeGuideStub *rgpb.RouteGuideStub) {
	responses, err := routeGuideStub.RouteChat.Call(generateMessages())
	if err != nil {
		log.Fatal(err)
	}
	for response, err := range responses.All() {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("Received message %s at %s\n", response.GetMessage(), pointText(response.GetLocation()))
	}
}

func main() {
	target := flag.String("target", "localhost:50051", "server address")
	flag.Parse()

	channel, err := grpc.InsecureChannel(*target)
	if err != nil {
		log.Fatal(err)
	}
	defer channel.Close()
	greeterStub := hwpb.NewGreeterStub(channel)
	routeGuideStub := rgpb.NewRouteGuideStub(channel)
	greeterResponse, err := greeterStub.SayHello.Call(&hwpb.HelloRequest{Name: "you"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("Greeter client received: " + greeterResponse.GetMessage())
	fmt.Println("-------------- GetFeature --------------")
	guideGetFeature(routeGuideStub)
	fmt.Println("-------------- ListFeatures --------------")
	guideListFeatures(routeGuideStub)
	fmt.Println("-------------- RecordRoute --------------")
	guideRecordRoute(routeGuideStub)
	fmt.Println("-------------- RouteChat --------------")
	guideRouteChat(routeGuideStub)
}
