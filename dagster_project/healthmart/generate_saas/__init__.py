"""A second generator of exports, independent of the sample one: a B2B SaaS business whose
customers have a hidden health that drifts and is knocked by events, and renew or churn at
their contract dates. `python -m healthmart.generate_saas --out DIR`."""
