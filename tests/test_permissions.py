"""Nobody reads what they may not: every route of the app, tried by a manager of another corpus.

The routes are collected from the URL conf, so a new one is covered without touching this file. The
API's routes are tried with user A's API token instead of a session."""

import json
import re
from io import BytesIO

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from api import tokens
from api.models import ApiToken
from ingestion import services
from ingestion.models import Chunk, Corpus, Document, Membership
from qa.models import Answer, Citation, Conversation, Source, Summary

SECRET = "zebra-lantern-0451"  # in corpus B's name, document, passage and question
PARAMETER = re.compile(r"<(?:(\w+):)?(\w+)>")


def collect_routes(resolver=None, prefix: str = "") -> list[tuple[str, str]]:
    """(name, route) of every URL pattern except the admin's (tested on its own)."""
    found = []
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name != "admin":
                found += collect_routes(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            found.append((entry.name or str(entry.pattern), prefix + str(entry.pattern)))
    return found


ROUTES = collect_routes()


@pytest.fixture
def two_teams(django_user_model, tmp_path):
    """Corpus A managed by user A; corpus B managed by user B, with a document and an answer."""
    user_a = django_user_model.objects.create_user(username="alice", password="pw")
    user_b = django_user_model.objects.create_user(username="bob", password="pw")
    corpus_a = services.create_corpus(name="Alpha team", manager=user_a)
    corpus_b = services.create_corpus(name=f"Bravo {SECRET}", manager=user_b)
    text = f"The launch code is {SECRET}."
    document = services.accept_upload(file=BytesIO(text.encode()), name=f"{SECRET}.txt", corpus=corpus_b).document
    Document.objects.filter(pk=document.pk).update(status=Document.Status.READY, uploaded_by=user_b)
    chunk = Chunk.objects.create(
        document=document, ordinal=0, text=text, char_start=0, char_end=len(text), token_count=9
    )
    conversation = Conversation.objects.create(owner=user_b, title=f"What is {SECRET}?")
    answer = Answer.objects.create(
        question=f"What is {SECRET}?",
        conversation=conversation,
        asked_by=user_b,
        text=f"It is {SECRET} [1].",
        mode=Answer.Mode.EXTRACTED,
        backend="extractive",
        status=Answer.Status.COMPLETE,
    )
    answer.corpora.set([corpus_b])
    Source.objects.create(answer=answer, number=1, chunk=chunk, document=document, title=document.original_name,
                          url=document.get_absolute_url(), text=text, score=0.9)  # fmt: skip
    token_b, _ = tokens.create_token(user_b, "Bravo's script")
    _, key_a = tokens.create_token(user_a, "Alpha's script")
    return {"a": user_a, "b": user_b, "corpus_a": corpus_a, "corpus_b": corpus_b, "document": document,
            "answer": answer, "conversation": conversation, "token_b": token_b, "key_a": key_a}  # fmt: skip


def url_for(route: str, name: str, team: dict) -> str:
    """The route filled in with corpus B's objects: its slug, or the id of its document, of B's answer, of
    B's conversation or of B's API token."""

    def value(match: re.Match) -> str:
        if match.group(2) == "slug":
            return team["corpus_b"].slug
        if name in ("answer", "rate", "rate_answer"):
            return str(team["answer"].pk)
        if "conversation" in name:
            return str(team["conversation"].pk)
        if "token" in name:
            return str(team["token_b"].pk)
        return str(team["document"].pk)

    return "/" + PARAMETER.sub(value, route)


def body_of(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode(errors="replace")


def request_as_a(client, method: str, route: str, name: str, team: dict):
    """The request user A would make: with the session on pages, with A's token on the API."""
    url = url_for(route, name, team)
    question = {"question": f"What is {SECRET}?", "corpora": [team["corpus_b"].slug]}
    if not route.startswith("api/"):
        client.force_login(team["a"])
        return getattr(client, method)(url, question | {"rating": "down"} if method == "post" else None)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {team['key_a']}"}
    if method != "post":
        return getattr(client, method)(url, **auth)
    if name == "upload":
        file = BytesIO(f"Planted by A: {SECRET}".encode())
        file.name = "planted.txt"
        return client.post(url, {"files": [file]}, **auth)
    body = question | {"rating": "down"}
    return client.post(url, json.dumps(body), content_type="application/json", **auth)


@pytest.mark.parametrize(("name", "route"), ROUTES, ids=[f"{name}:{route}" for name, route in ROUTES])
@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_no_route_shows_or_changes_another_teams_corpus(client, two_teams, name, route, method):
    response = request_as_a(client, method, route, name, two_teams)
    if response.status_code not in (302, 400, 401, 403, 404, 405, 422):
        assert SECRET not in body_of(response), f"{method.upper()} {route} showed corpus B to user A"
    # Not even an error may quote B's document (A's request itself names B's corpus, so a 4xx may echo that).
    assert "launch code" not in body_of(response)
    # Nothing of B's changed.
    document = Document.objects.get(pk=two_teams["document"].pk)
    assert document.status == Document.Status.READY
    assert two_teams["corpus_b"].documents.count() == 1
    assert Answer.objects.get(pk=two_teams["answer"].pk).rating is None
    assert Membership.objects.filter(corpus=two_teams["corpus_b"]).count() == 1
    assert Corpus.objects.filter(pk=two_teams["corpus_b"].pk).exists()
    assert ApiToken.objects.filter(pk=two_teams["token_b"].pk).exists()
    conversation = Conversation.objects.get(pk=two_teams["conversation"].pk)
    assert (conversation.title, conversation.turns.count()) == (f"What is {SECRET}?", 1)
    assert not Summary.objects.exists()


def test_a_user_of_another_team_sees_neither_the_corpus_nor_its_documents_in_lists(client, two_teams):
    client.force_login(two_teams["a"])
    for path in ("/", "/ask/", "/history/"):
        html = client.get(path).content.decode()
        assert "Alpha team" in html or path == "/history/"
        assert SECRET not in html


def test_a_reader_can_read_but_neither_upload_nor_delete(client, two_teams, django_user_model):
    reader = django_user_model.objects.create_user(username="rita", password="pw")
    Membership.objects.create(corpus=two_teams["corpus_b"], user=reader, role=Membership.Role.READER)
    client.force_login(reader)
    document = two_teams["document"]
    assert SECRET in client.get(document.get_absolute_url()).content.decode()
    upload = client.post(f"/corpora/{two_teams['corpus_b'].slug}/upload/", {"files": [BytesIO(b"x")]})
    assert upload.status_code == 403
    assert client.post(f"/documents/{document.pk}/delete/").status_code == 403
    assert Document.objects.filter(pk=document.pk).exists()


def test_a_contributor_may_delete_what_they_uploaded_but_not_what_others_did(client, two_teams, django_user_model):
    contributor = django_user_model.objects.create_user(username="carl", password="pw")
    Membership.objects.create(corpus=two_teams["corpus_b"], user=contributor, role=Membership.Role.CONTRIBUTOR)
    client.force_login(contributor)
    others = two_teams["document"]
    assert client.post(f"/documents/{others.pk}/delete/").status_code == 403
    own = services.accept_upload(
        file=BytesIO(b"Mine."), name="mine.txt", corpus=two_teams["corpus_b"], uploaded_by=contributor
    ).document
    assert client.post(f"/documents/{own.pk}/delete/").status_code == 302
    assert not Document.objects.filter(pk=own.pk).exists()
    assert Document.objects.filter(pk=others.pk).exists()


def test_a_group_membership_gives_its_role_to_every_member(client, two_teams, django_user_model):
    from django.contrib.auth.models import Group

    team = Group.objects.create(name="Bravo readers")
    member = django_user_model.objects.create_user(username="gina", password="pw")
    member.groups.add(team)
    Membership.objects.create(corpus=two_teams["corpus_b"], group=team, role=Membership.Role.READER)
    client.force_login(member)
    assert client.get(two_teams["corpus_b"].get_absolute_url()).status_code == 200
    assert client.get(two_teams["corpus_a"].get_absolute_url()).status_code == 404


def test_an_open_corpus_is_readable_by_every_user_but_only_as_a_reader(client, two_teams):
    Corpus.objects.filter(pk=two_teams["corpus_b"].pk).update(is_open=True)
    client.force_login(two_teams["a"])
    assert client.get(two_teams["document"].get_absolute_url()).status_code == 200
    assert client.post(f"/documents/{two_teams['document'].pk}/delete/").status_code == 403


def test_an_answer_no_longer_shows_a_passage_its_asker_may_no_longer_read(client, two_teams):
    Membership.objects.filter(corpus=two_teams["corpus_b"], user=two_teams["b"]).delete()
    client.force_login(two_teams["b"])
    html = client.get(two_teams["answer"].get_absolute_url()).content.decode()
    assert "The launch code is" not in html
    assert "no longer shown" in html
    data = client.get(f"/api/v1/answers/{two_teams['answer'].pk}").json()
    assert data["sources"] == []
    assert data["sources_hidden"] == 1


def test_an_answer_that_quoted_a_passage_its_asker_may_no_longer_read_is_withheld(client, two_teams):
    # The stored text "It is <secret> [1]." quotes the passage: hiding the source alone would still show it.
    answer = two_teams["answer"]
    source = answer.sources.get()
    Citation.objects.create(
        answer=answer, source=source, claim=f"It is {SECRET}.", claim_start=0, claim_end=10, form="number",
        support=0.9, is_verified=True, highlight_start=0, highlight_end=10,
    )  # fmt: skip
    Membership.objects.filter(corpus=two_teams["corpus_b"], user=two_teams["b"]).delete()
    client.force_login(two_teams["b"])
    for page in (answer.get_absolute_url(), "/history/"):
        html = client.get(page).content.decode()
        # The question is the asker's own, and the corpus' name one they knew: the quote must go.
        assert f"It is {SECRET}" not in html
        assert "can no longer read" in html
    data = client.get(f"/api/v1/answers/{answer.pk}").json()
    assert data["answer"] == ""
    assert data["text_withheld"] is True
    assert data["citations"] == []  # a citation's claim is a sentence of the answer
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {tokens.create_token(two_teams['b'], 'script')[1]}"
    assert client.get(f"/api/v1/answers/{answer.pk}").json()["answer"] == ""
    assert client.get("/api/v1/answers").json()["items"][0]["answer"] == ""


def test_the_admin_is_for_staff_only(client, two_teams):
    client.force_login(two_teams["a"])
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response.url.startswith("/admin/login/")


def test_asking_over_all_my_corpora_never_finds_another_teams_passage(client, django_user_model, tmp_path):
    """Corpus B holds the only passage that answers; user A, asking over everything A may read, must
    not get it, because B's index is never searched for A."""
    from ingestion.tasks import ingest
    from testkit.documents import TOPIC_PAGES, make_pdf

    user_a = django_user_model.objects.create_user(username="alice", password="pw")
    corpus_a = services.create_corpus(name="Alpha team", manager=user_a)
    corpus_b = services.create_corpus(name="Bravo team")
    notes = tmp_path / "answer.txt"
    notes.write_text(f"The vault combination of the Bravo team is {SECRET}. Only Bravo may know it.")
    for path, corpus in ((make_pdf(tmp_path / "a.pdf", pages=TOPIC_PAGES), corpus_a), (notes, corpus_b)):
        with open(path, "rb") as f:
            ingest(services.accept_upload(file=f, name=path.name, corpus=corpus).document.pk)
    client.force_login(user_a)
    question = {"question": "What is the vault combination of the Bravo team?"}
    data = client.post("/api/v1/ask", question, content_type="application/json").json()
    assert {source["document_id"] for source in data["sources"]} <= set(corpus_a.documents.values_list("pk", flat=True))
    assert SECRET not in str(data)
    # Named outright, B is refused as an unknown choice.
    question = {"question": "What is the vault combination?", "corpora": [corpus_b.slug]}
    assert client.post("/api/v1/ask", question, content_type="application/json").status_code == 400
    assert client.post("/ask/", question).status_code == 400  # the ask page's form, without its script


def test_the_admin_shows_a_corpus_members_inline(admin_client, two_teams):
    html = admin_client.get(f"/admin/ingestion/corpus/{two_teams['corpus_b'].pk}/change/").content.decode()
    assert "memberships-TOTAL_FORMS" in html
    assert "bob" in html


def test_a_manager_adds_a_reader_by_name_and_the_reader_can_then_read(client, two_teams, django_user_model):
    newcomer = django_user_model.objects.create_user(username="nina", password="pw")
    corpus = two_teams["corpus_b"]
    client.force_login(two_teams["b"])
    response = client.post(f"/corpora/{corpus.slug}/members/set/", {"name": "nina", "kind": "user", "role": "reader"})
    assert response.status_code == 302
    assert Membership.objects.get(corpus=corpus, user=newcomer).role == Membership.Role.READER
    client.force_login(newcomer)
    assert client.get(corpus.get_absolute_url()).status_code == 200
    assert client.get(f"/corpora/{corpus.slug}/members/").status_code == 403


def test_a_name_that_is_nobodys_is_a_form_error(client, two_teams):
    client.force_login(two_teams["b"])
    data = {"name": "nobody", "kind": "user", "role": "reader"}
    response = client.post(f"/corpora/{two_teams['corpus_b'].slug}/members/set/", data)
    assert response.status_code == 400
    assert "There is no user named “nobody”" in response.content.decode()


def test_the_last_manager_can_neither_leave_nor_step_down(client, two_teams):
    corpus = two_teams["corpus_b"]
    own = Membership.objects.get(corpus=corpus, user=two_teams["b"])
    client.force_login(two_teams["b"])
    client.post(f"/corpora/{corpus.slug}/members/{own.pk}/remove/")
    client.post(f"/corpora/{corpus.slug}/members/set/", {"name": "bob", "kind": "user", "role": "reader"})
    own.refresh_from_db()
    assert own.role == Membership.Role.MANAGER
    page = client.get(f"/corpora/{corpus.slug}/members/", follow=True).content.decode()
    assert "at least one manager" in page


def test_a_manager_can_open_the_corpus_to_every_user(client, two_teams):
    corpus = two_teams["corpus_b"]
    client.force_login(two_teams["b"])
    client.post(f"/corpora/{corpus.slug}/settings/", {"is_open": "1"})
    client.force_login(two_teams["a"])
    assert client.get(corpus.get_absolute_url()).status_code == 200


def test_an_answer_made_from_a_passage_its_asker_may_no_longer_read_is_withheld_even_uncited(client, two_teams):
    # A generated answer may restate a passage it does not cite; only passages still readable may show.
    Membership.objects.filter(corpus=two_teams["corpus_b"], user=two_teams["b"]).delete()
    client.force_login(two_teams["b"])
    data = client.get(f"/api/v1/answers/{two_teams['answer'].pk}").json()
    assert data["answer"] == ""
    assert data["citations"] == []
