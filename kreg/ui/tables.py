"""Rows as an aligned text table (terminals) or an HTML table (notebooks)."""

from __future__ import annotations

import html
import shutil


def table(rows: list[list[str]], headers: list[str], width: int | None = None) -> str:
    """Render rows as an aligned text table, cutting the last column to fit ``width``.

    Example:
        >>> print(table([["huber", "loss"]], ["NAME", "KIND"]))
        NAME   KIND
        huber  loss
    """
    width = width or shutil.get_terminal_size((120, 20)).columns
    cells = [headers, *rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers) - 1)]
    lines = []
    for row in cells:
        head = "".join(cell.ljust(w + 2) for cell, w in zip(row, widths))
        last = row[-1]
        room = max(10, width - len(head))
        lines.append((head + (last if len(last) <= room else last[: room - 1] + "…")).rstrip())
    return "\n".join(lines)


class HTMLTable:
    """Rows shown as an HTML table in a notebook and as aligned text elsewhere.

    Example:
        >>> print(HTMLTable(["NAME", "KIND"], [["huber", "loss"]]))
        NAME   KIND
        huber  loss
    """

    def __init__(self, headers: list[str], rows: list[list[str]], caption: str = "") -> None:
        self.headers, self.rows, self.caption = headers, rows, caption

    def __str__(self) -> str:
        text = table(self.rows, self.headers, width=200)
        return f"{self.caption}\n{text}" if self.caption else text

    __repr__ = __str__

    def _repr_html_(self) -> str:
        head = "".join(f"<th style='text-align:left'>{html.escape(h)}</th>" for h in self.headers)
        body = "".join(
            "<tr>"
            + "".join(f"<td style='text-align:left'>{html.escape(c)}</td>" for c in row)
            + "</tr>"
            for row in self.rows
        )
        caption = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
