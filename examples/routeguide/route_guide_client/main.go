// Command route_guide_client is grpc's examples/python/route_guide/
// route_guide_client.py in Go: it calls the four RouteGuide methods, one
// of each RPC shape, and prints what goes out and what comes back, line
// for line as the Python client does.
//
// Python:
//
//	feature = stub.GetFeature(point)                          # unary-unary
//	features = stub.ListFeatures(rectangle)                   # unary-stream
//	for feature in features:
//	    print("Feature called %r at %s" % (feature.name, format_point(feature.location)))
//	route_summary = stub.RecordRoute(generate_route(feature_list))  # stream-unary
//	responses = stub.RouteChat(generate_messages())           # stream-stream
//	for response in responses: ...
//
// Go:
//
//	feature, err := stub.GetFeature.Call(point)
//	features, err := stub.ListFeatures.Call(rectangle)
//	for feature, err := range features.All() {
//	    fmt.Printf("Feature called %s at %s\n", pyRepr(feature.GetName()), formatPoint(feature.GetLocation()))
//	routeSummary, err := stub.RecordRoute.Call(grpc.RequestsFrom(generateRoute(featureList)))
//	responses, err := stub.RouteChat.Call(grpc.RequestsFrom(generateMessages()))
//	for response, err := range responses.All() { ... }
//
// Python's generators (yield) are Go iterators (iter.Seq); grpc.RequestsFrom
// makes them request iterators. Flag: --target (default localhost:50051,
// the original's).
package main

import (
	"flag"
	"fmt"
	"iter"
	"log"
	"math/rand/v2"
	"strconv"
	"strings"

	pb "github.com/grpcpy/grpcpy/examples/routeguide/routeguide"
	"github.com/grpcpy/grpcpy/grpc"
)

func makeRouteNote(message string, latitude, longitude int32) *pb.RouteNote {
	return &pb.RouteNote{
		Message:  message,
		Location: &pb.Point{Latitude: latitude, Longitude: longitude},
	}
}

// formatPoint is the original's format_point: not the message's own text,
// which is empty for a zero point.
func formatPoint(point *pb.Point) string {
	return fmt.Sprintf("latitude: %d, longitude: %d", point.GetLatitude(), point.GetLongitude())
}

// pyRepr is Python's repr() of a str, for the original's %r: single
// quotes unless the text holds a single quote and no double one.
func pyRepr(s string) string {
	quote := byte('\'')
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		quote = '"'
	}
	var b strings.Builder
	b.WriteByte(quote)
	for _, r := range s {
		switch {
		case r == '\\' || r == rune(quote):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case !strconv.IsPrint(r):
			b.WriteString(strings.Trim(strconv.QuoteRuneToASCII(r), "'"))
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(quote)
	return b.String()
}

func guideGetOneFeature(stub *pb.RouteGuideStub, point *pb.Point) {
	feature, err := stub.GetFeature.Call(point)
	if err != nil {
		log.Fatal(err)
	}
	if feature.GetLocation() == nil {
		fmt.Println("Server returned incomplete feature")
		return
	}

	if feature.GetName() != "" {
		fmt.Printf("Feature called %s at %s\n", pyRepr(feature.GetName()), formatPoint(feature.GetLocation()))
	} else {
		fmt.Printf("Found no feature at %s\n", formatPoint(feature.GetLocation()))
	}
}

func guideGetFeature(stub *pb.RouteGuideStub) {
	// The original asks for (409146138, -746188906), a feature of its own
	// database; this repository's route_guide_db.json has this one instead.
	guideGetOneFeature(stub, &pb.Point{Latitude: 405433012, Longitude: -747469171})
	guideGetOneFeature(stub, &pb.Point{Latitude: 0, Longitude: 0})
}

func guideListFeatures(stub *pb.RouteGuideStub) {
	rectangle := &pb.Rectangle{
		Lo: &pb.Point{Latitude: 400000000, Longitude: -750000000},
		Hi: &pb.Point{Latitude: 420000000, Longitude: -730000000},
	}
	fmt.Println("Looking for features between 40, -75 and 42, -73")

	features, err := stub.ListFeatures.Call(rectangle)
	if err != nil {
		log.Fatal(err)
	}

	for feature, err := range features.All() {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("Feature called %s at %s\n", pyRepr(feature.GetName()), formatPoint(feature.GetLocation()))
	}
}

// generateRoute yields ten random points of the database.
func generateRoute(featureList []*pb.Feature) iter.Seq[*pb.Point] {
	return func(yield func(*pb.Point) bool) {
		for range 10 {
			randomFeature := featureList[rand.IntN(len(featureList))]
			fmt.Printf("Visiting point %s\n", formatPoint(randomFeature.GetLocation()))
			if !yield(randomFeature.GetLocation()) {
				return
			}
		}
	}
}

func guideRecordRoute(stub *pb.RouteGuideStub) {
	featureList, err := pb.LoadFeatures() // route_guide_resources.read_route_guide_database()
	if err != nil {
		log.Fatal(err)
	}

	routeIterator := generateRoute(featureList)
	routeSummary, err := stub.RecordRoute.Call(grpc.RequestsFrom(routeIterator))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("Finished trip with %d points \n", routeSummary.GetPointCount())
	fmt.Printf("Passed %d features \n", routeSummary.GetFeatureCount())
	fmt.Printf("Travelled %d meters \n", routeSummary.GetDistance())
	fmt.Printf("It took %d seconds \n", routeSummary.GetElapsedTime())
}

func generateMessages() iter.Seq[*pb.RouteNote] {
	messages := []*pb.RouteNote{
		makeRouteNote("First message", 0, 0),
		makeRouteNote("Second message", 0, 1),
		makeRouteNote("Third message", 1, 0),
		makeRouteNote("Fourth message", 0, 0),
		makeRouteNote("Fifth message", 1, 0),
	}
	return func(yield func(*pb.RouteNote) bool) {
		for _, msg := range messages {
			fmt.Printf("Sending %s at %s\n", msg.GetMessage(), formatPoint(msg.GetLocation()))
			if !yield(msg) {
				return
			}
		}
	}
}

func guideRouteChat(stub *pb.RouteGuideStub) {
	responses, err := stub.RouteChat.Call(grpc.RequestsFrom(generateMessages()))
	if err != nil {
		log.Fatal(err)
	}
	for response, err := range responses.All() {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("Received message %s at %s\n", response.GetMessage(), formatPoint(response.GetLocation()))
	}
}

func run(target string) {
	channel, err := grpc.InsecureChannel(target)
	if err != nil {
		log.Fatal(err)
	}
	defer channel.Close() // the with statement
	stub := pb.NewRouteGuideStub(channel)
	fmt.Println("-------------- GetFeature --------------")
	guideGetFeature(stub)
	fmt.Println("-------------- ListFeatures --------------")
	guideListFeatures(stub)
	fmt.Println("-------------- RecordRoute --------------")
	guideRecordRoute(stub)
	fmt.Println("-------------- RouteChat --------------")
	guideRouteChat(stub)
}

func main() {
	target := flag.String("target", "localhost:50051", "server address")
	flag.Parse()
	run(*target)
}
