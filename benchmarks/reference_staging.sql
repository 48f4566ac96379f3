-- The configuration and staging shared by the benchmark's DuckDB references (reference.sql:
-- the latest scoring date; reference_history.sql: every scoring date): the seeds read as
-- tables and the export files as typed rows that pass the contract's rules, one version per
-- key, as the staging models have them (types, row rules, dedupe: newest updated_at, else
-- newest file, else last row). Usage, the big source, is a view (usage_valid) typed but not
-- yet deduplicated: each script reads the rows it needs.
--
-- Placeholders filled in by benchmarks.reference_sql: @seeds@ (the seeds folder) and
-- @<source>@, a relation over the files of that source (every contract column, as text or
-- typed, plus _file = path within the source folder, _mtime = file modification time,
-- _row = row number within the file).

SET TimeZone = 'UTC';

-- ---------------------------------------------------------------------------------------
-- Configuration (seeds/)
-- ---------------------------------------------------------------------------------------
CREATE OR REPLACE TEMP TABLE cfg_signal AS
SELECT
    signal,
    method,
    TRY_CAST(at_risk_value AS DOUBLE) AS at_risk_value,
    TRY_CAST(healthy_value AS DOUBLE) AS healthy_value,
    CAST(window_days AS INTEGER) AS window_days,
    missing_policy
FROM read_csv('@seeds@/signal_config.csv', all_varchar = true);

CREATE OR REPLACE TEMP TABLE cfg_bands AS
SELECT signal, band, CAST(points AS DOUBLE) AS points
FROM read_csv('@seeds@/signal_bands.csv', all_varchar = true);

CREATE OR REPLACE TEMP TABLE cfg_ticket_weights AS
SELECT attribute, coalesce(value, '') AS value, CAST(weight AS DOUBLE) AS weight
FROM read_csv('@seeds@/ticket_weights.csv', all_varchar = true);

CREATE OR REPLACE TEMP TABLE cfg_enablement AS
SELECT feature_pattern FROM read_csv('@seeds@/enablement_features.csv', all_varchar = true);

CREATE OR REPLACE TEMP TABLE cfg_settings AS
SELECT setting, value FROM read_csv('@seeds@/scoring_settings.csv', all_varchar = true);

CREATE OR REPLACE TEMP TABLE cfg_weights AS
SELECT
    preset,
    dimension,
    CAST(dimension_weight AS DOUBLE) AS dimension_weight,
    signal,
    CAST(signal_weight AS DOUBLE) AS signal_weight
FROM read_csv('@seeds@/preset_weights.csv', all_varchar = true);

CREATE OR REPLACE TEMP TABLE cfg_assignments AS
SELECT lifecycle_stage, segment, preset
FROM read_csv('@seeds@/preset_assignments.csv', all_varchar = true);

CREATE OR REPLACE TEMP TABLE cfg_tiers AS
SELECT
    tier,
    CAST(lower_bound AS DOUBLE) AS lower_bound,
    CAST(lower_inclusive AS BOOLEAN) AS lower_inclusive,
    CAST(upper_bound AS DOUBLE) AS upper_bound,
    CAST(upper_inclusive AS BOOLEAN) AS upper_inclusive
FROM read_csv('@seeds@/tier_bands.csv', all_varchar = true);

CREATE OR REPLACE MACRO win(name) AS (SELECT window_days FROM cfg_signal WHERE signal = name);
CREATE OR REPLACE MACRO setting(name) AS (SELECT value FROM cfg_settings WHERE setting = name);
-- a text column as the ingest stores it: trimmed, empty = null
CREATE OR REPLACE MACRO txt(x) AS nullif(trim(CAST(x AS VARCHAR)), '');
-- a timestamp with or without zone, stored as UTC
CREATE OR REPLACE MACRO ts(x) AS CAST(TRY_CAST(txt(x) AS TIMESTAMPTZ) AS TIMESTAMP);
CREATE OR REPLACE MACRO num(x) AS CASE
    WHEN isfinite(TRY_CAST(x AS DOUBLE)) THEN TRY_CAST(x AS DOUBLE)
END;
-- a value that is there but does not parse: the ingest quarantines the row
CREATE OR REPLACE MACRO bad(x, typed) AS (txt(x) IS NOT NULL AND typed IS NULL);

-- ---------------------------------------------------------------------------------------
-- Staging: typed rows that pass the contract's rules, one version per key
-- ---------------------------------------------------------------------------------------
CREATE OR REPLACE TEMP TABLE accounts AS
WITH typed AS (
    SELECT
        txt(account_id) AS account_id,
        lower(txt(segment)) AS segment,
        TRY_CAST(txt(signup_date) AS DATE) AS signup_date,
        TRY_CAST(txt(licensed_seats) AS INTEGER) AS licensed_seats,
        TRY_CAST(txt(contract_start) AS DATE) AS contract_start,
        TRY_CAST(txt(contract_end) AS DATE) AS contract_end,
        ts(updated_at) AS updated_at,
        bad(signup_date, TRY_CAST(txt(signup_date) AS DATE))
        OR bad(licensed_seats, TRY_CAST(txt(licensed_seats) AS INTEGER))
        OR bad(updated_at, ts(updated_at))
        OR bad(arr, num(arr))
        OR bad(employees, TRY_CAST(txt(employees) AS INTEGER))
        OR bad(contract_start, TRY_CAST(txt(contract_start) AS DATE))
        OR bad(contract_end, TRY_CAST(txt(contract_end) AS DATE))
        OR coalesce(TRY_CAST(txt(licensed_seats) AS INTEGER) < 0, false)
        OR coalesce(num(arr) < 0, false)
        OR coalesce(TRY_CAST(txt(employees) AS INTEGER) < 0, false) AS is_bad,
        _file, _mtime, _row
    FROM @accounts@
)
SELECT account_id, segment, signup_date, licensed_seats, contract_start, contract_end
FROM typed
WHERE account_id IS NOT NULL AND signup_date IS NOT NULL AND NOT is_bad
QUALIFY row_number() OVER (
    PARTITION BY account_id
    ORDER BY updated_at DESC NULLS LAST, _mtime DESC, _file DESC, _row DESC
) = 1;

CREATE OR REPLACE TEMP TABLE invoices AS
WITH typed AS (
    SELECT
        txt(invoice_id) AS invoice_id,
        txt(account_id) AS account_id,
        TRY_CAST(txt(issued_date) AS DATE) AS issued_date,
        TRY_CAST(txt(due_date) AS DATE) AS due_date,
        TRY_CAST(txt(paid_date) AS DATE) AS paid_date,
        num(amount) AS amount,
        lower(txt(status)) AS status,
        TRY_CAST(txt(period_start) AS DATE) AS period_start,
        TRY_CAST(txt(period_end) AS DATE) AS period_end,
        ts(updated_at) AS updated_at,
        bad(paid_date, TRY_CAST(txt(paid_date) AS DATE)) OR bad(updated_at, ts(updated_at))
        OR bad(period_start, TRY_CAST(txt(period_start) AS DATE))
        OR bad(period_end, TRY_CAST(txt(period_end) AS DATE)) AS is_bad,
        _file, _mtime, _row
    FROM @billing@
)
SELECT
    invoice_id, account_id, issued_date, due_date, paid_date, amount, status, period_start,
    period_end
FROM typed
WHERE invoice_id IS NOT NULL AND account_id IS NOT NULL AND issued_date IS NOT NULL
    AND due_date IS NOT NULL AND amount >= 0
    AND status IN ('paid', 'open', 'void', 'failed', 'refunded')
    AND due_date >= issued_date AND NOT coalesce(period_end < period_start, false)
    AND NOT is_bad
QUALIFY row_number() OVER (
    PARTITION BY invoice_id
    ORDER BY updated_at DESC NULLS LAST, _mtime DESC, _file DESC, _row DESC
) = 1;

CREATE OR REPLACE TEMP TABLE tickets AS
WITH typed AS (
    SELECT
        txt(ticket_id) AS ticket_id,
        txt(account_id) AS account_id,
        ts(opened_at) AS opened_at,
        ts(closed_at) AS closed_at,
        lower(txt(priority)) AS priority,
        lower(txt(category)) AS category,
        num(csat) AS csat,
        ts(updated_at) AS updated_at,
        bad(closed_at, ts(closed_at)) OR bad(csat, num(csat))
        OR bad(updated_at, ts(updated_at))
        OR bad(first_response_minutes, num(first_response_minutes))
        OR coalesce(num(first_response_minutes) < 0, false) AS is_bad,
        _file, _mtime, _row
    FROM @support@
)
SELECT ticket_id, account_id, opened_at, closed_at, priority, category, csat
FROM typed
WHERE ticket_id IS NOT NULL AND account_id IS NOT NULL AND opened_at IS NOT NULL
    AND coalesce(priority IN ('low', 'normal', 'high', 'urgent'), true)
    AND coalesce(category IN ('question', 'bug', 'incident', 'feature_request', 'other'), true)
    AND coalesce(csat BETWEEN 1 AND 5, true)
    AND NOT coalesce(closed_at < opened_at, false) AND NOT is_bad
QUALIFY row_number() OVER (
    PARTITION BY ticket_id
    ORDER BY updated_at DESC NULLS LAST, _mtime DESC, _file DESC, _row DESC
) = 1;

CREATE OR REPLACE TEMP TABLE responses AS
WITH typed AS (
    SELECT
        txt(response_id) AS response_id,
        txt(account_id) AS account_id,
        ts(responded_at) AS responded_at,
        lower(txt(survey_type)) AS survey_type,
        num(score) AS score,
        lower(txt(respondent_role)) AS respondent_role,
        _file, _mtime, _row
    FROM @survey@
)
SELECT response_id, account_id, responded_at, survey_type, score
FROM typed
WHERE response_id IS NOT NULL AND account_id IS NOT NULL AND responded_at IS NOT NULL
    AND survey_type IN ('nps', 'csat') AND score BETWEEN 0 AND 10
    AND coalesce(respondent_role IN ('executive', 'decision_maker', 'end_user'), true)
    AND NOT (survey_type = 'csat' AND (score < 1 OR score > 5))
    AND NOT (survey_type = 'nps' AND score <> floor(score))
QUALIFY row_number() OVER (
    PARTITION BY response_id ORDER BY _mtime DESC, _file DESC, _row DESC
) = 1;

CREATE OR REPLACE TEMP TABLE assessments AS
WITH typed AS (
    SELECT
        txt(account_id) AS account_id,
        ts(assessed_at) AS assessed_at,
        num(sentiment) AS sentiment,
        lower(txt(renewal_intent)) AS renewal_intent,
        TRY_CAST(txt(valid_until) AS DATE) AS valid_until,
        bad(valid_until, TRY_CAST(txt(valid_until) AS DATE)) AS is_bad,
        _file, _mtime, _row
    FROM @csm@
)
SELECT account_id, assessed_at, sentiment, renewal_intent, valid_until
FROM typed
WHERE account_id IS NOT NULL AND assessed_at IS NOT NULL AND sentiment BETWEEN 1 AND 5
    AND coalesce(renewal_intent IN ('likely', 'neutral', 'unlikely'), true) AND NOT is_bad
QUALIFY row_number() OVER (
    PARTITION BY account_id, assessed_at ORDER BY _mtime DESC, _file DESC, _row DESC
) = 1;

CREATE OR REPLACE TEMP TABLE outcomes AS
WITH typed AS (
    SELECT
        txt(account_id) AS account_id,
        TRY_CAST(txt(event_date) AS DATE) AS event_date,
        lower(txt(event_type)) AS event_type,
        bad(arr_change, num(arr_change)) AS is_bad
    FROM @outcomes@
)
SELECT DISTINCT account_id, event_date, event_type
FROM typed
WHERE account_id IS NOT NULL AND event_date IS NOT NULL AND NOT is_bad
    AND event_type IN ('churned', 'renewed', 'expanded', 'contracted', 'reactivated');

-- Usage is the big one: typed once as a view; each script reads the rows it needs (the
-- latest-date one the rows of its longest window, the full-history one all of them).
CREATE OR REPLACE TEMP VIEW usage_valid AS
SELECT *
FROM (
    SELECT
        txt(account_id) AS account_id,
        TRY_CAST(activity_date AS DATE) AS activity_date,
        txt(user_id) AS user_id,
        txt(feature) AS feature,
        TRY_CAST(event_count AS BIGINT) AS event_count,
        TRY_CAST(event_count AS DOUBLE) AS event_count_double,
        num(minutes) AS minutes_value,
        txt(minutes) AS minutes_text,
        _file, _mtime, _row
    FROM @usage@
)
WHERE account_id IS NOT NULL AND activity_date IS NOT NULL AND feature IS NOT NULL
    AND event_count >= 0 AND event_count = event_count_double
    AND NOT (minutes_text IS NOT NULL AND minutes_value IS NULL)
    AND coalesce(minutes_value >= 0, true);
