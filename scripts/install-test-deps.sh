#!/usr/bin/env bash
# Installs what the tests need: Debian packages (as root) and the npm packages.
# The README's test command is `./scripts/install-test-deps.sh && npm run check`;
# .ci/run runs exactly that.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v git >/dev/null || need+=(git)
command -v bwrap >/dev/null || need+=(bubblewrap)
command -v zstd >/dev/null || need+=(zstd)
command -v python3 >/dev/null || need+=(python3)
# Delivery: the HAProxy router and the Prometheus analysis provider are tested against the real programs.
[ -x /usr/sbin/haproxy ] || need+=(haproxy)
command -v prometheus >/dev/null || need+=(prometheus)
# The web UI is tested in real headless Chromium (driven by playwright-core).
command -v chromium >/dev/null || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "missing system packages: ${need[*]} (install them with apt-get)" >&2
    exit 2
  fi
fi
npm ci --no-audit --no-fund
