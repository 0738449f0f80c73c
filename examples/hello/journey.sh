#!/usr/bin/env bash
# The journey of a commit through Slipway, on this example, narrated:
#   1. CI: the workflow runs as GitHub would; its artifact becomes a release;
#   2. delivery: dev (rolling) → staging (blue-green, smoke and load checks)
#      → prod (canary under generated traffic, approved with --approve);
#   3. a second release with a deliberate fault (it fails 20% of requests in
#      prod) is rolled back automatically by the canary analysis, and Git is
#      reverted;
#   4. `slipway status` and `slipway history` show where things stand.
# It starts from a clean data directory (examples/hello/.slipway). The
# services keep running afterwards: `./bin/slipway.js down -C examples/hello`
# stops them.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# The Slipway of this checkout, unless $SLIPWAY names another (a copy of the example elsewhere).
slipway_bin="${SLIPWAY:-$here/../../bin/slipway.js}"
sw() { local cmd="$1"; shift; node "$slipway_bin" "$cmd" -C "$here" "$@"; }
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then bold=$'\e[1m'; off=$'\e[0m'; else bold=""; off=""; fi
say() { printf '\n%s== %s%s\n' "$bold" "$*" "$off"; }

say "0. Starting clean: stopping what an earlier journey left running, removing $here/.slipway"
sw down >/dev/null 2>&1 || true
rm -rf "$here/.slipway"

say "1. CI: .github/workflows/ci.yml runs unchanged; its 'hello' artifact becomes release hello#1"
sw run workflow_dispatch

say "2. Delivery: hello#1 goes dev (rolling) → staging (blue-green + smoke and load checks) → prod (canary 25% → 50% → 100%, judged on live traffic; approved with --approve prod)"
sw up --once --interval 1s --traffic 60 --approve prod --group release-managers

say "3. A release with a deliberate fault: it fails 20% of requests in prod; the canary analysis catches it and rolls it back"
sw run workflow_dispatch --input fault=20
if sw up --once --interval 1s --traffic 60 --approve prod --group release-managers; then
  echo "expected the faulty release to be rolled back" >&2
  exit 1
fi

say "4. Where things stand: prod still runs hello#1; Git says so (a revert commit)"
sw status
sw history
printf '\nThe services keep running (ports 8081-8083 are served while `slipway up` runs). Stop them with: ./bin/slipway.js down -C examples/hello\n'
