# Sourced by scripts/check.sh and scripts/build_wheel.sh: the one set of maturin flags for every
# release-profile build of the extension, so the editable build and the wheel build are the same
# cargo invocation and the second reuses the first. zig (PyPI's ziglang) is the C compiler and
# linker, targeting glibc 2.17 (manylinux2014); cargo-zigbuild inside maturin calls the zig
# binary directly instead of `python -m ziglang` per C file.
MATURIN_ZIG_ARGS="--zig --compatibility manylinux2014"
CARGO_ZIGBUILD_ZIG_PATH="$(python -c 'import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))')"
export MATURIN_ZIG_ARGS CARGO_ZIGBUILD_ZIG_PATH
