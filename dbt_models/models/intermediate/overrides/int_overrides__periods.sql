-- depends_on: {{ ref('scoring_settings') }}
-- Every CSM override with the period it applies to and whether it can apply at all: valid
-- from valid_from until (not including) valid_until, or for override_valid_days days when
-- valid_until is empty. An override naming a tier that is not in tier_bands, or an account
-- that is not in the accounts export, is kept with a status saying why it never applies.

{%- set default_valid_days = scoring_setting('override_valid_days', 60) | int %}

with

overrides as (
    select * from {{ ref('stg_overrides__overrides') }}
),

accounts as (
    select * from {{ ref('stg_accounts__accounts') }}
),

tier_bands as (
    select * from {{ ref('tier_bands') }}
),

checked as (
    select
        overrides.*,
        coalesce(
            overrides.valid_until,
            cast({{ dbt.dateadd('day', default_valid_days, 'overrides.valid_from') }} as date)
        ) as expires_on,
        overrides.valid_until is null as uses_default_validity,
        case
            when accounts.account_id is null then 'unknown_account'
            when overrides.override_tier is not null and tier_bands.tier is null
                then 'unknown_tier'
            when overrides.valid_until = overrides.valid_from then 'empty_period'
            else 'applicable'
        end as override_status
    from overrides
    left join accounts
        on overrides.account_id = accounts.account_id
    left join tier_bands
        on overrides.override_tier = tier_bands.tier
)

select
    -- ids
    account_id,
    override_author,
    -- dates
    valid_from,
    expires_on,
    valid_until,
    -- override
    override_score,
    override_tier,
    override_reason,
    -- flags
    uses_default_validity,
    override_status,
    -- lineage
    source_file,
    source_row
from checked
