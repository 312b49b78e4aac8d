#!/usr/bin/env bash
# Interoperability check against an implementation not written here: ISC dhcpd -6
# (Debian package isc-dhcp-server) answering RFC 5007 LEASEQUERY by address for IA_NA
# bindings over UDP, queried with `lqr query`.
#
# Two network namespaces of our own joined by a veth pair (nothing leaves this
# machine): lqr-srv-$$ holds 2001:db8:1::1/64 and runs dhcpd with a lease file of
# known IA_NA bindings; lqr-cli-$$ holds 2001:db8:1::2/64 and runs `lqr query`.
# Prints one JSON line per query: {"query": ADDRESS, "exit": CODE, "stdout": ..., "stderr": ...}.
# Needs root, iproute2, dhcpd, and a built project (npm ci / npm run build).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
lqr="$here/dist/src/cli/lqr.js"
[ -f "$lqr" ] || { echo "interop-dhcpd: $lqr missing: run npm run build" >&2; exit 2; }
command -v dhcpd >/dev/null || { echo "interop-dhcpd: dhcpd not installed (apt-get install isc-dhcp-server)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "interop-dhcpd: needs root (network namespaces)" >&2; exit 2; }

tag=$$
srv=lqr-srv-$tag; cli=lqr-cli-$tag
work=$(mktemp -d /tmp/lqr-dhcpd.XXXXXX)
cleanup() {
  [ -f "$work/dhcpd.pid" ] && kill "$(cat "$work/dhcpd.pid")" 2>/dev/null || true
  ip netns del "$srv" 2>/dev/null || true
  ip netns del "$cli" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$srv"; ip netns add "$cli"
ip link add "lqrs$tag" type veth peer name "lqrc$tag"
ip link set "lqrs$tag" netns "$srv"; ip link set "lqrc$tag" netns "$cli"
ip -n "$srv" link set lo up; ip -n "$cli" link set lo up
ip -n "$srv" addr add 2001:db8:1::1/64 dev "lqrs$tag" nodad
ip -n "$cli" addr add 2001:db8:1::2/64 dev "lqrc$tag" nodad
ip -n "$srv" link set "lqrs$tag" up; ip -n "$cli" link set "lqrc$tag" up

cat > "$work/dhcpd6.conf" <<CONF
allow leasequery;
default-lease-time 3600;
preferred-lifetime 1800;
subnet6 2001:db8:1::/64 {
  range6 2001:db8:1::100 2001:db8:1::1ff;
}
CONF

# The lease file: IA_NA bindings for clients with DUID-LL 00:03:00:01 + 0a:0b:0c:0d:0e:0N.
# An ia-na's name is IAID (4 octets) + client DUID, written as octal escapes.
octal() { local hex=$1 out="" i; for ((i = 0; i < ${#hex}; i += 2)); do out+=$(printf '\\%03o' "0x${hex:i:2}"); done; printf '%s' "$out"; }
cltt=$(date -u -d '-90 seconds' '+%w %Y/%m/%d %H:%M:%S')
ends=$(date -u -d '+1 hour' '+%w %Y/%m/%d %H:%M:%S')
: > "$work/dhcpd6.leases"
for n in 1 2 3; do
  duid=000300010a0b0c0d0e0$n
  cat >> "$work/dhcpd6.leases" <<LEASE
ia-na "$(octal "0000000$n$duid")" {
  cltt $cltt;
  iaaddr 2001:db8:1::10$((n - 1)) {
    binding state active;
    preferred-life 1800;
    max-life 3600;
    ends $ends;
  }
}
LEASE
done

ip netns exec "$srv" dhcpd -6 -q -cf "$work/dhcpd6.conf" -lf "$work/dhcpd6.leases" -pf "$work/dhcpd.pid" "lqrs$tag" >"$work/dhcpd.log" 2>&1
for _ in $(seq 50); do [ -s "$work/dhcpd.pid" ] && break; sleep 0.1; done
sleep 0.5

for q in "$@"; do
  set +e
  out=$(ip netns exec "$cli" node "$lqr" query --server '[2001:db8:1::1]:547' --address "$q" --local-port 546 --timeout 4000 --json 2>"$work/err")
  code=$?
  set -e
  node -e 'const [q,c,o,e]=process.argv.slice(1);process.stdout.write(JSON.stringify({query:q,exit:Number(c),stdout:o,stderr:e})+"\n")' "$q" "$code" "$out" "$(cat "$work/err")"
done
