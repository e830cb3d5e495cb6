// The live parts of the pages, and nothing else: every element with data-stream follows that server-sent event
// stream. `replace` swaps the HTML of an element the server rendered (and escaped); `log` appends a step's new
// lines; `end` closes the stream. The browser reconnects on its own, telling the server the last event id, which
// says how many lines of each log the page already has. What changes with the clock alone is written here, every
// second: `<time>` as "5 min ago" (its local time in the title), a running duration as "1m05s"; the words are
// those of pipeline_queue/server/pages/clock.py, which the command line uses.
(function () {
  "use strict";
  var MINUTE = 60, HOUR = 3600, DAY = 86400;

  function pad(number) { return (number < 10 ? "0" : "") + number; }

  function span(seconds) {
    var s = Math.max(0, Math.floor(seconds));
    if (s < MINUTE) { return s + "s"; }
    if (s < HOUR) { return Math.floor(s / MINUTE) + "m" + pad(s % MINUTE) + "s"; }
    if (s < DAY) { return Math.floor(s / HOUR) + "h" + pad(Math.floor(s % HOUR / MINUTE)) + "m"; }
    return Math.floor(s / DAY) + "d" + pad(Math.floor(s % DAY / HOUR)) + "h";
  }

  function ago(date, now) {
    var seconds = (now - date.getTime()) / 1000;
    if (seconds < -MINUTE || seconds >= 7 * DAY) {
      return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate());
    }
    if (seconds < 10) { return "just now"; }
    if (seconds < MINUTE) { return Math.floor(seconds) + " s ago"; }
    if (seconds < HOUR) { return Math.floor(seconds / MINUTE) + " min ago"; }
    if (seconds < DAY) { return Math.floor(seconds / HOUR) + " h ago"; }
    var days = Math.floor(seconds / DAY);
    return days === 1 ? "yesterday" : days + " days ago";
  }

  function tick(root) {
    var now = Date.now();
    root.querySelectorAll("time[datetime]").forEach(function (element) {
      var date = new Date(element.dateTime);
      element.textContent = ago(date, now);
      element.title = date.toLocaleString();
    });
    root.querySelectorAll(".elapsed[data-since]").forEach(function (element) {
      element.textContent = span((now - new Date(element.dataset.since).getTime()) / 1000);
    });
  }

  function setStatus(container, status) {
    container.querySelectorAll(".status").forEach(function (badge) {
      badge.className = "status status-" + status;
      badge.dataset.status = status;
      badge.textContent = status;
    });
  }

  function appendLog(change) {
    var panel = document.getElementById("log-" + change.step);
    if (!panel) { return; }
    var code = panel.querySelector("code");
    if (change.reset) { code.textContent = ""; code.dataset.next = "0"; }
    if (Number(code.dataset.next) !== change.from) { return; }  // not the lines that follow ours
    var pre = code.parentElement;
    var atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    change.lines.forEach(function (html) {
      var line = document.createElement("span");
      line.className = "line";
      line.innerHTML = html;  // rendered and escaped by the server (pipeline_queue/server/pages/ansi.py)
      code.appendChild(line);
    });
    code.dataset.next = String(change.from + change.lines.length);
    if (atBottom) { pre.scrollTop = pre.scrollHeight; }
    if (panel.dataset.status !== change.status) {
      panel.dataset.status = change.status;
      setStatus(panel.querySelector("summary"), change.status);
      if (change.status === "running" || change.status === "failure" || change.status === "error") {
        panel.open = true;
      }
    }
  }

  function follow(element) {
    var source = new EventSource(element.dataset.stream);
    source.addEventListener("replace", function (event) {
      var message = JSON.parse(event.data);
      var target = document.getElementById(message.target);
      if (target) { target.innerHTML = message.html; tick(target); }
    });
    source.addEventListener("log", function (event) { appendLog(JSON.parse(event.data)); });
    source.addEventListener("end", function () {
      source.close();
      document.body.dataset.live = "ended";
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    tick(document);
    window.setInterval(function () { tick(document); }, 1000);
    document.querySelectorAll("[data-stream]").forEach(follow);
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
    document.querySelectorAll("details.log").forEach(function (panel) {
      var status = panel.querySelector(".status");
      panel.dataset.status = status ? status.dataset.status : "";
    });
  });
}());
