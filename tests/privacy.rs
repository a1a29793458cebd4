//! What others can see of a user (ACC-11).

mod common;

use common::TestApp;
use weigongbao::users::models::Role;

#[actix_web::test]
async fn acc11_public_profile_shows_no_contact_data() {
    let app = TestApp::new().await;
    let body = app.registration();
    let res = app.register_with(body.clone()).await;
    res.assert(201);
    let id = res.json["user"]["id"].as_i64().unwrap();

    let profile = app.get(&format!("/api/v1/users/{id}")).send().await;
    profile.assert(200);
    assert_eq!(profile.json["member_name"], body["member_name"]);
    assert_eq!(profile.json["verified"], false);
    for secret in ["email", "phone", "address", "contact_name"] {
        assert!(profile.json.get(secret).is_none(), "{secret} must not show");
    }
    let digits = body["phone"].as_str().unwrap().trim_start_matches("+86");
    assert!(!profile.text.contains(digits));
    assert!(!profile.text.contains(body["email"].as_str().unwrap()));

    app.get("/api/v1/users/999999")
        .send()
        .await
        .assert_problem(404, "user.not_found");
    let staff = app.staff(Role::Moderator).await;
    app.get(&format!("/api/v1/users/{}", staff.id))
        .send()
        .await
        .assert_problem(404, "user.not_found");
}
