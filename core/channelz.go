package core

import "github.com/grpcpy/grpcpy/cgo"

// Channelz queries of the core (see cgo): each returns the JSON of a
// grpc.channelz.v1 response message, "" for an unknown id. The core is
// initialised first, so a query before any channel or server answers
// empty rather than crashing.

// ChannelzTopChannels is grpc_channelz_get_top_channels.
func ChannelzTopChannels(start int64) string { cgo.Init(); return cgo.ChannelzTopChannels(start) }

// ChannelzServers is grpc_channelz_get_servers.
func ChannelzServers(start int64) string { cgo.Init(); return cgo.ChannelzServers(start) }

// ChannelzServer is grpc_channelz_get_server.
func ChannelzServer(id int64) string { cgo.Init(); return cgo.ChannelzServer(id) }

// ChannelzServerSockets is grpc_channelz_get_server_sockets.
func ChannelzServerSockets(id, start, max int64) string {
	cgo.Init()
	return cgo.ChannelzServerSockets(id, start, max)
}

// ChannelzChannel is grpc_channelz_get_channel.
func ChannelzChannel(id int64) string { cgo.Init(); return cgo.ChannelzChannel(id) }

// ChannelzSubchannel is grpc_channelz_get_subchannel.
func ChannelzSubchannel(id int64) string { cgo.Init(); return cgo.ChannelzSubchannel(id) }

// ChannelzSocket is grpc_channelz_get_socket.
func ChannelzSocket(id int64) string { cgo.Init(); return cgo.ChannelzSocket(id) }
