package main

import (
	"iter"
	"time"

	pb "github.com/grpcpy/grpcpy/examples/routeguide/routeguide"
	"github.com/grpcpy/grpcpy/grpc"
)

// W6: the realistic workload of issue 17, protobuf messages through the
// generated typed stubs of route_guide, so the cost of the typed layer and
// of protobuf shows next to the raw-bytes W1 and W3 figures: GetFeature
// one call at a time (compare W1), and RouteChat as a ping-pong with
// Write/Read (--stream_api=open, compare W3 Open) or the request iterator.

// benchRouteGuide answers GetFeature with a named feature at the point
// and echoes every RouteChat note.
type benchRouteGuide struct {
	pb.UnimplementedRouteGuideServicer
}

func (benchRouteGuide) GetFeature(p *pb.Point, _ *grpc.ServicerContext) (*pb.Feature, error) {
	return &pb.Feature{Name: "Berkshire Valley Management Area Trail, Jefferson, NJ, USA", Location: p}, nil
}

func (benchRouteGuide) RouteChat(notes iter.Seq2[*pb.RouteNote, error], _ *grpc.ServicerContext) iter.Seq2[*pb.RouteNote, error] {
	return notes
}

var w6Note = &pb.RouteNote{Location: &pb.Point{Latitude: 409146138, Longitude: -746188906}, Message: "First message"}

// runGetFeature (W6): one GetFeature at a time through the typed stub.
func runGetFeature(ch *grpc.Channel, c clientConfig) (result, error) {
	stub := pb.NewRouteGuideStub(ch)
	point := &pb.Point{Latitude: 409146138, Longitude: -746188906}
	start := time.Now().Add(c.warmup)
	end := start.Add(c.duration)
	r := result{latencies: make([]time.Duration, 0, 1<<16)}
	for {
		t0 := time.Now()
		if t0.After(end) {
			return r, nil
		}
		f, err := stub.GetFeature.Call(point, grpc.WithTimeout(30*time.Second))
		t1 := time.Now()
		if err != nil {
			return result{}, err
		}
		if t1.After(start) && !t1.After(end) {
			r.ops++
			r.bytes += int64(len(f.GetName()))
			r.latencies = append(r.latencies, t1.Sub(t0))
		}
	}
}

// runRouteChat (W6 with --stream_api=open or iterator): RouteChat
// ping-pong of one note at a time through the typed stub.
func runRouteChat(ch *grpc.Channel, c clientConfig) (result, error) {
	stub := pb.NewRouteGuideStub(ch)
	start := time.Now().Add(c.warmup)
	end := start.Add(c.duration)
	r := result{latencies: make([]time.Duration, 0, 1<<16)}
	var write func(*pb.RouteNote) error
	var read func() (*pb.RouteNote, error)
	var finish func() error
	if c.streamAPI == "open" {
		call, err := stub.RouteChat.Open()
		if err != nil {
			return result{}, err
		}
		write, read = call.Write, call.Read
		finish = func() error {
			call.DoneWriting()
			for _, err := range call.All() {
				if err != nil {
					return err
				}
			}
			return nil
		}
	} else {
		next := make(chan *pb.RouteNote)
		it, err := stub.RouteChat.Call(func(yield func(*pb.RouteNote, error) bool) {
			for n := range next {
				if !yield(n, nil) {
					return
				}
			}
		})
		if err != nil {
			return result{}, err
		}
		write = func(n *pb.RouteNote) error { next <- n; return nil }
		read = it.Next
		finish = func() error {
			close(next)
			for _, err := range it.All() {
				if err != nil {
					return err
				}
			}
			return nil
		}
	}
	for {
		t0 := time.Now()
		if t0.After(end) {
			break
		}
		if err := write(w6Note); err != nil {
			return result{}, err
		}
		n, err := read()
		t1 := time.Now()
		if err != nil {
			return result{}, err
		}
		if t1.After(start) && !t1.After(end) {
			r.ops++
			r.bytes += int64(len(n.GetMessage()))
			r.latencies = append(r.latencies, t1.Sub(t0))
		}
	}
	return r, finish()
}
