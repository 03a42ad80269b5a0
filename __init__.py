"""matrixcoder: code alliance documents against the micro-credential analysis matrix."""

__version__ = "0.1.0"
