#!/usr/bin/env bash
# Make sure the Debian packages bccdrop builds and tests with are present.
# As root, install what is missing; otherwise print the exact command and stop.
set -euo pipefail
missing=()
for p in "$@"; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$st" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "bccdrop: missing Debian packages; run as root:" >&2
	echo "  apt-get install -y ${missing[*]}" >&2
	exit 1
fi
echo "bccdrop: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Packages such as postfix and dovecot must not start system daemons here:
# the tests run private instances on loopback ports of their own.
policy_added=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod 0755 /usr/sbin/policy-rc.d
	policy_added=1
fi
trap '[ $policy_added -eq 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update -q >&2
apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
