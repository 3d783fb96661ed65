#!/usr/bin/env bash
# The MCP proxy's overhead per request and connect by URL end to end, against the local test
# servers (a debug build, as `make test` builds it: an upper bound; tests/oauth-server with registration and resource indicators, tests/mcp-server built on
# the official MCP SDK). Prints the figures README's Performance section quotes.
#   scripts/bench-mcp.sh [CALLS]   (default 500)
set -euo pipefail
cd "$(dirname "$0")/.."
export KH_BENCH_N="${1:-500}"
exec scripts/with-secret-service.sh cargo test -p keyhaven-cli --test integration \
  -- --ignored --nocapture --test-threads 1 mcp_proxy::bench_mcp_proxy_and_connect_by_url
