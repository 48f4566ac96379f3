-- Reference (a) of the benchmark: today's health scores straight from the export files, in
-- one hand-written DuckDB script: what a person fluent in SQL would write to score the latest
-- date, and how fast it can be done (the practical limit the pipeline is measured against).
--
-- It computes what the dbt models compute for the latest scoring date (the day after the last
-- activity in the exports): the same staging rules (types, the contract's row rules, dedupe:
-- newest updated_at, else newest file, else last row), the same customers (signed up before the
-- date, not churned), the twelve signals with their windows, the normalisation methods, the
-- missing-data policies, the preset assigned by lifecycle stage and the hierarchical
-- renormalisation of the weights. Windows, thresholds, bands and weights are read from the
-- seeds CSVs. The score of day D uses only rows dated before D.
--
-- It runs after reference_staging.sql (the seeds as cfg_* tables, the staged sources);
-- benchmarks.reference_sql fills in @preset@ (the run's preset) and @usage@.

-- ---------------------------------------------------------------------------------------
-- The scoring date: the day after the last activity in the exports
-- ---------------------------------------------------------------------------------------
-- The last valid usage row: looked for in the last weeks of the files first (one cheap pass
-- over one column finds them), in the whole history only when those weeks hold no valid row.
SET VARIABLE usage_raw_last = (SELECT max(TRY_CAST(activity_date AS DATE)) FROM @usage@);
SET VARIABLE usage_last = (
    SELECT max(activity_date)
    FROM usage_valid
    WHERE activity_date >= getvariable('usage_raw_last') - 31
);
SET VARIABLE usage_last = coalesce(
    getvariable('usage_last'),
    (SELECT max(activity_date) FROM usage_valid WHERE getvariable('usage_last') IS NULL)
);
SET VARIABLE as_of = (
    SELECT CAST(max(last_date) + 1 AS DATE)
    FROM (
        SELECT getvariable('usage_last') AS last_date
        UNION ALL SELECT max(issued_date) FROM invoices
        UNION ALL SELECT max(CAST(opened_at AS DATE)) FROM tickets
        UNION ALL SELECT max(CAST(responded_at AS DATE)) FROM responses
        UNION ALL SELECT max(CAST(assessed_at AS DATE)) FROM assessments
        UNION ALL SELECT max(event_date) FROM outcomes
    )
);
SET VARIABLE usage_from = getvariable('as_of') - greatest(
    win('adoption'), win('breadth'), 2 * win('usage_trend'), win('enablement'),
    win('support_burden')
);

CREATE OR REPLACE TEMP TABLE usage_recent AS
SELECT account_id, activity_date, user_id, lower(feature) AS feature, event_count
FROM usage_valid
WHERE activity_date >= getvariable('usage_from') AND activity_date < getvariable('as_of')
QUALIFY row_number() OVER (
    PARTITION BY account_id, activity_date, user_id, feature
    ORDER BY _mtime DESC, _file DESC, _row DESC
) = 1;

-- Enablement is unmeasured until some account has used an enablement feature (the pipeline:
-- before the first such day). Every row is before the scoring date, so it is measured when
-- any such use exists: the usage window usually shows one; else the older history is read.
SET VARIABLE enablement_seen = (
    SELECT count(*) > 0
    FROM usage_recent
    WHERE event_count > 0
        AND EXISTS (SELECT 1 FROM cfg_enablement WHERE feature LIKE feature_pattern)
);
SET VARIABLE enablement_seen = getvariable('enablement_seen') OR (
    SELECT count(*) > 0
    FROM (
        SELECT event_count
        FROM usage_valid
        WHERE NOT getvariable('enablement_seen')
            AND activity_date < getvariable('usage_from')
            AND EXISTS (
                SELECT 1 FROM cfg_enablement WHERE lower(feature) LIKE feature_pattern
            )
        QUALIFY row_number() OVER (
            PARTITION BY account_id, activity_date, user_id, feature
            ORDER BY _mtime DESC, _file DESC, _row DESC
        ) = 1
    )
    WHERE event_count > 0
);

-- ---------------------------------------------------------------------------------------
-- Customers on the scoring date
-- ---------------------------------------------------------------------------------------
CREATE OR REPLACE TEMP TABLE customers AS
WITH churn_spells AS (
    SELECT
        churned.account_id,
        churned.event_date AS churned_on,
        (
            SELECT min(reactivated.event_date)
            FROM outcomes AS reactivated
            WHERE reactivated.account_id = churned.account_id
                AND reactivated.event_type = 'reactivated'
                AND reactivated.event_date > churned.event_date
        ) AS reactivated_on
    FROM outcomes AS churned
    WHERE churned.event_type = 'churned'
)
SELECT
    accounts.account_id,
    accounts.segment,
    accounts.licensed_seats,
    CASE
        WHEN getvariable('as_of') - accounts.signup_date
            < CAST(setting('onboarding_days') AS INTEGER) THEN 'onboarding'
        ELSE 'mature'
    END AS lifecycle_stage
FROM accounts
WHERE accounts.signup_date < getvariable('as_of')
    AND NOT EXISTS (
        SELECT 1
        FROM churn_spells
        WHERE churn_spells.account_id = accounts.account_id
            AND getvariable('as_of') > churn_spells.churned_on
            AND (
                churn_spells.reactivated_on IS NULL
                OR getvariable('as_of') <= churn_spells.reactivated_on
            )
    );

-- ---------------------------------------------------------------------------------------
-- The twelve signals: one raw value (or label) per customer
-- ---------------------------------------------------------------------------------------
CREATE OR REPLACE TEMP TABLE measured AS
WITH

usage_windows AS (
    SELECT
        account_id,
        count(DISTINCT CASE WHEN activity_date >= getvariable('as_of') - win('adoption')
            THEN user_id END) AS active_users,
        count(DISTINCT CASE WHEN activity_date >= getvariable('as_of') - win('adoption')
            THEN activity_date END) AS active_days,
        count(DISTINCT CASE WHEN activity_date >= getvariable('as_of') - win('adoption')
            AND user_id IS NOT NULL THEN activity_date END) AS days_with_user_ids,
        count(DISTINCT CASE WHEN activity_date >= getvariable('as_of') - win('breadth')
            THEN feature END) AS features_used,
        sum(CASE WHEN activity_date >= getvariable('as_of') - win('usage_trend')
            THEN event_count ELSE 0 END) AS events_last,
        sum(CASE WHEN activity_date < getvariable('as_of') - win('usage_trend')
            AND activity_date >= getvariable('as_of') - 2 * win('usage_trend')
            THEN event_count ELSE 0 END) AS events_previous,
        sum(CASE WHEN activity_date >= getvariable('as_of') - win('enablement')
            AND EXISTS (SELECT 1 FROM cfg_enablement WHERE feature LIKE feature_pattern)
            THEN event_count ELSE 0 END) AS enablement_events,
        sum(CASE WHEN activity_date >= getvariable('as_of') - win('support_burden')
            THEN event_count ELSE 0 END) AS burden_usage_events
    FROM usage_recent
    GROUP BY account_id
),

catalogue AS (
    SELECT count(DISTINCT feature) AS catalogue_features
    FROM usage_recent
    WHERE activity_date >= getvariable('as_of') - win('breadth')
),

ticket_windows AS (
    SELECT
        tickets.account_id,
        sum(CASE WHEN CAST(tickets.opened_at AS DATE)
                >= getvariable('as_of') - win('support_burden')
            AND CAST(tickets.opened_at AS DATE) < getvariable('as_of')
            THEN coalesce(p.weight, 1.0) * coalesce(c.weight, 1.0) ELSE 0 END) AS weighted_tickets,
        sum(CASE WHEN tickets.csat IS NOT NULL
            AND CAST(coalesce(tickets.closed_at, tickets.opened_at) AS DATE)
                >= getvariable('as_of') - win('support_csat')
            AND CAST(coalesce(tickets.closed_at, tickets.opened_at) AS DATE) < getvariable('as_of')
            THEN tickets.csat END) AS csat_sum,
        count(CASE WHEN tickets.csat IS NOT NULL
            AND CAST(coalesce(tickets.closed_at, tickets.opened_at) AS DATE)
                >= getvariable('as_of') - win('support_csat')
            AND CAST(coalesce(tickets.closed_at, tickets.opened_at) AS DATE) < getvariable('as_of')
            THEN 1 END) AS rated_tickets
    FROM tickets
    LEFT JOIN cfg_ticket_weights AS p
        ON p.attribute = 'priority' AND coalesce(tickets.priority, '') = p.value
    LEFT JOIN cfg_ticket_weights AS c
        ON c.attribute = 'category' AND coalesce(tickets.category, '') = c.value
    GROUP BY tickets.account_id
),

survey_windows AS (
    SELECT
        account_id,
        count(CASE WHEN survey_type = 'nps' AND in_nps AND score >= 9 THEN 1 END) AS promoters,
        count(CASE WHEN survey_type = 'nps' AND in_nps AND score <= 6 THEN 1 END) AS detractors,
        count(CASE WHEN survey_type = 'nps' AND in_nps THEN 1 END) AS nps_responses,
        sum(CASE WHEN survey_type = 'csat' AND in_csat THEN score END) AS csat_sum,
        count(CASE WHEN survey_type = 'csat' AND in_csat THEN 1 END) AS csat_responses
    FROM (
        SELECT
            *,
            CAST(responded_at AS DATE) >= getvariable('as_of') - win('nps')
            AND CAST(responded_at AS DATE) < getvariable('as_of') AS in_nps,
            CAST(responded_at AS DATE) >= getvariable('as_of') - win('survey_csat')
            AND CAST(responded_at AS DATE) < getvariable('as_of') AS in_csat
        FROM responses
    )
    GROUP BY account_id
),

invoice_windows AS (
    SELECT
        account_id,
        count(CASE WHEN is_due THEN 1 END) AS invoices_due,
        count(CASE WHEN is_due AND paid_date IS NOT NULL AND paid_date <= due_date THEN 1 END)
        AS invoices_paid_on_time,
        sum(CASE WHEN is_due THEN amount END) AS amount_due,
        -- unpaid on the scoring date more than payment_overdue_days after the due date
        -- (an invoice is known paid from the day after its paid_date)
        sum(CASE WHEN is_due
            AND due_date + CAST(setting('payment_overdue_days') AS INTEGER) + 1
                <= getvariable('as_of')
            AND (paid_date IS NULL OR getvariable('as_of') <= paid_date)
            THEN amount ELSE 0 END) AS amount_overdue
    FROM (
        SELECT
            *,
            due_date >= getvariable('as_of') - win('payment')
            AND due_date < getvariable('as_of') AS is_due
        FROM invoices
        WHERE status <> 'void'
    )
    GROUP BY account_id
),

-- the service period each invoice bills (both days included), from what was known when it
-- was issued: the exported period_start..period_end, moved to start on the issue date when it
-- starts before (billed in arrears); else from the issue date for as long as the gap since
-- the account's previous issue date; a first invoice until the day before contract_end when
-- issued within the contract, else one calendar month
service_periods AS (
    SELECT
        account_id,
        start_date,
        start_date + CAST(period_days - 1 AS INTEGER) AS end_date,
        CAST(amount / period_days AS DECIMAL(18, 6)) AS daily_amount
    FROM (
        SELECT
            billed.account_id,
            billed.amount,
            CASE
                WHEN billed.has_period THEN greatest(billed.period_start, billed.issued_date)
                ELSE billed.issued_date
            END AS start_date,
            CASE
                WHEN billed.has_period THEN billed.period_end - billed.period_start + 1
                WHEN billed.previous_issued IS NOT NULL
                    THEN billed.issued_date - billed.previous_issued
                WHEN accounts.contract_end > billed.issued_date
                    AND coalesce(accounts.contract_start <= billed.issued_date, true)
                    THEN accounts.contract_end - billed.issued_date
                ELSE CAST(billed.issued_date + INTERVAL 1 MONTH AS DATE) - billed.issued_date
            END AS period_days
        FROM (
            SELECT
                *,
                period_start IS NOT NULL AND period_end IS NOT NULL AS has_period,
                max(issued_date) OVER (
                    PARTITION BY account_id ORDER BY issued_date
                    RANGE BETWEEN UNBOUNDED PRECEDING AND INTERVAL 1 DAY PRECEDING
                ) AS previous_issued
            FROM invoices
            WHERE status <> 'void'
        ) AS billed
        LEFT JOIN accounts ON billed.account_id = accounts.account_id
    )
),

-- revenue_trend's windows: each period's daily amount times its days in the window (the sum
-- of the daily run-rate over the window's days), exact
run_rate_windows AS (
    SELECT
        account_id,
        CAST(sum(daily_amount * greatest(0,
            least(end_date, getvariable('as_of') - 1)
            - greatest(start_date, getvariable('as_of') - win('revenue_trend')) + 1
        )) AS DOUBLE) AS billed_last,
        CAST(sum(daily_amount * greatest(0,
            least(end_date, getvariable('as_of') - win('revenue_trend') - 1)
            - greatest(start_date, getvariable('as_of') - 2 * win('revenue_trend')) + 1
        )) AS DOUBLE) AS billed_previous
    FROM service_periods
    WHERE end_date >= getvariable('as_of') - 2 * win('revenue_trend')
        AND start_date < getvariable('as_of')
    GROUP BY account_id
),

-- the CSM assessment in force: from the day after it was made until the next one or its
-- valid_until (else assessed + the csm_sentiment window), whichever comes first
assessment_spells AS (
    SELECT
        account_id,
        sentiment,
        renewal_intent,
        CAST(assessed_at AS DATE) + 1 AS valid_from,
        CASE
            WHEN next_assessed IS NOT NULL AND next_assessed < valid_to THEN next_assessed
            ELSE valid_to
        END AS valid_to
    FROM (
        SELECT
            *,
            coalesce(valid_until, CAST(assessed_at AS DATE) + win('csm_sentiment')) AS valid_to,
            CAST(lead(assessed_at) OVER (PARTITION BY account_id ORDER BY assessed_at) AS DATE)
            AS next_assessed
        FROM assessments
    )
),

in_force AS (
    SELECT account_id, sentiment, renewal_intent
    FROM assessment_spells
    WHERE getvariable('as_of') BETWEEN valid_from AND valid_to
),

per_account AS (
    SELECT
        customers.account_id,
        customers.licensed_seats,
        coalesce(u.active_users, 0) AS active_users,
        coalesce(u.active_days, 0) AS active_days,
        coalesce(u.days_with_user_ids, 0) AS days_with_user_ids,
        coalesce(u.features_used, 0) AS features_used,
        coalesce(u.events_last, 0) AS events_last,
        coalesce(u.events_previous, 0) AS events_previous,
        coalesce(u.enablement_events, 0) AS enablement_events,
        coalesce(u.burden_usage_events, 0) AS burden_usage_events,
        coalesce(t.weighted_tickets, 0) AS weighted_tickets,
        t.csat_sum AS ticket_csat_sum,
        coalesce(t.rated_tickets, 0) AS rated_tickets,
        coalesce(s.promoters, 0) AS promoters,
        coalesce(s.detractors, 0) AS detractors,
        coalesce(s.nps_responses, 0) AS nps_responses,
        s.csat_sum AS survey_csat_sum,
        coalesce(s.csat_responses, 0) AS csat_responses,
        coalesce(i.invoices_due, 0) AS invoices_due,
        coalesce(i.invoices_paid_on_time, 0) AS invoices_paid_on_time,
        i.amount_due,
        coalesce(i.amount_overdue, 0) AS amount_overdue,
        coalesce(r.billed_last, 0) AS billed_last,
        coalesce(r.billed_previous, 0) AS billed_previous,
        f.sentiment,
        f.renewal_intent
    FROM customers
    LEFT JOIN usage_windows AS u ON customers.account_id = u.account_id
    LEFT JOIN ticket_windows AS t ON customers.account_id = t.account_id
    LEFT JOIN survey_windows AS s ON customers.account_id = s.account_id
    LEFT JOIN invoice_windows AS i ON customers.account_id = i.account_id
    LEFT JOIN run_rate_windows AS r ON customers.account_id = r.account_id
    LEFT JOIN in_force AS f ON customers.account_id = f.account_id
),

raw_values AS (
    SELECT
        account_id,
        -- adoption: active users / seats; without user ids active days / window; silence is 0
        CASE
            WHEN days_with_user_ids > 0 THEN active_users / nullif(licensed_seats, 0)
            WHEN active_days > 0 THEN active_days / win('adoption')
            ELSE 0
        END AS adoption,
        features_used / nullif((SELECT catalogue_features FROM catalogue), 0) AS breadth,
        events_last / nullif(events_previous, 0) AS usage_trend,
        CASE
            WHEN NOT getvariable('enablement_seen') THEN NULL
            WHEN enablement_events > 0 THEN 1.0
            ELSE 0.0
        END AS enablement,
        CASE
            WHEN burden_usage_events > 0
                THEN 10.0 * weighted_tickets / nullif(licensed_seats, 0)
        END AS support_burden,
        ticket_csat_sum / nullif(rated_tickets, 0) AS support_csat,
        100.0 * (promoters - detractors) / nullif(nps_responses, 0) AS nps,
        survey_csat_sum / nullif(csat_responses, 0) AS survey_csat,
        CASE
            WHEN invoices_due > 0
                THEN (invoices_paid_on_time / invoices_due)
                * greatest(0.0, 1.0 - coalesce(amount_overdue / nullif(amount_due, 0), 0.0))
        END AS payment,
        -- the mean daily run-rate of the last window over that of the window before
        billed_last / nullif(billed_previous, 0) AS revenue_trend,
        sentiment AS csm_sentiment,
        renewal_intent
    FROM per_account
),

raw_doubles AS (
    SELECT
        account_id,
        CAST(adoption AS DOUBLE) AS adoption,
        CAST(breadth AS DOUBLE) AS breadth,
        CAST(usage_trend AS DOUBLE) AS usage_trend,
        CAST(enablement AS DOUBLE) AS enablement,
        CAST(support_burden AS DOUBLE) AS support_burden,
        CAST(support_csat AS DOUBLE) AS support_csat,
        CAST(nps AS DOUBLE) AS nps,
        CAST(survey_csat AS DOUBLE) AS survey_csat,
        CAST(payment AS DOUBLE) AS payment,
        CAST(revenue_trend AS DOUBLE) AS revenue_trend,
        CAST(csm_sentiment AS DOUBLE) AS csm_sentiment
    FROM raw_values
),

unpivoted AS (
    SELECT *
    FROM raw_doubles
    UNPIVOT INCLUDE NULLS (
        raw_value FOR signal IN (
            adoption, breadth, usage_trend, enablement, support_burden, support_csat, nps,
            survey_csat, payment, revenue_trend, csm_sentiment
        )
    )
)

SELECT account_id, signal, raw_value, CAST(NULL AS VARCHAR) AS raw_label
FROM unpivoted
UNION ALL
SELECT account_id, 'renewal_intent', CAST(NULL AS DOUBLE), renewal_intent
FROM per_account;

-- ---------------------------------------------------------------------------------------
-- Normalisation (method), missing policy, weights of the assigned preset, score and tier
-- ---------------------------------------------------------------------------------------
WITH

configured AS (
    SELECT
        measured.account_id,
        measured.signal,
        CAST(measured.raw_value AS DOUBLE) AS raw_value,
        measured.raw_label,
        customers.segment,
        cfg_signal.method,
        cfg_signal.at_risk_value,
        cfg_signal.healthy_value,
        cfg_signal.missing_policy
    FROM measured
    INNER JOIN customers ON measured.account_id = customers.account_id
    INNER JOIN cfg_signal ON measured.signal = cfg_signal.signal
),

-- mid-rank percentile within the segment: share below plus half the share of ties
percentiles AS (
    SELECT
        account_id,
        signal,
        100.0 * (
            count(*) OVER (
                PARTITION BY segment, signal ORDER BY raw_value
                RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
            )
            - 0.5 * count(*) OVER (PARTITION BY segment, signal, raw_value)
        ) / count(*) OVER (PARTITION BY segment, signal) AS percentile_score
    FROM configured
    WHERE method = 'percentile' AND raw_value IS NOT NULL
),

normalised AS (
    SELECT
        configured.account_id,
        configured.signal,
        configured.missing_policy,
        CASE
            WHEN configured.method IN ('threshold', 'trend') AND configured.raw_value IS NOT NULL
                THEN 100.0 * greatest(0.0, least(1.0,
                    (configured.raw_value - configured.at_risk_value)
                    / (configured.healthy_value - configured.at_risk_value)
                ))
            WHEN configured.method = 'boolean'
                THEN CASE
                    WHEN configured.raw_value IS NULL THEN NULL
                    WHEN configured.raw_value > 0 THEN 100.0
                    ELSE 0.0
                END
            WHEN configured.method = 'bands' THEN cfg_bands.points
            WHEN configured.method = 'percentile' THEN percentiles.percentile_score
        END AS normalised_score
    FROM configured
    LEFT JOIN cfg_bands
        ON configured.signal = cfg_bands.signal AND configured.raw_label = cfg_bands.band
    LEFT JOIN percentiles
        ON configured.account_id = percentiles.account_id
        AND configured.signal = percentiles.signal
),

signal_scores AS (
    SELECT
        account_id,
        signal,
        CASE
            WHEN normalised_score IS NOT NULL THEN normalised_score
            WHEN missing_policy = 'neutral' THEN 50.0
            WHEN missing_policy = 'zero' THEN 0.0
        END AS signal_score,
        normalised_score IS NOT NULL AS has_data
    FROM normalised
),

-- the preset of each customer: its lifecycle stage's row (a segment row beats '*');
-- 'default' and a stage without a row mean the run's preset
assigned AS (
    SELECT
        customers.account_id,
        coalesce(
            (
                SELECT CASE WHEN a.preset = 'default' THEN '@preset@' ELSE a.preset END
                FROM cfg_assignments AS a
                WHERE a.lifecycle_stage = customers.lifecycle_stage
                    AND (a.segment = '*' OR customers.segment = lower(a.segment))
                ORDER BY CASE WHEN a.segment = '*' THEN 1 ELSE 0 END
                LIMIT 1
            ),
            '@preset@'
        ) AS preset
    FROM customers
),

weighted AS (
    SELECT
        signal_scores.account_id,
        cfg_weights.dimension,
        cfg_weights.dimension_weight,
        cfg_weights.signal_weight,
        signal_scores.signal_score,
        signal_scores.has_data
    FROM signal_scores
    INNER JOIN assigned ON signal_scores.account_id = assigned.account_id
    INNER JOIN cfg_weights
        ON cfg_weights.preset = assigned.preset AND cfg_weights.signal = signal_scores.signal
),

dimensions AS (
    SELECT
        account_id,
        dimension,
        max(dimension_weight) AS dimension_weight,
        sum(CASE WHEN signal_score IS NOT NULL THEN signal_weight END) AS scored_signal_weight,
        sum(signal_weight * signal_score)
        / sum(CASE WHEN signal_score IS NOT NULL THEN signal_weight END) AS dimension_score
    FROM weighted
    GROUP BY account_id, dimension
),

presets AS (
    SELECT
        account_id,
        sum(CASE WHEN dimension_score IS NOT NULL THEN dimension_weight END)
        AS scored_dimension_weight
    FROM dimensions
    GROUP BY account_id
),

effective AS (
    SELECT
        weighted.account_id,
        weighted.has_data,
        weighted.dimension_weight * weighted.signal_weight AS configured_weight,
        CASE
            WHEN weighted.signal_score IS NOT NULL
                THEN (weighted.dimension_weight / presets.scored_dimension_weight)
                * (weighted.signal_weight / dimensions.scored_signal_weight)
            ELSE 0.0
        END AS effective_weight,
        weighted.signal_score
    FROM weighted
    INNER JOIN dimensions
        ON weighted.account_id = dimensions.account_id
        AND weighted.dimension = dimensions.dimension
    INNER JOIN presets ON weighted.account_id = presets.account_id
),

scores AS (
    SELECT
        account_id,
        CASE
            WHEN sum(effective_weight) > 0
                THEN round(sum(effective_weight * coalesce(signal_score, 0)), 2)
        END AS computed_score,
        round(sum(CASE WHEN has_data THEN configured_weight ELSE 0 END), 6) AS coverage
    FROM effective
    GROUP BY account_id
)

SELECT
    customers.account_id,
    getvariable('as_of') AS score_date,
    assigned.preset,
    scores.computed_score,
    coalesce(cfg_tiers.tier, 'unscored') AS tier,
    scores.coverage
FROM customers
INNER JOIN assigned ON customers.account_id = assigned.account_id
LEFT JOIN scores ON customers.account_id = scores.account_id
LEFT JOIN cfg_tiers
    ON (
        scores.computed_score > cfg_tiers.lower_bound
        OR (cfg_tiers.lower_inclusive AND scores.computed_score = cfg_tiers.lower_bound)
    )
    AND (
        scores.computed_score < cfg_tiers.upper_bound
        OR (cfg_tiers.upper_inclusive AND scores.computed_score = cfg_tiers.upper_bound)
    )
ORDER BY customers.account_id;
