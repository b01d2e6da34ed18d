//go:build cgo

package cgo

/*
#include "shim.h"
*/
import "C"

import "unsafe"

// The core's channelz queries (grpc.h, "experimental"): each returns the
// JSON form of a grpc.channelz.v1 response message (GetTopChannelsResponse,
// GetServersResponse, ...), or "" when the core returns NULL (an unknown
// id). grpcio's channelz servicer converts the same JSON with json_format.

func channelzString(p *C.char) string {
	if p == nil {
		return ""
	}
	defer C.gp_free(unsafe.Pointer(p))
	return C.GoString(p)
}

// ChannelzTopChannels is grpc_channelz_get_top_channels(start_channel_id).
func ChannelzTopChannels(start int64) string {
	return channelzString(C.grpc_channelz_get_top_channels(C.intptr_t(start)))
}

// ChannelzServers is grpc_channelz_get_servers(start_server_id).
func ChannelzServers(start int64) string {
	return channelzString(C.grpc_channelz_get_servers(C.intptr_t(start)))
}

// ChannelzServer is grpc_channelz_get_server(server_id).
func ChannelzServer(id int64) string {
	return channelzString(C.grpc_channelz_get_server(C.intptr_t(id)))
}

// ChannelzServerSockets is grpc_channelz_get_server_sockets(server_id,
// start_socket_id, max_results).
func ChannelzServerSockets(id, start, max int64) string {
	return channelzString(C.grpc_channelz_get_server_sockets(C.intptr_t(id), C.intptr_t(start), C.intptr_t(max)))
}

// ChannelzChannel is grpc_channelz_get_channel(channel_id).
func ChannelzChannel(id int64) string {
	return channelzString(C.grpc_channelz_get_channel(C.intptr_t(id)))
}

// ChannelzSubchannel is grpc_channelz_get_subchannel(subchannel_id).
func ChannelzSubchannel(id int64) string {
	return channelzString(C.grpc_channelz_get_subchannel(C.intptr_t(id)))
}

// ChannelzSocket is grpc_channelz_get_socket(socket_id).
func ChannelzSocket(id int64) string {
	return channelzString(C.grpc_channelz_get_socket(C.intptr_t(id)))
}
