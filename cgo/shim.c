/* shim.c: helpers over the gRPC C core. See shim.h for the ownership rules; the batch ops
 * are in ops.c. */
#include "shim.h"

#include "_cgo_export.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

static int64_t gp_live[GP_LIVE_N];

void gp_live_add(int kind, int64_t d) {
  __atomic_add_fetch(&gp_live[kind], d, __ATOMIC_RELAXED);
}

void gp_live_counts(int64_t* out) {
  for (int i = 0; i < GP_LIVE_N; i++) {
    out[i] = __atomic_load_n(&gp_live[i], __ATOMIC_RELAXED);
  }
}

int gp_malloc_trim(size_t pad) {
#ifdef __GLIBC__
  return malloc_trim(pad);
#else
  (void)pad;
  return 0;
#endif
}

void gp_mallinfo(size_t* out) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  struct mallinfo2 m = mallinfo2();
  out[0] = m.arena;
  out[1] = m.hblkhd;
  out[2] = m.uordblks;
  out[3] = m.fordblks;
  out[4] = m.keepcost;
#else
  for (int i = 0; i < 5; i++) out[i] = 0;
#endif
}

/* The core's log lines go to Go's logger (goCoreLog), with their severity,
 * file and line. The core has already applied GRPC_VERBOSITY. An assertion
 * failure is also written to stderr here: abort() follows at once, and a
 * Go handler that buffers would lose the one line that says why. */
/* A thread's ERROR lines while it creates a channel (gp_channel_create):
 * the core explains a rejected service config only in its log, from inside
 * grpc_channel_create, then hands back a lame channel. */
static __thread char* capture_buf;
static __thread size_t capture_len;
static __thread int capture_on;

static void capture(const char* msg) {
  size_t n = strlen(msg);
  char* grown = gpr_realloc(capture_buf, capture_len + n + 2);
  memcpy(grown + capture_len, msg, n);
  grown[capture_len + n] = '\n';
  grown[capture_len + n + 1] = 0;
  capture_buf = grown;
  capture_len += n + 1;
}

static void gp_log(gpr_log_func_args* a) {
  if (capture_on && a->severity == GPR_LOG_SEVERITY_ERROR) capture(a->message);
  if (a->severity == GPR_LOG_SEVERITY_ERROR &&
      strncmp(a->message, "assertion failed", 16) == 0) {
    fprintf(stderr, "E %s:%d] %s\n", a->file, a->line, a->message);
    fflush(stderr);
  }
  goCoreLog((char*)a->file, a->line, (int)a->severity, (char*)a->message);
}

void gp_live_orphan(int64_t n) {
  gp_live_add(GP_LIVE_BATCH, -n);
  gp_live_add(GP_LIVE_ORPHAN, n);
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
void gp_absl_release_mode(void); /* absl.cc */
static void do_init(void) {
  gp_absl_release_mode();
  gpr_set_log_function(gp_log);
  grpc_init();
}

/* One grpc_init for the life of the process: grpcpy never calls
 * grpc_shutdown, whose clean-up became asynchronous by core 1.51 and raced
 * callbacks in grpcio (grpc/grpc#17001, #20026). */
void gp_init(void) { pthread_once(&init_once, do_init); }

const char* gp_version_string(void) { return grpc_version_string(); }
const char* gp_g_stands_for(void) { return grpc_g_stands_for(); }

void gp_free(void* p) { gpr_free(p); }

static gpr_timespec deadline_from(int64_t timeout_ns) {
  if (timeout_ns == INT64_MIN) return gpr_inf_future(GPR_CLOCK_MONOTONIC); /* NoDeadline */
  return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                      gpr_time_from_nanos(timeout_ns, GPR_TIMESPAN));
}

/* ---------- completion queues ---------- */

grpc_completion_queue* gp_cq_create(void) {
  grpc_completion_queue* cq = grpc_completion_queue_create_for_next(NULL);
  if (cq) gp_live_add(GP_LIVE_CQ, 1);
  return cq;
}

void gp_cq_shutdown(grpc_completion_queue* cq) { grpc_completion_queue_shutdown(cq); }

void gp_cq_destroy(grpc_completion_queue* cq) {
  grpc_completion_queue_destroy(cq);
  gp_live_add(GP_LIVE_CQ, -1);
}

gp_event gp_cq_next(grpc_completion_queue* cq, gp_batch* prev, int block) {
  if (prev != NULL) gp_batch_free(prev);
  gp_event out;
  memset(&out, 0, sizeof(out));
  grpc_event ev = grpc_completion_queue_next(
      cq, block ? gpr_inf_future(GPR_CLOCK_REALTIME) : gpr_inf_past(GPR_CLOCK_REALTIME), NULL);
  out.type = ev.type;
  out.success = ev.success;
  if (ev.type == GRPC_OP_COMPLETE) {
    out.batch = (gp_batch*)ev.tag;
    gp_batch_flatten(out.batch, ev.success);
  }
  return out;
}

/* ---------- flat buffers from Go ---------- */

static uint32_t rd_u32(const char** p) {
  uint32_t v;
  memcpy(&v, *p, sizeof(v));
  *p += sizeof(v);
  return v;
}

grpc_metadata* gp_parse_md(const char* buf, size_t count) {
  if (count == 0) return NULL;
  grpc_metadata* md = gpr_malloc(count * sizeof(grpc_metadata));
  memset(md, 0, count * sizeof(grpc_metadata));
  const char* p = buf;
  for (size_t i = 0; i < count; i++) {
    uint32_t kl = rd_u32(&p);
    md[i].key = grpc_slice_from_copied_buffer(p, kl);
    p += kl;
    uint32_t vl = rd_u32(&p);
    md[i].value = grpc_slice_from_copied_buffer(p, vl);
    p += vl;
  }
  return md;
}

void gp_free_md(grpc_metadata* md, size_t n) {
  if (md == NULL) return;
  for (size_t i = 0; i < n; i++) {
    grpc_slice_unref(md[i].key);
    grpc_slice_unref(md[i].value);
  }
  gpr_free(md);
}

int64_t gp_metadata_check(const char* md, size_t md_len, size_t md_count, int* why) {
  (void)md_len;
  const char* p = md;
  for (size_t i = 0; i < md_count; i++) {
    uint32_t kl = rd_u32(&p);
    grpc_slice k = grpc_slice_from_static_buffer(p, kl);
    p += kl;
    uint32_t vl = rd_u32(&p);
    grpc_slice v = grpc_slice_from_static_buffer(p, vl);
    p += vl;
    if (!grpc_header_key_is_legal(k)) {
      *why = 1;
      return (int64_t)i;
    }
    if (!grpc_is_binary_header(k) && !grpc_header_nonbin_value_is_legal(v)) {
      *why = 2;
      return (int64_t)i;
    }
  }
  return -1;
}

grpc_channel_args* gp_parse_args(const char* buf, size_t nargs) {
  grpc_channel_args* a = gpr_malloc(sizeof(grpc_channel_args));
  a->num_args = nargs;
  a->args = nargs ? gpr_malloc(nargs * sizeof(grpc_arg)) : NULL;
  const char* p = buf;
  for (size_t i = 0; i < nargs; i++) {
    char type = *p++;
    uint32_t kl = rd_u32(&p);
    char* key = gpr_malloc(kl + 1);
    memcpy(key, p, kl);
    key[kl] = 0;
    p += kl;
    a->args[i].key = key;
    if (type == 's') {
      a->args[i].type = GRPC_ARG_STRING;
      uint32_t vl = rd_u32(&p);
      char* v = gpr_malloc(vl + 1);
      memcpy(v, p, vl);
      v[vl] = 0;
      p += vl;
      a->args[i].value.string = v;
    } else {
      int64_t iv;
      memcpy(&iv, p, sizeof(iv));
      p += sizeof(iv);
      a->args[i].type = GRPC_ARG_INTEGER;
      a->args[i].value.integer = (int)iv;
    }
  }
  return a;
}

void gp_free_args(grpc_channel_args* a) {
  for (size_t i = 0; i < a->num_args; i++) {
    gpr_free(a->args[i].key);
    if (a->args[i].type == GRPC_ARG_STRING) gpr_free(a->args[i].value.string);
  }
  gpr_free(a->args);
  gpr_free(a);
}

/* ---------- channels ---------- */

grpc_channel* gp_inproc_channel_create_cc(grpc_server* server, const grpc_channel_args* args);

grpc_channel* gp_inproc_channel_create(grpc_server* server, const char* args, size_t args_len,
                                       size_t nargs) {
  (void)args_len;
  grpc_channel_args* a = gp_parse_args(args, nargs);
  grpc_channel* ch = gp_inproc_channel_create_cc(server, a);
  gp_free_args(a);
  if (ch) gp_live_add(GP_LIVE_CHANNEL, 1);
  return ch;
}

grpc_channel* gp_channel_create(const char* target, grpc_channel_credentials* creds,
                                const char* args, size_t args_len, size_t nargs, char** errors) {
  (void)args_len;
  grpc_channel_args* a = gp_parse_args(args, nargs);
  grpc_channel_credentials* c = creds;
  if (c == NULL) c = grpc_insecure_credentials_create();
  capture_on = 1;
  grpc_channel* ch = grpc_channel_create(target, c, a);
  capture_on = 0;
  *errors = capture_buf; /* the caller frees it (gp_free); NULL if none */
  capture_buf = NULL;
  capture_len = 0;
  if (creds == NULL) grpc_channel_credentials_release(c);
  gp_free_args(a);
  if (ch) gp_live_add(GP_LIVE_CHANNEL, 1);
  return ch;
}

void gp_channel_destroy(grpc_channel* ch) {
  grpc_channel_destroy(ch);
  gp_live_add(GP_LIVE_CHANNEL, -1);
}

int gp_channel_check_state(grpc_channel* ch, int try_to_connect) {
  return (int)grpc_channel_check_connectivity_state(ch, try_to_connect);
}

void gp_channel_watch(grpc_channel* ch, int last_state, int64_t timeout_ns,
                      grpc_completion_queue* cq, gp_batch* b) {
  grpc_channel_watch_connectivity_state(ch, (grpc_connectivity_state)last_state,
                                        deadline_from(timeout_ns), cq, b);
}

/* ---------- calls ---------- */

grpc_call* gp_channel_create_call(grpc_channel* ch, grpc_completion_queue* cq,
                                  const char* method, size_t method_len,
                                  const char* host, size_t host_len,
                                  int64_t timeout_ns) {
  grpc_slice m = grpc_slice_from_copied_buffer(method, method_len);
  grpc_slice h;
  const grpc_slice* hp = NULL;
  if (host_len > 0) {
    h = grpc_slice_from_copied_buffer(host, host_len);
    hp = &h;
  }
  grpc_call* call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, m, hp,
                                             deadline_from(timeout_ns), NULL);
  grpc_slice_unref(m);
  if (hp) grpc_slice_unref(h);
  if (call) gp_live_add(GP_LIVE_CALL, 1);
  return call;
}

grpc_call_error gp_call_cancel(grpc_call* call) { return grpc_call_cancel(call, NULL); }

grpc_call_error gp_call_cancel_with_status(grpc_call* call, int status,
                                           const char* description) {
  return grpc_call_cancel_with_status(call, (grpc_status_code)status, description, NULL);
}

void gp_call_unref(grpc_call* call) {
  grpc_call_unref(call);
  gp_live_add(GP_LIVE_CALL, -1);
}

size_t gp_call_peer(grpc_call* call, char* buf, size_t cap) {
  char* p = grpc_call_get_peer(call);
  if (p == NULL) {
    if (cap) buf[0] = 0;
    return 0;
  }
  size_t n = strlen(p);
  if (cap) {
    size_t c = n < cap - 1 ? n : cap - 1;
    memcpy(buf, p, c);
    buf[c] = 0;
  }
  gpr_free(p);
  return n;
}

size_t gp_call_auth_context(grpc_call* call, char** out, char* idname, size_t idname_cap,
                            int* authenticated) {
  *out = NULL;
  *authenticated = 0;
  if (idname_cap) idname[0] = 0;
  grpc_auth_context* ctx = grpc_call_auth_context(call);
  if (ctx == NULL) return 0;
  *authenticated = grpc_auth_context_peer_is_authenticated(ctx);
  const char* id = grpc_auth_context_peer_identity_property_name(ctx);
  if (id != NULL && idname_cap) {
    size_t n = strlen(id);
    if (n > idname_cap - 1) n = idname_cap - 1;
    memcpy(idname, id, n);
    idname[n] = 0;
  }
  size_t total = 0;
  grpc_auth_property_iterator it = grpc_auth_context_property_iterator(ctx);
  const grpc_auth_property* p;
  while ((p = grpc_auth_property_iterator_next(&it)) != NULL) {
    total += 8 + strlen(p->name) + p->value_length;
  }
  char* buf = gpr_malloc(total ? total : 1);
  char* w = buf;
  it = grpc_auth_context_property_iterator(ctx);
  while ((p = grpc_auth_property_iterator_next(&it)) != NULL) {
    uint32_t nl = (uint32_t)strlen(p->name);
    uint32_t vl = (uint32_t)p->value_length;
    memcpy(w, &nl, 4);
    w += 4;
    memcpy(w, p->name, nl);
    w += nl;
    memcpy(w, &vl, 4);
    w += 4;
    memcpy(w, p->value, vl);
    w += vl;
  }
  grpc_auth_context_release(ctx);
  *out = buf;
  return total;
}

/* ---------- servers ---------- */

grpc_server* gp_server_create(const char* args, size_t args_len, size_t nargs) {
  (void)args_len;
  grpc_channel_args* a = gp_parse_args(args, nargs);
  grpc_server* s = grpc_server_create(a, NULL);
  gp_free_args(a);
  if (s) gp_live_add(GP_LIVE_SERVER, 1);
  return s;
}

void gp_server_register_cq(grpc_server* s, grpc_completion_queue* cq) {
  grpc_server_register_completion_queue(s, cq, NULL);
}

int gp_server_add_insecure_port(grpc_server* s, const char* addr) {
  grpc_server_credentials* c = grpc_insecure_server_credentials_create();
  int port = grpc_server_add_http2_port(s, addr, c);
  grpc_server_credentials_release(c);
  return port;
}

void gp_server_start(grpc_server* s) { grpc_server_start(s); }

grpc_call_error gp_server_request_call(grpc_server* s, grpc_completion_queue* cq,
                                       gp_batch* b) {
  return grpc_server_request_call(s, &b->new_call, &b->details, &b->recv_md, cq, cq, b);
}

void* gp_server_register_method(grpc_server* s, const char* method) {
  return grpc_server_register_method(s, method, NULL, GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
}

grpc_call_error gp_server_request_registered_call(grpc_server* s, void* rm,
                                                  grpc_completion_queue* cq, gp_batch* b) {
  return grpc_server_request_registered_call(s, rm, &b->new_call, &b->reg_deadline, &b->recv_md,
                                             &b->recv_msg, cq, cq, b);
}

void gp_server_shutdown(grpc_server* s, grpc_completion_queue* cq, gp_batch* b) {
  grpc_server_shutdown_and_notify(s, cq, b);
}

void gp_server_cancel_all_calls(grpc_server* s) { grpc_server_cancel_all_calls(s); }

void gp_server_destroy(grpc_server* s) {
  grpc_server_destroy(s);
  gp_live_add(GP_LIVE_SERVER, -1);
}

/* ---------- credentials ---------- */

grpc_channel_credentials* gp_ssl_channel_creds(const char* roots, const char* key,
                                               const char* chain) {
  grpc_ssl_pem_key_cert_pair pair = {key, chain};
  grpc_channel_credentials* c =
      grpc_ssl_credentials_create(roots, key ? &pair : NULL, NULL, NULL);
  if (c) gp_live_add(GP_LIVE_CREDS, 1);
  return c;
}

grpc_channel_credentials* gp_composite_channel_creds(grpc_channel_credentials* ch,
                                                     grpc_call_credentials* call) {
  grpc_channel_credentials* c = grpc_composite_channel_credentials_create(ch, call, NULL);
  if (c) gp_live_add(GP_LIVE_CREDS, 1);
  return c;
}

grpc_call_credentials* gp_access_token_creds(const char* token) {
  grpc_call_credentials* c = grpc_access_token_credentials_create(token, NULL);
  if (c) gp_live_add(GP_LIVE_CREDS, 1);
  return c;
}

static int plugin_get_metadata(void* state, grpc_auth_metadata_context context,
                               grpc_credentials_plugin_metadata_cb cb, void* user_data,
                               grpc_metadata creds_md[GRPC_METADATA_CREDENTIALS_PLUGIN_SYNC_MAX],
                               size_t* num_creds_md, grpc_status_code* status,
                               const char** error_details) {
  (void)creds_md;
  (void)num_creds_md;
  (void)status;
  (void)error_details;
  /* Hand off and return: the plugin never runs on, or blocks, this core thread. */
  goPluginGetMetadata((uintptr_t)state, (char*)context.service_url, (char*)context.method_name,
                      (uintptr_t)cb, (uintptr_t)user_data);
  return 0; /* asynchronous */
}

static void plugin_destroy(void* state) {
  goPluginDestroy((uintptr_t)state);
  gp_live_add(GP_LIVE_CREDS, -1);
}

static char* plugin_debug_string(void* state) {
  (void)state;
  return gpr_strdup("grpcpy metadata plugin");
}

grpc_call_credentials* gp_plugin_creds(uintptr_t handle) {
  grpc_metadata_credentials_plugin p;
  memset(&p, 0, sizeof(p)); /* debug_string and later fields default to NULL */
  p.get_metadata = plugin_get_metadata;
  p.debug_string = plugin_debug_string;
  p.destroy = plugin_destroy;
  p.state = (void*)handle;
  p.type = "grpcpy_metadata_plugin";
  gp_live_add(GP_LIVE_CREDS, 1); /* the plugin state, until destroy */
  grpc_call_credentials* c =
      grpc_metadata_credentials_create_from_plugin(p, GRPC_PRIVACY_AND_INTEGRITY, NULL);
  if (c) gp_live_add(GP_LIVE_CREDS, 1);
  return c;
}

void gp_plugin_complete(uintptr_t cb, uintptr_t user_data, const char* md, size_t md_len,
                        size_t md_count, int status, const char* details) {
  (void)md_len;
  grpc_metadata* arr = gp_parse_md(md, md_count);
  ((grpc_credentials_plugin_metadata_cb)cb)((void*)user_data, arr, md_count,
                                            (grpc_status_code)status, details);
  gp_free_md(arr, md_count);
}

grpc_call_credentials* gp_composite_call_creds(grpc_call_credentials* a, grpc_call_credentials* b) {
  grpc_call_credentials* c = grpc_composite_call_credentials_create(a, b, NULL);
  if (c) gp_live_add(GP_LIVE_CREDS, 1);
  return c;
}

void gp_channel_creds_release(grpc_channel_credentials* c) {
  grpc_channel_credentials_release(c);
  gp_live_add(GP_LIVE_CREDS, -1);
}

void gp_call_creds_release(grpc_call_credentials* c) {
  grpc_call_credentials_release(c);
  gp_live_add(GP_LIVE_CREDS, -1);
}

grpc_call_error gp_call_set_credentials(grpc_call* call, grpc_call_credentials* creds) {
  return grpc_call_set_credentials(call, creds);
}

/* pairs: key\0chain\0 repeated npairs times; the pointers stay valid for
 * the call, and the core copies what it keeps. */
static grpc_ssl_pem_key_cert_pair* parse_pairs(const char* pairs, size_t npairs) {
  grpc_ssl_pem_key_cert_pair* out = gpr_malloc((npairs ? npairs : 1) * sizeof(*out));
  const char* p = pairs;
  for (size_t i = 0; i < npairs; i++) {
    out[i].private_key = p;
    p += strlen(p) + 1;
    out[i].cert_chain = p;
    p += strlen(p) + 1;
  }
  return out;
}

grpc_server_credentials* gp_ssl_server_creds(const char* roots, const char* pairs, size_t npairs,
                                             int request_type) {
  grpc_ssl_pem_key_cert_pair* kp = parse_pairs(pairs, npairs);
  grpc_server_credentials* c = grpc_ssl_server_credentials_create_ex(
      roots, kp, npairs, (grpc_ssl_client_certificate_request_type)request_type, NULL);
  gpr_free(kp);
  if (c) gp_live_add(GP_LIVE_CREDS, 1);
  return c;
}

grpc_ssl_server_certificate_config* gp_server_cert_config(const char* roots, const char* pairs,
                                                          size_t npairs) {
  grpc_ssl_pem_key_cert_pair* kp = parse_pairs(pairs, npairs);
  grpc_ssl_server_certificate_config* c = grpc_ssl_server_certificate_config_create(roots, kp, npairs);
  gpr_free(kp);
  return c;
}

static grpc_ssl_certificate_config_reload_status fetch_config(
    void* user_data, grpc_ssl_server_certificate_config** config) {
  return (grpc_ssl_certificate_config_reload_status)goCertConfigFetch((uintptr_t)user_data, config);
}

grpc_server_credentials* gp_dynamic_ssl_server_creds(int request_type, uintptr_t fetcher_id) {
  grpc_ssl_server_credentials_options* o =
      grpc_ssl_server_credentials_create_options_using_config_fetcher(
          (grpc_ssl_client_certificate_request_type)request_type, fetch_config, (void*)fetcher_id);
  if (o == NULL) return NULL;
  grpc_server_credentials* c = grpc_ssl_server_credentials_create_with_options(o);
  if (c) gp_live_add(GP_LIVE_CREDS, 1);
  return c;
}

void gp_server_creds_release(grpc_server_credentials* c) {
  grpc_server_credentials_release(c);
  gp_live_add(GP_LIVE_CREDS, -1);
}

int gp_server_add_secure_port(grpc_server* s, const char* addr, grpc_server_credentials* creds) {
  return grpc_server_add_http2_port(s, addr, creds);
}
