with

source as (
    select * from {{ source('accounts', 'accounts') }}
),

versioned as (
    select
        *,
        row_number() over (
            partition by account_id order by {{ newest_first('updated_at') }}
        ) as version_rank
    from source
)

select
    -- ids
    account_id,
    account_name,
    -- attributes
    lower(industry) as industry,
    lower(segment) as segment,
    lower(plan) as plan,
    region,
    csm_owner,
    employees,
    licensed_seats,
    -- dates
    signup_date,
    contract_start,
    contract_end,
    -- measures
    arr,
    -- lineage
    updated_at,
    _source_file as source_file
from versioned
where version_rank = 1
