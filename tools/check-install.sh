#!/usr/bin/env bash
# Installs a build (default build/release) into a temporary prefix and runs the installed kcat from
# another directory, as a user would: it must find its knowledge base (share/kcat/patches), scan
# examples/ddp-llm, list the rules, and hold no path of the source tree it was built from. Also
# checks the DESTDIR layout a Debian-style package gets. Run by tools/dev.sh test.
#   tools/check-install.sh [BUILD_DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$(realpath "${1:-$root/build/release}")"
tmp="$(mktemp -d /tmp/kcat-install.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check-install: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
kcat="$tmp/prefix/bin/kcat"
[[ -x "$kcat" ]] || fail "no bin/kcat in the prefix"
[[ -d "$tmp/prefix/share/kcat/patches/rules" ]] || fail "no share/kcat/patches/rules in the prefix"
for h in ocr2-bench.sh vllm_serve_bench.py vllm_throughput.py hf_generate.py; do
  [[ -x "$tmp/prefix/share/kcat/harness/$h" ]] || fail "no executable share/kcat/harness/$h"
done
[[ -f "$tmp/prefix/share/kcat/harness/harness_common.py" ]] || fail "no share/kcat/harness/harness_common.py"
# The installed harness runs from there (it finds harness_common.py beside itself).
python3 "$tmp/prefix/share/kcat/harness/vllm_serve_bench.py" --help >/dev/null ||
  fail "the installed vllm_serve_bench.py does not run"
[[ -s "$tmp/prefix/share/man/man1/kcat.1" ]] || fail "no share/man/man1/kcat.1 in the prefix"
grep -q '^\.SS kcat migrate' "$tmp/prefix/share/man/man1/kcat.1" || fail "kcat.1 does not describe kcat migrate"
[[ -s "$tmp/prefix/share/bash-completion/completions/kcat" ]] || fail "no bash completion in the prefix"
[[ -s "$tmp/prefix/share/zsh/site-functions/_kcat" ]] || fail "no zsh completion in the prefix"
[[ -s "$tmp/prefix/share/fish/vendor_completions.d/kcat.fish" ]] || fail "no fish completion in the prefix"
[[ ! -e "$tmp/prefix/bin/kcat-data-dir" ]] || fail "the build-tree marker was installed"
if strings "$kcat" | grep -F "$root"; then
  fail "the installed kcat holds the source tree's path $root (above)"
fi
# Any build type: every compile of kcat's sources maps the source tree away, so the debug information
# of a plain (RelWithDebInfo, -g) build holds no path of it either.
if [[ -f "$build/compile_commands.json" ]]; then
  python3 - "$build/compile_commands.json" "$root" <<'PY' || fail "a compile command keeps the source tree's path"
import json, sys
entries, root = json.load(open(sys.argv[1])), sys.argv[2]
flag = "-ffile-prefix-map=" + root + "/="
bad = [e["file"] for e in entries if e["file"].startswith(root + "/src/") and flag not in e["command"]]
for f in bad[:5]:
    print("check-install: compiled without " + flag + ": " + f, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
fi

# From elsewhere, with nothing pointing at the source tree.
cp -r "$root/examples/ddp-llm" "$tmp/ddp-llm"
mkdir "$tmp/elsewhere"
cd "$tmp/elsewhere"
unset KCAT_DATA_DIR KCAT_SOURCE_DIR KCAT_BINARY
"$kcat" rules list >"$tmp/rules.txt" || fail "kcat rules list failed"
grep -q "torch" "$tmp/rules.txt" || fail "kcat rules list printed no torch rule"
set +e
"$kcat" scan ../ddp-llm --no-cache >"$tmp/scan.txt" 2>"$tmp/scan.err"
rc=$?
set -e
# 1: blocking findings, as expected for the CUDA example.
[[ $rc -eq 1 ]] || { cat "$tmp/scan.err" >&2; fail "kcat scan exited $rc, not 1"; }
grep -q "\.cuda()\|cuda" "$tmp/scan.txt" || fail "kcat scan found no CUDA tie in examples/ddp-llm"

# A package: DESTDIR puts the /usr layout under a staging directory.
DESTDIR="$tmp/pkg" cmake --install "$build" --prefix /usr >/dev/null
[[ -x "$tmp/pkg/usr/bin/kcat" && -d "$tmp/pkg/usr/share/kcat/patches/rules" ]] ||
  fail "DESTDIR=... --prefix /usr did not give usr/bin/kcat and usr/share/kcat/patches"
echo "check-install: installed kcat finds its knowledge base and scans from $tmp/elsewhere"
