"""The demo brand's three experiments and the truths planted in them (``engagement/intake/demo.py`` generates
their assignments and outcomes). The analysis reads the intended split from here for a demo database, so that it
never imports the generator.
"""

from __future__ import annotations

DEMO_EXPERIMENTS: dict[str, dict] = {
    "EXP-recs-email": {
        "truth": "lift", "intended_split": {"control": 0.5, "treatment": 0.5},
        "description": "Personalised product recommendations in e-mail (assigned February 2026). "
                       "Treatment really raises 30-day conversion, by about 4-5 points.",
    },
    "EXP-subject-line": {
        "truth": "null", "intended_split": {"control": 0.5, "treatment": 0.5},
        "description": "Personalised e-mail subject line (assigned April 2026). No effect was planted.",
    },
    "EXP-sms-winback": {
        "truth": "srm", "intended_split": {"control": 0.5, "treatment": 0.5},
        "description": "SMS win-back offer to customers without an order in 90 days (assigned August 2026). "
                       "A logging bug lost about 12 % of control assignments: a sample-ratio mismatch.",
    },
}
