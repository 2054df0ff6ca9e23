#!/usr/bin/env bash
# Build the llama-server binaries that the real llama.cpp test suite runs (the same builds as
# shared/llama: CPU only, x86-64 with AVX2, statically linked against ggml).
#
# The llama.cpp source comes from the npm package node-llama-cpp, which ships it as a git bundle
# (package/llama/gitRelease.bundle, one squashed commit whose hash is the one llama.cpp's
# --version reports):
#   b5640    node-llama-cpp 3.10.0  commit aa3f5d08eeb5231175d441069630fe10013ce971 (llama.cpp release b5640)
#   de3ff81  node-llama-cpp 3.22.1  commit de3ff815ea7d559ee917f063901b8986f038abc6
#
# Usage: bash scripts/llama-build.sh [b5640|de3ff81|all]... [--jobs N] [--force]
#   (npm run llama:build -- [args])
# Binaries: <cache>/llama-server-<build>, where <cache> is
#   ${LLAMA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/prefill-proxy/llama}
# Then: LLAMA_SERVER_DIR=<cache> npm test
set -euo pipefail

ALL_BUILDS=(b5640 de3ff81)
CMAKE_FLAGS=(
  -DCMAKE_BUILD_TYPE=Release
  -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
  -DGGML_OPENMP=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF
  -DLLAMA_BUILD_SERVER=ON -DBUILD_SHARED_LIBS=OFF
)

# build name -> node-llama-cpp version, full commit of the bundle's HEAD
build_info() {
  case "$1" in
    b5640) NLC_VERSION=3.10.0 COMMIT=aa3f5d08eeb5231175d441069630fe10013ce971 ;;
    de3ff81) NLC_VERSION=3.22.1 COMMIT=de3ff815ea7d559ee917f063901b8986f038abc6 ;;
    *) return 1 ;;
  esac
}

if [[ -t 2 ]]; then BOLD=$'\033[1m' RED=$'\033[1;31m' RESET=$'\033[0m'; else BOLD='' RED='' RESET=''; fi
log() { printf '%s[llama-build]%s %s\n' "$BOLD" "$RESET" "$*" >&2; }
die() { printf '%s[llama-build] error:%s %s\n' "$RED" "$RESET" "$*" >&2; exit 1; }

usage() {
  cat <<EOF
Usage: bash scripts/llama-build.sh [BUILD...] [--jobs N] [--force]

Builds llama-server from the llama.cpp source that node-llama-cpp ships (fetched with npm pack).

  BUILD        b5640 (node-llama-cpp 3.10.0), de3ff81 (node-llama-cpp 3.22.1) or all (default: all)
  -j, --jobs N parallel compile jobs (default: number of cores, $(nproc 2>/dev/null || echo 2) here)
  -f, --force  rebuild even if the binary already exists
  -h, --help   this text

Binaries go to \${LLAMA_CACHE_DIR:-\${XDG_CACHE_HOME:-\$HOME/.cache}/prefill-proxy/llama}/llama-server-<BUILD>
(each takes about 15 minutes on two cores); run the tests against them with
  LLAMA_SERVER_DIR=<that folder> npm test
EOF
}

CACHE_DIR="${LLAMA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/prefill-proxy/llama}"

# ---- arguments --------------------------------------------------------------------------------
parse_args() {
  BUILDS=()
  JOBS="$(nproc 2>/dev/null || echo 2)"
  FORCE=0
  while (($#)); do
    case "$1" in
      -h | --help) usage; exit 0 ;;
      -f | --force) FORCE=1 ;;
      -j | --jobs)
        (($# >= 2)) || die "$1 needs a number"
        JOBS="$2"; shift ;;
      -j* | --jobs=*) JOBS="${1#--jobs=}"; JOBS="${JOBS#-j}" ;;
      all) BUILDS+=("${ALL_BUILDS[@]}") ;;
      -*) die "unknown option: $1 (see --help)" ;;
      *)
        build_info "$1" || die "unknown build: $1 (choose from: ${ALL_BUILDS[*]}, all; see --help)"
        BUILDS+=("$1") ;;
    esac
    shift
  done
  [[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || die "--jobs wants a positive number, got '$JOBS'"
  ((${#BUILDS[@]})) || BUILDS=("${ALL_BUILDS[@]}")
  # drop duplicates, keep order
  local b UNIQUE=()
  for b in "${BUILDS[@]}"; do [[ " ${UNIQUE[*]-} " == *" $b "* ]] || UNIQUE+=("$b"); done
  BUILDS=("${UNIQUE[@]}")
}

# ---- prerequisites ----------------------------------------------------------------------------
check_prerequisites() {
  local missing=() pkgs=()
  command -v cmake >/dev/null || { missing+=(cmake); pkgs+=(cmake); }
  command -v g++ >/dev/null || { missing+=(g++); pkgs+=(g++); }
  command -v git >/dev/null || { missing+=(git); pkgs+=(git); }
  command -v ninja >/dev/null || command -v make >/dev/null || { missing+=("make or ninja"); pkgs+=(make); }
  command -v strip >/dev/null || { missing+=(strip); pkgs+=(binutils); }
  command -v tar >/dev/null || { missing+=(tar); pkgs+=(tar); }
  command -v npm >/dev/null || { missing+=(npm); pkgs+=(npm); }
  if ((${#missing[@]})); then
    die "missing: ${missing[*]}. On Debian/Ubuntu: apt-get install ${pkgs[*]} (ninja-build can stand in for make)"
  fi
  local v
  v="$(cmake --version | sed -n '1s/[^0-9]*\([0-9][0-9.]*\).*/\1/p')"
  if [[ "$(printf '%s\n' 3.14 "$v" | sort -V | head -n1)" != 3.14 ]]; then
    die "cmake $v is too old (llama.cpp needs 3.14 or newer): apt-get install cmake"
  fi
  if [[ "$(uname -m)" != x86_64 ]]; then
    log "warning: this machine is $(uname -m); these builds target x86-64 with AVX2 and may not build or run here"
  fi
}

# ---- temp folders -----------------------------------------------------------------------------
TEMP_DIRS=()
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
  local d
  for d in "${TEMP_DIRS[@]-}"; do [[ -n "$d" && -d "$d" ]] && rm -rf -- "$d"; done
  rm -f -- "$CACHE_DIR"/.llama-server-*.partial.$$ 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Reads the build output and shows its progress: one updating line on a terminal, otherwise a
# line at every further 10% (the full output is in the log file).
show_progress() {
  local line pct last=-1
  while IFS= read -r line; do
    if [[ "$line" =~ ^\[\ *([0-9]+)/([0-9]+)\] ]]; then # ninja: [12/345]
      pct=$((100 * BASH_REMATCH[1] / BASH_REMATCH[2]))
    elif [[ "$line" =~ ^\[\ *([0-9]+)%\] ]]; then # make: [ 12%]
      pct=$((10#${BASH_REMATCH[1]}))
    else
      continue
    fi
    if [[ -t 2 ]]; then
      printf '\r\033[K  %3d%% %s' "$pct" "${line:0:100}" >&2
    elif ((pct / 10 > last)); then
      last=$((pct / 10))
      printf '  %3d%% %s\n' "$pct" "${line:0:100}" >&2
    fi
  done
  if [[ -t 2 ]]; then echo >&2; fi
  return 0
}

# ---- one build --------------------------------------------------------------------------------
build_one() {
  local name="$1" NLC_VERSION COMMIT
  build_info "$name"
  local out="$CACHE_DIR/llama-server-$name"

  if [[ -x "$out" && "$FORCE" != 1 ]]; then
    log "$name: $out already exists, skipping (--force rebuilds it)"
    return 0
  fi

  local work
  work="$(mktemp -d "${TMPDIR:-/tmp}/llama-build-$name.XXXXXX")"
  TEMP_DIRS+=("$work")
  local started=$SECONDS

  log "$name: fetching node-llama-cpp@$NLC_VERSION with npm pack"
  local tgz
  tgz="$(cd "$work" && npm pack "node-llama-cpp@$NLC_VERSION" --silent --pack-destination "$work" | tail -n1)" ||
    die "$name: npm pack node-llama-cpp@$NLC_VERSION failed (it needs the npm registry)"
  [[ -f "$work/$tgz" ]] || die "$name: npm pack did not produce a tarball (got '$tgz')"

  # The package ships llama.cpp as package/llama/gitRelease.bundle; look for any *.bundle so a
  # rename in a later version is still found.
  local bundle_path
  bundle_path="$(tar -tzf "$work/$tgz" | grep -m1 -E '^package/llama/[^/]*\.bundle$' || true)"
  [[ -n "$bundle_path" ]] || bundle_path="$(tar -tzf "$work/$tgz" | grep -m1 -E '\.bundle$' || true)"
  [[ -n "$bundle_path" ]] || die "$name: no git bundle (*.bundle) in node-llama-cpp@$NLC_VERSION"
  log "$name: extracting $bundle_path"
  tar -xzf "$work/$tgz" -C "$work" "$bundle_path"
  rm -f -- "$work/$tgz"

  # Same source path as the shared binaries were built at (it is baked into assert messages), so
  # the output does not depend on where the temp folder is.
  local src="$work/src" mapped
  mapped="/usr/src/llama.cpp$(printf '%9s' "$name" | tr ' ' -)"
  log "$name: cloning the bundle and checking out $COMMIT"
  git -c core.autocrlf=false clone --quiet --no-checkout --config core.autocrlf=false "$work/$bundle_path" "$src"
  git -C "$src" -c advice.detachedHead=false checkout --quiet "$COMMIT" ||
    die "$name: commit $COMMIT is not in the bundle of node-llama-cpp@$NLC_VERSION"
  local head
  head="$(git -C "$src" rev-parse HEAD)"
  [[ "$head" == "$COMMIT" ]] || die "$name: checked out $head, expected $COMMIT"
  log "$name: source verified at $head"
  rm -f -- "$work/$bundle_path"

  # Make is preferred: the generator decides where build-info.o lands in libcommon.a, and with make
  # the output matches the shared binaries byte for byte.
  local generator=Ninja
  command -v make >/dev/null && generator="Unix Makefiles"
  local build="$src/build" # inside the source (git-ignored by llama.cpp) so the path mapping covers it
  local logfile="$CACHE_DIR/llama-server-$name.build.log"
  log "$name: configuring ($generator), log: $logfile"
  # CMAKE_C(XX)_FLAGS are set explicitly so CFLAGS/CXXFLAGS from the environment do not leak in.
  cmake -S "$src" -B "$build" -G "$generator" "${CMAKE_FLAGS[@]}" \
    -DCMAKE_C_FLAGS="-ffile-prefix-map=$src=$mapped" \
    -DCMAKE_CXX_FLAGS="-ffile-prefix-map=$src=$mapped" \
    >"$logfile" 2>&1 || { tail -n 40 "$logfile" >&2; die "$name: cmake configure failed (full log: $logfile)"; }
  if grep -q "Manually-specified variables were not used" "$logfile"; then
    log "$name: note: flags this llama.cpp does not use (harmless):$(
      awk '/Manually-specified variables were not used/ {on = 1; next}
        on && /^    [^ ]/ {printf " %s", $1; next} on && /[^ ]/ {on = 0}' "$logfile")"
  fi

  log "$name: building llama-server with $JOBS job(s) (about 15 minutes on two cores)"
  if ! cmake --build "$build" --target llama-server -j "$JOBS" 2>&1 | tee -a "$logfile" | show_progress; then
    tail -n 40 "$logfile" >&2
    die "$name: build failed (full log: $logfile)"
  fi

  local bin="$build/bin/llama-server"
  [[ -x "$bin" ]] || die "$name: build finished but $bin is missing"

  local partial="$CACHE_DIR/.llama-server-$name.partial.$$"
  strip -o "$partial" "$bin"
  chmod 755 "$partial"
  local version
  version="$("$partial" --version 2>&1 || true)"
  grep -q "${COMMIT:0:7}" <<<"$version" || die "$name: --version does not report ${COMMIT:0:7}: $version"
  mv -f -- "$partial" "$out"
  rm -rf -- "$work"
  log "$name: built $out in $(((SECONDS - started) / 60))m$(((SECONDS - started) % 60))s"
}

# ---- main (a function, so the whole file is read before anything runs) -----------------------
main() {
  parse_args "$@"
  check_prerequisites
  mkdir -p "$CACHE_DIR"
  log "cache: $CACHE_DIR; builds: ${BUILDS[*]}; jobs: $JOBS"
  local name out
  for name in "${BUILDS[@]}"; do build_one "$name"; done

  echo
  log "llama-server binaries:"
  for name in "${BUILDS[@]}"; do
    out="$CACHE_DIR/llama-server-$name"
    echo "  $out"
    "$out" --version 2>&1 | grep -E '^(version|built with)' | sed 's/^/    /' || true
  done
  echo
  log "run the tests against them with:"
  echo "  LLAMA_SERVER_DIR=$CACHE_DIR npm test"
}

main "$@"; exit
