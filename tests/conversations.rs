//! Conversations (MSG-1..8, issue 15) through HTTP: an award opens the
//! parties' conversation, contact details are masked before it, messages
//! are delivered and read, prohibited words refused and abuse flagged, a
//! block during work and a silent provider become evidence, staff read
//! only through a case, and a violation shows the evidence it cites.

mod common;

use actix_web::http::Method;
use chrono::Duration;
use common::{Account, TestApp};
use serde_json::{Value, json};
use weigongbao::users::models::Role;

async fn send(app: &TestApp, who: &Account, conv: i64, text: &str) -> common::Res {
    app.post(&format!("/api/v1/conversations/{conv}/messages"))
        .bearer(&who.access)
        .json(json!({ "text": text }))
        .send()
        .await
}

async fn timeline(app: &TestApp, who: &Account, conv: i64, query: &str) -> Value {
    let res = app
        .get(&format!("/api/v1/conversations/{conv}/messages{query}"))
        .bearer(&who.access)
        .send()
        .await;
    res.assert(200);
    res.json
}

async fn conversation_of(app: &TestApp, deal: &common::Deal) -> i64 {
    let award = app
        .get(&format!("/api/v1/awards/{}", deal.award))
        .bearer(&deal.employer.access)
        .send()
        .await;
    award.json["conversation_id"]
        .as_i64()
        .expect("conversation_id")
}

async fn evidence(app: &TestApp, staff: &Account, query: &str) -> Vec<Value> {
    let res = app
        .get(&format!("/api/v1/admin/evidence{query}"))
        .bearer(&staff.access)
        .send()
        .await;
    res.assert(200);
    res.json["items"].as_array().unwrap().clone()
}

#[actix_web::test]
async fn msg1_msg8_a_provider_asks_before_bidding_masked_and_the_award_continues_the_conversation()
{
    let app = TestApp::new().await;
    let employer = app.verified_user().await;
    let provider = app.verified_user().await;
    let stranger = app.user().await;
    app.fund(&employer, "1000.00").await;
    let demand = app
        .demand(&employer, app.demand_body("商场地推", "800.00", 1))
        .await;
    let path = format!("/api/v1/demands/{demand}/conversations");
    let opened = app.post(&path).bearer(&provider.access).send().await;
    opened.assert(201);
    let conv = opened.json["id"].as_i64().unwrap();
    assert_eq!(opened.json["stage"], "pre_award");
    assert_eq!(opened.json["award_id"], Value::Null);
    // Asking again returns the same conversation; the owner cannot ask
    // themself.
    let again = app.post(&path).bearer(&provider.access).send().await;
    again.assert(200);
    assert_eq!(again.json["id"], conv);
    app.post(&path)
        .bearer(&employer.access)
        .send()
        .await
        .assert_problem(422, "conversation.own_demand");

    // MSG-8: before an award, contact details reach the other side masked;
    // the sender sees what they wrote.
    send(
        &app,
        &provider,
        conv,
        "可以先加微信 wxid_zhang88 或打 138-1234-5678 聊",
    )
    .await
    .assert(201);
    let seen = timeline(&app, &employer, conv, "").await;
    let text = seen["items"][0]["text"].as_str().unwrap();
    assert!(
        !text.contains("5678") && !text.contains("wxid_zhang88"),
        "{text}"
    );
    assert_eq!(seen["items"][0]["masked"], true);
    let mine = timeline(&app, &provider, conv, "").await;
    assert!(
        mine["items"][0]["text"]
            .as_str()
            .unwrap()
            .contains("138-1234-5678")
    );
    assert_eq!(mine["items"][0]["masked"], false);
    // A stranger does not find it.
    app.get(&format!("/api/v1/conversations/{conv}/messages"))
        .bearer(&stranger.access)
        .send()
        .await
        .assert_problem(404, "conversation.not_found");
    send(&app, &stranger, conv, "你好").await.assert(404);

    // MSG-1: the award continues this conversation, with the award as a
    // system event; from now on contact details are shown.
    let bid = app.bid(&provider, demand, "500.00").await;
    let award = app.award_bid(&employer, demand, bid, None).await;
    let award_view = app
        .get(&format!("/api/v1/awards/{award}"))
        .bearer(&provider.access)
        .send()
        .await;
    assert_eq!(award_view.json["conversation_id"], conv);
    let seen = timeline(&app, &employer, conv, "").await;
    let items = seen["items"].as_array().unwrap();
    assert!(items[0]["text"].as_str().unwrap().contains("138-1234-5678"));
    assert_eq!(items[1]["kind"], "system");
    assert_eq!(items[1]["event"], "award");
    assert_eq!(items[1]["sender_id"], Value::Null);
    let listed = app
        .get("/api/v1/conversations")
        .bearer(&employer.access)
        .send()
        .await;
    assert_eq!(listed.json["items"][0]["id"], conv);
    assert_eq!(listed.json["items"][0]["stage"], "in_progress");
    assert_eq!(listed.json["items"][0]["award_id"], award);
}

#[actix_web::test]
async fn msg2_messages_carry_send_delivery_and_read_times_with_unread_counts() {
    let app = TestApp::new().await;
    let deal = app.deal().await;
    let conv = conversation_of(&app, &deal).await;
    for i in 1..=3 {
        send(&app, &deal.employer, conv, &format!("第 {i} 条"))
            .await
            .assert(201);
    }
    let unread = |list: &Value| list["items"][0]["unread"].as_i64().unwrap();
    let listed = app
        .get("/api/v1/conversations")
        .bearer(&deal.provider.access)
        .send()
        .await;
    assert_eq!(unread(&listed.json), 3);
    // The sender sees them sent, not yet delivered.
    let sent = timeline(&app, &deal.employer, conv, "").await;
    let last = sent["items"].as_array().unwrap().last().unwrap().clone();
    assert!(last["sent_at"].is_string());
    assert_eq!(last["delivered_at"], Value::Null);
    // Reading the timeline delivers; paging goes both ways.
    let page = timeline(&app, &deal.provider, conv, "?limit=2").await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(page["has_older"], true);
    assert_eq!(page["has_newer"], false);
    assert!(items[1]["delivered_at"].is_string());
    let newest = items[1]["id"].as_i64().unwrap();
    let first = items[0]["id"].as_i64().unwrap();
    let older = timeline(&app, &deal.provider, conv, &format!("?before={first}")).await;
    assert!(
        older["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["id"].as_i64().unwrap() < first)
    );
    let newer = timeline(&app, &deal.provider, conv, &format!("?after={first}")).await;
    assert_eq!(newer["items"][0]["id"], newest);
    // Reading up to the newest clears the count and stamps read_at.
    let read = app
        .post(&format!("/api/v1/conversations/{conv}/read"))
        .bearer(&deal.provider.access)
        .json(json!({"up_to": newest}))
        .send()
        .await;
    read.assert(200);
    assert_eq!(read.json["unread"], 0);
    let sent = timeline(&app, &deal.employer, conv, "").await;
    let last = sent["items"].as_array().unwrap().last().unwrap().clone();
    assert!(last["read_at"].is_string());
    // The recipient was told once, not per message.
    let told = || async {
        app.notification_kinds(&deal.provider.access)
            .await
            .iter()
            .filter(|k| *k == "message.received")
            .count()
    };
    assert_eq!(told().await, 1);
    // A retried send with its key is one message.
    let key_send = || {
        app.post(&format!("/api/v1/conversations/{conv}/messages"))
            .bearer(&deal.provider.access)
            .header("Idempotency-Key", "msg-retry-1")
            .json(json!({"text": "收到"}))
            .send()
    };
    let a = key_send().await;
    a.assert(201);
    let b = key_send().await;
    assert_eq!(a.json["id"], b.json["id"]);
    let all = timeline(&app, &deal.employer, conv, "?limit=100").await;
    let copies = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["text"] == "收到")
        .count();
    assert_eq!(copies, 1);
    // Nothing at all is not a message.
    app.post(&format!("/api/v1/conversations/{conv}/messages"))
        .bearer(&deal.provider.access)
        .json(json!({"text": "   "}))
        .send()
        .await
        .assert_problem(422, "message.empty");
    // Everything read, the next message tells the recipient again.
    send(&app, &deal.employer, conv, "第 4 条")
        .await
        .assert(201);
    assert_eq!(told().await, 2);
    // ACC-7: the send checks the session itself (issue 13): a logged-out
    // token cannot send.
    app.post("/api/v1/auth/logout")
        .bearer(&deal.employer.access)
        .send()
        .await
        .assert(204);
    send(&app, &deal.employer, conv, "还在吗")
        .await
        .assert_problem(401, "auth.session_ended");
}

#[actix_web::test]
async fn msg3_prohibited_words_are_refused_and_abuse_is_delivered_flagged_and_recorded() {
    let app = TestApp::new().await;
    let deal = app.deal().await;
    let conv = conversation_of(&app, &deal).await;
    let moderator = app.staff(Role::Moderator).await;
    app.post("/api/v1/admin/prohibited-words")
        .bearer(&moderator.access)
        .json(json!({"word": "私彩代购", "category": "obscenity_gambling_violence"}))
        .send()
        .await
        .assert(201);
    let added = app
        .post("/api/v1/admin/abuse-words")
        .bearer(&moderator.access)
        .json(json!({"word": "废物", "category": "insult"}))
        .send()
        .await;
    added.assert(201);
    assert_eq!(added.json["category"], "insult");
    let list = app
        .get("/api/v1/admin/abuse-words")
        .bearer(&moderator.access)
        .send()
        .await;
    assert_eq!(list.json["items"][0]["word"], "废物");
    // The abuse list is not the prohibited list, and vice versa.
    let prohibited = app
        .get("/api/v1/admin/prohibited-words")
        .bearer(&moderator.access)
        .send()
        .await;
    assert!(
        prohibited.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w["word"] != "废物")
    );

    let refused = send(&app, &deal.provider, conv, "帮你 私彩-代购 吧").await;
    refused.assert_problem(422, "message.prohibited");
    assert_eq!(refused.json["category"], "obscenity_gambling_violence");
    let abusive = send(&app, &deal.provider, conv, "你就是个废物").await;
    abusive.assert(201);
    assert_eq!(abusive.json["flagged"], true);
    let seen = timeline(&app, &deal.employer, conv, "").await;
    let last = seen["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["text"], "你就是个废物");
    assert_eq!(last["flagged"], true);
    let records = evidence(&app, &moderator, "?kind=abusive_message").await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["user_id"], deal.provider.id);
    assert_eq!(records[0]["message_id"], abusive.json["id"]);
    assert_eq!(records[0]["award_id"], deal.award);
    assert_eq!(records[0]["status"], "open");
    // Removing the word stops the flag.
    let id = added.json["id"].as_i64().unwrap();
    app.req(Method::DELETE, &format!("/api/v1/admin/abuse-words/{id}"))
        .bearer(&moderator.access)
        .send()
        .await
        .assert(204);
    let calm = send(&app, &deal.provider, conv, "你就是个废物").await;
    assert_eq!(calm.json["flagged"], false);
}

#[actix_web::test]
async fn msg4_a_provider_blocking_the_employer_during_work_is_evidence_and_refuses_messages() {
    let app = TestApp::new().await;
    let deal = app.deal().await;
    let conv = conversation_of(&app, &deal).await;
    let moderator = app.staff(Role::Moderator).await;
    let blocked = app
        .post(&format!("/api/v1/conversations/{conv}/block"))
        .bearer(&deal.provider.access)
        .send()
        .await;
    blocked.assert(200);
    assert_eq!(blocked.json["blocked_by_me"], true);
    send(&app, &deal.employer, conv, "明天还来吗？")
        .await
        .assert_problem(403, "conversation.blocked");
    let records = evidence(&app, &moderator, "?kind=block").await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["user_id"], deal.provider.id);
    assert!(
        app.notification_kinds(&deal.employer.access)
            .await
            .contains(&"conversation.blocked".to_string())
    );
    // Blocking again records nothing more; unblocking lets messages in.
    app.post(&format!("/api/v1/conversations/{conv}/block"))
        .bearer(&deal.provider.access)
        .send()
        .await
        .assert(200);
    assert_eq!(evidence(&app, &moderator, "?kind=block").await.len(), 1);
    app.req(
        Method::DELETE,
        &format!("/api/v1/conversations/{conv}/block"),
    )
    .bearer(&deal.provider.access)
    .send()
    .await
    .assert(200);
    send(&app, &deal.employer, conv, "明天还来吗？")
        .await
        .assert(201);
    // An employer blocking is their right and no evidence.
    app.post(&format!("/api/v1/conversations/{conv}/block"))
        .bearer(&deal.employer.access)
        .send()
        .await
        .assert(200);
    assert_eq!(evidence(&app, &moderator, "?kind=block").await.len(), 1);
    send(&app, &deal.provider, conv, "好的")
        .await
        .assert_problem(403, "conversation.blocked");
}

#[actix_web::test]
async fn msg4_a_provider_leaving_during_work_is_evidence_and_writing_again_returns() {
    let app = TestApp::new().await;
    let deal = app.deal().await;
    let conv = conversation_of(&app, &deal).await;
    let moderator = app.staff(Role::Moderator).await;
    let left = app
        .post(&format!("/api/v1/conversations/{conv}/leave"))
        .bearer(&deal.provider.access)
        .send()
        .await;
    left.assert(200);
    assert_eq!(left.json["left_by_me"], true);
    let records = evidence(&app, &moderator, "?kind=left").await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["user_id"], deal.provider.id);
    assert!(
        app.notification_kinds(&deal.employer.access)
            .await
            .contains(&"conversation.left".to_string())
    );
    // Leaving again records nothing more.
    app.post(&format!("/api/v1/conversations/{conv}/leave"))
        .bearer(&deal.provider.access)
        .send()
        .await
        .assert(200);
    assert_eq!(evidence(&app, &moderator, "?kind=left").await.len(), 1);
    // The employer's messages still arrive, without a notice to the one who left.
    let before = app.notification_kinds(&deal.provider.access).await.len();
    send(&app, &deal.employer, conv, "明天还来吗？")
        .await
        .assert(201);
    assert_eq!(
        app.notification_kinds(&deal.provider.access).await.len(),
        before
    );
    let seen = app
        .get(&format!("/api/v1/conversations/{conv}/messages"))
        .bearer(&deal.employer.access)
        .send()
        .await;
    assert!(seen.text.contains("明天还来吗"), "{}", seen.text);
    let view = app
        .get("/api/v1/conversations")
        .bearer(&deal.employer.access)
        .send()
        .await;
    assert_eq!(
        view.json["items"][0]["left_by_other"], true,
        "{}",
        view.text
    );
    // Writing again is returning.
    send(&app, &deal.provider, conv, "来的").await.assert(201);
    let view = app
        .get("/api/v1/conversations")
        .bearer(&deal.provider.access)
        .send()
        .await;
    assert_eq!(view.json["items"][0]["left_by_me"], false, "{}", view.text);
    // An employer leaving is their right and no evidence.
    app.post(&format!("/api/v1/conversations/{conv}/leave"))
        .bearer(&deal.employer.access)
        .send()
        .await
        .assert(200);
    assert_eq!(evidence(&app, &moderator, "?kind=left").await.len(), 1);
    app.req(
        Method::DELETE,
        &format!("/api/v1/conversations/{conv}/leave"),
    )
    .bearer(&deal.employer.access)
    .send()
    .await
    .assert(200);
}

#[actix_web::test]
async fn msg5_an_unanswered_employer_warns_at_24_hours_and_records_unreachable_at_48() {
    let app = TestApp::new().await;
    let deal = app.deal().await;
    let conv = conversation_of(&app, &deal).await;
    let moderator = app.staff(Role::Moderator).await;
    send(&app, &deal.employer, conv, "明天几点到？")
        .await
        .assert(201);
    app.clock.advance(Duration::hours(23));
    let run = app.run_jobs().await;
    assert_eq!((run.contact_warnings, run.contact_unreachable), (0, 0));
    // A second employer message does not restart the clock.
    let employer = app.relog(&deal.employer).await;
    send(&app, &employer, conv, "在吗？").await.assert(201);
    app.clock.advance(Duration::hours(1) + Duration::minutes(1));
    let run = app.run_jobs().await;
    assert_eq!((run.contact_warnings, run.contact_unreachable), (1, 0));
    let provider = app.relog(&deal.provider).await;
    assert!(
        app.notification_kinds(&provider.access)
            .await
            .contains(&"contact.warning".to_string())
    );
    app.clock.advance(Duration::hours(24));
    let run = app.run_jobs().await;
    assert_eq!((run.contact_warnings, run.contact_unreachable), (0, 1));
    assert_eq!(app.run_jobs().await.contact_unreachable, 0);
    let moderator = app.relog(&moderator).await;
    let records = evidence(&app, &moderator, "?kind=unreachable").await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["user_id"], deal.provider.id);
    assert_eq!(records[0]["conversation_id"], conv);

    // A provider's answer stops the clock.
    let provider = app.relog(&provider).await;
    send(&app, &provider, conv, "抱歉，手机坏了")
        .await
        .assert(201);
    let employer = app.relog(&employer).await;
    send(&app, &employer, conv, "明天照常").await.assert(201);
    let provider = app.relog(&provider).await;
    send(&app, &provider, conv, "好的").await.assert(201);
    app.clock.advance(Duration::hours(72));
    let run = app.run_jobs().await;
    assert_eq!((run.contact_warnings, run.contact_unreachable), (0, 0));
}

#[actix_web::test]
async fn msg7_staff_read_through_a_case_audited_and_a_violation_shows_its_evidence() {
    let app = TestApp::new().await;
    let deal = app.deal().await;
    let other = app.deal().await;
    let conv = conversation_of(&app, &deal).await;
    let moderator = app.staff(Role::Moderator).await;
    let admin_path = format!("/api/v1/admin/conversations/{conv}/messages");
    // MSG-7: no ground, no read.
    app.get(&admin_path)
        .bearer(&moderator.access)
        .send()
        .await
        .assert_problem(400, "request.invalid_query");
    app.get(&format!("{admin_path}?via=curiosity:1"))
        .bearer(&moderator.access)
        .send()
        .await
        .assert_problem(422, "conversation.via_required");
    // A dispute about another award is no ground.
    let unrelated = app
        .post(&format!("/api/v1/awards/{}/disputes", other.award))
        .bearer(&other.employer.access)
        .json(json!({"category": "other", "claim_amount": "1.00", "statement": "别的订单"}))
        .send()
        .await;
    unrelated.assert(201);
    app.get(&format!(
        "{admin_path}?via=dispute:{}",
        unrelated.json["id"]
    ))
    .bearer(&moderator.access)
    .send()
    .await
    .assert_problem(403, "conversation.via_unrelated");
    // A complaint about this award is: the read is audited.
    app.post("/api/v1/admin/abuse-words")
        .bearer(&moderator.access)
        .json(json!({"word": "滚蛋", "category": "insult"}))
        .send()
        .await
        .assert(201);
    send(&app, &deal.provider, conv, "你给我滚蛋")
        .await
        .assert(201);
    let complaint = app
        .post("/api/v1/complaints")
        .bearer(&deal.employer.access)
        .json(json!({"target_type": "award", "target_id": deal.award,
                     "category": "abusive_language", "text": "服务商在会话中辱骂我。"}))
        .send()
        .await;
    complaint.assert(201);
    let cid = complaint.json["id"].as_i64().unwrap();
    let read = app
        .get(&format!("{admin_path}?via=complaint:{cid}"))
        .bearer(&moderator.access)
        .send()
        .await;
    read.assert(200);
    assert!(
        read.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["text"] == "你给我滚蛋")
    );
    assert!(
        app.audit_actions("conversation", &conv.to_string())
            .await
            .contains(&"conversation.read".to_string())
    );
    // A violation cites the evidence; the user sees it with the violation.
    let record = evidence(&app, &moderator, "?kind=abusive_message").await[0].clone();
    let violation = app
        .post("/api/v1/admin/violations")
        .bearer(&moderator.access)
        .json(
            json!({"user_id": deal.provider.id, "category": "abusive_language",
                     "source": "complaint", "facts": "会话中辱骂雇主。",
                     "decision": "辱骂雇主，扣除信用分 5 分。", "complaint_ids": [cid],
                     "evidence_ids": [record["id"]],
                     "measures": [{"kind": "deduct_credit", "points": 5}]}),
        )
        .send()
        .await;
    violation.assert(201);
    assert_eq!(violation.json["evidence"][0]["id"], record["id"]);
    let mine = app
        .get("/api/v1/me/violations")
        .bearer(&deal.provider.access)
        .send()
        .await;
    assert_eq!(
        mine.json["items"][0]["evidence"][0]["kind"],
        "abusive_message"
    );
    assert_eq!(
        evidence(&app, &moderator, "?status=cited").await[0]["violation_id"],
        violation.json["id"]
    );
    // Cited evidence cannot be cited again, nor evidence about someone else.
    let again = app
        .post("/api/v1/admin/violations")
        .bearer(&moderator.access)
        .json(
            json!({"user_id": deal.provider.id, "category": "other", "source": "inspection",
                     "facts": "再次", "decision": "再次", "evidence_ids": [record["id"]]}),
        )
        .send()
        .await;
    again.assert_problem(422, "evidence.not_citable");
    // Through the violation citing its evidence, staff read too.
    app.get(&format!(
        "{admin_path}?via=violation:{}",
        violation.json["id"]
    ))
    .bearer(&moderator.access)
    .send()
    .await
    .assert(200);
}

#[actix_web::test]
async fn msg1_the_timeline_shows_the_award_steps_and_closes_30_days_after_the_end() {
    let app = TestApp::new().await;
    let deal = app.deal().await;
    let conv = conversation_of(&app, &deal).await;
    app.post(&format!("/api/v1/awards/{}/deliver", deal.award))
        .bearer(&deal.provider.access)
        .json(json!({"note": "完成"}))
        .send()
        .await
        .assert(200);
    app.post(&format!("/api/v1/awards/{}/confirm", deal.award))
        .bearer(&deal.employer.access)
        .send()
        .await
        .assert(200);
    let seen = timeline(&app, &deal.employer, conv, "").await;
    let events: Vec<&str> = seen["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["event"].as_str())
        .collect();
    assert_eq!(events, ["award", "delivery", "ended"]);
    send(&app, &deal.employer, conv, "合作愉快")
        .await
        .assert(201);
    app.clock.advance(Duration::days(30) + Duration::minutes(1));
    let employer = app.relog(&deal.employer).await;
    send(&app, &employer, conv, "还在吗")
        .await
        .assert_problem(409, "conversation.read_only");
    // Still readable.
    let seen = timeline(&app, &employer, conv, "").await;
    assert!(
        seen["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["text"] == "合作愉快")
    );
}

/// Reads chunks of a streaming response until `pred` holds of what was
/// read or `secs` pass.
async fn read_until(
    body: &mut actix_web::body::BoxBody,
    text: &mut String,
    secs: u64,
    pred: impl Fn(&str) -> bool,
) {
    use actix_web::body::MessageBody;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !pred(text) && std::time::Instant::now() < deadline {
        let next = actix_web::rt::time::timeout(
            std::time::Duration::from_millis(200),
            futures_util::future::poll_fn(|cx| std::pin::Pin::new(&mut *body).poll_next(cx)),
        )
        .await;
        if let Ok(Some(Ok(chunk))) = next {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

async fn open_stream(
    app: &TestApp,
    who: &Account,
    last: Option<&str>,
) -> actix_web::dev::ServiceResponse {
    let mut req = actix_web::test::TestRequest::get()
        .uri("/api/v1/me/events")
        .insert_header(("authorization", format!("Bearer {}", who.access)));
    if let Some(last) = last {
        req = req.insert_header(("last-event-id", last));
    }
    (app.call)(req.to_request()).await.expect("stream")
}

#[actix_web::test]
async fn msg2_the_event_stream_delivers_messages_live_and_resumes_from_last_event_id() {
    let app = TestApp::new().await;
    let deal = app.deal().await;
    let conv = conversation_of(&app, &deal).await;
    let res = open_stream(&app, &deal.provider, None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers().get("content-type").unwrap().to_str().unwrap(),
        "text/event-stream"
    );
    let mut body = res.into_body();
    let mut text = String::new();
    read_until(&mut body, &mut text, 5, |t| t.contains("retry:")).await;
    // Only what happens from now on: the award's own event came before.
    assert!(!text.contains("event: award"), "{text}");
    send(&app, &deal.employer, conv, "明早 9 点东门见")
        .await
        .assert(201);
    read_until(&mut body, &mut text, 5, |t| t.contains("明早 9 点东门见")).await;
    assert!(text.contains("event: message"), "{text}");
    assert!(text.contains("event: notification"), "{text}");
    let first_id: i64 = text
        .lines()
        .find_map(|l| l.strip_prefix("id: "))
        .and_then(|id| id.parse().ok())
        .expect("an event id");
    drop(body);

    // While disconnected: another message. Resuming from the first event
    // delivers what came after it, not the first again.
    send(&app, &deal.employer, conv, "收到请回复")
        .await
        .assert(201);
    let res = open_stream(&app, &deal.provider, Some(&first_id.to_string())).await;
    let mut body = res.into_body();
    let mut again = String::new();
    read_until(&mut body, &mut again, 5, |t| t.contains("收到请回复")).await;
    assert!(again.contains("收到请回复"), "{again}");
    assert!(!again.contains(&format!("id: {first_id}\n")), "{again}");
    // A bad Last-Event-ID is a clear 400, not a stream.
    let bad = open_stream(&app, &deal.provider, Some("abc")).await;
    assert_eq!(bad.status(), 400);
    // A stranger's stream hears nothing of it.
    let stranger = app.user().await;
    let res = open_stream(&app, &stranger, None).await;
    let mut body = res.into_body();
    let mut other = String::new();
    send(&app, &deal.employer, conv, "只给服务商")
        .await
        .assert(201);
    read_until(&mut body, &mut other, 1, |t| t.contains("只给服务商")).await;
    assert!(!other.contains("只给服务商"), "{other}");
}

#[actix_web::test]
async fn msg2_an_account_holds_a_bounded_number_of_streams() {
    let app = TestApp::with_settings(&[("EVENT_STREAMS_PER_USER", "2")]).await;
    let user = app.user().await;
    let a = open_stream(&app, &user, None).await;
    let b = open_stream(&app, &user, None).await;
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (200, 200));
    let c = open_stream(&app, &user, None).await;
    assert_eq!(c.status(), 429);
    // Closing one frees its place.
    drop(a);
    assert_eq!(open_stream(&app, &user, None).await.status(), 200);
}

async fn upload_pdf(app: &TestApp, who: &Account) -> i64 {
    app.upload_file(
        &who.access,
        "方案.pdf",
        b"%PDF-1.7\nconfidential plan",
        "message",
    )
    .await
}

#[actix_web::test]
async fn msg6_confidential_files_wait_for_the_accepted_terms_and_each_download_is_evidence() {
    let app = TestApp::new().await;
    let employer = app.verified_user().await;
    let provider = app.verified_user().await;
    let moderator = app.staff(Role::Moderator).await;
    app.fund(&employer, "1000.00").await;
    let demand = app
        .demand(&employer, app.demand_body("新品推广", "800.00", 1))
        .await;
    let bid = app.bid(&provider, demand, "500.00").await;
    let award = app
        .award_bid(&employer, demand, bid, Some("推广方案及客户名单不得外传。"))
        .await;
    let view = app
        .get(&format!("/api/v1/awards/{award}"))
        .bearer(&provider.access)
        .send()
        .await;
    assert_eq!(
        view.json["confidentiality"]["terms"],
        "推广方案及客户名单不得外传。"
    );
    assert_eq!(view.json["confidentiality"]["accepted_at"], Value::Null);
    let conv = view.json["conversation_id"].as_i64().unwrap();
    // The employer sends the plan as confidential; the provider cannot.
    let plan = upload_pdf(&app, &employer).await;
    let sent = app
        .post(&format!("/api/v1/conversations/{conv}/messages"))
        .bearer(&employer.access)
        .json(json!({"text": "推广方案见附件", "file_ids": [plan], "confidential": true}))
        .send()
        .await;
    sent.assert(201);
    assert_eq!(sent.json["confidential"], true);
    let own = upload_pdf(&app, &provider).await;
    app.post(&format!("/api/v1/conversations/{conv}/messages"))
        .bearer(&provider.access)
        .json(json!({"file_ids": [own], "confidential": true}))
        .send()
        .await
        .assert_problem(422, "message.not_confidential");
    // Before acceptance the provider is refused the file, and nothing is
    // recorded.
    let content = format!("/api/v1/files/{plan}/content");
    app.get(&content)
        .bearer(&provider.access)
        .send()
        .await
        .assert_problem(403, "file.confidentiality_not_accepted");
    // Only the provider accepts; then the file is served and each download
    // is evidence of who read it when.
    let accept = format!("/api/v1/awards/{award}/confidentiality/accept");
    app.post(&accept)
        .bearer(&employer.access)
        .send()
        .await
        .assert_problem(403, "award.not_provider");
    let accepted = app.post(&accept).bearer(&provider.access).send().await;
    accepted.assert(200);
    assert!(accepted.json["confidentiality"]["accepted_at"].is_string());
    for _ in 0..2 {
        app.get(&content)
            .bearer(&provider.access)
            .send()
            .await
            .assert(200);
    }
    let records = evidence(&app, &moderator, "?kind=confidential_download").await;
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["user_id"], provider.id);
    assert_eq!(records[0]["message_id"], sent.json["id"]);
    // The sender reads their own file without a record.
    app.get(&content)
        .bearer(&employer.access)
        .send()
        .await
        .assert(200);
    assert_eq!(
        evidence(&app, &moderator, "?kind=confidential_download")
            .await
            .len(),
        2
    );
    // An award without terms has nothing to accept.
    let deal = app.deal().await;
    app.post(&format!(
        "/api/v1/awards/{}/confidentiality/accept",
        deal.award
    ))
    .bearer(&deal.provider.access)
    .send()
    .await
    .assert_problem(409, "award.no_confidentiality_terms");
}

#[actix_web::test]
async fn msg5_msg4_an_employer_who_blocked_the_provider_cannot_be_left_unanswered() {
    let app = TestApp::new().await;
    let deal = app.deal().await;
    let conv = conversation_of(&app, &deal).await;
    let moderator = app.staff(Role::Moderator).await;
    send(&app, &deal.employer, conv, "明天几点到？")
        .await
        .assert(201);
    // The employer blocks the provider: the clock stops, and messages the
    // employer sends while blocking do not start it again.
    app.post(&format!("/api/v1/conversations/{conv}/block"))
        .bearer(&deal.employer.access)
        .send()
        .await
        .assert(200);
    send(&app, &deal.employer, conv, "算了").await.assert(201);
    app.clock.advance(Duration::hours(49));
    let run = app.run_jobs().await;
    assert_eq!((run.contact_warnings, run.contact_unreachable), (0, 0));
    let moderator = app.relog(&moderator).await;
    assert!(
        evidence(&app, &moderator, "?kind=unreachable")
            .await
            .is_empty()
    );
}

#[actix_web::test]
async fn msg1_messages_are_rate_limited_per_user() {
    let app = TestApp::with_settings(&[("RATE_LIMIT_MESSAGES_PER_MINUTE", "2")]).await;
    let deal = app.deal().await;
    let conv = conversation_of(&app, &deal).await;
    send(&app, &deal.provider, conv, "一").await.assert(201);
    send(&app, &deal.provider, conv, "二").await.assert(201);
    let third = send(&app, &deal.provider, conv, "三").await;
    third.assert(429);
    assert!(third.header("retry-after").is_some());
    // The other party has a budget of their own.
    send(&app, &deal.employer, conv, "好").await.assert(201);
}

#[actix_web::test]
async fn msg7_fil2_staff_read_a_message_file_only_through_a_case() {
    let app = TestApp::new().await;
    let deal = app.deal().await;
    let conv = conversation_of(&app, &deal).await;
    let moderator = app.staff(Role::Moderator).await;
    let file = upload_pdf(&app, &deal.provider).await;
    app.post(&format!("/api/v1/conversations/{conv}/messages"))
        .bearer(&deal.provider.access)
        .json(json!({"text": "排班表", "file_ids": [file]}))
        .send()
        .await
        .assert(201);
    // The other party reads it; a stranger does not.
    let path = format!("/api/v1/files/{file}");
    app.get(&path)
        .bearer(&deal.employer.access)
        .send()
        .await
        .assert(200);
    let stranger = app.user().await;
    app.get(&path)
        .bearer(&stranger.access)
        .send()
        .await
        .assert(404);
    // A ground not of the documented shape is refused whoever asks.
    app.get(&format!("{path}?via="))
        .bearer(&deal.employer.access)
        .send()
        .await
        .assert_problem(422, "conversation.via_required");
    // Staff: not without a case, then through a complaint about the award.
    app.get(&path)
        .bearer(&moderator.access)
        .send()
        .await
        .assert_problem(404, "file.not_found");
    let complaint = app
        .post("/api/v1/complaints")
        .bearer(&deal.employer.access)
        .json(json!({"target_type": "award", "target_id": deal.award,
                     "category": "refused_contact", "text": "服务商不按排班到场。"}))
        .send()
        .await;
    complaint.assert(201);
    let via = format!("complaint:{}", complaint.json["id"]);
    app.get(&format!("{path}?via={via}"))
        .bearer(&moderator.access)
        .send()
        .await
        .assert(200);
    assert!(
        app.audit_actions("file", &file.to_string())
            .await
            .contains(&"file.read".to_string())
    );
}
