//! The tables, one portable description for both backends (see `migrations/`).
//! Money is cents and times are unix milliseconds, both `BIGINT`.

diesel::table! {
    cards (id) {
        id -> Text,
        balance_cents -> BigInt,
        overdraft_limit_cents -> BigInt,
        max_balance_cents -> Nullable<BigInt>,
        status -> Text,
        valid_until -> Nullable<BigInt>,
        member_id -> Nullable<BigInt>,
        created_at -> BigInt,
        replaced_by -> Nullable<Text>,
    }
}

diesel::table! {
    members (id) {
        id -> BigInt,
        first_name -> Nullable<Text>,
        last_name -> Nullable<Text>,
        display_name -> Nullable<Text>,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        mobile -> Nullable<Text>,
        keywords -> Nullable<Text>,
        notes -> Nullable<Text>,
        revision -> BigInt,
        email_key -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    transactions (id) {
        id -> BigInt,
        kind -> SmallInt,
        card_id -> Text,
        amount_cents -> BigInt,
        quantity -> BigInt,
        product -> Nullable<Text>,
        valid -> Bool,
        author -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    transaction_changes (id) {
        id -> BigInt,
        transaction_id -> BigInt,
        valid_after -> Bool,
        changed_by -> Text,
        changed_at -> BigInt,
    }
}

diesel::table! {
    products (name) {
        name -> Text,
        unit_price_cents -> BigInt,
        category -> Nullable<Text>,
    }
}

diesel::table! {
    product_bundles (product, quantity) {
        product -> Text,
        quantity -> BigInt,
        price_cents -> BigInt,
    }
}

diesel::table! {
    staff_users (login) {
        login -> Text,
        rights -> SmallInt,
        card_id -> Nullable<Text>,
        password_hash -> Text,
        active -> Bool,
        created_at -> BigInt,
    }
}

diesel::table! {
    sessions (token_hash) {
        token_hash -> Text,
        login -> Nullable<Text>,
        member_id -> Nullable<BigInt>,
        created_at -> BigInt,
        last_seen -> BigInt,
    }
}

diesel::table! {
    partners (client_id) {
        client_id -> Text,
        name -> Text,
        secret_hash -> Text,
        scopes -> Text,
        allow_basic -> Bool,
        active -> Bool,
        credit_cap_operation_cents -> BigInt,
        credit_cap_day_cents -> BigInt,
        created_at -> BigInt,
    }
}

diesel::table! {
    access_tokens (token_hash) {
        token_hash -> Text,
        client_id -> Nullable<Text>,
        login -> Nullable<Text>,
        scopes -> Text,
        issued_at -> BigInt,
        expires_at -> BigInt,
        rpt_left -> Nullable<BigInt>,
        revoked -> Bool,
    }
}

diesel::table! {
    card_credits (partner, reference) {
        partner -> Text,
        reference -> Text,
        transaction_id -> BigInt,
        card_id -> Text,
        amount_cents -> BigInt,
        balance_before_cents -> BigInt,
        balance_after_cents -> BigInt,
        created_at -> BigInt,
    }
}

diesel::table! {
    idempotency_keys (owner, idempotency_key) {
        owner -> Text,
        idempotency_key -> Text,
        request_hash -> Text,
        transaction_id -> BigInt,
        card_id -> Text,
        amount_cents -> BigInt,
        balance_before_cents -> BigInt,
        balance_after_cents -> BigInt,
        created_at -> BigInt,
    }
}

diesel::joinable!(transactions -> cards (card_id));
diesel::joinable!(transaction_changes -> transactions (transaction_id));
diesel::table! {
    categories (id) {
        id -> BigInt,
        name -> Text,
        created_at -> BigInt,
    }
}

diesel::joinable!(product_bundles -> products (product));

diesel::table! {
    member_accounts (member_id) {
        member_id -> BigInt,
        password_hash -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    member_links (token_hash) {
        token_hash -> Text,
        member_id -> BigInt,
        purpose -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    member_preferences (member_id) {
        member_id -> BigInt,
        email -> Bool,
        sms -> Bool,
        push -> Bool,
        low_balance_cents -> Nullable<BigInt>,
        receipts -> Bool,
        advertisements -> Bool,
        updated_at -> BigInt,
    }
}

diesel::joinable!(member_accounts -> members (member_id));

diesel::table! {
    imports (id) {
        id -> BigInt,
        source -> Text,
        imported_at -> BigInt,
        cards -> BigInt,
        transactions -> BigInt,
        users -> BigInt,
        adjustments -> BigInt,
        adjustment_total_cents -> BigInt,
    }
}

diesel::table! {
    vouchers (code) {
        code -> Text,
        kind -> Text,
        value_cents -> Nullable<BigInt>,
        product -> Nullable<Text>,
        label -> Nullable<Text>,
        valid_until -> Nullable<BigInt>,
        state -> Text,
        issued_by -> Text,
        issued_at -> BigInt,
        used_at -> Nullable<BigInt>,
        used_by -> Nullable<Text>,
        used_card -> Nullable<Text>,
        transaction_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    mandates (id) {
        id -> BigInt,
        member_id -> BigInt,
        partner -> Text,
        cap_operation_cents -> BigInt,
        cap_day_cents -> BigInt,
        valid_until -> Nullable<BigInt>,
        granted_by -> Text,
        created_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
        revoked_by -> Nullable<Text>,
    }
}

diesel::table! {
    debits (id) {
        id -> BigInt,
        partner -> Text,
        mandate_id -> BigInt,
        reference -> Text,
        transaction_id -> BigInt,
        card_id -> Text,
        amount_cents -> BigInt,
        balance_after_cents -> BigInt,
        created_at -> BigInt,
        refunded_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    partner_services (partner, service_id) {
        partner -> Text,
        service_id -> SmallInt,
        token_hash -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    exchange_offers (id) {
        id -> BigInt,
        member_id -> BigInt,
        kind -> Text,
        category_id -> BigInt,
        description -> Text,
        wished_from -> Nullable<Text>,
        wished_until -> Nullable<Text>,
        price_cents -> Nullable<BigInt>,
        status -> Text,
        closed_by -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    exchange_conversations (id) {
        id -> BigInt,
        member_low -> BigInt,
        member_high -> BigInt,
        offer_key -> BigInt,
        last_message_id -> BigInt,
        last_activity -> BigInt,
        read_low -> BigInt,
        read_high -> BigInt,
        notified_low -> Nullable<BigInt>,
        notified_high -> Nullable<BigInt>,
        reported_by -> Nullable<BigInt>,
        reported_at -> Nullable<BigInt>,
        created_at -> BigInt,
    }
}

diesel::table! {
    exchange_messages (id) {
        id -> BigInt,
        conversation_id -> BigInt,
        author_id -> BigInt,
        body -> Text,
        hidden_by -> Nullable<Text>,
        hidden_at -> Nullable<BigInt>,
        created_at -> BigInt,
    }
}

diesel::table! {
    exchange_suspensions (member_id) {
        member_id -> BigInt,
        suspended_by -> Text,
        suspended_at -> BigInt,
    }
}

diesel::table! {
    exchange_transfers (transaction_id) {
        transaction_id -> BigInt,
        incoming_id -> BigInt,
        from_card -> Text,
        to_card -> Text,
        from_member -> BigInt,
        to_member -> BigInt,
        amount_cents -> BigInt,
        offer_id -> Nullable<BigInt>,
        note -> Nullable<Text>,
        created_at -> BigInt,
        cancelled_by -> Nullable<Text>,
        cancelled_at -> Nullable<BigInt>,
    }
}

diesel::joinable!(exchange_messages -> exchange_conversations (conversation_id));

diesel::allow_tables_to_appear_in_same_query!(
    cards,
    members,
    transactions,
    transaction_changes,
    products,
    product_bundles,
    categories,
    staff_users,
    sessions,
    partners,
    access_tokens,
    card_credits,
    idempotency_keys,
    member_accounts,
    member_links,
    member_preferences,
    imports,
    exchange_offers,
    exchange_conversations,
    exchange_messages,
    exchange_suspensions,
    exchange_transfers,
);

diesel::table! {
    business_cards (id) {
        id -> Text,
        member_id -> BigInt,
        partner -> Nullable<Text>,
        enabled -> Bool,
        use_photo -> Bool,
        phone_a -> Nullable<Text>,
        phone_b -> Nullable<Text>,
        mobile_a -> Nullable<Text>,
        mobile_b -> Nullable<Text>,
        fax_a -> Nullable<Text>,
        fax_b -> Nullable<Text>,
        email_b -> Nullable<Text>,
        web_b -> Nullable<Text>,
        web_c -> Nullable<Text>,
        skype_b -> Nullable<Text>,
        addr_state -> Nullable<Text>,
        thumbnail -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    business_card_versions (card_id, lang) {
        card_id -> Text,
        lang -> Text,
        display_name -> Nullable<Text>,
        name -> Nullable<Text>,
        lastname -> Nullable<Text>,
        position -> Nullable<Text>,
        keywords -> Nullable<Text>,
        enabled -> Bool,
    }
}

diesel::joinable!(business_card_versions -> business_cards (card_id));
diesel::allow_tables_to_appear_in_same_query!(business_cards, business_card_versions);

diesel::table! {
    outbox (id) {
        id -> Text,
        channel -> Text,
        recipient -> Text,
        event -> Text,
        title -> Text,
        message -> Text,
        link -> Nullable<Text>,
        picture -> Nullable<Binary>,
        sender -> Text,
        member_id -> Nullable<BigInt>,
        webhook_partner -> Nullable<Text>,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> BigInt,
        last_error -> Nullable<Text>,
        created_at -> BigInt,
        sent_at -> Nullable<BigInt>,
        idempotency_key -> Nullable<Text>,
        request_hash -> Nullable<Text>,
    }
}

diesel::table! {
    partner_webhooks (partner) {
        partner -> Text,
        url -> Text,
        secret -> Text,
        created_at -> BigInt,
    }
}

diesel::joinable!(outbox -> partner_webhooks (webhook_partner));
diesel::allow_tables_to_appear_in_same_query!(outbox, partner_webhooks);
