// Command route_guide_server is grpc's examples/python/route_guide/
// route_guide_server.py in Go: the RouteGuide service, one method of each
// RPC shape, over the features of route_guide_db.json.
//
// Python:
//
//	class RouteGuideServicer(route_guide_pb2_grpc.RouteGuideServicer):
//	    def __init__(self):
//	        self.db = route_guide_resources.read_route_guide_database()
//	    def GetFeature(self, request, context):              # unary-unary
//	        feature = get_feature(self.db, request)
//	        if feature is None:
//	            return route_guide_pb2.Feature(name="", location=request)
//	        ...
//	    def ListFeatures(self, request, context):            # unary-stream
//	        for feature in self.db:
//	            if (... inside the rectangle ...):
//	                yield feature
//	    def RecordRoute(self, request_iterator, context):    # stream-unary
//	        for point in request_iterator: ...
//	    def RouteChat(self, request_iterator, context):      # stream-stream
//	        prev_notes = []
//	        for new_note in request_iterator:
//	            for prev_note in prev_notes:
//	                if prev_note.location == new_note.location:
//	                    yield prev_note
//	            prev_notes.append(new_note)
//
//	server = grpc.server(futures.ThreadPoolExecutor(max_workers=10))
//	route_guide_pb2_grpc.add_RouteGuideServicer_to_server(RouteGuideServicer(), server)
//	server.add_insecure_port("[::]:50051")
//	server.start()
//	server.wait_for_termination()
//
// Go: the same methods on routeGuideServicer, with typed requests;
// a generator (yield) is an iter.Seq2 the handler returns, a request
// iterator an iter.Seq2 it ranges over:
//
//	func (s *routeGuideServicer) ListFeatures(request *pb.Rectangle, context *grpc.ServicerContext) iter.Seq2[*pb.Feature, error]
//	func (s *routeGuideServicer) RouteChat(requestIterator iter.Seq2[*pb.RouteNote, error], context *grpc.ServicerContext) iter.Seq2[*pb.RouteNote, error]
//
//	server, err := grpc.NewServer(grpc.NewThreadPoolExecutor(10))
//	pb.AddRouteGuideServicerToServer(&routeGuideServicer{db: db}, server)
//	server.AddInsecurePort(*addr)
//	server.Start()
//	server.WaitForTermination()
//
// Flags: --addr (default [::]:50051, the original's) and --port_file
// (written once serving). SIGINT or SIGTERM stops it.
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

	pb "github.com/grpcpy/grpcpy/examples/routeguide/routeguide"
	"github.com/grpcpy/grpcpy/grpc"
	"google.golang.org/protobuf/proto"
)

// getFeature returns the feature at the given location, or nil (None).
// Entries of the database with an empty name count too: as in Python,
// a point without a feature still has its entry.
func getFeature(featureDb []*pb.Feature, point *pb.Point) *pb.Feature {
	for _, feature := range featureDb {
		if proto.Equal(feature.GetLocation(), point) {
			return feature
		}
	}
	return nil
}

// getDistance is the distance in metres between two points, by the
// original's formula (haversine).
func getDistance(start, end *pb.Point) float64 {
	const coordFactor = 10000000.0
	lat1 := float64(start.GetLatitude()) / coordFactor
	lat2 := float64(end.GetLatitude()) / coordFactor
	lon1 := float64(start.GetLongitude()) / coordFactor
	lon2 := float64(end.GetLongitude()) / coordFactor
	latRad1 := radians(lat1)
	latRad2 := radians(lat2)
	deltaLatRad := radians(lat2 - lat1)
	deltaLonRad := radians(lon2 - lon1)

	a := math.Pow(math.Sin(deltaLatRad/2), 2) +
		math.Cos(latRad1)*math.Cos(latRad2)*math.Pow(math.Sin(deltaLonRad/2), 2)
	c := 2 * math.Atan2(math.Sqrt(a), math.Sqrt(1-a))
	const R = 6371000 // metres
	return R * c
}

func radians(degrees float64) float64 { return degrees * math.Pi / 180 }

// routeGuideServicer provides the methods of the RouteGuide service.
type routeGuideServicer struct {
	db []*pb.Feature
}

// GetFeature: unary-unary. A point outside the database gets a feature
// with an empty name.
func (s *routeGuideServicer) GetFeature(request *pb.Point, context *grpc.ServicerContext) (*pb.Feature, error) {
	feature := getFeature(s.db, request)
	if feature == nil {
		return &pb.Feature{Name: "", Location: request}, nil
	}
	return feature, nil
}

// ListFeatures: unary-stream, every feature inside the rectangle.
func (s *routeGuideServicer) ListFeatures(request *pb.Rectangle, context *grpc.ServicerContext) iter.Seq2[*pb.Feature, error] {
	left := min(request.GetLo().GetLongitude(), request.GetHi().GetLongitude())
	right := max(request.GetLo().GetLongitude(), request.GetHi().GetLongitude())
	top := max(request.GetLo().GetLatitude(), request.GetHi().GetLatitude())
	bottom := min(request.GetLo().GetLatitude(), request.GetHi().GetLatitude())
	return func(yield func(*pb.Feature, error) bool) {
		for _, feature := range s.db {
			location := feature.GetLocation()
			if location.GetLongitude() >= left &&
				location.GetLongitude() <= right &&
				location.GetLatitude() >= bottom &&
				location.GetLatitude() <= top {
				if !yield(feature, nil) {
					return
				}
			}
		}
	}
}

// RecordRoute: stream-unary, a summary of the points streamed in.
func (s *routeGuideServicer) RecordRoute(requestIterator iter.Seq2[*pb.Point, error], context *grpc.ServicerContext) (*pb.RouteSummary, error) {
	var pointCount, featureCount int32
	distance := 0.0
	var prevPoint *pb.Point

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

	elapsedTime := time.Since(startTime).Seconds()
	return &pb.RouteSummary{
		PointCount:   pointCount,
		FeatureCount: featureCount,
		Distance:     int32(distance),
		ElapsedTime:  int32(elapsedTime),
	}, nil
}

// RouteChat: stream-stream. For each note received, the earlier notes of
// this call at the same location are sent back.
func (s *routeGuideServicer) RouteChat(requestIterator iter.Seq2[*pb.RouteNote, error], context *grpc.ServicerContext) iter.Seq2[*pb.RouteNote, error] {
	return func(yield func(*pb.RouteNote, error) bool) {
		var prevNotes []*pb.RouteNote
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

func serve(addr, portFile string) {
	db, err := pb.LoadFeatures() // route_guide_resources.read_route_guide_database()
	if err != nil {
		log.Fatal(err)
	}
	server, err := grpc.NewServer(grpc.NewThreadPoolExecutor(10))
	if err != nil {
		log.Fatal(err)
	}
	if err := pb.AddRouteGuideServicerToServer(&routeGuideServicer{db: db}, server); err != nil {
		log.Fatal(err)
	}
	port, err := server.AddInsecurePort(addr)
	if err != nil {
		log.Fatal(err)
	}
	if err := server.Start(); err != nil {
		log.Fatal(err)
	}
	if portFile != "" {
		if err := os.WriteFile(portFile, []byte(fmt.Sprint(port)), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		server.Stop(time.Second)
	}()
	server.WaitForTermination()
}

func main() {
	addr := flag.String("addr", "[::]:50051", "address to listen on (port 0: the kernel picks)")
	portFile := flag.String("port_file", "", "if set, write the bound port to this file once serving")
	flag.Parse()
	serve(*addr, *portFile)
}
