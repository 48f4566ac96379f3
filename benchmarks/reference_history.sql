-- Reference (c) of the benchmark: the health score of every account on every scoring date,
-- straight from the export files, in one hand-written DuckDB script: what a person fluent in
-- SQL would write to get the whole score history fast, set-based, without a loop over dates.
--
-- It computes what the dbt models compute for every scoring date of a full build
-- (int_scoring_dates__selected without start/end vars: from history_warmup_days after the
-- first activity in the exports to the day after the last one): the customers of each date
-- (signed up before it, not in a churn spell), the twelve signals with their windows, the
-- normalisation methods (the percentile of breadth within segment and date, over that date's
-- catalogue), the missing-data policies, the preset assigned by lifecycle stage and the
-- hierarchical renormalisation of the weights with the same exact decimal sums. Windows,
-- thresholds, bands and weights are read from the seeds. The score of day D uses only rows
-- dated before D.
--
-- How: the events of every source are summed per account and day, and laid on a timeline of
-- one row per account and day (from its first event to the last scoring date), so that ONE
-- window pass per account, ordered by day, gives every trailing sum with row frames ("30
-- preceding and 1 preceding" = the 30 days before). Distinct counts over a window (active
-- users, features used, the catalogue) are the bits set in an OR of per-day bitstrings (a bit
-- per user of the account, per feature); churn spells, overdue amounts and the CSM assessment
-- in force are running values of the same pass (+1 / -1 where a spell starts and after it
-- ends). So is the run-rate of invoices spread over their service periods (+ / - the daily
-- amount); its window sums come from frames over the same deltas, weighted by their day, in
-- that one pass. Breadth's percentile is ranked per date and segment from the counts of each
-- features-used value, and the weighting runs per row over the preset's dimensions as lists:
-- no step groups or sorts the account-days by signal.
--
-- It runs after reference_staging.sql (the seeds as cfg_* tables, the staged sources);
-- benchmarks.reference_history fills in @preset@ (the run's preset) and @out@ (the
-- Parquet file written: account_id, score_date, preset, computed_score, tier, coverage).

-- ---------------------------------------------------------------------------------------
-- Configuration as constants: what each signal's window, method and policy is
-- ---------------------------------------------------------------------------------------
-- the twelve signals in a fixed order: the positions of the score lists below
SET VARIABLE signals = [
    'adoption', 'breadth', 'usage_trend', 'enablement', 'support_burden', 'support_csat', 'nps',
    'survey_csat', 'payment', 'revenue_trend', 'csm_sentiment', 'renewal_intent'
];
SET VARIABLE signal_cfg = (
    SELECT map(
        list(signal),
        list({
            method: method, at_risk: at_risk_value, healthy: healthy_value,
            window_days: window_days, policy: missing_policy
        })
    )
    FROM cfg_signal
);
SET VARIABLE band_points = (
    SELECT map(list(signal || '|' || band), list(points)) FROM cfg_bands
);
-- the score of a signal without data, in signal order: null (excluded), 50 or 0
SET VARIABLE missing_scores = (
    SELECT list(
        CASE cfg_signal.missing_policy WHEN 'neutral' THEN 50.0 WHEN 'zero' THEN 0.0 END
        ORDER BY signals.position
    )
    FROM unnest(getvariable('signals')) WITH ORDINALITY AS signals (signal, position)
    LEFT JOIN cfg_signal ON signals.signal = cfg_signal.signal
);
SET VARIABLE onboarding_days = CAST(setting('onboarding_days') AS INTEGER);
SET VARIABLE overdue_days = CAST(setting('payment_overdue_days') AS INTEGER);

CREATE OR REPLACE MACRO cfg(name) AS getvariable('signal_cfg')[name];
CREATE OR REPLACE MACRO days(name) AS getvariable('signal_cfg')[name].window_days;
-- whole days since 1970-01-01: the day key of the timeline
CREATE OR REPLACE MACRO day_no(d) AS CAST(CAST(d AS DATE) - DATE '1970-01-01' AS INTEGER);

-- the script computes the twelve signals it knows and ranks breadth only: say so loudly when
-- the config asks for something else
SELECT error('reference_history.sql does not know signal ' || signal || ' or its method')
FROM cfg_signal
WHERE NOT list_contains(getvariable('signals'), signal)
    OR (method = 'percentile' AND signal <> 'breadth')
    OR method NOT IN ('threshold', 'trend', 'boolean', 'bands', 'percentile');
SELECT error('preset_weights.csv: unknown signal ' || signal)
FROM cfg_weights
WHERE NOT list_contains(getvariable('signals'), signal);

-- the dimensions of each preset: weight and signals (position, weight within the dimension)
SET VARIABLE preset_dimensions = (
    SELECT map(list(preset), list(dimensions))
    FROM (
        SELECT preset, list({dimension_weight: dimension_weight, signals: signals}) AS dimensions
        FROM (
            SELECT
                preset,
                dimension,
                max(dimension_weight) AS dimension_weight,
                list({
                    position: list_position(getvariable('signals'), signal),
                    signal_weight: signal_weight
                }) AS signals
            FROM cfg_weights
            GROUP BY preset, dimension
        )
        GROUP BY preset
    )
);

-- ---------------------------------------------------------------------------------------
-- Usage over the whole history, summed per account and day
-- ---------------------------------------------------------------------------------------
-- Typed once into a table (the later passes read it, not the files); then one version per key
-- (account, day, user, feature): the few keys exported more than once are found by a hash of
-- the key, and only their rows are ranked newest first (newest file, else last row), as in
-- staging; the older versions are deleted.
CREATE OR REPLACE TABLE usage AS
SELECT account_id, activity_date, user_id, feature, event_count, _mtime, _file, _row
FROM usage_valid;

-- every source is staged (the row numbers of the CSV files taken in file order): from here on
-- no result depends on the order of rows, and DuckDB needs not keep it (less memory)
SET preserve_insertion_order = false;

DELETE FROM usage
WHERE rowid IN (
    SELECT rowid
    FROM usage
    WHERE hash(account_id, activity_date, user_id, feature) IN (
        SELECT hash(account_id, activity_date, user_id, feature)
        FROM usage
        GROUP BY ALL
        HAVING count(*) > 1
    )
    QUALIFY row_number() OVER (
        PARTITION BY account_id, activity_date, user_id, feature
        ORDER BY _mtime DESC, _file DESC, _row DESC
    ) > 1
);

-- Distinct users and features over a trailing window are the bits set in an OR of bitstrings:
-- one bit per user of the account, one per feature of the catalogue (features named alike
-- but for case are one feature).
CREATE OR REPLACE TABLE user_bits AS
SELECT
    account_id,
    user_id,
    set_bit(
        bitstring('0', CAST(count(*) OVER (PARTITION BY account_id) AS INTEGER)),
        CAST(row_number() OVER (PARTITION BY account_id ORDER BY user_id) - 1 AS INTEGER),
        1
    ) AS user_bit
FROM (SELECT DISTINCT account_id, user_id FROM usage WHERE user_id IS NOT NULL);

CREATE OR REPLACE TABLE features AS
SELECT
    feature AS exported_feature,
    lower(feature) AS feature,
    EXISTS (
        SELECT 1 FROM cfg_enablement WHERE lower(feature) LIKE feature_pattern
    ) AS is_enablement,
    set_bit(
        bitstring('0', CAST(count(DISTINCT lower(feature)) OVER () AS INTEGER)),
        CAST(dense_rank() OVER (ORDER BY lower(feature)) - 1 AS INTEGER),
        1
    ) AS feature_bit
FROM (SELECT DISTINCT feature FROM usage);

-- every account (the catalogue and the first enablement use are over all of them)
CREATE OR REPLACE TABLE usage_days AS
SELECT
    usage.account_id,
    day_no(usage.activity_date) AS day,
    sum(usage.event_count) AS usage_events,
    max(CASE WHEN usage.user_id IS NOT NULL THEN 1 ELSE 0 END) AS user_rows,
    sum(CASE WHEN features.is_enablement THEN usage.event_count END) AS enablement_events,
    bit_or(user_bits.user_bit) AS users,
    bit_or(features.feature_bit) AS features
FROM usage
INNER JOIN features ON usage.feature = features.exported_feature
LEFT JOIN user_bits
    ON usage.account_id = user_bits.account_id AND usage.user_id = user_bits.user_id
GROUP BY usage.account_id, usage.activity_date;

-- ---------------------------------------------------------------------------------------
-- Scoring dates and the customers of each
-- ---------------------------------------------------------------------------------------
SET VARIABLE last_day = (
    SELECT max(last_day) + 1
    FROM (
        SELECT max(day) AS last_day FROM usage_days
        UNION ALL SELECT max(day_no(issued_date)) FROM invoices
        UNION ALL SELECT max(day_no(opened_at)) FROM tickets
        UNION ALL SELECT max(day_no(responded_at)) FROM responses
        UNION ALL SELECT max(day_no(assessed_at)) FROM assessments
        UNION ALL SELECT max(day_no(event_date)) FROM outcomes
    )
);
-- a data span shorter than the warm-up still gets its last date scored
SET VARIABLE first_day = least(
    (
        SELECT min(first_day) + CAST(setting('history_warmup_days') AS INTEGER)
        FROM (
            SELECT min(day) AS first_day FROM usage_days
            UNION ALL SELECT min(day_no(issued_date)) FROM invoices
            UNION ALL SELECT min(day_no(opened_at)) FROM tickets
            UNION ALL SELECT min(day_no(responded_at)) FROM responses
            UNION ALL SELECT min(day_no(assessed_at)) FROM assessments
            UNION ALL SELECT min(day_no(event_date)) FROM outcomes
        )
    ),
    getvariable('last_day')
);

-- accounts numbered: the heavy steps below work on integer keys
CREATE OR REPLACE TABLE keyed_accounts AS
SELECT
    CAST(row_number() OVER (ORDER BY account_id) AS INTEGER) AS k,
    account_id,
    segment,
    licensed_seats,
    day_no(signup_date) AS signup_day,
    day_no(contract_start) AS contract_start_day,
    day_no(contract_end) AS contract_end_day
FROM accounts;

-- not a customer from the day after a churn until its next reactivation (inclusive)
CREATE OR REPLACE TABLE churn_spells AS
SELECT
    keyed_accounts.k,
    day_no(churned.event_date) AS churned_day,
    (
        SELECT min(day_no(reactivated.event_date))
        FROM outcomes AS reactivated
        WHERE reactivated.account_id = churned.account_id
            AND reactivated.event_type = 'reactivated'
            AND reactivated.event_date > churned.event_date
    ) AS reactivated_day
FROM outcomes AS churned
INNER JOIN keyed_accounts ON churned.account_id = keyed_accounts.account_id
WHERE churned.event_type = 'churned';

-- the preset of each lifecycle stage and segment: a segment row beats '*'; 'default' and a
-- stage without a row mean the run's preset
CREATE OR REPLACE TABLE assigned_presets AS
SELECT
    stages.lifecycle_stage,
    segments.segment,
    coalesce(
        (
            SELECT CASE WHEN a.preset = 'default' THEN '@preset@' ELSE a.preset END
            FROM cfg_assignments AS a
            WHERE a.lifecycle_stage = stages.lifecycle_stage
                AND (a.segment = '*' OR segments.segment = lower(a.segment))
            ORDER BY CASE WHEN a.segment = '*' THEN 1 ELSE 0 END
            LIMIT 1
        ),
        '@preset@'
    ) AS preset
FROM (VALUES ('onboarding'), ('mature')) AS stages (lifecycle_stage)
CROSS JOIN (SELECT DISTINCT segment FROM keyed_accounts) AS segments;

-- breadth's catalogue: the features any account used in the window before each date
CREATE OR REPLACE TABLE catalogue AS
WITH day_features AS (
    SELECT day, bit_or(features) AS features FROM usage_days GROUP BY day
)
SELECT dates.day, coalesce(bit_count(bit_or(day_features.features)), 0) AS catalogue_features
FROM range(getvariable('first_day'), getvariable('last_day') + 1) AS dates (day)
LEFT JOIN day_features
    ON day_features.day BETWEEN dates.day - days('breadth') AND dates.day - 1
GROUP BY dates.day;

-- enablement is measured from the day after the first use of an enablement feature
SET VARIABLE first_enablement_day = (
    SELECT min(day) FROM usage_days WHERE enablement_events > 0
);

-- ---------------------------------------------------------------------------------------
-- Every source's events summed per account and day (the days with an event)
-- ---------------------------------------------------------------------------------------
CREATE OR REPLACE TABLE event_days AS
WITH

keyed_usage_days AS (
    SELECT
        keyed_accounts.k,
        usage_days.day,
        CAST(usage_days.usage_events AS DOUBLE) AS usage_events,
        1 AS active_day,
        usage_days.user_rows,
        CAST(usage_days.enablement_events AS DOUBLE) AS enablement_events,
        usage_days.users,
        usage_days.features
    FROM usage_days
    INNER JOIN keyed_accounts ON usage_days.account_id = keyed_accounts.account_id
),

opened_tickets AS (
    SELECT
        keyed_accounts.k,
        day_no(tickets.opened_at) AS day,
        coalesce(p.weight, 1.0) * coalesce(c.weight, 1.0) AS ticket_weight
    FROM tickets
    INNER JOIN keyed_accounts ON tickets.account_id = keyed_accounts.account_id
    LEFT JOIN cfg_ticket_weights AS p
        ON p.attribute = 'priority' AND coalesce(tickets.priority, '') = p.value
    LEFT JOIN cfg_ticket_weights AS c
        ON c.attribute = 'category' AND coalesce(tickets.category, '') = c.value
),

-- a rating is known when the ticket closes (else from when it was opened)
rated_tickets AS (
    SELECT
        keyed_accounts.k,
        day_no(coalesce(tickets.closed_at, tickets.opened_at)) AS day,
        tickets.csat AS ticket_csat
    FROM tickets
    INNER JOIN keyed_accounts ON tickets.account_id = keyed_accounts.account_id
    WHERE tickets.csat IS NOT NULL
),

answers AS (
    SELECT
        keyed_accounts.k,
        day_no(responses.responded_at) AS day,
        CASE WHEN responses.survey_type = 'nps' THEN responses.score END AS nps_score,
        CASE WHEN responses.survey_type = 'csat' THEN responses.score END AS survey_csat
    FROM responses
    INNER JOIN keyed_accounts ON responses.account_id = keyed_accounts.account_id
),

countable_invoices AS (
    SELECT
        keyed_accounts.k,
        invoices.amount,
        day_no(invoices.issued_date) AS issued_day,
        day_no(invoices.due_date) AS due_day,
        day_no(invoices.paid_date) AS paid_day,
        CASE WHEN invoices.paid_date <= invoices.due_date THEN 1 ELSE 0 END AS paid_on_time,
        -- what the service period is inferred from
        day_no(invoices.period_start) AS period_start_day,
        day_no(invoices.period_end) AS period_end_day,
        max(day_no(invoices.issued_date)) OVER (
            PARTITION BY keyed_accounts.k ORDER BY day_no(invoices.issued_date)
            RANGE BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) AS previous_issued_day,
        day_no(invoices.issued_date + INTERVAL 1 MONTH) AS month_later_day,
        keyed_accounts.contract_start_day,
        keyed_accounts.contract_end_day
    FROM invoices
    INNER JOIN keyed_accounts ON invoices.account_id = keyed_accounts.account_id
    WHERE invoices.status <> 'void'
),

-- the service period each invoice bills (both days included), from what was known when it
-- was issued: the exported one, moved to start on the issue date when it starts before
-- (billed in arrears); else from the issue date for as long as the gap since the account's
-- previous issue date; a first invoice until the day before contract_end when issued within
-- the contract, else one calendar month. Its amount is spread evenly over its days (6
-- decimals, exact sums from here on).
service_periods AS (
    SELECT
        k,
        start_day,
        start_day + period_days - 1 AS end_day,
        CAST(amount / period_days AS DECIMAL(18, 6)) AS daily_amount
    FROM (
        SELECT
            k,
            amount,
            CASE
                WHEN period_start_day IS NOT NULL AND period_end_day IS NOT NULL
                    THEN greatest(period_start_day, issued_day)
                ELSE issued_day
            END AS start_day,
            CASE
                WHEN period_start_day IS NOT NULL AND period_end_day IS NOT NULL
                    THEN period_end_day - period_start_day + 1
                WHEN previous_issued_day IS NOT NULL THEN issued_day - previous_issued_day
                WHEN contract_end_day > issued_day
                    AND coalesce(contract_start_day <= issued_day, true)
                    THEN contract_end_day - issued_day
                ELSE month_later_day - issued_day
            END AS period_days
        FROM countable_invoices
    )
),

-- unpaid more than payment_overdue_days after the due date (known paid from the day after
-- paid_date), counted while the due date is in the payment window: a spell of days
overdue_spells AS (
    SELECT
        k,
        amount,
        due_day + getvariable('overdue_days') + 1 AS spell_start,
        least(coalesce(paid_day, due_day + days('payment')), due_day + days('payment'))
        AS spell_end
    FROM countable_invoices
),

-- the CSM assessment in force: from the day after it was made until the next one or its
-- valid_until (else assessed + the csm_sentiment window), whichever comes first
assessment_spells AS (
    SELECT k, valid_from, valid_to, sentiment, renewal_intent
    FROM (
        SELECT
            keyed_accounts.k,
            day_no(assessments.assessed_at) + 1 AS valid_from,
            least(
                coalesce(
                    day_no(assessments.valid_until),
                    day_no(assessments.assessed_at) + days('csm_sentiment')
                ),
                coalesce(
                    day_no(lead(assessments.assessed_at) OVER (
                        PARTITION BY assessments.account_id ORDER BY assessments.assessed_at
                    )),
                    2147483647
                )
            ) AS valid_to,
            assessments.sentiment,
            assessments.renewal_intent
        FROM assessments
        INNER JOIN keyed_accounts ON assessments.account_id = keyed_accounts.account_id
    )
    WHERE valid_to >= valid_from
),

-- the other sources' events (usage has one row per account-day already: joined on below, so
-- that its bitstrings are not carried through an aggregate, which ran out of memory at M)
events AS (
    SELECT * FROM opened_tickets
    UNION ALL BY NAME SELECT * FROM rated_tickets
    UNION ALL BY NAME SELECT * FROM answers
    -- the daily run-rate: +daily amount from the first day of a service period, - after its last
    UNION ALL BY NAME
    SELECT k, start_day AS day, daily_amount AS rate_delta FROM service_periods
    UNION ALL BY NAME
    SELECT k, end_day + 1 AS day, -daily_amount AS rate_delta FROM service_periods
    UNION ALL BY NAME
    SELECT k, due_day AS day, amount AS due_amount, paid_on_time FROM countable_invoices
    -- spells as +1 / -1 (or +amount / -amount) where they start and after they end
    UNION ALL BY NAME
    SELECT k, spell_start AS day, amount AS overdue_delta
    FROM overdue_spells WHERE spell_start <= spell_end
    UNION ALL BY NAME
    SELECT k, spell_end + 1 AS day, -amount AS overdue_delta
    FROM overdue_spells WHERE spell_start <= spell_end
    UNION ALL BY NAME
    SELECT k, churned_day + 1 AS day, 1 AS churn_delta FROM churn_spells
    UNION ALL BY NAME
    SELECT k, reactivated_day + 1 AS day, -1 AS churn_delta
    FROM churn_spells WHERE reactivated_day IS NOT NULL
    UNION ALL BY NAME
    SELECT
        k,
        valid_from AS day,
        {sentiment: sentiment, renewal_intent: renewal_intent, valid_to: valid_to} AS assessment
    FROM assessment_spells
),

other_days AS (
    SELECT
        k,
        day,
        sum(ticket_weight) AS ticket_weight,
        sum(ticket_csat) AS ticket_csat_sum,
        count(ticket_csat) AS rated_tickets,
        count(nps_score) FILTER (WHERE nps_score >= 9) AS promoters,
        count(nps_score) FILTER (WHERE nps_score <= 6) AS detractors,
        count(nps_score) AS nps_responses,
        sum(survey_csat) AS survey_csat_sum,
        count(survey_csat) AS csat_responses,
        count(due_amount) AS invoices_due,
        sum(paid_on_time) AS paid_on_time,
        sum(due_amount) AS due_amount,
        -- changes of the running values
        sum(overdue_delta) AS overdue_delta,
        sum(rate_delta) AS rate_delta,
        sum(churn_delta) AS churn_delta,
        max(assessment) AS assessment
    FROM events
    WHERE day <= getvariable('last_day')
    GROUP BY k, day
)

SELECT
    coalesce(usage_days.k, other_days.k) AS k,
    coalesce(usage_days.day, other_days.day) AS day,
    -- usage
    usage_days.usage_events,
    usage_days.active_day,
    usage_days.user_rows,
    usage_days.enablement_events,
    usage_days.users,
    usage_days.features,
    -- support, survey, billing (counts are 0 on a day with usage only)
    other_days.ticket_weight,
    other_days.ticket_csat_sum,
    coalesce(other_days.rated_tickets, 0) AS rated_tickets,
    coalesce(other_days.promoters, 0) AS promoters,
    coalesce(other_days.detractors, 0) AS detractors,
    coalesce(other_days.nps_responses, 0) AS nps_responses,
    other_days.survey_csat_sum,
    coalesce(other_days.csat_responses, 0) AS csat_responses,
    coalesce(other_days.invoices_due, 0) AS invoices_due,
    other_days.paid_on_time,
    other_days.due_amount,
    other_days.overdue_delta,
    other_days.rate_delta,
    other_days.churn_delta,
    other_days.assessment
FROM (
    SELECT * FROM keyed_usage_days WHERE day <= getvariable('last_day')
) AS usage_days
FULL OUTER JOIN other_days
    ON usage_days.k = other_days.k AND usage_days.day = other_days.day;

-- ---------------------------------------------------------------------------------------
-- The timeline: one row per account and day, from its first event (or the first scoring
-- date) to the last scoring date, so that a trailing window of N days is N rows: the days
-- with an event, and the days between them (no join: the gaps are generated). One window
-- pass gives every signal's inputs on every day; the customer-days are kept.
-- ---------------------------------------------------------------------------------------
CREATE OR REPLACE TABLE measured AS
WITH

gaps AS (
    -- the days after each event day until the next one (or the last scoring date)
    SELECT
        k,
        CAST(unnest(range(
            day + 1, coalesce(next_day, getvariable('last_day') + 1)
        )) AS INTEGER) AS day
    FROM (SELECT k, day, lead(day) OVER (PARTITION BY k ORDER BY day) AS next_day FROM event_days)
    UNION ALL
    -- from the first scoring date to an account's first event day (all of them without one)
    SELECT
        keyed_accounts.k,
        CAST(unnest(range(
            getvariable('first_day'),
            least(coalesce(first_events.day, getvariable('last_day') + 1), getvariable('last_day') + 1)
        )) AS INTEGER) AS day
    FROM keyed_accounts
    LEFT JOIN (SELECT k, min(day) AS day FROM event_days GROUP BY k) AS first_events
        ON keyed_accounts.k = first_events.k
),

timeline AS (
    SELECT * FROM event_days
    UNION ALL BY NAME
    SELECT * FROM gaps
),

windowed AS (
    SELECT
        k,
        day,
        -- running values: not a customer (in a churn spell), amount overdue, the latest
        -- assessment started
        sum(churn_delta) OVER running AS churn_spells,
        sum(overdue_delta) OVER running AS amount_overdue,
        last_value(assessment IGNORE NULLS) OVER running AS assessment,
        -- trailing windows: the N days before
        bit_count(bit_or(users) OVER adoption) AS active_users,
        bit_count(bit_or(features) OVER breadth) AS features_used,
        count(active_day) OVER adoption AS active_days,
        sum(user_rows) OVER adoption AS days_with_user_ids,
        sum(usage_events) OVER usage_last AS events_last,
        sum(usage_events) OVER usage_previous AS events_previous,
        sum(enablement_events) OVER enablement AS enablement_events,
        sum(usage_events) OVER support_burden AS burden_usage_events,
        sum(ticket_weight) OVER support_burden AS weighted_tickets,
        sum(ticket_csat_sum) OVER support_csat AS ticket_csat_sum,
        sum(rated_tickets) OVER support_csat AS rated_tickets,
        CAST(sum(promoters) OVER nps AS DOUBLE) AS promoters,
        CAST(sum(detractors) OVER nps AS DOUBLE) AS detractors,
        CAST(sum(nps_responses) OVER nps AS DOUBLE) AS nps_responses,
        sum(survey_csat_sum) OVER survey_csat AS survey_csat_sum,
        sum(csat_responses) OVER survey_csat AS csat_responses,
        sum(invoices_due) OVER payment AS invoices_due,
        sum(paid_on_time) OVER payment AS invoices_paid_on_time,
        sum(due_amount) OVER payment AS amount_due,
        -- revenue_trend: the run-rate of a day is the running sum of rate_delta; summed over a
        -- frame of days it counts each delta before the frame once per day of the frame, and
        -- each delta in it for the days from its own to the frame's end (exact decimals)
        CAST(
            days('revenue_trend') * coalesce(sum(rate_delta) OVER before_revenue_last, 0)
            + day * coalesce(sum(rate_delta) OVER revenue_last, 0)
            - coalesce(sum(rate_delta * day) OVER revenue_last, 0) AS DOUBLE
        ) AS billed_last,
        CAST(
            days('revenue_trend') * coalesce(sum(rate_delta) OVER before_revenue_previous, 0)
            + (day - days('revenue_trend')) * coalesce(sum(rate_delta) OVER revenue_previous, 0)
            - coalesce(sum(rate_delta * day) OVER revenue_previous, 0) AS DOUBLE
        ) AS billed_previous
    FROM timeline
    WINDOW
        running AS (PARTITION BY k ORDER BY day ROWS UNBOUNDED PRECEDING),
        adoption AS (
            PARTITION BY k ORDER BY day ROWS BETWEEN days('adoption') PRECEDING AND 1 PRECEDING
        ),
        breadth AS (
            PARTITION BY k ORDER BY day ROWS BETWEEN days('breadth') PRECEDING AND 1 PRECEDING
        ),
        usage_last AS (
            PARTITION BY k ORDER BY day
            ROWS BETWEEN days('usage_trend') PRECEDING AND 1 PRECEDING
        ),
        usage_previous AS (
            PARTITION BY k ORDER BY day
            ROWS BETWEEN 2 * days('usage_trend') PRECEDING AND days('usage_trend') + 1 PRECEDING
        ),
        enablement AS (
            PARTITION BY k ORDER BY day
            ROWS BETWEEN days('enablement') PRECEDING AND 1 PRECEDING
        ),
        support_burden AS (
            PARTITION BY k ORDER BY day
            ROWS BETWEEN days('support_burden') PRECEDING AND 1 PRECEDING
        ),
        support_csat AS (
            PARTITION BY k ORDER BY day
            ROWS BETWEEN days('support_csat') PRECEDING AND 1 PRECEDING
        ),
        nps AS (
            PARTITION BY k ORDER BY day ROWS BETWEEN days('nps') PRECEDING AND 1 PRECEDING
        ),
        survey_csat AS (
            PARTITION BY k ORDER BY day
            ROWS BETWEEN days('survey_csat') PRECEDING AND 1 PRECEDING
        ),
        payment AS (
            PARTITION BY k ORDER BY day ROWS BETWEEN days('payment') PRECEDING AND 1 PRECEDING
        ),
        revenue_last AS (
            PARTITION BY k ORDER BY day
            ROWS BETWEEN days('revenue_trend') PRECEDING AND 1 PRECEDING
        ),
        revenue_previous AS (
            PARTITION BY k ORDER BY day
            ROWS BETWEEN 2 * days('revenue_trend') PRECEDING
            AND days('revenue_trend') + 1 PRECEDING
        ),
        before_revenue_last AS (
            PARTITION BY k ORDER BY day
            ROWS BETWEEN UNBOUNDED PRECEDING AND days('revenue_trend') + 1 PRECEDING
        ),
        before_revenue_previous AS (
            PARTITION BY k ORDER BY day
            ROWS BETWEEN UNBOUNDED PRECEDING AND 2 * days('revenue_trend') + 1 PRECEDING
        )
)

SELECT
    windowed.k,
    windowed.day,
    -- raw values, as the signal models compute them
    CASE
        WHEN coalesce(windowed.days_with_user_ids, 0) > 0
            THEN CAST(coalesce(windowed.active_users, 0) AS DOUBLE)
            / nullif(keyed_accounts.licensed_seats, 0)
        WHEN windowed.active_days > 0 THEN windowed.active_days / days('adoption')
        ELSE 0
    END AS adoption,
    coalesce(windowed.features_used, 0) AS features_used,
    coalesce(windowed.events_last, 0) / nullif(coalesce(windowed.events_previous, 0), 0)
    AS usage_trend,
    CASE
        WHEN getvariable('first_enablement_day') IS NULL THEN NULL
        WHEN windowed.day <= getvariable('first_enablement_day') THEN NULL
        WHEN coalesce(windowed.enablement_events, 0) > 0 THEN 1.0
        ELSE 0.0
    END AS enablement,
    CASE
        WHEN coalesce(windowed.burden_usage_events, 0) > 0
            THEN 10.0 * coalesce(windowed.weighted_tickets, 0)
            / nullif(keyed_accounts.licensed_seats, 0)
    END AS support_burden,
    windowed.ticket_csat_sum / nullif(windowed.rated_tickets, 0) AS support_csat,
    100.0 * (windowed.promoters - windowed.detractors) / nullif(windowed.nps_responses, 0)
    AS nps,
    windowed.survey_csat_sum / nullif(windowed.csat_responses, 0) AS survey_csat,
    CASE
        WHEN windowed.invoices_due > 0
            THEN (windowed.invoices_paid_on_time / windowed.invoices_due)
            * greatest(
                0.0,
                1.0 - coalesce(
                    coalesce(windowed.amount_overdue, 0) / nullif(windowed.amount_due, 0), 0.0
                )
            )
    END AS payment,
    -- the mean daily run-rate of the last window over that of the window before
    windowed.billed_last / nullif(windowed.billed_previous, 0) AS revenue_trend,
    CASE
        WHEN windowed.day <= windowed.assessment.valid_to THEN windowed.assessment.sentiment
    END AS csm_sentiment,
    CASE
        WHEN windowed.day <= windowed.assessment.valid_to THEN windowed.assessment.renewal_intent
    END AS renewal_intent
FROM windowed
INNER JOIN keyed_accounts ON windowed.k = keyed_accounts.k
-- the customer-days: scoring dates after the signup, outside churn spells
WHERE windowed.day >= getvariable('first_day')
    AND windowed.day > keyed_accounts.signup_day
    AND coalesce(windowed.churn_spells, 0) = 0;

-- ---------------------------------------------------------------------------------------
-- Breadth's percentile within segment and date: the counts of each features-used value
-- ---------------------------------------------------------------------------------------
CREATE OR REPLACE TABLE breadth_percentiles AS
SELECT
    day,
    segment,
    features_used,
    -- mid-rank: share below plus half the share of ties (as a count(*) window would give)
    100.0 * (
        CAST(sum(accounts) OVER (PARTITION BY day, segment ORDER BY features_used) AS BIGINT)
        - 0.5 * accounts
    ) / CAST(sum(accounts) OVER (PARTITION BY day, segment) AS BIGINT) AS percentile_score
FROM (
    SELECT measured.day, keyed_accounts.segment, measured.features_used, count(*) AS accounts
    FROM measured
    INNER JOIN keyed_accounts ON measured.k = keyed_accounts.k
    INNER JOIN catalogue ON measured.day = catalogue.day
    WHERE catalogue.catalogue_features > 0
    GROUP BY measured.day, keyed_accounts.segment, measured.features_used
);

-- ---------------------------------------------------------------------------------------
-- Normalisation, missing policy, weights of the assigned preset, score and tier
-- ---------------------------------------------------------------------------------------
CREATE OR REPLACE MACRO normalised(name, raw_value, raw_label, percentile) AS CASE
    WHEN cfg(name).method IN ('threshold', 'trend') AND raw_value IS NOT NULL
        THEN 100.0 * greatest(0.0, least(1.0,
            (raw_value - cfg(name).at_risk) / (cfg(name).healthy - cfg(name).at_risk)
        ))
    WHEN cfg(name).method = 'boolean'
        THEN CASE WHEN raw_value IS NULL THEN NULL WHEN raw_value > 0 THEN 100.0 ELSE 0.0 END
    WHEN cfg(name).method = 'bands'
        THEN CAST(getvariable('band_points')[name || '|' || raw_label] AS DOUBLE)
    WHEN cfg(name).method = 'percentile' THEN percentile
END;

-- a sum that does not depend on the order of the terms (the pipeline's exact_sum)
CREATE OR REPLACE MACRO exact(x) AS CAST(x AS DECIMAL(18, 10));

COPY (
    WITH

    normalised_signals AS (
        SELECT
            measured.k,
            measured.day,
            CASE
                WHEN measured.day - keyed_accounts.signup_day < getvariable('onboarding_days')
                    THEN 'onboarding'
                ELSE 'mature'
            END AS lifecycle_stage,
            keyed_accounts.segment,
            [
                normalised('adoption', measured.adoption, NULL, NULL),
                normalised(
                    'breadth',
                    CAST(measured.features_used AS DOUBLE)
                    / nullif(catalogue.catalogue_features, 0),
                    NULL,
                    breadth_percentiles.percentile_score
                ),
                normalised('usage_trend', measured.usage_trend, NULL, NULL),
                normalised('enablement', measured.enablement, NULL, NULL),
                normalised('support_burden', measured.support_burden, NULL, NULL),
                normalised('support_csat', measured.support_csat, NULL, NULL),
                normalised('nps', measured.nps, NULL, NULL),
                normalised('survey_csat', measured.survey_csat, NULL, NULL),
                normalised('payment', measured.payment, NULL, NULL),
                normalised('revenue_trend', measured.revenue_trend, NULL, NULL),
                normalised('csm_sentiment', measured.csm_sentiment, NULL, NULL),
                normalised('renewal_intent', NULL, measured.renewal_intent, NULL)
            ] AS normalised_scores
        FROM measured
        INNER JOIN keyed_accounts ON measured.k = keyed_accounts.k
        LEFT JOIN catalogue ON measured.day = catalogue.day
        LEFT JOIN breadth_percentiles
            ON measured.day = breadth_percentiles.day
            AND keyed_accounts.segment IS NOT DISTINCT FROM breadth_percentiles.segment
            AND measured.features_used = breadth_percentiles.features_used
    ),

    -- the missing-data policy, and which signals had data
    signal_scores AS (
        SELECT
            normalised_signals.k,
            normalised_signals.day,
            assigned_presets.preset,
            list_transform(
                normalised_signals.normalised_scores,
                lambda score, i: coalesce(score, getvariable('missing_scores')[i])
            ) AS scores,
            list_transform(normalised_signals.normalised_scores, lambda score: score IS NOT NULL)
            AS has_data
        FROM normalised_signals
        INNER JOIN assigned_presets
            ON normalised_signals.lifecycle_stage = assigned_presets.lifecycle_stage
            AND normalised_signals.segment IS NOT DISTINCT FROM assigned_presets.segment
    ),

    -- each dimension of the preset: the weighted mean of its signals that have a score, and
    -- the configured weight of its signals that had data
    dimensions AS (
        SELECT
            k,
            day,
            preset,
            list_transform(
                getvariable('preset_dimensions')[preset],
                lambda d: {
                    dimension_weight: d.dimension_weight,
                    dimension_score: CAST(list_sum(list_transform(
                        d.signals, lambda s: exact(s.signal_weight * scores[s.position])
                    )) AS DOUBLE) / CAST(list_sum(list_transform(
                        d.signals,
                        lambda s: CASE
                            WHEN scores[s.position] IS NOT NULL THEN exact(s.signal_weight)
                        END
                    )) AS DOUBLE),
                    coverage: CAST(list_sum(list_transform(
                        d.signals,
                        lambda s: exact(CASE
                            WHEN has_data[s.position] THEN d.dimension_weight * s.signal_weight
                            ELSE 0
                        END)
                    )) AS DOUBLE)
                }
            ) AS dimensions
        FROM signal_scores
    ),

    scores AS (
        SELECT
            k,
            day,
            preset,
            CAST(list_sum(list_transform(
                dimensions, lambda d: exact(d.dimension_weight * d.dimension_score)
            )) AS DOUBLE) AS weighted_sum,
            CAST(list_sum(list_transform(
                dimensions,
                lambda d: CASE
                    WHEN d.dimension_score IS NOT NULL THEN exact(d.dimension_weight)
                END
            )) AS DOUBLE) AS scored_weight,
            round(
                CAST(list_sum(list_transform(dimensions, lambda d: exact(d.coverage))) AS DOUBLE),
                6
            ) AS coverage
        FROM dimensions
    ),

    computed AS (
        SELECT
            k,
            day,
            preset,
            CASE
                WHEN scored_weight > 0 THEN round(weighted_sum / scored_weight, 2)
            END AS computed_score,
            coverage
        FROM scores
    )

    SELECT
        keyed_accounts.account_id,
        DATE '1970-01-01' + computed.day AS score_date,
        computed.preset,
        computed.computed_score,
        coalesce(cfg_tiers.tier, 'unscored') AS tier,
        computed.coverage
    FROM computed
    INNER JOIN keyed_accounts ON computed.k = keyed_accounts.k
    LEFT JOIN cfg_tiers
        ON (
            computed.computed_score > cfg_tiers.lower_bound
            OR (cfg_tiers.lower_inclusive AND computed.computed_score = cfg_tiers.lower_bound)
        )
        AND (
            computed.computed_score < cfg_tiers.upper_bound
            OR (cfg_tiers.upper_inclusive AND computed.computed_score = cfg_tiers.upper_bound)
        )
) TO @out@ (FORMAT parquet, COMPRESSION zstd);
