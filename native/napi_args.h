/*
 * Argument readers shared by the addon's crypto files (aead.c, esp_cbc.c):
 * each throws the JS error itself and returns false, so a caller only
 * returns NULL.
 */
#ifndef WIRESTACK_NAPI_ARGS_H
#define WIRESTACK_NAPI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <node_api.h>

/* A Uint8Array's bytes; a TypeError `what` for anything else. */
static inline bool ws_arg_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len, const char *what) {
  napi_typedarray_type t;
  void *p = NULL;
  /* napi_invalid_arg for anything but a typed array, so no separate napi_is_typedarray. */
  if (napi_get_typedarray_info(env, v, &t, len, &p, NULL, NULL) != napi_ok || t != napi_uint8_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", what);
    return false;
  }
  *data = (uint8_t *)p;
  return true;
}

/* An offset or length: an integer in [0, 2^32); a RangeError otherwise. */
static inline bool ws_arg_u32(napi_env env, napi_value v, uint32_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0 && d <= 4294967295.0) || d != (double)(uint32_t)d) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "offsets and lengths must be integers in [0, 2^32)");
    return false;
  }
  *out = (uint32_t)d;
  return true;
}

#endif
