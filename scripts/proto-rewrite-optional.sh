#!/bin/sh
# Prepares a .proto for protobuf-c 1.4 without changing the wire format:
#  - `optional T name = N;` becomes `oneof _name { T name = N; }` (this is
#    how proto3 optional is defined; protobuf-c 1.4 rejects the keyword);
#  - `string f = N;  // c:bytes` becomes `bytes f = N;` (same wire type) so
#    that the C code sees exact lengths of untrusted strings.
# usage: proto-rewrite-optional.sh IN.proto OUT.proto
set -eu
sed -E \
  -e 's/^([[:space:]]*)optional[[:space:]]+([A-Za-z0-9_.]+)[[:space:]]+([A-Za-z0-9_]+)[[:space:]]*=[[:space:]]*([0-9]+)[[:space:]]*;(.*)$/\1oneof _\3 { \2 \3 = \4; }\5/' \
  -e 's/^([[:space:]]*)string([[:space:]]+[A-Za-z0-9_]+[[:space:]]*=[[:space:]]*[0-9]+[[:space:]]*;[[:space:]]*\/\/ c:bytes.*)$/\1bytes\2/' \
  "$1" > "$2.tmp"
mv "$2.tmp" "$2"
