-- seeds/tier_bands.csv: the bands must tile the score range 0-100 exactly: the lowest band
-- starts at 0 (inclusive), the highest ends at 100 (inclusive), every band is non-empty,
-- and at each inner boundary the next band starts where the previous one ends with the
-- boundary inclusive on exactly one side (no gap, no overlap). Returns one row per problem.

with

bands as (
    select
        tier,
        lower_bound,
        lower_inclusive,
        upper_bound,
        upper_inclusive,
        row_number() over (order by lower_bound, upper_bound) as band_order,
        count(*) over () as band_count
    from {{ ref('tier_bands') }}
),

ordered as (
    select
        bands.*,
        lead(tier) over (order by band_order) as next_tier,
        lead(lower_bound) over (order by band_order) as next_lower_bound,
        lead(lower_inclusive) over (order by band_order) as next_lower_inclusive
    from bands
),

problems as (
    select tier, 'tier_bands has no rows' as problem
    from (select 'none' as tier) as empty_check
    where not exists (select 1 from bands)

    union all

    select tier, 'lowest band must start at 0 inclusive' as problem
    from ordered
    where band_order = 1
        and (lower_bound <> 0 or not lower_inclusive)

    union all

    select tier, 'highest band must end at 100 inclusive' as problem
    from ordered
    where band_order = band_count
        and (upper_bound <> 100 or not upper_inclusive)

    union all

    select tier, 'band is empty: lower_bound must be below upper_bound' as problem
    from ordered
    where lower_bound >= upper_bound

    union all

    select
        tier,
        case
            when next_lower_bound > upper_bound then 'gap before next band ' || next_tier
            when next_lower_bound < upper_bound then 'overlaps next band ' || next_tier
            when upper_inclusive and next_lower_inclusive
                then 'boundary inclusive in both this band and ' || next_tier
            else 'boundary inclusive in neither this band nor ' || next_tier
        end as problem
    from ordered
    where next_tier is not null
        and (
            next_lower_bound <> upper_bound
            or upper_inclusive = next_lower_inclusive
        )
)

select tier, problem from problems
