#!/usr/bin/env bash
# Installs what ./test.sh needs beyond the Rust toolchain, when it is missing: Dovecot (the
# peer of maildir-store's interoperability test), the acceptance run's real clients (swaks,
# fetchmail, curl, msmtp) and pytest. Does nothing when all are present; needs root otherwise.
set -euo pipefail

# Debian packages the tests drive as real peers: Dovecot reads and writes the Maildir trees
# maildir-store's interoperability test checks, and serves IMAP and POP3 as the remote source
# of gradwell-server's migration test (tests/migrate_remote.rs); swaks, fetchmail, curl and isync (mbsync) are
# the real mail clients of the acceptance run (scripts/acceptance.sh); msmtp submits as a
# customer's client would; swaks needs Net::SSLeay for STARTTLS, only a Recommends of the
# package. The scale-out test (gradwell-server/tests/scale_out.rs) runs two front ends in
# network namespaces (iproute2's `ip netns`) behind HAProxy.
export DEBIAN_FRONTEND=noninteractive
apt_packages=(dovecot-imapd dovecot-pop3d swaks libnet-ssleay-perl fetchmail curl ca-certificates msmtp isync haproxy iproute2)
missing=()
for p in "${apt_packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
    if ((EUID != 0)); then
        echo "test-deps: missing Debian packages ${missing[*]}; run as root or install them" >&2
        exit 1
    fi
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # The package may start a system-wide Dovecot; tests start their own on loopback ports.
    systemctl disable --now dovecot >/dev/null 2>&1 || service dovecot stop >/dev/null 2>&1 || true
    # Likewise HAProxy: the scale-out test runs its own.
    systemctl disable --now haproxy >/dev/null 2>&1 || service haproxy stop >/dev/null 2>&1 || true
fi
# The acceptance suite's runner.
python3 -c "import pytest" 2>/dev/null \
    || python3 -m pip install -q pytest 2>/dev/null \
    || python3 -m pip install -q --break-system-packages pytest \
    || apt-get install -y -qq python3-pytest >/dev/null
