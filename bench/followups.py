"""Follow-up questions over HotpotQA: retrieval of the follow-up's gold paragraph alone, made standalone by
the heuristic (no LLM), by an LLM's rewrite through the app's own prompt, and by the reference rewrite
returned by the fake TGI server (the retrieval side alone).

The set is made mechanically from the two-hop ("bridge") questions of
../shared/eval/hotpotqa/hotpotqa_dev_distractor_500_factoid_hfformat.jsonl: a question that names its bridge
entity by a noun phrase with a relative clause is cut there. Either the clause identifies the bridge (form A:
"What government position was held by the woman who portrayed Corliss Archer in the film Kiss and Tell?"
becomes "Which woman portrayed Corliss Archer in the film Kiss and Tell?", then "What government position
was held by her?"), or it asks about it (form B: "Brown State Fishing Lake is in a country that has a
population of how many inhabitants?" becomes "Brown State Fishing Lake is in which country?", then "It has
a population of how many inhabitants?"). The reference rewrite is the original question; the gold paragraph
is the one holding the answer (qa/evaluation.py's). Questions whose cut reads badly are left out by rule (an
object relative clause, a main verb after the clause, a follow-up without a content word).

Usage: DATA_DIR=... python bench/followups.py [--questions FILE] [--corpus hotpot] [--ingest] [--print-set]
       [--llm-url URL --llm-backend local|tgi|openai]   (also score an LLM's rewrites)
The corpus is every paragraph of the file (4,938), as `manage.py evaluate --corpus hotpot --ingest` makes it.
"""

import argparse
import datetime
import json
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_QUESTIONS = ROOT.parent / "shared/eval/hotpotqa/hotpotqa_dev_distractor_500_factoid_hfformat.jsonl"

NOUN_PHRASE = re.compile(
    r"\b(the|a|an) ((?:(?!(?:the|a|an|who|that|which|whose|whom)\b)[\w'.-]+ ){0,3}?[\w'.-]+) (who|that|which) ",
    re.IGNORECASE,
)
WH_WORDS = {"how", "what", "which", "who", "whom", "when", "where", "whose", "why"}
PREPOSITIONS = {"at", "in", "on", "by", "for", "from", "with", "to", "of", "into", "during", "under", "near", "as"}
AUXILIARIES = {"was", "is", "did", "does", "were", "are", "has", "have", "do", "had", "will", "can", "could"}
DETERMINERS = {"the", "a", "an", "his", "her", "its", "their", "this", "that", "these", "those"}
HE = {"man", "actor", "king", "boy", "father", "son", "brother", "husband", "prince", "emperor", "sportsman"}
SHE = {"woman", "actress", "queen", "girl", "mother", "daughter", "sister", "wife", "princess", "empress"}
NOT_PLURAL = {"series", "class", "business", "species", "news", "bus", "campus", "status", "works", "isles"}
PEOPLE = {"physicist", "president", "player", "politician", "senator", "singer", "author", "historian", "pilot",
          "boxer", "engineer", "mountaineer", "professor", "coach", "writer", "artist", "musician", "director",
          "producer", "composer", "rapper", "poet", "novelist", "scientist", "lord", "governor", "editor", "child",
          "person", "mogul", "cricketer", "footballer"}  # fmt: skip
# Singular they takes the plural verb.
AGREEMENT = {"They is ": "They are ", "They was ": "They were ", "They has ": "They have "}
WORD = re.compile(r"[\w'-]+")


@dataclass(frozen=True)
class FollowUp:
    id: str
    first: str
    follow_up: str
    reference: str  # the original question: the follow-up made standalone
    answer: str
    form: str


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def pronoun(head: str, relative: str, *, subject: bool) -> str:
    if head in HE:
        return "he" if subject else "him"
    if head in SHE:
        return "she" if subject else "her"
    # "who" is said of people: singular they.
    if relative == "who" or head in PEOPLE or (head.endswith("s") and head not in NOT_PLURAL):
        return "they" if subject else "them"
    return "it"


def make_follow_up(row: dict) -> FollowUp | None:
    """The first question and the follow-up made from a bridge question, or None when it cannot be cut well."""
    from qa.citations import STOPWORDS

    if row["type"] != "bridge":
        return None
    question = " ".join(row["question"].split()).rstrip(" ?")
    match = NOUN_PHRASE.search(question)
    if match is None:
        return None
    _, noun, relative = match.groups()
    relative = relative.lower()
    noun_words, clause = words(noun), question[match.end() :]
    prefix = question[: match.start()].strip()
    prefix_words, clause_words = words(prefix), words(clause)
    if (
        not clause_words
        or "," in clause
        or not prefix_words
        or noun_words[-1] in PREPOSITIONS
        or any(w in AUXILIARIES for w in noun_words)
        or clause_words[0] in DETERMINERS
        or clause.split()[0][:1].isupper()
    ):  # an object relative clause
        return None  # fmt: skip
    head = noun_words[-1]
    if set(clause_words) & WH_WORDS and not set(prefix_words) & WH_WORDS:
        first, form = f"{prefix} which {noun}?", "B"
        follow_up = f"{pronoun(head, relative, subject=True).capitalize()} {clause}?"
        for wrong, right in AGREEMENT.items():
            follow_up = follow_up.replace(wrong, right)
    elif prefix_words[0] in WH_WORDS | {"in"} and not set(clause_words) & WH_WORDS:
        if prefix_words[-1] in AUXILIARIES:
            return None  # "When was the man who … born?": the main verb is after the clause
        first, form = f"Which {noun} {clause}?", "A"
        follow_up = f"{prefix} {pronoun(head, relative, subject=prefix_words[-1] in WH_WORDS)}?"
    else:
        return None
    pronouns = {"he", "him", "she", "her", "they", "them", "it"}
    if not [w for w in words(follow_up) if w not in STOPWORDS and w not in pronouns]:
        return None
    first = first[0].upper() + first[1:]
    return FollowUp(row["id"], first, follow_up, row["question"].strip(), row["answer"], form)


def load_set(path: Path) -> list[FollowUp]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [item for item in map(make_follow_up, rows) if item is not None]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    parser.add_argument("--corpus", default="hotpot")
    parser.add_argument("--ingest", action="store_true", help="first ingest the file's paragraphs (as evaluate)")
    parser.add_argument("--print-set", action="store_true", help="print the set and stop")
    parser.add_argument("--llm-url", default="", help="also rewrite with this LLM server")
    parser.add_argument("--llm-backend", default="local")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--answers", type=int, default=0,
                        help="with --llm-url: also answer this many follow-ups with and without the previous answer "
                        "in the prompt, and score both")  # fmt: skip
    args = parser.parse_args()
    os.environ |= {"DJANGO_SETTINGS_MODULE": "config.settings", "LLM_BACKEND": "extractive", "LLM_URL": ""}
    import django

    django.setup()
    from django.core.management import call_command

    from ingestion.models import Corpus
    from qa import evaluation, followups, services
    from qa.retrieval import retrieve

    items = load_set(args.questions)
    if args.print_set:
        for item in items:
            print(json.dumps(item.__dict__))
        return
    if args.ingest:
        call_command("evaluate", corpus=args.corpus, questions=args.questions, ingest=True, limit=1,
                     no_extractive=True, json=True)  # fmt: skip
    corpus = Corpus.objects.get(slug=args.corpus)
    gold = {q.text.strip(): q for q in evaluation.load_questions(args.questions).questions}
    today = datetime.date.today()

    def rank_of(text: str, item: FollowUp) -> int | None:
        found = retrieve(text, [corpus], k=args.k)
        ranked = [evaluation.Retrieved(p.chunk.document.original_name, p.chunk.page, p.chunk.text)
                  for p in found.passages]  # fmt: skip
        return evaluation.first_hit_rank(gold[item.reference], ranked)

    ways = {"alone": [], "heuristic, question terms": [], "heuristic, and answer names": [],
            "reference (fake server)": []}  # fmt: skip
    llm_backend = make_backend(args) if args.llm_url else None
    if llm_backend:
        ways["llm rewrite"] = []
    fake = start_fake_server()
    started = time.perf_counter()
    for item in items:
        # The first turn as the app answers it here (extracted: no LLM server), names and all.
        first_answer = services.ask(item.first, [corpus]).text
        turns = [followups.Turn(item.first, item.first, answer=first_answer, date=today)]
        ways["alone"].append(rank_of(item.follow_up, item))
        plain = followups.heuristic(item.follow_up, turns, answer_names=False)
        ways["heuristic, question terms"].append(rank_of(plain.text, item))
        ways["heuristic, and answer names"].append(rank_of(followups.heuristic(item.follow_up, turns).text, item))
        fake.answer = f"Question: {item.reference}\nNeeds the previous answer: no"
        ways["reference (fake server)"].append(rank_of(rewritten(fake_backend(fake), item, turns, today), item))
        if llm_backend:
            ways["llm rewrite"].append(rank_of(rewritten(llm_backend, item, turns, today), item))
    fake.stop()
    if llm_backend and args.answers:
        print(previous_answer_effect(llm_backend, items[: args.answers], corpus, gold, today))
    print(f"{len(items)} follow-ups ({sum(i.form == 'A' for i in items)} form A, "
          f"{sum(i.form == 'B' for i in items)} form B), {time.perf_counter() - started:.0f} s")  # fmt: skip
    for name, ranks in ways.items():
        at = {k: sum(1 for r in ranks if r is not None and r <= k) / len(ranks) for k in (1, 5, 10)}
        print(f"{name:>26}: recall@1 {at[1]:.3f}  recall@5 {at[5]:.3f}  recall@10 {at[10]:.3f}")


def previous_answer_effect(backend, items: list[FollowUp], corpus, gold, today) -> str:
    """How often the LLM's answer to the standalone follow-up holds the gold answer, without and with the
    first answer as one more block (as the app adds it when the rewrite says the question needs it)."""
    from django.conf import settings

    from qa import evaluation, followups, llm, prompting, services
    from qa.answering import make_blocks
    from qa.retrieval import retrieve

    hits = {"without": 0, "with": 0}
    for item in items:
        first_answer = services.ask(item.first, [corpus]).text
        turn = followups.Turn(item.first, item.first, answer=first_answer, date=today)
        blocks = make_blocks(retrieve(item.reference, [corpus]).passages, settings.SITE_URL)
        for way, context in (("without", ""), ("with", followups.previous_answer_block(turn))):
            prompt = prompting.pack(blocks, item.reference, budget=backend.prompt_budget(), context=context)
            try:
                text = backend.complete(prompt.system, prompt.user, max_new_tokens=64)
            except llm.LLMError:
                text = ""
            hits[way] += evaluation.contains_answer(text, [gold[item.reference].answers[0]])
    return (f"answers holding the gold answer, {len(items)} follow-ups: without the previous answer "
            f"{hits['without'] / len(items):.3f}, with it {hits['with'] / len(items):.3f}")  # fmt: skip


def rewritten(backend, item: FollowUp, turns, today) -> str:
    from qa import followups, llm

    system, user = followups.rewrite_prompt(item.follow_up, turns, today)
    try:
        reply = backend.complete(system, user, max_new_tokens=followups.REWRITE_MAX_TOKENS)
    except llm.LLMError:
        reply = ""
    return followups.read_rewrite(reply, item.follow_up, turns).text


def start_fake_server():
    from testkit.fake_llm import FakeLLM

    return FakeLLM().start()


def fake_backend(fake):
    from qa.llm import TGIBackend

    return TGIBackend(fake.url, timeout=10, temperature=0.01, max_new_tokens=96, max_input_tokens=4000)


def make_backend(args):
    from qa.llm import BACKENDS

    return BACKENDS[args.llm_backend](args.llm_url, timeout=120, temperature=0.01, max_new_tokens=96,
                                      max_input_tokens=4000, model=os.environ.get("LLM_MODEL", ""))  # fmt: skip


if __name__ == "__main__":
    main()
