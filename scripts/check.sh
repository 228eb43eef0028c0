#!/usr/bin/env bash
# Every check the project has, in one command: the README's test command, and what CI runs.
# It installs what a fresh machine lacks (through the project's own files), builds the
# extension and LocalHub's Xet CAS server (scripts/build-xet-cas.sh), then runs: cargo fmt
# --check, clippy -D warnings (with and without the python and xet features), cargo test
# --no-default-features, ruff, mypy --strict, stubtest; then builds the
# manylinux2014 wheel users install (auditwheel-checked) and the sdist, installs the wheel into a
# fresh virtualenv with no compiler on PATH, and runs the demo and pytest against that install.
# Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
started=$(date +%s)

step "system tools"
# git and git-lfs are the other side of the interop tests (LocalHub also serves through git);
# tinyproxy is the real proxy the proxy tests start on 127.0.0.1 (tests/tinyproxy.py).
if ! command -v git >/dev/null || ! git lfs version >/dev/null 2>&1 \
    || ! { command -v tinyproxy >/dev/null || [ -x /usr/bin/tinyproxy ]; }; then
    apt-get update -qq && apt-get install -y -qq git git-lfs tinyproxy
fi
# xfsprogs makes the XFS image (reflink=1) on which tests/test_reflink.py commits for real.
if ! command -v mkfs.xfs >/dev/null; then
    apt-get update -qq && apt-get install -y -qq xfsprogs
fi
# The lossy-link tests shape a network namespace of their own: ip and tc (iproute2), iptables,
# and libnetfilter-queue for the delay helper. As root they are installed when missing; without
# root those tests skip, saying why.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    need=()
    command -v ip >/dev/null && command -v tc >/dev/null || need+=(iproute2)
    command -v iptables >/dev/null || need+=(iptables)
    ldconfig -p | grep libnetfilter_queue.so.1 >/dev/null || need+=(libnetfilter-queue1)
    if [ "${#need[@]}" -gt 0 ]; then
        apt-get update -qq && apt-get install -y -qq "${need[@]}"
    fi
fi
git --version
git lfs version
tinyproxy -v
rustup component add rustfmt clippy >/dev/null 2>&1 || true

step "build tools: maturin, zig (PyPI's ziglang), auditwheel"
python -m pip install --quiet --disable-pip-version-check -r scripts/requirements-wheel.txt
# shellcheck source=scripts/zig-env.sh
source scripts/zig-env.sh

step "build and install hfgit-native (editable) with its test extras"
# With the wheel's flags (zig, glibc 2.17), so that scripts/build_wheel.sh below reuses this build.
MATURIN_PEP517_ARGS="$MATURIN_ZIG_ARGS" python -m pip install --quiet \
    --disable-pip-version-check --no-build-isolation -e '.[test]'

step "the Xet CAS server for LocalHub (xet-client's own local_cas_server, scripts/build-xet-cas.sh)"
bash scripts/build-xet-cas.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --all-targets -- -D warnings
cargo clippy --all-targets --no-default-features -- -D warnings

step "cargo test --no-default-features (the core, no Python)"
cargo test --no-default-features

step "ruff"
python -m ruff check python tests examples benches scripts
python -m ruff format --check python tests examples benches scripts

step "mypy --strict (package and examples) and stubtest"
python -m mypy
python -m mypy --strict examples/train_and_push.py
python -m mypy.stubtest --mypy-config-file pyproject.toml --allowlist scripts/stubtest-allowlist.txt hfgit

step "the manylinux2014 wheel (auditwheel-checked) and the sdist"
wheel_started=$(date +%s)
bash scripts/build_wheel.sh
python -m maturin sdist --out dist
echo "wheel and sdist in $(($(date +%s) - wheel_started)) s"

step "the installed wheel: fresh virtualenv, no compiler on PATH, demo, then pytest"
echo "(checks before this point took $(($(date +%s) - started)) s)"
python scripts/test_wheel.py dist/hfgit_native-*-manylinux*_"$(uname -m)".whl -- -q "$@"
