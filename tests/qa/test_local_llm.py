"""Generated answers from a real model: llama.cpp's server serving SmolLM2-135M, over real HTTP, nothing
patched. SmolLM2's answers prove the plumbing, not quality: these tests check what reaches the reader."""

import json
import signal
import time

import httpx2
import pytest
from django.core.management import call_command

from config.broker import free_port
from qa import backends, llm, local_llm, prompting, services
from qa.models import Answer

from ..api.test_answers import ask as api_ask
from .test_answers import QUESTION, read_events

# A question that makes a small model write on; its answer is cut at the token limit, not by the model.
LONG_QUESTION = "Write a long essay on how the Arctic tern migrates, with a paragraph on each leg of its migration."


def test_a_generated_answer_streams_through_the_api_with_its_passages(api, member, field_notes, make_member,
                                                                      local_llm_server):  # fmt: skip
    make_member(member, field_notes)
    events = read_events(api_ask(api, {"question": QUESTION, "corpora": [field_notes.slug]}, stream=True))
    kinds = [kind for _, kind, _ in events]
    assert kinds[:2] == ["searched", "sources"]
    assert kinds[-1] == "done"
    tokens = [data["text"] for _, kind, data in events if kind == "token"]
    assert len(tokens) >= 3, kinds  # streamed piece by piece, not in one lump
    done = events[-1][2]
    assert done["status"] in ("complete", "incomplete"), done
    answer = Answer.objects.get(pk=done["answer_id"])
    assert (answer.mode, answer.backend, answer.model) == ("generated", "local", "SmolLM2-135M-Instruct.Q4_1.gguf")
    assert answer.text == "".join(tokens).strip()
    assert answer.sources.count() == len(events[1][2]["sources"]) > 0


def test_the_prompt_budget_is_counted_by_the_servers_own_tokenizer(field_notes, local_llm_server):
    chosen = backends.backend()
    blocks = [
        prompting.Block(source=n, title="Field notes", date="", url=f"u{n}", text=f"Passage {n}: a tern. " * 20)
        for n in (1, 2, 3)
    ]
    packed = prompting.pack(blocks, QUESTION, budget=10_000, count_tokens=chosen.count_tokens)
    assert packed.is_counted
    # What the server itself counts for that prompt, chat template included.
    response = httpx2.post(
        f"{local_llm_server.url}/v1/chat/completions",
        json={"messages": [{"role": "system", "content": packed.system}, {"role": "user", "content": packed.user}],
              "max_tokens": 1},
        timeout=30,
    )  # fmt: skip
    served = response.json()["usage"]["prompt_tokens"]
    assert served <= packed.tokens <= served + prompting.TEMPLATE_TOKENS
    # A budget one block short of what the counts say all three need drops the last one.
    tight = prompting.pack(blocks, QUESTION, budget=packed.tokens - 1, count_tokens=chosen.count_tokens)
    assert [block.source for block in tight.blocks] == [1, 2]


def test_stopping_an_answer_cancels_generation_on_the_server(field_notes, own_local_llm_server, settings):
    settings.LLM_MAX_NEW_TOKENS = 2000
    events = services.answer_question(LONG_QUESTION, [field_notes])
    answer_id = next(events).data["answer_id"]  # what is searched
    assert next(events).kind == "sources"
    assert next(events).kind == "token"
    events.close()  # what the page's Stop button does: the reader's connection goes, and ours with it
    answer = Answer.objects.get(pk=answer_id)
    assert (answer.status, answer.message) == ("incomplete", services.STOPPED)
    log = own_local_llm_server.log_path
    deadline = time.monotonic() + 20
    while "disconnected" not in log.read_text(errors="replace"):
        assert time.monotonic() < deadline, "the server went on generating for nobody"
        time.sleep(0.2)
    # Free again: the server serves one request at a time, and answers this one at once.
    started = time.monotonic()
    httpx2.post(f"{own_local_llm_server.url}/extras/tokenize/count", json={"input": "hello"}, timeout=30)
    assert time.monotonic() - started < 5


def test_a_server_killed_mid_answer_leaves_an_incomplete_answer_with_its_passages(field_notes, own_local_llm_server,
                                                                                 settings):  # fmt: skip
    settings.LLM_MAX_NEW_TOKENS = 2000
    events = services.answer_question(LONG_QUESTION, [field_notes])
    assert next(events).kind == "searched"
    sources = next(events).data
    assert next(events).kind == "token"
    own_local_llm_server.process.send_signal(signal.SIGKILL)
    done = list(events)[-1].data
    answer = Answer.objects.get(pk=sources["answer_id"])
    assert (answer.status, done["status"]) == ("incomplete", "incomplete")
    assert answer.text
    assert llm.CUT_OFF in answer.message
    assert answer.sources.count() == len(sources["sources"]) > 0


def test_a_server_that_never_came_up_gives_a_plain_message(field_notes, settings, tmp_path):
    not_a_model = tmp_path / "broken.gguf"
    not_a_model.write_bytes(b"GGUF but not really" * 100)
    server = local_llm.LocalServer(not_a_model, port=free_port(), context=512, log_path=tmp_path / "log")
    with pytest.raises(local_llm.LocalModelError, match="stopped at start"):
        server.start(timeout=60)
    settings.LLM_BACKEND, settings.LLM_URL = "local", server.url
    answer = services.ask(QUESTION, [field_notes])
    assert answer.status == "unavailable"
    assert answer.message.startswith(llm.UNREACHABLE)
    assert answer.sources.exists()


def test_evaluate_scores_generated_answers(field_notes, local_llm_server, tmp_path, capsys):
    questions = tmp_path / "questions.jsonl"
    questions.write_text(json.dumps({"question": QUESTION, "answers": ["Arctic tern"], "doc": "field-notes.pdf"}))
    call_command("evaluate", corpus=field_notes.slug, questions=str(questions), generate=True, json=True)
    summary = json.loads(capsys.readouterr().out)
    assert summary["questions"] == 1
    assert summary["generated_failures"] == 0
    assert 0 <= summary["generated_token_f1"] <= 1
    assert "generated_contains_answer" in summary
