// Live ward board: the server's event stream says that something of the
// signed-in user changed; the board then fetches its table body again. The
// page works without this script (reload it by hand).
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board || !window.EventSource || !window.fetch) return;
  var status = document.getElementById("live-status");
  var rowsURL = board.getAttribute("data-rows");
  var eventsURL = board.getAttribute("data-events");
  var timer = null, again = false, busy = false, backoff = 1000;

  function say(text, on) {
    status.textContent = text;
    status.className = "live " + (on ? "on" : "off");
  }

  // refresh replaces the table body, keeping the keyboard focus on the
  // same control when it is still there.
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    var focused = document.activeElement && document.activeElement.id;
    fetch(rowsURL, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (res) {
        if (res.status === 401) { window.location.reload(); return null; }
        if (!res.ok) throw new Error("HTTP " + res.status);
        return res.text();
      })
      .then(function (html) {
        if (html === null) return;
        var t = document.createElement("template");
        t.innerHTML = html;
        var fresh = t.content.querySelector("#rows");
        var old = document.getElementById("rows");
        if (fresh && old) old.parentNode.replaceChild(fresh, old);
        if (focused) {
          var el = document.getElementById(focused);
          if (el) el.focus();
        }
        say("Live: updated at " + new Date().toLocaleTimeString(), true);
      })
      .catch(function () { say("Live updates paused: the board could not be read; retrying.", false); })
      .then(function () {
        busy = false;
        if (again) { again = false; schedule(); }
      });
  }

  // schedule coalesces a burst of events into one refresh.
  function schedule() {
    if (timer) return;
    timer = setTimeout(function () { timer = null; refresh(); }, 250);
  }

  function connect() {
    var es = new EventSource(eventsURL);
    es.addEventListener("refresh", schedule);
    es.onopen = function () {
      backoff = 1000;
      say("Live: the board updates as things change.", true);
      schedule(); // catch up on what happened while disconnected
    };
    es.onerror = function () {
      if (es.readyState === EventSource.CLOSED) {
        // The server refused the stream: retry with a growing pause.
        say("Live updates paused; reconnecting.", false);
        refresh(); // a signed-out user is sent to sign in
        setTimeout(connect, backoff);
        backoff = Math.min(backoff * 2, 30000);
      } else {
        say("Live updates paused; reconnecting.", false);
      }
    };
  }
  connect();
})();
