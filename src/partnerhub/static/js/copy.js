// Copy buttons: <button data-copy="ID"> copies the value (or text) of the element ID with the
// clipboard API; where it is unavailable (plain HTTP), it selects the text for a manual copy.
// The element [data-copy-status="ID"] says what happened (data-copied / data-failed texts).
"use strict";
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button) return;
  var id = button.getAttribute("data-copy");
  var source = document.getElementById(id);
  var status = document.querySelector('[data-copy-status="' + id + '"]');
  if (!source) return;
  var text = "value" in source ? source.value : source.textContent;
  function tell(message) { if (status) status.textContent = message || ""; }
  function fallback() {
    if (source.select) source.select();
    tell(button.getAttribute("data-failed"));
  }
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(function () {
      tell(button.getAttribute("data-copied"));
    }, fallback);
  } else {
    fallback();
  }
});
