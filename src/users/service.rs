//! Registration, login and the caller's own account (ACC-2, ACC-4, ACC-7, ACC-11).

use diesel::prelude::*;

use super::dto::{
    AuthResponse, Availability, ChangePasswordRequest, LoginRequest, MeView, RegisterRequest,
    SessionView, UpdateMeRequest,
};
use super::models::{AccountKind, NewUser, Role, User, UserStatus};
use super::names::MemberName;
use crate::agreements;
use crate::auth::{Caller, password, sessions};
use crate::content::{self, Category};
use crate::platform::contact::{Email, Phone};
use crate::platform::db::schema::{sessions as sessions_t, users};
use crate::platform::db::{DbConnection, unique_or};
use crate::platform::error::{AppError, AppResult};
use crate::platform::http::ClientMeta;
use crate::platform::paging::{Page, PageQuery, page_by_id};
use crate::platform::state::AppState;
use crate::platform::text::{check_len, plain_text};

fn taken(what: &str) -> AppError {
    if what.contains("email") {
        AppError::conflict(
            "email.taken",
            "该邮箱已被注册",
            "The email is already registered",
        )
    } else if what.contains("phone") {
        AppError::conflict(
            "phone.taken",
            "该手机号已被注册",
            "The phone is already registered",
        )
    } else {
        member_name_taken()
    }
}

fn member_name_taken() -> AppError {
    AppError::conflict(
        "member_name.taken",
        "会员名已被占用",
        "The member name is already taken",
    )
}

/// ACC-4: prohibited content first (so `赌 博` is refused for its content,
/// not its space), then the format.
pub fn check_member_name(
    conn: &mut DbConnection,
    st: &AppState,
    raw: &str,
) -> AppResult<MemberName> {
    if let Some(category) = crate::content::filter(conn, st)?.find(raw) {
        return Err(content::prohibited(
            "member_name",
            "member_name.prohibited",
            category,
        ));
    }
    MemberName::parse(raw)
}

/// Refuses a name that is taken, or held after reclamation (ACC-5).
fn require_name_free(conn: &mut DbConnection, key: &str) -> AppResult<()> {
    use crate::platform::db::schema::held_member_names as held;
    let taken: bool = diesel::select(diesel::dsl::exists(
        users::table.filter(users::member_name_key.eq(key)),
    ))
    .get_result(conn)?;
    if taken {
        return Err(member_name_taken());
    }
    let held: bool = diesel::select(diesel::dsl::exists(held::table.find(key))).get_result(conn)?;
    if held {
        return Err(AppError::conflict(
            "member_name.held",
            "该会员名已被平台回收保留，暂不可使用",
            "This member name was reclaimed and is held by the platform",
        ));
    }
    Ok(())
}

/// Registers a user, records the agreement acceptance and starts a session.
/// `hash` is the password's hash, computed beforehand outside the
/// transaction ([`password::capped`]); `code_id` the phone's code, found
/// right by [`crate::auth::codes::attempt`] and spent here (ACC-12).
pub fn register(
    conn: &mut DbConnection,
    st: &AppState,
    req: RegisterRequest,
    hash: &str,
    code_id: i64,
    meta: &ClientMeta,
) -> AppResult<AuthResponse> {
    let now = st.clock.now_naive();
    let name = check_member_name(conn, st, &req.member_name)?;
    let email = Email::parse(&req.email)?;
    let phone = Phone::parse(&req.phone)?;
    let contact_name = plain_text("contact_name", &req.contact_name, 50)?;
    let address = plain_text("address", &req.address, 200)?;
    password::check_strength(&req.password, Some(name.as_str()))?;
    // ACC-2: acceptance of the version in force.
    let in_force = agreements::current_version(conn, now)?;
    if req.agreement_version != in_force {
        return Err(AppError::invalid_field(
            "agreement_version",
            "agreement.version_mismatch",
            format!("须接受现行协议版本 {in_force}"),
            format!("You must accept the agreement version in force ({in_force})"),
        )
        .with_extension("current_version", in_force));
    }
    require_name_free(conn, name.key())?;
    // ACC-3: a restricted phone or email cannot register.
    let secret = &st.settings.identity_hash_secret;
    crate::verification::restricted::refuse_if_listed(
        conn,
        "phone",
        &crate::verification::ids::identity_hash(secret, "phone", phone.as_str()),
    )?;
    crate::verification::restricted::refuse_if_listed(
        conn,
        "email",
        &crate::verification::ids::identity_hash(secret, "email", email.key()),
    )?;
    crate::auth::codes::spend(conn, st, code_id)?;
    let user: User = diesel::insert_into(users::table)
        .values(NewUser {
            member_name: Some(name.as_str()),
            member_name_key: Some(name.key()),
            email: Some(email.as_str()),
            email_key: Some(email.key()),
            phone: Some(phone.as_str()),
            password_hash: hash,
            contact_name: &contact_name,
            address: &address,
            account_kind: req.account_kind.as_str(),
            role: Role::User,
            status: UserStatus::Active,
            created_at: now,
            updated_at: now,
            // Registering starts a session: it counts as a login (ACC-9).
            last_login_at: Some(now),
            phone_verified_at: Some(now),
        })
        .get_result::<User>(conn)
        .map_err(|e| unique_or(e, taken))?;
    agreements::record_acceptance(conn, user.id, in_force, now, &meta.ip)?;
    let tokens = sessions::start(conn, st, user.id, Role::User, false, meta)?;
    Ok(AuthResponse {
        user: me_view(conn, st, user)?,
        tokens,
    })
}

fn find_by_login(conn: &mut DbConnection, login: &str) -> AppResult<Option<User>> {
    let query = users::table.select(User::as_select()).into_boxed();
    let query = if login.contains('@') {
        query.filter(users::email_key.eq(login.to_lowercase()))
    } else if let Ok(phone) = Phone::parse(login) {
        query.filter(users::phone.eq(phone.as_str().to_string()))
    } else {
        query.filter(users::member_name_key.eq(content::fold(login)))
    };
    Ok(query.first(conn).optional()?)
}

fn invalid_credentials() -> AppError {
    AppError::unauthorized(
        "auth.invalid_credentials",
        "登录名或密码错误",
        "Wrong login or password",
    )
}

/// Logs in by member name, email or phone (ACC-2) and starts a session.
///
/// The account is read, the connection released, the password checked
/// under the hashing cap, and only then a short write transaction records
/// the login (a storm of logins never holds connections or write locks
/// through ~50 ms of Argon2).
pub async fn login(st: &AppState, req: LoginRequest, meta: ClientMeta) -> AppResult<AuthResponse> {
    check_len("login", &req.login, 1, 254)?;
    check_len("password", &req.password, 1, 128)?;
    let login = req.login.trim().to_string();
    let found = st.run(move |conn, _| find_by_login(conn, &login)).await?;
    let plain = req.password;
    let Some(user) = found else {
        password::capped(st, move || password::verify_dummy(&plain)).await?;
        return Err(invalid_credentials());
    };
    let stored = user.password_hash.clone();
    if !password::capped(st, move || password::verify(&plain, &stored)).await? {
        return Err(invalid_credentials());
    }
    refuse_inactive(user.status)?;
    let (id, verified) = (user.id, user.password_hash);
    let totp_code = req.totp_code;
    if let Some(code) = &totp_code {
        check_len("totp_code", code, 1, 20)?;
    }
    // ACC-14: staff pass a second factor (counted in a transaction of its
    // own), or get a session that may only enrol.
    let second_factor = if user.role.is_staff() {
        st.tx(move |conn, st| crate::auth::totp::check_login(conn, st, id, totp_code.as_deref()))
            .await?
            .into_result(st.clock.now_naive())?
    } else {
        false
    };
    st.tx(move |conn, st| record_login(conn, st, id, &verified, second_factor, &meta))
        .await
}

/// The write half of a login whose password was verified against
/// `verified`: refused if the password or the account changed meanwhile.
fn record_login(
    conn: &mut DbConnection,
    st: &AppState,
    id: i64,
    verified: &str,
    second_factor: bool,
    meta: &ClientMeta,
) -> AppResult<AuthResponse> {
    let user = load_user(conn, id)?;
    if user.password_hash != verified {
        return Err(invalid_credentials());
    }
    refuse_inactive(user.status)?;
    let now = st.clock.now_naive();
    diesel::update(users::table.find(user.id))
        .set((
            users::last_login_at.eq(now),
            users::inactivity_warned.eq(super::models::WARNED_NONE),
        ))
        .execute(conn)?;
    let tokens = sessions::start(conn, st, user.id, user.role, second_factor, meta)?;
    let user = User {
        last_login_at: Some(now),
        inactivity_warned: super::models::WARNED_NONE,
        ..user
    };
    Ok(AuthResponse {
        user: me_view(conn, st, user)?,
        tokens,
    })
}

/// Login refusals for accounts that are not active.
fn refuse_inactive(user_status: UserStatus) -> AppResult<()> {
    match user_status {
        UserStatus::Active => Ok(()),
        UserStatus::Reclaimed => Err(AppError::forbidden(
            "account.reclaimed",
            "账户因连续六个月未登录已被回收",
            "The account was reclaimed after six months without login",
        )),
        UserStatus::Closed => Err(AppError::forbidden(
            "account.closed",
            "账户已注销",
            "The account is closed",
        )),
        UserStatus::Sealed => Err(AppError::forbidden(
            "account.sealed",
            "账户已被查封",
            "The account is sealed",
        )),
    }
}

pub fn load_user(conn: &mut DbConnection, id: i64) -> AppResult<User> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("user.not_found", "用户不存在", "No such user"))
}

/// The full view of an account for its owner (and staff).
pub fn me_view(conn: &mut DbConnection, st: &AppState, user: User) -> AppResult<MeView> {
    let id = user.id;
    let accepted = agreements::latest_accepted(conn, id)?;
    let mut view = MeView::new(user, accepted);
    // AGR-1: name the version in force this account has yet to accept.
    let in_force = agreements::current_version(conn, st.clock.now_naive())?;
    view.agreement_pending_version =
        (!view.role.is_staff() && accepted < Some(in_force)).then_some(in_force);
    view.verification_status = crate::verification::service::latest(conn, id)?
        .map_or_else(|| "none".to_string(), |v| v.status.to_string());
    view.restrictions = crate::verification::info_requests::restrictions(conn, id)?;
    Ok(view)
}

/// The caller's own account.
pub fn me(conn: &mut DbConnection, st: &AppState, caller: &Caller) -> AppResult<MeView> {
    let user = load_user(conn, caller.user_id)?;
    me_view(conn, st, user)
}

/// Updates contact data; email and phone stay unique (ACC-2).
pub fn update_me(
    conn: &mut DbConnection,
    st: &AppState,
    caller: &Caller,
    req: UpdateMeRequest,
) -> AppResult<MeView> {
    #[derive(AsChangeset, Default)]
    #[diesel(table_name = users)]
    struct Changes {
        member_name: Option<String>,
        member_name_key: Option<String>,
        email: Option<String>,
        email_key: Option<String>,
        email_verified_at: Option<Option<chrono::NaiveDateTime>>,
        contact_name: Option<String>,
        address: Option<String>,
        updated_at: Option<chrono::NaiveDateTime>,
    }
    let mut changes = Changes {
        updated_at: Some(st.clock.now_naive()),
        ..Changes::default()
    };
    if req.phone.is_some() {
        return Err(AppError::invalid_field(
            "phone",
            "phone.code_required",
            "手机号须通过短信验证码更换：PUT /api/v1/me/phone",
            "The phone changes only with an SMS code: PUT /api/v1/me/phone",
        ));
    }
    if let Some(raw) = &req.member_name {
        // ACC-5: a new name only after staff reclaimed the old one.
        let current: Option<String> = users::table
            .find(caller.user_id)
            .select(users::member_name)
            .first(conn)?;
        if current.is_some() {
            return Err(AppError::conflict(
                "member_name.locked",
                "会员名设置后不可自行更改",
                "The member name cannot be changed once set",
            ));
        }
        let name = check_member_name(conn, st, raw)?;
        require_name_free(conn, name.key())?;
        changes.member_name = Some(name.as_str().into());
        changes.member_name_key = Some(name.key().into());
    }
    if let Some(email) = &req.email {
        let email = Email::parse(email)?;
        changes.email = Some(email.as_str().into());
        changes.email_key = Some(email.key().into());
        // ACC-12: a new address is proved again (unchanged, it stays proved).
        let current: Option<String> = users::table
            .find(caller.user_id)
            .select(users::email_key)
            .first(conn)?;
        if current.as_deref() != Some(email.key()) {
            changes.email_verified_at = Some(None);
        }
    }
    if let Some(v) = &req.contact_name {
        changes.contact_name = Some(plain_text("contact_name", v, 50)?);
    }
    if let Some(v) = &req.address {
        changes.address = Some(plain_text("address", v, 200)?);
    }
    diesel::update(users::table.find(caller.user_id))
        .set(changes)
        .execute(conn)
        .map_err(|e| unique_or(e, taken))?;
    me(conn, st, caller)
}

/// Refuses unless `plain` is the account's password (checked under the
/// hashing cap, outside any transaction).
pub async fn check_password(st: &AppState, user_id: i64, plain: String) -> AppResult<()> {
    check_len("current_password", &plain, 1, 128)?;
    let stored = st
        .run(move |conn, _| load_user(conn, user_id))
        .await?
        .password_hash;
    if password::capped(st, move || password::verify(&plain, &stored)).await? {
        Ok(())
    } else {
        Err(wrong_password())
    }
}

/// Changes the password and ends every other session (ACC-7). Both
/// Argon2 steps run under the hashing cap, outside the transaction.
pub async fn change_password(
    st: &AppState,
    caller: &Caller,
    req: ChangePasswordRequest,
) -> AppResult<()> {
    check_len("current_password", &req.current_password, 1, 128)?;
    let user_id = caller.user_id;
    let user = st.run(move |conn, _| load_user(conn, user_id)).await?;
    let (current, stored) = (req.current_password, user.password_hash.clone());
    if !password::capped(st, move || password::verify(&current, &stored)).await? {
        return Err(wrong_password());
    }
    let field_renamed = |mut e: AppError| {
        for f in &mut e.errors {
            f.field = "new_password".into();
        }
        e
    };
    password::check_strength(&req.new_password, user.member_name.as_deref())
        .map_err(field_renamed)?;
    let new_plain = req.new_password;
    let new_hash = password::capped(st, move || password::hash(&new_plain)).await??;
    let (verified, session_id) = (user.password_hash, caller.session_id);
    st.tx(move |conn, st| {
        let now = st.clock.now_naive();
        // Only over the hash just verified: a concurrent change wins once.
        let changed = diesel::update(
            users::table
                .find(user_id)
                .filter(users::password_hash.eq(&verified)),
        )
        .set((
            users::password_hash.eq(&new_hash),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
        if changed == 0 {
            return Err(wrong_password());
        }
        sessions::revoke_all(conn, user_id, Some(session_id), now, "password_changed")?;
        Ok(())
    })
    .await
}

fn wrong_password() -> AppError {
    AppError::forbidden(
        "password.incorrect",
        "当前密码不正确",
        "The current password is wrong",
    )
}

type SessionRow = (
    i64,
    chrono::NaiveDateTime,
    chrono::NaiveDateTime,
    chrono::NaiveDateTime,
    Option<String>,
    Option<String>,
);

/// The caller's live sessions, newest first.
pub fn list_sessions(
    conn: &mut DbConnection,
    st: &AppState,
    caller: &Caller,
    page: &PageQuery,
) -> AppResult<Page<SessionView>> {
    let limit = page.limit()?;
    let mut q = sessions_t::table
        .filter(sessions_t::user_id.eq(caller.user_id))
        .filter(sessions_t::revoked_at.is_null())
        .filter(sessions_t::expires_at.gt(st.clock.now_naive()))
        .select((
            sessions_t::id,
            sessions_t::created_at,
            sessions_t::last_seen_at,
            sessions_t::expires_at,
            sessions_t::user_agent,
            sessions_t::ip,
        ))
        .order(sessions_t::id.desc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(before) = page.before_id()? {
        q = q.filter(sessions_t::id.lt(before));
    }
    let rows: Vec<SessionRow> = q.load(conn)?;
    Ok(page_by_id(
        rows,
        limit,
        |r| r.0,
        |r| SessionView {
            id: r.0,
            created_at: r.1.and_utc(),
            last_seen_at: r.2.and_utc(),
            expires_at: r.3.and_utc(),
            user_agent: r.4,
            ip: r.5,
            current: r.0 == caller.session_id,
        },
    ))
}

/// Ends one of the caller's own sessions (ACC-7); others' are 404.
pub fn end_session(
    conn: &mut DbConnection,
    st: &AppState,
    caller: &Caller,
    session_id: i64,
) -> AppResult<()> {
    let owned: bool = diesel::select(diesel::dsl::exists(
        sessions_t::table
            .filter(sessions_t::id.eq(session_id))
            .filter(sessions_t::user_id.eq(caller.user_id)),
    ))
    .get_result(conn)?;
    if !owned || !sessions::revoke(conn, session_id, st.clock.now_naive(), "ended_by_user")? {
        return Err(AppError::not_found(
            "session.not_found",
            "会话不存在或已结束",
            "No such live session",
        ));
    }
    Ok(())
}

/// Whether `raw` could be registered now, and why not.
pub fn availability(conn: &mut DbConnection, st: &AppState, raw: &str) -> AppResult<Availability> {
    let refused = |code: &str, category: Option<Category>| Availability {
        available: false,
        reason_code: Some(code.to_string()),
        category,
    };
    let name = match check_member_name(conn, st, raw) {
        Ok(name) => name,
        Err(e) => {
            let category = e
                .extensions
                .get("category")
                .and_then(|c| c.as_str())
                .and_then(Category::parse);
            return Ok(refused(&e.code, category));
        }
    };
    if let Err(e) = require_name_free(conn, name.key()) {
        return Ok(refused(&e.code, None));
    }
    Ok(Availability {
        available: true,
        reason_code: None,
        category: None,
    })
}

/// A staff account to be made: its name and password checked and the
/// password hashed before any transaction, so the Argon2 work (tens of
/// milliseconds) holds neither a connection nor the write lock.
pub struct NewStaff {
    name: MemberName,
    hash: String,
    role: Role,
}

impl NewStaff {
    pub fn prepare(member_name: &str, password_plain: &str, role: Role) -> AppResult<Self> {
        if !role.is_staff() {
            return Err(AppError::invalid_field(
                "role",
                "role.invalid",
                "角色须为 admin、moderator 或 finance",
                "The role must be admin, moderator or finance",
            ));
        }
        let name = MemberName::parse(member_name)?;
        password::check_strength(password_plain, Some(name.as_str()))?;
        let hash = password::hash(password_plain)?;
        Ok(NewStaff { name, hash, role })
    }
}

/// Creates a staff account (the `admin create` command and the bootstrap).
pub fn create_staff(conn: &mut DbConnection, st: &AppState, staff: &NewStaff) -> AppResult<i64> {
    let NewStaff { name, hash, role } = staff;
    let role = *role;
    require_name_free(conn, name.key())?;
    let now = st.clock.now_naive();
    let id: i64 = diesel::insert_into(users::table)
        .values(NewUser {
            member_name: Some(name.as_str()),
            member_name_key: Some(name.key()),
            email: None,
            email_key: None,
            phone: None,
            password_hash: hash,
            contact_name: name.as_str(),
            address: "-",
            account_kind: AccountKind::Individual.as_str(),
            role,
            status: UserStatus::Active,
            created_at: now,
            updated_at: now,
            last_login_at: None,
            phone_verified_at: None,
        })
        .returning(users::id)
        .get_result(conn)
        .map_err(|e| unique_or(e, taken))?;
    crate::audit::record(
        conn,
        st,
        crate::audit::Entry {
            actor: crate::audit::Actor::Cli,
            action: "staff.create",
            target_type: "user",
            target_id: Some(id.to_string()),
            reason: None,
            details: Some(serde_json::json!({ "role": role.as_str() })),
            ip: None,
        },
    )?;
    Ok(id)
}

/// Whether any admin account exists (for the start-up bootstrap).
pub fn admin_exists(conn: &mut DbConnection) -> AppResult<bool> {
    Ok(diesel::select(diesel::dsl::exists(
        users::table.filter(users::role.eq(Role::Admin.as_str())),
    ))
    .get_result(conn)?)
}

/// Staff reclaim a member name that breaks ACC-4 (ACC-5): the user keeps
/// logging in by email or phone; the name is held until staff release it.
pub fn reclaim_member_name(
    conn: &mut DbConnection,
    st: &AppState,
    staff_id: i64,
    user_id: i64,
    reason: &str,
    ip: &str,
) -> AppResult<()> {
    use crate::platform::db::schema::held_member_names as held;
    let user = load_user(conn, user_id)?;
    let (Some(name), Some(key)) = (user.member_name.clone(), user.member_name_key.clone()) else {
        return Err(AppError::conflict(
            "member_name.none",
            "该用户当前没有会员名",
            "This user has no member name to reclaim",
        ));
    };
    if user.role.is_staff() {
        return Err(AppError::not_found(
            "user.not_found",
            "用户不存在",
            "No such user",
        ));
    }
    let now = st.clock.now_naive();
    diesel::update(users::table.find(user_id))
        .set((
            users::member_name.eq(None::<String>),
            users::member_name_key.eq(None::<String>),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    diesel::insert_into(held::table)
        .values((
            held::name_key.eq(&key),
            held::member_name.eq(&name),
            held::user_id.eq(user_id),
            held::reason.eq(reason),
            held::held_at.eq(now),
            held::held_by.eq(staff_id),
        ))
        .execute(conn)?;
    crate::notifications::notify(
        conn,
        st,
        user_id,
        crate::notifications::Notice {
            kind: "member_name.reclaimed",
            title: "会员名已被回收",
            body: format!(
                "您的会员名因不符合会员名规则被平台回收，原因：{reason}。您仍可使用邮箱或手机号登录，并可在“我的资料”中设置新的会员名。"
            ),
            link: Some("/api/v1/me".into()),
        },
    )?;
    crate::audit::record(
        conn,
        st,
        crate::audit::Entry {
            actor: crate::audit::Actor::Staff(staff_id),
            action: "member_name.reclaim",
            target_type: "user",
            target_id: Some(user_id.to_string()),
            reason: Some(reason),
            details: Some(serde_json::json!({ "member_name": name })),
            ip: Some(ip),
        },
    )
}

/// Staff release a held member name so it can be registered again (ACC-5).
pub fn release_member_name(
    conn: &mut DbConnection,
    st: &AppState,
    staff_id: i64,
    name: &str,
    ip: &str,
) -> AppResult<()> {
    use crate::platform::db::schema::held_member_names as held;
    let key = content::fold(name);
    let n = diesel::delete(held::table.find(&key)).execute(conn)?;
    if n == 0 {
        return Err(AppError::not_found(
            "member_name.not_held",
            "该会员名未被保留",
            "This member name is not held",
        ));
    }
    crate::audit::record(
        conn,
        st,
        crate::audit::Entry {
            actor: crate::audit::Actor::Staff(staff_id),
            action: "member_name.release",
            target_type: "member_name",
            target_id: Some(key),
            reason: None,
            details: None,
            ip: Some(ip),
        },
    )
}
