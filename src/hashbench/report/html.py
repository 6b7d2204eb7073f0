"""Render the report's blocks as one self-contained HTML page.

Self-contained means no request leaves the page: the stylesheet is inline, the figures are
embedded as base64 PNG, and there is no script. The file can be mailed, archived or opened
offline and looks the same.
"""

from __future__ import annotations

import base64
import html
import re

from .document import Block, Bullets, Code, Figure, Heading, Paragraph, Table, Thumbnails

__all__ = ["render_html", "inline"]

_CSS = """
:root { --fg: #1d2330; --muted: #5b6475; --line: #dde1e8; --stripe: #f6f7f9; --accent: #2c5aa0; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.55 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--fg); background: #fff; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 1.7em; margin: 0.2em 0 0.5em; }
h2 { font-size: 1.3em; margin: 2.0em 0 0.6em; padding-bottom: 0.25em; border-bottom: 2px solid var(--line); }
h3 { font-size: 1.08em; margin: 1.5em 0 0.5em; }
p.note { color: var(--muted); font-size: 0.92em; }
li { margin: 0.25em 0; }
code { font: 0.9em/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #eef1f5;
       padding: 0.05em 0.3em; border-radius: 3px; }
nav.toc { background: var(--stripe); border: 1px solid var(--line); border-radius: 6px; padding: 10px 16px;
          margin: 16px 0 8px; font-size: 0.93em; }
nav.toc ol { margin: 0.3em 0 0; padding-left: 1.4em; columns: 2; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
.table-wrap { overflow-x: auto; margin: 0.8em 0 1.2em; }
table { border-collapse: collapse; font-size: 0.88em; font-variant-numeric: tabular-nums; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef1f5; text-align: left; font-weight: 600; border-bottom: 2px solid #c9ced8; }
th.r, td.r { text-align: right; }
td.r { white-space: nowrap; }
td .sub { color: var(--muted); font-size: 0.92em; }
tbody tr:nth-child(even) { background: var(--stripe); }
tbody tr:hover { background: #e8eef8; }
figure { margin: 1.2em 0 2em; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figcaption { color: var(--muted); font-size: 0.9em; margin-top: 0.4em; }
details { margin: 0.8em 0; }
summary { cursor: pointer; color: var(--accent); }
pre { background: var(--stripe); border: 1px solid var(--line); border-radius: 4px; padding: 10px 12px;
      overflow-x: auto; font-size: 0.85em; }
pre code { background: none; padding: 0; }
.gallery { display: flex; flex-wrap: wrap; gap: 14px; margin: 0.6em 0 1.4em; }
.tile { margin: 0; border: 1px solid var(--line); border-radius: 4px; padding: 6px; background: var(--stripe); }
.tile .imgs { display: flex; gap: 4px; }
.tile img, .tile .missing { width: 120px; height: 120px; object-fit: contain; background: #fff; }
.tile .missing { display: flex; align-items: center; justify-content: center; color: var(--muted);
                 font-size: 0.8em; border: 1px dashed var(--line); }
.tile figcaption { font-size: 0.8em; max-width: 250px; overflow-wrap: anywhere; margin-top: 0.3em; }
"""


def inline(text: str) -> str:
    """Escape ``text`` and turn ```code```, ``**bold**`` and ``*emphasis*`` into HTML."""
    parts = re.split(r"(`[^`]*`)", text)
    out = []
    for part in parts:
        if len(part) >= 2 and part.startswith("`") and part.endswith("`"):
            out.append(f"<code>{html.escape(part[1:-1])}</code>")
            continue
        s = html.escape(part, quote=False)
        s = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", s)
        s = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<em>\1</em>", s)
        out.append(s)
    return "".join(out)


def _cell(text: str) -> str:
    """A cell's first line as is, further lines (an interval under its rate) muted below it."""
    first, *rest = text.split("\n")
    return inline(first) + "".join(f'<br><span class="sub">{inline(x)}</span>' for x in rest)


def _table(t: Table) -> str:
    al = t.alignment()
    head = "".join(f'<th class="{a}">{inline(h)}</th>' for h, a in zip(t.header, al))
    body = "\n".join(
        "<tr>" + "".join(f'<td class="{a}">{_cell(c)}</td>' for c, a in zip(row, al)) + "</tr>" for row in t.rows
    )
    return f'<div class="table-wrap"><table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody></table></div>'


def _thumbnails(b: Thumbnails, thumbs: dict[str, bytes]) -> str:
    """Gallery tiles, each thumbnail a JPEG data URI (the page stays one file)."""
    tiles = []
    for caption, names, ids in b.tiles:
        imgs = "".join(
            f'<img src="data:image/jpeg;base64,{base64.b64encode(thumbs[n]).decode("ascii")}" '
            f'alt="{html.escape(i)}" title="{html.escape(i)}">'
            if n in thumbs
            else '<span class="missing">not shown</span>'
            for n, i in zip(names, ids)
        )
        who = ", ".join(f"`{i}`" for i in ids)
        tiles.append(
            f'<figure class="tile"><div class="imgs">{imgs}</div>'
            f"<figcaption>{inline(caption)}<br>{inline(who)}</figcaption></figure>"
        )
    return f'<div class="gallery">{"".join(tiles)}</div>'


def render_html(
    blocks: list[Block], plots: dict[str, bytes], title: str, thumbs: dict[str, bytes] | None = None
) -> str:
    """The whole report as one HTML page; ``plots`` maps figure names to PNG bytes, ``thumbs``
    gallery file names to JPEG bytes."""
    body: list[str] = []
    toc = [b for b in blocks if isinstance(b, Heading) and b.level == 2]
    for b in blocks:
        if isinstance(b, Heading):
            body.append(f'<h{b.level} id="{b.anchor}">{inline(b.text)}</h{b.level}>')
            if b.level == 1 and toc:
                items = "".join(f'<li><a href="#{h.anchor}">{inline(h.text)}</a></li>' for h in toc)
                body.append(f'<nav class="toc"><strong>Contents</strong><ol>{items}</ol></nav>')
        elif isinstance(b, Paragraph):
            cls = ' class="note"' if b.note else ""
            body.append(f"<p{cls}>{inline(b.text)}</p>")
        elif isinstance(b, Bullets):
            items = "<ul>" + "".join(f"<li>{inline(i)}</li>" for i in b.items) + "</ul>"
            body.append(f"<details><summary>{inline(b.fold)}</summary>{items}</details>" if b.fold else items)
        elif isinstance(b, Table):
            body.append(f"<details><summary>{inline(b.fold)}</summary>{_table(b)}</details>" if b.fold else _table(b))
        elif isinstance(b, Figure):
            data = base64.b64encode(plots[b.name]).decode("ascii")
            body.append(
                f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(b.caption)}">'
                f"<figcaption>{inline(b.caption)}</figcaption></figure>"
            )
        elif isinstance(b, Code):
            pre = f"<pre><code>{html.escape(b.text)}</code></pre>"
            body.append(f"<details><summary>{inline(b.summary)}</summary>{pre}</details>" if b.summary else pre)
        elif isinstance(b, Thumbnails):
            body.append(_thumbnails(b, thumbs or {}))
        else:  # pragma: no cover
            raise TypeError(f"unknown block {b!r}")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(body)
        + "\n</main>\n</body>\n</html>\n"
    )
