/*
 * Loader of the eBPF SYN-cookie responder (native/bpf/syn_responder.bpf.c,
 * layout in native/bpf/synr_map.h) for src/link/syn-responder-bpf.ts.
 *
 * libbpf does the ELF, BTF and map work (a well-kept library; hand-parsing
 * the object would repeat it). It is opened with dlopen, not linked: the
 * responder is optional (root only, Linux >= 6.6 for tcx), and an addon
 * that needed libbpf.so.1 to load at all would not install everywhere. The
 * few libbpf entry points used are declared here (the ABI of libbpf 1.x);
 * the rest are bpf(2) commands issued directly.
 *
 *   bpfSynrLoadAsync(obj, cb)         -> cb({ fds: [cfg, stats, prog] } | { error, errno }), loaded on libuv's pool
 *   bpfSynrLoadForTest(obj)           -> the same, at once
 *   bpfSynrAttach(progFd, tapFd, dev) -> the tcx link's fd | -errno
 *   bpfMapWrite(fd, bytes)            -> 0 | -errno   (key 0 of an array map)
 *   bpfMapRead(fd, bytes)             -> 0 | -errno
 *   bpfTestRun(progFd, in, out)       -> [retval, outLen] | -errno (BPF_PROG_TEST_RUN)
 *   bpfClose(fd)                      -> 0 | -errno
 *
 * Attachment is a tcx link (BPF_LINK_CREATE, BPF_TCX_EGRESS): it lives as
 * long as its fd, so the program goes away with the process even when it is
 * killed, and it coexists with any tc/tcx program the host has. The link is
 * made in the device's network namespace (TUNGETDEVNETNS): the CLI moves its
 * TAP into a namespace before the stack uses it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
#include <node_api.h>

#include "napi_args.h"

/* Kernel 6.6 uapi values, absent from older headers. */
#define WS_BPF_TCX_EGRESS 47
#ifndef TUNGETDEVNETNS
#define TUNGETDEVNETNS _IO('T', 227)
#endif

struct bpf_object;
struct bpf_program;
typedef int (*libbpf_print_fn_t)(int level, const char *fmt, va_list ap);

static struct {
  int tried;
  void *so;
  struct bpf_object *(*open_mem)(const void *buf, size_t size, const void *opts);
  int (*load)(struct bpf_object *obj);
  void (*close)(struct bpf_object *obj);
  struct bpf_program *(*find_prog)(const struct bpf_object *obj, const char *name);
  int (*prog_fd)(const struct bpf_program *prog);
  int (*map_fd)(const struct bpf_object *obj, const char *name);
  libbpf_print_fn_t (*set_print)(libbpf_print_fn_t fn);
} lib;

/* The tail of libbpf's messages during one load (the verifier's verdict is at its end). */
static char log_buf[1024];
static size_t log_len;

static int log_print(int level, const char *fmt, va_list ap) {
  (void)level;
  char *line = NULL;
  int n = vasprintf(&line, fmt, ap);
  if (n <= 0 || line == NULL) return 0;
  /* The verifier's log comes as one message whose end says why: keep the end. */
  const char *src = line;
  size_t l = (size_t)n;
  if (l >= sizeof log_buf) {
    src += l - (sizeof log_buf - 1);
    l = sizeof log_buf - 1;
  }
  if (log_len + l >= sizeof log_buf) {
    size_t drop = log_len + l - (sizeof log_buf - 1);
    memmove(log_buf, log_buf + drop, log_len - drop);
    log_len -= drop;
  }
  memcpy(log_buf + log_len, src, l);
  log_len += l;
  log_buf[log_len] = 0;
  free(line);
  return 0;
}

static const char *load_lib(void) {
  if (lib.tried) return lib.so != NULL ? NULL : "libbpf.so.1 not found (Debian: libbpf1)";
  lib.tried = 1;
  lib.so = dlopen("libbpf.so.1", RTLD_NOW | RTLD_LOCAL);
  if (lib.so == NULL) return "libbpf.so.1 not found (Debian: libbpf1)";
  *(void **)&lib.open_mem = dlsym(lib.so, "bpf_object__open_mem");
  *(void **)&lib.load = dlsym(lib.so, "bpf_object__load");
  *(void **)&lib.close = dlsym(lib.so, "bpf_object__close");
  *(void **)&lib.find_prog = dlsym(lib.so, "bpf_object__find_program_by_name");
  *(void **)&lib.prog_fd = dlsym(lib.so, "bpf_program__fd");
  *(void **)&lib.map_fd = dlsym(lib.so, "bpf_object__find_map_fd_by_name");
  *(void **)&lib.set_print = dlsym(lib.so, "libbpf_set_print");
  if (!lib.open_mem || !lib.load || !lib.close || !lib.find_prog || !lib.prog_fd || !lib.map_fd || !lib.set_print) {
    dlclose(lib.so);
    lib.so = NULL;
    return "libbpf.so.1 lacks the libbpf 1.x API";
  }
  return NULL;
}

static int load_object_locked(const uint8_t *obj, size_t len, int fds[3], const char **what);

/* Loads may run on libuv's pool (bpfSynrLoadAsync): libbpf's print hook and log_buf are global. */
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

static int load_object(const uint8_t *obj, size_t len, int fds[3], const char **what, char *log_out, size_t log_cap) {
  pthread_mutex_lock(&load_lock);
  int err = load_object_locked(obj, len, fds, what);
  if (log_out != NULL && log_cap > 0) snprintf(log_out, log_cap, "%s", err != 0 ? log_buf : "");
  pthread_mutex_unlock(&load_lock);
  return err;
}

static long sys_bpf(int cmd, union bpf_attr *attr) {
  return syscall(SYS_bpf, cmd, attr, sizeof *attr);
}

static napi_value make_int(napi_env env, int64_t v) {
  napi_value out;
  napi_create_int64(env, v, &out);
  return out;
}

static napi_value result_error(napi_env env, const char *what, int err, const char *log) {
  napi_value out, msg, code;
  char text[sizeof log_buf + 256];
  snprintf(text, sizeof text, "%s: %s%s%s", what, strerror(err), log[0] != 0 ? "\n" : "", log);
  napi_create_object(env, &out);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  napi_set_named_property(env, out, "error", msg);
  code = make_int(env, err);
  napi_set_named_property(env, out, "errno", code);
  return out;
}

static napi_value result_fds(napi_env env, const int *fds, int n) {
  napi_value out, arr;
  napi_create_object(env, &out);
  napi_create_array_with_length(env, (size_t)n, &arr);
  for (int i = 0; i < n; i++) napi_set_element(env, arr, (uint32_t)i, make_int(env, fds[i]));
  napi_set_named_property(env, out, "fds", arr);
  return out;
}

/* Load the object; fds[0..2] = dup'd cfg map, stats map, program (the object is closed). 0 or errno. */
static int load_object_locked(const uint8_t *obj, size_t len, int fds[3], const char **what) {
  const char *why = load_lib();
  if (why != NULL) {
    *what = why;
    return ENOENT;
  }
  log_len = 0;
  log_buf[0] = 0;
  libbpf_print_fn_t old = lib.set_print(log_print);
  int err = 0;
  struct bpf_object *o = lib.open_mem(obj, len, NULL);
  if (o == NULL) {
    err = errno != 0 ? errno : EINVAL;
    *what = "bpf_object__open_mem";
    goto out;
  }
  int r = lib.load(o);
  if (r != 0) {
    err = r < 0 ? -r : EINVAL;
    *what = "bpf_object__load";
    lib.close(o);
    goto out;
  }
  struct bpf_program *p = lib.find_prog(o, "synr_egress");
  int cfg = lib.map_fd(o, "synr_cfg"), stats = lib.map_fd(o, "synr_stats");
  int prog = p != NULL ? lib.prog_fd(p) : -1;
  if (cfg < 0 || stats < 0 || prog < 0) {
    err = ENOENT;
    *what = "synr_egress, synr_cfg or synr_stats missing from the object";
    lib.close(o);
    goto out;
  }
  fds[0] = fcntl(cfg, F_DUPFD_CLOEXEC, 3);
  fds[1] = fcntl(stats, F_DUPFD_CLOEXEC, 3);
  fds[2] = fcntl(prog, F_DUPFD_CLOEXEC, 3);
  lib.close(o);
  if (fds[0] < 0 || fds[1] < 0 || fds[2] < 0) {
    err = EMFILE;
    *what = "dup";
    for (int i = 0; i < 3; i++) if (fds[i] >= 0) close(fds[i]);
  }
out:
  lib.set_print(old);
  return err;
}

/* A tcx egress link for `prog` on device `name`, made in the namespace of the TAP behind `tap_fd`; fd or -errno. */
static int attach_egress(int prog, int tap_fd, const char *name) {
  int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  int dev_ns = ioctl(tap_fd, TUNGETDEVNETNS);
  int moved = 0;
  if (self >= 0 && dev_ns >= 0 && setns(dev_ns, CLONE_NEWNET) == 0) moved = 1;
  int res;
  unsigned ifindex = if_nametoindex(name);
  if (ifindex == 0) {
    res = -(errno != 0 ? errno : ENODEV);
  } else {
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.link_create.prog_fd = (uint32_t)prog;
    a.link_create.target_fd = ifindex; /* target_ifindex for tcx */
    a.link_create.attach_type = WS_BPF_TCX_EGRESS;
    long fd = sys_bpf(BPF_LINK_CREATE, &a);
    res = fd < 0 ? -errno : (int)fd;
  }
  if (moved && setns(self, CLONE_NEWNET) != 0) {
    /* This thread must not stay in the device's namespace: the stack's sockets would be made there. */
    if (res >= 0) close(res);
    res = -errno;
  }
  if (self >= 0) close(self);
  if (dev_ns >= 0) close(dev_ns);
  return res;
}

/* bpfSynrAttach(progFd, tapFd, devName) -> the tcx link's fd | -errno */
static napi_value synr_attach(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  uint32_t prog, tap_fd;
  char name[IF_NAMESIZE + 1];
  size_t nl = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "bpfSynrAttach(progFd: number, tapFd: number, devName: string)");
    return NULL;
  }
  if (!ws_arg_u32(env, argv[0], &prog) || !ws_arg_u32(env, argv[1], &tap_fd)) return NULL;
  if (napi_get_value_string_utf8(env, argv[2], name, sizeof name, &nl) != napi_ok || nl == 0 || nl >= IF_NAMESIZE) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "devName must be an interface name");
    return NULL;
  }
  return make_int(env, attach_egress((int)prog, (int)tap_fd, name));
}

static napi_value synr_load_for_test(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  uint8_t *obj;
  size_t len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1
      || !ws_arg_bytes(env, argv[0], &obj, &len, "obj must be a Uint8Array")) return NULL;
  int fds[3] = { -1, -1, -1 };
  const char *what = NULL;
  char log[sizeof log_buf];
  int err = load_object(obj, len, fds, &what, log, sizeof log);
  if (err != 0) return result_error(env, what, err, log);
  return result_fds(env, fds, 3);
}

/*
 * bpfSynrLoadAsync(obj, callback): the same load on libuv's pool. The
 * verifier's walk (~25 ms for the current program, ~20 ms before its IPv6
 * path; 1.5 s for its first, fully inlined version on this loaded 2-core
 * guest) would stall every connection on the JS thread. `callback(result)` as bpfSynrLoadForTest's result.
 */
struct load_work {
  napi_async_work work;
  napi_ref obj_ref, cb_ref;
  const uint8_t *obj;
  size_t len;
  int fds[3];
  int err;
  const char *what;
  char log[sizeof log_buf];
};

static void load_execute(napi_env env, void *data) {
  (void)env;
  struct load_work *w = (struct load_work *)data;
  w->err = load_object(w->obj, w->len, w->fds, &w->what, w->log, sizeof w->log);
}

static void load_complete(napi_env env, napi_status status, void *data) {
  struct load_work *w = (struct load_work *)data;
  napi_value cb, global, arg;
  if (status != napi_ok && w->err == 0) {
    for (int i = 0; i < 3; i++) close(w->fds[i]);
    w->err = ECANCELED;
    w->what = "bpfSynrLoadAsync";
    w->log[0] = 0;
  }
  arg = w->err != 0 ? result_error(env, w->what, w->err, w->log) : result_fds(env, w->fds, 3);
  if (napi_get_reference_value(env, w->cb_ref, &cb) == napi_ok && napi_get_global(env, &global) == napi_ok) {
    napi_call_function(env, global, cb, 1, &arg, NULL);
  }
  napi_delete_reference(env, w->cb_ref);
  napi_delete_reference(env, w->obj_ref);
  napi_delete_async_work(env, w->work);
  free(w);
}

static napi_value synr_load_async(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], name;
  uint8_t *obj;
  size_t len;
  napi_valuetype t;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2
      || !ws_arg_bytes(env, argv[0], &obj, &len, "obj must be a Uint8Array")) return NULL;
  if (napi_typeof(env, argv[1], &t) != napi_ok || t != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "callback must be a function");
    return NULL;
  }
  struct load_work *w = (struct load_work *)calloc(1, sizeof *w);
  if (w == NULL) {
    napi_throw_error(env, "ENOMEM", "bpfSynrLoadAsync: out of memory");
    return NULL;
  }
  w->obj = obj;
  w->len = len;
  w->fds[0] = w->fds[1] = w->fds[2] = -1;
  napi_create_reference(env, argv[0], 1, &w->obj_ref); /* keeps the bytes alive while the pool reads them */
  napi_create_reference(env, argv[1], 1, &w->cb_ref);
  napi_create_string_utf8(env, "wirestack:bpfSynrLoad", NAPI_AUTO_LENGTH, &name);
  if (napi_create_async_work(env, NULL, name, load_execute, load_complete, w, &w->work) != napi_ok
      || napi_queue_async_work(env, w->work) != napi_ok) {
    napi_delete_reference(env, w->cb_ref);
    napi_delete_reference(env, w->obj_ref);
    free(w);
    napi_throw_error(env, "EAGAIN", "bpfSynrLoadAsync: cannot queue the load");
    return NULL;
  }
  return NULL;
}

/* Key 0 of the array map `fd`: write (BPF_MAP_UPDATE_ELEM) or read (BPF_MAP_LOOKUP_ELEM) `bytes`. */
static napi_value map_rw(napi_env env, napi_callback_info info, int cmd) {
  size_t argc = 2;
  napi_value argv[2];
  uint32_t fd;
  uint8_t *buf;
  size_t len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "(fd: number, bytes: Uint8Array)");
    return NULL;
  }
  if (!ws_arg_u32(env, argv[0], &fd) || !ws_arg_bytes(env, argv[1], &buf, &len, "bytes must be a Uint8Array")) return NULL;
  uint32_t key = 0;
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.map_fd = fd;
  a.key = (uint64_t)(uintptr_t)&key;
  a.value = (uint64_t)(uintptr_t)buf;
  a.flags = BPF_ANY;
  /* The kernel copies exactly the map's value size: the caller's buffer must be that size (checked in JS). */
  long r = sys_bpf(cmd, &a);
  return make_int(env, r < 0 ? -(int64_t)errno : 0);
}

static napi_value map_write(napi_env env, napi_callback_info info) { return map_rw(env, info, BPF_MAP_UPDATE_ELEM); }
static napi_value map_read(napi_env env, napi_callback_info info) { return map_rw(env, info, BPF_MAP_LOOKUP_ELEM); }

static napi_value test_run(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  uint32_t fd;
  uint8_t *in, *out;
  size_t in_len, out_len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "bpfTestRun(progFd, in, out)");
    return NULL;
  }
  if (!ws_arg_u32(env, argv[0], &fd) || !ws_arg_bytes(env, argv[1], &in, &in_len, "in must be a Uint8Array")
      || !ws_arg_bytes(env, argv[2], &out, &out_len, "out must be a Uint8Array")) return NULL;
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.test.prog_fd = fd;
  a.test.data_in = (uint64_t)(uintptr_t)in;
  a.test.data_size_in = (uint32_t)in_len;
  a.test.data_out = (uint64_t)(uintptr_t)out;
  a.test.data_size_out = (uint32_t)out_len;
  a.test.repeat = 1;
  if (sys_bpf(BPF_PROG_TEST_RUN, &a) < 0) return make_int(env, -(int64_t)errno);
  napi_value arr;
  napi_create_array_with_length(env, 2, &arr);
  napi_set_element(env, arr, 0, make_int(env, (int32_t)a.test.retval));
  napi_set_element(env, arr, 1, make_int(env, a.test.data_size_out));
  return arr;
}

static napi_value fd_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  uint32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || !ws_arg_u32(env, argv[0], &fd)) {
    return NULL;
  }
  return make_int(env, close((int)fd) < 0 ? -(int64_t)errno : 0);
}

napi_status wirestack_bpf_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "bpfSynrLoadAsync", NULL, synr_load_async, NULL, NULL, NULL, napi_enumerable, NULL },
    { "bpfSynrAttach", NULL, synr_attach, NULL, NULL, NULL, napi_enumerable, NULL },
    { "bpfSynrLoadForTest", NULL, synr_load_for_test, NULL, NULL, NULL, napi_enumerable, NULL },
    { "bpfMapWrite", NULL, map_write, NULL, NULL, NULL, napi_enumerable, NULL },
    { "bpfMapRead", NULL, map_read, NULL, NULL, NULL, napi_enumerable, NULL },
    { "bpfTestRun", NULL, test_run, NULL, NULL, NULL, napi_enumerable, NULL },
    { "bpfClose", NULL, fd_close, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
