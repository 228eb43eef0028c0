#!/usr/bin/env bash
# Build the CAS server LocalHub's Xet-enabled repos use: `local_cas_server`, the binary of the
# `xet-client` crate's own `simulation` feature (the crates' test server, not code of ours), into
# target/xet-cas/bin/, where hfgit.testing finds it (or name another with HFGIT_XET_CAS_SERVER).
# The version is the one the extension links (Cargo.toml pins hf-xet); a second run is a no-op.
# Kept cheap: no LTO, many codegen units, its own target directory kept between runs.
set -euo pipefail
cd "$(dirname "$0")/.."

version=1.8.0
bin=target/xet-cas/bin/local_cas_server
stamp=target/xet-cas/version
if [ -x "$bin" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
    echo "local_cas_server $version already built ($bin)"
    exit 0
fi
CARGO_TARGET_DIR="$PWD/target/xet-cas-build" \
CARGO_PROFILE_RELEASE_LTO=false \
CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
CARGO_PROFILE_RELEASE_DEBUG=false \
    cargo install "xet-client@$version" --locked --force \
        --no-default-features --features simulation,native-tls-vendored \
        --bin local_cas_server --root "$PWD/target/xet-cas"
echo "$version" > "$stamp"
