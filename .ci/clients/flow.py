"""The whole marketplace loop through the Python client that
openapi-python-client generates from openapi/openapi.json, against a running
server: register -> verify -> top up -> publish -> bid -> award -> deliver ->
confirm, then the money is checked. Any call answering other than expected
fails the run.

Environment: WGB_BASE_URL, WGB_ADMIN_LOGIN, WGB_ADMIN_PASSWORD,
WGB_ADMIN_TOTP_CODE (the admin's second factor: a code or a recovery code).
"""

import datetime
import os
import sys
import uuid
from decimal import Decimal

from weigongbao_platform_api_client import AuthenticatedClient, Client
from weigongbao_platform_api_client.api.admin import admin_verifications_approve
from weigongbao_platform_api_client.api.agreements import agreements_get_current
import re
import time

from weigongbao_platform_api_client.api.auth import (
    auth_login,
    auth_register,
    auth_verification_codes_create,
)
from weigongbao_platform_api_client.api.sandbox import sandbox_outbox
from weigongbao_platform_api_client.api.funds import me_account_get, me_top_ups_create
from weigongbao_platform_api_client.api.marketplace import (
    awards_confirm,
    awards_create,
    awards_deliver,
    bids_place,
    demands_get,
    demands_publish,
)
from weigongbao_platform_api_client.api.payments import payments_sandbox_complete
from weigongbao_platform_api_client.api.verification import me_verification_submit
from weigongbao_platform_api_client.models import (
    AccountKind,
    AwardRequest,
    ChannelName,
    CodeChannel,
    CodeRequest,
    DeliveryRequest,
    Evidence,
    GeoPoint,
    LoginRequest,
    NewBid,
    NewDemand,
    PayUnit,
    PaymentRequest,
    CodePurpose,
    RegisterRequest,
    SandboxOutcome,
    VerificationRequestIndividual,
    VerificationRequestIndividualKind,
    WorkPlan,
)

BASE = os.environ["WGB_BASE_URL"]
RUN = uuid.uuid4().hex[:8]


def ok(res, status, what):
    if res.status_code != status:
        sys.exit(f"{what}: expected {status}, got {int(res.status_code)}: {res.content[:300]!r}")
    return res.parsed


def resident_id(seq):
    """A valid 18-digit resident ID (GB 11643) of someone about 30."""
    birth = datetime.date.today().replace(day=1) - datetime.timedelta(days=365 * 30)
    first17 = f"110105{birth:%Y%m%d}{seq:03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights)) % 11]
    return first17 + check


def phone_code(phone):
    """ACC-12: asks for the phone's code and reads it from the development
    sender's record (GET /sandbox/outbox)."""
    anon = Client(BASE)
    request = CodeRequest(channel=CodeChannel.SMS, purpose=CodePurpose.REGISTER, target=phone)
    ok(auth_verification_codes_create.sync_detailed(client=anon, body=request), 202, "code")
    for _ in range(50):
        sent = ok(sandbox_outbox.sync_detailed(client=anon, recipient=phone), 200, "outbox")
        for message in sent:
            found = re.search(r"\b\d{6}\b", message.body)
            if found:
                return found.group()
        time.sleep(0.2)
    sys.exit(f"no code sent to {phone}")


def register(name, n, version):
    phone = f"139{int(RUN, 16) % 10**7:07d}{n}"[:11]
    body = RegisterRequest(
        member_name=f"{name}_{RUN}",
        password=f"Flow-pass-{RUN}-1",
        email=f"{name}.{RUN}@example.com",
        phone=phone,
        contact_name="流程测试",
        address="上海市徐汇区",
        account_kind=AccountKind.INDIVIDUAL,
        agreement_version=version,
        phone_code=phone_code(phone),
    )
    auth = ok(auth_register.sync_detailed(client=Client(BASE), body=body), 201, f"register {name}")
    return AuthenticatedClient(BASE, token=auth.tokens.access_token), auth.user.id


def verify(client, admin, seq):
    body = VerificationRequestIndividual(
        kind=VerificationRequestIndividualKind.INDIVIDUAL,
        legal_name="张三",
        id_number=resident_id(seq),
    )
    submitted = ok(me_verification_submit.sync_detailed(client=client, body=body), 201, "verify")
    ok(admin_verifications_approve.sync_detailed(submitted.id, client=admin), 200, "approve")


def main():
    anon = Client(BASE)
    version = ok(agreements_get_current.sync_detailed(client=anon), 200, "agreement").version
    login = LoginRequest(
        login=os.environ["WGB_ADMIN_LOGIN"],
        password=os.environ["WGB_ADMIN_PASSWORD"],
        totp_code=os.environ["WGB_ADMIN_TOTP_CODE"],
    )
    admin_auth = ok(auth_login.sync_detailed(client=anon, body=login), 200, "admin login")
    admin = AuthenticatedClient(BASE, token=admin_auth.tokens.access_token)

    employer, _ = register("employer", 1, version)
    provider, provider_id = register("provider", 2, version)
    seq = int(RUN, 16) % 900
    verify(employer, admin, seq)
    verify(provider, admin, seq + 1)

    # Top up 500.00 through the sandbox channel.
    payment = ok(
        me_top_ups_create.sync_detailed(
            client=employer,
            body=PaymentRequest(amount="500.00", channel=ChannelName.SANDBOX),
            idempotency_key=f"topup-{RUN}",
        ),
        201,
        "top up",
    )
    ok(
        payments_sandbox_complete.sync_detailed(payment.id, client=employer, body=SandboxOutcome(succeed=True)),
        200,
        "sandbox payment",
    )
    assert Decimal(ok(me_account_get.sync_detailed(client=employer), 200, "account").available) == Decimal("500.00")

    deadline = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=3)
    demand = ok(
        demands_publish.sync_detailed(
            client=employer,
            body=NewDemand(
                title="周末商场地推 2 人",
                description="商场门口派发传单并引导扫码注册，每天 6 小时，需拍照打卡。",
                category="ground_promotion",
                region_code="310104",
                region_name="上海市徐汇区",
                budget="400.00",
                workers_wanted=1,
                bid_deadline=deadline,
                work=WorkPlan(
                    address="徐家汇商场东门",
                    location=GeoPoint(lat=31.1955, lng=121.4374),
                    start_date=(deadline + datetime.timedelta(days=2)).date(),
                    end_date=(deadline + datetime.timedelta(days=3)).date(),
                    daily_start="10:00",
                    daily_end="18:00",
                    pay_unit=PayUnit.PER_DAY,
                ),
            ),
            idempotency_key=f"demand-{RUN}",
        ),
        201,
        "publish",
    )
    bid = ok(
        bids_place.sync_detailed(
            demand.id, client=provider, body=NewBid(price="300.00", proposal="两人团队，有商场地推经验。")
        ),
        201,
        "bid",
    )
    awards = ok(awards_create.sync_detailed(demand.id, client=employer, body=AwardRequest(bid_ids=[bid.id])), 201, "award")
    award = awards[0]
    assert Decimal(ok(me_account_get.sync_detailed(client=employer), 200, "account").held) == Decimal("300.00")
    ok(
        awards_deliver.sync_detailed(
            award.id,
            client=provider,
            body=DeliveryRequest(note="已完成两天地推", evidence=[Evidence(kind="checkin", location="徐家汇商场东门")]),
        ),
        200,
        "deliver",
    )
    done = ok(awards_confirm.sync_detailed(award.id, client=employer), 200, "confirm")
    assert str(done.status) == "completed", done.status
    employer_account = ok(me_account_get.sync_detailed(client=employer), 200, "account")
    provider_account = ok(me_account_get.sync_detailed(client=provider), 200, "account")
    assert Decimal(employer_account.available) == Decimal("200.00"), employer_account.available
    assert Decimal(employer_account.held) == Decimal("0.00"), employer_account.held
    # The provider is paid the price less the platform fee (SA 4.10).
    # (PLATFORM_FEE_BPS is left at its default, 500: 5% of 300.00.)
    assert Decimal(provider_account.available) == Decimal("285.00"), provider_account.available
    shown = ok(demands_get.sync_detailed(demand.id, client=anon), 200, "demand")
    print(
        f"python client flow ok: demand {shown.id} ({shown.status}), award {award.id} completed, "
        f"provider {provider_id} paid {provider_account.available}"
    )


if __name__ == "__main__":
    main()
