"""Terminal output: rich tables and progress bars in a terminal, plain text when piped."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

__all__ = ["console", "err_console", "print_table", "progress"]

# Document text, file names and labels reach the terminal through these consoles: with markup
# off, "[/i]" or "[link=file:///etc/passwd]" in a sentence is printed as written, never
# interpreted (nor does it crash rich). The project itself uses no markup. Soft wrap: a message
# stays one line (rich would otherwise break it at 80 columns when piped, splitting paths and
# one-line notes); tables still fit the terminal.
console = Console(markup=False, highlight=False, soft_wrap=True)
err_console = Console(stderr=True, markup=False, highlight=False, soft_wrap=True)


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Print a table: boxed in a terminal, tab-separated (with a header line) when piped."""
    cells = [[("" if cell is None else str(cell)) for cell in row] for row in rows]
    if console.is_terminal:
        table = Table(title=title, title_justify="left")
        for column in columns:
            table.add_column(column, overflow="fold")
        for line in cells:
            table.add_row(*line)
        console.print(table)
        return
    print(f"# {title}")
    print("\t".join(columns))
    for line in cells:
        print("\t".join(cell.replace("\t", " ").replace("\n", " ") for cell in line))


def progress() -> Progress:
    """A progress bar on stderr that hides itself when stderr is not a terminal."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )
