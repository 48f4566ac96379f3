-- One row per config seed that shapes the score (macro scoring_config_seeds): its rows as
-- text, their fingerprint, and the config_version of the whole set - the first 12 hex
-- digits of the md5 of the seeds' fingerprints. Every per-date row is stamped with the
-- version it was computed under, so a config change never silently rewrites what a past
-- score meant. Free-text description columns are not part of the fingerprint.

{%- set seeds = scoring_config_seeds() %}

with

seed_rows as (
    {%- for seed in seeds %}
    select
        '{{ seed }}' as seed_name,
        {{ config_row_text(ref(seed)) }} as row_text
    from {{ ref(seed) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

seeds as (
    select
        seed_name,
        count(*) as row_count,
        {{ dbt.listagg('row_text', "'\n'", 'order by row_text') }} as seed_content
    from seed_rows
    group by seed_name
),

fingerprinted as (
    select
        seed_name,
        row_count,
        seed_content,
        {{ dbt.hash('seed_content') }} as seed_fingerprint
    from seeds
),

version as (
    select
        substr(
            {{ dbt.hash(dbt.listagg(dbt.concat(['seed_name', "':'", 'seed_fingerprint']), "','", 'order by seed_name')) }},
            1,
            12
        ) as config_version
    from fingerprinted
)

select
    -- ids
    version.config_version,
    fingerprinted.seed_name,
    -- measures
    fingerprinted.row_count,
    fingerprinted.seed_fingerprint,
    fingerprinted.seed_content
from fingerprinted
cross join version
