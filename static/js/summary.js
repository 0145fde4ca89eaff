// A document's summary page: while the summary is made, the sections appear as they finish (the API's
// GET /api/v1/documents/<id>/summary, polled); once ready, its [n] become links to where each section starts.
// Everything from a document or a model goes in through textContent.
(function () {
  "use strict";
  const box = document.getElementById("summary");
  // A failed summary's page offers "Try again" itself; there is nothing to follow.
  if (!box || !["queued", "running", "ready"].includes(box.dataset.status)) return;
  const POLL_MS = 1500;
  const MARKER = /\[(\d+)\]/g;

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function pages(part) {
    if (!part.first_page) return `Passage ${part.number}`;
    return part.last_page && part.last_page !== part.first_page
      ? `Pages ${part.first_page}–${part.last_page}` : `Page ${part.first_page}`;
  }

  function renderText(target, text, sources) {
    const byNumber = new Map(sources.map((s) => [s.number, s]));
    target.replaceChildren();
    let position = 0;
    for (const match of text.matchAll(MARKER)) {
      target.append(text.slice(position, match.index));
      const source = byNumber.get(Number(match[1]));
      if (source) {
        const group = element("span", "refs");
        const link = element("a", "ref", String(source.number));
        link.href = source.url;
        link.title = pages(source);
        link.setAttribute("aria-label", `Section ${source.number}: ${pages(source)}`);
        group.append("[", link, "]");
        target.append(group);
      } else {
        target.append(match[0]);
      }
      position = match.index + match[0].length;
    }
    target.append(text.slice(position));
  }

  function render(data) {
    box.dataset.status = data.status;
    const progress = document.getElementById("summary-progress");
    if (data.status === "ready") {
      progress.textContent = `${data.words} words` + (data.seconds ? ` · made in ${data.seconds.toFixed(1)} s` : "");
      renderText(document.getElementById("summary-text"), data.text, data.sources);
      const list = document.getElementById("summary-sources");
      list.replaceChildren(...data.sources.map((part) => {
        const item = element("li");
        item.value = part.number;
        const link = element("a", "", `[${part.number}] ${pages(part)}`);
        link.href = part.url;
        item.append(link);
        return item;
      }));
    } else if (data.status === "failed") {
      progress.textContent = "failed";
    } else {
      progress.textContent = `${data.status === "queued" ? "waiting for a worker" : "summarizing"}: section ` +
        `${data.sections_done} of ${data.sections_total || "…"}`;
    }
    const sections = document.querySelector("#summary-sections ol");
    if (sections) {
      sections.replaceChildren(...data.sections.map((part) => {
        const item = element("li");
        const link = element("a", "", pages(part));
        link.href = part.url;
        item.append(link, `: ${part.text}`);
        return item;
      }));
      document.getElementById("sections-count").textContent = String(data.sections.length);
    }
    if (data.message) {
      let message = document.getElementById("summary-message");
      if (!message) {
        message = element("p", "notice");
        message.id = "summary-message";
        message.setAttribute("role", "alert");
        progress.closest(".meta").after(message);
      }
      message.textContent = data.message;
    }
  }

  async function follow() {
    try {
      const response = await fetch(box.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (response.ok) {
        const data = await response.json();
        render(data);
        if (data.status === "ready" || data.status === "failed") {
          if (data.status === "failed") window.location.reload();  // to offer "Try again"
          return;
        }
      }
    } catch (error) { /* the connection dropped: try again below */ }
    window.setTimeout(follow, POLL_MS);
  }

  follow();
})();
