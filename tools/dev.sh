#!/usr/bin/env bash
# The two entry points of the README.
#   tools/dev.sh demo        install what is missing, build, and run `kcat migrate` on examples/
#   tools/dev.sh test        install, check, build, and run every test (plus an ASan+UBSan build in CI)
#   tools/dev.sh build       just configure and build build/release
# Options for test: --no-sanitize (skip the ASan+UBSan pass; CI always runs it), --filter REGEX (ctest -R).
# Each command configures its build folder with the options it needs every time (cheap), so
# `demo` then `test` does not reuse the demo's test-less configuration.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cmd="${1:-}"; shift || true
jobs="$(nproc)"

# Development and CI builds treat warnings as errors (KCAT_WERROR; a plain cmake build does not).
configure_build() {  # dir, cmake args...
  local dir="$1"; shift
  cmake -S "$root" -B "$root/$dir" -G Ninja -DKCAT_WERROR=ON "$@" >/dev/null
  cmake --build "$root/$dir" -j "$jobs"
}

# The lexer corpus checks (tests/scan: python_partial_test.cc, cpp_mask_test.cc) run on sources
# every machine has: the Python standard library, and the C++ headers of the build dependencies.
corpora() {
  local stdlib
  stdlib="$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')"
  export KCAT_PARTIAL_CORPUS="${KCAT_PARTIAL_CORPUS:-$stdlib}"
  export KCAT_MASK_CORPUS="${KCAT_MASK_CORPUS:-/usr/include/spdlog}"
}

case "$cmd" in
  demo)
    "$root/tools/install.sh"
    configure_build build/release -DCMAKE_BUILD_TYPE=Release -DKCAT_TESTS=OFF -DKCAT_BENCH=OFF
    exec "$root/tools/run-example.sh" "$root/build/release/src/kcat"
    ;;
  build)
    "$root/tools/install.sh"
    configure_build build/release -DCMAKE_BUILD_TYPE=Release -DKCAT_TESTS=ON -DKCAT_BENCH=ON
    ;;
  test)
    sanitize=1; filter=()
    while (($#)); do
      case "$1" in
        --no-sanitize) sanitize=0 ;;
        --filter) filter=(-R "$2"); shift ;;
        *) echo "dev.sh test: unknown option $1" >&2; exit 2 ;;
      esac
      shift
    done
    [[ -n "${CI:-}" ]] && sanitize=1  # CI always runs the sanitizer pass
    "$root/tools/install.sh" --test
    # Before any build: the sources' format and the layering of src/CMakeLists.txt.
    "$root/tools/check-format.sh"
    "$root/tools/check-layers.py"
    corpora
    configure_build build/release -DCMAKE_BUILD_TYPE=Release -DKCAT_TESTS=ON -DKCAT_BENCH=ON
    (cd "$root/build/release" && ctest --output-on-failure --no-tests=error -j "$jobs" "${filter[@]}")
    "$root/tools/check-install.sh" "$root/build/release"
    if [[ -f "$root/tools/bench/test_harness.py" ]]; then
      python3 -m unittest discover -s "$root/tools/bench" -p 'test_*.py'
    fi
    if ((sanitize)); then
      configure_build build/asan -DCMAKE_BUILD_TYPE=Debug -DKCAT_SANITIZE=ON -DKCAT_TESTS=ON -DKCAT_BENCH=OFF
      (cd "$root/build/asan" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure --no-tests=error \
        -j "$jobs" "${filter[@]}")
    fi
    ;;
  *)
    echo "usage: tools/dev.sh demo | test [--no-sanitize] [--filter REGEX] | build" >&2
    exit 2
    ;;
esac
