"""Report tables that never cut a value, at any terminal width and in a pipe.

rich squeezes a table that is wider than the console by cutting its cells ("BTCUS…", "2026-…").
`print_table` prints a table as a table only when every cell fits on one line at the console's
width (headers may wrap at their spaces); otherwise it prints one block per row, the row's key
cells as a heading and every other column as a `name  value` line, where a long value wraps
instead of being cut:

    aggTrades · BTCUSDT
      rows          1,160,123
      after dedup   1,160,000

The reports (`validate`, `check`, `score`, the ingest and download summaries) build their rich
`Table` as before and hand it here, so this works for whatever columns a report has.
"""

from __future__ import annotations

import os

from rich.cells import cell_len
from rich.console import Console, RenderableType
from rich.measure import Measurement
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

# In a pipe there is no terminal width: COLUMNS when set, else this (wide tables still become blocks).
PIPE_WIDTH = 120
KEY_SEPARATOR = " · "


def report_console() -> Console:
    """The console a report prints to: the terminal's width, or in a pipe COLUMNS or PIPE_WIDTH."""
    console = Console()
    if not console.is_terminal and not os.environ.get("COLUMNS"):
        console = Console(width=PIPE_WIDTH)
    return console


def _width(console: Console, table: Table) -> int:
    options = console.options.update(width=10**6, max_width=10**6)
    return Measurement.get(console, options, table).maximum


def fits_on_one_line_per_cell(console: Console, table: Table) -> bool:
    """Whether the table fits the console with every cell on one line, its headers as they are or
    (second try) wrapped at their spaces; leaves the table set up the way that fits."""
    for column in table.columns:
        column.no_wrap = True
    if _width(console, table) <= console.width:
        return True
    for column in table.columns:
        widest_cell = max((_width_of(console, cell) for cell in column.cells), default=0)
        widest_word = max((cell_len(word) for word in _plain(column.header).split()), default=0)
        column.width = max(widest_cell, widest_word, column.min_width or 0)
        column.no_wrap = False
        column.overflow = "fold"
    room = console.width - _width(console, table)
    for column in table.columns:  # what room is left goes to the headers, so they wrap less
        grow = min(max(cell_len(_plain(column.header)) - column.width, 0), max(room, 0))
        column.width += grow
        room -= grow
    return room >= 0


def _width_of(console: Console, cell: RenderableType) -> int:
    options = console.options.update(width=10**6, max_width=10**6)
    return Measurement.get(console, options, cell).maximum


def _plain(cell: RenderableType) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


def print_table(console: Console, table: Table, keys: int = 1) -> None:
    """Print `table` with nothing cut: as a table when it fits the console, else as a block per row
    headed by its first `keys` cells."""
    if fits_on_one_line_per_cell(console, table):
        console.print(table)
        return
    if table.title:
        console.print(table.title, style="bold", highlight=False)
    columns = [list(column.cells) for column in table.columns]
    names = [_plain(column.header) for column in table.columns]
    keys = max(1, min(keys, len(columns) - 1))
    for row in range(table.row_count):
        cells = [column[row] if row < len(column) else "" for column in columns]
        heading = KEY_SEPARATOR.join(_plain(cell) for cell in cells[:keys])
        console.print(Text.from_markup(heading, style="bold"))
        fields = Table(box=None, show_header=False, pad_edge=False, padding=(0, 2, 0, 0))
        fields.add_column(no_wrap=True, style="dim")
        fields.add_column(overflow="fold")
        for name, cell in zip(names[keys:], cells[keys:], strict=True):
            fields.add_row(name, cell)
        console.print(Padding(fields, (0, 0, 0, 2), expand=False))
    if table.caption:
        console.print(table.caption, style="dim", highlight=False)
