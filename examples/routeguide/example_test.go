package routeguide_test

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/grpcpy/grpcpy/examples/internal/exampletest"
	pb "github.com/grpcpy/grpcpy/examples/routeguide/routeguide"
)

const (
	serverPkg    = "./examples/routeguide/route_guide_server"
	clientPkg    = "./examples/routeguide/route_guide_client"
	serverScript = "examples/routeguide/python/route_guide_server.py"
	clientScript = "examples/routeguide/python/route_guide_client.py"

	getFeature   = "-------------- GetFeature --------------"
	listFeatures = "-------------- ListFeatures --------------"
	recordRoute  = "-------------- RecordRoute --------------"
	routeChat    = "-------------- RouteChat --------------"
)

// section returns out's lines from the header from up to the header to
// (excluded; "" for the end).
func section(t *testing.T, what, out, from, to string) []string {
	t.Helper()
	lines := exampletest.Lines(out)
	i := slices.Index(lines, from)
	if i < 0 {
		t.Errorf("%s: no %q line:\n%s", what, from, out)
		return nil
	}
	lines = lines[i+1:]
	if to != "" {
		j := slices.Index(lines, to)
		if j < 0 {
			t.Errorf("%s: no %q line:\n%s", what, to, out)
			return nil
		}
		lines = lines[:j]
	}
	return lines
}

// distance is the servers' haversine, to check the RecordRoute summary.
func distance(a, b *pb.Point) float64 {
	rad := func(p int32) float64 { return float64(p) / 1e7 * math.Pi / 180 }
	lat1, lat2 := rad(a.GetLatitude()), rad(b.GetLatitude())
	dLat, dLon := rad(b.GetLatitude())-rad(a.GetLatitude()), rad(b.GetLongitude())-rad(a.GetLongitude())
	h := math.Pow(math.Sin(dLat/2), 2) + math.Cos(lat1)*math.Cos(lat2)*math.Pow(math.Sin(dLon/2), 2)
	return 6371000 * 2 * math.Atan2(math.Sqrt(h), math.Sqrt(1-h))
}

func formatPoint(p *pb.Point) string {
	return fmt.Sprintf("latitude: %d, longitude: %d", p.GetLatitude(), p.GetLongitude())
}

// checkRecordRoute: ten random points of the database go out, one at a
// time; the summary counts ten points, ten features (every point is an
// entry of the database, as the original's server counts) and the
// distance along them.
func checkRecordRoute(t *testing.T, what string, lines []string, db []*pb.Feature) {
	t.Helper()
	byText := map[string]*pb.Point{}
	for _, f := range db {
		byText[formatPoint(f.GetLocation())] = f.GetLocation()
	}
	var route []*pb.Point
	for _, l := range lines {
		if text, ok := strings.CutPrefix(l, "Visiting point "); ok {
			p, ok := byText[text]
			if !ok {
				t.Errorf("%s: visited %q, not in the database", what, text)
				return
			}
			route = append(route, p)
		}
	}
	if len(route) != 10 {
		t.Errorf("%s: %d points visited, want 10:\n%s", what, len(route), strings.Join(lines, "\n"))
		return
	}
	want := 0.0
	for i := 1; i < len(route); i++ {
		want += distance(route[i-1], route[i])
	}
	var travelled int
	var summary []string
	for _, l := range lines[10:] {
		summary = append(summary, l)
		fmt.Sscanf(l, "Travelled %d meters", &travelled)
	}
	if len(summary) != 4 || summary[0] != "Finished trip with 10 points" || summary[1] != "Passed 10 features" ||
		!strings.HasPrefix(summary[2], "Travelled ") || !strings.HasPrefix(summary[3], "It took ") {
		t.Errorf("%s: route summary\n%s", what, strings.Join(summary, "\n"))
	}
	// Python's libm and Go's math may differ in the last bit.
	if math.Abs(float64(travelled)-math.Trunc(want)) > 1 {
		t.Errorf("%s: travelled %d meters, want %d", what, travelled, int(want))
	}
}

// wantChat is what RouteChat prints: the five notes sent and the two sent
// back (the fourth note, at (0, 0), brings back the first; the fifth, at
// (1, 0), the third). Sending and receiving run on two threads (goroutines)
// in both languages, so only the order within each kind is fixed.
var wantChat = []string{
	"Sending First message at latitude: 0, longitude: 0",
	"Sending Second message at latitude: 0, longitude: 1",
	"Sending Third message at latitude: 1, longitude: 0",
	"Sending Fourth message at latitude: 0, longitude: 0",
	"Sending Fifth message at latitude: 1, longitude: 0",
	"Received message First message at latitude: 0, longitude: 0",
	"Received message Third message at latitude: 1, longitude: 0",
}

func checkRouteChat(t *testing.T, what string, lines []string) {
	t.Helper()
	// Python's print writes the text and the newline separately, so a line
	// of the other thread may land between them ("Sending ...Received
	// ...\n\n"): split before each message again.
	text := strings.Join(lines, "\n")
	text = strings.ReplaceAll(text, "Sending ", "\nSending ")
	text = strings.ReplaceAll(text, "Received message ", "\nReceived message ")
	var sent, received []string
	for _, l := range exampletest.Lines(text) {
		if strings.HasPrefix(l, "Sending ") {
			sent = append(sent, l)
		} else {
			received = append(received, l)
		}
	}
	if got := append(sent, received...); !slices.Equal(got, wantChat) {
		t.Errorf("%s: RouteChat printed\n%s\nwant (in any interleaving)\n%s", what, strings.Join(lines, "\n"), strings.Join(wantChat, "\n"))
	}
}

// TestRouteGuide runs the route guide client against the server: Go
// against Go, and across languages the Python client against the Go
// server and the Go client against the Python server, with the Python
// pair as the reference. GetFeature and ListFeatures print the same
// lines in every pair; the random route and the chat are checked for
// what they must print whatever the randomness and the thread timing.
func TestRouteGuide(t *testing.T) {
	db, err := pb.LoadFeatures()
	if err != nil {
		t.Fatal(err)
	}
	py := []string{exampletest.PythonStubs(t, "examples/routeguide/routeguide/route_guide.proto")}
	goServer := exampletest.GoServer(t, serverPkg)
	pyServer := exampletest.PythonServer(t, serverScript, py)
	exampletest.Go(t, clientPkg) // build before the parallel runs

	var mu sync.Mutex
	outs := map[string]string{}
	t.Run("group", func(t *testing.T) {
		run := func(name string, f func(t *testing.T) string) {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				out := f(t)
				mu.Lock()
				outs[name] = out
				mu.Unlock()
			})
		}
		run("go→go", func(t *testing.T) string { return exampletest.GoClient(t, clientPkg, goServer.Target) })
		run("python→go", func(t *testing.T) string {
			return exampletest.PythonClient(t, clientScript, py, goServer.Target)
		})
		run("go→python", func(t *testing.T) string { return exampletest.GoClient(t, clientPkg, pyServer.Target) })
		run("python→python", func(t *testing.T) string {
			return exampletest.PythonClient(t, clientScript, py, pyServer.Target)
		})
	})
	if t.Failed() {
		return
	}

	// The fixed part, from the reference pair: the feature found, the one
	// not found, and the whole database listed ('%r' of each name, empty
	// names included), in the database's order.
	ref := section(t, "python→python", outs["python→python"], getFeature, recordRoute)
	wantFixed := []string{
		"Feature called 'Harbour Lighthouse' at latitude: 405433012, longitude: -747469171",
		"Found no feature at latitude: 0, longitude: 0",
		listFeatures,
		"Looking for features between 40, -75 and 42, -73",
	}
	for _, f := range db {
		wantFixed = append(wantFixed, fmt.Sprintf("Feature called '%s' at %s", f.GetName(), formatPoint(f.GetLocation())))
	}
	if !slices.Equal(ref, wantFixed) {
		t.Fatalf("python→python: GetFeature and ListFeatures printed\n%s\nwant\n%s", strings.Join(ref, "\n"), strings.Join(wantFixed, "\n"))
	}
	for name, out := range outs {
		if lines := exampletest.Lines(out); len(lines) == 0 || lines[0] != getFeature {
			t.Errorf("%s: does not start with the GetFeature header:\n%s", name, out)
		}
		if got := section(t, name, out, getFeature, recordRoute); !slices.Equal(got, ref) {
			t.Errorf("%s: GetFeature and ListFeatures printed\n%s\nwant, as the Python pair\n%s", name, strings.Join(got, "\n"), strings.Join(ref, "\n"))
		}
		checkRecordRoute(t, name, section(t, name, out, recordRoute, routeChat), db)
		checkRouteChat(t, name, section(t, name, out, routeChat, ""))
	}
}
