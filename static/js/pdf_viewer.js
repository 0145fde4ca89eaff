// Shows a PDF with PDF.js (served from our static files) and opens it at the cited page, with the
// cited passage highlighted in the page's text layer. Pages are drawn as they come near the screen.
// PDF.js puts the document's text into the text layer with textContent: nothing in a PDF runs as HTML.
const viewer = document.getElementById("pdf-viewer");
const pagesElement = document.getElementById("pdf-pages");
const statusElement = document.getElementById("pdf-status");
const passageText = JSON.parse(document.getElementById("cited-passage").textContent || '""');
// A passage read from a scan (OCR) has no text layer to match: it comes with where its lines are on the
// page instead, as [x0, y0, x1, y1] fractions of the page's width and height.
const passageRegions = JSON.parse(document.getElementById("cited-regions")?.textContent || "[]");
const WORD = /[\p{L}\p{N}]+/gu;
const ANCHOR = 3; // words that must match in a row to place the start or the end of the passage
const SIZED_PAGES = 300; // up to this many pages, every page's size is read before any is drawn

function wordsOf(text) {
  return (text.normalize("NFKC").toLowerCase().match(WORD) || []);
}

function requestedPage(count) {
  const fromHash = /page=(\d+)/.exec(window.location.hash);
  const page = Number(fromHash ? fromHash[1] : viewer.dataset.page) || 1;
  return Math.min(Math.max(page, 1), count);
}

// Where on a page the passage lies, as the indexes of the text layer's pieces to mark. PDF.js and
// our extractor (pypdf) cut and space text differently, so it matches runs of words, not characters:
// the first run of the passage found on the page starts the highlight, the last one ends it.
// A passage that runs on to the next page matches its tail there the same way.
function passagePieces(pieces, passage) {
  const page = [];
  pieces.forEach((piece, index) => wordsOf(piece).forEach((word) => page.push({ word, index })));
  const anchor = Math.min(ANCHOR, passage.length);
  if (!anchor || page.length < anchor) return null;
  const runAt = (start, at) => {
    for (let k = 0; k < anchor; k++) if (page[at + k].word !== passage[start + k]) return false;
    return true;
  };
  let first = -1;
  let firstStart = 0;
  for (let start = 0; start + anchor <= passage.length && first < 0; start++) {
    for (let at = 0; at + anchor <= page.length; at++) if (runAt(start, at)) { first = at; break; }
    firstStart = start;
  }
  if (first < 0) return scatteredPieces(pieces, passage);
  let last = first + anchor - 1;
  let lastEnd = firstStart + anchor - 1;
  search: for (let end = passage.length - anchor; end > firstStart; end--) {
    for (let at = page.length - anchor; at > first; at--) {
      if (runAt(end, at)) { last = at + anchor - 1; lastEnd = end + anchor - 1; break search; }
    }
  }
  const indexes = [];
  for (let i = page[first].index; i <= page[last].index; i++) indexes.push(i);
  // rest: the words of the passage after the last one found here (on the next page, if anywhere)
  return { indexes, rest: passage.slice(lastEnd + 1) };
}

// When no run of words matches (right-to-left scripts, whose words the two extractors order
// differently, or odd spacing), the pieces made mostly of the passage's words, if together they
// hold most of it.
function scatteredPieces(pieces, passage) {
  const wanted = new Set(passage);
  const covered = new Set();
  const indexes = [];
  pieces.forEach((piece, index) => {
    const words = wordsOf(piece);
    const inside = words.filter((word) => wanted.has(word));
    if (words.length && inside.length / words.length >= 0.6) {
      indexes.push(index);
      inside.forEach((word) => covered.add(word));
    }
  });
  return covered.size >= 0.5 * wanted.size ? { indexes, rest: [] } : null;
}

function highlight(textLayer, passage) {
  const found = passagePieces(textLayer.textContentItemsStr, passage);
  if (!found) return { first: null, rest: [] };
  // The text layer's pieces are absolutely placed spans: marking each one covers the passage.
  const marked = [];
  for (const i of found.indexes) {
    const div = textLayer.textDivs[i];
    if (div && textLayer.textContentItemsStr[i].trim()) {
      div.classList.add("highlight");
      marked.push(div);
    }
  }
  return { first: marked[0] || null, rest: found.rest };
}

// Marks the regions on a drawn page: boxes placed in percentages of the page, so zooming keeps them in place.
function markRegions(box, regions) {
  const marks = regions.map(([x0, y0, x1, y1]) => {
    const mark = document.createElement("div");
    mark.className = "region-highlight";
    mark.style.left = `${x0 * 100}%`;
    mark.style.top = `${y0 * 100}%`;
    mark.style.width = `${(x1 - x0) * 100}%`;
    mark.style.height = `${(y1 - y0) * 100}%`;
    return mark;
  });
  box.append(...marks);
  return marks[0] || null;
}

// Without a drawable PDF, the passages as text, with the cited one opened and scrolled to.
function showTextInstead(message) {
  statusElement.textContent = message;
  const passages = document.getElementById("passages");
  if (passages) passages.open = true;
  const cited = document.querySelector(".chunks .cited");
  if (cited) {
    cited.scrollIntoView({ block: "center" });
    cited.focus({ preventScroll: true });
  }
}

async function main() {
  let pdfjs;
  try {
    pdfjs = await import(viewer.dataset.pdfjsUrl);
    pdfjs.GlobalWorkerOptions.workerSrc = viewer.dataset.workerUrl;
  } catch (error) {
    showTextInstead("This browser cannot show the PDF here: its text is below. The link opens the PDF on its own.");
    return;
  }
  let pdf;
  try {
    // isEvalSupported: false keeps PDF.js from compiling font programs with eval. Scans need the image
    // decoders (JPEG 2000, JBIG2) in wasm/; CJK text its character maps; PDFs that do not embed the 14
    // standard fonts need those; colour profiles the ICC ones.
    const assets = viewer.dataset.pdfjsAssetsUrl;
    pdf = await pdfjs.getDocument({
      url: viewer.dataset.fileUrl,
      isEvalSupported: false,
      wasmUrl: `${assets}wasm/`,
      cMapUrl: `${assets}cmaps/`,
      cMapPacked: true,
      standardFontDataUrl: `${assets}standard_fonts/`,
      iccUrl: `${assets}iccs/`,
    }).promise;
  } catch (error) {
    showTextInstead(error.name === "PasswordException"
      ? "This PDF asks for a password before it can be drawn here: its text is below."
      : "The PDF could not be drawn here: its text is below. The link opens the PDF on its own.");
    return;
  }
  const count = pdf.numPages;
  const target = requestedPage(count);
  const passage = wordsOf(passageText);
  // Each page's size, so that pages drawn later do not push the cited one out of place. A very long
  // PDF takes the first page's size for the pages up to the cited one, and each page's own as it is drawn.
  const known = await Promise.all(
    Array.from({ length: count }, (_, i) => i + 1)
      .filter((number) => count <= SIZED_PAGES || number === 1 || Math.abs(number - target) <= 2)
      .map(async (number) => [number, (await pdf.getPage(number)).getViewport({ scale: 1 })]),
  );
  const sizes = new Map(known);
  const natural = sizes.get(1);
  const room = pagesElement.clientWidth - 16; // less the padding of .pdf-pages
  const fit = Math.min(1.5, (room > 0 ? room : natural.width) / natural.width);
  let scale = fit;
  const ratio = Math.min(window.devicePixelRatio || 1, 2);
  const pages = [];
  const marks = new Map(); // page number → the passage's words to highlight there

  for (let number = 1; number <= count; number++) {
    const box = document.createElement("div");
    box.className = "pdf-page";
    box.dataset.pageNumber = String(number);
    box.setAttribute("role", "region");
    box.setAttribute("aria-label", `Page ${number} of ${count}`);
    const size = sizes.get(number) || null;
    box.style.width = `${Math.floor((size || natural).width * scale)}px`;
    box.style.height = `${Math.floor((size || natural).height * scale)}px`;
    pagesElement.append(box);
    pages.push({ number, box, drawn: null, generation: 0, size });
  }

  // Draws a page (canvas and text layer); resolves to its text layer, or null if it was released
  // while drawing.
  function draw(entry) {
    if (entry.drawn) return entry.drawn;
    const generation = entry.generation;
    entry.drawn = (async () => {
      const page = await pdf.getPage(entry.number);
      if (generation !== entry.generation) return null;
      const viewport = page.getViewport({ scale });
      entry.size = page.getViewport({ scale: 1 });
      entry.box.style.width = `${Math.floor(viewport.width)}px`;
      entry.box.style.height = `${Math.floor(viewport.height)}px`;
      entry.box.style.setProperty("--total-scale-factor", String(scale));
      const canvas = document.createElement("canvas");
      canvas.width = Math.floor(viewport.width * ratio);
      canvas.height = Math.floor(viewport.height * ratio);
      canvas.style.width = `${Math.floor(viewport.width)}px`;
      canvas.style.height = `${Math.floor(viewport.height)}px`;
      canvas.setAttribute("aria-hidden", "true");
      const layer = document.createElement("div");
      layer.className = "textLayer";
      entry.box.replaceChildren(canvas, layer);
      await page.render({
        canvasContext: canvas.getContext("2d"),
        viewport,
        transform: ratio !== 1 ? [ratio, 0, 0, ratio, 0, 0] : null,
      }).promise;
      const textLayer = new pdfjs.TextLayer({ textContentSource: page.streamTextContent(), container: layer, viewport });
      await textLayer.render();
      if (generation !== entry.generation) return null;
      if (marks.has(entry.number)) highlight(textLayer, marks.get(entry.number));
      if (entry.number === target && passageRegions.length) markRegions(entry.box, passageRegions);
      entry.box.dataset.drawn = "true";
      return textLayer;
    })().catch(() => {
      // A page PDF.js cannot draw (broken, or too large a canvas when zoomed far in) stays blank,
      // and may be tried again when it next comes into view.
      if (generation === entry.generation) entry.drawn = null;
      return null;
    });
    return entry.drawn;
  }

  // A drawn page holds a canvas of several megabytes: pages far from view give theirs back.
  function release(entry) {
    if (!entry.drawn) return;
    entry.generation += 1;
    entry.drawn = null;
    entry.box.replaceChildren();
    delete entry.box.dataset.drawn;
  }

  const targetEntry = pages[target - 1];
  let mark = null;
  const textLayer = await draw(targetEntry);
  if (passageRegions.length && textLayer) {
    mark = targetEntry.box.querySelector(".region-highlight");
  } else if (passage.length && textLayer) {
    const found = highlight(textLayer, passage);
    mark = found.first;
    if (mark) marks.set(target, passage);
    if (mark && found.rest.length >= ANCHOR && target < count) {
      // The passage runs on to the next page.
      marks.set(target + 1, found.rest);
      const next = await draw(pages[target]);
      if (next) highlight(next, found.rest);
    }
  }
  (mark || targetEntry.box).scrollIntoView({ block: mark ? "center" : "start" });
  targetEntry.box.dataset.target = "true";

  const nearby = new IntersectionObserver((seen) => {
    seen.forEach((item) => {
      const entry = pages[Number(item.target.dataset.pageNumber) - 1];
      if (item.isIntersecting) draw(entry);
      else release(entry);
    });
  }, { rootMargin: "150% 0px" });
  pages.forEach((entry) => nearby.observe(entry.box));

  const describe = (number) => {
    const found = !passage.length ? "" : mark
      ? " The cited passage is highlighted."
      : " The cited passage could not be located on the page; its text is shown above.";
    statusElement.textContent = `Page ${number} of ${count}.${number === target ? found : ""}`;
  };
  describe(target);

  // Zoom: every page is resized at once and those near the screen drawn again, with the page that
  // was in the middle of the screen kept there.
  const zoomLabel = document.getElementById("pdf-zoom-level");
  function zoom(factor) {
    const next = Math.min(4, Math.max(0.25, factor === 0 ? fit : scale * factor));
    if (Math.abs(next - scale) < 0.001) return;
    const middle = window.innerHeight / 2;
    const anchor = pages.find((entry) => {
      const box = entry.box.getBoundingClientRect();
      return box.top <= middle && box.bottom >= middle;
    }) || targetEntry;
    const before = anchor.box.getBoundingClientRect();
    const fraction = (middle - before.top) / before.height;
    scale = next;
    zoomLabel.textContent = `${Math.round((100 * scale) / fit)}%`;
    pages.forEach((entry) => {
      release(entry);
      const size = entry.size || natural;
      entry.box.style.width = `${Math.floor(size.width * scale)}px`;
      entry.box.style.height = `${Math.floor(size.height * scale)}px`;
    });
    const after = anchor.box.getBoundingClientRect();
    window.scrollBy(0, after.top + fraction * after.height - middle);
    // The observer reports only changes: pages that stayed near the screen must be looked at again.
    pages.forEach((entry) => {
      nearby.unobserve(entry.box);
      nearby.observe(entry.box);
    });
  }
  document.getElementById("pdf-zoom-out").addEventListener("click", () => zoom(1 / 1.25));
  document.getElementById("pdf-zoom-in").addEventListener("click", () => zoom(1.25));
  document.getElementById("pdf-zoom-fit").addEventListener("click", () => zoom(0));
  document.getElementById("pdf-zoom").hidden = false;
  // Keeps "Page N of M" true while the reader scrolls: the page across the middle of the screen.
  let pending = false;
  window.addEventListener("scroll", () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      const middle = window.innerHeight / 2;
      const shown = pages.find((entry) => {
        const box = entry.box.getBoundingClientRect();
        return box.top <= middle && box.bottom >= middle;
      });
      if (shown) describe(shown.number);
    });
  }, { passive: true });
}

main().catch(() => showTextInstead("The PDF could not be drawn here: its text is below. The link opens the PDF on its own."));
