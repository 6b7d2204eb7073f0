"""Render the report's blocks as Markdown (GitHub-flavoured: pipe tables)."""

from __future__ import annotations

from .document import Block, Bullets, Code, Figure, Heading, Paragraph, Table, Thumbnails

__all__ = ["render_markdown"]


def _cell(text: str) -> str:
    # A pipe would end the cell, even inside `code`; GFM reads "\|" as a literal pipe there too.
    return text.replace("|", "\\|").replace("\n", " ")


def _table(t: Table) -> list[str]:
    rule = {"l": "---", "r": "---:"}
    lines = ["| " + " | ".join(_cell(h) for h in t.header) + " |", "|" + "|".join(rule[a] for a in t.alignment()) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in t.rows]
    return lines


def _tile(caption: str, thumbs: tuple[str, ...], ids: tuple[str, ...]) -> str:
    shown = " ".join(f"![{i}](thumbs/{n})" if n else "(not shown)" for n, i in zip(thumbs, ids))
    return f"- {shown} {caption}: " + ", ".join(f"`{i}`" for i in ids)


def _label(fold: str) -> str:
    """What HTML folds away is shown in Markdown under a bold label."""
    return f"**{fold[0].upper()}{fold[1:]}:**\n\n" if fold else ""


def render_markdown(blocks: list[Block], plots_dir: str = "plots") -> str:
    """The whole report as Markdown; figures link to ``plots_dir/<name>``."""
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            out.append("#" * b.level + " " + b.text)
        elif isinstance(b, Paragraph):
            out.append(f"*{b.text}*" if b.note and "*" not in b.text else b.text)
        elif isinstance(b, Bullets):
            out.append(_label(b.fold) + "\n".join(f"- {item}" for item in b.items))
        elif isinstance(b, Table):
            out.append(_label(b.fold) + "\n".join(_table(b)))
        elif isinstance(b, Figure):
            out.append(f"![{b.caption}]({plots_dir}/{b.name})\n\n*{b.caption}*")
        elif isinstance(b, Code):
            out.append(_label(b.summary) + f"```\n{b.text}\n```")
        elif isinstance(b, Thumbnails):  # one line per tile: its images (linked from thumbs/), then what they are
            out.append("\n".join(_tile(*t) for t in b.tiles))
        else:  # pragma: no cover - every block type is handled above
            raise TypeError(f"unknown block {b!r}")
    return "\n\n".join(out) + "\n"
