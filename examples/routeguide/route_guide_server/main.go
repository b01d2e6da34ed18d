// Command route_guide_server is grpc's route_guide_server.py in Go: one
// method of each RPC shape.
package main

import (
	"flag"
	"fmt"
	"iter"
	"log"
	"math"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	pb "github.com/grpcpy/grpcpy/examples/routeguide/routeguide"
	"github.com/grpcpy/grpcpy/grpc"
)

// routeGuideServicer implements routeguide.RouteGuide.
type routeGuideServicer struct {
	db []*pb.Feature

	mu    sync.Mutex
	notes map[string][]*pb.RouteNote
}

func key(p *pb.Point) string { return fmt.Sprintf("%d,%d", p.GetLatitude(), p.GetLongitude()) }

func (s *routeGuideServicer) featureAt(p *pb.Point) *pb.Feature {
	for _, f := range s.db {
		if f.GetLocation().GetLatitude() == p.GetLatitude() && f.GetLocation().GetLongitude() == p.GetLongitude() {
			return f
		}
	}
	return nil
}

// GetFeature: unary-unary.
func (s *routeGuideServicer) GetFeature(p *pb.Point, _ *grpc.ServicerContext) (*pb.Feature, error) {
	if f := s.featureAt(p); f != nil {
		return f, nil
	}
	return &pb.Feature{Name: "", Location: p}, nil
}

// ListFeatures: unary-stream.
func (s *routeGuideServicer) ListFeatures(r *pb.Rectangle, _ *grpc.ServicerContext) iter.Seq2[*pb.Feature, error] {
	left, right := min(r.GetLo().GetLongitude(), r.GetHi().GetLongitude()), max(r.GetLo().GetLongitude(), r.GetHi().GetLongitude())
	bottom, top := min(r.GetLo().GetLatitude(), r.GetHi().GetLatitude()), max(r.GetLo().GetLatitude(), r.GetHi().GetLatitude())
	return func(yield func(*pb.Feature, error) bool) {
		for _, f := range s.db {
			if f.GetName() == "" {
				continue
			}
			lat, lon := f.GetLocation().GetLatitude(), f.GetLocation().GetLongitude()
			if lon >= left && lon <= right && lat >= bottom && lat <= top {
				if !yield(f, nil) {
					return
				}
			}
		}
	}
}

// RecordRoute: stream-unary.
func (s *routeGuideServicer) RecordRoute(points iter.Seq2[*pb.Point, error], _ *grpc.ServicerContext) (*pb.RouteSummary, error) {
	var count, features int32
	var distance float64
	var prev *pb.Point
	start := time.Now()
	for p, err := range points {
		if err != nil {
			return nil, err
		}
		count++
		if f := s.featureAt(p); f != nil && f.GetName() != "" {
			features++
		}
		if prev != nil {
			distance += distanceMeters(prev, p)
		}
		prev = p
	}
	return &pb.RouteSummary{PointCount: count, FeatureCount: features,
		Distance: int32(distance), ElapsedTime: int32(time.Since(start).Seconds())}, nil
}

// RouteChat: stream-stream.
func (s *routeGuideServicer) RouteChat(notes iter.Seq2[*pb.RouteNote, error], _ *grpc.ServicerContext) iter.Seq2[*pb.RouteNote, error] {
	return func(yield func(*pb.RouteNote, error) bool) {
		for n, err := range notes {
			if err != nil {
				yield(nil, err)
				return
			}
			k := key(n.GetLocation())
			s.mu.Lock()
			prior := append([]*pb.RouteNote(nil), s.notes[k]...)
			s.notes[k] = append(s.notes[k], n)
			s.mu.Unlock()
			for _, p := range prior {
				if !yield(p, nil) {
					return
				}
			}
		}
	}
}

// distanceMeters is the haversine distance, as in the Python example.
func distanceMeters(a, b *pb.Point) float64 {
	const coordFactor, r = 1e7, 6371000.0
	rad := func(d float64) float64 { return d * math.Pi / 180 }
	lat1, lat2 := rad(float64(a.GetLatitude())/coordFactor), rad(float64(b.GetLatitude())/coordFactor)
	dLat := lat2 - lat1
	dLon := rad(float64(b.GetLongitude())/coordFactor) - rad(float64(a.GetLongitude())/coordFactor)
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1)*math.Cos(lat2)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return r * 2 * math.Atan2(math.Sqrt(h), math.Sqrt(1-h))
}

func main() {
	addr := flag.String("addr", "127.0.0.1:50051", "address to listen on (port 0: the kernel picks)")
	portFile := flag.String("port_file", "", "if set, write the bound port to this file once serving")
	flag.Parse()
	db, err := pb.LoadFeatures()
	if err != nil {
		log.Fatal(err)
	}
	server, err := grpc.NewServer(grpc.NewThreadPoolExecutor(10))
	if err != nil {
		log.Fatal(err)
	}
	servicer := &routeGuideServicer{db: db, notes: map[string][]*pb.RouteNote{}}
	if err := pb.AddRouteGuideServicerToServer(servicer, server); err != nil {
		log.Fatal(err)
	}
	port, err := server.AddInsecurePort(*addr)
	if err != nil {
		log.Fatal(err)
	}
	if err := server.Start(); err != nil {
		log.Fatal(err)
	}
	log.Printf("route_guide_server: serving on port %d", port)
	if *portFile != "" {
		if err := os.WriteFile(*portFile, []byte(fmt.Sprint(port)), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() { <-sig; server.Stop(time.Second) }()
	server.WaitForTermination()
	log.Print("route_guide_server: stopped")
}
