"""What the fuzz tests run in a sandbox child (ingestion.sandbox): each calls one of our parsers on one
input and returns a small summary of what came out, or ("unreadable", message) for our own error, with
the CPU seconds the call took. Anything else it raises is a crash, which the tests report."""

import functools
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tokenizers import Tokenizer

from ingestion import embeddings, extract, filetypes
from ingestion.chunking import Chunker
from ingestion.extract import ExtractionError
from qa import citations, prompting

CHUNK_TOKENS = 200
CHUNK_MAX_CHARS = 2000
# A few pages are enough: a fuzzed PDF has one, a mutated one may claim thousands.
PAGES_READ = 20


def timed(function: Callable) -> Callable:
    @functools.wraps(function)
    def wrapper(*args):
        started = time.process_time()
        try:
            result = function(*args)
        except ExtractionError as exc:
            result = ("unreadable", str(exc))
        return result, time.process_time() - started

    return wrapper


def as_file(data: bytes, suffix: str) -> Path:
    with tempfile.NamedTemporaryFile(suffix=suffix, delete=False) as out:
        out.write(data)
    return Path(out.name)


@timed
def detect(data: bytes, name: str) -> tuple[str, str]:
    path = as_file(data, "")
    try:
        detection = filetypes.detect_file_type(path, name)
    finally:
        path.unlink()
    return ("ok", detection.file_type)


@timed
def extract_file(data: bytes, file_type: str) -> tuple[str, dict]:
    path = as_file(data, filetypes.EXTENSIONS.get(file_type, ""))
    try:
        metadata = extract.read_metadata(path, file_type)
        pages = extract.read_pages(path, file_type, 0, min(metadata.page_count, PAGES_READ))
    finally:
        path.unlink()
    return ("ok", {"title": metadata.title, "pages": len(pages), "chars": sum(len(page.text) for page in pages)})


@functools.cache
def chunker() -> Chunker:
    tokenizer = Tokenizer.from_file(str(Path(embeddings.model_location(embeddings.BUNDLED_MODEL)) / "tokenizer.json"))
    return Chunker(tokenizer, max_tokens=CHUNK_TOKENS, overlap_tokens=30, max_chars=CHUNK_MAX_CHARS)


def load_chunker() -> None:
    """Outside the timed calls: loading the tokenizer and setting up the splitters takes about a second."""
    chunker()


@timed
def chunk(text: str, is_markdown: bool) -> tuple[str, dict]:
    pieces = chunker().split(text, is_markdown=is_markdown)
    return (
        "ok",
        {
            "count": len(pieces),
            "longest": max((len(piece.text) for piece in pieces), default=0),
            "offsets_hold": all(text[piece.start : piece.end] == piece.text for piece in pieces),
            "loses_nothing": loses_nothing(text, [(piece.start, piece.end) for piece in pieces]),
        },
    )


def loses_nothing(text: str, spans: list[tuple[int, int]]) -> bool:
    """Whether every character outside the spans is whitespace."""
    position = 0
    for start, end in sorted(spans):
        if start > position and text[position:start].strip():
            return False
        position = max(position, end)
    return not text[position:].strip()


@timed
def cite(answer: str) -> tuple[str, dict]:
    references, _ = citations.find_references(answer, urls={"http://x/1": 1}, titles={"field notes": 2})
    claims = citations.claims_for(answer, references)
    spans_hold = all(0 <= claim.start <= claim.end <= len(answer) for claim in claims)
    return ("ok", {"references": len(references), "claims": len(claims), "spans_hold": spans_hold})


@timed
def render_prompt(texts: list[str], title: str, question: str) -> tuple[str, str]:
    blocks = [
        prompting.Block(source=n, title=title, date="2024-01-01", url=f"http://x/{n}", text=text)
        for n, text in enumerate(texts, start=1)
    ]
    return ("ok", prompting.render_user_message(blocks, question))


def peak_memory() -> int:
    """The most resident memory this child has used (VmHWM), in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0
