{
  "targets": [
    {
      "target_name": "wirestack_tap",
      "sources": ["native/tap.c", "native/tap_poll.c", "native/tap_thread.c", "native/tap_thread_spin.c", "native/tap_thread_synr.c", "native/tap_thread_loops.c", "native/udp.c", "native/aead.c", "native/esp_cbc.c", "native/wgcrypt.c", "native/openssl_syms.c", "native/syn_responder.c", "native/tap_uring.c", "native/clock.c", "native/bpf_loader.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-O2", "-pthread"],
      "ldflags": ["-pthread"],
      "libraries": ["-ldl"]
    }
  ]
}
