package channelz_test

import (
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/grpc/channelz"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

// The calls TestCountsThroughGrpcurl makes, and the counts they must
// leave: 4 succeed; 3 aborted, 2 raised and 2 unknown-method calls fail.
var made = []struct {
	method string
	n      int
	code   grpc.StatusCode
}{
	{"Ok", 4, grpc.StatusCodeOK},
	{"Abort", 3, grpc.StatusCodeInvalidArgument},
	{"Raise", 2, grpc.StatusCodeUnknown},
	{"Missing", 2, grpc.StatusCodeUnimplemented},
}

var want = counts{Started: 11, Succeeded: 4, Failed: 7}

// findServer is the server of the list that owns a connection whose local
// port is port (the core names a listener by the address it was given,
// "127.0.0.1:0", so the port identifies the server through its sockets).
func findServer(g *grpcurl, servers []server, port int) (server, socket, bool) {
	for _, s := range servers {
		var page serverSocketsResponse
		g.call("GetServerSockets", fmt.Sprintf(`{"server_id": %d}`, s.Ref.ServerID), &page)
		for _, r := range page.SocketRef {
			var sock socketResponse
			if !g.tryCall("GetSocket", fmt.Sprintf(`{"socket_id": %d}`, r.SocketID), &sock) {
				continue // closed since: a grpcurl connection to the admin server
			}
			if sock.Socket.Local.port() == port {
				return s, sock.Socket, true
			}
		}
	}
	return server{}, socket{}, false
}

// TestCountsThroughGrpcurl: a grpcpy channel makes a known number of
// calls to a grpcpy server, some failing (aborted, raised, unknown
// method); grpcurl reads back, through every method of the channelz
// service, the counts of the channel, its subchannel, the server, and the
// sockets at both ends of the one connection.
func TestCountsThroughGrpcurl(t *testing.T) {
	leakcheck.Check(t)
	g := newGrpcurl(t, serveChannelz(t))
	_, port := serve(t, registerCounted)
	target := fmt.Sprintf("127.0.0.1:%d", port)
	ch := dial(t, target)
	for _, c := range made {
		for range c.n {
			if got := invoke(t, ch, c.method); got != c.code {
				t.Fatalf("%s: %v, want %v", c.method, got, c.code)
			}
		}
	}

	// The server counts a call once it has closed there: wait for all.
	var app server
	var serverSocket socket
	deadline := time.Now().Add(settle)
	for {
		var servers serversResponse
		g.call("GetServers", `{}`, &servers)
		if !servers.End {
			t.Fatalf("GetServers: end is false with %d servers", len(servers.Server))
		}
		var ok bool
		app, serverSocket, ok = findServer(g, servers.Server, port)
		if ok && app.Data.Succeeded+app.Data.Failed == want.Started {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GetServers: no server with the connection to port %d and %d calls closed after %v: %+v", port, want.Started, settle, servers)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if app.Data.counts != want {
		t.Errorf("GetServers: server %d: %v, want %v", app.Ref.ServerID, app.Data.counts, want)
	}
	t.Logf("GetServers: server %d: %v, listen sockets %+v", app.Ref.ServerID, app.Data.counts, app.ListenSocket)

	// GetServer: the same server by id.
	var one serverResponse
	out := g.call("GetServer", fmt.Sprintf(`{"server_id": %d}`, app.Ref.ServerID), &one)
	if one.Server.Ref.ServerID != app.Ref.ServerID || one.Server.Data.counts != want {
		t.Errorf("GetServer %d: %+v, want %v\n%s", app.Ref.ServerID, one.Server, want, out)
	}
	if one.Server.Data.LastCallStartedTimestamp == "" {
		t.Errorf("GetServer: no lastCallStartedTimestamp:\n%s", out)
	}
	t.Logf("grpcurl GetServer printed:\n%s", out)

	// The listen socket is a socket GetSocket knows.
	if len(app.ListenSocket) != 1 {
		t.Fatalf("server has listen sockets %+v, want one", app.ListenSocket)
	}
	var listen socketResponse
	out = g.call("GetSocket", fmt.Sprintf(`{"socket_id": %d}`, app.ListenSocket[0].SocketID), &listen)
	if listen.Socket.Ref.SocketID != app.ListenSocket[0].SocketID || listen.Socket.Local.TCPIP == nil ||
		!net.IP(listen.Socket.Local.TCPIP.IP).Equal(net.IPv4(127, 0, 0, 1)) {
		t.Errorf("GetSocket (listen socket): %+v\n%s", listen.Socket, out)
	}

	// GetTopChannels: the channel, found by its target.
	var top topChannelsResponse
	g.call("GetTopChannels", `{}`, &top)
	if !top.End {
		t.Errorf("GetTopChannels: end is false with %d channels", len(top.Channel))
	}
	var mine []channel
	for _, c := range top.Channel {
		if c.Data.Target == target {
			mine = append(mine, c)
		}
	}
	if len(mine) != 1 {
		t.Fatalf("GetTopChannels: %d channels with target %s, want 1: %+v", len(mine), target, top.Channel)
	}
	c := mine[0]
	if c.Data.counts != want || c.Data.State.State != "READY" {
		t.Errorf("GetTopChannels: channel %d: %v, state %q; want %v, READY", c.Ref.ChannelID, c.Data.counts, c.Data.State.State, want)
	}

	// GetChannel: the same channel by id, with its one subchannel.
	var byID channelResponse
	out = g.call("GetChannel", fmt.Sprintf(`{"channel_id": %d}`, c.Ref.ChannelID), &byID)
	if byID.Channel.Ref.ChannelID != c.Ref.ChannelID || byID.Channel.Data.counts != want || len(byID.Channel.SubchannelRef) != 1 {
		t.Fatalf("GetChannel %d: %+v, want %v and one subchannel\n%s", c.Ref.ChannelID, byID.Channel, want, out)
	}
	t.Logf("grpcurl GetChannel printed:\n%s", out)
	created := false
	for _, e := range byID.Channel.Data.Trace.Events {
		created = created || e.Description == "Channel created"
	}
	if !created {
		t.Errorf("GetChannel: no \"Channel created\" trace event:\n%s", out)
	}

	// GetSubchannel: the calls went through it, over one connection.
	var sub subchannelResponse
	out = g.call("GetSubchannel", fmt.Sprintf(`{"subchannel_id": %d}`, byID.Channel.SubchannelRef[0].SubchannelID), &sub)
	if sub.Subchannel.Data.counts != want || sub.Subchannel.Data.Target != "ipv4:"+target || len(sub.Subchannel.SocketRef) != 1 {
		t.Fatalf("GetSubchannel: %+v, want %v, target ipv4:%s, one socket\n%s", sub.Subchannel, want, target, out)
	}

	// GetSocket: the client's end of the connection, and the server's.
	var client socketResponse
	out = g.call("GetSocket", fmt.Sprintf(`{"socket_id": %d}`, sub.Subchannel.SocketRef[0].SocketID), &client)
	cs := client.Socket
	if cs.Remote.port() != port || cs.Data.StreamsStarted != want.Started || cs.Data.MessagesReceived != want.Succeeded {
		t.Errorf("GetSocket (client): remote port %d, streams started %d, messages received %d; want %d, %d, %d\n%s",
			cs.Remote.port(), cs.Data.StreamsStarted, cs.Data.MessagesReceived, port, want.Started, want.Succeeded, out)
	}
	t.Logf("grpcurl GetSocket (client end) printed:\n%s", out)
	ss := serverSocket
	if ss.Remote.port() != cs.Local.port() || ss.Local.port() != port || ss.Data.StreamsStarted != want.Started || ss.Data.MessagesSent != want.Succeeded {
		t.Errorf("GetSocket (server): %+v; want remote port %d (the client's), local %d, %d streams, %d messages sent",
			ss, cs.Local.port(), port, want.Started, want.Succeeded)
	}

	// GetServerSockets: that one connection, and the end.
	var sockets serverSocketsResponse
	g.call("GetServerSockets", fmt.Sprintf(`{"server_id": %d}`, app.Ref.ServerID), &sockets)
	if len(sockets.SocketRef) != 1 || sockets.SocketRef[0].SocketID != ss.Ref.SocketID || !sockets.End {
		t.Errorf("GetServerSockets: %+v, want socket %d and end", sockets, ss.Ref.SocketID)
	}
}

// TestPaginationThroughGrpcurl: start ids and max_results page through
// the core's lists, with end on the last page only, as grpcurl reads them.
func TestPaginationThroughGrpcurl(t *testing.T) {
	leakcheck.Check(t)
	g := newGrpcurl(t, serveChannelz(t))
	_, port := serve(t, registerCounted)
	target := fmt.Sprintf("127.0.0.1:%d", port)

	// Three connections to the server: each channel with subchannels of
	// its own (channels to one target share them otherwise).
	for range 3 {
		ch := dial(t, target, grpc.Option("grpc.use_local_subchannel_pool", 1))
		if got := invoke(t, ch, "Ok"); got != grpc.StatusCodeOK {
			t.Fatalf("Ok: %v", got)
		}
	}
	var servers serversResponse
	g.call("GetServers", `{}`, &servers)
	app, _, ok := findServer(g, servers.Server, port)
	if !ok {
		t.Fatalf("no server with a connection to port %d: %+v", port, servers)
	}
	var all serverSocketsResponse
	g.call("GetServerSockets", fmt.Sprintf(`{"server_id": %d}`, app.Ref.ServerID), &all)
	if len(all.SocketRef) != 3 || !all.End {
		t.Fatalf("GetServerSockets: %+v, want 3 sockets and end", all)
	}

	// One socket per page: ids ascending, end only on the third.
	var paged []ref
	start := int64(0)
	for page := 1; ; page++ {
		var p serverSocketsResponse
		g.call("GetServerSockets", fmt.Sprintf(`{"server_id": %d, "start_socket_id": %d, "max_results": 1}`, app.Ref.ServerID, start), &p)
		if len(p.SocketRef) != 1 {
			t.Fatalf("page %d from %d: %+v, want one socket", page, start, p)
		}
		paged = append(paged, p.SocketRef[0])
		start = p.SocketRef[0].SocketID + 1
		if p.End != (page == 3) {
			t.Fatalf("page %d: end %v", page, p.End)
		}
		if p.End {
			break
		}
	}
	if !slices.Equal(paged, all.SocketRef) {
		t.Errorf("pages %+v, want %+v", paged, all.SocketRef)
	}
	// max_results 2 from the second socket: the last two, and the end.
	var two serverSocketsResponse
	g.call("GetServerSockets", fmt.Sprintf(`{"server_id": %d, "start_socket_id": %d, "max_results": 2}`, app.Ref.ServerID, all.SocketRef[1].SocketID), &two)
	if !slices.Equal(two.SocketRef, all.SocketRef[1:]) || !two.End {
		t.Errorf("from socket %d, 2 results: %+v, want %+v and end", all.SocketRef[1].SocketID, two, all.SocketRef[1:])
	}

	// Servers: those from a start id on; past the last one, none and end.
	var admin server
	for _, s := range servers.Server {
		if s.Ref.ServerID != app.Ref.ServerID {
			admin = s
		}
	}
	if len(servers.Server) != 2 || admin.Ref.ServerID >= app.Ref.ServerID {
		t.Fatalf("GetServers: %+v, want the admin server then the one under test (%d)", servers.Server, app.Ref.ServerID)
	}
	var fromApp serversResponse
	g.call("GetServers", fmt.Sprintf(`{"start_server_id": %d}`, admin.Ref.ServerID+1), &fromApp)
	if len(fromApp.Server) != 1 || fromApp.Server[0].Ref.ServerID != app.Ref.ServerID || !fromApp.End {
		t.Errorf("GetServers from %d: %+v, want server %d and end", admin.Ref.ServerID+1, fromApp, app.Ref.ServerID)
	}
	var past serversResponse
	out := g.call("GetServers", fmt.Sprintf(`{"start_server_id": %d}`, app.Ref.ServerID+1), &past)
	if len(past.Server) != 0 || !past.End {
		t.Errorf("GetServers past the last: %+v", past)
	}
	t.Logf("grpcurl GetServers past the last server printed: %s", out)

	// Top channels: the core sends at most 100 per page. With 3 + 101
	// channels the first page has 100 and no end, the next the other 4.
	for range 101 {
		dial(t, target)
	}
	var first topChannelsResponse
	g.call("GetTopChannels", `{}`, &first)
	if len(first.Channel) != 100 || first.End {
		t.Fatalf("GetTopChannels: %d channels, end %v; want 100 and no end", len(first.Channel), first.End)
	}
	last := first.Channel[99].Ref.ChannelID
	var second topChannelsResponse
	g.call("GetTopChannels", fmt.Sprintf(`{"start_channel_id": %d}`, last+1), &second)
	if len(second.Channel) != 4 || !second.End {
		t.Fatalf("GetTopChannels from %d: %d channels, end %v; want 4 and end", last+1, len(second.Channel), second.End)
	}
	ids := map[int64]bool{}
	for _, c := range append(first.Channel, second.Channel...) {
		if c.Data.Target != target || ids[c.Ref.ChannelID] || c.Ref.ChannelID < 1 {
			t.Fatalf("channel %+v: another target, or listed twice", c.Ref)
		}
		ids[c.Ref.ChannelID] = true
	}
	// From the 100th: the 100th itself and the 4 others.
	var overlap topChannelsResponse
	g.call("GetTopChannels", fmt.Sprintf(`{"start_channel_id": %d}`, last), &overlap)
	if len(overlap.Channel) != 5 || overlap.Channel[0].Ref.ChannelID != last {
		t.Errorf("GetTopChannels from %d: %d channels starting %d", last, len(overlap.Channel), overlap.Channel[0].Ref.ChannelID)
	}
}

// TestNotFoundThroughGrpcurl: unknown ids, ids of another kind of entity,
// and a negative start or max_results are NOT_FOUND with grpcio's
// details; grpcurl prints the status.
func TestNotFoundThroughGrpcurl(t *testing.T) {
	leakcheck.Check(t)
	g := newGrpcurl(t, serveChannelz(t))
	_, port := serve(t, registerCounted)
	ch := dial(t, fmt.Sprintf("127.0.0.1:%d", port))
	if got := invoke(t, ch, "Ok"); got != grpc.StatusCodeOK {
		t.Fatalf("Ok: %v", got)
	}
	var top topChannelsResponse
	g.call("GetTopChannels", `{}`, &top)
	if len(top.Channel) != 1 {
		t.Fatalf("GetTopChannels: %+v, want one channel", top)
	}
	channelID := top.Channel[0].Ref.ChannelID
	var servers serversResponse
	g.call("GetServers", `{}`, &servers)
	serverID := servers.Server[0].Ref.ServerID

	const unknown = 987654321
	for _, c := range []struct{ method, request, details string }{
		{"GetServer", fmt.Sprintf(`{"server_id": %d}`, unknown),
			fmt.Sprintf("Failed to get the server, please ensure your server_id==%d is valid", unknown)},
		{"GetServerSockets", fmt.Sprintf(`{"server_id": %d}`, unknown),
			fmt.Sprintf("Failed to get server sockets, please ensure your server_id==%d and start_socket_id==0 and max_results==0 is valid", unknown)},
		{"GetChannel", fmt.Sprintf(`{"channel_id": %d}`, unknown),
			fmt.Sprintf("Failed to get the channel, please ensure your channel_id==%d is valid", unknown)},
		{"GetSubchannel", fmt.Sprintf(`{"subchannel_id": %d}`, unknown),
			fmt.Sprintf("Failed to get the subchannel, please ensure your subchannel_id==%d is valid", unknown)},
		{"GetSocket", fmt.Sprintf(`{"socket_id": %d}`, unknown),
			fmt.Sprintf("Failed to get the socket, please ensure your socket_id==%d is valid", unknown)},
		{"GetSocket", `{}`, "Failed to get the socket, please ensure your socket_id==0 is valid"},
		// An id of another kind of entity.
		{"GetChannel", fmt.Sprintf(`{"channel_id": %d}`, serverID),
			fmt.Sprintf("Failed to get the channel, please ensure your channel_id==%d is valid", serverID)},
		{"GetServer", fmt.Sprintf(`{"server_id": %d}`, channelID),
			fmt.Sprintf("Failed to get the server, please ensure your server_id==%d is valid", channelID)},
		{"GetSubchannel", fmt.Sprintf(`{"subchannel_id": %d}`, channelID),
			fmt.Sprintf("Failed to get the subchannel, please ensure your subchannel_id==%d is valid", channelID)},
		{"GetSocket", fmt.Sprintf(`{"socket_id": %d}`, serverID),
			fmt.Sprintf("Failed to get the socket, please ensure your socket_id==%d is valid", serverID)},
		// A negative start or max_results, which the core refuses.
		{"GetServerSockets", fmt.Sprintf(`{"server_id": %d, "max_results": -1}`, serverID),
			fmt.Sprintf("Failed to get server sockets, please ensure your server_id==%d and start_socket_id==0 and max_results==-1 is valid", serverID)},
		{"GetServerSockets", fmt.Sprintf(`{"server_id": %d, "start_socket_id": -5}`, serverID),
			fmt.Sprintf("Failed to get server sockets, please ensure your server_id==%d and start_socket_id==-5 and max_results==0 is valid", serverID)},
	} {
		out, err := g.run(c.method, c.request)
		if err == nil {
			t.Errorf("%s %s: succeeded:\n%s", c.method, c.request, out)
			continue
		}
		contains(t, c.method+" "+c.request, out, "Code: NotFound", "Message: "+c.details)
	}
	out, _ := g.run("GetServer", fmt.Sprintf(`{"server_id": %d}`, unknown))
	t.Logf("grpcurl GetServer of an unknown id printed:\n%s", out)

	// A negative start for the lists is no error: everything from id 1.
	var fromNegative topChannelsResponse
	g.call("GetTopChannels", `{"start_channel_id": -3}`, &fromNegative)
	if len(fromNegative.Channel) != 1 || !fromNegative.End {
		t.Errorf("GetTopChannels from -3: %+v", fromNegative)
	}
}

// TestChannelzDisabled: a channel or a server made with
// grpc.enable_channelz 0 is not tracked (and still works, and such a
// server may serve channelz); the others are listed with no option.
func TestChannelzDisabled(t *testing.T) {
	leakcheck.Check(t)
	g := newGrpcurl(t, serveChannelz(t))
	_, hidden := serve(t, func(s *grpc.Server) error {
		if err := registerCounted(s); err != nil {
			return err
		}
		return channelz.AddChannelzServicer(s)
	}, grpc.WithOptions(grpc.Option("grpc.enable_channelz", 0)))
	_, shown := serve(t, registerCounted)
	hiddenCh := dial(t, fmt.Sprintf("127.0.0.1:%d", shown), grpc.Option("grpc.enable_channelz", 0))
	shownCh := dial(t, fmt.Sprintf("127.0.0.1:%d", hidden))
	for _, ch := range []*grpc.Channel{hiddenCh, shownCh} {
		if got := invoke(t, ch, "Ok"); got != grpc.StatusCodeOK {
			t.Fatalf("Ok: %v", got)
		}
	}
	var top topChannelsResponse
	g.call("GetTopChannels", `{}`, &top)
	if len(top.Channel) != 1 || top.Channel[0].Data.Target != fmt.Sprintf("127.0.0.1:%d", hidden) {
		t.Errorf("GetTopChannels: %+v, want only the channel to 127.0.0.1:%d", top.Channel, hidden)
	}
	var servers serversResponse
	g.call("GetServers", `{}`, &servers)
	if _, _, ok := findServer(g, servers.Server, hidden); ok {
		t.Errorf("GetServers lists the server made with grpc.enable_channelz 0")
	}
	if _, _, ok := findServer(g, servers.Server, shown); !ok {
		t.Errorf("GetServers does not list the server made with no option")
	}
	// The admin server and the shown one.
	if len(servers.Server) != 2 {
		t.Errorf("GetServers: %d servers, want 2", len(servers.Server))
	}
	// The untracked server serves channelz all the same: the same list.
	var fromHidden serversResponse
	newGrpcurl(t, fmt.Sprintf("127.0.0.1:%d", hidden)).call("GetServers", `{}`, &fromHidden)
	if len(fromHidden.Server) != 2 || fromHidden.Server[0].Ref != servers.Server[0].Ref || fromHidden.Server[1].Ref != servers.Server[1].Ref {
		t.Errorf("GetServers from the untracked server: %+v, want %+v", fromHidden.Server, servers.Server)
	}
}
