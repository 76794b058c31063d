// Diagrams of pathway versions (web/templates/pathway_version.html, pathway_compare.html),
// drawn by bpmn-js's navigated viewer (served from the npm package by the app). A holder
// (.bpmn-diagram) names its BPMN file (data-bpmn) and, optionally, live counts per step
// (data-counts: shown as overlays linking to the step's row in the table below) and steps
// to colour (data-marks: a JSON object step -> "added" | "removed" | "changed"; on a case's
// page, web/templates/case.html, "done" | "current").
(function () {
  "use strict";

  function say(holder, text) {
    var status = holder.querySelector(".diagram-status");
    if (status) {
      status.textContent = text;
    }
  }

  // The link's name is its own text, "Needs assessment: 3 waiting, 1 overdue", of which only
  // the numbers show: a name that contains what is seen (WCAG 2.5.3, label in name).
  function badge(step, counts) {
    var link = document.createElement("a");
    link.href = "#step-" + step;
    link.className = "step-counts";
    function words(text) {
      var hidden = document.createElement("span");
      hidden.className = "visually-hidden";
      hidden.textContent = text;
      link.appendChild(hidden);
    }
    words(counts.title + ": ");
    function part(number, kind, what) {
      if (link.childNodes.length > 1) {
        words(", ");
      }
      var span = document.createElement("span");
      span.className = kind;
      span.textContent = String(number);
      span.title = number + " " + what;
      link.appendChild(span);
      words(" " + what);
    }
    part(counts.waiting, "waiting", "waiting");
    if (counts.overdue) {
      part(counts.overdue, "overdue", "overdue");
    }
    if (counts.error) {
      part(counts.error, "error", "in error");
    }
    link.dataset.step = step;
    return link;
  }

  function read(url, how) {
    return fetch(url, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) {
        throw new Error(url + " could not be read (" + r.status + ")");
      }
      return how === "json" ? r.json() : r.text();
    });
  }

  // A pathway is drawn down the page: fit its width (never above 100%) and show its top;
  // the wheel scrolls down it (and zooms with Ctrl), as bpmn-js's navigated viewer does.
  function fitWidth(canvas, holder) {
    var inner = canvas.viewbox().inner;
    var margin = 10;
    var scale = Math.min(1, holder.clientWidth / (inner.width + 2 * margin));
    canvas.viewbox({
      x: inner.x - margin,
      y: inner.y - margin,
      width: holder.clientWidth / scale,
      height: holder.clientHeight / scale
    });
    holder.dataset.zoom = scale.toFixed(2);
  }

  // A case's diagram (data-marks with "current"): the step it waits at is brought into view
  // when the top of the pathway would leave it below the fold.
  function showCurrent(canvas, registry, marks) {
    var current = Object.keys(marks).filter(function (step) {
      return marks[step] === "current" && registry.get(step);
    })[0];
    if (!current) {
      return;
    }
    var element = registry.get(current);
    var box = canvas.viewbox();
    if (element.y + element.height > box.y + box.height) {
      canvas.viewbox({ x: box.x, y: element.y - box.height / 3, width: box.width, height: box.height });
    }
  }

  function draw(holder) {
    var viewer = new window.BpmnJS({ container: holder });
    var marks = holder.dataset.marks ? JSON.parse(holder.dataset.marks) : {};
    return Promise.all([
      read(holder.dataset.bpmn, "text"),
      holder.dataset.counts ? read(holder.dataset.counts, "json") : Promise.resolve(null)
    ]).then(function (found) {
      return viewer.importXML(found[0]).then(function () {
        var canvas = viewer.get("canvas");
        fitWidth(canvas, holder);
        var registry = viewer.get("elementRegistry");
        var marked = 0;
        Object.keys(marks).forEach(function (step) {
          if (registry.get(step)) {
            canvas.addMarker(step, "pw-" + marks[step]);
            marked += 1;
          }
        });
        showCurrent(canvas, registry, marks);
        var shown = 0;
        if (found[1]) {
          var overlays = viewer.get("overlays");
          var steps = found[1].steps;
          Object.keys(steps).forEach(function (step) {
            var counts = steps[step];
            if (!registry.get(step) || !(counts.waiting || counts.overdue || counts.error)) {
              return;
            }
            overlays.add(step, "counts", { position: { top: -12, right: 12 }, html: badge(step, counts) });
            shown += 1;
          });
        }
        var status = holder.querySelector(".diagram-status");
        if (status) {
          status.remove();
        }
        holder.dataset.rendered = "true";
        holder.dataset.overlays = String(shown);
        holder.dataset.marked = String(marked);
      });
    }).catch(function (error) {
      say(holder, "The diagram could not be drawn: " + error.message + ". The steps are listed below.");
      holder.dataset.rendered = "failed";
    });
  }

  var holders = document.querySelectorAll(".bpmn-diagram");
  if (!holders.length) {
    return;
  }
  if (!window.BpmnJS) {
    holders.forEach(function (holder) {
      say(holder, "The diagram viewer is not installed on this server (run `make install`); the steps are listed below.");
    });
    return;
  }
  holders.forEach(draw);
})();
