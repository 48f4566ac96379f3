{{ config(tags=['history_summary']) }}
-- Every CSM override of the exports with its author, reason, period, status as of the data
-- and the scoring dates it was applied to, so no override is ever invisible.

with

overrides as (
    select * from {{ ref('int_overrides__periods') }}
),

date_bounds as (
    select * from {{ ref('int_exports__date_bounds') }}
),

health_scores as (
    select * from {{ ref('fct_health_scores') }}
),

applied as (
    select
        account_id,
        override_valid_from,
        count(*) as days_applied,
        min(score_date) as first_applied_date,
        max(score_date) as last_applied_date
    from health_scores
    where is_overridden
    group by account_id, override_valid_from
)

select
    -- ids
    overrides.account_id,
    overrides.override_author,
    -- dates
    overrides.valid_from,
    overrides.expires_on,
    overrides.valid_until,
    -- override
    overrides.override_score,
    overrides.override_tier,
    overrides.override_reason,
    -- status
    case
        when overrides.override_status <> 'applicable' then overrides.override_status
        when cast(date_bounds.data_as_of_date as date) < overrides.valid_from then 'scheduled'
        when cast(date_bounds.data_as_of_date as date) >= overrides.expires_on then 'expired'
        else 'active'
    end as status,
    overrides.uses_default_validity,
    coalesce(applied.days_applied, 0) as days_applied,
    applied.first_applied_date,
    applied.last_applied_date,
    -- lineage
    overrides.source_file,
    overrides.source_row
from overrides
cross join date_bounds
left join applied
    on overrides.account_id = applied.account_id
    and overrides.valid_from = applied.override_valid_from
