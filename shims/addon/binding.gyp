{
  "targets": [
    {
      "target_name": "wasm_cni",
      "sources": [
        "src/addon.c",
        "src/util.c",
        "src/netns.c",
        "src/netlink.c",
        "src/netlink_wait.c",
        "src/sysctl.c",
        "src/flock.c",
        "src/thread_job.c",
        "src/peercred.c",
        "src/pidfd.c",
        "src/spawn.c"
      ],
      "cflags": ["-Wall", "-Wextra", "-Werror", "-O2", "-std=gnu11"],
      "ldflags": ["-Wl,-z,nodelete"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"]
    }
  ]
}
