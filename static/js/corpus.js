// Keeps the documents table current while documents are being processed:
// the server renders each row; this swaps in rows that changed.
(function () {
  "use strict";
  const table = document.getElementById("documents");
  if (!table) return;
  const url = table.dataset.statusUrl;
  const ACTIVE = ["queued", "parsing", "embedding"];
  let delay = 1000;

  function activeIds() {
    return Array.from(table.querySelectorAll("tr[data-status]"))
      .filter((row) => ACTIVE.includes(row.dataset.status))
      .map((row) => row.dataset.documentId);
  }

  async function refresh() {
    const ids = activeIds();
    if (!ids.length) return;
    try {
      const query = new URLSearchParams({ ids: ids.join(",") });
      const response = await fetch(`${url}?${query}`, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) throw new Error(response.statusText);
      const data = await response.json();
      for (const [id, html] of Object.entries(data.rows)) {
        const row = table.querySelector(`tr[data-document-id="${id}"]`);
        if (row && row.outerHTML !== html.trim()) row.outerHTML = html;
      }
      delay = 1000;
      if (data.active) setTimeout(refresh, delay);
    } catch (error) {
      // The server may be restarting: try again, less often.
      delay = Math.min(delay * 2, 30000);
      setTimeout(refresh, delay);
    }
  }

  document.addEventListener("submit", (event) => {
    const message = event.target.dataset.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  });

  if (activeIds().length) setTimeout(refresh, delay);
})();
