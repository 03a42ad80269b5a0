"""Keyword and regex rules per code: what text-search autocoding in QDA tools does.

The rules were written from the codebook's names and indicator texts alone, before looking at
any coded example, as an analyst would set up a text search; they are not tuned on the data.
"""

from __future__ import annotations

import re

import numpy as np
from sklearn.base import BaseEstimator

from matrixcoder.encoding.batch import UnitBatch
from matrixcoder.labels.codebook import Codebook

__all__ = ["RULES", "KeywordRules"]

RULES: dict[str, str] = {
    "SI1": r"fully integrated|systematically (embedded|integrated)|institutional strateg|embedded (in|into) (all|every|our) (degree|programme)",
    "SI2": r"\bpilot(s|ed|ing)?\b|experimental|test(ing)? phase|first cohort",
    "SI3": r"stand-?alone|separate certificat|independent(ly)? of (any |a )?(degree|programme)",
    "SI4": r"(part of|within|into|embedded in|included in) (the |our |their )?(bachelor|master|degree|undergraduate|postgraduate|curricul)",
    "SI5": r"employer|industry|compan(y|ies)|business(es)?\b",
    "SI6": r"recogni[sz]ed (across|by|at) (all |the )?(partner|member|alliance)|mutual recognition|cross-institutional",
    "CL1": r"stackab|stacked|accumulat|count towards|towards a (full )?(degree|qualification)",
    "CL2": r"stand-?alone|on (its|their) own|not linked to|independently",
    "CL3": r"blended|hybrid|online and (on-?site|in-person|on campus|face-to-face)|(in-person|on-?site|face-to-face) and online",
    "CL4": r"interdisciplin|multidisciplin|transdisciplin|cross-disciplin|across disciplines",
    "CL5": r"flexib|at any stage|career stage|own pace|part-time",
    "CL6": r"mobility|erasmus|exchange|study abroad",
    "SD4-1": r"\bSDG ?4\b|sustainable development goal 4|quality education|access(ible|ibility)? (to|of) (higher )?education",
    "SD4-2": r"\bSDGs?\b|sustainable development goals?",
    "SD4-3": r"inclusi(ve|on)|equit(y|able)|widening (participation|access)|under-?represented",
    "SD4-4": r"digital (divide|inclusion|access)|online learning|digital learning|open access",
    "SD4-5": r"lifelong|life-long|adult learn|continuing education",
    "SD8-1": r"re-?skill|career change|transition(s|ing)? (to|into) new",
    "SD8-2": r"endorsed by|co-?develop|co-?design|recogni[sz]ed by (employers|industry)|industry-recogni",
    "SD8-3": r"skills? gaps?|labou?r market|skills? (needs|shortages?)|in-demand skills",
    "SD8-4": r"job mobility|career mobility|between (roles|jobs)|employability",
    "SD8-5": r"digital skills|digital competenc|data literacy|artificial intelligence|\bAI\b|programming|cyber",
    "CB1": r"resistan|reluctan|academic integrity|workload|concerns? (among|from) (staff|faculty|academics)",
    "CB2": r"\bscal(e|ing|ability)\b|small-scale|limited (number|uptake)",
    "CB3": r"regulat|legislat|legal (framework|barrier|obstacle)|national law",
    "CB4": r"\bfund(s|ing|ed)?\b|financ|budget|\bcosts?\b",
    "CB5": r"employers? (are |remain )?(unsure|uncertain|sceptical|skeptical|unaware)|value (of|to) employers|hiring",
    "CB6": r"policy gaps?|inconsisten|fragment|lack of (a )?(common|shared|national) (policy|framework)|misalign",
    "FD1": r"expand|extend|scal(e|ing) up|more (disciplines|fields|faculties)|additional (fields|disciplines)|broaden",
    "FD2": r"partnership|collaborat\w* with (employers|industry|companies|business)|stakeholders",
    "FD3": r"\bECTS\b|credit transfer|\bcredits?\b",
    "FD4": r"framework|guidelines? (for|on) micro|quality assurance|common standard",
    "FD5": r"european (approach|framework|recognition)|council recommendation|across europe|eu-wide|european-wide|europass|european digital credential",
    "AP-PROJ": r"\bprojects?\b|\bpilot|initiative|work package|\bWP ?\d",
    "AP-EVENT": r"conference|webinar|workshop|seminar|\bevents?\b|symposium|summit",
    "AP-GUIDE": r"guideline|\bguide\b|handbook|toolkit|template|manual",
    "AP-MC": r"\b(course|programme|program|module)s? (on|in)\b|\benrol|\bregist(er|ration)|apply now|learners? (will|can)",
    "AP-MISSION": r"\bmission|\bvision\b|commit(ted|ment)|\bstrateg(y|ic)\b|we aim|our goal",
    "AP-POLICY": r"policy (paper|brief|recommendation|input)|position paper|recommendations? (to|for)|consultation|white paper",
}


class KeywordRules(BaseEstimator):
    """A label is predicted when its pattern matches (case-insensitive); nothing is learnt.

    Args:
        codebook: The labels; one without a written rule matches the words of its name.
    """

    def __init__(self, codebook: Codebook) -> None:
        self.codebook = codebook

    def fit(self, X: UnitBatch, Y: np.ndarray, sample_weight: np.ndarray | None = None) -> KeywordRules:
        """Compile the rules; the units, codes and weights are not used (the rules are fixed)."""
        self.patterns_ = [re.compile(RULES.get(label.id) or _name_pattern(label.name), re.IGNORECASE) for label in self.codebook.labels]
        return self

    def decision_function(self, X: UnitBatch) -> np.ndarray:
        """+1 where a rule matches, -1 elsewhere."""
        hits = np.array([[bool(p.search(text)) for p in self.patterns_] for text in X.texts], dtype=bool)
        return np.where(hits, 1.0, -1.0)


def _name_pattern(name: str) -> str:
    return "|".join(rf"\b{re.escape(word)}" for word in re.findall(r"\w{4,}", name.lower()))
