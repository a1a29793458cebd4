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
    let ids = |res: &common::Res| -> Vec<i64> {
        res.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_i64().unwrap())
            .collect()
    };
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
        assert_eq!(ids(&res), expected, "region={region}");
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
