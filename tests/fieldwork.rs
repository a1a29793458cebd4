//! Field work (WRK-1..4, issue 14) through HTTP: regions at any level.

mod common;

use common::TestApp;
use serde_json::json;

#[actix_web::test]
async fn wrk2_a_province_or_city_code_finds_its_districts_demands() {
    let app = TestApp::new().await;
    let owner = app.verified_user().await;
    let shanghai = app
        .demand(&owner, app.demand_body("徐汇地推", "300.00", 1))
        .await;
    let mut body = app.demand_body("朝阳地推", "300.00", 1);
    body["region_code"] = json!("110105");
    body["region_name"] = json!("北京市朝阳区");
    let beijing = app.demand(&owner, body).await;
    for (region, expected) in [
        ("310000", vec![shanghai]),
        ("310100", vec![shanghai]),
        ("310104", vec![shanghai]),
        ("110000", vec![beijing]),
        ("440000", vec![]),
    ] {
        let res = app
            .get(&format!("/api/v1/demands?region={region}"))
            .send()
            .await;
        res.assert(200);
        assert_eq!(res.ids(), expected, "region={region}");
    }

    // The tree the codes come from.
    let provinces = app.get("/api/v1/regions").send().await;
    provinces.assert(200);
    assert_eq!(provinces.json.as_array().unwrap().len(), 31);
    let cities = app.get("/api/v1/regions?parent=310000").send().await;
    assert_eq!(cities.json[0]["code"], "310100");
    assert_eq!(cities.json[0]["level"], "city");
    let districts = app.get("/api/v1/regions?parent=310100").send().await;
    assert!(
        districts
            .json
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["code"] == "310104"
                && d["name"] == "徐汇区"
                && d["parent_code"] == "310100")
    );
    app.get("/api/v1/regions?parent=999999")
        .send()
        .await
        .assert_problem(404, "region.not_found");
}

#[actix_web::test]
async fn wrk1_a_demand_states_where_and_when_the_work_is() {
    let app = TestApp::new().await;
    let owner = app.verified_user().await;
    let res = app
        .post("/api/v1/demands")
        .bearer(&owner.access)
        .json(app.demand_body("徐家汇地推", "300.00", 2))
        .send()
        .await;
    res.assert(201);
    let work = &res.json["work"];
    assert_eq!(work["address"], "徐家汇商场东门");
    assert_eq!(work["location"]["lat"], 31.1955);
    assert_eq!(work["daily_start"], "10:00");
    assert_eq!(work["pay_unit"], "per_day");
    assert_eq!(res.json["province_code"], "310000");
    assert_eq!(res.json["city_code"], "310100");

    let refused = |change: &dyn Fn(&mut serde_json::Value)| {
        let mut body = app.demand_body("地推", "300.00", 1);
        change(&mut body);
        app.post("/api/v1/demands")
            .bearer(&owner.access)
            .json(body)
            .send()
    };
    refused(&|b| b["work"]["location"] = json!({"lat": 48.85, "lng": 2.35}))
        .await
        .assert_problem(422, "demand.location_outside_china");
    let deadline_day = (app.clock_now() + chrono::Duration::days(3)).date_naive();
    refused(&|b| {
        b["work"]["start_date"] = json!((deadline_day - chrono::Duration::days(1)).to_string())
    })
    .await
    .assert_problem(422, "demand.work_dates_invalid");
    refused(&|b| {
        let start = b["work"]["start_date"]
            .as_str()
            .unwrap()
            .parse::<chrono::NaiveDate>()
            .unwrap();
        b["work"]["end_date"] = json!((start + chrono::Duration::days(91)).to_string());
    })
    .await
    .assert_problem(422, "demand.work_dates_invalid");
    refused(&|b| b["work"]["daily_end"] = json!("09:00"))
        .await
        .assert_problem(422, "demand.work_hours_invalid");
    refused(&|b| b["work"]["daily_start"] = json!("25:00"))
        .await
        .assert_problem(422, "demand.work_hours_invalid");
    refused(&|b| b["region_code"] = json!("999999"))
        .await
        .assert_problem(422, "demand.region_invalid");
    let res = refused(&|b| {
        b.as_object_mut().unwrap().remove("work");
    })
    .await;
    assert_eq!(
        res.status.as_u16(),
        422,
        "a demand without a work plan: {}",
        res.text
    );
}

#[actix_web::test]
async fn wrk2_near_finds_demands_within_the_radius_nearest_first() {
    let app = TestApp::new().await;
    let owner = app.verified_user().await;
    let at = |lat: f64, lng: f64, title: &str| {
        let mut body = app.demand_body(title, "300.00", 1);
        body["work"] = app.work_plan(lat, lng);
        body
    };
    let people_square = app.demand(&owner, at(31.2304, 121.4737, "人民广场")).await;
    let xujiahui = app.demand(&owner, at(31.1955, 121.4374, "徐家汇")).await;
    let mut far = at(39.9087, 116.3975, "天安门");
    far["region_code"] = json!("110101");
    app.demand(&owner, far).await;
    let near = |q: &str| {
        app.get(&format!("/api/v1/demands?near=31.1960,121.4380{q}"))
            .send()
    };

    let res = near("&radius_km=10").await;
    res.assert(200);
    let items = res.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "Beijing is not within 10 km");
    assert_eq!(items[0]["id"], xujiahui);
    assert_eq!(items[1]["id"], people_square);
    let (d0, d1) = (
        items[0]["distance_km"].as_f64().unwrap(),
        items[1]["distance_km"].as_f64().unwrap(),
    );
    assert!(d0 < 0.2 && (4.5..5.5).contains(&d1), "{d0} {d1}");
    assert_eq!(near("&radius_km=3").await.ids(), vec![xujiahui]);
    // Pages follow the distance order.
    let first = near("&limit=1").await;
    assert_eq!(first.ids(), vec![xujiahui]);
    let cursor = first.json["next_cursor"].as_str().unwrap().to_string();
    let second = near(&format!("&limit=1&cursor={cursor}")).await;
    assert_eq!(second.ids(), vec![people_square]);
    assert!(second.json["next_cursor"].is_null());

    // `near` orders by distance whatever `sort` says; `distance` without a
    // point is the newest first; a point outside China finds nothing.
    assert_eq!(
        near("&sort=budget").await.ids(),
        vec![xujiahui, people_square]
    );
    let newest = app.get("/api/v1/demands?sort=distance").send().await;
    assert_eq!(
        newest.ids()[0],
        app.get("/api/v1/demands").send().await.ids()[0]
    );
    let paris = app.get("/api/v1/demands?near=48.85,2.35").send().await;
    paris.assert(200);
    assert!(paris.ids().is_empty());
    app.get("/api/v1/demands?near=north")
        .send()
        .await
        .assert_problem(422, "demand.near_invalid");
    near("&radius_km=51")
        .await
        .assert_problem(422, "demand.radius_invalid");
}

/// A check-in photo of `who`, uploaded; its id.
async fn photo(app: &TestApp, token: &str) -> i64 {
    app.upload_file(token, "p.pdf", b"%PDF-1.7\nphoto", "check_in")
        .await
}

#[actix_web::test]
async fn wrk3_check_ins_are_stamped_geofenced_and_on_the_roster() {
    let app = TestApp::new().await;
    let deal = app.deal().await;
    let path = format!("/api/v1/awards/{}/check-ins", deal.award);
    let check = |kind: &str, lat: f64, lng: f64, file: i64| {
        app.post(&path)
            .bearer(&deal.provider.access)
            .json(json!({"kind": kind, "location": {"lat": lat, "lng": lng}, "file_id": file}))
            .send()
    };
    // At the work location (徐家汇, the deal's demand): on site.
    let first = photo(&app, &deal.provider.access).await;
    let arrived = check("in", 31.1957, 121.4376, first).await;
    arrived.assert(201);
    assert_eq!(arrived.json["off_site"], false);
    assert!(arrived.json["distance_m"].as_i64().unwrap() < 50);
    assert!(arrived.json["checked_at"].is_string());
    // One open check-in at a time.
    check(
        "in",
        31.1957,
        121.4376,
        photo(&app, &deal.provider.access).await,
    )
    .await
    .assert_problem(409, "check_in.already_in");
    check(
        "out",
        31.1957,
        121.4376,
        photo(&app, &deal.provider.access).await,
    )
    .await
    .assert(201);
    check(
        "out",
        31.1957,
        121.4376,
        photo(&app, &deal.provider.access).await,
    )
    .await
    .assert_problem(409, "check_in.not_in");
    // 5 km away (人民广场): off-site, and what the roster shows.
    let far = check(
        "in",
        31.2304,
        121.4737,
        photo(&app, &deal.provider.access).await,
    )
    .await;
    far.assert(201);
    assert_eq!(far.json["off_site"], true);
    assert!(far.json["distance_m"].as_i64().unwrap() > 4_000);

    let roster = app
        .get(&format!("/api/v1/demands/{}/roster", deal.demand))
        .bearer(&deal.employer.access)
        .send()
        .await;
    roster.assert(200);
    let entry = &roster.json[0];
    assert_eq!(entry["provider_id"], deal.provider.id);
    assert_eq!(entry["on_site_now"], true);
    assert_eq!(entry["check_ins"], 3);
    assert_eq!(entry["off_site_check_ins"], 1);
    assert_eq!(entry["last_check_in"]["off_site"], true);
    // Only the owner sees the roster; the employer reads the photo.
    app.get(&format!("/api/v1/demands/{}/roster", deal.demand))
        .bearer(&deal.provider.access)
        .send()
        .await
        .assert(404);
    app.get(&format!("/api/v1/files/{first}"))
        .bearer(&deal.employer.access)
        .send()
        .await
        .assert(200);
    // The employer cannot check in; the award lists the check-ins.
    app.post(&path)
        .bearer(&deal.employer.access)
        .json(
            json!({"kind": "out", "location": {"lat": 31.1957, "lng": 121.4376}, "file_id": first}),
        )
        .send()
        .await
        .assert_problem(403, "check_in.not_provider");
    let award = app
        .get(&format!("/api/v1/awards/{}", deal.award))
        .bearer(&deal.employer.access)
        .send()
        .await;
    assert_eq!(award.json["check_ins"].as_array().unwrap().len(), 3);
    let listed = app.get(&path).bearer(&deal.employer.access).send().await;
    assert_eq!(listed.json.as_array().unwrap().len(), 3);
}

#[actix_web::test]
async fn wrk4_works_show_on_the_profile_until_removed() {
    let app = TestApp::new().await;
    let provider = app.verified_user().await;
    let visitor = app.user().await;
    let image = photo(&app, &provider.access).await;
    let added = app
        .post("/api/v1/me/works")
        .bearer(&provider.access)
        .json(json!({"title": "徐家汇商场地推", "text": "两天拉新 300 人，附现场照片。", "file_ids": [image]}))
        .send()
        .await;
    added.assert(201);
    let work = added.json["id"].as_i64().unwrap();
    let listed = app
        .get(&format!("/api/v1/users/{}/works", provider.id))
        .send()
        .await;
    listed.assert(200);
    assert_eq!(listed.json[0]["id"], work);
    assert_eq!(listed.json[0]["images"][0]["id"], image);
    // A work's image is for anyone to see, logged in or not (FIL-2).
    app.get(&format!("/api/v1/files/{image}"))
        .bearer(&visitor.access)
        .send()
        .await
        .assert(200);
    app.get(&format!("/api/v1/files/{image}/content"))
        .send()
        .await
        .assert(200);
    // A bad token is still refused, not taken as anonymous.
    app.get(&format!("/api/v1/files/{image}"))
        .bearer("not-a-token")
        .send()
        .await
        .assert(401);
    // Only the owner removes it; then it and its image are gone.
    app.req(
        actix_web::http::Method::DELETE,
        &format!("/api/v1/me/works/{work}"),
    )
    .bearer(&visitor.access)
    .send()
    .await
    .assert_problem(404, "work.not_found");
    app.req(
        actix_web::http::Method::DELETE,
        &format!("/api/v1/me/works/{work}"),
    )
    .bearer(&provider.access)
    .send()
    .await
    .assert(204);
    let listed = app
        .get(&format!("/api/v1/users/{}/works", provider.id))
        .send()
        .await;
    assert_eq!(listed.json, json!([]));
    app.get(&format!("/api/v1/files/{image}"))
        .bearer(&visitor.access)
        .send()
        .await
        .assert(404);
    app.get(&format!("/api/v1/files/{image}/content"))
        .send()
        .await
        .assert(404);
}

async fn evidence(app: &TestApp, token: &str, name: &str) -> i64 {
    app.upload_file(token, name, b"%PDF-1.7\nevidence", "evidence")
        .await
}

#[actix_web::test]
async fn wrk3_fil3_a_dispute_shows_the_check_ins_and_cites_uploaded_evidence() {
    let app = TestApp::new().await;
    let deal = app.deal().await;
    let stranger = app.user().await;
    // The provider checks in 5 km from the work location (off-site).
    app.post(&format!("/api/v1/awards/{}/check-ins", deal.award))
        .bearer(&deal.provider.access)
        .json(
            json!({"kind": "in", "location": {"lat": 31.2304, "lng": 121.4737},
                     "file_id": photo(&app, &deal.provider.access).await}),
        )
        .send()
        .await
        .assert(201);
    // FIL-3: the opening cites the employer's upload; someone else's file
    // cannot be cited and nothing is opened.
    let not_mine = evidence(&app, &stranger.access, "x.pdf").await;
    let body = |files: Vec<i64>| {
        json!({"category": "not_delivered", "claim_amount": "500.00",
               "statement": "打卡地点不在工作地点。", "file_ids": files})
    };
    app.post(&format!("/api/v1/awards/{}/disputes", deal.award))
        .bearer(&deal.employer.access)
        .json(body(vec![not_mine]))
        .send()
        .await
        .assert_problem(422, "file.not_found");
    let claim = evidence(&app, &deal.employer.access, "现场照片.pdf").await;
    let opened = app
        .post(&format!("/api/v1/awards/{}/disputes", deal.award))
        .bearer(&deal.employer.access)
        .json(body(vec![claim]))
        .send()
        .await;
    opened.assert(201);
    let dispute = opened.json["id"].as_i64().unwrap();
    assert_eq!(opened.json["timeline"][0]["files"][0]["id"], claim);
    // WRK-3: the dispute shows the award's check-ins, the off-site one too.
    assert_eq!(opened.json["check_ins"][0]["off_site"], true);
    assert_eq!(opened.json["check_ins"].as_array().unwrap().len(), 1);
    // The provider answers with an upload; each party reads the other's,
    // a stranger does not.
    let answer = evidence(&app, &deal.provider.access, "报到记录.pdf").await;
    let stated = app
        .post(&format!("/api/v1/disputes/{dispute}/statements"))
        .bearer(&deal.provider.access)
        .json(json!({"text": "商场临时调整了摊位位置。", "file_ids": [answer]}))
        .send()
        .await;
    stated.assert(201);
    assert_eq!(stated.json["timeline"][1]["files"][0]["id"], answer);
    for (file, reader) in [(answer, &deal.employer), (claim, &deal.provider)] {
        app.get(&format!("/api/v1/files/{file}/content"))
            .bearer(&reader.access)
            .send()
            .await
            .assert(200);
    }
    app.get(&format!("/api/v1/files/{answer}"))
        .bearer(&stranger.access)
        .send()
        .await
        .assert_problem(404, "file.not_found");
    // Without a token, evidence is not there at all.
    app.get(&format!("/api/v1/files/{answer}/content"))
        .send()
        .await
        .assert_problem(404, "file.not_found");
}

#[actix_web::test]
async fn wrk3_mkt4_the_auto_completion_records_the_check_ins() {
    let app = TestApp::new().await;
    let deal = app.deal().await;
    let path = format!("/api/v1/awards/{}/check-ins", deal.award);
    for (kind, lat, lng) in [("in", 31.1957, 121.4376), ("out", 31.2304, 121.4737)] {
        app.post(&path)
            .bearer(&deal.provider.access)
            .json(json!({"kind": kind, "location": {"lat": lat, "lng": lng},
                         "file_id": photo(&app, &deal.provider.access).await}))
            .send()
            .await
            .assert(201);
    }
    app.post(&format!("/api/v1/awards/{}/deliver", deal.award))
        .bearer(&deal.provider.access)
        .json(json!({"note": "完成"}))
        .send()
        .await
        .assert(200);
    app.clock
        .advance(chrono::Duration::days(7) + chrono::Duration::minutes(1));
    assert_eq!(app.run_jobs().await.awards_auto_completed, 1);
    let employer = app.relog(&deal.employer).await;
    let notices = app
        .get("/api/v1/me/notifications?limit=100")
        .bearer(&employer.access)
        .send()
        .await;
    let auto = notices.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "award.auto_completed")
        .expect("the employer is told of the auto-completion");
    let body = auto["body"].as_str().unwrap();
    assert!(body.contains("打卡 2 次，其中超出范围 1 次"), "{body}");
    let award = app
        .get(&format!("/api/v1/awards/{}", deal.award))
        .bearer(&employer.access)
        .send()
        .await;
    assert_eq!(award.json["status"], "completed");
    assert_eq!(award.json["check_ins"].as_array().unwrap().len(), 2);
}

#[actix_web::test]
async fn wrk4_vio3_a_moderator_removes_a_work_and_an_upheld_appeal_restores_it() {
    let app = TestApp::new().await;
    let provider = app.verified_user().await;
    let other = app.verified_user().await;
    let image = photo(&app, &provider.access).await;
    let work = app
        .post("/api/v1/me/works")
        .bearer(&provider.access)
        .json(json!({"title": "商场地推", "text": "拉新 300 人。", "file_ids": [image]}))
        .send()
        .await;
    work.assert(201);
    let work = work.json["id"].as_i64().unwrap();
    let moderator = app.staff(weigongbao::users::models::Role::Moderator).await;
    let decide = |user: i64| {
        json!({"user_id": user, "category": "other", "source": "inspection",
               "facts": "作品图片盗用他人。", "decision": "移除盗用的作品",
               "measures": [{"kind": "remove_work", "work_id": work}]})
    };
    // Another user's work id: not theirs, nothing recorded.
    app.post("/api/v1/admin/violations")
        .bearer(&moderator.access)
        .json(decide(other.id))
        .send()
        .await
        .assert_problem(404, "work.not_found");
    let v = app
        .post("/api/v1/admin/violations")
        .bearer(&moderator.access)
        .json(decide(provider.id))
        .send()
        .await;
    v.assert(201);
    assert_eq!(v.json["measures"][0]["kind"], "remove_content");
    assert_eq!(v.json["measures"][0]["work_id"], work);
    let works = format!("/api/v1/users/{}/works", provider.id);
    assert_eq!(app.get(&works).send().await.json, json!([]));
    // VIO-6: the appeal cites an upload (FIL-3) read by staff; upheld, the
    // work is shown again.
    let proof = evidence(&app, &provider.access, "授权书.pdf").await;
    let appeal = app
        .post(&format!(
            "/api/v1/violations/{}/appeals",
            v.json["id"].as_i64().unwrap()
        ))
        .bearer(&provider.access)
        .json(json!({"text": "图片为本人拍摄，附授权书。", "file_ids": [proof]}))
        .send()
        .await;
    appeal.assert(201);
    assert_eq!(appeal.json["files"][0]["id"], proof);
    app.get(&format!("/api/v1/files/{proof}"))
        .bearer(&other.access)
        .send()
        .await
        .assert(404);
    app.get(&format!("/api/v1/files/{proof}"))
        .bearer(&moderator.access)
        .send()
        .await
        .assert(200);
    app.post(&format!(
        "/api/v1/admin/appeals/{}/decision",
        appeal.json["id"].as_i64().unwrap()
    ))
    .bearer(&moderator.access)
    .json(json!({"outcome": "upheld", "reason": "授权属实"}))
    .send()
    .await
    .assert(200);
    assert_eq!(app.get(&works).send().await.json[0]["id"], work);
}
