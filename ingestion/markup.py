"""Plain text from marked-up text, so that passages, answers and cards hold words, not markup: reStructuredText
(with docutils) and Markdown (with markdown-it-py). Headings, paragraphs, list items and table rows come out
on lines of their own, and code as it is written; underlines, link targets, emphasis markers and the like
do not come out at all. Headings are given as well, (level, title) in order, for sections.py."""

from dataclasses import dataclass

# docutils on an upload: no file inclusion, no raw HTML, and no messages (a reader never sees them).
DOCUTILS_SETTINGS = {
    "report_level": 5,
    "halt_level": 5,
    "warning_stream": False,
    "file_insertion_enabled": False,
    "raw_enabled": False,
    "input_encoding": "unicode",
    "syntax_highlight": "none",
}
FRONT_MATTER_CHARS = 4000


@dataclass(frozen=True)
class Marked:
    text: str
    headings: list[tuple[int, str]]  # (level, title) in reading order; 1 is the outermost


@dataclass(frozen=True)
class FrontMatter:
    title: str = ""
    date: str = ""  # as written; extract.parse_iso_date reads it


def read_rst(source: str) -> Marked:
    from docutils import nodes
    from docutils.core import publish_doctree

    if not source.strip():
        return Marked("", [])
    tree = publish_doctree(source, settings_overrides=DOCUTILS_SETTINGS)
    # docutils' own complaints about the markup ("<string>:4: (ERROR/3) Unexpected indentation.") are nodes too.
    for message in list(tree.findall(nodes.system_message)):
        message.parent.remove(message)
    headings = []
    for title in tree.findall(nodes.title):
        # A document's title (a lone top section, promoted by docutils) is level 1; a section's is one more
        # than the sections it lies in.
        depth = sum(isinstance(node, nodes.section) for node in iter_ancestors(title))
        if isinstance(title.parent, nodes.document | nodes.section):
            headings.append((1 + depth, title.astext()))
    return Marked(tree.astext(), headings)


def iter_ancestors(node):
    while node.parent is not None:
        node = node.parent
        yield node


def split_front_matter(source: str) -> tuple[FrontMatter, str]:
    """A Markdown file's front matter (between "---" lines at its start: title and date read, the rest
    ignored) and the text after it."""
    if not source.startswith("---\n"):
        return FrontMatter(), source
    end = source.find("\n---", 3, FRONT_MATTER_CHARS)
    if end < 0:
        return FrontMatter(), source
    fields = {}
    for line in source[4:end].splitlines():
        key, colon, value = line.partition(":")
        if colon and key.strip().lower() in ("title", "date"):
            fields[key.strip().lower()] = value.strip().strip("'\"")
    body_start = source.find("\n", end + 4)
    return FrontMatter(**fields), source[body_start + 1 :] if body_start >= 0 else ""


def read_markdown(source: str) -> Marked:
    from markdown_it import MarkdownIt

    _, body = split_front_matter(source)
    blocks: list[str] = []
    headings: list[tuple[int, str]] = []
    row: list[str] | None = None
    heading = 0
    for token in MarkdownIt("commonmark").enable("table").parse(body):
        if token.type == "heading_open":
            heading = int(token.tag[1:])
        elif token.type == "tr_open":
            row = []
        elif token.type == "tr_close" and row is not None:
            blocks.append(" | ".join(row))
            row = None
        elif token.type == "inline":
            text = inline_text(token.children or [])
            if row is not None:
                row.append(text)
            elif text.strip():
                # A blank line more before a heading: the splitter cuts at sections before paragraphs.
                blocks.append("\n" + text if heading and blocks else text)
                if heading:
                    headings.append((heading, text))
            heading = 0
        elif token.type in ("fence", "code_block"):
            blocks.append(token.content.rstrip("\n"))
        elif token.type == "html_block":
            blocks.append(html_block_text(token.content))
    return Marked("\n\n".join(block for block in blocks if block.strip()), headings)


def inline_text(children) -> str:
    """The words of a paragraph, heading or cell: text and code as they are, a picture by its description,
    line breaks kept; emphasis, link and HTML markers dropped."""
    parts = []
    for child in children:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif child.type == "image":
            parts.append(inline_text(child.children or []))
    return "".join(parts)


def html_headings(html: str) -> list[tuple[int, str]]:
    import lxml.html

    try:
        tree = lxml.html.document_fromstring(html)
    except MemoryError:
        raise
    except Exception:
        return []  # lxml refuses some inputs (only a comment, say); the text is read all the same
    return [(int(element.tag[1]), element.text_content()) for element in tree.iter("h1", "h2", "h3", "h4", "h5", "h6")]


def html_block_text(html: str) -> str:
    from inscriptis import get_text

    return "\n".join(line.strip() for line in get_text(html).splitlines() if line.strip())
