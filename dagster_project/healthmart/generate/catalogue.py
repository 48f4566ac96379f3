"""The generator's catalogues and parameters: segments, plans, regions, features, tickets, surveys,
churn reasons, and the latent-health dynamics."""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pyarrow as pa

EPOCH = date(1970, 1, 1)
SECONDS_PER_DAY = 86_400
NEVER = np.iinfo(np.int64).max // 4


SEGMENTS = ("smb", "mid_market", "enterprise")
SEGMENT_P = (0.75, 0.19, 0.06)
SEATS_RANGE = ((5, 25), (25, 100), (100, 300))  # log-uniform per segment
EMPLOYEES_RANGE = ((10, 250), (200, 2_500), (2_000, 40_000))
ANNUAL_BILLING_P = (0.12, 0.30, 0.55)
CSM_CADENCE_DAYS = (100, 60, 30)  # mean days between CSM assessments, per segment

PLANS = ("starter", "growth", "enterprise")
PLAN_P = ((0.70, 0.30, 0.00), (0.10, 0.70, 0.20), (0.00, 0.15, 0.85))  # rows: segment
PRICE_PER_SEAT = (360.0, 600.0, 960.0)  # USD per seat per year, per plan

REGIONS = ("NA", "EMEA", "APAC", "LATAM")
REGION_P = (0.50, 0.30, 0.13, 0.07)
AUGUST_FACTOR = (0.88, 0.62, 0.92, 0.85)  # summer holiday dip, per region
CURRENCIES = ("USD", "EUR", "GBP")
INVOICE_STATUSES = ("paid", "open", "void", "failed", "refunded")
PAID, OPEN, VOID, FAILED, REFUNDED = range(5)
FX_FROM_USD = (1.0, 0.92, 0.79)

INDUSTRIES = (
    "Software",
    "Healthcare",
    "Financial Services",
    "Retail",
    "Manufacturing",
    "Education",
    "Logistics",
    "Media",
    "Professional Services",
    "Public Sector",
)
INDUSTRY_SUFFIXES = (
    ("Software", "Labs", "Systems", "Technologies"),
    ("Health", "Clinics", "Medical", "Care"),
    ("Capital", "Bank", "Financial", "Insurance"),
    ("Retail", "Stores", "Outfitters", "Goods"),
    ("Manufacturing", "Industries", "Works", "Fabrication"),
    ("Learning", "Academy", "University", "Schools"),
    ("Logistics", "Freight", "Shipping", "Transport"),
    ("Media", "Studios", "Publishing", "Broadcasting"),
    ("Partners", "Consulting", "Advisory", "Group"),
    ("County", "Authority", "Services", "Agency"),
)
NAME_FIRST = (
    "North", "Blue", "Bright", "Clear", "Silver", "Summit", "Iron", "Cedar", "Harbor", "Quantum",
    "Vertex", "Nova", "Apex", "Pioneer", "Granite", "Maple", "Sterling", "Beacon", "Orbit", "Ever",
    "Crescent", "Atlas", "Falcon", "Horizon", "Lumen", "Meridian", "Pacific", "Red", "Sapphire",
    "Tidal", "Union", "Vantage", "Willow", "Zenith", "Copper", "Delta", "Ember", "Fjord", "Juniper",
    "Key",
)  # fmt: skip
NAME_SECOND = (
    "wind", "stone", "field", "bridge", "point", "gate", "wave", "peak", "line", "works", "path",
    "light", "ridge", "brook", "forge",
)  # fmt: skip
NAME_LEGAL = ("", "", "", " Inc.", ", Inc.", " Ltd", " LLC", " GmbH")

CSM_OWNERS = (
    "Alex Morgan", "Priya Natarajan", "Jordan Lee", "Sofia Rossi", "Daniel Okafor",
    "Emma Schultz", "Lucas Martin", "Hannah Kim", "Mateo Garcia", "Olivia Brown",
    "Noah Fischer", "Aisha Rahman", "Ben Carter", "Chloe Dubois",
)  # fmt: skip
# Which CSMs serve which segment (enterprise gets the strategic team).
CSM_POOLS = ((9, 10, 11, 12, 13), (4, 5, 6, 7, 8), (0, 1, 2, 3))
SMB_UNOWNED_P = 0.10  # tech-touch SMB accounts with no named CSM

# name, popularity weight, mean events per user-day, minutes per event (nan: machine traffic)
FEATURES = (
    ("dashboards", 1.00, 8.0, 1.5),
    ("reports", 0.90, 5.0, 2.5),
    ("search", 0.70, 10.0, 0.3),
    ("alerts", 0.55, 6.0, 0.4),
    ("exports", 0.50, 3.0, 0.8),
    ("collaboration", 0.50, 7.0, 1.0),
    ("workflows", 0.45, 6.0, 1.8),
    ("integrations", 0.40, 20.0, np.nan),
    ("data_import", 0.35, 2.0, 3.0),
    ("api", 0.35, 60.0, np.nan),
    ("mobile_app", 0.30, 5.0, 0.7),
    ("admin", 0.30, 3.0, 1.2),
    ("training_academy", 0.25, 2.0, 6.0),
    ("user_management", 0.20, 2.0, 1.0),
    ("sso", 0.15, 1.0, np.nan),
    ("billing_portal", 0.10, 1.0, 2.0),
)
FEATURE_NAMES = tuple(f[0] for f in FEATURES)
FEATURE_WEIGHT = np.array([f[1] for f in FEATURES])
FEATURE_EVENTS = np.array([f[2] for f in FEATURES])
FEATURE_MINUTES = np.array([f[3] for f in FEATURES])
FEATURE_EVENTS_32 = FEATURE_EVENTS.astype(np.float32)
FEATURE_MINUTES_32 = FEATURE_MINUTES.astype(np.float32)
N_FEATURES = len(FEATURES)

WEEKDAY_FACTOR = np.array([1.0, 1.05, 1.05, 1.0, 0.85, 0.12, 0.08])  # Monday first

PRIORITIES = ("low", "normal", "high", "urgent")
CATEGORIES = ("question", "bug", "incident", "feature_request", "other")
FIRST_RESPONSE_MEDIAN_MIN = np.array([300.0, 120.0, 45.0, 12.0])
RESOLUTION_MEDIAN_H = np.array([60.0, 30.0, 14.0, 6.0])
CATEGORY_RESOLUTION_MULT = np.array([0.5, 1.5, 1.0, 3.0, 0.8])

ROLES = ("executive", "decision_maker", "end_user")
NPS_WAVE_MONTHS = (2, 5, 8, 11)  # quarterly relationship NPS campaign, sent on the 10th
COMMENTS = (
    (
        "Too slow and too many bugs lately.",
        "We are evaluating alternatives.",
        "Support takes days to answer.",
        "Hard to get the team to use it.",
        "Price is hard to justify for what we use.",
    ),
    (
        "Does the job, reporting could be better.",
        "OK overall, onboarding new users is clunky.",
        "Fine, but we miss a few integrations.",
        'Decent tool, "exports" are slow on big accounts.',
    ),
    (
        "Great dashboards, the whole team relies on it.",
        "Support is fast and helpful.",
        "Saves us hours every week.",
        "The API and integrations are excellent.",
        "Love the alerts, we caught issues early.",
    ),
)
CSM_NOTES = (
    (
        "Escalation open; exec sponsor unhappy.",
        "Low adoption; usage keeps falling.",
        "Customer mentioned budget review and a competitor.",
        "Renewal at risk, recovery plan agreed.",
    ),
    (
        "Steady usage, few open issues.",
        "Asked for training on reports.",
        "New admin onboarding in progress.",
        "Waiting on feature request before expanding.",
    ),
    (
        "QBR went well; exec sponsor engaged.",
        "Strong adoption, expansion conversation started.",
        "Champion presented our ROI internally.",
        "Happy customer, open to a case study.",
    ),
)
CSM_DROP_NOTE = "Health dropped: main contact left, rebuilding relationships."

OUTCOME_TYPES = ("churned", "renewed", "expanded", "contracted", "reactivated")
CHURNED, RENEWED, EXPANDED, CONTRACTED, REACTIVATED = range(5)
CHURN_REASONS = (
    "budget",
    "competitor",
    "poor adoption",
    "champion left",
    "product gaps",
    "business closed",
    "acquired",
)
REASONS = (
    *CHURN_REASONS,
    "seat expansion",
    "plan upgrade",
    "seat reduction",
    "downgrade",
    "win-back",
)
R_IDX = {r: i for i, r in enumerate(REASONS)}

# Latent-health dynamics (per day).
THETA = 0.04  # mean reversion towards the baseline
SIGMA = 0.025  # daily noise
P_CHAMPION_LEFT = 1 / 700
P_OUTAGE = 1 / 500
P_NEW_SPONSOR = 1 / 900
# Churn at renewal: floor + span * logistic(-(ema - midpoint) * steepness).
CHURN_FLOOR, CHURN_SPAN, CHURN_MID, CHURN_STEEP = 0.02, 0.93, 0.35, 16.0
MIDTERM_CHURN_HEALTH, MIDTERM_CHURN_P = 0.22, 0.003
P_REACTIVATE = 0.10
REACTIVATE_AFTER_DAYS = (60, 300)
P_MIDTERM_EXPANSION = 0.00015

USAGE_RATE = 0.085  # base daily activity probability of an adopted user (x season, x health)
USAGE_FILE_RE = re.compile(r"usage_\d{4}-\d{2}\.parquet")
USAGE_PIECE_ACCOUNT_DAYS = 600_000  # account-days generated at once (bounds memory)
USAGE_ROW_GROUP = 1_000_000
USAGE_SCHEMA = pa.schema(
    [
        ("account_id", pa.string()),
        ("activity_date", pa.date32()),
        ("user_id", pa.string()),
        ("feature", pa.string()),
        ("event_count", pa.int64()),
        ("minutes", pa.float64()),
    ]
)
