"""Sample exports generator: a synthetic B2B SaaS customer base written as the v1 export contract.

The model. Every account has a hidden *latent health* h in [0, 1]. Each day h takes a
mean-reverting step towards the account's baseline b (an Ornstein-Uhlenbeck-like walk) plus
noise; b drifts slowly and shocks hit now and then (a champion leaves: h and b drop; an outage:
h drops and recovers; a new sponsor: b rises). Everything observable is drawn from h with noise:
product usage (active users per seat, breadth of features, event counts), support tickets (more,
more urgent and worse CSAT when h is low), surveys (NPS, CSAT), payments (late or failed when h is
low) and CSM assessments (a lagged, noisy reading of h). At each annual renewal an account churns
with a probability that rises steeply (logistic) as its recent health falls, else it renews and
sometimes expands or contracts; very unhealthy accounts may also churn mid-contract, and a few
churned accounts come back later. A churned account produces nothing more. "Ghost" accounts pay
their invoices but are otherwise silent. The same arguments always give byte-identical files.

Output, one sub-folder per source under ``--out``: accounts/accounts.csv, billing/billing.csv.gz,
support/support.csv, survey/survey.ndjson, usage/usage_YYYY-MM.parquet (one per month), csm/csm.csv,
outcomes/outcomes.csv and overrides/overrides.csv, with exactly the columns of
``healthmart.core.contract``. Files are written to a hidden temporary name and renamed; a re-run
replaces only the generator's own files.

Usage: ``python -m healthmart.generate --out data/exports --accounts 2000 --months 18 --seed 42``
"""
