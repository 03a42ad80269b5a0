"""The paper's Table 2 recomputed from alliance-level coding, and set beside the published figures.

Input is an alliance CSV in one of two forms:

* design.md's alliance-level coding (``labels/alliances.csv``): ``alliance``, ``launch_year``,
  then one 0/1 column per label; a row whose label cells are empty was not coded (the paper's
  Table 2 codes the 41 alliances that mention micro-credentials, out of 65).
* the alliance matrix that ``matrixcoder score`` writes (``alliance_matrix.csv``): an alliance
  shows a label when ``<label>_evidence`` (units predicted with it) is above 0, as in
  ``score``'s own approach table. Every alliance in it counts as coded.

Percentages are out of the alliances coded, as in the paper (its N = 41).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from matrixcoder.errors import InputError
from matrixcoder.labels.alliances import read_alliances
from matrixcoder.labels.codebook import Codebook

__all__ = [
    "FOOTER",
    "AllianceCoding",
    "ApproachTable",
    "Comparison",
    "PAPER",
    "PublishedTable2",
    "alliance_coding",
    "approach_table",
    "compare_with_paper",
    "read_alliance_coding",
]

MIN_TYPES = 3
FOOTER = "No. and % of alliances per type"


@dataclass(frozen=True)
class PublishedTable2:
    """What Cartiș & Iucu (2025) print in Table 2 and section 4.2, as printed.

    Attributes:
        n: Alliances in the table (its header and note ***: N = 41).
        counts: The totals row per approach type.
        percents: The totals row's percentages, as printed.
        multi: The alliances named in section 4.2 as covering three or more types.
        types_per_alliance: The column "Types per alliance", keyed by the paper's spelling.
    """

    n: int
    counts: dict[str, int]
    percents: dict[str, str]
    multi: tuple[str, ...]
    types_per_alliance: dict[str, int]


PAPER = PublishedTable2(
    n=41,
    counts={"AP-PROJ": 5, "AP-EVENT": 3, "AP-GUIDE": 15, "AP-MC": 16, "AP-MISSION": 20, "AP-POLICY": 7},
    percents={
        "AP-PROJ": "12.20%",
        "AP-EVENT": "7.31%",
        "AP-GUIDE": "36.59%",
        "AP-MC": "39.02%",
        "AP-MISSION": "48.78%",
        "AP-POLICY": "17.07%",
    },
    multi=("4EU+", "CIVIS", "ECIU", "ENHANCE", "T4EU", "UNA EUROPA"),
    types_per_alliance={
        "4EU+": 3, "ACE2EU": 1, "ACROSS": 1, "ARQUS": 1, "AURORA": 1, "BAUHAUS4EU": 1, "CHARM-EU": 1,
        "CIVIS": 4, "COLOURS": 1, "E3UDRES2": 1, "ECIU": 5, "EDUC": 1, "EELISA": 1, "ENGAGE.EU": 1,
        "ENHANCE": 3, "ENLIGHT": 1, "EPICUR": 2, "EU4DUAL": 2, "EU-CONNEXUS": 2, "EUGREEN": 1,
        "EUNIWELL": 2, "EUPEACE": 1, "EURECA-PRO": 1, "EUROTEQ": 2, "EUTOPIA": 1, "FILMEU": 1,
        "HEROES": 1, "INGENIUM": 2, "INVEST": 2, "NEUROTECH-EU": 1, "OPENEU": 1, "SEA-EU": 1,
        "STARS EU": 1, "T4EU": 3, "UIREKA": 1, "ULYSSEUS": 1, "UNA EUROPA": 4, "UNIC": 2,
        "UNIGREEN": 2, "UNITA": 1, "YUFE": 1,
    },
)  # fmt: skip


@dataclass(frozen=True)
class AllianceCoding:
    """Alliance x label coding.

    Attributes:
        source: Where it was read from.
        alliances: Alliance names, file order.
        launch_years: Launch year of each alliance, None where unknown.
        label_ids: Label columns found, codebook order.
        coded: Per alliance, whether it was coded.
        marks: Alliances x labels, True where the alliance shows the label (False if not coded).
    """

    source: str
    alliances: tuple[str, ...]
    launch_years: tuple[int | None, ...]
    label_ids: tuple[str, ...]
    coded: np.ndarray
    marks: np.ndarray


def read_alliance_coding(path: str | Path, codebook: Codebook) -> AllianceCoding:
    """Read alliance-level coding (design.md CSV) or a ``score`` alliance matrix.

    Launch years missing from the file are taken from the shipped ``labels/alliances.csv``.

    Raises:
        InputError: Unreadable file, no ``alliance`` column, no approach-type columns, a value
            other than 0, 1 or empty, a partly coded row, or an alliance listed twice.
    """
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (FileNotFoundError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read alliance CSV ({type(exc).__name__})") from None
    return alliance_coding(frame, codebook, str(path))


def alliance_coding(frame: pd.DataFrame, codebook: Codebook, path: str) -> AllianceCoding:
    """Alliance-level coding from a table of 0/1/empty label columns or of ``<label>_evidence`` counts.

    Raises:
        InputError: As :func:`read_alliance_coding`, naming ``path``.
    """
    if "alliance" not in frame.columns:
        raise InputError(path, "no 'alliance' column")
    duplicated = frame["alliance"][frame["alliance"].duplicated()].tolist()
    if duplicated:
        raise InputError(path, f"alliance {duplicated[0]} listed twice")
    approach_ids = [a.id for a in codebook.approach_types]
    if all(f"{label}_evidence" in frame.columns for label in approach_ids):
        labels = [label for label in codebook.label_ids if f"{label}_evidence" in frame.columns]
        marks = np.array([[_evidence(path, row, label) > 0 for label in labels] for _, row in frame.iterrows()])
        coded = np.ones(len(frame), dtype=bool)
    else:
        missing = [label for label in approach_ids if label not in frame.columns]
        if missing:
            raise InputError(path, f"missing approach-type column(s) {', '.join(missing)} (or score's <label>_evidence columns)")
        labels = [label for label in codebook.label_ids if label in frame.columns]
        coded, marks = _binary(path, frame, labels)
    return AllianceCoding(
        source=str(path),
        alliances=tuple(frame["alliance"].str.strip()),
        launch_years=_launch_years(path, frame),
        label_ids=tuple(labels),
        coded=coded,
        marks=marks.reshape(len(frame), len(labels)).astype(bool),
    )


def _evidence(path: str | Path, row: pd.Series, label: str) -> float:
    try:
        return float(row[f"{label}_evidence"])
    except ValueError:
        raise InputError(path, f"alliance {row['alliance']}: '{label}_evidence' is not a number") from None


def _binary(path: str | Path, frame: pd.DataFrame, labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    cells = frame[labels].apply(lambda column: column.str.strip())
    bad = ~cells.isin(["0", "1", ""])
    if bad.to_numpy().any():
        row, column = np.argwhere(bad.to_numpy())[0]
        raise InputError(
            path, f"alliance {frame['alliance'].iloc[row]}: {labels[column]} must be 0, 1 or empty, got {cells.iat[row, column]!r}"
        )
    empty = (cells == "").to_numpy()
    partly = empty.any(axis=1) & ~empty.all(axis=1)
    if partly.any():
        raise InputError(path, f"alliance {frame['alliance'][partly].iloc[0]} is partly coded (some label cells empty)")
    return ~empty.all(axis=1), (cells == "1").to_numpy()


def _launch_years(path: str | Path, frame: pd.DataFrame) -> tuple[int | None, ...]:
    shipped: dict[str, int | None] = {}
    for alliance in read_alliances():
        for name in (alliance.acronym, *alliance.aliases):
            shipped.setdefault(name, alliance.launch_year)
    years = []
    for _, row in frame.iterrows():
        text = str(row.get("launch_year", "")).strip()
        if not text:
            years.append(shipped.get(row["alliance"].strip()))
            continue
        try:
            years.append(int(text))
        except ValueError:
            raise InputError(path, f"alliance {row['alliance']}: launch_year {text!r} is not a year") from None
    return tuple(years)


@dataclass(frozen=True)
class ApproachTable:
    """Table 2 recomputed.

    Attributes:
        type_ids: The approach types, codebook order.
        type_names: Their names.
        alliances: The coded alliances, file order.
        marks: Coded alliances x types.
        n_listed: Alliances in the file, coded or not.
    """

    type_ids: tuple[str, ...]
    type_names: tuple[str, ...]
    alliances: tuple[str, ...]
    marks: np.ndarray
    n_listed: int

    @property
    def n_coded(self) -> int:
        return len(self.alliances)

    @property
    def types_per_alliance(self) -> np.ndarray:
        return self.marks.sum(axis=1)

    @property
    def counts(self) -> np.ndarray:
        return self.marks.sum(axis=0)

    @property
    def percents(self) -> np.ndarray:
        """Per type, percent of the coded alliances (unrounded)."""
        return 100 * self.counts / self.n_coded

    @property
    def multi(self) -> tuple[str, ...]:
        """Alliances showing at least three approach types, file order."""
        return tuple(a for a, n in zip(self.alliances, self.types_per_alliance, strict=False) if n >= MIN_TYPES)

    def to_frame(self) -> pd.DataFrame:
        """The table as the paper prints it: an X per type, types per alliance, and a last row
        with the number and % of alliances per type."""
        rows = [
            [alliance, *("X" if mark else "" for mark in row), int(row.sum())]
            for alliance, row in zip(self.alliances, self.marks, strict=False)
        ]
        rows.append([FOOTER, *(f"{c} ({p:.2f}%)" for c, p in zip(self.counts, self.percents, strict=False)), ""])
        return pd.DataFrame(rows, columns=["Alliance", *self.type_names, "Types per alliance"])

    def to_json(self) -> dict:
        return {
            "n_coded": self.n_coded,
            "n_listed": self.n_listed,
            "types": [
                {"id": t, "name": n, "count": int(c), "percent": round(float(p), 2)}
                for t, n, c, p in zip(self.type_ids, self.type_names, self.counts, self.percents, strict=False)
            ],
            "alliances": [
                {"alliance": a, "types": [t for t, m in zip(self.type_ids, row, strict=False) if m], "n_types": int(row.sum())}
                for a, row in zip(self.alliances, self.marks, strict=False)
            ],
            "three_or_more_types": list(self.multi),
        }


def approach_table(coding: AllianceCoding, codebook: Codebook) -> ApproachTable:
    """Recompute Table 2: X per type, types per alliance, count and % out of the coded alliances.

    Raises:
        InputError: No alliance is coded, so no percentage can be computed.
    """
    if not coding.coded.any():
        raise InputError(coding.source, "no alliance is coded (every label cell is empty)")
    columns = [coding.label_ids.index(a.id) for a in codebook.approach_types]
    return ApproachTable(
        type_ids=tuple(a.id for a in codebook.approach_types),
        type_names=tuple(a.name for a in codebook.approach_types),
        alliances=tuple(a for a, c in zip(coding.alliances, coding.coded, strict=False) if c),
        marks=coding.marks[np.ix_(coding.coded, np.asarray(columns, dtype=np.intp))],
        n_listed=len(coding.alliances),
    )


@dataclass(frozen=True)
class Comparison:
    """The recomputed table beside the published one.

    Attributes:
        rows: Per type: id, name, recomputed count, recomputed % (2 decimals), printed count,
            printed %, and whether count and % agree.
        multi_recomputed: Alliances with three or more types in the data.
        multi_printed: Those the paper names.
        discrepancies: One sentence per difference, empty when everything agrees.
    """

    rows: list[dict]
    multi_recomputed: tuple[str, ...]
    multi_printed: tuple[str, ...]
    discrepancies: list[str]

    def to_json(self) -> dict:
        return {
            "per_type": self.rows,
            "three_or_more_types": {"recomputed": list(self.multi_recomputed), "printed": list(self.multi_printed)},
            "discrepancies": self.discrepancies,
        }


def compare_with_paper(table: ApproachTable, paper: PublishedTable2 = PAPER) -> Comparison:
    """Set the recomputation beside the printed totals, N, the ≥3-types list and the types column."""
    rows, discrepancies = [], []
    if table.n_coded != paper.n:
        discrepancies.append(f"N: {table.n_coded} alliances coded here, the paper's N is {paper.n}.")
    for type_id, name, count, percent in zip(table.type_ids, table.type_names, table.counts, table.percents, strict=False):
        printed_count, printed_percent = paper.counts[type_id], paper.percents[type_id]
        recomputed_percent = f"{percent:.2f}%"
        rows.append(
            {
                "id": type_id,
                "name": name,
                "count": int(count),
                "percent": recomputed_percent,
                "printed_count": printed_count,
                "printed_percent": printed_percent,
                "count_agrees": int(count) == printed_count,
                "percent_agrees": recomputed_percent == printed_percent,
            }
        )
        printed_of_n = f"{100 * printed_count / paper.n:.2f}%"
        if int(count) != printed_count:
            discrepancies.append(
                f"{name}: the rows give {count} ({recomputed_percent}); the paper prints {printed_count} ({printed_percent})."
            )
        elif recomputed_percent != printed_percent:
            slip = " (a rounding slip; the count agrees)" if printed_of_n != printed_percent else ""
            discrepancies.append(f"{name}: {count} of {table.n_coded} = {recomputed_percent}; the paper prints {printed_percent}{slip}.")
    if sorted(table.multi) != sorted(paper.multi):
        discrepancies.append(
            f"Alliances with three or more types: the rows give {', '.join(table.multi) or 'none'}; "
            f"the paper names {', '.join(paper.multi)}."
        )
    discrepancies += _types_column(table, paper)
    return Comparison(rows, table.multi, paper.multi, discrepancies)


def _types_column(table: ApproachTable, paper: PublishedTable2) -> list[str]:
    """Differences between the printed "Types per alliance" column and the rows here."""
    names: dict[str, str] = {}
    for alliance in read_alliances():
        for name in (alliance.acronym, *alliance.aliases):
            names.setdefault(name, alliance.acronym)
    here = dict(zip(table.alliances, table.types_per_alliance.tolist(), strict=False))
    found = []
    for printed_name, printed in paper.types_per_alliance.items():
        acronym = names.get(printed_name, printed_name)
        if acronym not in here:
            found.append(f"{printed_name}: in the paper's Table 2 ({printed} types) but not coded here.")
        elif here[acronym] != printed:
            found.append(f"{printed_name}: {here[acronym]} types in the rows here; the paper prints {printed}.")
    return found
