/*
 * Node-API helpers shared by the TAP device functions (tap.c) and their
 * readability notifications (tap_poll.c): each throws the JS error itself
 * and returns false (or NULL through CHECK), so a caller only returns NULL.
 */
#ifndef WIRESTACK_TAP_NAPI_H
#define WIRESTACK_TAP_NAPI_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <node_api.h>

/* Throw (unless an exception is already pending) and return NULL from the calling function. */
#define CHECK(env, call)                                                   \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      throw_last(env, #call);                                              \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

static inline void throw_last(napi_env env, const char *what) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return;
  const napi_extended_error_info *info = NULL;
  const char *msg = what;
  if (napi_get_last_error_info(env, &info) == napi_ok && info != NULL && info->error_message != NULL) {
    msg = info->error_message;
  }
  napi_throw_error(env, "ERR_WIRESTACK_TAP", msg);
}

static inline void throw_errno(napi_env env, const char *code, const char *msg) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return;
  napi_throw_error(env, code, msg);
}

static inline napi_value make_int(napi_env env, int64_t v) {
  napi_value out;
  CHECK(env, napi_create_int64(env, v, &out));
  return out;
}

/* Argument helpers: return false after throwing. */
static inline bool arg_int(napi_env env, napi_value v, const char *name, int64_t *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a number", name);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
    return false;
  }
  if (napi_get_value_int64(env, v, out) != napi_ok) {
    throw_last(env, name);
    return false;
  }
  return true;
}

/* A Uint8Array (Buffer included): data already adjusted by its byteOffset. */
static inline bool arg_bytes(napi_env env, napi_value v, const char *name, uint8_t **data, size_t *len) {
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a Uint8Array", name);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
    return false;
  }
  napi_typedarray_type type;
  void *p = NULL;
  if (napi_get_typedarray_info(env, v, &type, len, &p, NULL, NULL) != napi_ok) {
    throw_last(env, name);
    return false;
  }
  if (type != napi_uint8_array) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a Uint8Array", name);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
    return false;
  }
  *data = (uint8_t *)p;
  return true;
}

static inline bool get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    throw_last(env, "napi_get_cb_info");
    return false;
  }
  if (argc < want) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "missing arguments");
    return false;
  }
  return true;
}

static inline bool arg_fd(napi_env env, napi_value v, int *fd) {
  int64_t x;
  if (!arg_int(env, v, "fd", &x)) return false;
  if (x < 0 || x > INT32_MAX) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "fd out of range");
    return false;
  }
  *fd = (int)x;
  return true;
}

#endif
