// A form with data-confirm="Question?" is sent only once the question is answered yes.
document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});
