"""The analysis matrix (codebook), hand-coded units and alliance metadata."""

from matrixcoder.labels.codebook import Code, Codebook, Dimension, load_codebook
from matrixcoder.labels.coded_units import CodedUnit, read_coded_units

__all__ = ["Code", "CodedUnit", "Codebook", "Dimension", "load_codebook", "read_coded_units"]
