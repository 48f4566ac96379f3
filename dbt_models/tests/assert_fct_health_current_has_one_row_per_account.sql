-- fct_health_current must hold exactly one row per account of dim_accounts: returns one
-- row with both counts when they differ (uniqueness of account_id is tested separately).

with

current_rows as (
    select count(*) as row_count from {{ ref('fct_health_current') }}
),

accounts as (
    select count(*) as row_count from {{ ref('dim_accounts') }}
)

select
    current_rows.row_count as fct_health_current_rows,
    accounts.row_count as dim_accounts_rows,
    'fct_health_current has ' || cast(current_rows.row_count as {{ dbt.type_string() }})
    || ' rows but dim_accounts has ' || cast(accounts.row_count as {{ dbt.type_string() }})
    as problem
from current_rows
cross join accounts
where current_rows.row_count <> accounts.row_count
