#!/usr/bin/env bash
# Cross-checks the codec against an independent dissector: encodes every leasequery
# message type, writes them into a pcap (UDP 547, and TCP 547 with RFC 5460 framing)
# and has tshark (Wireshark) read them back; fails on any malformed packet, expert
# error, unexpected warning or field value. See test/unit/protocol/tshark.test.ts for
# what tshark itself does not understand.
#
#   scripts/tshark-check.sh [PCAP_OUT]    (npm run check:tshark)
#
# Needs tshark: apt-get install -y tshark (DEBIAN_FRONTEND=noninteractive).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v tshark >/dev/null 2>&1; then
  echo "tshark-check: tshark is not on PATH (apt-get install -y tshark)" >&2
  exit 2
fi
echo "tshark-check: $(tshark --version 2>/dev/null | head -n 1)"
export LQR_REQUIRE_TSHARK=1
if [ -n "${1:-}" ]; then export LQR_PCAP_OUT="$1"; fi
exec npx vitest run test/unit/protocol/tshark.test.ts
