-- The writer's payments and top-ups in one round trip per batch (crates/store/src/pg_batch.rs).
--
-- First locks the cards of `p_lock` in id order (empty when the caller's transaction already
-- holds the batch's locks), so that two batches never wait for each other in a cycle. Then
-- applies the movements in array order. `p_ends` cuts them into segments (the last position
-- of each, in order) in which no card appears twice: a segment of several movements is one
-- set-based statement (one guarded UPDATE … FROM the segment's rows, then one INSERT of the
-- ledger rows in the segment's order), since no movement of it can depend on another; a
-- segment of one, and any movement that such a statement refused, runs the writer's two
-- statements one by one: the guarded UPDATE (the guard in its WHERE clause: balance range,
-- not replaced, floor with the overdraft, ceiling, usable), then, if a row matched, the ledger
-- row. A refused movement writes nothing and answers the card as it is then, read under its
-- row lock (or `card_found = FALSE`), so that the caller can explain the refusal; its batch
-- mates go on. The guarded UPDATE is tried once more after that read, so the state answered
-- is the one the guard refused even if the card had not been locked before (created
-- meanwhile by another process). The same card several times lands in successive segments:
-- each movement sees the balance the previous ones left. Any database error aborts the whole
-- call (the caller applies the batch again the slow way, one savepoint per movement).
-- One row per movement, `ord` = its 1-based position.
CREATE FUNCTION ardoise_post_batch(
    p_lock TEXT[],
    p_ends INTEGER[],
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
    v_start INTEGER := 1;
    v_end INTEGER := 0;
    v_segment INTEGER := 0;
    v_ids BIGINT[];
    v_afters BIGINT[];
    v_row RECORD;
BEGIN
    PERFORM 1 FROM cards AS c WHERE c.id = ANY (p_lock) ORDER BY c.id FOR UPDATE;
    FOR i IN 1 .. COALESCE(array_length(p_cards, 1), 0) LOOP
        IF i > v_end THEN
            -- The next segment; several movements on distinct cards: one statement.
            v_segment := v_segment + 1;
            v_start := i;
            v_end := COALESCE(p_ends[v_segment], i);
            IF v_end > i THEN
                v_ids := '{}';
                v_afters := '{}';
                FOR v_row IN
                    WITH v AS (
                        SELECT *
                        FROM unnest(p_cards[v_start:v_end], p_deltas[v_start:v_end],
                                    p_floor[v_start:v_end], p_ceiling[v_start:v_end],
                                    p_usable[v_start:v_end], p_kinds[v_start:v_end],
                                    p_amounts[v_start:v_end], p_quantities[v_start:v_end],
                                    p_products[v_start:v_end], p_authors[v_start:v_end],
                                    p_at[v_start:v_end])
                             WITH ORDINALITY AS v (card, delta, fl, ce, us, kind, amount,
                                                   quantity, product, author, at_ms, k)
                    ), u AS (
                        UPDATE cards AS c SET balance_cents = c.balance_cents + v.delta
                        FROM v
                        WHERE c.id = v.card
                          AND c.balance_cents + v.delta
                              BETWEEN -1000000000000000 AND 1000000000000000
                          AND c.replaced_by IS NULL
                          AND (NOT v.fl OR c.balance_cents + v.delta + c.overdraft_limit_cents >= 0)
                          AND (NOT v.ce OR c.max_balance_cents IS NULL
                               OR c.balance_cents + v.delta <= c.max_balance_cents)
                          AND (NOT v.us OR (c.status = 'active'
                               AND (c.valid_until IS NULL OR c.valid_until > v.at_ms)))
                        RETURNING v.k, c.balance_cents AS after
                    ), t AS (
                        INSERT INTO transactions
                            (kind, card_id, amount_cents, quantity, product, valid, author,
                             created_at)
                        SELECT v.kind, v.card, v.amount, v.quantity, v.product, TRUE, v.author,
                               v.at_ms
                        FROM u JOIN v ON v.k = u.k
                        ORDER BY u.k
                        RETURNING id, card_id
                    )
                    SELECT u.k, t.id, u.after
                    FROM u JOIN v ON v.k = u.k JOIN t ON t.card_id = v.card
                LOOP
                    v_ids[v_row.k] := v_row.id;
                    v_afters[v_row.k] := v_row.after;
                END LOOP;
            END IF;
        END IF;
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
        IF v_end > v_start AND v_ids[i - v_start + 1] IS NOT NULL THEN
            -- Applied by its segment's statement.
            transaction_id := v_ids[i - v_start + 1];
            balance := v_afters[i - v_start + 1];
            RETURN NEXT;
            CONTINUE;
        END IF;
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
