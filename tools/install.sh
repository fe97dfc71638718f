#!/usr/bin/env bash
# Make a fresh Debian machine ready to build and test kcat, then fetch the pinned grammars.
#   tools/install.sh          build dependencies
#   tools/install.sh --test   also what the test suite drives for real (sshd, tmux, chromium, ripgrep)
#                             and clang-format (14 on Debian 12) for the format check
# Running it again installs nothing and takes well under a second.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

build_pkgs=(build-essential cmake ninja-build pkg-config git ccache openssl ca-certificates npm
  libcli11-dev nlohmann-json3-dev libcurl4-openssl-dev libspdlog-dev libfmt-dev libgit2-dev
  libtree-sitter-dev libgtest-dev libgmock-dev libtomlplusplus-dev libre2-dev libcpp-httplib-dev
  libedit-dev libbenchmark-dev python3)
# python3-venv and python3-pip: the provisioning test (tests/env/provision_test.cc) creates a real
# venv and runs real pip.
test_pkgs=(openssh-server openssh-client tmux ripgrep chromium clang-format python3-venv python3-pip)

want=("${build_pkgs[@]}")
[[ "${1:-}" == "--test" ]] && want+=("${test_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
  # npm and python3 may come from elsewhere (nvm, pyenv): a working command is enough.
  case "$p" in npm|python3) command -v "$p" >/dev/null && continue ;; esac
  # A Python from elsewhere (pyenv) that has venv and pip needs neither Debian package.
  case "$p" in python3-venv) python3 -m venv --help >/dev/null 2>&1 && continue ;; esac
  case "$p" in python3-pip) python3 -m pip --version >/dev/null 2>&1 && continue ;; esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install: missing packages: ${missing[*]}" >&2
    echo "install: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
    exit 3
  fi
  echo "install: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

"$here/fetch-grammars.sh" "$here/../build/grammars"
