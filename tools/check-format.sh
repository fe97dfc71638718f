#!/usr/bin/env bash
# Fails when a tracked C++ file (tests/fixtures/ aside: inputs, kept as found) differs from what
# clang-format 14 makes of it with the repository's .clang-format. Fix with:
#   git ls-files '*.cc' '*.h' ':!tests/fixtures' | xargs clang-format -i
set -euo pipefail
cd "$(dirname "$0")/.."
cf="$(command -v clang-format-14 || command -v clang-format || true)"
if [[ -z "$cf" ]]; then
  echo "check-format: clang-format is not installed (tools/install.sh installs it)" >&2
  exit 3
fi
if ! "$cf" --version | grep -q 'version 14\.'; then
  echo "check-format: $("$cf" --version) is not clang-format 14; its output may differ" >&2
fi
git ls-files -z '*.cc' '*.h' ':!tests/fixtures' | xargs -0 "$cf" --dry-run --Werror
