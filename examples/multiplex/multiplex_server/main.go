// Command multiplex_server is grpc's examples/python/multiplex/
// multiplex_server.py in Go: one server, two services (helloworld.Greeter
// and routeguide.RouteGuide) on one port.
//
//	server = grpc.server(futures.ThreadPoolExecutor(max_workers=10))   server, err := grpc.NewServer(grpc.NewThreadPoolExecutor(10))
//	helloworld_pb2_grpc.add_GreeterServicer_to_server(_GreeterServicer(), server)
//	                                                                    hwpb.AddGreeterServicerToServer(greeterServicer{}, server)
//	route_guide_pb2_grpc.add_RouteGuideServicer_to_server(_RouteGuideServicer(), server)
//	                                                                    rgpb.AddRouteGuideServicerToServer(&routeGuideServicer{db: db}, server)
//	server.add_insecure_port('[::]:50051')                              server.AddInsecurePort(*addr)
//	server.start()                                                      server.Start()
//	server.wait_for_termination()                                       server.WaitForTermination()
//	self.db = route_guide_resources.read_route_guide_database()        db, err := rgpb.LoadFeatures()
package main

import (
	"flag"
	"fmt"
	"iter"
	"log"
	"math"
	"os"
	"os/signal"
	"syscall"
	"time"

	hwpb "github.com/grpcpy/grpcpy/examples/helloworld/helloworld"
	rgpb "github.com/grpcpy/grpcpy/examples/routeguide/routeguide"
	"github.com/grpcpy/grpcpy/grpc"
	"google.golang.org/protobuf/proto"
)

// getFeature returns the feature at the given location or nil.
func getFeature(db []*rgpb.Feature, point *rgpb.Point) *rgpb.Feature {
	for _, feature := range db {
		if proto.Equal(feature.GetLocation(), point) {
			return feature
		}
	}
	return nil
}

// getDistance is the distance in metres between two points (haversine).
func getDistance(start, end *rgpb.Point) float64 {
	const coordFactor = 10000000.0
	lat1, lat2 := float64(start.GetLatitude())/coordFactor, float64(end.GetLatitude())/coordFactor
	lon1, lon2 := float64(start.GetLongitude())/coordFactor, float64(end.GetLongitude())/coordFactor
	radians := func(deg float64) float64 { return deg * math.Pi / 180 }
	latRad1, latRad2 := radians(lat1), radians(lat2)
	deltaLatRad, deltaLonRad := radians(lat2-lat1), radians(lon2-lon1)
	a := math.Pow(math.Sin(deltaLatRad/2), 2) + math.Cos(latRad1)*math.Cos(latRad2)*math.Pow(math.Sin(deltaLonRad/2), 2)
	c := 2 * math.Atan2(math.Sqrt(a), math.Sqrt(1-a))
	const R = 6371000 // metres
	return R * c
}

type greeterServicer struct {
	hwpb.UnimplementedGreeterServicer
}

func (greeterServicer) SayHello(request *hwpb.HelloRequest, context *grpc.ServicerContext) (*hwpb.HelloReply, error) {
	return &hwpb.HelloReply{Message: fmt.Sprintf("Hello, %s!", request.GetName())}, nil
}

// routeGuideServicer provides the methods of the route guide server.
type routeGuideServicer struct {
	rgpb.UnimplementedRouteGuideServicer
	db []*rgpb.Feature
}

func (s *routeGuideServicer) GetFeature(request *rgpb.Point, context *grpc.ServicerContext) (*rgpb.Feature, error) {
	if feature := getFeature(s.db, request); feature != nil {
		return feature, nil
	}
	return &rgpb.Feature{Name: "", Location: request}, nil
}

func (s *routeGuideServicer) ListFeatures(request *rgpb.Rectangle, context *grpc.ServicerContext) iter.Seq2[*rgpb.Feature, error] {
	left := min(request.GetLo().GetLongitude(), request.GetHi().GetLongitude())
	right := max(request.GetLo().GetLongitude(), request.GetHi().GetLongitude())
	top := max(request.GetLo().GetLatitude(), request.GetHi().GetLatitude())
	bottom := min(request.GetLo().GetLatitude(), request.GetHi().GetLatitude())
	return func(yield func(*rgpb.Feature, error) bool) {
		for _, feature := range s.db {
			loc := feature.GetLocation()
			if loc.GetLongitude() >= left && loc.GetLongitude() <= right &&
				loc.GetLatitude() >= bottom && loc.GetLatitude() <= top {
				if !yield(feature, nil) {
					return
				}
			}
		}
	}
}

func (s *routeGuideServicer) RecordRoute(requestIterator iter.Seq2[*rgpb.Point, error], context *grpc.ServicerContext) (*rgpb.RouteSummary, error) {
	var pointCount, featureCount int32
	var distance float64
	var prevPoint *rgpb.Point
	startTime := time.Now()
	for point, err := range requestIterator {
		if err != nil {
			return nil, err
		}
		pointCount++
		if getFeature(s.db, point) != nil {
			featureCount++
		}
		if prevPoint != nil {
			distance += getDistance(prevPoint, point)
		}
		prevPoint = point
	}
	elapsedTime := time.Since(startTime)
	return &rgpb.RouteSummary{PointCount: pointCount, FeatureCount: featureCount,
		Distance: int32(distance), ElapsedTime: int32(elapsedTime.Seconds())}, nil
}

// RouteChat answers each note with the notes sent earlier in the same call
// at the same location.
func (s *routeGuideServicer) RouteChat(requestIterator iter.Seq2[*rgpb.RouteNote, error], context *grpc.ServicerContext) iter.Seq2[*rgpb.RouteNote, error] {
	return func(yield func(*rgpb.RouteNote, error) bool) {
		var prevNotes []*rgpb.RouteNote
		for newNote, err := range requestIterator {
			if err != nil {
				yield(nil, err)
				return
			}
			for _, prevNote := range prevNotes {
				if proto.Equal(prevNote.GetLocation(), newNote.GetLocation()) {
					if !yield(prevNote, nil) {
						return
					}
				}
			}
			prevNotes = append(prevNotes, newNote)
		}
	}
}

func main() {
	addr := flag.String("addr", "[::]:50051", "address to listen on (port 0: the kernel picks)")
	portFile := flag.String("port_file", "", "if set, write the bound port to this file once serving")
	flag.Parse()

	db, err := rgpb.LoadFeatures()
	if err != nil {
		log.Fatal(err)
	}
	pool := grpc.NewThreadPoolExecutor(10)
	server, err := grpc.NewServer(pool)
	if err != nil {
		log.Fatal(err)
	}
	if err := hwpb.AddGreeterServicerToServer(greeterServicer{}, server); err != nil {
		log.Fatal(err)
	}
	if err := rgpb.AddRouteGuideServicerToServer(&routeGuideServicer{db: db}, server); err != nil {
		log.Fatal(err)
	}
	port, err := server.AddInsecurePort(*addr)
	if err != nil {
		log.Fatal(err)
	}
	if err := server.Start(); err != nil {
		log.Fatal(err)
	}
	if *portFile != "" {
		if err := os.WriteFile(*portFile, []byte(fmt.Sprint(port)), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		server.Stop(0) // the original's server.stop(0) on KeyboardInterrupt
	}()
	server.WaitForTermination()
	pool.Shutdown(true)
}
