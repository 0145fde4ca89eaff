"""Finding citations in every form a model writes them, and checking their support."""

import pytest

from ingestion import encoders
from qa import citations

URLS = {"http://host/documents/42/?passage=7#page=3": 1, "http://host/documents/43/?passage=9#page=1": 2}
TITLES = {"quarterly report": 1, "annual report": 2}


def sources_in(answer: str) -> list[int]:
    references, _ = citations.find_references(answer, URLS, TITLES)
    return [r.source for r in references]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("Revenue was 42 million [1].", [1]),
        ("Revenue was 42 million [1, 2].", [1, 2]),
        ("Revenue was 42 million [1][2].", [1, 2]),
        ("Revenue was 42 million [source: 2].", [2]),
        ("Revenue was 42 million (source: 1).", [1]),
        ("Revenue was 42 million.\nSource: 1, 2", [1, 2]),
        ("Revenue was 42 million.\nSources: 1 and 2", [1, 2]),
        ("Revenue was 42 million [1-2].", [1, 2]),
        ("Revenue was 42 million.\nSource: date: 2024-03-01 url: http://host/documents/42/?passage=7#page=3", [1]),
        ("Revenue was 42 million.\ntitle: Annual report", [2]),
    ],
)
def test_every_citation_form_maps_to_its_source(answer, expected):
    assert sources_in(answer) == expected


def test_a_year_in_parentheses_is_not_a_citation():
    assert sources_in("The company was founded (1999) in Oslo.") == []


def test_an_echoed_url_that_was_not_in_the_prompt_is_reported_unknown():
    references, unknown = citations.find_references("It grew.\nurl: http://elsewhere/1", URLS, TITLES)
    assert references == []
    assert unknown == ["url: http://elsewhere/1"]


def test_an_inline_marker_stands_behind_its_own_sentence():
    answer = "Revenue was 42 million dollars [1]. Costs fell by a tenth [2]."
    claims = citations.claims_for(answer, citations.find_references(answer, URLS, TITLES)[0])
    assert [(c.source, c.text) for c in claims] == [
        (1, "Revenue was 42 million dollars."),
        (2, "Costs fell by a tenth."),
    ]


def test_a_marker_after_the_full_stop_belongs_to_the_sentence_before_it():
    answer = "Revenue was 42 million dollars. [1] Costs fell by a tenth. [2]"
    claims = citations.claims_for(answer, citations.find_references(answer, URLS, TITLES)[0])
    assert [(c.source, c.text) for c in claims] == [
        (1, "Revenue was 42 million dollars."),
        (2, "Costs fell by a tenth."),
    ]


def test_a_source_line_of_its_own_stands_behind_the_sentences_before_it():
    answer = "Revenue was 42 million dollars. Costs fell by a tenth.\nSource: 1"
    claims = citations.claims_for(answer, citations.find_references(answer, URLS, TITLES)[0])
    assert [(c.source, c.text) for c in claims] == [(1, "Revenue was 42 million dollars. Costs fell by a tenth.")]


def test_a_supported_claim_scores_above_the_threshold_and_an_unrelated_one_below(settings):
    embed = encoders.encoder_for("sentence-transformers/all-MiniLM-L6-v2").encode
    passage = "The Arctic tern migrates from the Arctic to the Antarctic each year. Its eggs hatch in June."
    supported, unrelated = citations.support(
        ["Arctic terns fly to the Antarctic every year.", "Copper conducts electricity well."], passage, embed
    )
    assert supported.score >= settings.CITATION_SUPPORT_THRESHOLD > unrelated.score
    assert passage[supported.start : supported.end].startswith("The Arctic tern migrates")


def test_markers_that_lead_their_sentences_stay_with_them():
    answer = "[1] Revenue rose 5%. [2] Costs fell 3%."
    claims = citations.claims_for(answer, citations.find_references(answer, URLS, TITLES)[0])
    assert [(c.source, c.text) for c in claims] == [(1, "Revenue rose 5%."), (2, "Costs fell 3%.")]
