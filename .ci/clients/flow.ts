// The marketplace loop through openapi-fetch, typed by openapi-typescript
// from openapi/openapi.json: `tsc --noEmit` proves every path, body and
// response used here matches the document; run with node it drives a live
// server (register -> verify -> top up -> publish -> bid -> award ->
// deliver -> confirm).
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/schema.js";

const BASE = process.env.WGB_BASE_URL ?? "http://127.0.0.1:8080";
const RUN = Math.random().toString(16).slice(2, 10);

type Client = ReturnType<typeof createClient<paths>>;

function client(token?: string): Client {
  return createClient<paths>({
    baseUrl: BASE,
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
}

function must<T>(what: string, r: { data?: T; error?: unknown; response: Response }): T {
  if (r.data === undefined) {
    throw new Error(`${what}: ${r.response.status} ${JSON.stringify(r.error)}`);
  }
  return r.data;
}

function residentId(seq: number): string {
  const birth = new Date();
  birth.setUTCFullYear(birth.getUTCFullYear() - 30, 0, 15);
  const ymd = birth.toISOString().slice(0, 10).replaceAll("-", "");
  const first17 = `110105${ymd}${String(seq % 1000).padStart(3, "0")}`;
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...first17].reduce((acc, d, i) => acc + Number(d) * weights[i], 0);
  return first17 + "10X98765432"[sum % 11];
}

/** ACC-12: asks for the phone's code and reads it from the development
 * sender's record (`GET /sandbox/outbox`). */
async function phoneCode(phone: string): Promise<string> {
  must(
    "code",
    await client().POST("/api/v1/auth/verification-codes", {
      body: { channel: "sms", purpose: "register", target: phone },
    }),
  );
  for (let i = 0; i < 50; i++) {
    const sent = must(
      "sandbox outbox",
      await client().GET("/api/v1/sandbox/outbox", { params: { query: { recipient: phone } } }),
    );
    const code = sent.map((m) => /\b\d{6}\b/.exec(m.body)?.[0]).find((c) => c);
    if (code) return code;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no code sent to ${phone}`);
}

async function register(name: string, n: number, version: number) {
  const phone = `137${String(parseInt(RUN, 16) % 10_000_000).padStart(7, "0")}${n}`.slice(0, 11);
  const body: components["schemas"]["RegisterRequest"] = {
    member_name: `${name}_ts_${RUN}`,
    password: `Flow-pass-${RUN}-1`,
    email: `${name}.ts.${RUN}@example.com`,
    phone,
    contact_name: "流程测试",
    address: "上海市徐汇区",
    account_kind: "individual",
    agreement_version: version,
    phone_code: await phoneCode(phone),
  };
  const auth = must(`register ${name}`, await client().POST("/api/v1/auth/register", { body }));
  return { api: client(auth.tokens.access_token), id: auth.user.id };
}

async function verify(api: Client, admin: Client, seq: number) {
  const submitted = must(
    "verify",
    await api.POST("/api/v1/me/verification", {
      body: { kind: "individual", legal_name: "张三", id_number: residentId(seq) },
    }),
  );
  must(
    "approve",
    await admin.POST("/api/v1/admin/verifications/{id}/approve", {
      params: { path: { id: submitted.id } },
    }),
  );
}

async function main() {
  const agreement = must("agreement", await client().GET("/api/v1/agreements/current"));
  const adminAuth = must(
    "admin login",
    await client().POST("/api/v1/auth/login", {
      body: {
        login: process.env.WGB_ADMIN_LOGIN ?? "",
        password: process.env.WGB_ADMIN_PASSWORD ?? "",
        // ACC-14: staff log in with a second factor (here a recovery code).
        totp_code: process.env.WGB_ADMIN_TOTP_CODE,
      },
    }),
  );
  const admin = client(adminAuth.tokens.access_token);
  const employer = await register("employer", 3, agreement.version);
  const provider = await register("provider", 4, agreement.version);
  const seq = parseInt(RUN, 16) % 900;
  await verify(employer.api, admin, seq + 2);
  await verify(provider.api, admin, seq + 3);

  const payment = must(
    "top up",
    await employer.api.POST("/api/v1/me/account/top-ups", {
      params: { header: { "Idempotency-Key": `topup-ts-${RUN}` } },
      body: { amount: "500.00", channel: "sandbox" },
    }),
  );
  must(
    "sandbox payment",
    await employer.api.POST("/api/v1/payments/sandbox/{payment_id}/complete", {
      params: { path: { payment_id: payment.id } },
      body: { succeed: true },
    }),
  );
  const deadline = new Date(Date.now() + 3 * 86_400_000).toISOString();
  const demand = must(
    "publish",
    await employer.api.POST("/api/v1/demands", {
      params: { header: { "Idempotency-Key": `demand-ts-${RUN}` } },
      body: {
        title: "周末商场地推 1 人",
        description: "商场门口派发传单并引导扫码注册，每天 6 小时，需拍照打卡。",
        category: "ground_promotion",
        region_code: "310104",
        region_name: "上海市徐汇区",
        budget: "400.00",
        workers_wanted: 1,
        bid_deadline: deadline,
        work: {
          address: "徐家汇商场东门",
          location: { lat: 31.1955, lng: 121.4374 },
          start_date: new Date(Date.now() + 5 * 86_400_000).toISOString().slice(0, 10),
          end_date: new Date(Date.now() + 6 * 86_400_000).toISOString().slice(0, 10),
          daily_start: "10:00",
          daily_end: "18:00",
          pay_unit: "per_day",
        },
      },
    }),
  );
  const bid = must(
    "bid",
    await provider.api.POST("/api/v1/demands/{id}/bids", {
      params: { path: { id: demand.id } },
      body: { price: "300.00", proposal: "有商场地推经验。" },
    }),
  );
  const [award] = must(
    "award",
    await employer.api.POST("/api/v1/demands/{id}/awards", {
      params: { path: { id: demand.id } },
      body: { bid_ids: [bid.id] },
    }),
  );
  must(
    "deliver",
    await provider.api.POST("/api/v1/awards/{id}/deliver", {
      params: { path: { id: award.id } },
      body: { note: "已完成", evidence: [{ kind: "checkin", location: "徐家汇商场东门" }] },
    }),
  );
  const done = must(
    "confirm",
    await employer.api.POST("/api/v1/awards/{id}/confirm", { params: { path: { id: award.id } } }),
  );
  const status: components["schemas"]["AwardStatus"] = done.status;
  const account = must("account", await provider.api.GET("/api/v1/me/account"));
  if (status !== "completed" || account.available !== "285.00") {
    throw new Error(`unexpected end state: ${status}, provider has ${account.available}`);
  }
  console.log(`typescript client flow ok: award ${award.id} ${status}, provider paid ${account.available}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
