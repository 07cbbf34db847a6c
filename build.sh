#!/usr/bin/env bash
# One build for the whole tree. Incremental: a step runs only when its inputs are newer than its outputs.
# Quiet when nothing changed; a step's warnings are shown; on failure it names the failing step and exits non-zero.
# C code is compiled with -Wall -Wextra -Werror (the addon's flags are in shims/addon/binding.gyp).
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
BIN=$ROOT/node_modules/.bin
mkdir -p build/js build/cni build/native

step() { # step NAME COMMAND...
  local name=$1; shift
  local log; log=$(mktemp)
  if ! "$@" >"$log" 2>&1; then
    echo "build.sh: step '$name' failed:" >&2
    cat "$log" >&2
    rm -f "$log"
    exit 1
  fi
  # Success: the tools' chatter stays hidden, their warnings do not.
  if grep -qi 'warning' "$log"; then
    echo "build.sh: step '$name' printed warnings:" >&2
    cat "$log" >&2
  fi
  rm -f "$log"
  echo "build.sh: $name"
}

# stale OUTPUT INPUT... : true when OUTPUT is missing or any INPUT file (recursively) is newer.
stale() {
  local out=$1; shift
  [ -e "$out" ] || return 0
  [ -n "$(find "$@" -newer "$out" -type f 2>/dev/null | head -n 1)" ]
}

# 1. The Wasm core (AssemblyScript, no JS bindings).
if [ -f assembly/index.ts ] && stale build/core.wasm assembly asconfig.json; then
  step "core.wasm (asc)" "$BIN/asc" assembly/index.ts --config asconfig.json --target release
fi
if [ -f assembly/wasi.ts ] && stale build/core.wasi.wasm assembly asconfig.json; then
  step "core.wasi.wasm (asc, WASI)" "$BIN/asc" assembly/wasi.ts --config asconfig.json --target release \
    --config node_modules/@assemblyscript/wasi-shim/asconfig.json -o build/core.wasi.wasm -t build/core.wasi.wat
fi

# 2. The N-API addon (netlink in a netns, setns-scoped sysctl, flock, ...). Replaced by rename, never
#    overwritten in place: processes that have the old one loaded keep their mapping.
if [ -f shims/addon/binding.gyp ] && stale build/native/wasm_cni.node shims/addon; then
  step "addon (node-gyp)" bash -c "cd shims/addon && '$ROOT/node_modules/.bin/node-gyp' rebuild --nodedir=/usr --loglevel=warn && cp build/Release/wasm_cni.node '$ROOT/build/native/.wasm_cni.node.tmp' && mv -f '$ROOT/build/native/.wasm_cni.node.tmp' '$ROOT/build/native/wasm_cni.node'"
fi

# 3. The CNI executable (one static binary, installed under every plugin name).
PLUGINS="bridge host-local loopback portmap bandwidth kubenet"
if [ -f shims/exec/cni-shim.c ] && stale build/native/cni-shim shims/exec; then
  # Static when the C library allows it; otherwise (no static libc) dynamic, with the same flags and diagnostics.
  step "cni executable (cc)" bash -c "
    set -e
    flags='-O2 -Wall -Wextra -Werror'
    if ! cc \$flags -static -o build/native/cni-shim.tmp shims/exec/*.c 2>build/native/cni-shim.static.log; then
      cc \$flags -o build/native/cni-shim.tmp shims/exec/*.c
    else
      cat build/native/cni-shim.static.log
    fi
    rm -f build/native/cni-shim.static.log
    mv -f build/native/cni-shim.tmp build/native/cni-shim"
fi
if [ -f build/native/cni-shim ]; then
  for p in $PLUGINS; do
    # copy then rename: a runtime may be executing the old file right now
    if [ ! -e "build/cni/$p" ] || [ build/native/cni-shim -nt "build/cni/$p" ]; then
      cp -f build/native/cni-shim "build/cni/.$p.tmp" && mv -f "build/cni/.$p.tmp" "build/cni/$p"
    fi
  done
fi

# The build tree's executables are what the tests run: they never start a daemon on demand behind a test's back
# (an installed bin dir gets its own wasm-cni.conf from `install`, on by default).
for d in build/cni build/native; do
  [ -f "$d/wasm-cni.conf" ] || printf '%s\n' '# read by the CNI executables in this directory (see README: Deployment)' 'on-demand = false' >"$d/wasm-cni.conf"
done

# The JavaScript runtime the installed kit carries (host/daemon/kit.ts): bun, a single binary needing only glibc.
# Hard-linked from node_modules when possible (no copy of ~100 MB per tree).
BUN_SRC=node_modules/bun/bin/bun.exe
if [ -x "$BUN_SRC" ] && stale build/runtime/bun "$BUN_SRC"; then
  step "kit runtime (bun)" bash -c "mkdir -p build/runtime && rm -f build/runtime/.bun.tmp && { ln '$BUN_SRC' build/runtime/.bun.tmp 2>/dev/null || cp '$BUN_SRC' build/runtime/.bun.tmp; } && mv -f build/runtime/.bun.tmp build/runtime/bun"
fi

# The revision `wasm-cni version` prints (kept in the kit by install and dist).
REV=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ "$REV" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then REV="$REV-dirty"; fi
[ "$(cat build/REVISION 2>/dev/null)" = "$REV" ] || echo "$REV" >build/REVISION

# 4. Bundles of host/ (the CLI and daemon; the cold-path plugin entry).
bundle() { # bundle ENTRY OUT
  [ -f "$1" ] || return 0
  if stale "build/js/$2" host package.json; then
    step "bundle $2 (esbuild)" "$BIN/esbuild" "$1" --bundle --platform=node --format=esm --target=node20 \
      --outfile="build/js/$2" --log-level=warning \
      --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
  fi
}
bundle host/cli/main.ts wasm-cni.mjs
bundle host/plugins/standalone.ts cni-plugin.mjs
bundle host/daemon/worker.ts daemon-worker.mjs
