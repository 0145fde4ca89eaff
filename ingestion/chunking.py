"""Token-aware chunking with semantic-text-splitter, counted by the embedder's own tokenizer."""

import re
from dataclasses import dataclass

from semantic_text_splitter import MarkdownSplitter, TextSplitter
from tokenizers import Tokenizer

# A line break on its own is usually a wrapped line inside a sentence; the splitter
# would rank it above a sentence end. Blank lines still separate paragraphs.
SINGLE_NEWLINE = re.compile(r"(?<!\n)\n(?!\n)")
# The splitter sees other line breaks as "\n", and "\r" as a space (one character each, so offsets hold):
# runs of them made it super-linear (3,000 "\r\n" or "\u2028" before 4,000 dots took 20-45 s).
LINE_BREAKS = str.maketrans({"\r": " ", "\u2028": "\n", "\u2029": "\n", "\x85": "\n"})


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
        body = text.rstrip().translate(LINE_BREAKS)
        if is_markdown:
            pieces = self.markdown_splitter.chunk_indices(body)
        else:
            # Same length as the text, so offsets found here hold for the text itself.
            pieces = self.text_splitter.chunk_indices(SINGLE_NEWLINE.sub(" ", body))
        pieces = [cut for start, piece in pieces if piece.strip() for cut in self.cap_length(text, start, len(piece))]
        texts = [text[start : start + length] for start, length in pieces]
        counts = self.count_tokens(texts)
        return [
            TextChunk(text=chunk_text, start=start, end=start + length, token_count=count)
            for (start, length), chunk_text, count in zip(pieces, texts, counts, strict=True)
        ]

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
