"""Conversations: a follow-up is searched as a question of its own (by the LLM's rewrite, or the heuristic),
and a conversation is listed, read, continued, renamed and deleted by its owner only, in the pages and the API."""

import json

import pytest
from django.test import Client

from ingestion.models import Document, Membership
from ingestion.tasks import ingest
from qa import conversations, services
from qa.models import Answer, Conversation, Source

FIRST = "What is TraceMonkey?"
FOLLOW_UP = "And who wrote it?"
# "it" is what the first question asked about (not the other names its answer holds).
HEURISTIC = "And who wrote TraceMonkey?"
REWRITE = "Question: Who wrote the TraceMonkey paper?\nNeeds the previous answer: no"
DOCUMENTS = {
    "tracemonkey.txt": "TraceMonkey is a trace-based just-in-time compiler for JavaScript, which shipped in "
    "Firefox 3.5. It records hot loops as traces and compiles them to machine code.",
    "tracemonkey-paper.txt": "The TraceMonkey paper, Trace-based Just-in-Time Type Specialization for Dynamic "
    "Languages, was written by Andreas Gal, Brendan Eich, Mike Shaver and their colleagues at Mozilla and "
    "the University of California, Irvine.",
    "holmes.txt": "Holmes held the letter to the light. Who wrote it? The writer was a man, he said, who wrote "
    "in haste with a broad pen, and the paper was bought in Bohemia.",
}


@pytest.fixture
def library(corpus, upload, tmp_path, member):
    for name, text in DOCUMENTS.items():
        path = tmp_path / name
        path.write_text(text)
        document = upload(path)
        ingest(document.pk)
        assert Document.objects.get(pk=document.pk).status == Document.Status.READY
    Membership.objects.create(corpus=corpus, user=member, role=Membership.Role.READER)
    return corpus


def prompts(fake_llm) -> list[str]:
    """The prompts the fake server was asked to answer, oldest first."""
    return [body["inputs"] for path, body in fake_llm.requests if path in ("/", "/generate", "/generate_stream")]


def titles(answer: Answer) -> list[str]:
    return [source.title for source in answer.sources.all()]


def test_alone_the_follow_up_finds_the_wrong_passage(library, member):
    answer = services.ask(FOLLOW_UP, [library], user=member)
    assert titles(answer)[0] == "holmes"


def test_without_an_llm_the_follow_up_is_searched_with_the_first_questions_names(library, member):
    first = services.ask(FIRST, [library], user=member)
    assert first.conversation.title == FIRST
    follow_up = services.ask(FOLLOW_UP, [library], user=member, conversation=first.conversation)
    assert follow_up.conversation_id == first.conversation_id
    assert (follow_up.searched_for, follow_up.rewrite) == (HEURISTIC, "heuristic")
    assert titles(follow_up)[0] == "tracemonkey-paper"


def test_with_an_llm_the_follow_up_is_rewritten_from_the_conversation_and_asked_standalone(library, member,
                                                                                           fake_llm):  # fmt: skip
    fake_llm.replies = [("Rewrite the user's last question", REWRITE)]
    fake_llm.answer = "TraceMonkey is a JavaScript compiler [1]."
    first = services.ask(FIRST, [library], user=member)
    fake_llm.answer = "Andreas Gal and Brendan Eich wrote it [1]."
    follow_up = services.ask(FOLLOW_UP, [library], user=member, conversation=first.conversation)
    rewrite_prompt = prompts(fake_llm)[-2]
    assert "User (" in rewrite_prompt
    assert "): What is TraceMonkey?\nAssistant: TraceMonkey is a JavaScript" in rewrite_prompt
    assert (follow_up.searched_for, follow_up.rewrite) == ("Who wrote the TraceMonkey paper?", "llm")
    answer_prompt = prompts(fake_llm)[-1]
    assert "BEGININSTRUCTION\nWho wrote the TraceMonkey paper?\n" in answer_prompt
    assert "previous answer" not in answer_prompt
    assert titles(follow_up)[0] == "tracemonkey-paper"
    assert follow_up.citations.get().is_verified


def test_the_previous_answer_goes_into_the_prompt_only_when_the_rewrite_says_it_is_needed(library, member, fake_llm):
    fake_llm.replies = [("Rewrite the user's last question", "Question: Is TraceMonkey in Firefox 3.5?\n"
                                                             "Needs the previous answer: yes")]  # fmt: skip
    fake_llm.answer = "TraceMonkey is a JavaScript compiler that shipped in Firefox 3.5 [1]."
    first = services.ask(FIRST, [library], user=member)
    follow_up = services.ask("Is that the one in Firefox?", [library], user=member, conversation=first.conversation)
    assert follow_up.used_previous_answer
    answer_prompt = prompts(fake_llm)[-1]
    assert "kind: previous answer in this conversation\nquestion: What is TraceMonkey?\nENDCONTEXT\n" in answer_prompt
    assert answer_prompt.index("previous answer") < answer_prompt.index("BEGININSTRUCTION")


def test_an_absurd_rewrite_falls_back_to_the_question_and_the_answer_says_so(library, member, fake_llm):
    fake_llm.replies = [("Rewrite the user's last question", "Question: What is the capital of France?")]
    first = services.ask(FIRST, [library], user=member)
    follow_up = services.ask(FOLLOW_UP, [library], user=member, conversation=first.conversation)
    assert (follow_up.searched_for, follow_up.rewrite) == (FOLLOW_UP, "fell back")
    assert conversations.FELL_BACK in follow_up.message


def test_an_answer_from_a_document_the_asker_can_no_longer_read_is_not_given_to_the_rewrite(library, member,
                                                                                             fake_llm):  # fmt: skip
    fake_llm.replies = [("Rewrite the user's last question", REWRITE)]
    fake_llm.answer = "SECRET ANSWER TEXT [1]."
    first = services.ask(FIRST, [library], user=member)
    Source.objects.filter(answer=first).update(document=None)  # its documents were deleted since
    services.ask(FOLLOW_UP, [library], user=member, conversation=first.conversation)
    assert "SECRET ANSWER TEXT" not in prompts(fake_llm)[-2]


def post(client, url: str, payload: dict):
    return client.post(url, json.dumps(payload), content_type="application/json")


def test_the_api_lists_reads_continues_renames_and_deletes_ones_own_conversations(api, library, member):
    first = post(api, "/api/v1/ask", {"question": FIRST}).json()
    conversation_id = first["conversation_id"]
    second = post(api, "/api/v1/ask", {"question": FOLLOW_UP, "conversation": conversation_id}).json()
    assert second["conversation_id"] == conversation_id
    assert second["searched_for"] == HEURISTIC
    assert second["rewrite"] == "heuristic"
    edited = post(api, "/api/v1/ask", {"question": FOLLOW_UP, "conversation": conversation_id,
                                       "search": "authors of the TraceMonkey paper"}).json()  # fmt: skip
    assert (edited["searched_for"], edited["rewrite"]) == ("authors of the TraceMonkey paper", "edited")

    listed = api.get("/api/v1/conversations").json()["items"]
    assert [(row["conversation_id"], row["turns"], row["title"]) for row in listed] == [(conversation_id, 3, FIRST)]
    read = api.get(f"/api/v1/conversations/{conversation_id}").json()
    assert [a["question"] for a in read["answers"]] == [FIRST, FOLLOW_UP, FOLLOW_UP]
    assert read["answers"][1]["sources"][0]["title"] == "tracemonkey-paper"

    renamed = api.patch(f"/api/v1/conversations/{conversation_id}", json.dumps({"title": "  TraceMonkey  "}),
                        content_type="application/json")  # fmt: skip
    assert renamed.json()["title"] == "TraceMonkey"
    assert api.patch(f"/api/v1/conversations/{conversation_id}", json.dumps({"title": "   "}),
                     content_type="application/json").status_code == 422  # fmt: skip

    assert api.delete(f"/api/v1/conversations/{conversation_id}").status_code == 204
    assert not Conversation.objects.exists()
    assert not Answer.objects.exists()
    assert Document.objects.count() == len(DOCUMENTS)


def test_another_users_conversation_is_a_404_everywhere_but_staff_may_read_it(api, library, django_user_model):
    other = django_user_model.objects.create_user(username="otto", password="pw-for-tests-only")
    theirs = Conversation.objects.create(owner=other, title="Theirs")
    for response in [
        post(api, "/api/v1/ask", {"question": FOLLOW_UP, "conversation": theirs.pk}),
        post(api, "/api/v1/ask/stream", {"question": FOLLOW_UP, "conversation": theirs.pk}),
        api.get(f"/api/v1/conversations/{theirs.pk}"),
        api.patch(f"/api/v1/conversations/{theirs.pk}", json.dumps({"title": "Mine"}), content_type="application/json"),
        api.delete(f"/api/v1/conversations/{theirs.pk}"),
    ]:
        assert response.status_code == 404, response.content
    assert Conversation.objects.get(pk=theirs.pk).title == "Theirs"
    assert not Answer.objects.exists()

    admin = django_user_model.objects.create_user(username="ada", password="pw-for-tests-only", is_staff=True)
    client = Client()
    client.force_login(admin)
    assert client.get(f"/api/v1/conversations/{theirs.pk}").status_code == 200
    assert client.delete(f"/api/v1/conversations/{theirs.pk}").status_code == 404
    assert client.get(f"/conversations/{theirs.pk}/").status_code == 200
    assert client.post(f"/conversations/{theirs.pk}/delete/").status_code == 404


def test_the_pages_list_show_rename_continue_and_delete_a_conversation(client, library, member):
    client.force_login(member)
    first = services.ask(FIRST, [library], user=member)
    services.ask(FOLLOW_UP, [library], user=member, conversation=first.conversation)
    conversation = first.conversation

    history = client.get("/history/").content.decode()
    assert history.count('class="question"') == 1
    assert "2 questions" in history
    page = client.get(f"/conversations/{conversation.pk}/").content.decode()
    assert f"Searched for: <q>{HEURISTIC}</q>" in page
    assert f'href="/ask/?conversation={conversation.pk}"' in page

    ask_page = client.get(f"/ask/?conversation={conversation.pk}").content.decode()
    assert f'name="conversation" value="{conversation.pk}"' in ask_page
    assert "Continuing" in ask_page
    assert "And who wrote it?" in ask_page
    # Without the page's script, the form posts the follow-up into the conversation.
    response = client.post("/ask/", {"question": "When was it released?", "conversation": conversation.pk})
    assert Answer.objects.latest("pk").conversation_id == conversation.pk
    assert response.status_code == 302

    client.post(f"/conversations/{conversation.pk}/rename/", {"title": "Tracing JITs"})
    assert Conversation.objects.get(pk=conversation.pk).title == "Tracing JITs"
    client.post(f"/conversations/{conversation.pk}/delete/")
    assert not Conversation.objects.exists()
    assert not Answer.objects.exists()


def test_asking_into_another_users_conversation_from_the_page_is_refused(client, library, member, django_user_model):
    other = django_user_model.objects.create_user(username="otto", password="pw-for-tests-only")
    theirs = Conversation.objects.create(owner=other, title="Theirs")
    client.force_login(member)
    assert client.get(f"/ask/?conversation={theirs.pk}").status_code == 404
    assert client.post("/ask/", {"question": FOLLOW_UP, "conversation": theirs.pk}).status_code == 404
    assert not theirs.turns.exists()
