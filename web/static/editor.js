// The pathway editor (web/templates/editor.html): CodeMirror (from npm, served by the app)
// on the YAML, checked by the server a moment after each change (POST /editor/check, the
// CSRF token in a header); every problem listed at its line and column and marked in the
// editor; the compiled BPMN drawn by bpmn-js as a preview. What is typed is kept in this
// browser (localStorage, per pathway and the version it started from) and saved as the
// designer's draft on the server (POST /editor/draft) until it is published, so a lost
// connection or another computer loses nothing; a newer version starts from its own text.
(function () {
  "use strict";
  var area = document.getElementById("source");
  if (!area) {
    return;
  }
  var form = document.getElementById("publish-form");
  var list = document.getElementById("problems");
  var preview = document.getElementById("preview");
  var token = form.querySelector('input[name="csrf_token"]').value;
  var draftKey = area.dataset.draft;

  var stored = null;
  try {
    stored = window.localStorage.getItem(draftKey);
  } catch (e) { /* storage refused: nothing kept */ }
  if (stored !== null && stored !== area.value && !list.querySelector(".error")) {
    var restore = document.createElement("p");
    restore.className = "flash";
    restore.setAttribute("role", "status");
    restore.textContent = "Your unpublished changes were restored from this browser.";
    form.insertBefore(restore, form.firstChild);
    area.value = stored;
  }

  var editor = null;
  if (window.CodeMirror) {
    // contenteditable: what is typed into sits inside the part that scrolls, so the keyboard
    // reaches it, and screen readers read it; named as the textarea's label names it
    editor = window.CodeMirror.fromTextArea(area, { mode: "yaml", lineNumbers: true, indentUnit: 2, tabSize: 2,
      inputStyle: "contenteditable", screenReaderLabel: "Pathway (YAML)",
      extraKeys: { Tab: function (cm) { cm.replaceSelection("  "); } } });
  }
  function text() {
    return editor ? editor.getValue() : area.value;
  }
  var marked = [];
  function mark(problems) {
    if (!editor) {
      return;
    }
    marked.forEach(function (line) { editor.removeLineClass(line, "background", "problem-line"); });
    marked = [];
    problems.forEach(function (p) {
      var line = Math.max(0, p.line - 1);
      editor.addLineClass(line, "background", "problem-line");
      marked.push(line);
    });
  }
  function show(problems) {
    list.textContent = "";
    if (!problems.length) {
      var ok = document.createElement("p");
      ok.className = "ok";
      ok.textContent = "No problems: ready to publish.";
      list.appendChild(ok);
      mark([]);
      return;
    }
    var head = document.createElement("p");
    head.className = "error";
    head.textContent = problems.length + " problem(s):";
    list.appendChild(head);
    var ul = document.createElement("ul");
    problems.forEach(function (p) {
      var li = document.createElement("li");
      li.dataset.line = String(p.line);
      var jump = document.createElement("a");
      jump.href = "#source";
      jump.textContent = "line " + p.line + ", column " + p.column;
      jump.addEventListener("click", function (event) {
        event.preventDefault();
        if (editor) {
          editor.focus();
          editor.setCursor({ line: p.line - 1, ch: Math.max(0, p.column - 1) });
        }
      });
      li.appendChild(jump);
      li.appendChild(document.createTextNode(": " + p.message + (p.path ? " (" + p.path + ")" : "")));
      ul.appendChild(li);
    });
    list.appendChild(ul);
    mark(problems);
  }

  var viewer = window.BpmnJS ? new window.BpmnJS({ container: preview }) : null;
  function draw(bpmn) {
    if (!viewer || !bpmn) {
      return;
    }
    viewer.importXML(bpmn).then(function () {
      viewer.get("canvas").zoom("fit-viewport");
      var status = preview.querySelector(".diagram-status");
      if (status) {
        status.remove();
      }
      preview.dataset.rendered = "true";
    }).catch(function (error) {
      preview.dataset.rendered = "failed";
      preview.title = "The preview could not be drawn: " + error.message;
    });
  }

  var timer = null;
  var asked = 0;
  function check() {
    var mine = ++asked;
    fetch(area.dataset.check, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token },
      body: JSON.stringify({ source: text() })
    }).then(function (r) {
      if (!r.ok) {
        throw new Error("the server could not check it (" + r.status + ")");
      }
      return r.json();
    }).then(function (found) {
      if (mine !== asked) {
        return; // a later check is on its way
      }
      show(found.problems);
      draw(found.bpmn);
      list.dataset.checked = String(mine);
    }).catch(function (error) {
      list.dataset.checked = "failed";
      var note = document.createElement("p");
      note.className = "error";
      note.textContent = "Not checked: " + error.message + ". Your text is kept; publishing checks it again.";
      list.textContent = "";
      list.appendChild(note);
    });
  }
  var saveTimer = null;
  var saving = null; // the draft save on its way, if any
  function save() {
    saving = fetch(area.dataset.save, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token },
      body: JSON.stringify({ name: area.dataset.name, source: text(),
                             based_on: area.dataset.basedOn ? Number(area.dataset.basedOn) : null })
    }).then(function (r) {
      area.dataset.saved = r.ok ? "true" : "failed";
    }).catch(function () {
      area.dataset.saved = "failed"; // kept in this browser; saved with the next change
    }).then(function () {
      saving = null;
    });
  }
  function changed() {
    try {
      window.localStorage.setItem(draftKey, text());
    } catch (e) { /* storage refused */ }
    window.clearTimeout(timer);
    timer = window.setTimeout(check, 400);
    window.clearTimeout(saveTimer);
    saveTimer = window.setTimeout(save, 1000);
  }
  if (editor) {
    editor.on("change", changed);
  } else {
    area.addEventListener("input", changed);
  }
  // Publishing discards the draft: a check or save still waiting would only bring it back
  // once the publish has landed (on a slow connection its answer takes a while), so none is
  // sent, and one already on its way is let land first.
  form.addEventListener("submit", function (event) {
    window.clearTimeout(timer);
    window.clearTimeout(saveTimer);
    if (editor) {
      editor.save();
    }
    if (saving) {
      event.preventDefault();
      var submitter = event.submitter;
      saving.then(function () {
        if (form.requestSubmit) {
          form.requestSubmit(submitter || undefined);
        } else {
          form.submit();
        }
      });
    }
  });
  check();
})();
