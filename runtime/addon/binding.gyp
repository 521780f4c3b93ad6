{
  # The addon compiles libm3ipc's own C sources (runtime/src/lib/*.c) so it
  # has no run-time dependency on the CMake build. NAPI_VERSION pins the
  # ABI-stable Node-API level: one build loads in Node 20, Node 24 and
  # Electron.
  "targets": [
    {
      "target_name": "dvs_ipc",
      "sources": [
        "src/addon.cc",
        "src/endpoint_thread.c",
        "src/uring_wait.c",
        "../src/lib/admin.c",
        "../src/lib/bind.c",
        "../src/lib/errors.c",
        "../src/lib/ipc.c",
        "../src/lib/migrate.c",
        "../src/lib/proc.c",
        "../src/lib/remote.c",
        "../src/lib/table.c",
        "../src/lib/trace.c",
        "../src/lib/vcopy.c",
        "../src/lib/wire.c"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "../include",
        "../src/lib"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED"
      ],
      "cflags": ["-O2", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_c": ["-std=gnu11"],
      "cflags_cc": ["-std=c++17"],
      "cflags!": ["-fno-exceptions"],
      "libraries": ["-lpthread"]
    }
  ]
}
