# Sourced by scripts/check.sh and scripts/build_wheel.sh: the one set of maturin flags for every
# release-profile build of the extension, so that the editable build and the wheel build are the
# same cargo invocation and the second reuses the first. zig (PyPI's ziglang) is the C compiler
# and linker, targeting glibc 2.17 (manylinux2014).
MATURIN_ZIG_ARGS="--zig --compatibility manylinux2014"
export MATURIN_ZIG_ARGS
