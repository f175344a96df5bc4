-- The writer's two batch functions, faster (crates/store/src/pg_batch.rs).
--
-- Member-to-member transfers on PostgreSQL cost about four times a payment in the
-- database's CPU: `ardoise_transfer_batch` ran five statements per transfer from PL/pgSQL.
-- It now cuts a batch's transfers into segments, as `ardoise_post_batch` does for payments
-- (`p_ends`, the last position of each, computed by crates/store/src/pg_batch.rs): in a
-- segment no card appears twice, on either side, and no transfer carries an idempotency key.
-- A segment of several transfers is one set-based statement: one guarded UPDATE of both sides
-- of every transfer (a side is applied only if the other card's guard allows the other side
-- too, both read as they were: both or neither), one INSERT of the ledger rows in order
-- (transfer-out then transfer-in, transfer by transfer) and one of the `exchange_transfers`
-- rows. A transfer that statement did not apply goes through the one-by-one statements, which
-- explain its refusal, exactly as before. The rest of the contract is the one of migration
-- 2026-12-06-000004_exchange (below, from "First locks").

-- The writer's guard on a card: the balance after `delta` stays in range, the card is not
-- replaced, and where asked the floor (with the overdraft), the ceiling and usability (active,
-- not past its validity at `at_ms`) hold. SQL, so that the planner inlines it.
CREATE FUNCTION ardoise_card_allows(
    p_balance BIGINT,
    p_overdraft BIGINT,
    p_max_balance BIGINT,
    p_status TEXT,
    p_valid_until BIGINT,
    p_replaced_by TEXT,
    p_delta BIGINT,
    p_floor BOOLEAN,
    p_ceiling BOOLEAN,
    p_usable BOOLEAN,
    p_at BIGINT
) RETURNS BOOLEAN LANGUAGE sql IMMUTABLE AS $$
    SELECT p_balance + p_delta BETWEEN -1000000000000000 AND 1000000000000000
       AND p_replaced_by IS NULL
       AND (NOT p_floor OR p_balance + p_delta + p_overdraft >= 0)
       AND (NOT p_ceiling OR p_max_balance IS NULL OR p_balance + p_delta <= p_max_balance)
       AND (NOT p_usable OR (p_status = 'active'
            AND (p_valid_until IS NULL OR p_valid_until > p_at)))
$$;

DROP FUNCTION ardoise_transfer_batch(TEXT[], TEXT[], TEXT[], BIGINT[], BOOLEAN[], BOOLEAN[],
    BOOLEAN[], BOOLEAN[], BOOLEAN[], BOOLEAN[], TEXT[], BIGINT[], BIGINT[], BIGINT[], BIGINT[],
    TEXT[], TEXT[], TEXT[], TEXT[]);

-- The writer's member-to-member transfers in one round trip per batch
-- (crates/store/src/pg_batch.rs), as `ardoise_post_batch` does for payments.
--
-- First locks the cards of `p_lock` in id order (empty when the caller's transaction already
-- holds the batch's locks). Then, for each transfer in array order: its idempotency key, if
-- any, is taken first (refused: `refused = 'key'`, nothing written); the payer's guarded
-- UPDATE (the guard in its WHERE clause); the payee's guarded UPDATE, and if that one is
-- refused the payer's UPDATE is undone (both or neither) — a refused card answers its state,
-- read under its row lock, and `refused = 'payer'` or `'payee'`, its key row removed; then
-- the two ledger rows (transfer-out, transfer-in), the `exchange_transfers` row and the key's
-- answer. A guarded UPDATE refused on a card that was not locked yet (created meanwhile by
-- another process) is tried once more after the read, as in `ardoise_post_batch`. Any
-- database error aborts the whole call (the caller applies the batch again the slow way).
-- One row per transfer, `ord` = its 1-based position.
CREATE FUNCTION ardoise_transfer_batch(
    p_lock TEXT[],
    p_ends INTEGER[],
    p_from TEXT[],
    p_to TEXT[],
    p_amounts BIGINT[],
    p_payer_floor BOOLEAN[],
    p_payer_ceiling BOOLEAN[],
    p_payer_usable BOOLEAN[],
    p_payee_floor BOOLEAN[],
    p_payee_ceiling BOOLEAN[],
    p_payee_usable BOOLEAN[],
    p_authors TEXT[],
    p_at BIGINT[],
    p_from_members BIGINT[],
    p_to_members BIGINT[],
    p_offers BIGINT[],
    p_notes TEXT[],
    p_key_owners TEXT[],
    p_keys TEXT[],
    p_key_hashes TEXT[]
) RETURNS TABLE (
    ord INTEGER,
    transaction_id BIGINT,
    balance BIGINT,
    refused TEXT,
    card_found BOOLEAN,
    card_balance BIGINT,
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
    v_done BOOLEAN;
    v_in BIGINT;
    v_out BIGINT;
    v_payer BIGINT;
    v_card TEXT;
    v_delta BIGINT;
    v_fl BOOLEAN;
    v_ce BOOLEAN;
    v_us BOOLEAN;
    v_start INTEGER := 1;
    v_end INTEGER := 0;
    v_segment INTEGER := 0;
    v_outs BIGINT[];
    v_afters BIGINT[];
    v_undo_cards TEXT[];
    v_undo_deltas BIGINT[];
    v_row RECORD;
BEGIN
    PERFORM 1 FROM cards AS c WHERE c.id = ANY (p_lock) ORDER BY c.id FOR UPDATE;
    FOR i IN 1 .. COALESCE(array_length(p_from, 1), 0) LOOP
        IF i > v_end THEN
            -- The next segment; several transfers on distinct cards: one statement.
            v_segment := v_segment + 1;
            v_start := i;
            v_end := COALESCE(p_ends[v_segment], i);
            IF v_end > i THEN
                v_outs := '{}';
                v_afters := '{}';
                v_undo_cards := '{}';
                v_undo_deltas := '{}';
                FOR v_row IN
                    WITH v AS (
                        SELECT *
                        FROM unnest(p_from[v_start:v_end], p_to[v_start:v_end],
                                    p_amounts[v_start:v_end], p_payer_floor[v_start:v_end],
                                    p_payer_ceiling[v_start:v_end],
                                    p_payer_usable[v_start:v_end], p_payee_floor[v_start:v_end],
                                    p_payee_ceiling[v_start:v_end],
                                    p_payee_usable[v_start:v_end], p_authors[v_start:v_end],
                                    p_at[v_start:v_end], p_from_members[v_start:v_end],
                                    p_to_members[v_start:v_end], p_offers[v_start:v_end],
                                    p_notes[v_start:v_end])
                             WITH ORDINALITY AS v (payer, payee, amount, pfl, pce, pus, qfl,
                                                   qce, qus, author, at_ms, from_member,
                                                   to_member, offer, note, k)
                    ), s AS (
                        -- Each transfer's two sides (1: the payer, 2: the payee), each with
                        -- the other side's card, delta and guard.
                        SELECT v.k, 1 AS side, v.payer AS card, -v.amount AS delta,
                               v.pfl AS fl, v.pce AS ce, v.pus AS us, v.payee AS other,
                               v.amount AS other_delta, v.qfl AS ofl, v.qce AS oce,
                               v.qus AS ous, v.at_ms
                        FROM v
                        UNION ALL
                        SELECT v.k, 2, v.payee, v.amount, v.qfl, v.qce, v.qus, v.payer,
                               -v.amount, v.pfl, v.pce, v.pus, v.at_ms
                        FROM v
                    ), u AS (
                        -- A side is applied if its card's guard allows it and the other
                        -- card's guard allows the other side: no card is twice in a segment,
                        -- so both sides are decided on the two cards as they were, and
                        -- both or neither are applied.
                        UPDATE cards AS c SET balance_cents = c.balance_cents + s.delta
                        FROM s JOIN cards AS o ON o.id = s.other
                        WHERE c.id = s.card
                          AND ardoise_card_allows(c.balance_cents, c.overdraft_limit_cents,
                                                  c.max_balance_cents, c.status,
                                                  c.valid_until, c.replaced_by, s.delta,
                                                  s.fl, s.ce, s.us, s.at_ms)
                          AND ardoise_card_allows(o.balance_cents, o.overdraft_limit_cents,
                                                  o.max_balance_cents, o.status,
                                                  o.valid_until, o.replaced_by,
                                                  s.other_delta, s.ofl, s.oce, s.ous, s.at_ms)
                        RETURNING s.k, s.side, s.card, s.delta, c.balance_cents AS after
                    ), done AS (
                        SELECT u.k FROM u GROUP BY u.k HAVING count(*) = 2
                    ), t AS (
                        INSERT INTO transactions
                            (kind, card_id, amount_cents, quantity, product, valid, author,
                             created_at)
                        SELECT CASE WHEN s.side = 1 THEN 5 ELSE 6 END, s.card, v.amount, 0,
                               NULL, TRUE, v.author, v.at_ms
                        FROM done JOIN v ON v.k = done.k JOIN s ON s.k = done.k
                        ORDER BY done.k, s.side
                        RETURNING id, card_id
                    ), x AS (
                        INSERT INTO exchange_transfers
                            (transaction_id, incoming_id, from_card, to_card, from_member,
                             to_member, amount_cents, offer_id, note, created_at)
                        SELECT t_out.id, t_in.id, v.payer, v.payee, v.from_member,
                               v.to_member, v.amount, v.offer, v.note, v.at_ms
                        FROM done JOIN v ON v.k = done.k
                        JOIN t AS t_out ON t_out.card_id = v.payer
                        JOIN t AS t_in ON t_in.card_id = v.payee
                    )
                    SELECT u.k, u.side, u.card, u.delta, u.after, t_out.id AS out_id,
                           done.k IS NOT NULL AS applied
                    FROM u JOIN v ON v.k = u.k
                    LEFT JOIN done ON done.k = u.k
                    LEFT JOIN t AS t_out ON t_out.card_id = v.payer AND done.k IS NOT NULL
                LOOP
                    IF NOT v_row.applied THEN
                        -- One side only: a card not locked yet (created meanwhile by another
                        -- process) changed between the two sides' decisions. Undone below;
                        -- the transfer then goes one by one.
                        v_undo_cards := v_undo_cards || v_row.card;
                        v_undo_deltas := v_undo_deltas || v_row.delta;
                    ELSIF v_row.side = 1 THEN
                        v_outs[v_row.k] := v_row.out_id;
                        v_afters[v_row.k] := v_row.after;
                    END IF;
                END LOOP;
                IF array_length(v_undo_cards, 1) > 0 THEN
                    UPDATE cards AS c SET balance_cents = c.balance_cents - d.delta
                    FROM unnest(v_undo_cards, v_undo_deltas) AS d (card, delta)
                    WHERE c.id = d.card;
                END IF;
            END IF;
        END IF;
        ord := i;
        transaction_id := NULL;
        balance := NULL;
        refused := NULL;
        card_found := TRUE;
        card_balance := NULL;
        overdraft_limit := NULL;
        max_balance := NULL;
        card_status := NULL;
        card_valid_until := NULL;
        card_member_id := NULL;
        card_created_at := NULL;
        card_replaced_by := NULL;
        IF v_end > v_start AND v_outs[i - v_start + 1] IS NOT NULL THEN
            -- Applied by its segment's statement.
            transaction_id := v_outs[i - v_start + 1];
            balance := v_afters[i - v_start + 1];
            RETURN NEXT;
            CONTINUE;
        END IF;
        IF p_keys[i] IS NOT NULL THEN
            INSERT INTO idempotency_keys
                (owner, idempotency_key, request_hash, transaction_id, card_id, amount_cents,
                 balance_before_cents, balance_after_cents, created_at)
            VALUES (p_key_owners[i], p_keys[i], p_key_hashes[i], 0, p_from[i], p_amounts[i], 0,
                    0, p_at[i])
            ON CONFLICT DO NOTHING;
            IF NOT FOUND THEN
                refused := 'key';
                RETURN NEXT;
                CONTINUE;
            END IF;
        END IF;
        -- The payer (side 1), then the payee (side 2).
        FOR side IN 1 .. 2 LOOP
            IF side = 1 THEN
                v_card := p_from[i];
                v_delta := -p_amounts[i];
                v_fl := p_payer_floor[i];
                v_ce := p_payer_ceiling[i];
                v_us := p_payer_usable[i];
            ELSE
                v_card := p_to[i];
                v_delta := p_amounts[i];
                v_fl := p_payee_floor[i];
                v_ce := p_payee_ceiling[i];
                v_us := p_payee_usable[i];
            END IF;
            v_done := FALSE;
            FOR attempt IN 1 .. 2 LOOP
                UPDATE cards AS c SET balance_cents = c.balance_cents + v_delta
                WHERE c.id = v_card
                  AND ardoise_card_allows(c.balance_cents, c.overdraft_limit_cents,
                                          c.max_balance_cents, c.status, c.valid_until,
                                          c.replaced_by, v_delta, v_fl, v_ce, v_us, p_at[i])
                RETURNING c.balance_cents INTO v_after;
                v_done := FOUND;
                EXIT WHEN v_done OR attempt = 2;
                SELECT c.balance_cents, c.overdraft_limit_cents, c.max_balance_cents, c.status,
                       c.valid_until, c.member_id, c.created_at, c.replaced_by
                INTO card_balance, overdraft_limit, max_balance, card_status, card_valid_until,
                     card_member_id, card_created_at, card_replaced_by
                FROM cards AS c WHERE c.id = v_card FOR UPDATE;
                card_found := FOUND;
                EXIT WHEN NOT card_found;
            END LOOP;
            IF NOT v_done THEN
                refused := CASE WHEN side = 1 THEN 'payer' ELSE 'payee' END;
                IF side = 2 THEN
                    UPDATE cards SET balance_cents = balance_cents + p_amounts[i]
                    WHERE id = p_from[i];
                END IF;
                IF p_keys[i] IS NOT NULL THEN
                    DELETE FROM idempotency_keys
                    WHERE owner = p_key_owners[i] AND idempotency_key = p_keys[i];
                END IF;
                EXIT;
            END IF;
            IF side = 1 THEN
                v_payer := v_after;
            END IF;
        END LOOP;
        IF refused IS NOT NULL THEN
            RETURN NEXT;
            CONTINUE;
        END IF;
        INSERT INTO transactions
            (kind, card_id, amount_cents, quantity, product, valid, author, created_at)
        VALUES (5, p_from[i], p_amounts[i], 0, NULL, TRUE, p_authors[i], p_at[i])
        RETURNING id INTO v_out;
        INSERT INTO transactions
            (kind, card_id, amount_cents, quantity, product, valid, author, created_at)
        VALUES (6, p_to[i], p_amounts[i], 0, NULL, TRUE, p_authors[i], p_at[i])
        RETURNING id INTO v_in;
        INSERT INTO exchange_transfers
            (transaction_id, incoming_id, from_card, to_card, from_member, to_member,
             amount_cents, offer_id, note, created_at)
        VALUES (v_out, v_in, p_from[i], p_to[i], p_from_members[i], p_to_members[i],
                p_amounts[i], p_offers[i], p_notes[i], p_at[i]);
        IF p_keys[i] IS NOT NULL THEN
            UPDATE idempotency_keys
            SET transaction_id = v_out,
                balance_before_cents = v_payer + p_amounts[i],
                balance_after_cents = v_payer
            WHERE owner = p_key_owners[i] AND idempotency_key = p_keys[i];
        END IF;
        transaction_id := v_out;
        balance := v_payer;
        RETURN NEXT;
    END LOOP;
END
$$;

-- `ardoise_post_batch` also takes the posts that carry an idempotency key (the till's
-- payments, a partner's keyed debits…), so that a batch of them is one call too instead of
-- four round trips per movement (the key's look-up, the guarded UPDATE, the ledger INSERT, the
-- key's INSERT). A keyed post is a segment of its own (`p_ends`) and goes through the
-- one-by-one statements: its key is inserted first, as a placeholder (`ON CONFLICT DO
-- NOTHING`: a known key writes nothing and answers `key_reused`); applied, the key's row is
-- completed with the transaction and the balances, as the writer's one-by-one path writes it;
-- refused, the key's row is removed. The guard is `ardoise_card_allows`, above. The rest of
-- the contract is the one of migration 2026-11-26-000007_post_batch.
DROP FUNCTION ardoise_post_batch(TEXT[], INTEGER[], TEXT[], BIGINT[], BOOLEAN[], BOOLEAN[],
    BOOLEAN[], SMALLINT[], BIGINT[], BIGINT[], TEXT[], TEXT[], BIGINT[]);

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
    p_at BIGINT[],
    p_key_owners TEXT[],
    p_keys TEXT[],
    p_key_hashes TEXT[]
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
    card_replaced_by TEXT,
    key_reused BOOLEAN
) LANGUAGE plpgsql AS $$
DECLARE
    v_after BIGINT;
    v_applied BOOLEAN;
    v_tx BIGINT;
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
                          AND ardoise_card_allows(c.balance_cents, c.overdraft_limit_cents,
                                                  c.max_balance_cents, c.status,
                                                  c.valid_until, c.replaced_by, v.delta, v.fl,
                                                  v.ce, v.us, v.at_ms)
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
        key_reused := FALSE;
        IF v_end > v_start AND v_ids[i - v_start + 1] IS NOT NULL THEN
            -- Applied by its segment's statement.
            transaction_id := v_ids[i - v_start + 1];
            balance := v_afters[i - v_start + 1];
            RETURN NEXT;
            CONTINUE;
        END IF;
        IF p_keys[i] IS NOT NULL THEN
            -- The key first (a placeholder, completed below): a known key writes nothing.
            INSERT INTO idempotency_keys
                (owner, idempotency_key, request_hash, transaction_id, card_id, amount_cents,
                 balance_before_cents, balance_after_cents, created_at)
            VALUES (p_key_owners[i], p_keys[i], p_key_hashes[i], 0, p_cards[i], p_amounts[i],
                    0, 0, p_at[i])
            ON CONFLICT DO NOTHING;
            IF NOT FOUND THEN
                key_reused := TRUE;
                RETURN NEXT;
                CONTINUE;
            END IF;
        END IF;
        v_applied := FALSE;
        FOR attempt IN 1 .. 2 LOOP
            UPDATE cards AS c SET balance_cents = c.balance_cents + p_deltas[i]
            WHERE c.id = p_cards[i]
              AND ardoise_card_allows(c.balance_cents, c.overdraft_limit_cents,
                                      c.max_balance_cents, c.status, c.valid_until,
                                      c.replaced_by, p_deltas[i], p_floor[i], p_ceiling[i],
                                      p_usable[i], p_at[i])
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
            RETURNING id INTO v_tx;
            IF p_keys[i] IS NOT NULL THEN
                UPDATE idempotency_keys
                SET transaction_id = v_tx,
                    balance_before_cents = v_after - p_deltas[i],
                    balance_after_cents = v_after
                WHERE owner = p_key_owners[i] AND idempotency_key = p_keys[i];
            END IF;
            transaction_id := v_tx;
            card_found := TRUE;
            balance := v_after;
            overdraft_limit := NULL;
            max_balance := NULL;
            card_status := NULL;
            card_valid_until := NULL;
            card_member_id := NULL;
            card_created_at := NULL;
            card_replaced_by := NULL;
        ELSIF p_keys[i] IS NOT NULL THEN
            -- Refused: its key is not kept, so that a retry is applied.
            DELETE FROM idempotency_keys
            WHERE owner = p_key_owners[i] AND idempotency_key = p_keys[i];
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;
