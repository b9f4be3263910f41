// loopscan risk graph page. Data comes from the JSON block; every string from it reaches the
// document through textContent (or the graph's canvas), never through innerHTML.
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("loopscan-data").textContent);
  var byId = new Map();
  data.nodes.forEach(function (n) { byId.set(n.id, n); });

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function cell(tag, value) {
    if (value !== null && typeof value === "object") {
      var c = el(tag, value.text);
      c.title = String(value.title);
      return c;
    }
    return el(tag, value === null || value === undefined ? "" : value);
  }

  // Header
  var m = data.meta;
  document.getElementById("meta").textContent =
    "chain " + m.chain_id + " · block " + m.block + " · " + m.timestamp + " · amounts in " + m.numeraire +
    " · " + data.nodes.length + " nodes, " + data.edges.length + " edges · loopscan " + m.loopscan_version +
    " · " + m.library;

  // Legend
  function swatch(cls, colour) {
    var s = el("span", null, "sw " + cls);
    if (colour) s.style.backgroundColor = colour;
    return s;
  }
  var colours = document.getElementById("legend-colours");
  data.legend.colours.forEach(function (c) {
    var li = el("li"); li.appendChild(swatch("ellipse", c[0])); li.appendChild(el("span", c[1])); colours.appendChild(li);
  });
  var shapes = document.getElementById("legend-shapes");
  data.legend.shapes.forEach(function (s) {
    var li = el("li"); li.appendChild(swatch(s[0] === "accounts" ? "ellipse accounts" : s[1], "#ddd"));
    li.appendChild(el("span", s[2])); shapes.appendChild(li);
  });
  var edgeList = document.getElementById("legend-edges");
  data.legend.edges.forEach(function (e) {
    var li = el("li"); li.appendChild(swatch("line", e[1])); li.appendChild(el("span", e[2])); edgeList.appendChild(li);
  });
  var notes = document.getElementById("legend-notes");
  data.legend.notes.forEach(function (t) { notes.appendChild(el("li", t)); });

  // Graph
  var elements = [];
  data.nodes.forEach(function (n) {
    elements.push({
      group: "nodes",
      data: { id: n.id, kind: n.kind, display: n.label + "\n" + n.value, color: n.color, size: n.size,
              unpriced: n.value_usd === null },
      position: { x: n.x, y: n.y }
    });
  });
  data.edges.forEach(function (e) {
    elements.push({
      group: "edges",
      data: { id: e.id, source: e.source, target: e.target, kind: e.kind, color: e.color, width: e.width }
    });
  });

  var cy = cytoscape({
    container: document.getElementById("graph"),
    elements: elements,
    layout: { name: "preset", fit: true, padding: 40 },
    minZoom: 0.05,
    maxZoom: 4,
    boxSelectionEnabled: false,
    style: [
      { selector: "node", style: {
        "width": "data(size)", "height": "data(size)", "background-color": "data(color)",
        "border-width": 1.5, "border-color": "#333", "label": "data(display)", "font-size": 13,
        "text-wrap": "wrap", "text-max-width": 220, "text-valign": "bottom", "text-margin-y": 4,
        "color": "#1f2328", "text-background-color": "#ffffff", "text-background-opacity": 0.8,
        "text-background-padding": 2, "text-background-shape": "roundrectangle"
      } },
      { selector: "node[kind = 'base']", style: { "shape": "ellipse", "border-width": 3 } },
      { selector: "node[kind = 'receipt']", style: { "shape": "round-rectangle" } },
      { selector: "node[kind = 'market']", style: { "shape": "diamond" } },
      { selector: "node[kind = 'opaque']", style: { "shape": "octagon", "border-style": "dotted", "border-width": 2 } },
      { selector: "node[kind = 'accounts']", style: { "shape": "ellipse", "border-style": "dashed", "font-size": 12 } },
      { selector: "node[?unpriced]", style: { "border-style": "double", "border-width": 4 } },
      { selector: "edge", style: {
        "width": "data(width)", "line-color": "data(color)", "target-arrow-color": "data(color)",
        "target-arrow-shape": "triangle", "curve-style": "bezier", "opacity": 0.75, "arrow-scale": 0.9
      } },
      { selector: "node:selected", style: { "border-color": "#0969da", "border-width": 5 } },
      { selector: "node.match", style: { "border-color": "#0969da", "border-width": 5 } },
      { selector: ".faded", style: { "opacity": 0.15 } }
    ]
  });

  // Detail panel
  var detail = document.getElementById("detail");
  var hint = document.getElementById("hint");
  var kindNames = { base: "base token", receipt: "receipt token and its vault", market: "lending market",
    opaque: "opaque backing", accounts: "accounts (aggregated)" };

  function renderSection(s) {
    var sec = el("section");
    sec.appendChild(el("h3", s.title));
    if (s.note) sec.appendChild(el("p", s.note, "note"));
    if (s.rows.length) {
      var table = el("table", null, s.columns ? "grid" : "kv");
      if (s.columns) {
        var head = el("thead"); var hr = el("tr");
        s.columns.forEach(function (c) { hr.appendChild(el("th", c)); });
        head.appendChild(hr); table.appendChild(head);
      }
      var body = el("tbody");
      s.rows.forEach(function (row) {
        var tr = el("tr");
        row.forEach(function (value, i) { tr.appendChild(cell(!s.columns && i === 0 ? "th" : "td", value)); });
        body.appendChild(tr);
      });
      table.appendChild(body);
      sec.appendChild(table);
    }
    if (s.more) sec.appendChild(el("p", s.more, "note"));
    return sec;
  }

  function show(id) {
    var n = byId.get(id);
    if (!n) return;
    var title = el("h2", n.title); title.id = "detail-title";
    var parts = [title, el("div", (kindNames[n.kind] || n.kind) + " · value " + n.value + " (USD)", "kind")];
    n.sections.forEach(function (s) { parts.push(renderSection(s)); });
    detail.replaceChildren.apply(detail, parts);
    detail.dataset.node = id;
    detail.hidden = false;
    hint.hidden = true;
    document.getElementById("panel").scrollTop = 0;
    cy.nodes().unselect();
    cy.getElementById(id).select();
  }

  function hide() {
    detail.hidden = true;
    hint.hidden = false;
    detail.replaceChildren();
    delete detail.dataset.node;
  }

  cy.on("tap", "node", function (evt) { show(evt.target.id()); });
  cy.on("tap", function (evt) { if (evt.target === cy) { cy.nodes().unselect(); hide(); } });

  // Search
  var search = document.getElementById("search");
  var count = document.getElementById("search-count");
  var matches = [];
  function filter() {
    var q = search.value.trim().toLowerCase();
    cy.batch(function () {
      cy.elements().removeClass("match faded");
      matches = [];
      if (!q) return;
      cy.nodes().forEach(function (node) {
        if (byId.get(node.id()).search.indexOf(q) !== -1) matches.push(node);
      });
      cy.elements().addClass("faded");
      matches.forEach(function (node) {
        node.removeClass("faded").addClass("match");
        node.connectedEdges().removeClass("faded");
      });
    });
    count.textContent = !q ? "" : matches.length === 1 ? "1 match" : matches.length + " matches";
  }
  search.addEventListener("input", filter);
  search.addEventListener("keydown", function (evt) {
    if (evt.key === "Enter" && matches.length) {
      show(matches[0].id());
      cy.animate({ center: { eles: matches[0] }, duration: 200 });
    } else if (evt.key === "Escape") {
      search.value = ""; filter();
    }
  });

  window.loopscanGraph = { cy: cy, data: data, show: show };
})();
