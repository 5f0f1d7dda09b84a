"""Schema migrations, one history for both engines (backend/core/db.py applies them, db_pg.py translates the DDL).

PRAGMA user_version records how far a SQLite file has got; the table cooprogreso_schema, a PostgreSQL database.
Tables are created before the tables that reference them (PostgreSQL checks references at once).
"""

from backend.core import name_search

MIGRATIONS: list[str] = [
    # 1: the co-op's core
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

    CREATE TABLE members (
        id INTEGER PRIMARY KEY,
        id_type TEXT NOT NULL CHECK (id_type IN ('cedula', 'ruc', 'pasaporte')),
        id_number TEXT NOT NULL,
        first_names TEXT NOT NULL,
        last_names TEXT NOT NULL,
        mobile TEXT,
        email TEXT,
        status TEXT NOT NULL DEFAULT 'activo' CHECK (status IN ('activo', 'inactivo')),
        created_at TEXT NOT NULL,
        UNIQUE (id_type, id_number)
    );

    CREATE TABLE accounts (
        id INTEGER PRIMARY KEY,
        number TEXT NOT NULL UNIQUE,
        member_id INTEGER REFERENCES members(id),
        kind TEXT NOT NULL CHECK (kind IN ('ahorros', 'plazo_fijo', 'prestamo', 'tarjeta', 'interna')),
        name TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'activa' CHECK (status IN ('activa', 'bloqueada', 'cerrada')),
        balance INTEGER NOT NULL DEFAULT 0,
        held INTEGER NOT NULL DEFAULT 0 CHECK (held >= 0),
        opened_on TEXT NOT NULL,
        CHECK ((kind = 'interna') = (member_id IS NULL))
    );
    CREATE INDEX accounts_member ON accounts(member_id);

    CREATE TABLE entries (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        description TEXT NOT NULL,
        posted_at TEXT NOT NULL,
        actor TEXT NOT NULL,
        idempotency_key TEXT UNIQUE
    );
    CREATE TABLE postings (
        id INTEGER PRIMARY KEY,
        entry_id INTEGER NOT NULL REFERENCES entries(id),
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        amount INTEGER NOT NULL CHECK (amount != 0),
        balance_after INTEGER NOT NULL,
        posted_at TEXT NOT NULL,
        memo TEXT NOT NULL
    );
    CREATE INDEX postings_entry ON postings(entry_id);
    CREATE INDEX postings_account_time ON postings(account_id, posted_at, id);

    CREATE TABLE term_deposits (
        account_id INTEGER PRIMARY KEY REFERENCES accounts(id),
        principal INTEGER NOT NULL,
        rate_bp INTEGER NOT NULL,
        start_date TEXT NOT NULL,
        maturity_date TEXT NOT NULL
    );

    CREATE TABLE loans (
        account_id INTEGER PRIMARY KEY REFERENCES accounts(id),
        principal INTEGER NOT NULL,
        rate_bp INTEGER NOT NULL,
        term_months INTEGER NOT NULL,
        start_date TEXT NOT NULL
    );
    CREATE TABLE loan_installments (
        loan_id INTEGER NOT NULL REFERENCES loans(account_id),
        number INTEGER NOT NULL,
        due_date TEXT NOT NULL,
        principal INTEGER NOT NULL,
        interest INTEGER NOT NULL,
        paid_entry_id INTEGER REFERENCES entries(id),
        PRIMARY KEY (loan_id, number)
    );

    CREATE TABLE cards (
        account_id INTEGER PRIMARY KEY REFERENCES accounts(id),
        masked_pan TEXT NOT NULL,
        credit_limit INTEGER NOT NULL CHECK (credit_limit >= 0),
        cutoff_day INTEGER NOT NULL,
        due_day INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'Activo'
    );

    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        member_id INTEGER NOT NULL UNIQUE REFERENCES members(id),
        username TEXT NOT NULL UNIQUE COLLATE NOCASE,
        password_hash TEXT NOT NULL,
        failed_logins INTEGER NOT NULL DEFAULT 0,
        locked_until TEXT,
        last_login_at TEXT,
        created_at TEXT NOT NULL
    );
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        user_id INTEGER NOT NULL REFERENCES users(id),
        started_at TEXT NOT NULL,
        last_seen_at TEXT NOT NULL,
        previous_login_at TEXT,
        ended_at TEXT,
        end_reason TEXT
    );

    CREATE TABLE otp_challenges (
        id TEXT PRIMARY KEY,
        member_id INTEGER NOT NULL REFERENCES members(id),
        purpose TEXT NOT NULL,
        details_digest TEXT NOT NULL,
        code_hash TEXT NOT NULL,
        phone TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        tries_left INTEGER NOT NULL,
        resends INTEGER NOT NULL DEFAULT 0,
        last_sent_at TEXT NOT NULL,
        verified_at TEXT,
        consumed_at TEXT,
        voided_at TEXT
    );
    CREATE INDEX otp_member ON otp_challenges(member_id, created_at);

    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        created_at TEXT NOT NULL,
        channel TEXT NOT NULL,
        recipient TEXT NOT NULL,
        body TEXT NOT NULL
    );

    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        outcome TEXT NOT NULL,
        details TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX audit_at ON audit_log(at);
    """,
    # 2: transfers, beneficiaries, the institutions of the interbank network
    """
    CREATE TABLE institutions (
        code TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        account_digits INTEGER
    );

    CREATE TABLE beneficiaries (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        service TEXT NOT NULL CHECK (service IN ('terceros', 'interbancaria')),
        name TEXT NOT NULL,
        id_type TEXT NOT NULL CHECK (id_type IN ('cedula', 'ruc', 'pasaporte')),
        id_number TEXT NOT NULL,
        institution_code TEXT NOT NULL,
        account_type TEXT NOT NULL CHECK (account_type IN ('ahorros', 'corriente')),
        account_number TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (user_id, service, institution_code, account_number)
    );

    CREATE TABLE transfers (
        id INTEGER PRIMARY KEY,
        reference TEXT NOT NULL UNIQUE,
        idempotency_key TEXT NOT NULL UNIQUE,
        user_id INTEGER NOT NULL REFERENCES users(id),
        kind TEXT NOT NULL CHECK (kind IN ('propia', 'terceros', 'interbancaria')),
        origin_account_id INTEGER NOT NULL REFERENCES accounts(id),
        dest_account_id INTEGER REFERENCES accounts(id),
        dest_institution TEXT NOT NULL,
        dest_account_type TEXT NOT NULL,
        dest_account_number TEXT NOT NULL,
        dest_name TEXT NOT NULL,
        dest_id_type TEXT NOT NULL,
        dest_id_number TEXT NOT NULL,
        amount INTEGER NOT NULL CHECK (amount > 0),
        fee INTEGER NOT NULL DEFAULT 0 CHECK (fee >= 0),
        motive TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('Enviada', 'Acreditada', 'Devuelta')),
        return_reason TEXT,
        entry_id INTEGER NOT NULL REFERENCES entries(id),
        settle_entry_id INTEGER REFERENCES entries(id),
        created_at TEXT NOT NULL,
        settled_at TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT,
        last_error TEXT
    );
    CREATE INDEX transfers_user ON transfers(user_id, created_at);
    CREATE INDEX transfers_pending ON transfers(state, next_attempt_at);
    CREATE INDEX transfers_origin_day ON transfers(origin_account_id, created_at);
    """,
    # 3: what each user has sent per kind and day, kept with every transfer (daily limits in O(1))
    """
    CREATE TABLE transfer_usage (
        user_id INTEGER NOT NULL REFERENCES users(id),
        kind TEXT NOT NULL,
        day TEXT NOT NULL,
        amount INTEGER NOT NULL CHECK (amount >= 0),
        PRIMARY KEY (user_id, kind, day)
    ) WITHOUT ROWID;
    INSERT INTO transfer_usage (user_id, kind, day, amount)
        SELECT user_id, kind, substr(created_at, 1, 10), SUM(amount) FROM transfers
        WHERE state != 'Devuelta' GROUP BY user_id, kind, substr(created_at, 1, 10);
    """,
    # 4: foundation — pending authorised operations (one flow for every section)
    """
    CREATE TABLE operations (
        id TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL,
        actor TEXT NOT NULL,
        kind TEXT NOT NULL,
        request TEXT NOT NULL,
        details_digest TEXT NOT NULL,
        idempotency_key TEXT NOT NULL UNIQUE,
        challenge_id TEXT,
        state TEXT NOT NULL DEFAULT 'pendiente' CHECK (state IN ('pendiente', 'ejecutada', 'anulada')),
        result_id INTEGER,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        executed_at TEXT
    );
    CREATE INDEX operations_user ON operations(user_id, created_at);
    """,
    # 5: foundation hardening — transactional outbox, gateway attempts, indexes
    """
    CREATE INDEX accounts_kind_name ON accounts(kind, name);
    CREATE TABLE account_serials (
        kind TEXT PRIMARY KEY,
        last INTEGER NOT NULL CHECK (last >= 0)
    );
    INSERT INTO account_serials (kind, last) SELECT kind, COUNT(*) FROM accounts GROUP BY kind;
    ALTER TABLE outbox ADD COLUMN status TEXT NOT NULL DEFAULT 'enviado'
        CHECK (status IN ('pendiente', 'enviado', 'fallido'));
    ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE outbox ADD COLUMN next_attempt_at TEXT;
    ALTER TABLE outbox ADD COLUMN last_error TEXT;
    ALTER TABLE outbox ADD COLUMN sent_at TEXT;
    CREATE INDEX outbox_pending ON outbox(status, next_attempt_at);
    """,
    # 6: 3. Pago de Servicios — billers, registered services, payments, scheduled payments
    """
    CREATE TABLE billers (
        code TEXT PRIMARY KEY,
        category TEXT NOT NULL,
        name TEXT NOT NULL,
        id_label TEXT NOT NULL,
        rule TEXT NOT NULL,
        hint TEXT NOT NULL,
        amount_mode TEXT NOT NULL CHECK (amount_mode IN ('factura', 'recarga')),
        commission INTEGER NOT NULL DEFAULT 0 CHECK (commission >= 0),
        max_amount INTEGER NOT NULL CHECK (max_amount > 0),
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
        sort_order INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX billers_category ON billers(category, sort_order);

    CREATE TABLE bill_services (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        biller_code TEXT NOT NULL REFERENCES billers(code),
        identifier TEXT NOT NULL,
        alias TEXT NOT NULL,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (user_id, biller_code, identifier)
    );

    CREATE TABLE bill_presentments (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        biller_code TEXT NOT NULL REFERENCES billers(code),
        identifier TEXT NOT NULL,
        holder TEXT NOT NULL,
        bills TEXT NOT NULL,
        fetched_at TEXT NOT NULL
    );
    CREATE INDEX bill_presentments_user ON bill_presentments(user_id, fetched_at);

    CREATE TABLE bill_schedules (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        biller_code TEXT NOT NULL REFERENCES billers(code),
        identifier TEXT NOT NULL,
        day INTEGER CHECK (day IS NULL OR (day >= 1 AND day <= 31)),
        max_amount INTEGER NOT NULL CHECK (max_amount > 0),
        start_date TEXT NOT NULL,
        end_date TEXT,
        payments_limit INTEGER CHECK (payments_limit IS NULL OR payments_limit > 0),
        payments_done INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL CHECK (state IN ('activo', 'pausado', 'cancelado', 'terminado')),
        period TEXT NOT NULL,
        next_run TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        claimed_until TEXT,
        claimed_by TEXT,
        last_result TEXT,
        last_run_at TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX bill_schedules_next ON bill_schedules(next_run);
    CREATE INDEX bill_schedules_user ON bill_schedules(user_id);

    CREATE TABLE bill_payments (
        id INTEGER PRIMARY KEY,
        reference TEXT NOT NULL UNIQUE,
        idempotency_key TEXT NOT NULL UNIQUE,
        user_id INTEGER NOT NULL REFERENCES users(id),
        biller_code TEXT NOT NULL REFERENCES billers(code),
        identifier TEXT NOT NULL,
        holder TEXT NOT NULL,
        bills TEXT NOT NULL,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        amount INTEGER NOT NULL CHECK (amount > 0),
        commission INTEGER NOT NULL DEFAULT 0 CHECK (commission >= 0),
        origin TEXT NOT NULL CHECK (origin IN ('manual', 'automatico')),
        schedule_id INTEGER REFERENCES bill_schedules(id),
        period TEXT,
        state TEXT NOT NULL CHECK (state IN ('pagado', 'pendiente', 'fallido')),
        reason TEXT,
        entry_id INTEGER REFERENCES entries(id),
        refund_entry_id INTEGER REFERENCES entries(id),
        biller_auth TEXT,
        created_at TEXT NOT NULL,
        confirmed_at TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT,
        last_error TEXT
    );
    CREATE INDEX bill_payments_user ON bill_payments(user_id, created_at);
    CREATE INDEX bill_payments_pending ON bill_payments(state, next_attempt_at);
    CREATE INDEX bill_payments_schedule ON bill_payments(schedule_id);

    CREATE TABLE bill_payment_items (
        payment_id INTEGER NOT NULL REFERENCES bill_payments(id),
        biller_code TEXT NOT NULL,
        identifier TEXT NOT NULL,
        bill_number TEXT NOT NULL,
        released INTEGER NOT NULL DEFAULT 0 CHECK (released IN (0, 1)),
        PRIMARY KEY (payment_id, bill_number)
    );
    CREATE UNIQUE INDEX bill_items_once ON bill_payment_items(biller_code, identifier, bill_number)
        WHERE released = 0;

    CREATE TABLE bill_usage (
        user_id INTEGER NOT NULL REFERENCES users(id),
        day TEXT NOT NULL,
        amount INTEGER NOT NULL CHECK (amount >= 0),
        PRIMARY KEY (user_id, day)
    );

    CREATE TABLE bill_schedule_runs (
        schedule_id INTEGER NOT NULL REFERENCES bill_schedules(id),
        period TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('pagado', 'fallido', 'omitido')),
        payment_id INTEGER REFERENCES bill_payments(id),
        reason TEXT,
        at TEXT NOT NULL,
        PRIMARY KEY (schedule_id, period)
    );
    """,
    # 7: 4./5. Tarjetas y Diferido: the card's second balance (diferidos), consumos, statements,
    # deferrals with their cuotas, cards registered for payment and card payments
    """
    ALTER TABLE cards ADD COLUMN installment_account_id INTEGER REFERENCES accounts(id);
    ALTER TABLE cards ADD COLUMN pan_digest TEXT;
    CREATE UNIQUE INDEX cards_pan_digest ON cards(pan_digest);

    CREATE TABLE card_purchases (
        id INTEGER PRIMARY KEY,
        card_id INTEGER NOT NULL REFERENCES accounts(id),
        posted_at TEXT NOT NULL,
        description TEXT NOT NULL,
        amount INTEGER NOT NULL CHECK (amount > 0),
        interest_free_months INTEGER NOT NULL DEFAULT 0 CHECK (interest_free_months >= 0),
        entry_id INTEGER NOT NULL REFERENCES entries(id),
        deferral_id INTEGER
    );
    CREATE INDEX card_purchases_card ON card_purchases(card_id, posted_at);

    CREATE TABLE card_statements (
        id INTEGER PRIMARY KEY,
        card_id INTEGER NOT NULL REFERENCES accounts(id),
        cycle_from TEXT NOT NULL,
        cut_date TEXT NOT NULL,
        due_date TEXT NOT NULL,
        previous_balance INTEGER NOT NULL,
        purchases INTEGER NOT NULL,
        payments INTEGER NOT NULL,
        deferred INTEGER NOT NULL,
        installments INTEGER NOT NULL,
        interest INTEGER NOT NULL,
        other INTEGER NOT NULL,
        total_due INTEGER NOT NULL,
        minimum_due INTEGER NOT NULL CHECK (minimum_due >= 0),
        installment_balance INTEGER NOT NULL,
        entry_id INTEGER REFERENCES entries(id),
        closed_at TEXT NOT NULL,
        UNIQUE (card_id, cut_date)
    );

    CREATE TABLE card_deferrals (
        id INTEGER PRIMARY KEY,
        reference TEXT NOT NULL UNIQUE,
        idempotency_key TEXT NOT NULL UNIQUE,
        card_id INTEGER NOT NULL REFERENCES accounts(id),
        user_id INTEGER REFERENCES users(id),
        kind TEXT NOT NULL CHECK (kind IN ('consumos', 'rotativo')),
        principal INTEGER NOT NULL CHECK (principal > 0),
        months INTEGER NOT NULL CHECK (months > 0),
        effective_rate TEXT NOT NULL,
        cap_rate TEXT NOT NULL,
        total_interest INTEGER NOT NULL CHECK (total_interest >= 0),
        entry_id INTEGER NOT NULL REFERENCES entries(id),
        created_at TEXT NOT NULL
    );
    CREATE INDEX card_deferrals_card ON card_deferrals(card_id, created_at);
    CREATE TABLE card_deferral_cuotas (
        deferral_id INTEGER NOT NULL REFERENCES card_deferrals(id),
        number INTEGER NOT NULL,
        capital INTEGER NOT NULL CHECK (capital >= 0),
        interest INTEGER NOT NULL CHECK (interest >= 0),
        statement_id INTEGER REFERENCES card_statements(id),
        PRIMARY KEY (deferral_id, number)
    );
    CREATE INDEX card_deferral_cuotas_open ON card_deferral_cuotas(statement_id, deferral_id);

    CREATE TABLE registered_cards (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        kind TEXT NOT NULL CHECK (kind IN ('cooprogreso', 'otro_banco')),
        card_account_id INTEGER REFERENCES accounts(id),
        institution_code TEXT NOT NULL,
        card_key TEXT NOT NULL,
        number TEXT,
        first4 TEXT NOT NULL,
        last4 TEXT NOT NULL,
        holder_name TEXT NOT NULL,
        id_type TEXT NOT NULL,
        id_number TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (user_id, card_key)
    );

    CREATE TABLE card_payments (
        id INTEGER PRIMARY KEY,
        reference TEXT NOT NULL UNIQUE,
        idempotency_key TEXT NOT NULL UNIQUE,
        user_id INTEGER NOT NULL REFERENCES users(id),
        origin_account_id INTEGER NOT NULL REFERENCES accounts(id),
        card_account_id INTEGER REFERENCES accounts(id),
        registered_card_id INTEGER REFERENCES registered_cards(id),
        option TEXT NOT NULL CHECK (option IN ('minimo', 'total', 'otro')),
        masked TEXT NOT NULL,
        dest_institution TEXT NOT NULL,
        dest_account_type TEXT NOT NULL,
        dest_account_number TEXT NOT NULL,
        dest_name TEXT NOT NULL,
        dest_id_type TEXT NOT NULL,
        dest_id_number TEXT NOT NULL,
        motive TEXT NOT NULL,
        amount INTEGER NOT NULL CHECK (amount > 0),
        fee INTEGER NOT NULL DEFAULT 0 CHECK (fee >= 0),
        state TEXT NOT NULL CHECK (state IN ('Enviada', 'Acreditada', 'Devuelta')),
        return_reason TEXT,
        entry_id INTEGER NOT NULL REFERENCES entries(id),
        settle_entry_id INTEGER REFERENCES entries(id),
        created_at TEXT NOT NULL,
        settled_at TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT,
        last_error TEXT
    );
    CREATE INDEX card_payments_user ON card_payments(user_id, created_at);
    CREATE INDEX card_payments_pending ON card_payments(state, next_attempt_at);
    CREATE INDEX card_payments_card ON card_payments(card_account_id, created_at);
    """,
    # 8: 6. Contacto, 7. Solicita tus Productos, 8. Ayuda
    """
    CREATE TABLE contact_channels (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        label TEXT NOT NULL,
        value TEXT NOT NULL,
        hours TEXT NOT NULL,
        demo INTEGER NOT NULL DEFAULT 0 CHECK (demo IN (0, 1)),
        UNIQUE (kind, value)
    );
    CREATE TABLE agencies (
        code TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        city TEXT NOT NULL,
        address TEXT NOT NULL,
        hours TEXT NOT NULL,
        phone TEXT NOT NULL,
        demo INTEGER NOT NULL DEFAULT 0 CHECK (demo IN (0, 1))
    );
    CREATE INDEX agencies_city ON agencies(city);

    CREATE TABLE contact_cases (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        subject TEXT NOT NULL CHECK (subject IN ('reclamo', 'consulta', 'sugerencia')),
        body TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('Recibido', 'Respondido')),
        created_at TEXT NOT NULL,
        due_on TEXT,
        answered_at TEXT
    );
    CREATE INDEX contact_cases_user ON contact_cases(user_id, created_at);
    CREATE INDEX contact_cases_state ON contact_cases(state, created_at);
    CREATE TABLE contact_replies (
        id INTEGER PRIMARY KEY,
        case_id INTEGER NOT NULL REFERENCES contact_cases(id),
        author TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX contact_replies_case ON contact_replies(case_id, id);

    CREATE TABLE product_requests (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        member_id INTEGER NOT NULL REFERENCES members(id),
        product TEXT NOT NULL,
        amount INTEGER NOT NULL CHECK (amount >= 0),
        term INTEGER NOT NULL CHECK (term >= 0),
        method TEXT NOT NULL,
        rate_bp INTEGER NOT NULL CHECK (rate_bp >= 0),
        installment INTEGER NOT NULL CHECK (installment >= 0),
        income INTEGER NOT NULL CHECK (income >= 0),
        purpose TEXT NOT NULL,
        account_id INTEGER REFERENCES accounts(id),
        state TEXT NOT NULL CHECK (state IN ('Recibida', 'En revisión', 'Aprobada', 'Rechazada')),
        reason TEXT,
        idempotency_key TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        reviewed_by TEXT,
        reviewed_at TEXT,
        maker TEXT,
        made_at TEXT,
        decided_by TEXT,
        decided_at TEXT,
        product_account_id INTEGER REFERENCES accounts(id),
        entry_id INTEGER REFERENCES entries(id)
    );
    CREATE INDEX product_requests_user ON product_requests(user_id, created_at);
    CREATE INDEX product_requests_state ON product_requests(state, created_at);
    """,
    # 9: tellers and back office — staff users with TOTP, their sessions, tills, counter operations
    # awaiting a checker, the member's KYC fields, the business day, and audit lookups by member
    """
    ALTER TABLE audit_log ADD COLUMN member_id INTEGER;
    CREATE INDEX audit_member ON audit_log(member_id, id);
    CREATE INDEX audit_actor ON audit_log(actor, id);
    CREATE INDEX audit_action ON audit_log(action, id);

    ALTER TABLE users ADD COLUMN access_reset_at TEXT;
    ALTER TABLE members ADD COLUMN birth_date TEXT;
    ALTER TABLE members ADD COLUMN address TEXT;
    CREATE INDEX members_last_names ON members(last_names);

    CREATE TABLE staff_users (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        full_name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('cajero', 'atencion', 'supervisor', 'auditor')),
        password_hash TEXT NOT NULL,
        totp_secret TEXT NOT NULL,
        totp_last_step INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL DEFAULT 'activo' CHECK (status IN ('activo', 'inactivo')),
        failed_logins INTEGER NOT NULL DEFAULT 0,
        locked_until TEXT,
        last_login_at TEXT,
        ticket_hash TEXT,
        ticket_expires_at TEXT,
        till_account_id INTEGER REFERENCES accounts(id),
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL
    );
    CREATE TABLE staff_sessions (
        id INTEGER PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        staff_id INTEGER NOT NULL REFERENCES staff_users(id),
        started_at TEXT NOT NULL,
        last_seen_at TEXT NOT NULL,
        previous_login_at TEXT,
        ended_at TEXT,
        end_reason TEXT
    );
    CREATE INDEX staff_sessions_staff ON staff_sessions(staff_id);

    CREATE TABLE tills (
        id INTEGER PRIMARY KEY,
        staff_id INTEGER NOT NULL REFERENCES staff_users(id),
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        business_date TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('abierta', 'cerrada')),
        opening_amount INTEGER NOT NULL CHECK (opening_amount >= 0),
        open_entry_id INTEGER REFERENCES entries(id),
        opened_at TEXT NOT NULL,
        expected_amount INTEGER,
        counted_amount INTEGER,
        denominations TEXT,
        difference INTEGER,
        note TEXT,
        noted_by INTEGER REFERENCES staff_users(id),
        close_entry_id INTEGER REFERENCES entries(id),
        closed_at TEXT
    );
    CREATE UNIQUE INDEX tills_one_open ON tills(staff_id) WHERE status = 'abierta';
    CREATE INDEX tills_status ON tills(status, business_date);

    CREATE TABLE counter_ops (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('por_aprobar', 'ejecutada', 'rechazada')),
        maker_id INTEGER NOT NULL REFERENCES staff_users(id),
        member_id INTEGER REFERENCES members(id),
        account_id INTEGER REFERENCES accounts(id),
        till_id INTEGER REFERENCES tills(id),
        amount INTEGER NOT NULL DEFAULT 0 CHECK (amount >= 0),
        request TEXT NOT NULL DEFAULT '{}',
        reference TEXT NOT NULL UNIQUE,
        idempotency_key TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        checker_id INTEGER REFERENCES staff_users(id),
        decided_at TEXT,
        decision_note TEXT,
        entry_id INTEGER REFERENCES entries(id),
        executed_at TEXT
    );
    CREATE INDEX counter_ops_state ON counter_ops(state, id);
    CREATE INDEX counter_ops_till ON counter_ops(till_id, id);
    CREATE INDEX counter_ops_member ON counter_ops(member_id, id);

    CREATE TABLE business_days (
        day TEXT PRIMARY KEY,
        closed_at TEXT NOT NULL,
        closed_by TEXT NOT NULL,
        report TEXT NOT NULL
    );
    """,
    # 10: engines — usernames stored in their canonical lower-case form (compared as is on both engines)
    """
    UPDATE users SET username = lower(username);
    """,
    # 11: cajeros QA — members' names folded once for a case- and accent-insensitive search on both
    # engines (backend/core/name_search.py keeps them on write; the same fold in SQL fills older rows)
    name_search.migration(),
    # 12: tarjetas QA — other institutions' card numbers sealed in place (backend/security/card_numbers.py):
    # what is still in the clear is marked here and sealed on first start, with the key file at hand
    """
    INSERT INTO meta (key, value) SELECT 'card_numbers_to_seal', '1'
        WHERE EXISTS (SELECT 1 FROM registered_cards WHERE number IS NOT NULL AND number NOT LIKE 'v1.%')
        OR EXISTS (SELECT 1 FROM card_payments WHERE card_account_id IS NULL AND dest_account_number NOT LIKE 'v1.%')
        ON CONFLICT (key) DO NOTHING;
    """,
    # 13: back-office queues — each loan's product (older loans were all consumo), and a closed contact case
    """
    ALTER TABLE loans ADD COLUMN product TEXT NOT NULL DEFAULT 'consumo';
    ALTER TABLE contact_cases ADD COLUMN closed_at TEXT;
    ALTER TABLE contact_cases ADD COLUMN closed_by TEXT;
    """,
    # 14: end of day — each entry's business day (ledger.business_day; older entries: their calendar day),
    # the day's report selects by it; unpaid loan instalments by due date for the collection pass
    """
    ALTER TABLE entries ADD COLUMN business_date TEXT;
    UPDATE entries SET business_date = substr(posted_at, 1, 10);
    CREATE INDEX entries_business_date ON entries(business_date);
    CREATE INDEX loan_installments_unpaid_due ON loan_installments(due_date, loan_id, number)
        WHERE paid_entry_id IS NULL;
    """,
    # 15: counter QA — a teller withdrawal waiting for a supervisor holds the member's money
    # (backend/branch/counter.py hold_withdrawal); those queued before this hold it from now on
    """
    UPDATE accounts SET held = held + (SELECT COALESCE(SUM(o.amount), 0) FROM counter_ops o
        WHERE o.account_id = accounts.id AND o.kind = 'retiro' AND o.state = 'por_aprobar')
        WHERE id IN (SELECT account_id FROM counter_ops WHERE kind = 'retiro' AND state = 'por_aprobar');
    """,
    # 16: contacto QA — a member's reply on an answered case (it reopens the case for the staff queue)
    """
    ALTER TABLE contact_replies ADD COLUMN from_member INTEGER NOT NULL DEFAULT 0 CHECK (from_member IN (0, 1));
    """,
    # 17: sealed staff secrets — a database whose staff secrets are still plain is marked; they are sealed
    # once when it is opened with its key (backend/security/staff_secrets.py seal_stored), plain rows refused after
    """
    INSERT INTO meta (key, value) SELECT 'staff_secrets_to_seal', '1'
        WHERE EXISTS (SELECT 1 FROM staff_users WHERE totp_secret NOT LIKE 'enc1:%')
        ON CONFLICT (key) DO NOTHING;
    """,
    # 18: a plazo fijo pays out at maturity into the savings account that funded it (backend/products/maturities.py);
    # deposits opened before learn it from their opening entry
    """
    ALTER TABLE term_deposits ADD COLUMN payout_account_id INTEGER REFERENCES accounts(id);
    UPDATE term_deposits SET payout_account_id = (
        SELECT p.account_id FROM postings p JOIN entries e ON e.id = p.entry_id
        WHERE e.kind = 'plazo_fijo' AND p.amount < 0 AND p.account_id <> term_deposits.account_id
          AND p.entry_id = (SELECT MIN(q.entry_id) FROM postings q WHERE q.account_id = term_deposits.account_id)
        ORDER BY p.id LIMIT 1);
    """,
    # 19: card numbers bound to their owner — `v1.` sealed numbers (associated data not naming the owner) are
    # marked here and re-sealed as `v2.` for their row's user once, with the key file at hand
    # (backend/security/card_numbers.py reseal_stored); a `v1.` value is refused after that
    """
    INSERT INTO meta (key, value) SELECT 'card_numbers_to_reseal', '1'
        WHERE EXISTS (SELECT 1 FROM registered_cards WHERE number LIKE 'v1.%')
        OR EXISTS (SELECT 1 FROM card_payments WHERE card_account_id IS NULL AND dest_account_number LIKE 'v1.%')
        OR EXISTS (SELECT 1 FROM operations WHERE kind = 'registro_tarjeta' AND request LIKE '%"v1.%')
        ON CONFLICT (key) DO NOTHING;
    """,
    # 20: the co-op calendar — national holidays as observed, by year, loaded with `cooprogreso calendario
    # --load` (backend/core/business_days.py); a loaded year replaces the shipped one. A plazo fijo keeps its
    # contracted days: its maturity rolls to a business day, its interest stays the one quoted
    """
    ALTER TABLE term_deposits ADD COLUMN term_days INTEGER;
    CREATE TABLE holiday_years (
        year INTEGER PRIMARY KEY,
        loaded_at TEXT NOT NULL,
        loaded_by TEXT NOT NULL
    );
    CREATE TABLE holidays (
        day TEXT PRIMARY KEY,
        year INTEGER NOT NULL REFERENCES holiday_years(year),
        name TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('feriado', 'traslado', 'puente')),
        verified INTEGER NOT NULL CHECK (verified IN (0, 1)),
        source TEXT NOT NULL
    );
    CREATE INDEX holidays_year ON holidays(year);
    """,
    # 21: end of day under running work — the business day a scheduled payment was claimed under (it is booked
    # only under that day: backend/bill_payments/scheduled_runner.py), and the live claims the close waits for, by an index
    """
    ALTER TABLE bill_schedules ADD COLUMN claimed_day TEXT;
    CREATE INDEX bill_schedules_claimed ON bill_schedules(claimed_until) WHERE claimed_until IS NOT NULL;
    """,
    # 22: limits at payment time — a scheduled service payment uses the member's daily cupo like a manual one
    # (backend/bill_payments/payments.py book); the days of those made before count them too, so `check` agrees
    """
    INSERT INTO bill_usage (user_id, day, amount)
        SELECT user_id, substr(created_at, 1, 10), SUM(amount) FROM bill_payments
        WHERE origin = 'automatico' AND entry_id IS NOT NULL AND refund_entry_id IS NULL
        GROUP BY user_id, substr(created_at, 1, 10)
        ON CONFLICT (user_id, day) DO UPDATE SET amount = bill_usage.amount + excluded.amount;
    """,
    # 23: staff linked to their cédula — nobody decides about the member with their own cédula
    # (backend/security/staff_conflicts.py); staff enrolled before stay unlinked (their folded name is compared)
    # until `cooprogreso staff link`
    """
    ALTER TABLE staff_users ADD COLUMN cedula TEXT;
    CREATE UNIQUE INDEX staff_users_cedula ON staff_users(cedula) WHERE cedula IS NOT NULL;
    """,
    # 24: codes at rest — the outbox rows that still show a security code, with their challenge and when they
    # were sent (backend/core/redaction.py): masking touches exactly those rows. Rows an earlier version sent that
    # still show a code are listed without a challenge (masked when they expire); the old watermark goes.
    """
    CREATE TABLE outbox_codes (
        outbox_id INTEGER PRIMARY KEY REFERENCES outbox(id),
        challenge_id TEXT,
        sent_at TEXT NOT NULL
    );
    CREATE INDEX outbox_codes_sent ON outbox_codes(sent_at);
    CREATE INDEX outbox_codes_challenge ON outbox_codes(challenge_id);
    INSERT INTO outbox_codes (outbox_id, sent_at) SELECT id, created_at FROM outbox
        WHERE body LIKE 'Cooprogreso: tu código de seguridad%' AND body NOT LIKE '%******%';
    DELETE FROM meta WHERE key = 'outbox_redacted_through';
    """,
    # 25: the legal rate caps the co-op loads each month (`cooprogreso tasas --load`, backend/core/rates.py), with
    # their validity, source and whether they were verified; they join the shipped table and replace its same rows
    """
    CREATE TABLE rate_caps (
        segment TEXT NOT NULL,
        valid_from TEXT NOT NULL,
        valid_to TEXT,
        max_effective TEXT NOT NULL,
        verified INTEGER NOT NULL CHECK (verified IN (0, 1)),
        source TEXT NOT NULL,
        loaded_at TEXT NOT NULL,
        loaded_by TEXT NOT NULL,
        PRIMARY KEY (segment, valid_from)
    );
    CREATE INDEX rate_caps_from ON rate_caps(valid_from);
    """,
    # 26: one background worker per database (backend/core/worker_lease.py): who holds the lease, when it last
    # said it was alive and when the lease runs out (wall-clock milliseconds; a standby takes it after that)
    """
    CREATE TABLE worker_lease (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        heartbeat_ms INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL,
        released INTEGER NOT NULL DEFAULT 0 CHECK (released IN (0, 1))
    );
    """,
    # 27: who brings the cash — every cash deposit keeps the ID of the person at the counter (the declared depositor,
    # else the account owner), so deposits by one person add up across members, tills and days
    # (backend/branch/cash_declaration.py) and the UAFE's RESU names them (backend/branch/uafe.py). Deposits made
    # before name their owner; the report still reads a declared depositor from the operation's request.
    """
    ALTER TABLE counter_ops ADD COLUMN depositor_type TEXT;
    ALTER TABLE counter_ops ADD COLUMN depositor_id TEXT;
    ALTER TABLE counter_ops ADD COLUMN depositor_name TEXT;
    UPDATE counter_ops SET depositor_type = (SELECT m.id_type FROM members m WHERE m.id = counter_ops.member_id),
        depositor_id = (SELECT m.id_number FROM members m WHERE m.id = counter_ops.member_id),
        depositor_name = (SELECT m.first_names || ' ' || m.last_names FROM members m WHERE m.id = counter_ops.member_id)
        WHERE kind = 'deposito' AND member_id IS NOT NULL;
    CREATE INDEX counter_ops_depositor ON counter_ops(depositor_id, id) WHERE depositor_id IS NOT NULL;
    """,
    # 28: know your member — what the co-op must know before it opens an account (backend/branch/backoffice.py
    # enrol_member): occupation, declared monthly income (cents), the PEP declaration and the due diligence it
    # calls for; a member registered from now on stays `inactivo` with an `opening` state until the teller's cash
    # opening deposit (its entry kept: the account's first movement, checked by `check`). Older members: NULL.
    """
    ALTER TABLE members ADD COLUMN occupation TEXT;
    ALTER TABLE members ADD COLUMN monthly_income INTEGER CHECK (monthly_income >= 0);
    ALTER TABLE members ADD COLUMN pep INTEGER CHECK (pep IN (0, 1));
    ALTER TABLE members ADD COLUMN pep_position TEXT;
    ALTER TABLE members ADD COLUMN due_diligence TEXT CHECK (due_diligence IN ('estandar', 'reforzada'));
    ALTER TABLE members ADD COLUMN opening TEXT CHECK (opening IN ('por_aprobar', 'deposito_pendiente', 'rechazada'));
    ALTER TABLE members ADD COLUMN opening_entry_id INTEGER REFERENCES entries(id);
    """,
    # 29: card arrears (backend/cards/card_arrears.py) — each statement keeps what is owed apart from current
    # capital (interest and mora, which bear no interest), the overdue capital and valor vencido carried
    # forward, and the mora charged in its cycle; statements closed before keep arrears_kept = 0 (check skips them)
    """
    ALTER TABLE card_statements ADD COLUMN interest_owed INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE card_statements ADD COLUMN mora_owed INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE card_statements ADD COLUMN overdue_capital INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE card_statements ADD COLUMN overdue INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE card_statements ADD COLUMN late_interest INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE card_statements ADD COLUMN arrears_kept INTEGER NOT NULL DEFAULT 0 CHECK (arrears_kept IN (0, 1));
    """,
    # 30: the guessing budget counts guessing, not use — the wrong codes typed against each challenge
    # (backend/security/otp.py _check_budget)
    """
    ALTER TABLE otp_challenges ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
    """,
    # 31: the member's security centre (backend/security/security_center.py) — every sign-in attempt of a known
    # user with its channel and client address, the channel of each session, and the member's own alerts (an SMS
    # for a movement at or above an amount, and for every sign-in); movement alerts are queued by the worker
    # from postings after a watermark kept in meta
    """
    ALTER TABLE sessions ADD COLUMN channel TEXT;
    ALTER TABLE sessions ADD COLUMN client_address TEXT;
    CREATE INDEX sessions_user ON sessions(user_id, ended_at);
    CREATE TABLE sign_ins (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        at TEXT NOT NULL,
        channel TEXT NOT NULL CHECK (channel IN ('local', 'ssh', 'web')),
        client_address TEXT,
        result TEXT NOT NULL,
        session_id INTEGER REFERENCES sessions(id)
    );
    CREATE INDEX sign_ins_user ON sign_ins(user_id, id);
    CREATE TABLE security_alerts (
        user_id INTEGER PRIMARY KEY REFERENCES users(id),
        movement_threshold INTEGER CHECK (movement_threshold > 0),
        sign_in_sms INTEGER NOT NULL DEFAULT 0 CHECK (sign_in_sms IN (0, 1)),
        updated_at TEXT NOT NULL
    );
    """,
    # 32: the «cumplimiento» staff role (compliance officer: exports the UAFE's RESU with full IDs). The role's
    # CHECK constraint widens: SQLite cannot alter a constraint, so the table is rebuilt as its documented
    # procedure says (foreign keys off for this migration, `foreign_key_check` before the commit: see
    # SqliteDatabase.migrate); PostgreSQL replaces the named constraint. Statements marked /* sqlite */ or
    # /* postgresql */ run on that engine only.
    """
    -- sqlite: foreign keys off
    /* sqlite */ CREATE TABLE staff_users_rebuilt (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        full_name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('cajero', 'atencion', 'supervisor', 'auditor', 'cumplimiento')),
        password_hash TEXT NOT NULL,
        totp_secret TEXT NOT NULL,
        totp_last_step INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL DEFAULT 'activo' CHECK (status IN ('activo', 'inactivo')),
        failed_logins INTEGER NOT NULL DEFAULT 0,
        locked_until TEXT,
        last_login_at TEXT,
        ticket_hash TEXT,
        ticket_expires_at TEXT,
        till_account_id INTEGER REFERENCES accounts(id),
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        cedula TEXT
    );
    /* sqlite */ INSERT INTO staff_users_rebuilt (id, username, full_name, role, password_hash, totp_secret,
        totp_last_step, status, failed_logins, locked_until, last_login_at, ticket_hash, ticket_expires_at,
        till_account_id, created_at, created_by, cedula)
        SELECT id, username, full_name, role, password_hash, totp_secret, totp_last_step, status, failed_logins,
        locked_until, last_login_at, ticket_hash, ticket_expires_at, till_account_id, created_at, created_by, cedula
        FROM staff_users;
    /* sqlite */ DROP TABLE staff_users;
    /* sqlite */ ALTER TABLE staff_users_rebuilt RENAME TO staff_users;
    /* sqlite */ CREATE UNIQUE INDEX staff_users_cedula ON staff_users(cedula) WHERE cedula IS NOT NULL;
    /* postgresql */ ALTER TABLE staff_users DROP CONSTRAINT staff_users_role_check;
    /* postgresql */ ALTER TABLE staff_users ADD CONSTRAINT staff_users_role_check
        CHECK (role IN ('cajero', 'atencion', 'supervisor', 'auditor', 'cumplimiento'));
    """,
    # 33: receipts on paper (issue 22) — each agency's CUPS printer queue, and the agency a staff user works at
    """
    ALTER TABLE agencies ADD COLUMN printer TEXT NOT NULL DEFAULT '';
    ALTER TABLE staff_users ADD COLUMN agency TEXT;
    """,
    # 34: the display theme each member chose from the command palette (backend/security/auth.py set_theme);
    # NULL: the co-op's own
    """
    ALTER TABLE users ADD COLUMN theme TEXT;
    """,
    # 35: the end of day checks only what came after its checkpoint (backend/audit_books.py): an account's
    # previous posting by id, found without reading the account's whole history
    """
    CREATE INDEX postings_account_id ON postings(account_id, id);
    """,
    # 36: movement alerts keyed by posting (issue 22) — the pass re-reads a window below its watermark, because
    # on PostgreSQL a transaction that commits late can hold a lower posting id; one row per alerted posting is
    # what keeps each SMS single. The floor is where the pass started (or the watermark at upgrade, whose
    # postings were already alerted): it never looks below it.
    """
    CREATE TABLE movement_alerts_sent (
        posting_id INTEGER PRIMARY KEY REFERENCES postings(id),
        sent_at TEXT NOT NULL
    );
    INSERT INTO meta (key, value) SELECT 'alertas_movimientos_piso', value FROM meta
        WHERE key = 'alertas_movimientos_hasta';
    """,
    # 37: sub-accounts of the co-op's shared internal accounts (issue 23): a booking for a member credits the
    # part its member falls on, so branches no longer queue on one row; every balance shown is their sum
    """
    CREATE TABLE account_shards (
        parent_id INTEGER NOT NULL REFERENCES accounts(id),
        shard INTEGER NOT NULL CHECK (shard > 0),
        account_id INTEGER NOT NULL UNIQUE REFERENCES accounts(id),
        PRIMARY KEY (parent_id, shard)
    );
    """,
    # 38: sign-ins by time, for their retention (issue 22): the worker deletes those older than
    # `sign_in_retention_days` without reading the whole table (backend/security/security_center.py)
    """
    CREATE INDEX sign_ins_at ON sign_ins(at);
    """,
    # 39: the display theme each staff user chose (issue #21), as 34 keeps a member's
    # (backend/security/staff.py set_theme); NULL: the co-op's own
    """
    ALTER TABLE staff_users ADD COLUMN theme TEXT;
    """,
    # 40: the codes that count against a member's guessing budget (a wrong try, or never used), found without
    # reading the day's used ones (backend/security/otp.py _check_budget): a new code cost more as the day went on
    """
    CREATE INDEX otp_member_costly ON otp_challenges(member_id, created_at) WHERE failures > 0 OR verified_at IS NULL;
    """,
    # 41: a card found from either of its two ledger accounts (backend/security/security_center.py CARD_OF: the
    # member's movements and their SMS alerts name the card, not its accounts) without reading every card
    """
    CREATE INDEX cards_installment ON cards(installment_account_id);
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)
