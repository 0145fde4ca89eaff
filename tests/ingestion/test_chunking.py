import itertools
import re
from pathlib import Path

import pytest
from tokenizers import Tokenizer

from ingestion import embeddings
from ingestion.chunking import Chunker
from testkit.documents import long_pages

from ..budget import cpu_budget

MODEL_MAX_SEQ_LENGTH = 256  # all-MiniLM-L6-v2 reads 256 word pieces, special tokens included


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    path = Path(embeddings.model_location(embeddings.BUNDLED_MODEL)) / "tokenizer.json"
    tokenizer = Tokenizer.from_file(str(path))
    # The file's own settings truncate and pad to 128, which would hide long chunks.
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


@pytest.fixture(scope="module")
def chunker(tokenizer) -> Chunker:
    return Chunker(tokenizer, max_tokens=MODEL_MAX_SEQ_LENGTH - 2, overlap_tokens=30)


def test_no_chunk_is_longer_than_the_model_reads(chunker, tokenizer):
    text = "\n\n".join(long_pages(6, words_per_page=500))
    chunks = chunker.split(text)
    assert len(chunks) > 10
    for chunk in chunks:
        assert len(tokenizer.encode(chunk.text).ids) <= MODEL_MAX_SEQ_LENGTH
        assert chunk.token_count == len(tokenizer.encode(chunk.text, add_special_tokens=False).ids)


def test_chunks_leave_no_word_of_the_text_out(chunker):
    text = "Ünïcödé text — with dashes… and emoji 🎉.\nWrapped line.\n\nNew paragraph here. " * 60
    covered = [False] * len(text)
    for chunk in chunker.split(text):
        covered[chunk.start : chunk.end] = [True] * (chunk.end - chunk.start)
    missed = "".join(ch for ch, is_covered in zip(text, covered, strict=True) if not is_covered)
    assert missed.strip() == ""


def test_neighbouring_chunks_overlap_a_little(chunker):
    chunks = chunker.split(" ".join(long_pages(3)))
    for first, second in itertools.pairwise(chunks):
        assert second.start < first.end, "no overlap"
        assert second.start > first.start + (first.end - first.start) // 2, "overlap too large"


def test_chunks_are_cut_at_sentence_ends(chunker):
    text = " ".join(f"Sentence number {n} talks about the weather in a calm and steady voice." for n in range(200))
    for chunk in chunker.split(text):
        assert chunk.text.endswith("."), chunk.text[-40:]
        assert re.match(r"Sentence number \d+", chunk.text)


def test_wrapped_lines_do_not_end_chunks_mid_sentence(chunker):
    sentence = "This long sentence was wrapped by a PDF writer at a fixed width\nso its lines break in odd places."
    text = " ".join([sentence] * 60)
    for chunk in chunker.split(text):
        assert chunk.text.endswith("places."), chunk.text[-40:]


def test_markdown_is_split_at_its_headings(chunker):
    sections = [f"## Section {n}\n\n" + "Words about this section in particular. " * 20 for n in range(8)]
    chunks = chunker.split("\n\n".join(sections), is_markdown=True)
    assert all(chunk.text.startswith("## Section") for chunk in chunks)


def test_blank_text_gives_no_chunks(chunker):
    assert chunker.split("   \n\n \t ") == []


def test_overlap_must_be_smaller_than_the_chunk(tokenizer):
    with pytest.raises(ValueError, match="overlap"):
        Chunker(tokenizer, max_tokens=50, overlap_tokens=50)


def test_markdown_that_ends_in_thousands_of_blank_lines_is_split_at_once(chunker):
    # Found by tests/test_fuzzing.py: the Markdown splitter took 8 s over 8,000 trailing blank lines.
    with cpu_budget(1):
        pieces = chunker.split("# Notes\n\nSome text." + " \n" * 8000, is_markdown=True)
    assert [piece.text for piece in pieces] == ["# Notes\n\nSome text."]


@pytest.mark.parametrize("line_break", ["\r\n", "\u2028", "\x85 "])
def test_runs_of_other_line_breaks_are_split_at_once_and_keep_their_offsets(chunker, line_break):
    # Found by tests/test_fuzzing.py: 3,000 of them before 4,000 dots took the splitter 20-45 s.
    text = line_break * 3000 + "." * 4000
    with cpu_budget(2):
        pieces = chunker.split(text)
    assert all(text[piece.start : piece.end] == piece.text for piece in pieces)
    assert "".join(piece.text for piece in pieces).count(".") >= 4000


def test_long_runs_without_spaces_are_cut_by_tokens_at_once(chunker):
    # Found by tests/test_fuzzing.py: past a passage's worth of characters without a space the splitter
    # slows down by orders of magnitude (this took it 11 s).
    text = "\U0001f600" * 1532 + "date:" * 1270 + " Then a sentence."
    with cpu_budget(1):
        pieces = chunker.split(text)
    assert all(text[piece.start : piece.end] == piece.text for piece in pieces)
    assert "".join(piece.text for piece in pieces).replace(" ", "") == text.replace(" ", "")
    assert max(piece.token_count for piece in pieces) <= MODEL_MAX_SEQ_LENGTH - 2
    assert pieces[-1].text.endswith("Then a sentence.")


def test_unspaced_cjk_paragraphs_become_passages_the_model_reads_whole(chunker):
    text = "漢字仮名交じり文。" * 2000
    pieces = chunker.split(text)
    assert (pieces[0].start, pieces[-1].end) == (0, len(text))
    assert all(after.start <= before.end for before, after in itertools.pairwise(pieces))
    assert max(piece.token_count for piece in pieces) <= MODEL_MAX_SEQ_LENGTH - 2
