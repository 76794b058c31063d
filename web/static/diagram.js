// The pathway version page's diagram (web/templates/pathway_version.html): the version's BPMN
// drawn by bpmn-js's navigated viewer (served from the npm package by the app), with each
// step's live counts as an overlay that links to the step's row in the table below.
(function () {
  "use strict";
  var holder = document.getElementById("diagram");
  if (!holder) {
    return;
  }
  var status = holder.querySelector(".diagram-status");

  function say(text) {
    if (status) {
      status.textContent = text;
    }
  }

  if (!window.BpmnJS) {
    say("The diagram viewer is not installed on this server (run `make install`); the steps are listed below.");
    return;
  }

  function badge(step, counts) {
    var link = document.createElement("a");
    link.href = "#step-" + step;
    link.className = "step-counts";
    var parts = [];
    function part(number, kind, words) {
      var span = document.createElement("span");
      span.className = kind;
      span.textContent = String(number);
      span.title = number + " " + words;
      link.appendChild(span);
      parts.push(number + " " + words);
    }
    part(counts.waiting, "waiting", "waiting");
    if (counts.overdue) {
      part(counts.overdue, "overdue", "overdue");
    }
    if (counts.error) {
      part(counts.error, "error", "in error");
    }
    link.setAttribute("aria-label", counts.title + ": " + parts.join(", "));
    link.dataset.step = step;
    return link;
  }

  var viewer = new window.BpmnJS({ container: holder });
  Promise.all([
    fetch(holder.dataset.bpmn, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) { throw new Error("the BPMN file could not be read (" + r.status + ")"); }
      return r.text();
    }),
    fetch(holder.dataset.counts, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) { throw new Error("the counts could not be read (" + r.status + ")"); }
      return r.json();
    })
  ]).then(function (found) {
    return viewer.importXML(found[0]).then(function () {
      var canvas = viewer.get("canvas");
      canvas.zoom("fit-viewport");
      var overlays = viewer.get("overlays");
      var registry = viewer.get("elementRegistry");
      var steps = found[1].steps;
      var shown = 0;
      Object.keys(steps).forEach(function (step) {
        var counts = steps[step];
        if (!registry.get(step) || !(counts.waiting || counts.overdue || counts.error)) {
          return;
        }
        overlays.add(step, "counts", { position: { top: -12, right: 12 }, html: badge(step, counts) });
        shown += 1;
      });
      if (status) {
        status.remove();
      }
      holder.dataset.rendered = "true";
      holder.dataset.overlays = String(shown);
    });
  }).catch(function (error) {
    say("The diagram could not be drawn: " + error.message + ". The steps are listed below.");
    holder.dataset.rendered = "failed";
  });
})();
