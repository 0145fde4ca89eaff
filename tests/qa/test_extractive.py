"""Extracted answers: sentences copied from passages, best first, each cited."""

from ingestion import encoders
from qa import extractive

PASSAGES = [
    (1, "Super Bowl 50 was an American football game. The game was played at Levi's Stadium in Santa Clara."),
    (2, "Super Bowl 50 was broadcast by CBS in the United States. Super Bowl 50 had a gold theme."),
]


def embed(texts):
    return encoders.encoder_for("sentence-transformers/all-MiniLM-L6-v2").encode(texts)


def test_the_sentence_with_the_questions_distinctive_word_is_chosen():
    # By similarity alone it would not be: the small model mostly hears "Super Bowl 50".
    text, sentences = extractive.extract_answer("Where was Super Bowl 50 played?", PASSAGES, embed)
    assert "The game was played at Levi's Stadium in Santa Clara." in [s.text for s in sentences]
    assert "The game was played at Levi's Stadium in Santa Clara. [1]" in text


def test_words_every_sentence_shares_weigh_nothing():
    overlap = extractive.distinctive_overlap("Super Bowl played", ["Super Bowl one", "Super Bowl played"])
    assert overlap[0] == 0
    assert overlap[1] == 1


def test_every_extracted_sentence_is_copied_from_its_cited_passage():
    _, sentences = extractive.extract_answer("What was the theme of Super Bowl 50?", PASSAGES, embed)
    assert sentences
    for sentence in sentences:
        assert sentence.text in dict(PASSAGES)[sentence.source]


def field_notes_pages() -> list[tuple[int, str]]:
    """Five pages with a running head, best-ranked first as retrieval might give them: page 3 before page 4."""
    words = {1: "tulip", 2: "rose", 3: "lily", 4: "dahlia", 5: "orchid"}
    pages = {
        number: f"Field notes, page {number}.\nThe weather was mild and we walked along the river for an hour.\n"
        f"The code word on page {number} is {word}. We wrote it down twice."
        for number, word in words.items()
    }
    return [(number, pages[number]) for number in (3, 4, 2, 5, 1)]


def test_the_answer_is_the_sentence_that_answers_from_the_page_asked_about():
    question = "Which code word was written on the fourth page of the field notes?"
    text, sentences = extractive.extract_answer(question, field_notes_pages(), embed)
    assert text == "The code word on page 4 is dahlia. [4]"
    assert [s.source for s in sentences] == [4]


def test_running_heads_headings_and_underlines_are_never_the_answer():
    passages = [
        (1, "THE SIEGE OF VICKSBURG.\nThe siege lasted forty-seven days, from May 18 to July 4, 1863."),
        (2, "THE SIEGE OF VICKSBURG.\nGrant's army surrounded the city and cut its supply lines."),
        (3, "Maximum Line Length\n-------------------\n\nLimit all lines to a maximum of 79 characters."),
    ]
    for question in ("How long did the siege of Vicksburg last?", "What is the siege of Vicksburg?"):
        text, _ = extractive.extract_answer(question, passages, embed)
        assert "VICKSBURG" not in text
        assert "-----" not in text
        assert "Maximum Line Length" not in text


def test_a_sentence_that_only_restates_the_question_is_not_the_answer():
    passages = [
        (1, "To Sherlock Holmes she is always _the_ woman. I have seldom heard him mention her under any other name."),
        (2, "And yet there was but one woman to him, and that woman was the late Irene Adler, of dubious memory."),
    ]
    text, _ = extractive.extract_answer("Who is always the woman to Sherlock Holmes?", passages, embed)
    assert "Irene Adler" in text


def test_one_answer_is_shown_never_sentences_joined_from_several_places():
    text, sentences = extractive.extract_answer("What was the theme of Super Bowl 50?", PASSAGES, embed)
    assert len({s.source for s in sentences}) == 1
    assert text.count("[") == 1


def test_an_answer_that_points_back_brings_the_sentence_before_it():
    text = "The Arctic tern nests in the far north every summer. It then flies to Antarctica, 70,000 km a year."
    passages = [(1, text)]
    text, sentences = extractive.extract_answer("How far does the bird fly each year?", passages, embed)
    assert [s.text for s in sentences] == [
        "The Arctic tern nests in the far north every summer.",
        "It then flies to Antarctica, 70,000 km a year.",
    ]
    assert text.endswith("70,000 km a year. [1]")


def test_captions_contents_lines_and_code_are_not_candidates():
    passage = (
        "Figure 3 shows the number of birds counted in each month of the year.\n"
        "Chapter 2 ........ 14\n"
        "```\nlet total = birds.len(); // the number of birds counted\n```\n\n"
        "We counted 412 birds in March, more than in any other month."
    )
    text, _ = extractive.extract_answer("How many birds were counted in March?", [(1, passage)], embed)
    assert text == "We counted 412 birds in March, more than in any other month. [1]"
