#!/usr/bin/env bash
# SVC-3 in practice: two server processes on one PostgreSQL database behind
# nginx (round robin), then through nginx:
#   1. a rate limit shared by both processes (token refresh, limit 3 per
#      minute per address: the 4th attempt is 429 whichever process answers),
#   2. the marketplace loop of .ci/clients/flow.py (register -> verify -> top
#      up -> publish -> bid -> award -> deliver -> confirm) when its generated
#      Python client is installed (.ci/clients/run installs it),
#   3. a change made elsewhere (psql) reaching both processes' cached
#      discovery pages (LISTEN/NOTIFY),
#   4. a short wrk run on the first page of GET /api/v1/demands, next to
#      /healthz through the same nginx.
# Usage: deploy/two-processes.sh [BINARY]   (default target/release/weigongbao)
# Needs: PostgreSQL on 127.0.0.1:5432 (user postgres), nginx and wrk (apt).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/weigongbao}
[ -x "$BIN" ] || cargo build --release --quiet
command -v nginx >/dev/null || { apt-get update -qq && apt-get install -y -qq nginx-light >/dev/null; }
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
WORK=$(mktemp -d)
DB="wgb_two_$$"
LB=18300 A=18301 B=18302
psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE $DB"
URL="postgres://postgres@127.0.0.1:5432/$DB"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  sleep 0.5
  psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

export DATABASE_URL=$URL JWT_SECRET="two-processes-secret-two-processes-secret" \
  RATE_LIMIT_REFRESH_PER_MINUTE=3 RATE_LIMIT_ANONYMOUS_PER_MINUTE=1000000 \
  RATE_LIMIT_REGISTER_PER_MINUTE=1000 TRUST_FORWARDED_FOR=true RUST_LOG=warn,access=info \
  ADMIN_BOOTSTRAP_MEMBER_NAME=two_admin ADMIN_BOOTSTRAP_PASSWORD='Adm1n-two-pass'
BIND_ADDR=127.0.0.1:$A "$BIN" serve > "$WORK/a.log" 2>&1 & PIDS+=($!)
BIND_ADDR=127.0.0.1:$B JOBS_INTERVAL_SECS=0 "$BIN" serve > "$WORK/b.log" 2>&1 & PIDS+=($!)
for port in $A $B; do
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
done
cat > "$WORK/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/body;
  proxy_temp_path $WORK/proxy;
  upstream api { server 127.0.0.1:$A; server 127.0.0.1:$B; keepalive 32; }
  server {
    listen 127.0.0.1:$LB;
    location / {
      proxy_pass http://api;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    }
  }
}
CONF
nginx -c "$WORK/nginx.conf"
BASE="http://127.0.0.1:$LB"
curl -fsS "$BASE/readyz" >/dev/null

echo "== 1. a refresh limit shared by both processes (3 per minute per address)"
codes=""
for i in 1 2 3 4; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/api/v1/auth/refresh" \
    -H 'content-type: application/json' -d '{"refresh_token": "not-a-token"}')
  codes="$codes $code"
done
echo "refresh attempts through nginx, alternating processes:$codes"
[ "$codes" = " 401 401 401 429" ] || { echo "FAIL: the limit is not shared" >&2; exit 1; }
served_a=$(grep -c '/api/v1/auth/refresh' "$WORK/a.log" || true)
served_b=$(grep -c '/api/v1/auth/refresh' "$WORK/b.log" || true)
echo "answered by process A: $served_a, by process B: $served_b"
[ "$served_a" -gt 0 ] && [ "$served_b" -gt 0 ] || { echo "FAIL: one process answered all" >&2; for f in a b; do echo "-- $f"; tail -n 5 "$WORK/$f.log"; done; exit 1; }

echo "== 2. the marketplace loop through nginx"
if python3 -c 'import weigongbao_platform_api_client' 2>/dev/null; then
  # ACC-14: the admin enrols TOTP; the flow logs in with a recovery code.
  TOTP_CODE=$(python3 .ci/staff_enrol.py "$BASE" two_admin 'Adm1n-two-pass' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["recovery_codes"][0])')
  WGB_BASE_URL=$BASE WGB_ADMIN_LOGIN=two_admin WGB_ADMIN_PASSWORD='Adm1n-two-pass' \
    WGB_ADMIN_TOTP_CODE=$TOTP_CODE python3 .ci/clients/flow.py
else
  echo "skipped: the generated Python client is not installed (run .ci/clients/run first)"
fi

echo "== 3. a change reaches both processes' cached discovery pages"
# Another process (psql) renames the flow's demand; each server hears of it
# through LISTEN/NOTIFY and retires its cached page (SVC-3).
LIST="/api/v1/demands?status=completed"
first_title() { curl -fsS "http://127.0.0.1:$1$LIST" | python3 -c 'import sys,json; i=json.load(sys.stdin)["items"]; print(i[0]["id"] if i else "", i[0]["title"] if i else "")'; }
read -r id _ < <(first_title $A)
if [ -n "$id" ]; then
  first_title $A >/dev/null; first_title $B >/dev/null   # both pages cached now
  psql -h 127.0.0.1 -U postgres -d "$DB" -qc "UPDATE demands SET title = 'renamed-elsewhere' WHERE id = $id"
  for port in $A $B; do
    seen=""
    for _ in $(seq 1 40); do
      read -r _ title < <(first_title $port)
      [ "$title" = "renamed-elsewhere" ] && { seen=yes; break; }
      sleep 0.05
    done
    [ -n "$seen" ] || { echo "FAIL: process on $port still serves the old page" >&2; exit 1; }
  done
  echo "both processes serve the renamed demand (within 2 s)"
else
  echo "skipped: no completed demand (the client flow did not run)"
fi

echo "== 4. wrk through nginx (2 processes)"
export RUST_LOG=warn
for path in /healthz /api/v1/demands; do
  printf '%-18s ' "$path"
  wrk -t2 -c32 -d"${DURATION:-5s}" "$BASE$path" | awk '/Requests\/sec/ {printf "%s req/s", $2} /Non-2xx/ {printf " non-2xx %s", $5} END {print ""}'
done
