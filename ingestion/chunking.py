"""Token-aware chunking with semantic-text-splitter, counted by the embedder's own tokenizer."""

import itertools
import re
from dataclasses import dataclass

from semantic_text_splitter import MarkdownSplitter, TextSplitter
from tokenizers import Tokenizer

# A line break on its own is usually a wrapped line inside a sentence; the splitter
# would rank it above a sentence end. Blank lines still separate paragraphs.
SINGLE_NEWLINE = re.compile(r"(?<!\n)\n(?!\n)")
# The splitter sees other line breaks as "\n", and "\r", tabs and other spaces as " " (one character each,
# so offsets hold): runs of them made it super-linear (3,000 "\r\n" or "\u2028" before 4,000 dots took
# 20-45 s; runs of tabs between 1,000-character words, 70 s per 100 KB).
# Every other character Python counts as whitespace, but "\n" and " " (str.isspace over all of Unicode).
OTHER_SPACES = (
    "\t\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
SPLITTER_VIEW = str.maketrans(dict.fromkeys(OTHER_SPACES, " ") | {"\u2028": "\n", "\u2029": "\n", "\x85": "\n"})
# Runs of text without whitespace longer than this are cut by tokens, not by the splitter: past about a
# passage's worth, it slows down by orders of magnitude (20 KB of 2,000-character runs of emoji and
# "date:date:" took 80 s; of 1,000-character runs, 0.3 s). Prose never has such runs; base64, rows of
# symbols and unspaced CJK paragraphs do.
LONG_RUN_CHARS = 1000
NON_SPACE = re.compile(r"\S+")


@dataclass(frozen=True)
class TextChunk:
    text: str
    start: int  # character offsets into the text that was split
    end: int
    token_count: int  # word pieces, without the model's special tokens


class Chunker:
    """Splits text into chunks of at most max_tokens, cut at the largest semantic unit that fits."""

    def __init__(self, tokenizer: Tokenizer, *, max_tokens: int, overlap_tokens: int, max_chars: int = 2000) -> None:
        if not 0 <= overlap_tokens < max_tokens:
            raise ValueError("overlap_tokens must be smaller than max_tokens")
        # A hard cap as well: a run of characters without a space is one token ([UNK]) to the tokenizer,
        # so a 3 MB run of letters would otherwise be one 3 MB passage.
        self.max_chars = max_chars
        # A private copy: the model's tokenizer may truncate or pad, which would hide long chunks.
        self.tokenizer = Tokenizer.from_str(tokenizer.to_str())
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        self.max_tokens = max_tokens
        self.text_splitter = TextSplitter.from_huggingface_tokenizer(self.tokenizer, max_tokens, overlap=overlap_tokens)
        self.markdown_splitter = MarkdownSplitter.from_huggingface_tokenizer(
            self.tokenizer, max_tokens, overlap=overlap_tokens
        )

    def split(self, text: str, *, is_markdown: bool = False) -> list[TextChunk]:
        # Without its trailing whitespace (a prefix, so offsets hold): the Markdown splitter is quadratic
        # in trailing blank lines (8,000 took 8 s).
        body = text.rstrip().translate(SPLITTER_VIEW)
        found: list[tuple[int, int]] = []
        for start, end, is_long_run in stretches(body):
            if is_long_run:
                found += self.split_run(body, start, end)
            else:
                found += [
                    (start + offset, len(piece)) for offset, piece in self.split_prose(body[start:end], is_markdown)
                ]
        pieces = [cut for start, length in found if text[start : start + length].strip()
                  for cut in self.cap_length(text, start, length)]  # fmt: skip
        texts = [text[start : start + length] for start, length in pieces]
        counts = self.count_tokens(texts)
        return [
            TextChunk(text=chunk_text, start=start, end=start + length, token_count=count)
            for (start, length), chunk_text, count in zip(pieces, texts, counts, strict=True)
        ]

    def split_prose(self, part: str, is_markdown: bool) -> list[tuple[int, str]]:
        if is_markdown:
            return self.markdown_splitter.chunk_indices(part)
        # Same length as the part, so offsets found here hold for the part itself.
        return self.text_splitter.chunk_indices(SINGLE_NEWLINE.sub(" ", part))

    def split_run(self, text: str, start: int, end: int) -> list[tuple[int, int]]:
        """(start, length) pieces of max_tokens tokens covering a long run without whitespace."""
        offsets = self.tokenizer.encode(text[start:end], add_special_tokens=False).offsets
        cuts = [start] + [start + offsets[i][0] for i in range(self.max_tokens, len(offsets), self.max_tokens)] + [end]
        return [(cut, following - cut) for cut, following in itertools.pairwise(cuts) if following > cut]

    def cap_length(self, text: str, start: int, length: int) -> list[tuple[int, int]]:
        """(start, length) pieces of at most max_chars covering text[start:start + length], cut after a
        space in the second half of each piece where there is one."""
        pieces = []
        end = start + length
        while end - start > self.max_chars:
            limit, half = start + self.max_chars, start + self.max_chars // 2
            space = max(text.rfind(" ", half, limit), text.rfind("\n", half, limit))
            cut = space + 1 if space >= 0 else limit
            if text[start:cut].strip():
                pieces.append((start, cut - start))
            start = cut
        if text[start:end].strip():
            pieces.append((start, end - start))
        return pieces

    def count_tokens(self, texts: list[str]) -> list[int]:
        if not texts:
            return []
        return [len(e.ids) for e in self.tokenizer.encode_batch(texts, add_special_tokens=False)]


def stretches(text: str) -> list[tuple[int, int, bool]]:
    """text as (start, end, is_long_run) stretches: runs without whitespace longer than LONG_RUN_CHARS, and
    what lies between them."""
    found, position = [], 0
    for run in NON_SPACE.finditer(text):
        if run.end() - run.start() > LONG_RUN_CHARS:
            if run.start() > position:
                found.append((position, run.start(), False))
            found.append((run.start(), run.end(), True))
            position = run.end()
    if position < len(text):
        found.append((position, len(text), False))
    return found
