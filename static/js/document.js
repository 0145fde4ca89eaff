// A citation opens this page with ?passage=<id>: bring that passage into view and give it focus.
(function () {
  "use strict";
  const cited = document.querySelector(".cited");
  if (cited) {
    cited.scrollIntoView({ block: "center" });
    cited.focus({ preventScroll: true });
  }
})();
