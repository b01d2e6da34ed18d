package multiplex_test

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/grpcpy/grpcpy/examples/internal/exampletest"
)

// section returns the lines of out from the header line from up to the
// header line to (excluded; "" for the end).
func section(out, from, to string) []string {
	lines := exampletest.Lines(out)
	i := slices.Index(lines, from)
	if i < 0 {
		return nil
	}
	lines = lines[i:]
	if j := slices.Index(lines, to); to != "" && j >= 0 {
		lines = lines[:j]
	}
	return lines
}

const (
	getFeature   = "-------------- GetFeature --------------"
	listFeatures = "-------------- ListFeatures --------------"
	recordRoute  = "-------------- RecordRoute --------------"
	routeChat    = "-------------- RouteChat --------------"
)

// check asserts what a multiplex client prints whatever the randomness:
// the Greeter answer and both RouteGuide unary and server-streaming
// results exactly (wantFixed), the ten random points of the route and
// its summary, and the two notes RouteChat echoes back.
func check(t *testing.T, what, out string, wantFixed []string) {
	t.Helper()
	lines := exampletest.Lines(out)
	if len(lines) == 0 || lines[0] != "Greeter client received: Hello, you!" {
		t.Errorf("%s: first line is not the Greeter's answer:\n%s", what, out)
	}
	if got := section(out, getFeature, recordRoute); !slices.Equal(got, wantFixed) {
		t.Errorf("%s: GetFeature and ListFeatures printed\n%s\nwant\n%s", what, strings.Join(got, "\n"), strings.Join(wantFixed, "\n"))
	}
	record := section(out, recordRoute, routeChat)
	visits := 0
	for _, l := range record {
		if strings.HasPrefix(l, "Visiting point latitude: ") {
			visits++
		}
	}
	if visits != 10 {
		t.Errorf("%s: %d points visited, want 10:\n%s", what, visits, strings.Join(record, "\n"))
	}
	// Every point comes from the database, so each one passes a feature.
	exampletest.Contains(t, what, strings.Join(record, "\n"), "Finished trip with 10 points", "Passed 10 features", "Travelled ", "It took ")
	chat := strings.Join(section(out, routeChat, ""), "\n") + "\n"
	exampletest.Contains(t, what, chat,
		"Sending First message at\n", "Sending Second message at longitude: 1", "Sending Third message at latitude: 1",
		"Sending Fourth message at\n", "Sending Fifth message at latitude: 1",
		// The fourth note (0, 0) brings back the first, the fifth (1, 0) the third.
		"Received message First message at\n", "Received message Third message at latitude: 1")
	if n := strings.Count(chat, "Received message"); n != 2 {
		t.Errorf("%s: %d notes received, want 2:\n%s", what, n, chat)
	}
}

// TestMultiplex runs the multiplex client (Greeter and RouteGuide stubs on
// one channel) against the multiplex server (both servicers on one
// server): Go against Go, and across languages Python client against Go
// server and Go client against Python server. The three runs are in
// parallel, with the random pauses between streamed messages scaled down
// to a tenth.
func TestMultiplex(t *testing.T) {
	py := []string{
		exampletest.PythonStubs(t, "examples/helloworld/helloworld/helloworld.proto"),
		exampletest.PythonStubs(t, "examples/routeguide/routeguide/route_guide.proto"),
	}
	goServer := exampletest.GoServer(t, "./examples/multiplex/multiplex_server")
	// route_guide_resources.py sits beside the scripts: no __pycache__ in the tree.
	const noPyc = "PYTHONDONTWRITEBYTECODE=1"
	pyServer := exampletest.PythonServer(t, "examples/multiplex/python/multiplex_server.py", py, noPyc)
	goClient := "./examples/multiplex/multiplex_client"
	pyClient := "examples/multiplex/python/multiplex_client.py"
	exampletest.Go(t, goClient) // build before the parallel runs

	// Every feature of the database lies in the rectangle, two of them
	// without a name; the database's order is the server's.
	wantFixed := []string{getFeature,
		"Feature called Harbour Lighthouse at latitude: 405433012", "longitude: -747469171",
		"Found no feature at",
		listFeatures, "Looking for features between 40, -75 and 42, -73"}
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
		run("go→go", func(t *testing.T) string {
			return exampletest.GoClient(t, goClient, goServer.Target, "--delay_scale=0.1")
		})
		run("python→go", func(t *testing.T) string {
			return exampletest.PythonClient(t, pyClient, py, goServer.Target, "EXAMPLE_DELAY_SCALE=0.1", noPyc)
		})
		run("go→python", func(t *testing.T) string {
			return exampletest.GoClient(t, goClient, pyServer.Target, "--delay_scale=0.1")
		})
	})
	// The ListFeatures part is checked against the Python client's own
	// listing from the Go server, line for line, for all three runs.
	ref := section(outs["python→go"], getFeature, recordRoute)
	if len(ref) != len(wantFixed)+14*2 { // name and latitude, longitude
		t.Fatalf("python client did not list the 14 features:\n%s", outs["python→go"])
	}
	if !slices.Equal(ref[:len(wantFixed)], wantFixed) {
		t.Errorf("python client's GetFeature part:\n%s\nwant\n%s", strings.Join(ref, "\n"), strings.Join(wantFixed, "\n"))
	}
	exampletest.Contains(t, "python client", strings.Join(ref, "\n"),
		"Feature called Harbour Lighthouse at latitude: 405433012\nlongitude: -747469171",
		"Feature called  at latitude: 403745328\nlongitude: -740218936")
	for name, out := range outs {
		check(t, name, out, ref)
	}
}
