{
  "targets": [
    {
      "target_name": "tun_linux",
      "sources": ["src/native/tun_linux.cc", "src/native/offload.cc", "<!(node -p \"require('path').relative('.', require('@nebula-ts/native-common').pollerSource)\")"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!(node -p \"require('@nebula-ts/native-common').include\")"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc!": ["-fno-exceptions"]
    }
  ]
}
