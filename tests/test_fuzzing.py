"""Property-based fuzzing of everything that reads what users send: type detection, every extractor,
chunking, citation reading and prompt neutralisation.

Inputs are built from hostile fragments (markup, comment openers, citation labels, prompt markers, long
runs of one character, stray bytes) repeated up to 100 KB, and, for PDF and Word files, from real files
with fuzzed insides or flipped bytes. Each call runs in a sandbox child (ingestion.sandbox), so a crash in
a C library is caught as such. Every call must finish within its CPU budget, raise nothing but our own
"unreadable" error, and keep passages under the character cap.

FUZZ_EXAMPLES sets the examples per test (CI: 60); e.g. FUZZ_EXAMPLES=2000 for a long local run. The cases
run, and the worst CPU time and peak memory seen per target, are written to test-artifacts/fuzz.json.
"""

import io
import json
import os
import zipfile
from collections import defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion import filetypes, sandbox
from ingestion.extract import ExtractionError
from testkit.documents import make_docx, make_pdf, raw_pdf

from . import fuzz_targets
from .conftest import ARTIFACTS

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
MAX_BYTES = 100_000
# CPU seconds a call may take, per 100 KB of input, plus a second for the fixed costs.
# Chunking is the slow one: semantic-text-splitter tokenizes candidate sections, about 3 s per 100 KB of
# ordinary prose, 11 s of one-letter sentences ("a.a.a."), 16 s of rare characters that are a token each.
BUDGET = {"detect": 1.0, "extract": 1.0, "chunk": 25.0, "cite": 1.0, "prompt": 1.0}
HANG_GUARD_SECONDS = 120
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # the CPU budget below is the deadline that counts
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
    derandomize=os.environ.get("FUZZ_RANDOM", "") == "",  # the same cases in CI every time
)

TEXT_FRAGMENTS = [
    "<!--", "-->", "<!---->", "<?xml ", "<html>", "<head>", "<title>", "</title>", "<body>", "<p>", "</p>",
    "<script>", "<style>", "<div", ">", "<", "&amp;", "&#0;", "&#x110000;", "# ", "#", "## ", "```", "---",
    "===", "*", "_", "`", "|", "[", "]", "(", ")", "[1]", "[1, 2]", "[1-3]", "(source: 2)", "source:", "Source 1",
    "title:", "url:", "date:", "and", " ", "  ", "\n", "\n\n", "\t", "\r", "\r\n", "\f", "\x0b", "\x00", "\x1b",
    "a", "word ", "Z", "1", "99999999999999999999", ".", "?", "!", ",", ";", ":", "-", "–", "é", "ß", "中",
    "\u200b", "\u202e", "\ufeff", "\U0001f600", "BEGININPUT", "ENDINPUT", "BEGINCONTEXT", "ENDCONTEXT",
    "BEGININSTRUCTION", "ENDINSTRUCTION", "<|", "|>", "<|eot_id|>", "<|start_header_id|>", "%PDF-", "PK\x03\x04",
]  # fmt: skip
PDF_OPERATORS = [
    b"BT ", b"ET ", b"/F1 12 Tf ", b"/F9 12 Tf ", b"(Hello) Tj ", b"(a\\) Tj ", b"<48656c6c6f> Tj ", b"<zz> Tj ",
    b"[(a) -120 (b)] TJ ", b"[ TJ ", b"1 0 0 1 72 720 Tm ", b"0 -14 Td ", b"T* ", b"(x) ' ", b"q ", b"Q ",
    b"1e308 0 Td ", b"-0 0 0 0 0 0 cm ", b"/X1 Do ", b"( ", b") ", b"<< ", b">> ", b"[ ", b"] ", b"%", b"\n",
    b"\x00", b"\xff", b"12 TL ", b"3 Tr ", b"1 2 3 4 5 6 7 8 9 ", b"/Name ", b"true ", b"null ",
]  # fmt: skip

cases: dict[str, dict] = defaultdict(lambda: {"cases": 0, "worst_cpu_seconds": 0.0, "largest_input": 0})


def repeated(fragments: st.SearchStrategy) -> st.SearchStrategy:
    """Up to a dozen fragments, each repeated up to 5,000 times, joined and cut to 100 KB."""
    piece = st.tuples(fragments, st.integers(min_value=1, max_value=5000))
    return st.lists(piece, max_size=12).map(lambda pieces: "".join(fragment * n for fragment, n in pieces))


hostile_text = repeated(st.sampled_from(TEXT_FRAGMENTS) | st.text(max_size=20)).map(lambda text: text[:MAX_BYTES])
encodings = st.sampled_from(["utf-8", "utf-16", "latin-1", "cp1252", "utf-8-sig", "shift_jis"])
hostile_bytes = st.one_of(
    st.tuples(hostile_text, encodings).map(lambda pair: pair[0].encode(pair[1], errors="replace")),
    st.binary(max_size=4096),
    st.tuples(st.binary(max_size=64), hostile_text).map(lambda pair: pair[0] + pair[1].encode("utf-8", "replace")),
).map(lambda data: data[:MAX_BYTES])
pdf_content = st.lists(
    st.tuples(st.sampled_from(PDF_OPERATORS) | st.binary(max_size=12), st.integers(min_value=1, max_value=2000)),
    max_size=12,
).map(lambda pieces: b"".join(f * n for f, n in pieces)[:MAX_BYTES])
flips = st.lists(st.tuples(st.floats(min_value=0, max_value=1, exclude_max=True), st.binary(min_size=0, max_size=8)),
                 max_size=8)  # fmt: skip


class Boxes:
    """A sandbox child per fuzz target, so that each one's peak memory is its own."""

    def __init__(self) -> None:
        self.children: dict[str, sandbox.Sandbox] = {}

    def __getitem__(self, target: str) -> sandbox.Sandbox:
        if target not in self.children:
            self.children[target] = sandbox.Sandbox(memory_limit=2048 * 1024**2)  # the production cap
            if target == "chunk":
                self.children[target].call(fuzz_targets.load_chunker, timeout=HANG_GUARD_SECONDS)
        return self.children[target]


@pytest.fixture(scope="module")
def box():
    boxes = Boxes()
    yield boxes
    report = {}
    for name, stats in sorted(cases.items()):
        peak = boxes[name].call(fuzz_targets.peak_memory, timeout=30)
        report[name] = stats | {"peak_memory_mb": round(peak / 1024**2)}
    for child in boxes.children.values():
        child.stop()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "fuzz.json").write_text(json.dumps({"examples_per_test": EXAMPLES, "targets": report}, indent=2))


def run(box: Boxes, target: str, name: str, function, *args, size: int):
    """Calls a fuzz target in its sandbox, checks its CPU budget, records the case; returns (outcome, value)."""
    try:
        (outcome, value), seconds = box[name].call(function, *args, timeout=HANG_GUARD_SECONDS)
    except sandbox.TimedOut:
        pytest.fail(f"{name}: still running after {HANG_GUARD_SECONDS} s on {size} bytes")
    except ExtractionError as exc:
        pytest.fail(f"{name}: crashed ({exc}) on {size} bytes")  # an exception that is not our own error
    record = cases[name]
    record["cases"] += 1
    record["worst_cpu_seconds"] = round(max(record["worst_cpu_seconds"], seconds), 3)
    record["largest_input"] = max(record["largest_input"], size)
    budget = 1.0 + BUDGET[target] * size / MAX_BYTES
    assert seconds <= budget, f"{name}: {seconds:.2f} s of CPU for {size} bytes (budget {budget:.2f} s)"
    if outcome == "unreadable":
        assert value
        assert "Traceback" not in value
    return outcome, value


@FUZZ
@given(data=hostile_bytes, name=st.sampled_from(["", "a.txt", "a.md", "a.pdf", "a.docx", "a.html", "x.bin"]))
def test_type_detection_of_any_bytes_is_quick_and_never_fails(box, data, name):
    outcome, file_type = run(box, "detect", "detect", fuzz_targets.detect, data, name, size=len(data))
    assert outcome == "ok"
    assert file_type in filetypes.LABELS


@FUZZ
@given(data=hostile_bytes, file_type=st.sampled_from([filetypes.TEXT, filetypes.MARKDOWN, filetypes.HTML]))
def test_text_markdown_and_html_extraction_reads_anything_or_says_why(box, data, file_type):
    run(box, "extract", f"extract {file_type}", fuzz_targets.extract_file, data, file_type, size=len(data))


@FUZZ
@given(content=pdf_content, compressed=st.booleans(), damage=flips)
def test_pdf_extraction_of_fuzzed_pages_and_damaged_files_reads_or_says_why(box, content, compressed, damage):
    import zlib

    data = raw_pdf(zlib.compress(content), filters=b"/Filter /FlateDecode") if compressed else raw_pdf(content)
    data = damaged(data, damage)
    run(box, "extract", "extract pdf", fuzz_targets.extract_file, data, filetypes.PDF, size=len(data))


@pytest.fixture(scope="module")
def word_file(tmp_path_factory) -> bytes:
    path = make_docx(tmp_path_factory.mktemp("docx") / "base.docx", title="Base", paragraphs=["One.", "Two."],
                     table=[["a", "b"], ["c", "d"]])  # fmt: skip
    return path.read_bytes()


@pytest.fixture(scope="module")
def pdf_file(tmp_path_factory) -> bytes:
    path = make_pdf(tmp_path_factory.mktemp("pdf") / "base.pdf", pages=["One page.", "Two pages."], title="B")
    return path.read_bytes()


@FUZZ
@given(body=hostile_text, damage=flips)
def test_word_extraction_of_fuzzed_xml_and_damaged_zips_reads_or_says_why(box, word_file, body, damage):
    data = damaged(with_document_xml(word_file, body), damage)
    run(box, "extract", "extract docx", fuzz_targets.extract_file, data, filetypes.DOCX, size=len(data))


@FUZZ
@given(damage=flips)
def test_pdf_extraction_of_a_real_pdf_with_flipped_bytes_reads_or_says_why(box, pdf_file, damage):
    data = damaged(pdf_file, damage)
    run(box, "extract", "extract pdf", fuzz_targets.extract_file, data, filetypes.PDF, size=len(data))


@FUZZ
@given(text=hostile_text, is_markdown=st.booleans())
def test_chunking_keeps_every_word_in_passages_under_the_cap(box, text, is_markdown):
    _, summary = run(box, "chunk", "chunk", fuzz_targets.chunk, text, is_markdown, size=len(text))
    assert summary["longest"] <= fuzz_targets.CHUNK_MAX_CHARS
    assert summary["offsets_hold"]
    assert summary["loses_nothing"]


@FUZZ
@given(answer=hostile_text)
def test_citation_reading_of_any_answer_is_quick_and_never_fails(box, answer):
    _, summary = run(box, "cite", "cite", fuzz_targets.cite, answer, size=len(answer))
    assert summary["spans_hold"]


@FUZZ
@given(texts=st.lists(hostile_text, min_size=1, max_size=3), title=hostile_text, question=hostile_text)
def test_no_document_text_can_open_or_close_a_block_of_the_prompt(box, texts, title, question):
    size = sum(map(len, texts)) + len(title) + len(question)
    _, message = run(box, "prompt", "prompt", fuzz_targets.render_prompt, texts, title, question, size=size)
    for marker in ("BEGININPUT", "ENDINPUT", "BEGINCONTEXT", "ENDCONTEXT"):
        assert message.count(marker) == len(texts), marker
    assert message.count("BEGININSTRUCTION") == message.count("ENDINSTRUCTION") == 1
    assert "<|" not in message
    title_lines = [line for line in message.split("\n") if line.startswith("title: ")]
    assert len(title_lines) == len(texts)  # a title cannot spill onto a line of its own


def damaged(data: bytes, flips: list[tuple[float, bytes]]) -> bytes:
    """data with each (where, what) applied: bytes written over at that fraction of the file, or, when
    empty, the file cut there."""
    buffer = bytearray(data)
    for where, what in flips:
        position = int(where * len(buffer))
        if what:
            buffer[position : position + len(what)] = what
        else:
            del buffer[position:]
            if not buffer:
                break
    return bytes(buffer)


def with_document_xml(docx: bytes, body: str) -> bytes:
    """The Word file with its body's text replaced by body (escaped or not: a fuzzed file may be broken XML)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "word/document.xml":
                content = content.replace(b"One.", body.encode("utf-8", "replace"))
            target.writestr(item, content)
    return out.getvalue()
