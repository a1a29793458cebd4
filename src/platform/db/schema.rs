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
        inactivity_warned -> Integer,
        status_changed_at -> Nullable<Timestamp>,
        anonymized_at -> Nullable<Timestamp>,
        phone_verified_at -> Nullable<Timestamp>,
        email_verified_at -> Nullable<Timestamp>,
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
        second_factor_at -> Nullable<Timestamp>,
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
        /// `prohibited` (ACC-4, refused) or `abuse` (MSG-3, flagged).
        list -> Text,
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

diesel::table! {
    verifications (id) {
        id -> BigInt,
        user_id -> BigInt,
        kind -> Text,
        legal_name -> Text,
        identity_hash -> Text,
        identity_masked -> Text,
        birth_date -> Nullable<Date>,
        legal_representative -> Nullable<Text>,
        guardian_name -> Nullable<Text>,
        guardian_id_hash -> Nullable<Text>,
        guardian_id_masked -> Nullable<Text>,
        guardian_relation -> Nullable<Text>,
        status -> Text,
        reject_reason -> Nullable<Text>,
        submitted_at -> Timestamp,
        reviewed_at -> Nullable<Timestamp>,
        reviewed_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    restricted_identities (id) {
        id -> BigInt,
        kind -> Text,
        value_hash -> Text,
        masked -> Text,
        reason -> Text,
        source -> Text,
        created_at -> Timestamp,
        created_by -> Nullable<BigInt>,
        violation_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    notifications (id) {
        id -> BigInt,
        user_id -> BigInt,
        kind -> Text,
        title -> Text,
        body -> Text,
        link -> Nullable<Text>,
        created_at -> Timestamp,
        read_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    held_member_names (name_key) {
        name_key -> Text,
        member_name -> Text,
        user_id -> BigInt,
        reason -> Text,
        held_at -> Timestamp,
        held_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    info_requests (id) {
        id -> BigInt,
        user_id -> BigInt,
        kind -> Text,
        message -> Text,
        status -> Text,
        response -> Nullable<Text>,
        created_at -> Timestamp,
        created_by -> Nullable<BigInt>,
        responded_at -> Nullable<Timestamp>,
        cleared_at -> Nullable<Timestamp>,
        cleared_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    closure_requests (id) {
        id -> BigInt,
        user_id -> BigInt,
        reason -> Nullable<Text>,
        status -> Text,
        decision_reason -> Nullable<Text>,
        created_at -> Timestamp,
        decided_at -> Nullable<Timestamp>,
        decided_by -> Nullable<BigInt>,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(agreement_acceptances -> agreements (version));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    sessions,
    devices,
    outbox,
    notification_preferences,
    marketing_consents,
    staff_totp,
    staff_recovery_codes,
    refresh_tokens,
    agreements,
    agreement_acceptances,
    prohibited_words,
    list_revisions,
    audit_log,
    verifications,
    restricted_identities,
    notifications,
    held_member_names,
    info_requests,
    closure_requests,
);

diesel::table! {
    ledger_accounts (id) {
        id -> BigInt,
        code -> Text,
        owner_id -> Nullable<BigInt>,
        kind -> Text,
        balance -> BigInt,
        allow_negative -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ledger_transactions (id) {
        id -> BigInt,
        kind -> Text,
        reference_type -> Nullable<Text>,
        reference_id -> Nullable<Text>,
        memo -> Text,
        reverses_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ledger_entries (id) {
        id -> BigInt,
        transaction_id -> BigInt,
        account_id -> BigInt,
        amount -> BigInt,
        balance_after -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    payments (id) {
        id -> BigInt,
        public_id -> Text,
        user_id -> BigInt,
        direction -> Text,
        channel -> Text,
        amount -> BigInt,
        status -> Text,
        channel_reference -> Nullable<Text>,
        failure_reason -> Nullable<Text>,
        created_at -> Timestamp,
        completed_at -> Nullable<Timestamp>,
        purpose -> Text,
        payee_account_id -> Nullable<BigInt>,
        channel_order -> Nullable<Text>,
        submitted_at -> Nullable<Timestamp>,
        queried_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    payee_accounts (id) {
        id -> BigInt,
        user_id -> BigInt,
        kind -> Text,
        identifier -> Text,
        real_name -> Nullable<Text>,
        created_at -> Timestamp,
        removed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    money_operations (id) {
        id -> BigInt,
        kind -> Text,
        user_id -> BigInt,
        amount -> BigInt,
        reason -> Text,
        serves_type -> Text,
        serves_id -> Text,
        payee_account_id -> Nullable<BigInt>,
        status -> Text,
        created_by -> Nullable<BigInt>,
        approved_by -> Nullable<BigInt>,
        decision_note -> Nullable<Text>,
        payment_id -> Nullable<Text>,
        ledger_tx_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        decided_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    statement_imports (id) {
        id -> BigInt,
        channel -> Text,
        statement_date -> Date,
        rows_read -> Integer,
        matched -> Integer,
        imported_by -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    reconciliation_differences (id) {
        id -> BigInt,
        import_id -> BigInt,
        channel -> Text,
        kind -> Text,
        channel_reference -> Nullable<Text>,
        payment_id -> Nullable<Text>,
        our_amount -> Nullable<BigInt>,
        their_amount -> Nullable<BigInt>,
        our_status -> Nullable<Text>,
        their_status -> Nullable<Text>,
        created_at -> Timestamp,
        resolved_at -> Nullable<Timestamp>,
        resolved_by -> Nullable<BigInt>,
        resolution -> Nullable<Text>,
    }
}

diesel::table! {
    idempotency_keys (user_id, idem_key) {
        user_id -> BigInt,
        idem_key -> Text,
        fingerprint -> Text,
        status -> Text,
        response_status -> Nullable<Integer>,
        response_body -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(ledger_entries -> ledger_accounts (account_id));
diesel::joinable!(ledger_entries -> ledger_transactions (transaction_id));

diesel::allow_tables_to_appear_in_same_query!(
    ledger_accounts,
    ledger_transactions,
    ledger_entries,
    payments,
    idempotency_keys,
    users,
);

diesel::table! {
    categories (code) {
        code -> Text,
        name -> Text,
        sort_order -> Integer,
    }
}

diesel::table! {
    demands (id) {
        id -> BigInt,
        owner_id -> BigInt,
        title -> Text,
        description -> Text,
        category -> Text,
        region_code -> Text,
        region_name -> Text,
        budget -> BigInt,
        workers_wanted -> Integer,
        bid_deadline -> Timestamp,
        status -> Text,
        bid_count -> Integer,
        search_text -> Text,
        removed_reason -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        work_address -> Nullable<Text>,
        lat -> Nullable<Double>,
        lng -> Nullable<Double>,
        geo_cell -> Nullable<BigInt>,
        work_start -> Nullable<Date>,
        work_end -> Nullable<Date>,
        daily_start_minute -> Nullable<Integer>,
        daily_end_minute -> Nullable<Integer>,
        pay_unit -> Nullable<Text>,
    }
}

diesel::table! {
    bids (id) {
        id -> BigInt,
        demand_id -> BigInt,
        provider_id -> BigInt,
        price -> BigInt,
        proposal -> Text,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    awards (id) {
        id -> BigInt,
        demand_id -> BigInt,
        bid_id -> BigInt,
        employer_id -> BigInt,
        provider_id -> BigInt,
        price -> BigInt,
        fee -> Nullable<BigInt>,
        status -> Text,
        delivery_note -> Nullable<Text>,
        evidence -> Nullable<Text>,
        delivered_at -> Nullable<Timestamp>,
        completed_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        confidentiality_terms -> Nullable<Text>,
        confidentiality_accepted_at -> Nullable<Timestamp>,
        confidentiality_accepted_ip -> Nullable<Text>,
    }
}

diesel::table! {
    reviews (id) {
        id -> BigInt,
        award_id -> BigInt,
        reviewer_id -> BigInt,
        reviewee_id -> BigInt,
        rating -> Integer,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// The n-gram index of `demands.search_text`, kept by database triggers
    /// (migration 000008); read only.
    demand_grams (demand_id, gram) {
        demand_id -> BigInt,
        gram -> Text,
    }
}

diesel::joinable!(demand_grams -> demands (demand_id));
diesel::joinable!(bids -> demands (demand_id));
diesel::joinable!(awards -> demands (demand_id));

diesel::allow_tables_to_appear_in_same_query!(categories, demands, bids, awards, reviews, users);
diesel::allow_tables_to_appear_in_same_query!(demand_grams, demands);
diesel::allow_tables_to_appear_in_same_query!(demands, verifications);

diesel::table! {
    complaints (id) {
        id -> BigInt,
        reporter_id -> BigInt,
        kind -> Text,
        target_type -> Text,
        target_id -> BigInt,
        subject_id -> BigInt,
        category -> Text,
        body -> Text,
        evidence -> Text,
        status -> Text,
        violation_id -> Nullable<BigInt>,
        resolution -> Nullable<Text>,
        handled_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        handled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    violations (id) {
        id -> BigInt,
        user_id -> BigInt,
        category -> Text,
        source -> Text,
        facts -> Text,
        decision -> Text,
        public -> Bool,
        status -> Text,
        appeal_until -> Timestamp,
        created_by -> BigInt,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    measure_services (measure_id, service) {
        measure_id -> BigInt,
        service -> Text,
    }
}

diesel::table! {
    measures (id) {
        id -> BigInt,
        violation_id -> BigInt,
        user_id -> BigInt,
        kind -> Text,
        points -> Nullable<Integer>,
        amount -> Nullable<BigInt>,
        previous_amount -> Nullable<BigInt>,
        source -> Nullable<Text>,
        target_type -> Nullable<Text>,
        target_id -> Nullable<BigInt>,
        ledger_transaction_id -> Nullable<BigInt>,
        starts_at -> Timestamp,
        ends_at -> Nullable<Timestamp>,
        status -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    appeals (id) {
        id -> BigInt,
        violation_id -> BigInt,
        user_id -> BigInt,
        body -> Text,
        evidence -> Text,
        status -> Text,
        decision_reason -> Nullable<Text>,
        decided_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        decided_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    deposits (user_id) {
        user_id -> BigInt,
        required -> BigInt,
        status -> Text,
        due_at -> Nullable<Timestamp>,
        reason -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    deposit_refunds (id) {
        id -> BigInt,
        user_id -> BigInt,
        channel -> Text,
        status -> Text,
        observation_ends_at -> Timestamp,
        amount -> Nullable<BigInt>,
        payout_due_at -> Nullable<Timestamp>,
        payment_id -> Nullable<Text>,
        created_at -> Timestamp,
        completed_at -> Nullable<Timestamp>,
        payee_account_id -> Nullable<BigInt>,
    }
}

diesel::joinable!(measures -> violations (violation_id));
diesel::joinable!(appeals -> violations (violation_id));

diesel::allow_tables_to_appear_in_same_query!(
    complaints,
    violations,
    measures,
    appeals,
    deposits,
    deposit_refunds,
);
diesel::allow_tables_to_appear_in_same_query!(complaints, users);
diesel::allow_tables_to_appear_in_same_query!(violations, users);
diesel::allow_tables_to_appear_in_same_query!(deposits, users);
diesel::allow_tables_to_appear_in_same_query!(deposit_refunds, users);
diesel::allow_tables_to_appear_in_same_query!(appeals, users);

diesel::table! {
    disputes (id) {
        id -> BigInt,
        award_id -> BigInt,
        employer_id -> BigInt,
        provider_id -> BigInt,
        opened_by -> BigInt,
        category -> Text,
        claim_amount -> BigInt,
        award_status_before -> Text,
        status -> Text,
        respond_by -> Timestamp,
        responded_at -> Nullable<Timestamp>,
        silence_recorded_at -> Nullable<Timestamp>,
        escalated_at -> Nullable<Timestamp>,
        outcome -> Nullable<Text>,
        decision_reason -> Nullable<Text>,
        decided_by -> Nullable<BigInt>,
        decided_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    dispute_events (id) {
        id -> BigInt,
        dispute_id -> BigInt,
        actor_id -> Nullable<BigInt>,
        kind -> Text,
        body -> Nullable<Text>,
        evidence -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(dispute_events -> disputes (dispute_id));
diesel::allow_tables_to_appear_in_same_query!(disputes, dispute_events, awards);
diesel::allow_tables_to_appear_in_same_query!(bids, deposits);
diesel::allow_tables_to_appear_in_same_query!(measures, measure_services);

diesel::table! {
    files (id) {
        id -> BigInt,
        owner_id -> BigInt,
        purpose -> Text,
        content_type -> Text,
        size_bytes -> BigInt,
        sha256 -> Text,
        file_name -> Text,
        storage_key -> Text,
        original_key -> Nullable<Text>,
        metadata_stripped -> Bool,
        created_at -> Timestamp,
        attached_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    file_uses (file_id, use_kind, use_id) {
        file_id -> BigInt,
        use_kind -> Text,
        use_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::joinable!(file_uses -> files (file_id));
diesel::allow_tables_to_appear_in_same_query!(files, file_uses, awards);

diesel::table! {
    check_ins (id) {
        id -> BigInt,
        award_id -> BigInt,
        provider_id -> BigInt,
        kind -> Text,
        lat -> Double,
        lng -> Double,
        distance_m -> Nullable<Integer>,
        off_site -> Bool,
        file_id -> BigInt,
        work_day -> Date,
        created_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(check_ins, awards);

diesel::table! {
    works (id) {
        id -> BigInt,
        owner_id -> BigInt,
        title -> Text,
        body -> Text,
        created_at -> Timestamp,
        removed_at -> Nullable<Timestamp>,
        removed_reason -> Nullable<Text>,
    }
}

diesel::table! {
    conversations (id) {
        id -> BigInt,
        demand_id -> BigInt,
        award_id -> Nullable<BigInt>,
        employer_id -> BigInt,
        provider_id -> BigInt,
        stage -> Text,
        employer_blocked_at -> Nullable<Timestamp>,
        provider_blocked_at -> Nullable<Timestamp>,
        awaiting_since -> Nullable<Timestamp>,
        warned_at -> Nullable<Timestamp>,
        reported_at -> Nullable<Timestamp>,
        closes_at -> Nullable<Timestamp>,
        last_message_at -> Nullable<Timestamp>,
        confidential_terms -> Bool,
        created_at -> Timestamp,
        employer_left_at -> Nullable<Timestamp>,
        provider_left_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    messages (id) {
        id -> BigInt,
        conversation_id -> BigInt,
        sender_id -> Nullable<BigInt>,
        event -> Nullable<Text>,
        body -> Text,
        flagged -> Bool,
        confidential -> Bool,
        created_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
        read_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    evidence (id) {
        id -> BigInt,
        kind -> Text,
        status -> Text,
        user_id -> BigInt,
        award_id -> Nullable<BigInt>,
        conversation_id -> Nullable<BigInt>,
        message_id -> Nullable<BigInt>,
        summary -> Text,
        violation_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(messages -> conversations (conversation_id));
diesel::allow_tables_to_appear_in_same_query!(conversations, messages, evidence);

diesel::table! {
    user_events (id) {
        id -> BigInt,
        user_id -> BigInt,
        kind -> Text,
        data -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    verification_codes (id) {
        id -> BigInt,
        channel -> Text,
        purpose -> Text,
        target_key -> Text,
        code_hash -> Text,
        attempts -> Integer,
        ip -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    staff_totp (user_id) {
        user_id -> BigInt,
        secret -> Text,
        created_at -> Timestamp,
        confirmed_at -> Nullable<Timestamp>,
        last_step -> Nullable<BigInt>,
        failures -> Integer,
        locked_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    staff_recovery_codes (id) {
        id -> BigInt,
        user_id -> BigInt,
        code_hash -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    devices (id) {
        id -> BigInt,
        user_id -> BigInt,
        session_id -> BigInt,
        platform -> Text,
        token -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        dedupe_key -> Text,
        channel -> Text,
        kind -> Text,
        user_id -> Nullable<BigInt>,
        notification_id -> Nullable<BigInt>,
        recipient -> Text,
        subject -> Text,
        body -> Text,
        secret -> Bool,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claimed_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        provider -> Nullable<Text>,
        provider_ref -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    notification_preferences (user_id, kind, channel) {
        user_id -> BigInt,
        kind -> Text,
        channel -> Text,
        enabled -> Bool,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    marketing_consents (id) {
        id -> BigInt,
        user_id -> BigInt,
        granted -> Bool,
        source -> Text,
        ip -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(devices -> sessions (session_id));
