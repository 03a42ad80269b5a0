"""Harvest alliance websites into a corpus: a polite, resumable crawl with provenance."""

from matrixcoder.corpus.harvest.build import AllianceSummary
from matrixcoder.corpus.harvest.config import DEFAULT_KEYWORDS, HarvestConfig
from matrixcoder.corpus.harvest.run import HarvestResult, harvest, work_dir_for
from matrixcoder.corpus.harvest.seeds import Seed, read_seeds

__all__ = ["AllianceSummary", "DEFAULT_KEYWORDS", "HarvestConfig", "HarvestResult", "Seed", "harvest", "read_seeds", "work_dir_for"]
