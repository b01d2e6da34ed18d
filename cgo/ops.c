/* ops.c: the batch ops of gp_call_start_batch, one section per op with its halves side by side,
 * as grpcio's operation.pyx.pxi gives each Operation its c() and un_c():
 *
 *   build    fills one grpc_op from the batch and the send arguments. What it allocates is
 *            stored in the batch, which owns it from then on: free releases it whether the
 *            batch started or not (a batch whose start fails is freed by Go with Free).
 *   flatten  after the event, turns what the core wrote into flat fields Go reads (Batch.Read
 *            in ops.go). NULL: nothing to flatten (or Go reads the slot as it is).
 *   free     releases what build, flatten and the core's receive slots hold. NULL: nothing.
 *
 * op_table drives gp_call_start_batch, the flatten of GP_TAG_BATCH events and gp_batch_free.
 * Adding an op is one section here, one row in op_table, and one row in ops.go's opTable.
 * Request-call tags are not batches of ops: their flatten and free come after the table. */
#include "shim.h"

#include <stdlib.h>
#include <string.h>

/* The send arguments of one gp_call_start_batch, gathered on its stack from the scalar
 * parameters (so Go never builds a C struct holding pointers to its memory). The pointers are
 * Go memory, valid during the call only: build copies whatever the batch keeps. */
typedef struct {
  uint32_t md_flags;
  const char* md;
  size_t md_len;
  size_t md_count;
  const char* msg;
  size_t msg_len;
  /* Instead of msg: the slice Go marshalled into (gp_batch_msg_prepare), which lives in the
   * batch (so the batch frees it on every path, started or not) and is sent without a copy. */
  grpc_slice* msg_slice;
  uint32_t msg_flags; /* GRPC_WRITE_* of SEND_MESSAGE, e.g. GRPC_WRITE_NO_COMPRESS */
  int status;
  const char* details;
  size_t details_len;
  const char* tmd;
  size_t tmd_len;
  size_t tmd_count;

  /* Held for the start call only: the core does not retain status_details past
   * grpc_call_start_batch (grpc_types.h), so send_release drops it right after. */
  grpc_slice details_slice;
  int have_details;
} gp_send;

static void send_release(gp_send* s) {
  if (s->have_details) grpc_slice_unref(s->details_slice);
}

/* ---------- shared by batch ops and request-call tags ---------- */

/* A flat view of a metadata array, pointing into the core-owned slices (freed with gpr_free;
 * valid while the array is). */
static gp_md* md_view(const grpc_metadata_array* a, size_t* count) {
  *count = a->count;
  if (a->count == 0) return NULL;
  gp_md* v = gpr_malloc(a->count * sizeof(gp_md));
  for (size_t i = 0; i < a->count; i++) {
    v[i].key = (const char*)GRPC_SLICE_START_PTR(a->metadata[i].key);
    v[i].key_len = GRPC_SLICE_LENGTH(a->metadata[i].key);
    v[i].value = (const char*)GRPC_SLICE_START_PTR(a->metadata[i].value);
    v[i].value_len = GRPC_SLICE_LENGTH(a->metadata[i].value);
  }
  return v;
}

/* b->recv_md and its view: GRPC_OP_RECV_INITIAL_METADATA's slot, or a request's metadata. */
static void initial_md_flatten(gp_batch* b) {
  b->md_view = md_view(&b->recv_md, &b->md_view_count);
}

static void initial_md_free(gp_batch* b) {
  grpc_metadata_array_destroy(&b->recv_md);
  grpc_metadata_array_init(&b->recv_md); /* a second free finds it empty */
  gpr_free(b->md_view);
  b->md_view = NULL;
  b->md_view_count = 0;
}

/* b->recv_msg, the slot of GRPC_OP_RECV_MESSAGE or a registered request's first message: only
 * its length is read here, and it is counted live (GP_LIVE_MESSAGE). Go takes the buffer out of
 * the batch (Batch.TakeMessage, on the poller) and the goroutine that consumes the message reads
 * it, in place (gp_msg_view) or copied once into Go memory (gp_msg_copy), then destroys it: the
 * poller copies nothing. NULL (end of stream, failure) leaves has_msg 0. */
static void msg_flatten(gp_batch* b) {
  if (b->recv_msg == NULL) return;
  b->has_msg = 1;
  b->msg_len = grpc_byte_buffer_length(b->recv_msg);
  gp_live_add(GP_LIVE_MESSAGE, 1);
}

const char* gp_msg_view(grpc_byte_buffer* bb) {
  /* One slice, not compressed: its bytes are the message. Anything else goes through the
   * reader (gp_msg_copy), which decompresses and walks the slices. (A returned pointer, not an
   * out-parameter: Go would move the variable it passes to the heap.) */
  if (bb->type != GRPC_BB_RAW || bb->data.raw.compression != GRPC_COMPRESS_NONE ||
      bb->data.raw.slice_buffer.count != 1) {
    return NULL;
  }
  return (const char*)GRPC_SLICE_START_PTR(bb->data.raw.slice_buffer.slices[0]);
}

void gp_msg_destroy(grpc_byte_buffer* bb) {
  grpc_byte_buffer_destroy(bb);
  gp_live_add(GP_LIVE_MESSAGE, -1);
}

size_t gp_msg_copy(grpc_byte_buffer* bb, char* dst, size_t cap, int destroy) {
  size_t n = 0;
  grpc_byte_buffer_reader r;
  if (grpc_byte_buffer_reader_init(&r, bb)) {
    grpc_slice s;
    while (grpc_byte_buffer_reader_next(&r, &s)) {
      size_t len = GRPC_SLICE_LENGTH(s);
      if (len > cap - n) len = cap - n;
      memcpy(dst + n, GRPC_SLICE_START_PTR(s), len);
      n += len;
      grpc_slice_unref(s);
    }
    grpc_byte_buffer_reader_destroy(&r);
  }
  if (destroy) gp_msg_destroy(bb);
  return n;
}

/* A message still in the batch (never taken by Go: an orphan delivered late, a request tag
 * nobody read) is destroyed here; only a counted one (has_msg) uncounts. */
static void msg_free(gp_batch* b) {
  if (b->recv_msg) {
    if (b->has_msg) {
      gp_msg_destroy(b->recv_msg);
    } else {
      grpc_byte_buffer_destroy(b->recv_msg);
    }
  }
  b->recv_msg = NULL;
  b->has_msg = 0;
  b->msg_len = 0;
}

/* ---------- GP_OP_SEND_INITIAL_METADATA ---------- */

/* Builds GRPC_OP_SEND_INITIAL_METADATA: the metadata (and its flags, e.g. wait-for-ready)
 * copied into core slices, owned by the batch until it is freed. */
static void send_initial_metadata_build(gp_batch* b, gp_send* s, grpc_op* op) {
  b->send_md = gp_parse_md(s->md, s->md_count);
  b->send_md_count = s->md_count;
  op->op = GRPC_OP_SEND_INITIAL_METADATA;
  op->flags = s->md_flags;
  op->data.send_initial_metadata.count = s->md_count;
  op->data.send_initial_metadata.metadata = b->send_md;
}

/* Frees GRPC_OP_SEND_INITIAL_METADATA's copied metadata. */
static void send_initial_metadata_free(gp_batch* b) {
  gp_free_md(b->send_md, b->send_md_count);
  b->send_md = NULL;
  b->send_md_count = 0;
}

/* ---------- GP_OP_SEND_MESSAGE ---------- */

/* Builds GRPC_OP_SEND_MESSAGE into a byte buffer the batch owns: the slice Go marshalled into
 * (s->msg_slice, moved in without a copy), or the message copied (an empty message is an empty
 * slice, still sent). */
static void send_message_build(gp_batch* b, gp_send* s, grpc_op* op) {
  if (s->msg_slice != NULL) {
    b->send_msg = grpc_raw_byte_buffer_create(s->msg_slice, 1);
    grpc_slice_unref(*s->msg_slice); /* the buffer holds its own ref */
    b->send_prepared = 0;
  } else {
    grpc_slice sl = s->msg_len ? grpc_slice_from_copied_buffer(s->msg, s->msg_len)
                               : grpc_empty_slice();
    b->send_msg = grpc_raw_byte_buffer_create(&sl, 1);
    grpc_slice_unref(sl); /* the buffer holds its own ref */
  }
  op->op = GRPC_OP_SEND_MESSAGE;
  op->flags = s->msg_flags;
  op->data.send_message.send_message = b->send_msg;
}

/* Releases a prepared slice no build moved into a byte buffer: a batch that never started (the
 * call was over, marshalling failed) or was not a SEND_MESSAGE after all. Idempotent. */
static void send_prepared_free(gp_batch* b) {
  if (b->send_prepared) grpc_slice_unref(b->send_slice);
  b->send_prepared = 0;
}

char* gp_batch_msg_prepare(gp_batch* b, size_t len) {
  send_prepared_free(b);
  /* In the batch, not on Go's side: a short slice keeps its bytes inline, in the grpc_slice
   * itself, which must then be C memory. */
  b->send_slice = grpc_slice_malloc(len);
  b->send_prepared = 1;
  return (char*)GRPC_SLICE_START_PTR(b->send_slice);
}

void gp_batch_msg_prepared_copy(gp_batch* b, const char* p, size_t len) {
  /* Copy first: p may point into the slice being replaced. */
  grpc_slice sl = grpc_slice_from_copied_buffer(p, len);
  send_prepared_free(b);
  b->send_slice = sl;
  b->send_prepared = 1;
}

/* Frees GRPC_OP_SEND_MESSAGE's byte buffer (and a prepared slice build did not take). */
static void send_message_free(gp_batch* b) {
  if (b->send_msg) grpc_byte_buffer_destroy(b->send_msg);
  b->send_msg = NULL;
  send_prepared_free(b);
}

/* ---------- GP_OP_SEND_CLOSE_FROM_CLIENT ---------- */

/* Builds GRPC_OP_SEND_CLOSE_FROM_CLIENT: no arguments, nothing to read or free. */
static void send_close_from_client_build(gp_batch* b, gp_send* s, grpc_op* op) {
  (void)b;
  (void)s;
  op->op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
}

/* ---------- GP_OP_SEND_STATUS_FROM_SERVER ---------- */

/* Builds GRPC_OP_SEND_STATUS_FROM_SERVER: trailing metadata copied into the batch; the details
 * slice is held by s only until the start call returns (send_release). */
static void send_status_from_server_build(gp_batch* b, gp_send* s, grpc_op* op) {
  b->send_tmd = gp_parse_md(s->tmd, s->tmd_count);
  b->send_tmd_count = s->tmd_count;
  op->op = GRPC_OP_SEND_STATUS_FROM_SERVER;
  op->data.send_status_from_server.trailing_metadata_count = s->tmd_count;
  op->data.send_status_from_server.trailing_metadata = b->send_tmd;
  op->data.send_status_from_server.status = (grpc_status_code)s->status;
  if (s->details_len > 0) {
    s->details_slice = grpc_slice_from_copied_buffer(s->details, s->details_len);
    s->have_details = 1;
    op->data.send_status_from_server.status_details = &s->details_slice;
  }
}

/* Frees GRPC_OP_SEND_STATUS_FROM_SERVER's copied trailing metadata. */
static void send_status_from_server_free(gp_batch* b) {
  gp_free_md(b->send_tmd, b->send_tmd_count);
  b->send_tmd = NULL;
  b->send_tmd_count = 0;
}

/* ---------- GP_OP_RECV_INITIAL_METADATA ---------- */

/* Builds GRPC_OP_RECV_INITIAL_METADATA into b->recv_md; read back by initial_md_flatten
 * (md_view) and released by initial_md_free. */
static void recv_initial_metadata_build(gp_batch* b, gp_send* s, grpc_op* op) {
  (void)s;
  op->op = GRPC_OP_RECV_INITIAL_METADATA;
  op->data.recv_initial_metadata.recv_initial_metadata = &b->recv_md;
}

/* ---------- GP_OP_RECV_MESSAGE ---------- */

/* Builds GRPC_OP_RECV_MESSAGE into b->recv_msg; read back by msg_flatten (has_msg, msg_len),
 * then taken by Go (Batch.TakeMessage) or released by msg_free. */
static void recv_message_build(gp_batch* b, gp_send* s, grpc_op* op) {
  (void)s;
  op->op = GRPC_OP_RECV_MESSAGE;
  op->data.recv_message.recv_message = &b->recv_msg;
}

/* ---------- GP_OP_RECV_STATUS_ON_CLIENT ---------- */

/* Builds GRPC_OP_RECV_STATUS_ON_CLIENT: trailing metadata, status, details and the core's
 * error string, all into the batch (status_details starts as the empty slice, gp_batch_new). */
static void recv_status_on_client_build(gp_batch* b, gp_send* s, grpc_op* op) {
  (void)s;
  op->op = GRPC_OP_RECV_STATUS_ON_CLIENT;
  op->data.recv_status_on_client.trailing_metadata = &b->recv_tmd;
  op->data.recv_status_on_client.status = &b->status;
  op->data.recv_status_on_client.status_details = &b->status_details;
  op->data.recv_status_on_client.error_string = &b->error_string;
}

/* Reads GRPC_OP_RECV_STATUS_ON_CLIENT: views of the trailing metadata and the details. Go
 * reads status and error_string (NUL-terminated) as the core wrote them. */
static void recv_status_on_client_flatten(gp_batch* b) {
  b->tmd_view = md_view(&b->recv_tmd, &b->tmd_view_count);
  b->details_ptr = (const char*)GRPC_SLICE_START_PTR(b->status_details);
  b->details_len = GRPC_SLICE_LENGTH(b->status_details);
}

/* Frees GRPC_OP_RECV_STATUS_ON_CLIENT's slots (the core hands over the trailing metadata, the
 * details slice and the gpr_malloc'd error string) and the views onto them. */
static void recv_status_on_client_free(gp_batch* b) {
  grpc_metadata_array_destroy(&b->recv_tmd);
  grpc_metadata_array_init(&b->recv_tmd);
  grpc_slice_unref(b->status_details);
  b->status_details = grpc_empty_slice();
  if (b->error_string) gpr_free((void*)b->error_string);
  b->error_string = NULL;
  gpr_free(b->tmd_view);
  b->tmd_view = NULL;
  b->tmd_view_count = 0;
  b->details_ptr = NULL;
  b->details_len = 0;
}

/* ---------- GP_OP_RECV_CLOSE_ON_SERVER ---------- */

/* Builds GRPC_OP_RECV_CLOSE_ON_SERVER into b->cancelled, an int Go reads as it is: nothing to
 * flatten or free. */
static void recv_close_on_server_build(gp_batch* b, gp_send* s, grpc_op* op) {
  (void)s;
  op->op = GRPC_OP_RECV_CLOSE_ON_SERVER;
  op->data.recv_close_on_server.cancelled = &b->cancelled;
}

/* ---------- the table ---------- */

typedef struct {
  uint32_t bit; /* GP_OP_* */
  void (*build)(gp_batch* b, gp_send* s, grpc_op* op);
  void (*flatten)(gp_batch* b); /* may be NULL */
  void (*free)(gp_batch* b);    /* may be NULL */
} gp_op_row;

/* In bit order, which is the order of the grpc_op array a batch starts with. */
static const gp_op_row op_table[] = {
    {GP_OP_SEND_INITIAL_METADATA, send_initial_metadata_build, NULL, send_initial_metadata_free},
    {GP_OP_SEND_MESSAGE, send_message_build, NULL, send_message_free},
    {GP_OP_SEND_CLOSE_FROM_CLIENT, send_close_from_client_build, NULL, NULL},
    {GP_OP_SEND_STATUS_FROM_SERVER, send_status_from_server_build, NULL,
     send_status_from_server_free},
    {GP_OP_RECV_INITIAL_METADATA, recv_initial_metadata_build, initial_md_flatten,
     initial_md_free},
    {GP_OP_RECV_MESSAGE, recv_message_build, msg_flatten, msg_free},
    {GP_OP_RECV_STATUS_ON_CLIENT, recv_status_on_client_build, recv_status_on_client_flatten,
     recv_status_on_client_free},
    {GP_OP_RECV_CLOSE_ON_SERVER, recv_close_on_server_build, NULL, NULL},
};

#define OP_TABLE_LEN (sizeof(op_table) / sizeof(op_table[0]))

uint32_t gp_ops_table_bits(void) {
  uint32_t bits = 0;
  for (size_t i = 0; i < OP_TABLE_LEN; i++) bits |= op_table[i].bit;
  return bits;
}

size_t gp_ops_table_len(void) { return OP_TABLE_LEN; }

grpc_call_error gp_call_start_batch(grpc_call* call, gp_batch* b, uint32_t md_flags,
                                    const char* md, size_t md_len, size_t md_count,
                                    const char* msg, size_t msg_len, uint32_t msg_flags,
                                    int status, const char* details, size_t details_len,
                                    const char* tmd, size_t tmd_len, size_t tmd_count) {
  gp_send s;
  memset(&s, 0, sizeof(s));
  s.md_flags = md_flags;
  s.md = md;
  s.md_len = md_len;
  s.md_count = md_count;
  s.msg = msg;
  s.msg_len = msg_len;
  s.msg_slice = b->send_prepared ? &b->send_slice : NULL;
  s.msg_flags = msg_flags;
  s.status = status;
  s.details = details;
  s.details_len = details_len;
  s.tmd = tmd;
  s.tmd_len = tmd_len;
  s.tmd_count = tmd_count;

  /* One grpc_op per row at most: sized by the table, a new row cannot overflow it. */
  grpc_op ops[OP_TABLE_LEN];
  memset(ops, 0, sizeof(ops));
  size_t n = 0;
  for (size_t i = 0; i < OP_TABLE_LEN; i++) {
    if (b->ops & op_table[i].bit) op_table[i].build(b, &s, &ops[n++]);
  }
  grpc_call_error err = grpc_call_start_batch(call, ops, n, b, NULL);
  send_release(&s);
  return err;
}

/* ---------- request-call tags (not batches of ops) ---------- */

/* Reads grpc_server_request_call / grpc_server_request_registered_call: the new call (counted
 * live from here: Go now owns it), its metadata, method and host (request_call) or first
 * message (registered), and its deadline. */
static void request_flatten(gp_batch* b, int success) {
  if (!success || b->new_call == NULL) return;
  gp_live_add(GP_LIVE_CALL, 1);
  initial_md_flatten(b);
  gpr_timespec d;
  if (b->kind == GP_TAG_REQUEST_CALL) {
    b->method_ptr = (const char*)GRPC_SLICE_START_PTR(b->details.method);
    b->method_len = GRPC_SLICE_LENGTH(b->details.method);
    b->host_ptr = (const char*)GRPC_SLICE_START_PTR(b->details.host);
    b->host_len = GRPC_SLICE_LENGTH(b->details.host);
    d = b->details.deadline;
  } else {
    msg_flatten(b);
    d = b->reg_deadline;
  }
  if (gpr_time_cmp(d, gpr_inf_future(d.clock_type)) == 0) {
    b->deadline_infinite = 1;
  } else {
    /* As grpcio does: the absolute deadline on the wall clock, so Go
     * compares it with time.Now() without a hand-off skew. */
    gpr_timespec rt = gpr_convert_clock_type(d, GPR_CLOCK_REALTIME);
    b->deadline_unix_ns = (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec;
  }
}

/* Frees a request-call tag's slots (whether or not it succeeded; the new call itself is Go's). */
static void request_free(gp_batch* b) {
  initial_md_free(b);
  msg_free(b); /* registered: the first message */
  if (b->kind == GP_TAG_REQUEST_CALL) grpc_call_details_destroy(&b->details);
}

/* ---------- batch lifetime ---------- */

static int is_request(const gp_batch* b) {
  return b->kind == GP_TAG_REQUEST_CALL || b->kind == GP_TAG_REQUEST_REGISTERED;
}

gp_batch* gp_batch_new(uintptr_t handle, int kind) {
  gp_batch* b = calloc(1, sizeof(gp_batch));
  if (b == NULL) return NULL;
  b->handle = handle;
  b->kind = kind;
  /* Every slot starts empty, so free is safe for any kind and any subset of ops. */
  grpc_metadata_array_init(&b->recv_md);
  grpc_metadata_array_init(&b->recv_tmd);
  b->status_details = grpc_empty_slice();
  if (kind == GP_TAG_REQUEST_CALL) grpc_call_details_init(&b->details);
  gp_live_add(GP_LIVE_BATCH, 1);
  return b;
}

/* The read-after-event half: flatten what the core wrote, for Go. A batch's ops flatten even
 * on failure (each reads only what the core wrote; the slots start empty). */
void gp_batch_flatten(gp_batch* b, int success) {
  if (is_request(b)) {
    request_flatten(b, success);
    return;
  }
  if (b->kind != GP_TAG_BATCH) return;
  for (size_t i = 0; i < OP_TABLE_LEN; i++) {
    if ((b->ops & op_table[i].bit) && op_table[i].flatten) op_table[i].flatten(b);
  }
}

void gp_batch_free(gp_batch* b) {
  if (b == NULL) return;
  /* b->ops names exactly the ops built (StartBatch sets it just before building), started
   * or not; the frees leave their slots empty, so nothing is released twice. */
  for (size_t i = 0; i < OP_TABLE_LEN; i++) {
    if ((b->ops & op_table[i].bit) && op_table[i].free) op_table[i].free(b);
  }
  if (is_request(b)) request_free(b);
  send_prepared_free(b); /* prepared, but the batch never started (b->ops is 0) */
  free(b);
  gp_live_add(GP_LIVE_BATCH, -1);
}
