#!/usr/bin/env bash
# Encodes every Tests/WaqtorProtoTests/Fixtures/<Message>.txtpb into <Message>.bin with Google's
# protoc (C++), the reference the protobuf-c based Swift layer is tested against. The message type is
# waqtor.v1.<file name without extension>.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
command -v protoc >/dev/null 2>&1 || { echo "error: protoc not found (apt-get install protobuf-compiler)" >&2; exit 3; }
WKT_INCLUDE="${WAQTOR_PROTO_WKT_INCLUDE:-/usr/include}"
export LC_ALL=C
PROTOS=()
while IFS= read -r f; do PROTOS+=("$f"); done < <(find proto -name '*.proto' | sort)
for txt in Tests/WaqtorProtoTests/Fixtures/*.txtpb; do
    name="$(basename "$txt" .txtpb)"
    protoc --encode="waqtor.v1.$name" -I proto -I "$WKT_INCLUDE" "${PROTOS[@]}" < "$txt" > "${txt%.txtpb}.bin"
    echo "$txt -> ${txt%.txtpb}.bin ($(wc -c < "${txt%.txtpb}.bin") bytes)"
done
