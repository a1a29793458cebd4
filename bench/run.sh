#!/usr/bin/env bash
# Marketplace benchmark (issue: speed targets). Seeds 100,000 demands and
# 50,000 bids, starts the release build, and drives it with wrk on SQLite and
# PostgreSQL, printing requests/s, p50/p99 latency and the ratio to /healthz
# measured in the same run for:
#   /healthz (the ceiling), the first page of GET /demands, a page deep in the
#   cursor chain, a filtered + searched page, a `q` that matches nothing,
#   POST /demands/{id}/bids, POST /conversations/{id}/messages, 1,000 open
#   event streams on a second process (its RSS, and a message's delivery
#   time across processes), and the first page alone and while 8
#   connections log in without pause (the login storm, STORM_ROUNDS pairs),
#   with the server's peak RSS sampled during the storm.
# The server runs with the default pool (DB_POOL_SIZE=10); on PostgreSQL
# rate limits are counted in Redis when it answers on BENCH_REDIS_URL
# (default redis://127.0.0.1:6379/3; "none" counts them in the
# rate_limits table), as a production deployment of several processes
# would (SVC-3). The results header says which.
# PostgreSQL is reached on loopback with sslmode=disable (the server adds it
# for loopback URLs: TLS there protects nothing and costs CPU per round trip).
# Usage: bench/run.sh [sqlite|postgres|both]   (env: DURATION=10s CONNECTIONS=32
#   DEMANDS=100000 BIDS=50000; BENCH_ONLY="healthz demands_q_nomatch" for a
#   subset, e.g. the 1M-demand run: DEMANDS=1000000 BENCH_ONLY="healthz
#   demands_first_page_uncached demands_deep_page_uncached
#   demands_q_nomatch_uncached" bench/run.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
WHICH=${1:-both}
DURATION=${DURATION:-10s}
CONNS=${CONNECTIONS:-32}
DEMANDS=${DEMANDS:-100000}
BIDS=${BIDS:-50000}
BIDDERS=32
PORT=${BENCH_PORT:-18200}
PASSWORD='bench-Passw0rd'
OUT=bench/out
mkdir -p "$OUT"
# 1,000 event streams need more descriptors than the default 1,024.
ulimit -n 65536 2>/dev/null || true
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
# BENCH_NO_BUILD=1 measures the release binary as it is.
[ -n "${BENCH_NO_BUILD:-}" ] || cargo build --release --quiet
BIN=target/release/weigongbao
REDIS=${BENCH_REDIS_URL:-redis://127.0.0.1:6379/3}
redis_at=${REDIS#redis://}; redis_at=${redis_at%%/*}
if [ "$REDIS" != none ] && ! (exec 3<>"/dev/tcp/${redis_at%:*}/${redis_at##*:}") 2>/dev/null; then REDIS=none; fi
# A failed step must not leave a server holding the port (or the terminal).
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
# One signing key for every server process of a run (a token from one is
# good on the other, as in production).
export JWT_SECRET=${JWT_SECRET:-bench-secret-bench-secret-bench-secret-0123}

run_backend() {
  local backend=$1 url
  local work; work=$(mktemp -d)
  if [ "$backend" = sqlite ]; then
    url="sqlite://$work/bench.db"
  else
    local db="wgb_bench_$$"
    psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $db" -qc "CREATE DATABASE $db"
    url="postgres://postgres@127.0.0.1:5432/$db"
  fi
  echo "== $backend: migrate and seed $DEMANDS demands, $BIDS bids"
  DATABASE_URL=$url RUST_LOG=warn $BIN migrate
  # One real registration gives a genuine password hash to reuse for seeding.
  local seed_hash
  DATABASE_URL=$url BIND_ADDR=127.0.0.1:$PORT RUST_LOG=warn JOBS_INTERVAL_SECS=0 OUTBOX_INTERVAL_MS=100 $BIN serve &
  local pid=$!
  for _ in $(seq 1 50); do curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
  # ACC-12: registration needs the phone's code, read from the development
  # sender's outbox.
  curl -fsS "http://127.0.0.1:$PORT/api/v1/auth/verification-codes" -H 'content-type: application/json' \
    -d '{"channel": "sms", "purpose": "register", "target": "13800000000"}' >/dev/null
  local code=""
  for _ in $(seq 1 50); do
    code=$(curl -fsS "http://127.0.0.1:$PORT/api/v1/sandbox/outbox?recipient=13800000000" \
      | python3 -c 'import sys,json,re; m=[re.search(r"\d{6}", x["body"]) for x in json.load(sys.stdin)]; print(next((x.group(0) for x in m if x), ""))')
    [ -n "$code" ] && break; sleep 0.1
  done
  curl -fsS "http://127.0.0.1:$PORT/api/v1/auth/register" -H 'content-type: application/json' -d "{
    \"member_name\": \"hash_donor\", \"password\": \"$PASSWORD\", \"email\": \"donor@example.com\",
    \"phone\": \"13800000000\", \"phone_code\": \"$code\", \"contact_name\": \"x\", \"address\": \"x\",
    \"account_kind\": \"individual\", \"agreement_version\": 1}" >/dev/null
  kill $pid; wait $pid 2>/dev/null || true
  if [ "$backend" = sqlite ]; then
    seed_hash=$(sqlite3 "$work/bench.db" "SELECT password_hash FROM users WHERE member_name='hash_donor'" 2>/dev/null || true)
    if [ -z "$seed_hash" ]; then
      seed_hash=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT password_hash FROM users WHERE member_name='hash_donor'\").fetchone()[0])" "$work/bench.db")
    fi
    python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"DELETE FROM agreement_acceptances\"); c.execute(\"DELETE FROM refresh_tokens\"); c.execute(\"DELETE FROM sessions\"); c.execute(\"DELETE FROM ledger_accounts WHERE owner_id IS NOT NULL\"); c.execute(\"DELETE FROM users\"); c.execute(\"DELETE FROM sqlite_sequence WHERE name='users'\"); c.commit()" "$work/bench.db"
    echo "$seed_hash" | python3 bench/seed.sql.py sqlite "$DEMANDS" "$BIDS" "$BIDDERS" > "$work/seed.sql"
    python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(open(sys.argv[2]).read())" "$work/bench.db" "$work/seed.sql"
  else
    seed_hash=$(psql -h 127.0.0.1 -U postgres -d "wgb_bench_$$" -Atc "SELECT password_hash FROM users WHERE member_name='hash_donor'")
    psql -h 127.0.0.1 -U postgres -d "wgb_bench_$$" -qc "DELETE FROM agreement_acceptances; DELETE FROM refresh_tokens; DELETE FROM sessions; DELETE FROM ledger_accounts WHERE owner_id IS NOT NULL; DELETE FROM users;"
    echo "$seed_hash" | python3 bench/seed.sql.py postgres "$DEMANDS" "$BIDS" "$BIDDERS" > "$work/seed.sql"
    psql -h 127.0.0.1 -U postgres -d "wgb_bench_$$" -q -f "$work/seed.sql" >/dev/null
    # Statistics as autovacuum would have them on a live database, and the
    # seed's WAL written out now: a checkpoint of the bulk load falling in a
    # measured write run showed as a 0.6 s p99 of POST bids.
    psql -h 127.0.0.1 -U postgres -d "wgb_bench_$$" -qc "VACUUM ANALYZE" -qc "CHECKPOINT"
  fi

  local store=()
  if [ "$backend" = postgres ] && [ "$REDIS" != none ]; then store=(REDIS_URL="$REDIS"); fi
  echo "== $backend: rate limits in ${store[*]:-the database (or memory on SQLite)}" | tee -a "$OUT/results.txt"
  env "${store[@]}" DATABASE_URL=$url BIND_ADDR=127.0.0.1:$PORT RUST_LOG=error JOBS_INTERVAL_SECS=0 \
    RATE_LIMIT_LOGIN_PER_MINUTE=1000000 RATE_LIMIT_BIDS_PER_MINUTE=1000000 RATE_LIMIT_MESSAGES_PER_MINUTE=1000000 RATE_LIMIT_ANONYMOUS_PER_MINUTE=60000000 DB_POOL_SIZE=${DB_POOL_SIZE:-10} \
    ACCESS_TOKEN_TTL_SECS=3600 EVENT_STREAMS_PER_USER=64 $BIN serve &
  pid=$!
  for _ in $(seq 1 50); do curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
  : > "$work/tokens"
  for i in $(seq 2 $((BIDDERS + 1))); do
    curl -fsS "http://127.0.0.1:$PORT/api/v1/auth/login" -H 'content-type: application/json' \
      -d "{\"login\": \"bench_$i\", \"password\": \"$PASSWORD\"}" \
      | python3 -c 'import sys,json; print(json.load(sys.stdin)["tokens"]["access_token"])' >> "$work/tokens"
  done
  local base="http://127.0.0.1:$PORT"
  local deep; deep=$(python3 -c 'import base64,struct; print(base64.urlsafe_b64encode(struct.pack(">qq", 1000, 1000)).decode().rstrip("="))')
  local search="$base/api/v1/demands?category=ground_promotion&region=310104&budget_min=150.00&q=%E5%9C%B0%E6%8E%A8"
  local ceiling=""
  bench() {
    local name=$1; shift
    # BENCH_ONLY="healthz demands_q_nomatch ..." runs just those (the 1M run).
    if [ -n "${BENCH_ONLY:-}" ] && [[ " $BENCH_ONLY " != *" $name "* ]]; then return; fi
    # BENCH_PERF=<name> samples every process's stacks while <name> runs.
    local perf_pid=""
    if [ "${BENCH_PERF:-}" = "$name" ] && command -v perf >/dev/null; then
      perf record -q -F 499 -a -g -o "$OUT/$backend-$name.perf" -- sleep "${DURATION%s}" 2>/dev/null &
      perf_pid=$!
    fi
    local out; out=$(wrk -t2 -c"$CONNS" -d"$DURATION" --latency "$@")
    [ -z "$perf_pid" ] || wait "$perf_pid" || true
    local rps p50 p99 errs ratio
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p50=$(echo "$out" | awk '$1=="50%" {print $2}')
    p99=$(echo "$out" | awk '$1=="99%" {print $2}')
    errs=$(echo "$out" | awk '/Non-2xx/ {print $5}'); errs=${errs:-0}
    [ -n "$ceiling" ] || ceiling=$rps
    ratio=$(python3 -c "print(f'{100*float(\"$rps\")/float(\"$ceiling\"):.1f}%')")
    printf '%-10s %-24s %10s req/s  %7s of /healthz  p50 %-9s p99 %-9s non-2xx %s\n' \
      "$backend" "$name" "$rps" "$ratio" "$p50" "$p99" "$errs" | tee -a "$OUT/results.txt"
    echo "$out" > "$OUT/$backend-$name.txt"
  }
  bench healthz "$base/healthz"
  bench demands_first_page "$base/api/v1/demands"
  bench demands_deep_page "$base/api/v1/demands?cursor=$deep"
  bench demands_filtered "$search"
  # A word pair no demand contains (龘龘).
  bench demands_q_nomatch "$base/api/v1/demands?q=%E9%BE%98%E9%BE%98"
  # WRK-2: nearest first within 5 km of People's Square.
  local near="/api/v1/demands?near=31.2304,121.4737&radius_km=5"
  bench demands_near "$base$near"
  BENCH_TOKENS="$work/tokens" BENCH_FIRST_DEMAND=$((BIDS + 1)) bench bids_post -s bench/bids.lua "$base"
  # MSG-1/2: each bidder asks the owner about one of the newest demands
  # (a conversation each), then all send messages as fast as they can.
  if [ -z "${BENCH_ONLY:-}" ] || [[ " $BENCH_ONLY " == *" messages_post "* || " $BENCH_ONLY " == *" events "* ]]; then
    : > "$work/convs"
    local i=0 conv token
    while read -r token; do
      conv=$(curl -fsS -X POST "$base/api/v1/demands/$((DEMANDS - i))/conversations" -H "authorization: Bearer $token" \
        | python3 -c 'import sys,json; print(json.load(sys.stdin)["id"])')
      echo "$token $conv" >> "$work/convs"
      i=$((i + 1))
    done < "$work/tokens"
    BENCH_CONVS="$work/convs" bench messages_post -s bench/messages.lua "$base"
  fi
  # MSG-2: 1,000 open event streams on a second server process (same
  # database), its RSS, and how fast a message sent on the first reaches
  # the owner's open stream on the second.
  if [ -z "${BENCH_ONLY:-}" ] || [[ " $BENCH_ONLY " == *" events "* ]]; then
    # SQLite is one process: the streams are held by the same server.
    local second=$pid b_base=$base
    if [ "$backend" = postgres ]; then
      DATABASE_URL=$url BIND_ADDR=127.0.0.1:$((PORT + 2)) RUST_LOG=error JOBS_INTERVAL_SECS=0 \
        DB_POOL_SIZE=${DB_POOL_SIZE:-10} EVENT_STREAMS_PER_USER=64 $BIN serve &
      second=$!
      b_base="http://127.0.0.1:$((PORT + 2))"
      for _ in $(seq 1 50); do curl -fsS "$b_base/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
    fi
    local owner
    owner=$(curl -fsS "$base/api/v1/auth/login" -H 'content-type: application/json' \
      -d "{\"login\": \"bench_1\", \"password\": \"$PASSWORD\"}" \
      | python3 -c 'import sys,json; print(json.load(sys.stdin)["tokens"]["access_token"])')
    python3 bench/events.py "$base" "$b_base" "$second" "$work/convs" "$owner" \
      "${STREAMS:-1000}" "${MESSAGES:-200}" | sed "s/^/$backend     /" | tee -a "$OUT/results.txt"
    [ "$second" = "$pid" ] || { kill $second; wait $second 2>/dev/null || true; }
  fi
  # The first page with the page cache off (PAGE_CACHE_ENTRIES=0 on a
  # second server): what a cache miss costs.
  if [ -z "${BENCH_ONLY:-}" ] || [[ " $BENCH_ONLY " == *"_uncached "* ]]; then
    DATABASE_URL=$url BIND_ADDR=127.0.0.1:$((PORT + 1)) RUST_LOG=error JOBS_INTERVAL_SECS=0 \
      RATE_LIMIT_ANONYMOUS_PER_MINUTE=60000000 DB_POOL_SIZE=${DB_POOL_SIZE:-10} PAGE_CACHE_ENTRIES=0 $BIN serve &
    local nocache=$!
    for _ in $(seq 1 50); do curl -fsS "http://127.0.0.1:$((PORT + 1))/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
    local nc="http://127.0.0.1:$((PORT + 1))"
    bench demands_first_page_uncached "$nc/api/v1/demands"
    bench demands_deep_page_uncached "$nc/api/v1/demands?cursor=$deep"
    bench demands_q_nomatch_uncached "$nc/api/v1/demands?q=%E9%BE%98%E9%BE%98"
    bench demands_near_uncached "$nc$near"
    kill $nocache; wait $nocache 2>/dev/null || true
  fi
  if [ -n "${BENCH_ONLY:-}" ] && [[ " $BENCH_ONLY " != *" login_storm "* ]]; then
    kill $pid; wait $pid 2>/dev/null || true
    # BENCH_KEEP=1 keeps the seeded database (with the bidders' sessions)
    # as wgb_bench_seeded on PostgreSQL or bench/out/seeded.db on SQLite,
    # their tokens in bench/out/tokens and their conversations in
    # bench/out/convs, for profiling by hand.
    if [ -n "${BENCH_KEEP:-}" ]; then
      cp "$work/tokens" "$OUT/tokens"
      [ ! -f "$work/convs" ] || cp "$work/convs" "$OUT/convs"
      if [ "$backend" = sqlite ]; then
        rm -f "$OUT/seeded.db.tmp"
        python3 -c "import sqlite3,sys; sqlite3.connect(sys.argv[1]).execute('VACUUM INTO ?', (sys.argv[2],))" \
          "$work/bench.db" "$OUT/seeded.db.tmp" && mv "$OUT/seeded.db.tmp" "$OUT/seeded.db"
      fi
    fi
    if [ "$backend" = postgres ]; then
      if [ -n "${BENCH_KEEP:-}" ]; then
        psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS wgb_bench_seeded WITH (FORCE)" \
          -qc "CREATE DATABASE wgb_bench_seeded TEMPLATE wgb_bench_$$"
      fi
      psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS wgb_bench_$$ WITH (FORCE)"
    fi
    rm -rf "$work"; return
  fi
  # The login storm: the first page is measured in STORM_ROUNDS (default 5)
  # pairs of runs, one alone and one while 8 connections log in back to
  # back (wrk -t1 -c8, bench/login.lua), and the server's RSS is sampled
  # every 100 ms. The figure is the median p99 during the storm over the
  # median p99 alone: on this 2-core VM one 10 s p99 of the saturated list
  # (wrk shares the cores) ranges from 0.7 to 4 ms between runs of the same
  # binary with nothing else changed, so one pair's ratio (or a baseline
  # taken minutes earlier, in another state of the database) says little,
  # and a pair with a lucky baseline dominates a median of ratios. Each
  # pair and the median of their ratios are printed too.
  local peak=0 before rounds=${STORM_ROUNDS:-5} ratios="" alone during r
  before=$(ps -o rss= -p $pid)
  : > "$work/rss"
  for r in $(seq 1 "$rounds"); do
    # Alone first in odd rounds, last in even ones (A D D A A D ...): what
    # a storm leaves behind (autovacuum of the sessions it wrote) does not
    # always fall on the run alone.
    [ $((r % 2)) = 0 ] || BENCH_ONLY="" bench demands_alone_$r "$base/api/v1/demands"
    wrk -t1 -c8 -d"$DURATION" -s bench/login.lua "$base" > "$OUT/$backend-login_storm_$r.txt" &
    local storm=$!
    ( while kill -0 $storm 2>/dev/null; do ps -o rss= -p $pid; sleep 0.1; done ) >> "$work/rss" &
    local sampler=$!
    BENCH_ONLY="" bench demands_during_logins_$r "$base/api/v1/demands"
    wait $storm || true
    wait $sampler || true
    [ $((r % 2)) = 1 ] || BENCH_ONLY="" bench demands_alone_$r "$base/api/v1/demands"
    alone=$(awk '$1=="99%" {print $2}' "$OUT/$backend-demands_alone_$r.txt")
    during=$(awk '$1=="99%" {print $2}' "$OUT/$backend-demands_during_logins_$r.txt")
    ratios="$ratios $alone:$during:$(awk '/Requests\/sec/ {print $2}' "$OUT/$backend-login_storm_$r.txt")"
  done
  peak=$(sort -n "$work/rss" | tail -1)
  python3 - "$backend" "$((before / 1024))" "$((peak / 1024))" $ratios <<'PY' | tee -a "$OUT/results.txt"
import statistics, sys
def ms(t):  # wrk prints 850.00us, 2.10ms or 1.02s
    for unit, f in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if t.endswith(unit):
            return float(t[: -len(unit)]) * f
backend, before, peak, *pairs = sys.argv[1:]
rows = [(ms(a), ms(d), float(l)) for a, d, l in (p.split(":") for p in pairs)]
alone = statistics.median(a for a, _, _ in rows)
during = statistics.median(d for _, d, _ in rows)
print(f"{backend:<10} login_storm              list p99 during / alone {during / alone:.2f}x "
      f"(median p99 {during:.2f} / {alone:.2f} ms over {len(rows)} pairs; the pairs: "
      + ", ".join(f"{d:.2f}/{a:.2f} = {d / a:.2f}x" for a, d, _ in rows)
      + f", their median {statistics.median(d / a for a, d, _ in rows):.2f}x); "
      f"{statistics.mean(l for *_, l in rows):.1f} logins/s; RSS {before} MiB before, peak {peak} MiB during")
PY
  kill $pid; wait $pid 2>/dev/null || true
  if [ "$backend" = postgres ]; then
    psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS wgb_bench_$$ WITH (FORCE)"
  fi
  rm -rf "$work"
}

echo "# $(date -u +%FT%TZ) DURATION=$DURATION CONNECTIONS=$CONNS $(nproc) cores" | tee -a "$OUT/results.txt"
case "$WHICH" in
  sqlite) run_backend sqlite ;;
  postgres) run_backend postgres ;;
  *) run_backend sqlite; run_backend postgres ;;
esac
