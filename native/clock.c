/*
 * A monotonic clock in whole milliseconds that makes no garbage on the JS
 * heap (issue #13, ping latency):
 *
 *   clockMs(origin: number)  -> floor(CLOCK_MONOTONIC in ms - origin), an integer
 *   clockMsPrecise()         -> CLOCK_MONOTONIC in ms, fractional (for calibration)
 *
 * The real-time driver reads the clock once per event-loop wake-up.
 * `performance.now()` returns a fractional double, which V8 boxes as a new
 * heap number on every call (16 B, even from optimized code: Node 20 has no
 * fast API call for it), and so does `Date.now()`. An integer number of
 * milliseconds since a recent origin fits a V8 small integer (Smi, 31 bits:
 * 12.4 days), which napi_create_int64 returns without allocating.
 *
 * Node's performance.now() reads the same clock (libuv's uv_hrtime is
 * CLOCK_MONOTONIC on Linux), so `origin` = clockMsPrecise() - performance.now()
 * puts clockMs on performance.now()'s time base.
 */
#include <math.h>
#include <time.h>
#include <node_api.h>

static double monotonic_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static napi_value clock_ms(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  double origin = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || napi_get_value_double(env, argv[0], &origin) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "clockMs(origin: number)");
    return NULL;
  }
  /* The floor of the difference: the millisecond boundaries fall where Math.floor(performance.now())'s do. */
  napi_value out;
  if (napi_create_int64(env, (int64_t)floor(monotonic_ms() - origin), &out) != napi_ok) return NULL;
  return out;
}

static napi_value clock_ms_precise(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  if (napi_create_double(env, monotonic_ms(), &out) != napi_ok) return NULL;
  return out;
}

napi_status wirestack_clock_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "clockMs", NULL, clock_ms, NULL, NULL, NULL, napi_enumerable, NULL },
    { "clockMsPrecise", NULL, clock_ms_precise, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
