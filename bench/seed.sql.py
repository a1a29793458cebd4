#!/usr/bin/env python3
"""Prints SQL that seeds the benchmark data set for one backend:
one verified employer, BIDDERS verified providers (each with a live session
made by logging in later), DEMANDS open demands and BIDS bids.

Usage: seed.sql.py sqlite|postgres DEMANDS BIDS BIDDERS
"""
import sys

backend, demands, bids, bidders = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
# A fixed Argon2id hash of the benchmark password (see run.sh), so seeding
# does not spend seconds hashing.
PASSWORD_HASH = sys.stdin.read().strip()
now = "'2026-11-21 00:00:00'"
deadline = "'2036-01-01 00:00:00'"
out = []
out.append("BEGIN;")
users = bidders + 1
for i in range(1, users + 1):
    out.append(
        "INSERT INTO users (id, member_name, member_name_key, email, email_key, phone, password_hash, contact_name, address, account_kind, role, status, created_at, updated_at, last_login_at) "
        f"VALUES ({i}, 'bench_{i}', 'bench_{i}', 'bench{i}@example.com', 'bench{i}@example.com', '139{i:08d}', '{PASSWORD_HASH}', 'Bench', 'Bench', 'individual', 'user', 'active', {now}, {now}, {now});"
    )
    out.append(f"INSERT INTO agreement_acceptances (user_id, version, accepted_at, ip) VALUES ({i}, 1, {now}, '127.0.0.1');")
    out.append(
        "INSERT INTO verifications (user_id, kind, legal_name, identity_hash, identity_masked, status, submitted_at, reviewed_at) "
        f"VALUES ({i}, 'individual', 'Bench', 'bench-identity-{i}', '1101**********000{i % 10}', 'approved', {now}, {now});"
    )
if backend == "postgres":
    out.append(f"SELECT setval('users_id_seq', {users});")
categories = ["ground_promotion", "flyer_distribution", "app_user_acquisition", "store_promotion", "event_staffing", "market_survey", "mystery_shopping", "other"]
regions = ["310104", "310101", "110105", "440305", "330106", "510107"]
series = (
    f"generate_series(1, {demands}) AS g(n)"
    if backend == "postgres"
    else f"(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {demands}) SELECT n FROM s) AS g"
)
cat = "CASE (n % 8) " + " ".join(f"WHEN {i} THEN '{c}'" for i, c in enumerate(categories)) + " END"
reg = "CASE (n % 6) " + " ".join(f"WHEN {i} THEN '{r}'" for i, r in enumerate(regions)) + " END"
title = "'周末商场地推 ' || n || ' 号'"
desc = "'商场门口派发传单并引导扫码注册，每天 6 小时，需拍照打卡。编号 ' || n"
# WRK-2: work locations spread over ~55 x 57 km around Shanghai (a point
# every ~0.5 km), with their 0.1-degree grid cell.
lat = "(31.0 + (n % 997) * 0.0005)"
lng = "(121.2 + ((CAST(n AS BIGINT) * 7919) % 1009) * 0.0006)"
floor = (lambda x: f"floor({x})") if backend == "postgres" else (lambda x: f"CAST({x} AS INTEGER)")
cell = f"{floor(f'({lat} + 90) * 10')} * 10000 + {floor(f'({lng} + 180) * 10')}"
out.append(
    "INSERT INTO demands (owner_id, title, description, category, region_code, region_name, budget, workers_wanted, bid_deadline, status, bid_count, search_text, created_at, updated_at, lat, lng, geo_cell) "
    f"SELECT 1, {title}, {desc}, {cat}, {reg}, '上海市徐汇区', 10000 + (n % 500) * 100, 1 + (n % 5), {deadline}, 'open', 0, "
    f"lower({title} || ' ' || {desc}), {now}, {now}, {lat}, {lng}, {cell} FROM {series};"
)
# Bids on the oldest demands, spread over the bidders.
bseries = series.replace(str(demands), str(bids))
out.append(
    "INSERT INTO bids (demand_id, provider_id, price, proposal, status, created_at, updated_at) "
    f"SELECT n, 2 + (n % {bidders}), 9000 + (n % 100) * 10, '经验丰富，周末全天', 'active', {now}, {now} FROM {bseries};"
)
out.append("UPDATE demands SET bid_count = 1 WHERE id <= %d;" % bids)
out.append("COMMIT;")
if backend == "sqlite":
    out.append("ANALYZE;")
else:
    out.append("ANALYZE;")
print("\n".join(out))
