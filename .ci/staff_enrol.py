"""Staff second factor (ACC-14) for the CI scripts: enrol a staff account's
TOTP through the API and compute codes (RFC 6238, HMAC-SHA1, 6 digits, 30 s).

  python3 .ci/staff_enrol.py BASE_URL LOGIN PASSWORD
      logs in (the session of a staff member without TOTP may only enrol),
      enrols, confirms with the current code, and prints
      {"secret": ..., "recovery_codes": [...]} as JSON.

Imported by st_hooks.py for `totp()` and `staff_login()`.
"""

import base64
import hashlib
import hmac
import json
import struct
import sys
import time

import requests


def totp(secret, at=None):
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 15
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def staff_login(base, login, password, secret):
    """Logs in with the current code; a code is accepted once, so when this
    step's code was used already, waits for the next step."""
    for _ in range(3):
        res = requests.post(
            f"{base}/api/v1/auth/login",
            json={"login": login, "password": password, "totp_code": totp(secret)},
            timeout=10,
        )
        if res.status_code == 401 and res.json().get("code") == "auth.totp_invalid":
            time.sleep(30 - time.time() % 30 + 0.5)
            continue
        res.raise_for_status()
        return res.json()["tokens"]["access_token"]
    raise SystemExit("staff login: TOTP refused three times")


def enrol(base, login, password):
    res = requests.post(
        f"{base}/api/v1/auth/login", json={"login": login, "password": password}, timeout=10
    )
    res.raise_for_status()
    token = res.json()["tokens"]["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    res = requests.post(f"{base}/api/v1/admin/me/totp", headers=auth, timeout=10)
    res.raise_for_status()
    secret = res.json()["secret"]
    res = requests.post(
        f"{base}/api/v1/admin/me/totp/confirm",
        headers=auth,
        json={"code": totp(secret)},
        timeout=10,
    )
    res.raise_for_status()
    return {"secret": secret, "recovery_codes": res.json()["recovery_codes"]}


if __name__ == "__main__":
    base_url, login_name, pw = sys.argv[1:4]
    print(json.dumps(enrol(base_url.rstrip("/"), login_name, pw)))
