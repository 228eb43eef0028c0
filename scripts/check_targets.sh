#!/usr/bin/env bash
# Type-check and lint the crate (Python bindings included) for the platforms the release workflow
# builds on hosts this machine does not have, so Unix-only code is caught before a release tag:
#
#   bash scripts/check_targets.sh [TARGET...]   default: x86_64-pc-windows-gnu
#                                                x86_64-pc-windows-msvc aarch64-apple-darwin
#
# x86_64-pc-windows-gnu is a real build of the C dependencies too (libgit2, zlib), with zig's
# MinGW headers. For the MSVC and macOS targets no C toolchain exists here (MSVC's headers, Apple's
# Security framework), so their C files become empty objects: `cargo clippy` only needs the build
# scripts to succeed, and what it checks is the Rust code with its cfg gates. The Rust standard
# library of each target must be installable with rustup.
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install --quiet --disable-pip-version-check -r scripts/requirements-wheel.txt
zig="$(python -c 'import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))')"
tools="$(mktemp -d)"
trap 'rm -rf "$tools"' EXIT

# zig as the C compiler for Windows (MinGW), without the cc crate's --target=, which zig's
# target syntax does not read.
cat >"$tools/cc-windows-gnu" <<WRAPPER
#!/bin/sh
for arg in "\$@"; do shift; case "\$arg" in --target=*) ;; *) set -- "\$@" "\$arg" ;; esac; done
exec "$zig" cc -target x86_64-windows-gnu "\$@"
WRAPPER
# The stand-in: preprocessing (the cc crate's compiler detection) is zig's; each object it is
# asked for is an empty one.
cat >"$tools/stub-cc" <<STUB
#!/bin/sh
out=""; next=""; preprocess=""; last=""
for arg in "\$@"; do
    last="\$arg"
    if [ -n "\$next" ]; then out="\$arg"; next=""; continue; fi
    case "\$arg" in
        -o) next=1 ;;
        -o*) out="\${arg#-o}" ;;
        -Fo*|/Fo*) out="\${arg#?Fo}" ;;
        -E) preprocess=1 ;;
    esac
done
[ -z "\$preprocess" ] || exec "$zig" cc -E "\$last"
[ -n "\$out" ] || exit 0
exec "$zig" cc -c -x c /dev/null -o "\$out"
STUB
# zig's ar, also spoken to as lib.exe (-out:FILE -nologo OBJECTS...), as the cc crate does for MSVC.
cat >"$tools/ar" <<AR
#!/bin/sh
case "\$1" in
    -out:*|-OUT:*|/out:*|/OUT:*)
        out="\${1#*:}"; shift
        for arg in "\$@"; do shift; case "\$arg" in -*) ;; *) set -- "\$@" "\$arg" ;; esac; done
        exec "$zig" ar crs "\$out" "\$@" ;;
esac
exec "$zig" ar "\$@"
AR
chmod +x "$tools"/*

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(x86_64-pc-windows-gnu x86_64-pc-windows-msvc aarch64-apple-darwin)
for target in "${targets[@]}"; do
    printf '\n==> cargo clippy --target %s\n' "$target"
    rustup target add "$target" >/dev/null
    case "$target" in
        x86_64-pc-windows-gnu) cc="$tools/cc-windows-gnu" ;;
        *) cc="$tools/stub-cc" ;;
    esac
    var="${target//-/_}"
    env "CC_$var=$cc" "AR_$var=$tools/ar" CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/check-targets" \
        cargo clippy --target "$target" --all-features -- -D warnings
done
