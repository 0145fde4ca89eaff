// The corpus page: uploads files through the API (/api/v1/corpora/<slug>/documents, with the session and
// its CSRF token), one request each, so every file has its own progress bar, then keeps the documents
// table current while documents are processed, with rows the page renders.
// Rows are rendered (and escaped) by the server; names typed by users go in through textContent.
(function () {
  "use strict";
  const table = document.getElementById("documents");
  if (!table) return;
  const form = document.getElementById("upload-form");  // absent for readers
  const tbody = table.querySelector("tbody");
  const input = form && form.querySelector("input[type=file]");
  const dropzone = document.getElementById("dropzone");
  const list = document.getElementById("upload-list");
  const maxBytes = form && Number(form.dataset.maxBytes);
  const csrfToken = form && form.querySelector("[name=csrfmiddlewaretoken]").value;
  const ACTIVE = ["queued", "parsing", "embedding"];
  const POLL_MS = 1000;
  const announcer = document.getElementById("status-announcer");
  let pollTimer = null;
  let delay = POLL_MS;

  // ---- Live status of the documents table ----

  function activeIds() {
    return Array.from(tbody.querySelectorAll("tr[data-status]"))
      .filter((row) => ACTIVE.includes(row.dataset.status))
      .map((row) => row.dataset.documentId);
  }

  function watch() {
    if (pollTimer === null && activeIds().length) pollTimer = setTimeout(refresh, delay);
  }

  async function refresh() {
    pollTimer = null;
    const ids = activeIds();
    if (!ids.length) return;
    try {
      const query = new URLSearchParams({ ids: ids.join(",") });
      const response = await fetch(`${table.dataset.statusUrl}?${query}`, {
        headers: { Accept: "application/json" }, credentials: "same-origin",
      });
      if (!response.ok) throw new Error(response.statusText);
      const data = await response.json();
      for (const [id, html] of Object.entries(data.rows)) {
        const row = tbody.querySelector(`tr[data-document-id="${id}"]`);
        if (row && row.outerHTML !== html.trim()) replaceRow(row, html);
      }
      delay = POLL_MS;
    } catch (error) {
      // The server may be restarting: try again, less often.
      delay = Math.min(delay * 2, 30000);
    }
    watch();
  }

  // Swaps in a row's new rendering, keeping the keyboard focus on the same button, and says aloud
  // when a document is done.
  function replaceRow(row, html) {
    const focusedForm = row.contains(document.activeElement) ? document.activeElement.closest("form") : null;
    const before = row.dataset.status;
    row.insertAdjacentHTML("afterend", html);
    const fresh = row.nextElementSibling;
    row.remove();
    if (focusedForm) {
      const again = fresh.querySelector(`form[action="${focusedForm.getAttribute("action")}"] button`);
      if (again) again.focus();
    }
    const after = fresh.dataset.status;
    if (after !== before && (after === "ready" || after === "failed")) {
      const title = fresh.querySelector("td a").textContent;
      announcer.textContent = after === "ready" ? `“${title}” is ready.` : `“${title}” failed: ${fresh.querySelector(".error-text")?.textContent || ""}`;
    }
  }

  // The row of a document just uploaded, as the page renders it.
  async function rowOf(id) {
    const query = new URLSearchParams({ ids: String(id) });
    const response = await fetch(`${table.dataset.statusUrl}?${query}`, {
      headers: { Accept: "application/json" }, credentials: "same-origin",
    });
    if (!response.ok) throw new Error(response.statusText);
    return (await response.json()).rows[id];
  }

  // The upload's own answer says what the document is and the state it was accepted in: shown at
  // once, it is the row until the page's rendering arrives (by then a worker has often started).
  function showAccepted(accepted) {
    const row = document.createElement("tr");
    row.dataset.documentId = String(accepted.id);
    row.dataset.status = accepted.status;
    const name = document.createElement("td");
    const link = document.createElement("a");
    link.href = accepted.page_url;
    link.textContent = accepted.title || accepted.original_name;
    name.append(link);
    const state = document.createElement("td");
    const label = document.createElement("span");
    label.className = `status status-${accepted.status}`;
    label.textContent = accepted.status[0].toUpperCase() + accepted.status.slice(1);
    state.append(label);
    row.append(name, state, document.createElement("td"), document.createElement("td"));
    tbody.prepend(row);
    table.hidden = false;
    const empty = document.getElementById("no-documents");
    if (empty) empty.remove();
    return row;
  }

  function flashRow(id) {
    const row = tbody.querySelector(`tr[data-document-id="${id}"]`);
    if (!row) return;
    row.classList.remove("flash");
    void row.offsetWidth;  // restart the animation
    row.classList.add("flash");
  }

  // ---- Uploads ----

  function wireUploads() {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (input.files.length) uploadAll(Array.from(input.files)).then(() => { input.value = ""; });
    });
    input.addEventListener("change", () => {
      if (input.files.length) uploadAll(Array.from(input.files)).then(() => { input.value = ""; });
    });
    // With the script running, choosing files uploads them at once: the button is for pages without it.
    document.getElementById("upload-submit").hidden = true;

    ["dragenter", "dragover"].forEach((type) => dropzone.addEventListener(type, (event) => {
      event.preventDefault();
      dropzone.classList.add("dragging");
    }));
    ["dragleave", "dragend"].forEach((type) => dropzone.addEventListener(type, () => dropzone.classList.remove("dragging")));
    dropzone.addEventListener("drop", (event) => {
      event.preventDefault();
      dropzone.classList.remove("dragging");
      const files = Array.from(event.dataTransfer.files || []);
      if (files.length) uploadAll(files);
    });
    // A file dropped beside the zone would make the browser navigate away to show it.
    window.addEventListener("dragover", (event) => event.preventDefault());
    window.addEventListener("drop", (event) => event.preventDefault());
  }

  function formatSize(bytes) {
    if (bytes < 1024) return `${bytes} bytes`;
    if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
    return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  }

  function uploadItem(file) {
    const item = document.createElement("li");
    item.className = "upload-item";
    const name = document.createElement("span");
    name.className = "upload-name";
    name.textContent = `${file.name} (${formatSize(file.size)})`;
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", `Upload of ${file.name}`);
    const note = document.createElement("span");
    note.className = "upload-note muted small";
    note.textContent = "Waiting…";
    item.append(name, bar, note);
    list.prepend(item);
    return { item, bar, note };
  }

  function finish(view, outcome, message) {
    view.item.dataset.outcome = outcome;
    view.note.className = "upload-note small " + (outcome === "error" ? "error-text" : outcome === "duplicate" ? "muted" : "ok-text");
    view.note.textContent = message;
    if (outcome !== "uploaded") view.bar.remove();
  }

  // The file's SHA-256, to ask the server whether the corpus has it before sending it. Browsers
  // offer crypto.subtle only on https and localhost; elsewhere the server finds duplicates itself.
  async function knownCopy(file) {
    if (!(window.crypto && crypto.subtle) || file.size > maxBytes) return null;
    try {
      const digest = await crypto.subtle.digest("SHA-256", await file.arrayBuffer());
      const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
      const response = await fetch(`${form.dataset.apiUrl}?sha256=${hex}`, {
        headers: { Accept: "application/json" }, credentials: "same-origin",
      });
      const data = response.ok ? await response.json() : null;
      return data && data.items && data.items.length ? data.items[0] : null;
    } catch (error) {
      return null;  // unreadable file or network trouble: upload it and let the server decide
    }
  }

  function send(file, view) {
    return new Promise((resolve) => {
      const body = new FormData();
      body.append("files", file, file.name);
      const request = new XMLHttpRequest();
      request.open("POST", form.dataset.apiUrl);
      request.setRequestHeader("Accept", "application/json");
      request.setRequestHeader("X-CSRFToken", csrfToken);
      request.upload.addEventListener("progress", (event) => {
        if (!event.lengthComputable) return;
        view.bar.value = Math.round((100 * event.loaded) / event.total);
        view.note.textContent = `Uploading… ${view.bar.value}%`;
      });
      request.addEventListener("load", async () => {
        let data = null;
        try { data = JSON.parse(request.responseText); } catch (error) { /* not JSON: a proxy's error page */ }
        const result = data && data.results && data.results[0];
        if (request.status === 200 && result) {
          view.bar.value = 100;
          if (result.outcome === "uploaded") {
            finish(view, "uploaded", "Uploaded; processing below.");
            const accepted = showAccepted(result.document);
            try {
              const html = await rowOf(result.document.id);
              if (html) replaceRow(accepted, html);
            } catch (error) { /* the next poll brings the row */ }
            watch();
          } else if (result.outcome === "duplicate") {
            finish(view, "duplicate", `${file.name} is already in this corpus as “${result.document.title}”; not added again.`);
            flashRow(result.document.id);
          } else {
            finish(view, "error", `${file.name}: ${result.error}`);
          }
        } else if (request.status === 401) {
          finish(view, "error", "Your session has ended. Reload the page and log in again.");
        } else if (data && data.detail) {
          finish(view, "error", data.detail);
        } else if (request.status === 413) {
          finish(view, "error", "The server refused this file because it is too large.");
        } else {
          finish(view, "error", "The server could not take this file. Try again in a moment.");
        }
        resolve();
      });
      request.addEventListener("error", () => {
        finish(view, "error", "The connection was lost during the upload. Try again.");
        resolve();
      });
      request.send(body);
    });
  }

  async function uploadAll(files) {
    const queue = [];
    for (const file of files) {
      const view = uploadItem(file);
      if (file.size > maxBytes) {
        finish(view, "error", `This file is larger than the limit of ${formatSize(maxBytes)}; it was not uploaded.`);
      } else {
        queue.push([file, view]);
      }
    }
    // One at a time: the first file starts processing while the next one uploads.
    for (const [file, view] of queue) {
      view.note.textContent = "Checking…";
      const copy = await knownCopy(file);
      if (copy) {
        finish(view, "duplicate", `${file.name} is already in this corpus as “${copy.title}”; not uploaded again.`);
        flashRow(copy.id);
      } else {
        await send(file, view);
      }
    }
  }

  if (form) wireUploads();

  document.addEventListener("submit", (event) => {
    const message = event.target.dataset.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  });

  watch();
  // Files chosen before this script ran (on a slow connection) are uploaded now.
  if (input && input.files.length) uploadAll(Array.from(input.files)).then(() => { input.value = ""; });
})();
