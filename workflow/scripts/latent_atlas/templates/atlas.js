// latent-atlas: what Bokeh has no way to do. Images from sprite sheets, the point and
// selection panels, the class legend (one row filter shared by the maps), search by index,
// CSV export, the dataset/model switch, pinned points and their code-space neighbours, colour
// layers, the decoded field under the cursor, and a second model of the same dataset linked
// to the first by point index.
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
  const compared = () => $("compare").value || null;  // the second model shown, if any
  const shownKeys = () => [current(), compared()].filter((k) => k);
  const otherOf = (key) => {
    const a = current(), b = compared();
    return b == null ? null : key === a ? b : key === b ? a : null;
  };

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
  function hover(key, method, plot, cb) {
    // cb.index is the source's last inspection (by any map); this map's own hits are in its
    // selection manager.
    const own = cb.renderer.get_selection_manager().inspectors.get(cb.renderer);
    const g = cb.geometry, inds = own != null ? own.indices : cb.index.indices;
    if (pending == null || pending.sx !== g.sx || pending.sy !== g.sy) {
      const p = { sx: g.sx, sy: g.sy, x: g.x, y: g.y, best: -1, dist: Infinity, key: key };
      pending = p;
      requestAnimationFrame(() => {
        if (pending === p) pending = null;
        underCursor = p.best >= 0 ? { key: p.key, i: p.best } : null;
        if (p.best >= 0) showPoint(p.key, p.best);
        showField(p.key, method, p.x, p.y, p.best < 0);
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


  // --- the decoded field: what the model draws at a place of the map ----------------------
  const fieldUris = {};  // key -> {method: data URI of the field's mosaic}
  const fieldImages = {};  // "key:method" -> Promise<HTMLImageElement>

  function fieldImage(key, method) {
    const id = key + ":" + method;
    if (!(id in fieldImages)) {
      if (!(key in fieldUris)) {
        const tag = document.getElementById("field:" + key);
        fieldUris[key] = tag ? JSON.parse(tag.textContent) : {};
      }
      const uri = fieldUris[key][method];
      fieldImages[id] = uri == null ? Promise.resolve(null) : new Promise((resolve, reject) => {
        const img = new Image();
        img.onload = () => resolve(img);
        img.onerror = () => reject(new Error("decoded field " + id + " did not decode"));
        img.src = uri;
      });
    }
    return fieldImages[id];
  }

  // The grid cell of a field under map coordinates (x, y), or null outside the field.
  function fieldCell(key, method, x, y) {
    const f = meta[key].fields[method];
    if (f == null) return null;
    const [x0, x1, y0, y1] = f.extent;
    const c = Math.floor(((x - x0) / (x1 - x0)) * f.size);
    const r = Math.floor(((y1 - y) / (y1 - y0)) * f.size);
    if (!(c >= 0 && c < f.size && r >= 0 && r < f.size)) return null;
    return { r: r, c: c };
  }

  let fieldShown = null;  // "key:method:r:c" of the cell drawn
  async function showField(key, method, x, y, empty) {
    const cell = fieldCell(key, method, x, y);
    if (cell == null) return;
    const id = `${key}:${method}:${cell.r}:${cell.c}`;
    const canvas = $("field-img");
    if (id === fieldShown) { canvas.dataset.empty = String(empty); return; }
    fieldShown = id;
    const img = await fieldImage(key, method), im = meta[key].image;
    if (img == null || fieldShown !== id) return;
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(img, cell.c * im.w, cell.r * im.h, im.w, im.h, 0, 0, canvas.width, canvas.height);
    const j = meta[key].methods.indexOf(method);
    $("field-where").textContent =
      `${meta[key].titles[j]} at (${x.toPrecision(3)}, ${y.toPrecision(3)}), cell ${cell.r}, ${cell.c}` +
      (empty ? " (empty space)" : "");
    $("field-how").textContent = `${meta[key].titles[j]}: ${meta[key].fields[method].how}`;
    canvas.dataset.cell = id;
    canvas.dataset.empty = String(empty);
  }

  function fieldPanel(key) {
    const m = meta[key], has = Object.keys(m.fields).length > 0;
    $("field-on").hidden = !has;
    $("field-none").hidden = has;
    $("field-none").textContent = m.field_note;
    const hows = m.methods.filter((x) => m.fields[x]).map(
      (x) => `${m.titles[m.methods.indexOf(x)]}: ${m.fields[x].how}`);
    $("field-how").textContent = hows.join("; ");
  }

  async function mosaic(on) {
    for (const key of Object.keys(meta)) {
      for (const method of meta[key].methods) {
        const f = meta[key].fields[method], r = model(`mosaic-image:${key}:${method}`);
        if (f == null || r == null) continue;
        const show = on && shownKeys().includes(key);
        if (show && model(`mosaic:${key}:${method}`).data.url.length === 0) {
          await fieldImage(key, method);
          const [x0, x1, y0, y1] = f.extent;
          model(`mosaic:${key}:${method}`).data = {
            url: [fieldUris[key][method]], x: [x0], y: [y1], w: [x1 - x0], h: [y1 - y0],
          };
        }
        r.visible = show;
      }
    }
    document.documentElement.dataset.mosaic = String(on);
  }

  // --- a second model of the same dataset, linked to the first by point index -----------
  const rowMaps = {};  // "a>b" -> Int32Array: row of a -> row of b holding the same point, or -1

  function rowMap(a, b) {
    const id = a + ">" + b;
    if (!(id in rowMaps)) {
      const da = source(a).data, db = source(b).data, out = new Int32Array(da.index.length);
      const at = new Map();
      for (let j = 0; j < db.index.length; j++) at.set(db.split[j] * 2 ** 31 + db.index[j], j);
      for (let i = 0; i < da.index.length; i++) {
        const j = at.get(da.split[i] * 2 ** 31 + da.index[i]);
        out[i] = j === undefined ? -1 : j;
      }
      rowMaps[id] = out;
    }
    return rowMaps[id];
  }

  function mapRows(a, b, rows) {
    const m = rowMap(a, b), out = [];
    for (const i of rows) if (m[i] >= 0) out.push(m[i]);
    return out;
  }

  function compareOptions() {
    const box = $("compare"), was = box.value, key = current();
    box.replaceChildren();
    const none = document.createElement("option");
    none.value = ""; none.textContent = "(none)"; box.appendChild(none);
    for (const other of Object.keys(meta)) {
      if (other === key || meta[other].dataset !== meta[key].dataset) continue;
      const o = document.createElement("option");
      o.value = other; o.textContent = other; box.appendChild(o);
    }
    box.value = Array.from(box.options).some((o) => o.value === was) ? was : "";
    box.disabled = box.options.length === 1;
  }

  function showPairs() {
    const key = current(), other = compared();
    for (const div of document.querySelectorAll("#maps .pair")) {
      div.hidden = div.dataset.key !== key && div.dataset.key !== other;
      div.style.order = div.dataset.key === key ? 0 : 1;
    }
    window.dispatchEvent(new Event("resize"));
    document.documentElement.dataset.compare = other || "";
  }

  function switchCompare() {
    if (pinned) unpin();
    showPairs();
    const was = $("color-by").value;  // the layers offered depend on the compared model
    layerOptions(current());
    if (Array.from($("color-by").options).some((o) => o.value === was)) colorBy(current(), was);
    else colorBy(current(), "class");
    const other = compared();
    if (other) {
      const rows = mapRows(current(), other, selection(current()));
      source(other).selected.indices = rows;
      const layer = $("color-by").value;
      colorBy(other, meta[other].layers.some((l) => l.id === layer) || layer === "class" ||
        (layer === "error" && meta[other].error_range) ? layer : "class", false);
    }
    mosaic($("mosaic").checked);
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

  // Per map of `key`: how many of the rows `code` are among row i's code.length nearest.
  function keptOf(key, i, code) {
    const set = new Set(code), out = {};
    for (const method of meta[key].methods) {
      out[method] = mapNeighbors(key, method, i, set.size).filter((j) => set.has(j)).length;
    }
    return out;
  }

  function kept(key, i, k) {
    return keptOf(key, i, codeNeighbors(key, i, k));
  }

  // The pinned point (first, large, white) and its neighbours in one pair's maps.
  function pinRows(key, rows) {
    const d = source(key).data, m = meta[key], pinData = { size: [], color: [] };
    for (const method of m.methods) { pinData[method + "_x"] = []; pinData[method + "_y"] = []; }
    rows.forEach((r, j) => {
      pinData.size.push(j === 0 ? 13 : 8);
      pinData.color.push(j === 0 ? "#ffffff" : m.colors[d.label[r]]);
      for (const method of m.methods) {
        pinData[method + "_x"].push(d[method + "_x"][r]);
        pinData[method + "_y"].push(d[method + "_y"][r]);
      }
    });
    model("pin:" + key).data = pinData;
  }

  function countRows(table, key, counts, n, heading) {
    if (heading) {
      const th = document.createElement("th");
      th.colSpan = 2;
      th.textContent = heading;
      table.insertRow().appendChild(th);
    }
    meta[key].methods.forEach((method, j) => {
      const tr = table.insertRow();
      tr.dataset.method = method;
      tr.dataset.key = key;
      tr.insertCell().textContent = meta[key].titles[j];
      const c = tr.insertCell();
      c.className = "n";
      c.textContent = `${counts[method]} of ${n}`;
      tr.title = `of the point's ${n} nearest codes, ${counts[method]} are among its ${n} nearest points in this map`;
    });
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
    const table = $("pin-maps"), other = otherOf(key), rows = [i, ...code];
    table.replaceChildren();
    $("pin-shared").textContent = "";
    delete $("pin-shared").dataset.shared;
    countRows(table, key, kept(key, i, k), code.length, other ? key : null);
    pinRows(key, rows);
    if (other) {  // the same points in the other model's maps, by point index
      const j = rowMap(key, other)[i];
      if (j >= 0) {
        const there = mapRows(key, other, code);
        pinRows(other, [j, ...there]);
        countRows(table, other, keptOf(other, j, there), there.length, `${other} (the same points)`);
        const theirs = new Set(codeNeighbors(other, j, k)), shared = there.filter((r) => theirs.has(r));
        $("pin-shared").textContent = neighbors(other) == null ? "" :
          `its ${k} nearest codes in ${key} and its ${k} nearest codes in ${other}: ${shared.length} shared`;
        $("pin-shared").dataset.shared = shared.length;
      }
    }
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
    for (const k of [key, otherOf(key)].filter((x) => x)) pinRows(k, []);
    $("pin-grid").replaceChildren();
    $("pin-shared").textContent = "";
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
    for (const l of m.layers) {
      if (l.with && l.with !== compared()) continue;  // a pair's layer: while comparing the two
      add(l.id, l.title || (LAYER_TITLES[l.id] || l.id) + " (each map's own)");
    }
    box.value = "class";
  }

  // The column a layer colours a map by: each map's own, or the codes' (one for all maps).
  function layerField(key, method, layer) {
    const info = meta[key].layers.find((l) => l.id === layer);
    return info && info.scope === "codes" ? `codes__${layer}` : `${method}__${layer}`;
  }

  function colorBy(key, layer, panel = true) {
    const m = meta[key];
    for (const method of m.methods) {
      const r = model(`points:${key}:${method}`);
      if (!(method in (classColors[key] = classColors[key] || {}))) {
        classColors[key][method] = r.glyph.fill_color;
      }
      let spec = classColors[key][method];
      if (layer === "error") spec = { field: "error", transform: model("error:" + key) };
      else if (layer !== "class") spec = { field: layerField(key, method, layer), transform: model("layer:" + key) };
      r.glyph.fill_color = spec;
    }
    if (!panel) return;
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
    if (moved || underCursor == null || !shownKeys().includes(underCursor.key)) return;
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

  let linking = false;
  function selected(key) {
    const other = otherOf(key);
    if (other && !linking) {  // the same points selected in the other model's maps
      const want = mapRows(key, other, selection(key)).sort((a, b) => a - b);
      const have = selection(other);
      if (want.length !== have.length || want.some((r, j) => r !== have[j])) {
        linking = true;
        try { source(other).selected.indices = want; } finally { linking = false; }
      }
    }
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
    const hide = !hidden.has(c);
    for (const k of [key, otherOf(key)].filter((x) => x)) {  // the same dataset's classes
      const h = (hiddenClasses[k] = hiddenClasses[k] || new Set());
      if (hide) h.add(c); else h.delete(c);
      const label = source(k).data.label, rows = [];
      for (let i = 0; i < label.length; i++) if (!h.has(label[i])) rows.push(i);
      model("shown:" + k).indices = rows;
    }
    legend(key);
  }

  function switchPair() {
    const key = current();
    compareOptions();
    showPairs();
    legend(key);
    selected(key);
    fieldPanel(key);
    mosaic($("mosaic").checked);
  }

  // A point's position on the page (for tests, benchmarks and a future "zoom to").
  function pagePosition(key, method, i) {
    const d = source(key).data;
    return pageAt(key, method, d[method + "_x"][i], d[method + "_y"][i]);
  }

  // Map coordinates (x, y) of a map -> the page position they are drawn at.
  function pageAt(key, method, x, y) {
    const plot = model(`map:${key}:${method}`), view = Bokeh.index.find_one(plot);
    const box = view.canvas_view.el.getBoundingClientRect();
    return { x: box.left + view.frame.x_scale.compute(x), y: box.top + view.frame.y_scale.compute(y) };
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
    hover, selected, showPoint, describe, selection, csv, find, pagePosition, pageAt, imageId, ready,
    toggleClass, pin, unpin, codeNeighbors, mapNeighbors, kept, colorBy, model, fieldCell,
    rowMap, mosaic, pinned: () => pinned,
  };
  document.addEventListener("DOMContentLoaded", () => {
    $("search").addEventListener("submit", search);
    $("export").addEventListener("click", exportCsv);
    $("clear").addEventListener("click", () => { source(current()).selected.indices = []; });
    $("pair").addEventListener("change", () => {
      if (pinned) unpin();
      for (const k of Object.keys(classColors)) colorBy(k, "class", false);
      colorBy(current(), "class");
      switchPair();
      layerOptions(current());
    });
    $("compare").addEventListener("change", switchCompare);
    $("mosaic").addEventListener("change", () => mosaic($("mosaic").checked));
    $("color-by").addEventListener("change", () => {
      const layer = $("color-by").value, other = compared();
      colorBy(current(), layer);
      if (other) {
        const has = layer === "class" || (layer === "error" && meta[other].error_range) ||
          meta[other].layers.some((l) => l.id === layer);
        colorBy(other, has ? layer : "class", false);
      }
    });
    layerOptions(current());
    compareOptions();
    fieldPanel(current());
    $("maps").addEventListener("mousedown", onDown, true);
    $("maps").addEventListener("click", onClick);
    $("unpin").addEventListener("click", unpin);
    $("pin-k").addEventListener("change", () => { if (pinned) pin(pinned.key, pinned.i); });
    whenReady();
  });
})();
