// latent-atlas: what Bokeh has no way to do. Images from sprite sheets, the point and
// selection panels, the class legend (one row filter shared by the maps), search by index,
// CSV export, the dataset/model switch.
(function () {
  "use strict";
  const meta = {};
  for (const m of JSON.parse(document.getElementById("atlas-meta").textContent)) meta[m.key] = m;
  const sheetUris = {};  // dataset -> data: URIs, parsed on first use
  const sheetImages = {};  // "dataset:sheet" -> Promise<HTMLImageElement>
  const $ = (id) => document.getElementById(id);
  const GRID_MAX = 240;  // thumbnails drawn in the selection panel

  function model(name) {
    for (const doc of Bokeh.documents) {
      const m = doc.get_model_by_name(name);
      if (m != null) return m;
    }
    return null;
  }
  const source = (key) => model("points:" + key);
  const current = () => $("pair").value;

  function sheet(dataset, n) {
    const id = dataset + ":" + n;
    if (!(id in sheetImages)) {
      if (!(dataset in sheetUris)) {
        sheetUris[dataset] = JSON.parse(document.getElementById("sheets:" + dataset).textContent);
      }
      sheetImages[id] = new Promise((resolve, reject) => {
        const img = new Image();
        img.onload = () => resolve(img);
        img.onerror = () => reject(new Error("sprite sheet " + id + " did not decode"));
        img.src = sheetUris[dataset][n];
      });
    }
    return sheetImages[id];
  }

  // Row i of a pair's source -> its image (train then test, as in data.npz).
  function imageId(key, i) {
    const d = source(key).data;
    return d.split[i] ? meta[key].n_train + d.index[i] : d.index[i];
  }

  async function draw(canvas, key, i) {
    const m = meta[key], im = m.image, id = imageId(key, i);
    const img = await sheet(m.dataset, Math.floor(id / im.per_sheet));
    const cell = id % im.per_sheet;
    const sx = (cell % im.cols) * im.w, sy = Math.floor(cell / im.cols) * im.h;
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(img, sx, sy, im.w, im.h, 0, 0, canvas.width, canvas.height);
    canvas.dataset.image = id;
  }

  function describe(key, i) {
    const d = source(key).data;
    return {
      row: i,
      label: d.label[i],
      class: meta[key].classes[d.label[i]],
      split: d.split[i] ? "test" : "train",
      index: d.index[i],
      error: d.error[i],
    };
  }

  async function showPoint(key, i) {
    const p = describe(key, i);
    $("hover-class").textContent = p.class;
    $("hover-split").textContent = p.split;
    $("hover-index").textContent = p.index;
    $("hover-error").textContent = Number.isFinite(p.error) ? p.error.toFixed(4) : "\u2014";
    const canvas = $("hover-img");
    canvas.dataset.row = i;
    await draw(canvas, key, i);
  }

  // Show the hit nearest to the mouse, once per frame (Bokeh may call back several times).
  let pending = null;
  function hover(key, plot, cb) {
    // cb.index is the source's last inspection (by any map); this map's own hits are in its
    // selection manager.
    const own = cb.renderer.get_selection_manager().inspectors.get(cb.renderer);
    const g = cb.geometry, inds = own != null ? own.indices : cb.index.indices;
    if (pending == null || pending.sx !== g.sx || pending.sy !== g.sy) {
      const p = { sx: g.sx, sy: g.sy, best: -1, dist: Infinity, key: key };
      pending = p;
      requestAnimationFrame(() => {
        if (pending === p) pending = null;
        underCursor = p.best >= 0 ? { key: p.key, i: p.best } : null;
        if (p.best >= 0) showPoint(p.key, p.best);
      });
    }
    if (!cb.renderer.visible || inds.length === 0) return;
    const d = source(key).data, r = cb.renderer.glyph;
    const xs = d[r.x.field], ys = d[r.y.field];
    const wx = plot.x_range.end - plot.x_range.start, wy = plot.y_range.end - plot.y_range.start;
    for (const i of inds) {
      const dx = (xs[i] - g.x) / wx, dy = (ys[i] - g.y) / wy, dist = dx * dx + dy * dy;
      if (dist < pending.dist) { pending.dist = dist; pending.best = i; }
    }
  }

  // --- pinning: a point's code-space neighbours (from the shared kNN graph) in every map ---
  let underCursor = null;  // the point the last hover frame found under the mouse
  let pinned = null;  // {key, i}
  const neighborCache = {};

  function neighbors(key) {
    if (!(key in neighborCache)) {
      const tag = document.getElementById("neighbors:" + key);
      if (tag == null) { neighborCache[key] = null; return null; }
      const nb = JSON.parse(tag.textContent), bin = atob(nb.data);
      const bytes = new Uint8Array(bin.length);
      for (let j = 0; j < bin.length; j++) bytes[j] = bin.charCodeAt(j);
      const arr = nb.dtype === "uint16" ? new Uint16Array(bytes.buffer) : new Int32Array(bytes.buffer);
      neighborCache[key] = { k: nb.k, ind: arr };
    }
    return neighborCache[key];
  }

  function codeNeighbors(key, i, k) {
    const nb = neighbors(key);
    if (nb == null) return [];
    k = Math.min(k, nb.k);
    return Array.from(nb.ind.subarray(i * nb.k, i * nb.k + k));
  }

  // The k train rows nearest to row i in one map (i itself left out), as the graph counts them.
  function mapNeighbors(key, method, i, k) {
    const d = source(key).data, xs = d[method + "_x"], ys = d[method + "_y"], split = d.split;
    const best = [];  // [dist, row], sorted, at most k
    const x = xs[i], y = ys[i];
    for (let j = 0; j < xs.length; j++) {
      if (split[j] || j === i) continue;
      const dx = xs[j] - x, dy = ys[j] - y, dist = dx * dx + dy * dy;
      if (best.length === k && dist >= best[k - 1][0]) continue;
      let at = best.length < k ? best.length : k - 1;
      best[at] = [dist, j];
      while (at > 0 && best[at - 1][0] > dist) { [best[at - 1], best[at]] = [best[at], best[at - 1]]; at--; }
    }
    return best.map((b) => b[1]);
  }

  function kept(key, i, k) {
    const code = new Set(codeNeighbors(key, i, k)), m = meta[key], out = {};
    for (const method of m.methods) {
      out[method] = mapNeighbors(key, method, i, code.size).filter((j) => code.has(j)).length;
    }
    return out;
  }

  function pin(key, i) {
    pinned = { key: key, i: i };
    const nb = neighbors(key), kIn = $("pin-k");
    if (nb != null) kIn.max = nb.k;
    const k = Math.max(1, Math.min(parseInt(kIn.value, 10) || 10, nb ? nb.k : 1));
    kIn.value = k;
    const p = describe(key, i), code = codeNeighbors(key, i, k);
    $("pin-none").hidden = true;
    $("pin-info").hidden = false;
    $("pin-what").textContent = `${p.class} (${p.split} ${p.index})`;
    $("pin-kmax").textContent = nb ? `(1 to ${nb.k})` : "(no kNN graph in this atlas)";
    const table = $("pin-maps");
    table.replaceChildren();
    const counts = kept(key, i, k);
    meta[key].methods.forEach((method, j) => {
      const tr = table.insertRow();
      tr.dataset.method = method;
      tr.insertCell().textContent = meta[key].titles[j];
      const c = tr.insertCell();
      c.className = "n";
      c.textContent = `${counts[method]} of ${code.length}`;
      tr.title = `of the point's ${code.length} nearest codes, ${counts[method]} are among its ${code.length} nearest points in this map`;
    });
    const d = source(key).data, rows = [i, ...code], pinData = { size: [], color: [] };
    for (const method of meta[key].methods) { pinData[method + "_x"] = []; pinData[method + "_y"] = []; }
    rows.forEach((r, j) => {
      pinData.size.push(j === 0 ? 13 : 8);
      pinData.color.push(j === 0 ? "#ffffff" : meta[key].colors[d.label[r]]);
      for (const method of meta[key].methods) {
        pinData[method + "_x"].push(d[method + "_x"][r]);
        pinData[method + "_y"].push(d[method + "_y"][r]);
      }
    });
    model("pin:" + key).data = pinData;
    const grid = $("pin-grid");
    grid.replaceChildren();
    for (const r of rows) grid.appendChild(thumbnail(key, r));
    showPoint(key, i);
    document.documentElement.dataset.pinned = `${key}:${i}:${k}`;
  }

  function unpin() {
    const key = pinned ? pinned.key : current();
    pinned = null;
    $("pin-none").hidden = false;
    $("pin-info").hidden = true;
    delete document.documentElement.dataset.pinned;
    const empty = { size: [], color: [] };
    for (const method of meta[key].methods) { empty[method + "_x"] = []; empty[method + "_y"] = []; }
    model("pin:" + key).data = empty;
    $("pin-grid").replaceChildren();
  }

  // --- colour layers: class, reconstruction error, each per-point quality measure -----------
  const classColors = {};  // key -> the renderers' original fill_color spec (by class)
  const LAYER_TITLES = {
    trustworthiness: "local trustworthiness", continuity: "local continuity",
    knn_recall_10: "10-NN recall",
  };

  function layerOptions(key) {
    const m = meta[key], box = $("color-by");
    box.replaceChildren();
    const add = (value, text) => {
      const o = document.createElement("option");
      o.value = value; o.textContent = text; box.appendChild(o);
    };
    add("class", "class");
    if (m.error_range) add("error", "reconstruction error");
    for (const l of m.layers) add(l.id, (LAYER_TITLES[l.id] || l.id) + " (each map's own)");
    box.value = "class";
  }

  function colorBy(key, layer) {
    const m = meta[key];
    for (const method of m.methods) {
      const r = model(`points:${key}:${method}`);
      if (!(method in (classColors[key] = classColors[key] || {}))) {
        classColors[key][method] = r.glyph.fill_color;
      }
      let spec = classColors[key][method];
      if (layer === "error") spec = { field: "error", transform: model("error:" + key) };
      else if (layer !== "class") spec = { field: `${method}__${layer}`, transform: model("layer:" + key) };
      r.glyph.fill_color = spec;
    }
    const info = m.layers.find((l) => l.id === layer);
    const range = layer === "error" ? m.error_range : info ? [info.lo, info.hi] : null;
    $("color-bar").hidden = range == null;
    if (range) {
      $("color-lo").textContent = range[0].toPrecision(3);
      $("color-hi").textContent = range[1].toPrecision(3);
    }
    $("color-note").textContent = info
      ? `computed on ${info.computed_on}; grey: not computed (test points, or outside the sample)`
      : layer === "error" ? "per point, from the model's reconstruction" : "";
    $("color-by").value = layer;
    document.documentElement.dataset.colorBy = `${key}:${layer}`;
  }

  let downAt = null;
  function onDown(ev) { downAt = [ev.clientX, ev.clientY]; }
  function onClick(ev) {
    const moved = downAt && Math.hypot(ev.clientX - downAt[0], ev.clientY - downAt[1]) > 4;
    if (moved || underCursor == null || underCursor.key !== current()) return;
    pin(underCursor.key, underCursor.i);
  }

  // A point's image in a panel: hover it to see the point.
  function thumbnail(key, i) {
    const c = document.createElement("canvas"), im = meta[key].image, p = describe(key, i);
    c.width = im.w;
    c.height = im.h;
    c.className = "thumb";
    c.title = `${p.class} (${p.split} ${p.index})`;
    c.addEventListener("mouseenter", () => showPoint(key, i));
    draw(c, key, i);
    return c;
  }

  function selection(key) {
    return Array.from(source(key).selected.indices).sort((a, b) => a - b);
  }

  function selected(key) {
    if (key !== current()) return;
    const rows = selection(key), m = meta[key], d = source(key).data;
    $("sel-count").textContent = rows.length;
    const counts = new Array(m.classes.length).fill(0);
    for (const i of rows) counts[d.label[i]] += 1;
    const table = $("sel-classes");
    table.replaceChildren();
    counts.forEach((n, c) => {
      if (n === 0) return;
      const tr = table.insertRow();
      tr.dataset.label = c;
      tr.insertCell().innerHTML = '<span class="swatch"></span>';
      tr.cells[0].firstChild.style.background = m.colors[c];
      tr.insertCell().textContent = m.classes[c];
      tr.insertCell().textContent = n;
    });
    const grid = $("sel-grid");
    grid.replaceChildren();
    for (const i of rows.slice(0, GRID_MAX)) grid.appendChild(thumbnail(key, i));
    $("sel-more").textContent =
      rows.length > GRID_MAX ? `first ${GRID_MAX} of ${rows.length} shown` : "";
  }

  function csv(key) {
    const m = meta[key], d = source(key).data;
    const head = ["dataset", "model", "split", "index", "class", "recon_error"];
    for (const method of m.methods) head.push(method + "_x", method + "_y");
    const lines = [head.join(",")];
    const [dataset, mdl] = key.split("/");
    for (const i of selection(key)) {
      const p = describe(key, i);
      const cells = [dataset, mdl, p.split, p.index, JSON.stringify(p.class), p.error];
      for (const method of m.methods) cells.push(d[method + "_x"][i], d[method + "_y"][i]);
      lines.push(cells.join(","));
    }
    return lines.join("\n") + "\n";
  }

  function exportCsv() {
    const key = current();
    const a = document.createElement("a");
    a.href = "data:text/csv;charset=utf-8," + encodeURIComponent(csv(key));
    a.download = "atlas-selection-" + key.replace("/", "-") + ".csv";
    document.body.appendChild(a);
    a.click();
    a.remove();
  }

  function find(key, split, index) {
    const d = source(key).data, want = split === "test" ? 1 : 0;
    for (let i = 0; i < d.index.length; i++) {
      if (d.index[i] === index && d.split[i] === want) return i;
    }
    return -1;
  }

  function search(ev) {
    ev.preventDefault();
    const key = current(), split = $("search-split").value;
    const index = parseInt($("search-index").value, 10);
    const i = Number.isInteger(index) ? find(key, split, index) : -1;
    if (i < 0) {
      $("search-result").textContent = `no ${split} point ${$("search-index").value} in this map`;
      return;
    }
    $("search-result").textContent = "found, selected in every map";
    source(key).selected.indices = [i];
    showPoint(key, i);
  }

  const hiddenClasses = {};  // key -> Set of hidden labels

  function legend(key) {
    const m = meta[key], d = source(key).data, hidden = hiddenClasses[key] || new Set();
    const counts = new Array(m.classes.length).fill(0);
    for (const l of d.label) counts[l] += 1;
    const box = $("legend");
    box.replaceChildren();
    m.classes.forEach((name, c) => {
      if (counts[c] === 0) return;
      const b = document.createElement("button");
      b.type = "button";
      b.className = "class" + (hidden.has(c) ? " off" : "");
      b.dataset.label = c;
      b.innerHTML = '<span class="swatch"></span> <span class="name"></span> <span class="n"></span>';
      b.querySelector(".swatch").style.background = m.colors[c];
      b.querySelector(".name").textContent = name;
      b.querySelector(".n").textContent = counts[c];
      b.title = "show/hide this class in every map";
      b.addEventListener("click", () => toggleClass(key, c));
      box.appendChild(b);
    });
  }

  function toggleClass(key, c) {
    const hidden = (hiddenClasses[key] = hiddenClasses[key] || new Set());
    if (hidden.has(c)) hidden.delete(c); else hidden.add(c);
    const label = source(key).data.label, rows = [];
    for (let i = 0; i < label.length; i++) if (!hidden.has(label[i])) rows.push(i);
    model("shown:" + key).indices = rows;
    legend(key);
  }

  function switchPair() {
    const key = current();
    for (const div of document.querySelectorAll("#maps .pair")) div.hidden = div.dataset.key !== key;
    window.dispatchEvent(new Event("resize"));
    legend(key);
    selected(key);
  }

  // A point's position on the page (for tests, benchmarks and a future "zoom to").
  function pagePosition(key, method, i) {
    const plot = model(`map:${key}:${method}`), view = Bokeh.index.find_one(plot);
    const d = source(key).data;
    const sx = view.frame.x_scale.compute(d[method + "_x"][i]);
    const sy = view.frame.y_scale.compute(d[method + "_y"][i]);
    const box = view.canvas_view.el.getBoundingClientRect();
    return { x: box.left + sx, y: box.top + sy };
  }

  function ready() {
    if (typeof Bokeh === "undefined" || Bokeh.documents.length === 0) return false;
    const key = current(), m = meta[key];
    return m.methods.every((method) => {
      const plot = model(`map:${key}:${method}`);
      const view = plot && Bokeh.index.find_one(plot);
      return view != null && view.is_idle !== false && view.frame.bbox.width > 0;
    });
  }

  function whenReady() {
    if (ready()) {
      legend(current());
      document.documentElement.dataset.atlasReady = String(performance.now());
    } else {
      requestAnimationFrame(whenReady);
    }
  }

  window.latentAtlas = {
    hover, selected, showPoint, describe, selection, csv, find, pagePosition, imageId, ready,
    toggleClass, pin, unpin, codeNeighbors, mapNeighbors, kept, colorBy, model,
    pinned: () => pinned,
  };
  document.addEventListener("DOMContentLoaded", () => {
    $("search").addEventListener("submit", search);
    $("export").addEventListener("click", exportCsv);
    $("clear").addEventListener("click", () => { source(current()).selected.indices = []; });
    $("pair").addEventListener("change", () => {
      if (pinned) unpin();
      for (const k of Object.keys(classColors)) colorBy(k, "class");
      switchPair();
      layerOptions(current());
    });
    $("color-by").addEventListener("change", () => colorBy(current(), $("color-by").value));
    layerOptions(current());
    $("maps").addEventListener("mousedown", onDown, true);
    $("maps").addEventListener("click", onClick);
    $("unpin").addEventListener("click", unpin);
    $("pin-k").addEventListener("change", () => { if (pinned) pin(pinned.key, pinned.i); });
    whenReady();
  });
})();
