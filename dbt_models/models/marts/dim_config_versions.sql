{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='config_version',
    )
}}
-- Every scoring config a run has used, kept forever: one row per config version and seed
-- with the seed's content, so the config_version on a score row can always be looked up
-- and two versions compared. A run adds (or re-writes, identically) the current version.

select
    -- ids
    config_version,
    seed_name,
    -- measures
    row_count,
    seed_fingerprint,
    seed_content
from {{ ref('int_config__fingerprints') }}
