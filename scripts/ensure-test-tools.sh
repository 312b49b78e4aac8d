#!/usr/bin/env bash
# Installs the system tools that some tests use to check this project against
# implementations not written here: tshark (Wireshark's dissector) and ISC dhcpd.
# Runs only where it can (root with apt-get) and only when something is missing; on
# CI (CI=true) it is part of `npm test`, elsewhere set LQR_INSTALL_TOOLS=1 to opt in.
# Failure to install is reported, not fatal: the tests that need a tool say they were
# skipped and why.
set -u
want=()
command -v tshark >/dev/null 2>&1 || want+=(tshark)
command -v dhcpd >/dev/null 2>&1 || want+=(isc-dhcp-server)
command -v ip >/dev/null 2>&1 || want+=(iproute2)
command -v openssl >/dev/null 2>&1 || want+=(openssl)
[ ${#want[@]} -eq 0 ] && exit 0
if [ "${CI:-}" != "true" ] && [ "${LQR_INSTALL_TOOLS:-}" != "1" ]; then
  echo "note: ${want[*]} not installed; tests that need them will be skipped (LQR_INSTALL_TOOLS=1 npm test installs them)" >&2
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "note: cannot install ${want[*]} (needs root and apt-get); tests that need them will be skipped" >&2
  exit 0
fi
echo "installing test tools: ${want[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! timeout 600 apt-get update -qq >/tmp/lqr-apt.log 2>&1 || ! timeout 900 apt-get install -y -qq --no-install-recommends "${want[@]}" >>/tmp/lqr-apt.log 2>&1; then
  echo "note: installing ${want[*]} failed (see /tmp/lqr-apt.log); tests that need them will be skipped" >&2
  tail -5 /tmp/lqr-apt.log >&2
fi
# The Debian package enables and starts a dhcpd service; tests run their own.
command -v systemctl >/dev/null 2>&1 && systemctl disable --now isc-dhcp-server >/dev/null 2>&1
exit 0
