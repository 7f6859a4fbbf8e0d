/*
 * pollStart/pollStop of the addon (tap.c lists the whole surface): a libuv
 * poll handle that calls JS whenever a TAP (or UDP) fd is readable, once per
 * event-loop wakeup, optionally reading the first frame ahead of the call.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/uio.h>
#include <node_api.h>
#include <uv.h>

#include "tap_napi.h"
#include "vnet.h"

/* ---- readability notifications through libuv ---- */

/* The read-ahead's control word (pollStart's `control[0]`), shared with JS. */
enum { AHEAD_NONE = 0, AHEAD_FRAME = 1, AHEAD_EMPTY = 2 };

typedef struct {
  uv_poll_t handle;     /* first member: &p->handle == (uv_poll_t *)p */
  napi_env env;
  napi_ref callback;    /* strong while polling */
  napi_async_context async;
  int active;           /* polling (not yet stopped) */
  int refs;             /* owners: the JS external and the uv handle */
  /* Read-ahead (optional): slot 0 of buf, its length in lens[0], the state in *ctl. The typed arrays
   * are held by references while polling, so their off-heap stores (materialized by
   * napi_get_typedarray_info) stay where these point. */
  napi_ref ahead_ref[3];
  uint8_t *ahead_buf;
  size_t ahead_slot;
  int32_t *ahead_lens;
  int32_t *ahead_ctl;
  int ahead_vnet;
} tap_poll_t;

static void release(tap_poll_t *p) {
  if (--p->refs == 0) free(p);
}

static void on_handle_closed(uv_handle_t *h) {
  release((tap_poll_t *)h->data);
}

/*
 * Read one frame into slot 0 before JS runs, unless one read ahead is still waiting there (JS takes it
 * and stores AHEAD_NONE). The wake-up's first read then happens before the JS thread enters JS, not
 * between two runs of JS: on this VM every syscall leaves the JS that follows it to run cold (a
 * ping's pollReturnToRead hop was 49 µs median for the stack against 27 for Node's floor). EAGAIN is
 * reported too (AHEAD_EMPTY), so JS skips a read that would find the device empty; other errors are
 * left for JS's own read to see.
 */
static void read_ahead(tap_poll_t *p) {
  int fd = -1;
  if (uv_fileno((const uv_handle_t *)&p->handle, &fd) != 0) return;
  ssize_t r;
  uint8_t hdr[WS_VNET_HDR_LEN];
  do {
    if (p->ahead_vnet != 0) {
      struct iovec iov[2] = { { hdr, sizeof hdr }, { p->ahead_buf, p->ahead_slot } };
      r = readv(fd, iov, 2);
    } else {
      r = read(fd, p->ahead_buf, p->ahead_slot);
    }
  } while (r < 0 && errno == EINTR);
  if (r >= 0) {
    p->ahead_lens[0] = p->ahead_vnet != 0 ? ws_vnet_rx_len(hdr, r) : (int32_t)r;
    *p->ahead_ctl = AHEAD_FRAME;
  } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
    *p->ahead_ctl = AHEAD_EMPTY;
  }
}

static void on_readable(uv_poll_t *h, int status, int events) {
  (void)status;
  (void)events;
  tap_poll_t *p = (tap_poll_t *)h->data;
  if (!p->active) return;
  if (p->ahead_ctl != NULL && *p->ahead_ctl != AHEAD_FRAME) read_ahead(p);
  napi_env env = p->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, result;
  if (napi_get_reference_value(env, p->callback, &cb) == napi_ok && cb != NULL) {
    /* make_callback needs an object receiver: the callback itself (a function is an object; our
     * callbacks ignore `this`). napi_get_global cost a context lookup per wake-up (~1 % of a ping's
     * JS-thread time in a profile). make_callback runs the microtask queue afterwards, as
     * libuv-driven JS expects. */
    napi_status s = napi_make_callback(env, p->async, cb, cb, 0, NULL, &result);
    if (s != napi_ok) {
      napi_value exc;
      if (napi_get_and_clear_last_exception(env, &exc) == napi_ok && exc != NULL) {
        napi_valuetype t;
        if (napi_typeof(env, exc, &t) == napi_ok && t != napi_undefined) napi_fatal_exception(env, exc);
      }
    }
  }
  napi_close_handle_scope(env, scope);
}

/* Stop polling and drop the JS callback; safe to call twice. */
static void stop_poll(tap_poll_t *p) {
  if (!p->active) return;
  p->active = 0;
  (void)uv_poll_stop(&p->handle);
  if (p->callback != NULL) {
    (void)napi_delete_reference(p->env, p->callback);
    p->callback = NULL;
  }
  if (p->async != NULL) {
    (void)napi_async_destroy(p->env, p->async);
    p->async = NULL;
  }
  p->ahead_ctl = NULL;
  for (int i = 0; i < 3; i++) {
    if (p->ahead_ref[i] != NULL) (void)napi_delete_reference(p->env, p->ahead_ref[i]);
    p->ahead_ref[i] = NULL;
  }
  uv_close((uv_handle_t *)&p->handle, on_handle_closed);
}

static void finalize_poll(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  tap_poll_t *p = (tap_poll_t *)data;
  stop_poll(p);
  release(p);
}

/* An Int32Array argument of at least one element. */
static bool arg_i32(napi_env env, napi_value v, const char *name, int32_t **out) {
  bool is_ta = false;
  napi_typedarray_type type;
  size_t count = 0;
  void *data = NULL;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, v, &type, &count, &data, NULL, NULL) != napi_ok || type != napi_int32_array || count < 1) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a non-empty Int32Array", name);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
    return false;
  }
  *out = (int32_t *)data;
  return true;
}

/* pollStart(fd, callback, buf?, slotSize?, lens?, control?, vnetHdr?) -> handle */
static napi_value tap_poll_start(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  size_t argc = 7;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    throw_last(env, "napi_get_cb_info");
    return NULL;
  }
  if (argc < 2) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "missing arguments");
    return NULL;
  }
  int fd;
  if (!arg_fd(env, argv[0], &fd)) return NULL;
  napi_valuetype t;
  CHECK(env, napi_typeof(env, argv[1], &t));
  if (t != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "callback must be a function");
    return NULL;
  }
  uint8_t *abuf = NULL;
  size_t ablen = 0;
  int64_t aslot = 0, avnet = 0;
  int32_t *alens = NULL, *actl = NULL;
  if (argc >= 6) {
    if (!arg_bytes(env, argv[2], "buffer", &abuf, &ablen) || !arg_int(env, argv[3], "slotSize", &aslot) ||
        !arg_i32(env, argv[4], "lengths", &alens) || !arg_i32(env, argv[5], "control", &actl)) {
      return NULL;
    }
    if (argc >= 7 && !arg_int(env, argv[6], "vnetHdr", &avnet)) return NULL;
    if (aslot < 1 || (uint64_t)aslot > ablen || (avnet != 0 && avnet != WS_VNET_HDR_LEN)) {
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "pollStart: the read-ahead slot does not fit the buffer, or vnetHdr is not 0 or 10");
      return NULL;
    }
  }
  uv_loop_t *loop = NULL;
  CHECK(env, napi_get_uv_event_loop(env, &loop));

  tap_poll_t *p = (tap_poll_t *)calloc(1, sizeof *p);
  if (p == NULL) {
    napi_throw_error(env, "ENOMEM", "pollStart: out of memory");
    return NULL;
  }
  p->env = env;
  int r = uv_poll_init(loop, &p->handle, fd);
  if (r != 0) {
    free(p);
    char msg[128];
    snprintf(msg, sizeof msg, "uv_poll_init: %s", uv_strerror(r));
    throw_errno(env, "ERR_WIRESTACK_TAP", msg);
    return NULL;
  }
  p->handle.data = p;
  p->refs = 1; /* the uv handle; the external takes the second below */
  p->active = 1;
  if (abuf != NULL) {
    for (int i = 0; i < 3; i++) {
      if (napi_create_reference(env, argv[i == 0 ? 2 : i + 3], 1, &p->ahead_ref[i]) != napi_ok) {
        stop_poll(p);
        throw_last(env, "pollStart");
        return NULL;
      }
    }
    p->ahead_buf = abuf;
    p->ahead_slot = (size_t)aslot;
    p->ahead_lens = alens;
    p->ahead_ctl = actl;
    p->ahead_vnet = (int)avnet;
  }

  napi_value resource, rname, external;
  bool ok = napi_create_object(env, &resource) == napi_ok &&
            napi_create_string_utf8(env, "wirestack:TapPoll", NAPI_AUTO_LENGTH, &rname) == napi_ok &&
            napi_async_init(env, resource, rname, &p->async) == napi_ok &&
            napi_create_reference(env, argv[1], 1, &p->callback) == napi_ok;
  if (ok) {
    r = uv_poll_start(&p->handle, UV_READABLE, on_readable);
    if (r != 0) {
      stop_poll(p); /* frees p through the close callback */
      char msg[128];
      snprintf(msg, sizeof msg, "uv_poll_start: %s", uv_strerror(r));
      throw_errno(env, "ERR_WIRESTACK_TAP", msg);
      return NULL;
    }
  }
  if (!ok || napi_create_external(env, p, finalize_poll, NULL, &external) != napi_ok) {
    throw_last(env, "pollStart");
    stop_poll(p);
    return NULL;
  }
  p->refs++;
  return external;
}

/* pollStop(handle) */
static napi_value tap_poll_stop(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  napi_valuetype t;
  CHECK(env, napi_typeof(env, argv[0], &t));
  if (t != napi_external) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "handle must come from pollStart");
    return NULL;
  }
  void *data = NULL;
  CHECK(env, napi_get_value_external(env, argv[0], &data));
  stop_poll((tap_poll_t *)data);
  napi_value undef;
  CHECK(env, napi_get_undefined(env, &undef));
  return undef;
}

napi_status wirestack_tap_poll_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "pollStart", NULL, tap_poll_start, NULL, NULL, NULL, napi_enumerable, NULL },
    { "pollStop", NULL, tap_poll_stop, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
