-- The writer's payments and top-ups in one round trip per batch (crates/store/src/pg_batch.rs).
--
-- First locks the cards of `p_lock` in id order (empty when the caller's transaction already
-- holds the batch's locks), so that two batches never wait for each other in a cycle. Then
-- applies the movements in array order, each exactly as the writer's two statements do it
-- one by one: the guarded UPDATE (the guard in its WHERE clause: balance range, not replaced,
-- floor with the overdraft, ceiling, usable), then, if a row matched, the ledger row. A
-- movement whose guard matched no row writes nothing and answers the card as it is then,
-- read under its row lock (or `card_found = FALSE`), so that the caller can explain the
-- refusal; its batch mates go on. The guarded UPDATE is tried once more after that read, so
-- the state answered is the one the guard refused even if the card had not been locked
-- before (created meanwhile by another process). The same card may appear many times: each
-- movement sees the balance the previous ones left. Any database error aborts the whole
-- call (the caller applies the batch again the slow way, one savepoint per movement).
-- One row per movement, `ord` = its 1-based position.
CREATE FUNCTION ardoise_post_batch(
    p_lock TEXT[],
    p_cards TEXT[],
    p_deltas BIGINT[],
    p_floor BOOLEAN[],
    p_ceiling BOOLEAN[],
    p_usable BOOLEAN[],
    p_kinds SMALLINT[],
    p_amounts BIGINT[],
    p_quantities BIGINT[],
    p_products TEXT[],
    p_authors TEXT[],
    p_at BIGINT[]
) RETURNS TABLE (
    ord INTEGER,
    transaction_id BIGINT,
    card_found BOOLEAN,
    balance BIGINT,
    overdraft_limit BIGINT,
    max_balance BIGINT,
    card_status TEXT,
    card_valid_until BIGINT,
    card_member_id BIGINT,
    card_created_at BIGINT,
    card_replaced_by TEXT
) LANGUAGE plpgsql AS $$
DECLARE
    v_after BIGINT;
    v_applied BOOLEAN;
BEGIN
    PERFORM 1 FROM cards AS c WHERE c.id = ANY (p_lock) ORDER BY c.id FOR UPDATE;
    FOR i IN 1 .. COALESCE(array_length(p_cards, 1), 0) LOOP
        ord := i;
        transaction_id := NULL;
        card_found := TRUE;
        balance := NULL;
        overdraft_limit := NULL;
        max_balance := NULL;
        card_status := NULL;
        card_valid_until := NULL;
        card_member_id := NULL;
        card_created_at := NULL;
        card_replaced_by := NULL;
        v_applied := FALSE;
        FOR attempt IN 1 .. 2 LOOP
            UPDATE cards AS c SET balance_cents = c.balance_cents + p_deltas[i]
            WHERE c.id = p_cards[i]
              AND c.balance_cents + p_deltas[i] BETWEEN -1000000000000000 AND 1000000000000000
              AND c.replaced_by IS NULL
              AND (NOT p_floor[i] OR c.balance_cents + p_deltas[i] + c.overdraft_limit_cents >= 0)
              AND (NOT p_ceiling[i] OR c.max_balance_cents IS NULL
                   OR c.balance_cents + p_deltas[i] <= c.max_balance_cents)
              AND (NOT p_usable[i] OR (c.status = 'active'
                   AND (c.valid_until IS NULL OR c.valid_until > p_at[i])))
            RETURNING c.balance_cents INTO v_after;
            v_applied := FOUND;
            EXIT WHEN v_applied OR attempt = 2;
            SELECT c.balance_cents, c.overdraft_limit_cents, c.max_balance_cents, c.status,
                   c.valid_until, c.member_id, c.created_at, c.replaced_by
            INTO balance, overdraft_limit, max_balance, card_status, card_valid_until,
                 card_member_id, card_created_at, card_replaced_by
            FROM cards AS c WHERE c.id = p_cards[i] FOR UPDATE;
            card_found := FOUND;
            EXIT WHEN NOT card_found;
        END LOOP;
        IF v_applied THEN
            INSERT INTO transactions
                (kind, card_id, amount_cents, quantity, product, valid, author, created_at)
            VALUES (p_kinds[i], p_cards[i], p_amounts[i], p_quantities[i], p_products[i], TRUE,
                    p_authors[i], p_at[i])
            RETURNING id INTO transaction_id;
            card_found := TRUE;
            balance := v_after;
            overdraft_limit := NULL;
            max_balance := NULL;
            card_status := NULL;
            card_valid_until := NULL;
            card_member_id := NULL;
            card_created_at := NULL;
            card_replaced_by := NULL;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;
