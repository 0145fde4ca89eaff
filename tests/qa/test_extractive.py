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
