// The page at /: solve an uploaded instance, show the report, offer downloads.
// Plain JavaScript, no libraries, nothing loaded from elsewhere.
(function () {
  "use strict";
  var form = document.getElementById("solve-form");
  var fileInput = document.getElementById("file");
  var statusBox = document.getElementById("status");
  var resultBox = document.getElementById("result");
  var reportFrame = document.getElementById("report");
  var fallback = document.getElementById("fallback");
  var state = { result: null, reportHtml: null, file: null };

  function show(el, on) { el.hidden = !on; }

  function setStatus(text) { statusBox.textContent = text; }

  function showProblem(problem) {
    var box = document.getElementById("problem");
    document.getElementById("problem-title").textContent = problem.title || "Error";
    document.getElementById("problem-detail").textContent =
      (problem.errors && problem.errors.length) ? "" : (problem.detail || "");
    var list = document.getElementById("problem-errors");
    list.textContent = "";
    (problem.errors || []).forEach(function (e) {
      var li = document.createElement("li");
      var where = e.item + (e.field ? ", field '" + e.field + "'" : "");
      li.textContent = e.file + ": " + where + ": " + e.message;
      list.appendChild(li);
    });
    show(box, true);
  }

  function readProblem(response) {
    return response.text().then(function (text) {
      try { return JSON.parse(text); } catch (err) {
        return { title: "HTTP " + response.status, detail: text.slice(0, 500) };
      }
    });
  }

  function fmt(value, digits) {
    if (value === null || value === undefined) { return "–"; }
    return Number(value).toLocaleString("en-GB", { maximumFractionDigits: digits });
  }

  function headline(result) {
    var text = result.instance + ": " + result.status;
    if (result.objective !== null && result.objective !== undefined) {
      text += ", objective " + fmt(result.objective, 2);
    }
    if (result.here_and_now && result.scenarios) {
      var h = result.horizon || (result.scenarios[0] || {}).horizon;
      var first = h ? h.start_year : null;
      var commit = result.here_and_now.filter(function (d) {
        return d.changes_mode || d.action === "break" || (first !== null && d.start_year > first);
      }).length;
      text += ", " + result.scenarios.length + " funding scenarios, " + commit +
        (commit === 1 ? " decision" : " decisions") + " to commit now";
    } else if (result.changes) {
      var n = result.changes.length;
      text += ", " + n + (n === 1 ? " service changes" : " services change") + " mode";
    }
    text += " (" + result.backend + ", " + fmt(result.timings ? result.timings.total : result.solve_seconds, 2) + " s)";
    return text;
  }

  function planTable(result) {
    // Used only when the server has no HTML report: the plan as a plain table.
    var table = document.createElement("table");
    table.className = "plan";
    table.id = "plan-table";
    var head = table.createTHead().insertRow();
    ["service", "today", "plan", "annual cost", "transition", "outcome"].forEach(function (h) {
      var th = document.createElement("th"); th.textContent = h; head.appendChild(th);
    });
    var body = table.createTBody();
    (result.services || []).forEach(function (s) {
      var row = body.insertRow();
      row.dataset.service = s.service;
      if (s.changes) { row.className = "changes"; }
      [s.service, s.current_mode, s.mode].forEach(function (v) { row.insertCell().textContent = v; });
      [[s.annual_cost, 0], [s.transition_cost, 0], [s.outcome, 1]].forEach(function (pair) {
        var cell = row.insertCell(); cell.className = "num"; cell.textContent = fmt(pair[0], pair[1]);
      });
    });
    return table;
  }

  function renderForm() {
    var data = new FormData();
    data.append("result", JSON.stringify(state.result));
    if (state.file) { data.append("file", state.file, state.file.name); }
    return data;
  }

  function fitFrame() {
    try {
      var doc = reportFrame.contentDocument;
      if (doc && doc.documentElement) {
        reportFrame.style.height = (doc.documentElement.scrollHeight + 24) + "px";
      }
    } catch (err) { /* not ours to measure */ }
  }

  function loadReport() {
    return fetch("/v1/report", { method: "POST", body: renderForm() }).then(function (response) {
      if (response.ok) {
        return response.text().then(function (html) {
          state.reportHtml = html;
          reportFrame.onload = fitFrame;
          reportFrame.srcdoc = html;
          show(reportFrame, true);
          show(fallback, false);
          setStatus("Done.");
          document.body.dataset.state = "reported";
        });
      }
      return readProblem(response).then(function (problem) {
        fallback.textContent = "";
        var note = document.createElement("p");
        note.className = "note";
        note.textContent = "No report: " + (problem.detail || problem.title) + " The plan:";
        fallback.appendChild(note);
        if (state.result.services) { fallback.appendChild(planTable(state.result)); }
        show(fallback, true);
        show(reportFrame, false);
        setStatus("Done (without the report).");
        document.body.dataset.state = "reported";
      });
    });
  }

  function download(blob, name) {
    var url = URL.createObjectURL(blob);
    var a = document.createElement("a");
    a.href = url; a.download = name;
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
  }

  function stem() {
    return (state.result.instance || "result").replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "").toLowerCase() || "result";
  }

  function note(text) {
    var el = document.getElementById("download-note");
    el.textContent = text; show(el, Boolean(text));
  }

  document.getElementById("download-json").addEventListener("click", function () {
    download(new Blob([JSON.stringify(state.result, null, 2) + "\n"], { type: "application/json" }), stem() + ".json");
  });
  document.getElementById("download-html").addEventListener("click", function () {
    if (state.reportHtml === null) { note("The HTML report is not available on this server."); return; }
    download(new Blob([state.reportHtml], { type: "text/html" }), stem() + ".html");
  });
  document.getElementById("download-xlsx").addEventListener("click", function () {
    note("");
    fetch("/v1/workbook", { method: "POST", body: renderForm() }).then(function (response) {
      if (response.ok) { return response.blob().then(function (b) { download(b, stem() + ".xlsx"); }); }
      return readProblem(response).then(function (p) { note(p.detail || p.title); });
    });
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var file = fileInput.files[0];
    show(document.getElementById("problem"), false);
    if (!file) { showProblem({ title: "No file", detail: "Choose an instance file or workbook first." }); return; }
    var data = new FormData();
    data.append("file", file, file.name);
    ["objective", "backend", "time_limit"].forEach(function (name) {
      var value = document.getElementById(name).value;
      if (value !== "") { data.append(name, value); }
    });
    var button = document.getElementById("solve");
    button.disabled = true;
    document.body.dataset.state = "solving";
    setStatus("Solving " + file.name + "…");
    fetch("/v1/solve", { method: "POST", body: data }).then(function (response) {
      if (!response.ok) {
        return readProblem(response).then(function (problem) {
          showProblem(problem); setStatus(""); show(resultBox, false);
          document.body.dataset.state = "problem";
        });
      }
      return response.json().then(function (result) {
        state.result = result; state.file = file; state.reportHtml = null;
        document.getElementById("headline").textContent = headline(result);
        show(resultBox, true);
        setStatus("Solved; drawing the report…");
        return loadReport();
      });
    }).catch(function (err) {
      showProblem({ title: "The request failed", detail: String(err) });
      setStatus("");
    }).then(function () { button.disabled = false; });
  });
}());
