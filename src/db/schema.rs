//! Diesel table definitions shared by both backends (kept by hand in step
//! with `migrations/postgres` and `migrations/sqlite`).

diesel::table! {
    users (id) {
        id -> BigInt,
        member_name -> Nullable<Text>,
        member_name_key -> Nullable<Text>,
        email -> Nullable<Text>,
        email_key -> Nullable<Text>,
        phone -> Nullable<Text>,
        password_hash -> Text,
        contact_name -> Text,
        address -> Text,
        account_kind -> Text,
        role -> Text,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        last_login_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id) {
        id -> BigInt,
        user_id -> BigInt,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        revoked_reason -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        ip -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        session_id -> BigInt,
        created_at -> Timestamp,
        spent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    agreements (version) {
        version -> Integer,
        title -> Text,
        body -> Text,
        in_force_at -> Timestamp,
        created_at -> Timestamp,
        created_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    agreement_acceptances (id) {
        id -> BigInt,
        user_id -> BigInt,
        version -> Integer,
        accepted_at -> Timestamp,
        ip -> Nullable<Text>,
    }
}

diesel::table! {
    prohibited_words (id) {
        id -> BigInt,
        word -> Text,
        category -> Text,
        created_at -> Timestamp,
        created_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    list_revisions (name) {
        name -> Text,
        revision -> BigInt,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        actor_id -> Nullable<BigInt>,
        actor_label -> Text,
        action -> Text,
        target_type -> Text,
        target_id -> Nullable<Text>,
        reason -> Nullable<Text>,
        details -> Nullable<Text>,
        ip -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(agreement_acceptances -> agreements (version));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    sessions,
    refresh_tokens,
    agreements,
    agreement_acceptances,
    prohibited_words,
    list_revisions,
    audit_log,
);
