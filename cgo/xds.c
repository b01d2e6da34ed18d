/* xds.c: the core's xDS pieces grpcio exposes: xDS channel and server
 * credentials (grpc_security.h), insecure credentials to fall back on, and
 * the xDS server config fetcher with its serving-status notifier. */
#include "shim.h"

#include "_cgo_export.h"

grpc_channel_credentials* gp_insecure_channel_creds(void) {
  grpc_channel_credentials* c = grpc_insecure_credentials_create();
  if (c) gp_live_add(GP_LIVE_CREDS, 1);
  return c;
}

grpc_channel_credentials* gp_xds_channel_creds(grpc_channel_credentials* fallback) {
  grpc_channel_credentials* c = grpc_xds_credentials_create(fallback);
  if (c) gp_live_add(GP_LIVE_CREDS, 1);
  return c;
}

grpc_server_credentials* gp_insecure_server_creds(void) {
  grpc_server_credentials* c = grpc_insecure_server_credentials_create();
  if (c) gp_live_add(GP_LIVE_CREDS, 1);
  return c;
}

grpc_server_credentials* gp_xds_server_creds(grpc_server_credentials* fallback) {
  grpc_server_credentials* c = grpc_xds_server_credentials_create(fallback);
  if (c) gp_live_add(GP_LIVE_CREDS, 1);
  return c;
}

/* Runs on a core thread: only hands off to Go (goXdsServingStatus copies
 * the strings and returns at once). */
static void serving_status(void* user_data, const char* uri, grpc_serving_status_update update) {
  goXdsServingStatus((uintptr_t)user_data, (char*)uri, (int)update.code,
                     (char*)(update.error_message ? update.error_message : ""));
}

grpc_server* gp_server_create_xds(const char* args, size_t args_len, size_t nargs,
                                  uintptr_t notifier) {
  grpc_server* s = gp_server_create(args, args_len, nargs);
  if (s == NULL) return NULL;
  grpc_channel_args* a = gp_parse_args(args, nargs);
  grpc_server_xds_status_notifier n;
  n.on_serving_status_update = notifier ? serving_status : NULL;
  n.user_data = (void*)notifier;
  grpc_server_config_fetcher* f = grpc_server_config_fetcher_xds_create(n, a);
  gp_free_args(a);
  if (f == NULL) { /* no bootstrap: the core logged why */
    gp_server_destroy(s);
    return NULL;
  }
  grpc_server_set_config_fetcher(s, f); /* the server owns it from here */
  return s;
}
