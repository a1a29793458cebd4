//! The binary's subcommands and start-up checks.

mod common;

use std::process::Command;

use common::{PASSWORD, TestApp};
use weigongbao::api_doc;

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_weigongbao"));
    // Keep a developer's .env or environment from leaking into the checks.
    for key in [
        "DATABASE_URL",
        "JWT_SECRET",
        "APP_ENV",
        "ADMIN_BOOTSTRAP_MEMBER_NAME",
        "ADMIN_BOOTSTRAP_PASSWORD",
    ] {
        cmd.env_remove(key);
    }
    cmd.current_dir(std::env::temp_dir());
    cmd
}

#[test]
fn openapi_subcommand_prints_the_served_document() {
    let out = bin().arg("openapi").output().unwrap();
    assert!(out.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed, serde_json::to_value(api_doc()).unwrap());
}

#[test]
fn production_refuses_to_start_without_a_strong_secret() {
    let out = bin()
        .args(["migrate"])
        .env("APP_ENV", "production")
        .env("DATABASE_URL", "sqlite::memory:")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("JWT_SECRET"));

    let out = bin()
        .args(["migrate"])
        .env("APP_ENV", "production")
        .env("JWT_SECRET", "too-short")
        .env("DATABASE_URL", "sqlite::memory:")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("32 bytes"));
    assert!(
        !stderr.contains("too-short"),
        "the secret itself is never printed"
    );
}

#[test]
fn unknown_database_scheme_is_named() {
    let out = bin()
        .arg("migrate")
        .env("DATABASE_URL", "mysql://root@localhost/x")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("mysql"));
}

#[actix_web::test]
async fn svc2_admin_create_makes_a_staff_account_that_can_log_in() {
    let app = TestApp::new().await;
    let out = bin()
        .args([
            "admin",
            "create",
            "--member-name",
            "chief_admin",
            "--role",
            "admin",
            "--password-stdin",
        ])
        .env("DATABASE_URL", app.db.url())
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(format!("{PASSWORD}\n").as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let login = app.login("chief_admin", PASSWORD).await;
    login.assert(200);
    assert_eq!(login.json["user"]["role"], "admin");
    let token = login.json["tokens"]["access_token"].as_str().unwrap();
    // ACC-14: the first login of a command-made account may only enrol TOTP.
    app.get("/api/v1/admin/audit-log?action=staff.create")
        .bearer(token)
        .send()
        .await
        .assert_problem(403, "auth.totp_enrolment_required");
    app.enrol_totp(token).await;
    let log = app
        .get("/api/v1/admin/audit-log?action=staff.create")
        .bearer(token)
        .send()
        .await;
    log.assert(200);
    assert_eq!(log.json["items"][0]["actor"], "cli");
    assert_eq!(log.json["items"][0]["details"]["role"], "admin");

    let bad = bin()
        .args([
            "admin",
            "create",
            "--member-name",
            "x_user",
            "--role",
            "user",
            "--password",
            PASSWORD,
        ])
        .env("DATABASE_URL", app.db.url())
        .output()
        .unwrap();
    assert!(!bad.status.success());
}

#[actix_web::test]
async fn svc1_two_concurrent_run_once_commands_reclaim_each_account_once() {
    use diesel::prelude::*;
    use weigongbao::platform::db::schema::users;
    let app = TestApp::new().await;
    for _ in 0..5 {
        app.user().await;
    }
    // Their last logins and last uses were seven months ago (the command
    // uses the wall clock; ACC-9 counts any session use as activity).
    let seven_months_ago = chrono::Utc::now().naive_utc() - chrono::Duration::days(213);
    let mut conn = app.state.pool.get().unwrap();
    diesel::update(users::table.filter(users::role.eq("user")))
        .set(users::last_login_at.eq(seven_months_ago))
        .execute(&mut conn)
        .unwrap();
    {
        use weigongbao::platform::db::schema::sessions;
        diesel::update(sessions::table)
            .set(sessions::last_seen_at.eq(seven_months_ago))
            .execute(&mut conn)
            .unwrap();
    }
    drop(conn);

    let spawn = || {
        bin()
            .args(["jobs", "run-once"])
            .env("DATABASE_URL", app.db.url())
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let mut reclaimed = 0;
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["failures"], 0);
        reclaimed += report["accounts_reclaimed"].as_u64().unwrap();
    }
    assert_eq!(reclaimed, 5, "each account reclaimed exactly once");
    let notes: i64 = {
        use weigongbao::platform::db::schema::notifications;
        let mut conn = app.state.pool.get().unwrap();
        notifications::table
            .filter(notifications::kind.eq("account.reclaimed"))
            .count()
            .get_result(&mut conn)
            .unwrap()
    };
    assert_eq!(notes, 5);
}
