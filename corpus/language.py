"""Offline language identification (py3langid: a small naive-Bayes model, no download)."""

from __future__ import annotations

from functools import lru_cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier

__all__ = ["LANGUAGES", "detect_language"]

# The 24 official EU languages plus the co-official and neighbouring languages that alliance
# members publish in; restricting the label set makes short texts far less error-prone.
LANGUAGES = ("bg cs da de el en es et fi fr ga hr hu it lt lv mt nl pl pt ro sk sl sv ca eu gl no is tr uk sr sq mk lb").split()


@lru_cache(maxsize=1)
def _identifier() -> LanguageIdentifier:
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(LANGUAGES)
    return identifier


def detect_language(text: str) -> str:
    """Return the ISO 639-1 code of the text's language, or ``"und"`` if there is no text."""
    if not any(ch.isalpha() for ch in text):
        return "und"
    language, _probability = _identifier().classify(text)
    return language
