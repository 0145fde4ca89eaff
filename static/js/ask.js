// The ask page: each question becomes a turn in a thread. The answer streams in from the
// server-sent events of the API's /api/v1/ask/stream (sources, then tokens, then done with the citations),
// which takes the session with its CSRF token; ratings go to the API too.
// Everything from a document or a model goes in through textContent: nothing of theirs runs as HTML.
(function () {
  "use strict";
  const form = document.getElementById("ask-form");
  if (!form) return;
  const thread = document.getElementById("thread");
  const template = document.getElementById("turn-template");
  const question = form.querySelector("textarea[name=question]");
  const askButton = document.getElementById("ask-button");
  const stopButton = document.getElementById("stop-button");
  const newButton = document.getElementById("new-conversation");
  const conversationInput = form.querySelector("input[name=conversation]");
  const csrfToken = form.querySelector("[name=csrfmiddlewaretoken]").value;
  // [1], [1, 3], [1-2]: the markers the model was asked to write.
  const MARKER = /\[(\s*\d+\s*(?:[,;\u2013-]\s*\d+\s*)*)\]/g;
  const EXPIRED = "Your session has ended. Reload the page and log in again.";
  const OCR_NOTE = "This passage was read from a picture of the page; a letter may be misread. Open the page to see it.";
  let turns = 0;
  let controller = null;

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function sourceLabel(source) {
    return source.title + (source.page ? `, page ${source.page}` : "");
  }

  // The answer text with each [n] turned into a link to the passage it cites.
  function renderAnswer(box, text, sources) {
    const byNumber = new Map(sources.map((s) => [s.number, s]));
    box.replaceChildren();
    let position = 0;
    for (const match of text.matchAll(MARKER)) {
      box.append(text.slice(position, match.index));
      const group = element("span", "refs");
      group.append("[");
      for (const part of match[1].split(/(\d+)/)) {
        const source = /^\d+$/.test(part) ? byNumber.get(Number(part)) : null;
        if (source) {
          const link = element("a", "ref", part);
          link.href = source.url;
          link.target = "_blank";
          link.rel = "noopener";
          link.title = `Source ${source.number}: ${sourceLabel(source)}`;
          link.setAttribute("aria-label", `Source ${source.number}: ${sourceLabel(source)}`);
          group.append(link);
        } else {
          group.append(part);
        }
      }
      group.append("]");
      box.append(group);
      position = match.index + match[0].length;
    }
    box.append(text.slice(position));
  }

  // The passage with the sentences that verified citations rest on marked. The server's offsets
  // count characters (code points), not JavaScript's UTF-16 units, hence Array.from.
  function renderPassage(box, text, spans) {
    const chars = Array.from(text);
    const cut = (start, end) => chars.slice(start, end).join("");
    box.replaceChildren();
    let position = 0;
    spans.slice().sort((a, b) => a[0] - b[0]).forEach(([start, end]) => {
      start = Math.max(start, position);
      if (start >= end) return;
      box.append(cut(position, start), element("mark", "", cut(start, end)));
      position = end;
    });
    box.append(cut(position));
  }

  // An extracted answer is a copy of its passage's sentence: "quoted", not "verified" (which is for what a
  // model wrote).
  function sourceCard(turnId, source, citations, isQuote) {
    const card = element("li", "source-card");
    card.id = `${turnId}-source-${source.number}`;
    const head = element("div", "source-head");
    head.append(element("span", "source-number", `[${source.number}]`));
    const link = element("a", "", source.title);
    link.href = source.url;
    link.target = "_blank";
    link.rel = "noopener";
    head.append(link);
    if (citations.length && isQuote) {
      const mark = element("span", "status status-ready", "quoted");
      mark.title = "The answer is the highlighted sentence, copied from this passage.";
      head.append(mark);
      card.classList.add("is-cited");
    } else if (citations.length) {
      const verified = citations.filter((c) => c.verified).length;
      const state = verified === citations.length ? "verified" : verified ? "partly verified" : "unverified";
      const mark = element("span", `status ${verified ? "status-ready" : "status-failed"}`, state);
      mark.title = verified
        ? "The highlighted sentence of this passage is close in meaning to the claim that cites it."
        : "No sentence of this passage is close in meaning to the claim that cites it: check it yourself.";
      head.append(mark);
      card.classList.add("is-cited");
    }
    card.append(head);
    const facts = [source.page ? `Page ${source.page}` : "", source.date].filter(Boolean).join(" · ");
    if (facts || source.ocr) {
      const line = element("div", "muted small", facts);
      if (source.ocr) {
        const note = element("span", "ocr-note", "read from a scan (OCR)");
        note.title = OCR_NOTE;
        line.append(facts ? " · " : "", note);
      }
      card.append(line);
    }
    if (source.section) {
      card.append(element("div", "passage-section small", source.section));
    }
    const passage = element("p", "passage");
    renderPassage(passage, source.text, citations.filter((c) => c.verified).map((c) => c.highlight));
    card.append(passage);
    const open = element("a", "small", source.page ? `Open page ${source.page} ↗` : "Open the passage ↗");
    open.href = source.url;
    open.target = "_blank";
    open.rel = "noopener";
    card.append(open);
    return card;
  }

  function renderSources(turn, sources, citations, mode) {
    const section = turn.querySelector(".sources-section");
    const [main, more] = turn.querySelectorAll(".source-cards");
    const details = turn.querySelector(".more-sources");
    main.replaceChildren();
    more.replaceChildren();
    const cited = new Set(citations.map((c) => c.source));
    sources.forEach((source) => {
      const card = sourceCard(turn.id, source, citations.filter((c) => c.source === source.number), mode === "extracted");
      // Once citations are known, the passages nobody cited fold away under the cited ones.
      (cited.size && !cited.has(source.number) ? more : main).append(card);
    });
    details.hidden = !more.children.length;
    details.querySelector("summary").textContent = mode === "extracted"
      ? `Other relevant passages (${more.children.length})`
      : `${more.children.length} more passage${more.children.length === 1 ? "" : "s"} the answer did not cite`;
    section.hidden = !sources.length;
  }

  function showMessage(turn, text) {
    const box = turn.querySelector(".message");
    box.textContent = text;
    box.hidden = !text;
  }

  // The API answers 401 to a request whose session has ended.
  function sessionExpired(response) {
    return response.status === 401;
  }

  function postJson(url, data, signal) {
    return fetch(url, {
      method: "POST",
      body: JSON.stringify(data),
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken },
      credentials: "same-origin",
      signal,
    });
  }

  async function rate(turn, answerId, rating) {
    const buttons = Array.from(turn.querySelectorAll(".feedback button"));
    if (buttons.some((b) => b.disabled)) return;  // one rating at a time
    const pressed = buttons.find((b) => b.dataset.rating === rating);
    const body = { rating: pressed.getAttribute("aria-pressed") === "true" ? "none" : rating };
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const response = await postJson(`/api/v1/answers/${answerId}/rating`, body);
      if (sessionExpired(response)) throw new Error(EXPIRED);
      if (!response.ok) throw new Error("Your rating could not be saved. Try again.");
      const data = await response.json();
      buttons.forEach((b) => b.setAttribute("aria-pressed", String((b.dataset.rating === "up" ? 1 : -1) === data.rating)));
    } catch (error) {
      showMessage(turn, error instanceof TypeError ? "Your rating could not be saved: the connection was lost." : error.message);
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  }

  function newTurn(text) {
    turns += 1;
    const turn = template.content.firstElementChild.cloneNode(true);
    turn.id = `turn-${turns}`;
    turn.querySelector(".question").textContent = text;
    thread.append(turn);
    turn.scrollIntoView({ block: "nearest" });
    return turn;
  }

  function handle(turn, state, kind, data) {
    const answer = turn.querySelector(".answer-text");
    const mode = turn.querySelector(".mode");
    if (kind === "searched") {
      // Later questions continue this conversation.
      if (data.conversation_id) {
        conversationInput.value = data.conversation_id;
        newButton.hidden = false;
      }
      showSearched(turn, data);
    } else if (kind === "sources") {
      state.sources = data.sources;
      turn.dataset.state = "answering";
      turn.dataset.answerId = data.answer_id;
      mode.textContent = data.mode === "extracted" ? "Extracted from the passages, not generated" : "Generated from the passages";
      mode.classList.toggle("extracted", data.mode === "extracted");
      renderSources(turn, data.sources, []);
    } else if (kind === "token") {
      state.text += data.text;
      turn.dataset.state = "streaming";
      answer.setAttribute("aria-busy", "true");  // screen readers read it once, when complete
      // Redrawn with each token, except under a reader who has tabbed onto one of its links.
      if (!answer.contains(document.activeElement)) renderAnswer(answer, state.text, state.sources);
    } else if (kind === "done") {
      state.done = true;
      turn.dataset.state = "done";
      turn.dataset.status = data.status;
      answer.classList.remove("pending");
      answer.setAttribute("aria-busy", "false");
      renderAnswer(answer, data.answer, data.sources);
      if (!data.answer) {
        answer.hidden = true;
        mode.textContent = data.status === "no_passages" ? "No answer" : "Not answered";
      } else if (data.mode === "generated") {
        mode.textContent = `Generated by ${data.model || "a language model"} from the passages`;
      }
      renderSources(turn, data.sources, data.citations, data.mode);
      showMessage(turn, data.message);
      const actions = turn.querySelector(".turn-actions");
      actions.querySelector(".permalink").href = `/answers/${data.answer_id}/`;
      actions.querySelectorAll(".feedback button").forEach((button) => {
        button.setAttribute("aria-pressed", String((button.dataset.rating === "up" ? 1 : -1) === data.rating));
        button.addEventListener("click", () => rate(turn, data.answer_id, button.dataset.rating));
      });
      // An answer with no text has nothing to rate, but its passages still have a permanent link.
      actions.querySelector(".feedback").hidden = !data.answer;
      actions.hidden = false;
    }
  }

  const REWRITES = {
    llm: "the question rewritten with the conversation",
    heuristic: "the question with the earlier question's key terms",
    edited: "as you edited it",
    "fell back": "as asked: it could not be rewritten",
  };

  // "Searched for: …" when the search differed from the question, always with a way to edit it and ask again.
  function showSearched(turn, data) {
    const line = turn.querySelector(".searched");
    line.replaceChildren();
    line.hidden = false;
    const isSame = data.searched_for === data.question;
    line.append(isSame ? "Searched for the question as asked. " : "Searched for: ");
    if (!isSame) {
      line.append(element("q", "searched-text", data.searched_for), " ");
      line.append(element("span", "muted", `(${REWRITES[data.rewrite] || "as asked"}) `));
    }
    const edit = element("button", "link", "Edit and ask again");
    edit.type = "button";
    edit.addEventListener("click", () => editSearch(turn, data));
    line.append(edit);
  }

  function editSearch(turn, data) {
    const line = turn.querySelector(".searched");
    const box = element("form", "inline-form searched-edit");
    const label = element("label", "", "Search for");
    const input = element("input");
    input.type = "text";
    input.value = data.searched_for;
    input.maxLength = 2000;
    input.id = `${turn.id}-search`;
    label.htmlFor = input.id;
    const send = element("button", "secondary", "Ask again");
    send.type = "submit";
    box.append(label, input, send);
    box.addEventListener("submit", (event) => {
      event.preventDefault();
      const search = input.value.trim();
      if (!search || controller) return;
      ask(data.question, search);
    });
    line.replaceChildren(box);
    input.focus();
  }

  async function ask(text, search = "") {
    const turn = newTurn(text);
    const state = { text: "", sources: [], done: false };
    const body = { question: text, corpora: new FormData(form).getAll("corpora"), search };
    if (conversationInput.value) body.conversation = Number(conversationInput.value);
    controller = new AbortController();
    askButton.disabled = true;
    stopButton.hidden = false;
    try {
      const response = await postJson(form.dataset.streamUrl, body, controller.signal);
      if (sessionExpired(response)) throw new Error(EXPIRED);
      if (!response.ok) {
        let detail = "";
        try {
          const data = await response.json();
          detail = Object.values(data.fields || {}).flat().join(" ") || data.detail || "";
        } catch (error) { /* not JSON */ }
        throw new Error(detail || "The question could not be asked. Check it and try again.");
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let kind = "message";
          let data = "";
          block.split("\n").forEach((line) => {
            if (line.startsWith("event: ")) kind = line.slice(7);
            else if (line.startsWith("data: ")) data += line.slice(6);
          });
          if (data) handle(turn, state, kind, JSON.parse(data));
        }
      }
      if (!state.done) throw new Error("The answer stopped before it was complete. Try again.");
    } catch (error) {
      turn.dataset.state = "done";
      turn.querySelector(".answer-text").classList.remove("pending");
      turn.querySelector(".answer-text").setAttribute("aria-busy", "false");
      if (error.name === "AbortError") {
        showMessage(turn, "You stopped this answer; what came before is kept.");
      } else {
        showMessage(turn, error instanceof TypeError
          ? "The connection was lost before the answer was complete. Try again."
          : error.message);
      }
      if (!state.text) {
        turn.querySelector(".mode").textContent = "Not answered";
        // Nothing came back: the question goes back in the box, to send again.
        if (error.name !== "AbortError" && !question.value) question.value = text;
      }
    } finally {
      controller = null;
      askButton.disabled = false;
      stopButton.hidden = true;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = question.value.trim();
    if (!text || controller) {
      question.focus();
      return;
    }
    question.value = "";
    ask(text).then(() => {
      // Back to the box for a follow-up, unless the reader has moved on to the answer's links.
      const at = document.activeElement;
      if (!at || at === document.body || at === question || at === askButton || at === stopButton) question.focus();
    });
  });
  question.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
  });
  stopButton.addEventListener("click", () => controller && controller.abort());
  // A new conversation: the next question is read on its own, and the thread starts empty.
  newButton.addEventListener("click", () => {
    if (controller) return;
    conversationInput.value = "";
    thread.replaceChildren();
    document.getElementById("earlier-turns")?.remove();
    newButton.hidden = true;
    question.focus();
  });
})();
