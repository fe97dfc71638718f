#!/usr/bin/env bash
# Copies examples/ddp-llm to a fresh temp directory, makes it a git repository, and runs
# `kcat migrate` on it offline (no LLM configured). Prints kcat's summary and where the report is.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
kcat="$(realpath "${1:-$root/build/release/src/kcat}")"
work="$(mktemp -d /tmp/kcat-example.XXXXXX)"
cp -r "$root/examples/ddp-llm" "$work/ddp-llm"
cd "$work/ddp-llm"
git init -q -b main
git add -A
git -c user.name=kcat-example -c user.email=example@kcat.invalid commit -q -m "example: CUDA version"
echo "kcat example: migrating a fresh copy in $work/ddp-llm"
export KCAT_DATA_DIR="$root/patches"
unset KCAT_LLM_BASE_URL OPENAI_BASE_URL KCAT_LLM_API_KEY OPENAI_API_KEY
set +e
"$kcat" migrate . --target ascend-a2
rc=$?
set -e
echo "kcat example: exit code $rc; the repository is $work/ddp-llm (git log kcat/ascend-a2)"
# 1 means findings are left for a person or an LLM: expected offline. Anything else is a failure.
[[ $rc -eq 0 || $rc -eq 1 ]]
