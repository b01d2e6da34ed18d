/* shim.h: the whole C surface grpcpy uses, in one place.
 *
 * Go files in this package include only this header. Everything here is a
 * thin helper over the gRPC C core (grpc/grpc.h, core 1.51 / "29.x"): it
 * merges several core calls into one cgo crossing and turns core structs
 * (unions, slices) into flat fields Go can read.
 *
 * Ownership: every gp_batch is malloc'd here, owns the C memory of its ops
 * (send metadata, send message, receive slots) and is freed by
 * gp_batch_free once Go has copied the results out; a received message Go
 * took out of the batch is Go's to destroy (gp_msg_*). Its address is the
 * completion-queue tag; Go finds its own object through b->handle, a
 * runtime/cgo.Handle value. No Go pointer is ever stored in C memory.
 *
 * The batch ops live in ops.c, each op's build, flatten and free side by
 * side; shim.c has the rest.
 */
#ifndef GRPCPY_SHIM_H
#define GRPCPY_SHIM_H

#include <stddef.h>
#include <stdint.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/compression.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/log.h>
#include <grpc/support/string_util.h>
#include <grpc/support/time.h>

/* Live C objects, counted so tests can check that every path frees. */
enum {
  GP_LIVE_CQ = 0,
  GP_LIVE_CHANNEL,
  GP_LIVE_CALL,
  GP_LIVE_SERVER,
  GP_LIVE_BATCH,
  GP_LIVE_CREDS,
  GP_LIVE_ORPHAN,  /* batches the core never completed, given up on */
  GP_LIVE_MESSAGE, /* received messages (grpc_byte_buffer), in their batch or taken by Go */
  GP_LIVE_N
};

/* Op bits for gp_call_start_batch. */
enum {
  GP_OP_SEND_INITIAL_METADATA = 1 << 0,
  GP_OP_SEND_MESSAGE = 1 << 1,
  GP_OP_SEND_CLOSE_FROM_CLIENT = 1 << 2,
  GP_OP_SEND_STATUS_FROM_SERVER = 1 << 3,
  GP_OP_RECV_INITIAL_METADATA = 1 << 4,
  GP_OP_RECV_MESSAGE = 1 << 5,
  GP_OP_RECV_STATUS_ON_CLIENT = 1 << 6,
  GP_OP_RECV_CLOSE_ON_SERVER = 1 << 7
};

/* What a tag stands for. */
enum {
  GP_TAG_BATCH = 0,
  GP_TAG_REQUEST_CALL,
  GP_TAG_SHUTDOWN,
  GP_TAG_CONNECTIVITY,
  GP_TAG_REQUEST_REGISTERED /* a registered method's call, its first message read */
};

/* A read-only view of one metadata entry, pointing into core-owned slices. */
typedef struct {
  const char* key;
  size_t key_len;
  const char* value;
  size_t value_len;
} gp_md;

/* One tag. Its fields are grouped by the op (ops.c) or tag kind that owns them: each group is
 * written by that op's build, by the core, or by its flatten, and released by its free. */
typedef struct gp_batch {
  uintptr_t handle; /* runtime/cgo.Handle of the Go completion target */
  int kind;         /* GP_TAG_* */
  uint32_t ops;     /* GP_OP_*: the ops built, so the ops flattened and freed */

  /* GP_OP_SEND_INITIAL_METADATA */
  grpc_metadata* send_md;
  size_t send_md_count;
  /* GP_OP_SEND_MESSAGE; send_slice is a message Go marshalled straight into core memory
   * (gp_batch_msg_prepare) before the start: build moves it into send_msg, and the batch frees
   * it if it never started */
  grpc_byte_buffer* send_msg;
  grpc_slice send_slice;
  int send_prepared;
  /* GP_OP_SEND_STATUS_FROM_SERVER (its details slice lives only for the start call) */
  grpc_metadata* send_tmd;
  size_t send_tmd_count;

  /* GP_OP_RECV_INITIAL_METADATA, and the request metadata of request-call tags:
   * core slot, then its flat view */
  grpc_metadata_array recv_md;
  gp_md* md_view;
  size_t md_view_count;
  /* GP_OP_RECV_MESSAGE, and the first message of GP_TAG_REQUEST_REGISTERED:
   * the core's slot, and its length. Counted in GP_LIVE_MESSAGE from flatten
   * (has_msg) until destroyed; Go takes the pointer out of the batch (the
   * consuming goroutine reads it, gp_msg_view or gp_msg_copy, and releases
   * it); one never taken is destroyed with the batch */
  grpc_byte_buffer* recv_msg;
  int has_msg;
  size_t msg_len;
  /* GP_OP_RECV_STATUS_ON_CLIENT: core slots, then the flat views */
  grpc_metadata_array recv_tmd;
  grpc_status_code status;
  grpc_slice status_details;
  const char* error_string;
  gp_md* tmd_view;
  size_t tmd_view_count;
  const char* details_ptr;
  size_t details_len;
  /* GP_OP_RECV_CLOSE_ON_SERVER */
  int cancelled;

  /* request-call tags (GP_TAG_REQUEST_CALL, GP_TAG_REQUEST_REGISTERED) */
  grpc_call* new_call;
  grpc_call_details details;
  gpr_timespec reg_deadline; /* request_registered_call's deadline */
  const char* method_ptr;
  size_t method_len;
  const char* host_ptr;
  size_t host_len;
  int deadline_infinite;
  int64_t deadline_unix_ns;
} gp_batch;

typedef struct {
  int type; /* grpc_completion_type */
  int success;
  gp_batch* batch;
} gp_event;

/* process */
void gp_init(void);
const char* gp_version_string(void);
const char* gp_g_stands_for(void);
void gp_live_counts(int64_t* out /* GP_LIVE_N */);
/* gp_live_orphan moves n batches from the live count to the orphan count
 * (n < 0: back, for an orphan the core delivered after all). */
void gp_live_orphan(int64_t n);
/* glibc malloc: malloc_trim(pad) (0 without glibc), and mallinfo2 as
 * arena, hblkhd, uordblks, fordblks, keepcost (zeros before glibc 2.33). */
int gp_malloc_trim(size_t pad);
void gp_mallinfo(size_t* out /* 5 */);

/* completion queues */
grpc_completion_queue* gp_cq_create(void);
/* Frees prev (may be NULL), waits for the next event (block) or only looks
 * (!block: GRPC_QUEUE_TIMEOUT when there is none), flattens its results. */
gp_event gp_cq_next(grpc_completion_queue* cq, gp_batch* prev, int block);
void gp_cq_shutdown(grpc_completion_queue* cq);
void gp_cq_destroy(grpc_completion_queue* cq);

/* batches (ops.c) */
gp_batch* gp_batch_new(uintptr_t handle, int kind);
void gp_batch_free(gp_batch* b);
/* Allocates the message of the batch's SEND_MESSAGE in core memory (grpc_slice_malloc, held
 * in b->send_slice) and returns where its len bytes start, for Go to marshal into; build sends
 * that slice instead of copying Send.Message. gp_batch_msg_prepared_copy replaces it with a
 * copy of p (Go marshalled elsewhere after all). */
char* gp_batch_msg_prepare(gp_batch* b, size_t len);
void gp_batch_msg_prepared_copy(gp_batch* b, const char* p, size_t len);
/* A received message taken out of its batch (Go owns it, counted in GP_LIVE_MESSAGE):
 * gp_msg_view returns where its bytes start when they are one uncompressed, non-empty slice
 * (read in place), else NULL; gp_msg_copy copies up to cap bytes into dst (one copy from the
 * core's slices) and, with destroy, destroys it; gp_msg_destroy destroys it. */
const char* gp_msg_view(grpc_byte_buffer* bb);
size_t gp_msg_copy(grpc_byte_buffer* bb, char* dst, size_t cap, int destroy);
void gp_msg_destroy(grpc_byte_buffer* bb);
/* The OR of the op bits in ops.c's op table, and its number of rows: tests check that every
 * GP_OP_* has exactly one row. */
uint32_t gp_ops_table_bits(void);
size_t gp_ops_table_len(void);

/* Channel args are passed flat: per arg, one byte type ('s' or 'i'), then
 * u32 key length, key bytes, then either u32 length + bytes or an int64. */
/* *errors receives the core's ERROR log lines written during creation
 * (gpr_malloc'd, free with gp_free; NULL if none): a rejected service
 * config is reported there only. */
grpc_channel* gp_channel_create(const char* target, grpc_channel_credentials* creds,
                                const char* args, size_t args_len, size_t nargs, char** errors);
void gp_channel_destroy(grpc_channel* ch);
int gp_channel_check_state(grpc_channel* ch, int try_to_connect);
void gp_channel_watch(grpc_channel* ch, int last_state, int64_t timeout_ns,
                      grpc_completion_queue* cq, gp_batch* b);

/* calls. timeout_ns < 0 means no deadline. */
/* An in-process channel to server (the core's inproc transport, cgo/inproc.cc):
 * no socket, no resolver; the server must be started. */
grpc_channel* gp_inproc_channel_create(grpc_server* server, const char* args, size_t args_len,
                                       size_t nargs);
grpc_call* gp_channel_create_call(grpc_channel* ch, grpc_completion_queue* cq,
                                  const char* method, size_t method_len,
                                  const char* host, size_t host_len,
                                  int64_t timeout_ns);
/* Metadata is passed flat: per entry, u32 key length, key, u32 value length,
 * value. Builds the ops named by b->ops (ops.c) and starts them; on failure
 * the batch is left for the caller to free. */
grpc_call_error gp_call_start_batch(grpc_call* call, gp_batch* b, uint32_t md_flags,
                                    const char* md, size_t md_len, size_t md_count,
                                    const char* msg, size_t msg_len, uint32_t msg_flags,
                                    int status, const char* details, size_t details_len,
                                    const char* tmd, size_t tmd_len, size_t tmd_count);
grpc_call_error gp_call_cancel(grpc_call* call);
grpc_call_error gp_call_cancel_with_status(grpc_call* call, int status,
                                           const char* description);
void gp_call_unref(grpc_call* call);
/* Copies the peer string into buf (NUL-terminated, truncated); returns its full length. */
size_t gp_call_peer(grpc_call* call, char* buf, size_t cap);
/* Serialises the call's auth context: per property, u32 name length, name,
 * u32 value length, value. *out is gpr_malloc'd (free with gp_free), NULL
 * when the call has no auth context. Also reports the peer identity
 * property name (copied into idname, NUL-terminated) and whether the peer
 * is authenticated. */
size_t gp_call_auth_context(grpc_call* call, char** out, char* idname, size_t idname_cap,
                            int* authenticated);
void gp_free(void* p);

/* metadata rules: the core's own checks, applied to a flat metadata buffer.
 * Returns -1 when all entries are valid, else the index of the first bad
 * entry with *why = 1 (illegal key) or 2 (illegal non-binary value). */
int64_t gp_metadata_check(const char* md, size_t md_len, size_t md_count, int* why);

/* servers */
grpc_server* gp_server_create(const char* args, size_t args_len, size_t nargs);
void gp_server_register_cq(grpc_server* s, grpc_completion_queue* cq);
int gp_server_add_insecure_port(grpc_server* s, const char* addr);
void gp_server_start(grpc_server* s);
grpc_call_error gp_server_request_call(grpc_server* s, grpc_completion_queue* cq,
                                       gp_batch* b);
/* grpc_server_register_method with GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER:
 * the call arrives with its first message. Before start only. */
void* gp_server_register_method(grpc_server* s, const char* method);
grpc_call_error gp_server_request_registered_call(grpc_server* s, void* rm,
                                                  grpc_completion_queue* cq, gp_batch* b);
void gp_server_shutdown(grpc_server* s, grpc_completion_queue* cq, gp_batch* b);
void gp_server_cancel_all_calls(grpc_server* s);
void gp_server_destroy(grpc_server* s);
/* A server with the xDS config fetcher (grpcio's grpc.server(xds=True)):
 * serving-status updates go to goXdsServingStatus(notifier, ...) when
 * notifier is not 0. NULL when the core cannot create the fetcher (no xDS
 * bootstrap; it logs why). */
grpc_server* gp_server_create_xds(const char* args, size_t args_len, size_t nargs,
                                  uintptr_t notifier);

/* xDS and insecure credentials (counted in GP_LIVE_CREDS). */
grpc_channel_credentials* gp_insecure_channel_creds(void);
grpc_channel_credentials* gp_xds_channel_creds(grpc_channel_credentials* fallback);
grpc_server_credentials* gp_insecure_server_creds(void);
grpc_server_credentials* gp_xds_server_creds(grpc_server_credentials* fallback);

/* ---------- credentials (grpc_security.h) ----------
 * Each creator returns a new reference counted in GP_LIVE_CREDS; the
 * caller releases it once the core has taken its own (channel, port or
 * call creation). PEM arguments are NUL-terminated; roots NULL means the
 * core's default roots. Key/certificate pairs come flat: key\0chain\0... */
grpc_channel_credentials* gp_ssl_channel_creds(const char* roots, const char* key, const char* chain);
grpc_channel_credentials* gp_composite_channel_creds(grpc_channel_credentials* ch,
                                                     grpc_call_credentials* call);
grpc_call_credentials* gp_access_token_creds(const char* token);
/* A metadata plugin whose state is a runtime/cgo.Handle. get_metadata only
 * hands off to Go (goPluginGetMetadata) and returns 0: the metadata comes
 * later, from another thread, through gp_plugin_complete. Requires
 * GRPC_PRIVACY_AND_INTEGRITY, as grpcio does. */
grpc_call_credentials* gp_plugin_creds(uintptr_t handle);
void gp_plugin_complete(uintptr_t cb, uintptr_t user_data, const char* md, size_t md_len,
                        size_t md_count, int status, const char* details);
grpc_call_credentials* gp_composite_call_creds(grpc_call_credentials* a, grpc_call_credentials* b);
void gp_channel_creds_release(grpc_channel_credentials* c);
void gp_call_creds_release(grpc_call_credentials* c);
grpc_call_error gp_call_set_credentials(grpc_call* call, grpc_call_credentials* creds);

grpc_server_credentials* gp_ssl_server_creds(const char* roots, const char* pairs, size_t npairs,
                                             int request_type);
/* Certificates fetched through goCertConfigFetch(fetcher_id) before each
 * handshake (grpc_ssl_server_credentials_create_options_using_config_fetcher). */
grpc_server_credentials* gp_dynamic_ssl_server_creds(int request_type, uintptr_t fetcher_id);
grpc_ssl_server_certificate_config* gp_server_cert_config(const char* roots, const char* pairs,
                                                          size_t npairs);
void gp_server_creds_release(grpc_server_credentials* c);
int gp_server_add_secure_port(grpc_server* s, const char* addr, grpc_server_credentials* creds);

/* ---------- shim-internal: shared by shim.c and ops.c; Go does not call these ---------- */
void gp_live_add(int kind, int64_t d);
/* Parses count flat metadata entries into a gpr_malloc'd array of copied slices (NULL for
 * none); gp_free_md releases it. */
grpc_metadata* gp_parse_md(const char* buf, size_t count);
/* Channel args from their flat form, and their release. */
grpc_channel_args* gp_parse_args(const char* buf, size_t nargs);
void gp_free_args(grpc_channel_args* a);
void gp_free_md(grpc_metadata* md, size_t n);
/* Flattens a completed tag's results for Go (gp_cq_next). */
void gp_batch_flatten(gp_batch* b, int success);

/* Compile-time guard: the completion-queue factory API this shim relies on. */
#if !defined(GRPC_CQ_CURRENT_VERSION) || GRPC_CQ_CURRENT_VERSION < 2
#error "grpcpy needs gRPC core 1.51 or later (libgrpc-dev)"
#endif

#endif
