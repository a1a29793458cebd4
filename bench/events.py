#!/usr/bin/env python3
"""MSG-2 event-stream benchmark: holds STREAMS open Server-Sent Events
streams (GET /api/v1/me/events) on server B spread over the given users,
reports server B's RSS with them open, then sends MESSAGES messages on
server A (a bidder to the demand owner) one every 50 ms and measures how
long each takes to reach an open stream of the owner on server B (the
cross-process path: PostgreSQL NOTIFY → listener → stream).

Usage: events.py BASE_A BASE_B PID_B CONVS_FILE OWNER_TOKEN STREAMS MESSAGES
(CONVS_FILE: "token conversation_id" per line, as run.sh writes it.)
"""
import asyncio
import json
import statistics
import sys
import time
import urllib.parse
import urllib.request

base_a, base_b, pid_b, convs_file, owner_token = sys.argv[1:6]
streams, messages = int(sys.argv[6]), int(sys.argv[7])
pairs = [line.split() for line in open(convs_file) if line.strip()]
tokens = [owner_token] + [t for t, _ in pairs]


async def open_stream(token, on_message=None):
    u = urllib.parse.urlparse(base_b)
    reader, writer = await asyncio.open_connection(u.hostname, u.port)
    writer.write(
        f"GET /api/v1/me/events HTTP/1.1\r\nHost: {u.hostname}\r\n"
        f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n".encode()
    )
    await writer.drain()
    status = await reader.readline()
    if b" 200 " not in status:
        raise SystemExit(f"stream refused: {status!r}")
    while await reader.readline() not in (b"\r\n", b""):
        pass
    return reader, writer


async def watch(reader, seen):
    """Records when each message text arrives (chunked framing is ignored:
    data lines are matched as they come)."""
    while True:
        line = await reader.readline()
        if not line:
            return
        if line.startswith(b"data: ") and b"bench-latency-" in line:
            text = json.loads(line[6:]).get("text", "")
            seen.setdefault(text, time.monotonic())


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def send(token, conv, text):
    req = urllib.request.Request(
        f"{base_a}/api/v1/conversations/{conv}/messages",
        data=json.dumps({"text": text}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(req).read()


async def main():
    before = rss_mib(pid_b)
    opened = []
    for i in range(streams):
        opened.append(await open_stream(tokens[i % len(tokens)]))
    await asyncio.sleep(1)
    held = rss_mib(pid_b)
    print(f"streams_open {streams}  RSS before {before:.0f} MiB, with streams {held:.0f} MiB")
    seen = {}
    # Every owner stream (index 0, len(tokens), …) is watched.
    watchers = [asyncio.create_task(watch(r, seen)) for i, (r, _) in enumerate(opened) if i % len(tokens) == 0]
    sent = {}
    loop = asyncio.get_running_loop()
    token, conv = pairs[0]
    for n in range(messages):
        text = f"bench-latency-{n}"
        sent[text] = time.monotonic()
        await loop.run_in_executor(None, send, token, conv, text)
        await asyncio.sleep(0.05)
    await asyncio.sleep(1)
    lat = sorted((seen[t] - sent[t]) * 1000 for t in sent if t in seen)
    lost = len(sent) - len(lat)
    if lat:
        p50 = statistics.median(lat)
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        print(f"cross_process_delivery  {len(lat)} messages  p50 {p50:.1f} ms  p99 {p99:.1f} ms  lost {lost}")
    else:
        print(f"cross_process_delivery  no message arrived (lost {lost})")
    for w in watchers:
        w.cancel()
    for _, writer in opened:
        writer.close()


asyncio.run(main())
