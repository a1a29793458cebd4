"""Schemathesis hooks: authenticate every request with a fresh login of the
seeded account, so an operation that ends the session (logout, deleting a
session, changing a password) does not leave the rest of the run unauthenticated.

The account comes from ST_LOGIN / ST_PASSWORD (and ST_TOTP_SECRET for a
staff account, ACC-14); the server from ST_BASE_URL.
"""

import os

import requests
import schemathesis

BASE = os.environ["ST_BASE_URL"].rstrip("/")


@schemathesis.auth(refresh_interval=60)
class SeededAccount:
    def get(self, case, context):
        secret = os.environ.get("ST_TOTP_SECRET")
        if secret:
            # ACC-14: a staff account logs in with its TOTP code.
            from staff_enrol import staff_login

            return staff_login(BASE, os.environ["ST_LOGIN"], os.environ["ST_PASSWORD"], secret)
        res = requests.post(
            f"{BASE}/api/v1/auth/login",
            json={"login": os.environ["ST_LOGIN"], "password": os.environ["ST_PASSWORD"]},
            timeout=10,
        )
        res.raise_for_status()
        return res.json()["tokens"]["access_token"]

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"
