// Enhances the chat's forms, which work without this file (GOV.UK Chat's pattern): send with fetch,
// append the new turn to the log, announce the reply through a polite live region in the reply's own
// language, and leave focus where the user left it (a screen reader user keeps their place).
"use strict";
(function () {
  var log = document.getElementById("log");
  var ask = document.getElementById("ask");
  var status = document.getElementById("status");
  if (!log || !ask || !status || !window.fetch || !window.FormData || !window.URLSearchParams) { return; }
  var busy = false;
  document.documentElement.classList.add("js");

  function announce(node) {
    // Emptied first, so the same words said twice are still announced the second time.
    status.textContent = "";
    status.setAttribute("lang", node.getAttribute("lang") || document.documentElement.lang);
    var text = node.querySelector(".reply-text");
    window.setTimeout(function () { status.textContent = (text || node).textContent.replace(/\s+/g, " ").trim(); }, 50);
  }

  function notice(message) {
    var note = document.createElement("p");
    note.className = "notice";
    note.setAttribute("role", "alert");
    note.textContent = message;
    log.appendChild(note);
  }

  // When fetch itself fails (the network, not the server), the plain form post still works: the
  // pressed button travels as a hidden field, since form.submit() sends no submitter.
  function fallBack(form, submitter) {
    if (submitter && submitter.name) {
      var field = document.createElement("input");
      field.type = "hidden";
      field.name = submitter.name;
      field.value = submitter.value;
      form.appendChild(field);
    }
    form.submit();
  }

  function send(form, submitter) {
    var data = new FormData(form);
    if (submitter && submitter.name) { data.append(submitter.name, submitter.value); }
    var url = form.getAttribute("action") || window.location.pathname;
    busy = true;
    log.setAttribute("aria-busy", "true");
    return fetch(url + "?fragment=1", {
      method: "POST", body: new URLSearchParams(data), credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" }
    }).then(function (response) {
      return response.text().then(function (body) { return { ok: response.ok, status: response.status, body: body }; });
    }).then(function (result) {
      if (!result.ok) {
        if (result.status === 403) { window.location.reload(); return false; }  // a stale token: a fresh page
        notice(result.body);
        return false;
      }
      var holder = document.createElement("div");
      holder.innerHTML = result.body;  // our own server's markup, every user's character escaped by its templates
      var added = Array.prototype.slice.call(holder.children);
      added.forEach(function (node) { log.appendChild(node); });
      var replies = added.filter(function (node) { return node.classList.contains("turn-bot"); });
      if (replies.length) { announce(replies[replies.length - 1]); }
      if (added.length) { added[added.length - 1].scrollIntoView({ block: "nearest" }); }
      return true;
    }, function () {
      fallBack(form, submitter);
      return false;
    }).then(function (ok) {
      busy = false;
      log.removeAttribute("aria-busy");
      return ok;
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    // The language switch re-renders the whole page in the new language, and /forget starts afresh:
    // both are whole-page changes, left to the plain form post.
    if (form.classList.contains("forget") || form.classList.contains("languages")) { return; }
    event.preventDefault();
    if (busy) { return; }
    var submitter = event.submitter || document.activeElement;
    var input = form.querySelector("input[name=text]");
    send(form, submitter && submitter.tagName === "BUTTON" ? submitter : null).then(function (ok) {
      if (ok && input) { input.value = ""; }
    });
  });
}());
