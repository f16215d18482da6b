// Enhances the chat's forms (which work without this file): send with fetch, append the new turn to
// the log (an aria-live region, so screen readers hear it), keep focus where the user left it.
"use strict";
(function () {
  var log = document.getElementById("log");
  var ask = document.getElementById("ask");
  if (!log || !ask || !window.fetch || !window.FormData) { return; }
  var busy = false;

  function send(form, submitter) {
    var data = new FormData(form);
    if (submitter && submitter.name) { data.append(submitter.name, submitter.value); }
    var url = form.getAttribute("action") || window.location.pathname;
    busy = true;
    return fetch(url + "?fragment=1", {
      method: "POST", body: new URLSearchParams(data), credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" }
    }).then(function (response) {
      return response.text().then(function (body) { return { ok: response.ok, status: response.status, body: body }; });
    }).then(function (result) {
      if (!result.ok) {
        if (result.status === 403) { window.location.reload(); return; }
        var note = document.createElement("p");
        note.className = "notice";
        note.setAttribute("role", "alert");
        note.textContent = result.body;
        log.appendChild(note);
        return;
      }
      var holder = document.createElement("div");
      holder.innerHTML = result.body;  // our own server's markup, escaped by its templates
      var added = Array.prototype.slice.call(holder.children);
      added.forEach(function (node) { log.appendChild(node); });
      if (added.length) { added[added.length - 1].scrollIntoView({ block: "nearest" }); }
    }).catch(function () {
      form.submit();  // the network failed under fetch: fall back to the plain form post
    }).then(function () { busy = false; });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.classList.contains("forget") || form.classList.contains("languages")) { return; }
    if (busy) { event.preventDefault(); return; }
    event.preventDefault();
    var submitter = event.submitter || document.activeElement;
    var input = form.querySelector("input[name=text]");
    send(form, submitter && submitter.tagName === "BUTTON" ? submitter : null).then(function () {
      if (input) { input.value = ""; }
    });
  });
}());
