"""Assessment and accountability (Article 五, A5.1-A5.3, P5.a): the 通报's numbers and findings, derived
from the auditors' ledger only (``audit.ledger``)."""

from assessment.assess import assess, window_start
from assessment.models import Assessment, Finding, KindCounts, Listed, Period, Row, Totals
from assessment.outcomes import Outcome, fact, outcome

__all__ = [
    "Assessment",
    "Finding",
    "KindCounts",
    "Listed",
    "Outcome",
    "Period",
    "Row",
    "Totals",
    "assess",
    "fact",
    "outcome",
    "window_start",
]
