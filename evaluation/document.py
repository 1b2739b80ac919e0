"""A small document model rendered to both Markdown and HTML.

Why not Markdown → HTML through a converter: the report's tables and figures
are data, so each block renders itself natively in each format (real
`<table>` elements, escaped text) and the two files can never disagree.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
table{border-collapse:collapse;margin:1em 0;font-size:.88em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
img{max-width:100%;border:1px solid #eee}code,pre{background:#f6f6f6}
pre{padding:.6em;overflow-x:auto}figcaption{font-size:.9em;color:#555}
"""


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Code:
    text: str


@dataclass(frozen=True)
class Table:
    header: Sequence[str]
    rows: Sequence[Sequence[str]]
    caption: str = ""


@dataclass(frozen=True)
class Image:
    """A figure file, referenced by a path relative to the report."""

    path: str
    caption: str


Block = Heading | Paragraph | Code | Table | Image


@dataclass
class Document:
    title: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> Document:
        self.blocks.extend(blocks)
        return self

    def to_markdown(self) -> str:
        out = [f"# {self.title}", ""]
        for block in self.blocks:
            out.extend(_markdown(block))
            out.append("")
        return "\n".join(out).rstrip() + "\n"

    def to_html(self) -> str:
        body = "\n".join(_html(b) for b in self.blocks)
        title = html.escape(self.title)
        return (
            f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f"<style>{_CSS}</style></head>\n<body>\n<h1>{title}</h1>\n{body}\n</body></html>\n"
        )


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _markdown(block: Block) -> list[str]:
    if isinstance(block, Heading):
        return ["#" * block.level + " " + block.text]
    if isinstance(block, Paragraph):
        return [block.text]
    if isinstance(block, Code):
        return ["```", block.text.rstrip("\n"), "```"]
    if isinstance(block, Image):
        return [f"![{block.caption}]({block.path})", "", f"*{block.caption}*"]
    lines = [f"*{block.caption}*", ""] if block.caption else []
    lines.append("| " + " | ".join(_cell(h) for h in block.header) + " |")
    lines.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(block.header))) + "|")
    lines.extend("| " + " | ".join(_cell(c) for c in row) + " |" for row in block.rows)
    return lines


def _inline(text: str) -> str:
    """Escape text, then render the two inline marks the report uses: `code` and **bold**."""
    import re

    escaped = html.escape(text)
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", escaped)


def _html(block: Block) -> str:
    if isinstance(block, Heading):
        return f"<h{block.level}>{_inline(block.text)}</h{block.level}>"
    if isinstance(block, Paragraph):
        return f"<p>{_inline(block.text)}</p>"
    if isinstance(block, Code):
        return f"<pre><code>{html.escape(block.text)}</code></pre>"
    if isinstance(block, Image):
        caption = html.escape(block.caption)
        return (f'<figure><img src="{html.escape(block.path)}" alt="{caption}">'
                f"<figcaption>{caption}</figcaption></figure>")
    caption = f"<caption>{_inline(block.caption)}</caption>" if block.caption else ""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in block.header)
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in block.rows
    )
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
