#!/usr/bin/env bash
# Regenerates the static protobuf codecs in this folder from proto/ (`npm run proto:gen`), with
# protobufjs' own CLI (protobufjs-cli, a devDependency pinned to the protobufjs 7.x the product
# runs). The product loads these at run time instead of parsing the .proto files at start-up:
# the .proto parser (@grpc/proto-loader, protobufjs' full build) costs an idle executor ~6 MiB
# RSS (docs/PERFORMANCE.md, "Footprint"); these need only protobufjs/minimal.
#
# pbjs: static-module, ES module wrapper, field names as in the .proto (keep-case, as the
# proto-loader options the protocol modules reproduce); no JSDoc in the committed JavaScript (it
# would be held in memory as source text), so the types (pbts) come from a commented twin built in
# a temporary folder with the same options. Only what the protocol modules use is generated:
# encode, decode, fromObject, toObject; no verify, delimited, service or type-URL code.
#
# One fix-up: pbjs writes `import * as $protobuf from "protobufjs/minimal"`, which Node's ES module
# loader cannot resolve (no extension, and protobufjs has no "exports" map) and whose namespace
# would hold only `default` (protobufjs is CommonJS); the default import of minimal.js is the
# protobufjs object itself.
set -euo pipefail
cd "$(dirname "$0")/../../.."
out=src/protocol/generated
bin=node_modules/.bin
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
options=(-t static-module -w es6 --keep-case --no-verify --no-delimited --no-service --no-typeurl)

generate() { # name root proto
  local name=$1 root=$2 proto=$3
  "$bin/pbjs" "${options[@]}" -r "$root" -o "$tmp/$name.commented.js" "$proto"
  "$bin/pbts" --no-comments -o "$tmp/$name.d.ts" "$tmp/$name.commented.js"
  "$bin/pbjs" "${options[@]}" --no-comments -r "$root" -o "$tmp/$name.js" "$proto"
  for file in "$name.js" "$name.d.ts"; do
    {
      echo "// Generated from $proto by protobufjs-cli (src/protocol/generated/generate.sh)."
      echo '// Do not edit: change the .proto file and run `npm run proto:gen`.'
      sed 's|^import \* as \$protobuf from "protobufjs/minimal";$|import $protobuf from "protobufjs/minimal.js";|' "$tmp/$file"
    } >"$out/$file"
  done
  if grep -q '"protobufjs/minimal"' "$out/$name.js"; then
    echo "generate.sh: the import fix-up did not apply to $out/$name.js" >&2
    exit 1
  fi
}

generate fleet ah_fleet proto/ah/fleet/v1/fleet.proto
generate workload spiffe_workload proto/spiffe/workload/workload.proto
