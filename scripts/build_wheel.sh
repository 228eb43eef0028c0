#!/usr/bin/env bash
# The wheel users install: abi3 (CPython >= 3.9), manylinux2014 (glibc 2.17), stripped, LTO.
#
#   bash scripts/build_wheel.sh [TARGET]     TARGET: x86_64-unknown-linux-gnu (default: this
#                                            machine's) or aarch64-unknown-linux-gnu
#
# maturin builds it with zig as C compiler and linker, so libgit2, OpenSSL and the Rust code link
# against glibc 2.17's symbols on any build machine, no old-distro container needed. The same
# flags as scripts/check.sh's editable build (scripts/zig-env.sh) mean cargo reuses that build.
# auditwheel must then find the wheel manylinux_2_17 compliant with nothing outside the policy;
# the wheel lands in dist/, and its name and size are printed.
set -euo pipefail
cd "$(dirname "$0")/.."

target="${1:-}"
python -m pip install --quiet --disable-pip-version-check -r scripts/requirements-wheel.txt
# shellcheck source=scripts/zig-env.sh
source scripts/zig-env.sh

args=(--release --out dist)
if [ -n "$target" ]; then
    rustup target add "$target" >/dev/null 2>&1 || true
    args+=(--target "$target")
fi
arch="$(printf '%s' "${target:-$(uname -m)}" | cut -d- -f1)"
rm -f dist/hfgit_native-*-manylinux*_"$arch".whl

started=$(date +%s)
# shellcheck disable=SC2086  # MATURIN_ZIG_ARGS is a list of flags
python -m maturin build $MATURIN_ZIG_ARGS "${args[@]}"
echo "built in $(($(date +%s) - started)) s"

wheel=$(ls dist/hfgit_native-*-manylinux*_"$arch".whl)
report=$(python -m auditwheel show "$wheel")
printf '%s\n' "$report"
tag="manylinux_2_17_$arch"
if ! printf '%s' "$report" | tr '\n' ' ' | tr -s ' ' | grep -q "consistent with the following platform tag: \"$tag\""; then
    echo "FAILED: auditwheel does not find $wheel $tag compliant" >&2
    exit 1
fi
if printf '%s' "$report" | tr '\n' ' ' | grep -qi "external shared libraries are required\|not in policy\|undefined symbol"; then
    echo "FAILED: $wheel needs libraries outside the manylinux policy" >&2
    exit 1
fi
printf 'wheel: %s (%s bytes, %s)\n' "$wheel" "$(stat -c %s "$wheel")" "$(du -h "$wheel" | cut -f1)"
