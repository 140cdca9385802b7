// latent-atlas: the page. regl-scatterplot (vendored) draws each map's points with WebGL; the
// rest is ours: binary columns inflated into typed arrays, the camera (wheel zooms, shift-drag
// pans), hover and click found on a grid index of the quantised coordinates, box and lasso
// selection (unselected points stay drawn, in grey), the panels, the class legend, search,
// CSV export built in chunks, colour layers, pinned points and their code-space neighbours,
// density (an image of the point counts, contour lines), class or cluster labels, the decoded
// field under the cursor and as a mosaic, and a second model of the same dataset linked to the
// first by point index.
(function () {
  "use strict";
  const meta = {};
  for (const m of JSON.parse(document.getElementById("atlas-meta").textContent)) meta[m.key] = m;
  const $ = (id) => document.getElementById(id);
  const GRID_MAX = 240;  // thumbnails drawn in the selection panel
  const SIZE = 430;  // a map's side, CSS pixels
  const QUANT = 65535;  // map coordinates are uint16 over each map's extent
  const CELL_BITS = 8;  // grid index: 256 x 256 cells over the quantised coordinates
  const HOVER_PX = 8;  // a point is under the cursor within this many pixels
  const GREY = "#cfcfcf";  // unselected points while there is a selection
  const NO_VALUE = "#d9d9d9";  // a colour layer's points without a value
  const STOPS = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"];  // viridis
  const TYPES = {
    uint8: Uint8Array, uint16: Uint16Array, int16: Int16Array, int32: Int32Array,
    uint32: Uint32Array, float32: Float32Array,
  };

  function hex(c) { return [1, 3, 5].map((j) => parseInt(c.slice(j, j + 2), 16)); }
  // 255 colours along viridis: a layer's values 1..255 (0: no value)
  const RAMP = Array.from({ length: 255 }, (_, i) => {
    const t = (i / 254) * (STOPS.length - 1), j = Math.min(Math.floor(t), STOPS.length - 2);
    const a = hex(STOPS[j]), b = hex(STOPS[j + 1]), f = t - j;
    return "#" + a.map((v, c) => Math.round(v + (b[c] - v) * f).toString(16).padStart(2, "0")).join("");
  });
  // index q of a layer value (q + 0.5) / 256 under regl-scatterplot's continuous colouring
  const LAYER_COLORS = [NO_VALUE, ...RAMP, RAMP[254]];

  // --- the data: binary columns, inflated on first use -----------------------------------
  const data = {};  // key -> Promise<columns>
  const D = {};  // key -> columns, once loaded

  async function inflate(tag) {
    const text = tag.textContent, chunk = 1 << 22;  // a multiple of 4 base64 characters
    const parts = [];
    if (Uint8Array.fromBase64) parts.push(Uint8Array.fromBase64(text));  // native: far faster
    else for (let s = 0; s < text.length; s += chunk) {
      const bin = atob(text.slice(s, s + chunk)), bytes = new Uint8Array(bin.length);
      for (let j = 0; j < bin.length; j++) bytes[j] = bin.charCodeAt(j);
      parts.push(bytes);
    }
    const stream = new Blob(parts).stream().pipeThrough(new DecompressionStream("deflate"));
    const buffer = await new Response(stream).arrayBuffer();
    return new TYPES[tag.dataset.dtype](buffer);
  }

  function load(key) {
    if (!(key in data)) {
      data[key] = (async () => {
        const m = meta[key], cols = { x: {}, y: {}, qx: {}, qy: {}, geo: {}, layer: {} };
        const tags = document.querySelectorAll(`script[data-key="${CSS.escape(key)}"]`);
        await Promise.all(Array.from(tags, async (tag) => {
          const name = tag.dataset.name, values = await inflate(tag);
          if (name.startsWith("layer:")) cols.layer[name.slice(6)] = values;
          else if (name === "neighbors") cols.neighbors = values;
          else if (/_[xy]$/.test(name) && m.methods.includes(name.slice(0, -2))) {
            cols["q" + name.slice(-1)][name.slice(0, -2)] = values;
          } else cols[name] = values;
        }));
        for (const method of m.methods) {
          const [x0, x1, y0, y1] = m.extents[method];
          // the first view: the points and the decoded field (which may reach beyond them)
          const f = m.fields[method] ? m.fields[method].extent : [x0, x1, y0, y1];
          const [a0, a1, b0, b1] = [Math.min(x0, f[0]), Math.max(x1, f[1]), Math.min(y0, f[2]), Math.max(y1, f[3])];
          const half = (Math.max(a1 - a0, b1 - b0) / 2) * 1.04 || 1;
          const g = {
            x0: x0, y0: y0, sx: (x1 - x0) / QUANT, sy: (y1 - y0) / QUANT,
            cx: (a0 + a1) / 2, cy: (b0 + b1) / 2, half: half,
          };
          cols.geo[method] = g;
          const qx = cols.qx[method], qy = cols.qy[method], n = qx.length;
          const nx = new Float32Array(n), ny = new Float32Array(n);
          const ax = g.sx / half, bx = (x0 - g.cx) / half, ay = g.sy / half, by = (y0 - g.cy) / half;
          for (let i = 0; i < n; i++) { nx[i] = qx[i] * ax + bx; ny[i] = qy[i] * ay + by; }
          cols.x[method] = nx;
          cols.y[method] = ny;
        }
        cols.labelF = Float32Array.from(cols.label);
        D[key] = cols;
        performance.mark("atlas:loaded:" + key);
        return cols;
      })();
    }
    return data[key];
  }

  // a row's map coordinates
  const mapX = (key, method, i) => { const g = D[key].geo[method]; return g.x0 + D[key].qx[method][i] * g.sx; };
  const mapY = (key, method, i) => { const g = D[key].geo[method]; return g.y0 + D[key].qy[method][i] * g.sy; };

  // --- sprite sheets: a point's image ----------------------------------------------------
  const sheetUris = {};  // dataset -> data: URIs, parsed on first use
  const sheetImages = {};  // "dataset:sheet" -> Promise<HTMLImageElement>
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

  // Row i of a pair's maps -> its image (train then test, as in data.npz).
  function imageId(key, i) {
    const d = D[key];
    return d.split[i] ? meta[key].n_train + d.index[i] : d.index[i];
  }

  async function draw(canvas, key, i) {
    const m = meta[key], im = m.image, id = imageId(key, i);
    const ctx = canvas.getContext("2d");
    if (m.image_note) {
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      canvas.dataset.image = "none";
      return;
    }
    const img = await sheet(m.dataset, Math.floor(id / im.per_sheet));
    const cell = id % im.per_sheet;
    const sx = (cell % im.cols) * im.w, sy = Math.floor(cell / im.cols) * im.h;
    ctx.imageSmoothingEnabled = false;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(img, sx, sy, im.w, im.h, 0, 0, canvas.width, canvas.height);
    canvas.dataset.image = id;
  }

  function describe(key, i) {
    const d = D[key];
    return {
      row: i,
      label: d.label[i],
      class: meta[key].classes[d.label[i]],
      split: d.split[i] ? "test" : "train",
      index: d.index[i],
      error: d.error[i],
      cluster: d.cluster ? d.cluster[i] : null,
    };
  }

  async function showPoint(key, i) {
    const p = describe(key, i);
    $("hover-class").textContent = p.class;
    $("hover-split").textContent = p.split;
    $("hover-index").textContent = p.index;
    $("hover-error").textContent = Number.isFinite(p.error) ? p.error.toFixed(4) : "\u2014";
    $("hover-cluster").textContent = p.cluster == null ? "\u2014" : p.cluster < 0 ? "noise" : p.cluster;
    const canvas = $("hover-img");
    canvas.dataset.row = i;
    await draw(canvas, key, i);
  }

  // --- the camera: map coordinates <-> the page ---------------------------------------------
  const plots = {};  // "key:method" -> {sp, fig, under, over, labels}

  const IDENTITY = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
  // Above this many points a map being panned or zoomed shows its density image, which moves
  // at once, and draws its points again once still (each frame of all its points can be slow).
  const LOD_POINTS = 150000;
  const SETTLE_MS = 200;

  // The view the page shows (while a large map moves, ahead of the one WebGL last drew).
  function view(key, method) {
    const p = plots[key + ":" + method];
    if (p && p.view) return p.view;
    return p && p.sp ? p.sp.get("cameraView") : IDENTITY;
  }

  // map coordinates -> CSS pixels within the map's box
  function toBox(key, method, x, y) {
    const g = D[key].geo[method], v = view(key, method);
    const cx = v[0] * ((x - g.cx) / g.half) + v[12], cy = v[5] * ((y - g.cy) / g.half) + v[13];
    return [((cx + 1) / 2) * SIZE, ((1 - cy) / 2) * SIZE];
  }

  function fromBox(key, method, px, py) {
    const g = D[key].geo[method], v = view(key, method);
    const cx = (px / SIZE) * 2 - 1, cy = 1 - (py / SIZE) * 2;
    return [((cx - v[12]) / v[0]) * g.half + g.cx, ((cy - v[13]) / v[5]) * g.half + g.cy];
  }

  function boxOf(key, method) {
    return plots[key + ":" + method].over.getBoundingClientRect();
  }

  // Map coordinates (x, y) of a map -> the page position they are drawn at.
  function pageAt(key, method, x, y) {
    if (!(key in D) || !plots[key + ":" + method]) return { x: 0, y: 0 };
    const b = boxOf(key, method), [px, py] = toBox(key, method, x, y);
    return { x: b.left + px, y: b.top + py };
  }

  // A point's position on the page (for tests, benchmarks and a future "zoom to").
  function pagePosition(key, method, i) {
    if (!(key in D) || !plots[key + ":" + method] || !plots[key + ":" + method].drawn) {
      return { x: 0, y: 0 };
    }
    return pageAt(key, method, mapX(key, method, i), mapY(key, method, i));
  }

  function setView(key, method, v) {
    const p = plots[key + ":" + method];
    if (meta[key].n > LOD_POINTS) {
      p.view = Array.from(v);
      p.moving = true;
      clearTimeout(p.settle);
      p.settle = setTimeout(() => {
        p.moving = false;
        p.sp.set({ cameraView: new Float32Array(p.view) });
        p.view = null;
        paint(key, method);
      }, SETTLE_MS);
    } else {
      p.sp.set({ cameraView: new Float32Array(v) });
    }
    paint(key, method);
  }

  function zoom(key, method, ev) {
    ev.preventDefault();
    const v = Array.from(view(key, method)), b = boxOf(key, method);
    const cx = ((ev.clientX - b.left) / SIZE) * 2 - 1, cy = 1 - ((ev.clientY - b.top) / SIZE) * 2;
    const f = Math.exp(-ev.deltaY * 0.0015), nx = (cx - v[12]) / v[0], ny = (cy - v[13]) / v[5];
    v[0] *= f; v[5] *= f;
    v[12] = cx - v[0] * nx; v[13] = cy - v[5] * ny;
    setView(key, method, v);
  }

  // --- the grid index: which point is under the cursor, quickly at a million rows ---------
  const grids = {};  // "key:method" -> {start, order}

  function grid(key, method) {
    const id = key + ":" + method;
    if (!(id in grids)) {
      const qx = D[key].qx[method], qy = D[key].qy[method], n = qx.length, side = 1 << (16 - CELL_BITS);
      const start = new Uint32Array(side * side + 1), cell = new Uint32Array(n);
      for (let i = 0; i < n; i++) {
        cell[i] = (qx[i] >> CELL_BITS) + (qy[i] >> CELL_BITS) * side;
        start[cell[i] + 1] += 1;
      }
      for (let c = 0; c < side * side; c++) start[c + 1] += start[c];
      const fill = start.slice(0, side * side), order = new Uint32Array(n);
      for (let i = 0; i < n; i++) order[fill[cell[i]]++] = i;
      grids[id] = { start: start, order: order, side: side };
    }
    return grids[id];
  }

  // The shown row nearest to page position (px, py) of a map, within HOVER_PX; -1 if none.
  function nearest(key, method, px, py) {
    const g = D[key].geo[method], v = view(key, method), d = D[key], hidden = hiddenOf(key);
    const ppx = (v[0] * g.sx / g.half) * (SIZE / 2), ppy = (v[5] * g.sy / g.half) * (SIZE / 2);
    const [x, y] = fromBox(key, method, px, py);
    const qx = (x - g.x0) / (g.sx || 1), qy = (y - g.y0) / (g.sy || 1);
    const rx = ppx > 0 ? HOVER_PX / ppx : QUANT, ry = ppy > 0 ? HOVER_PX / ppy : QUANT;
    const ix = d.qx[method], iy = d.qy[method], gi = grid(key, method), side = gi.side;
    const clamp = (c) => Math.max(0, Math.min(side - 1, c));
    const c0 = clamp(Math.floor((qx - rx) / (1 << CELL_BITS))), c1 = clamp(Math.floor((qx + rx) / (1 << CELL_BITS)));
    const r0 = clamp(Math.floor((qy - ry) / (1 << CELL_BITS))), r1 = clamp(Math.floor((qy + ry) / (1 << CELL_BITS)));
    let best = -1, bestD = HOVER_PX * HOVER_PX;
    for (let r = r0; r <= r1; r++) {
      for (let c = c0; c <= c1; c++) {
        const cellId = r * side + c;
        for (let j = gi.start[cellId]; j < gi.start[cellId + 1]; j++) {
          const i = gi.order[j];
          const dx = (ix[i] - qx) * ppx, dy = (iy[i] - qy) * ppy, dist = dx * dx + dy * dy;
          if (dist < bestD && !hidden.has(d.label[i])) { bestD = dist; best = i; }
        }
      }
    }
    return best;
  }

  // Show the point nearest to the mouse, once per frame.
  let pending = null;
  let underCursor = null;  // the point the last hover frame found under the mouse
  function hoverAt(key, method, clientX, clientY) {
    if (!(key in D)) return;
    const first = pending == null;
    pending = { key: key, method: method, clientX: clientX, clientY: clientY };
    if (!first) return;
    requestAnimationFrame(() => {
      const p = pending;
      pending = null;
      const b = boxOf(p.key, p.method), px = p.clientX - b.left, py = p.clientY - b.top;
      const best = nearest(p.key, p.method, px, py), [x, y] = fromBox(p.key, p.method, px, py);
      underCursor = best >= 0 ? { key: p.key, i: best } : null;
      if (best >= 0) showPoint(p.key, best);
      showField(p.key, p.method, x, y, best < 0);
    });
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

  const mosaicOn = () => $("mosaic").checked;

  async function mosaic(on) {
    $("mosaic").checked = on;
    for (const key of shownKeys()) {
      for (const method of meta[key].methods) {
        if (on && meta[key].fields[method]) await fieldImage(key, method);
        if (plots[key + ":" + method]) paint(key, method);
      }
    }
    document.documentElement.dataset.mosaic = String(on);
  }

  // --- density: the point counts as an image (the level of detail for many points) --------
  const densities = {};  // "key:method" -> canvas of 256 x 256 cells

  function densityImage(key, method) {
    const id = key + ":" + method;
    if (!(id in densities)) {
      const gi = grid(key, method), side = gi.side, c = document.createElement("canvas");
      c.width = side; c.height = side;
      const ctx = c.getContext("2d"), img = ctx.createImageData(side, side);
      let most = 1;
      for (let k = 0; k < side * side; k++) most = Math.max(most, gi.start[k + 1] - gi.start[k]);
      const top = Math.log1p(most);
      for (let r = 0; r < side; r++) {
        for (let col = 0; col < side; col++) {
          const n = gi.start[r * side + col + 1] - gi.start[r * side + col];
          if (n === 0) continue;
          const t = Math.log1p(n) / top, rgb = hex(RAMP[Math.min(254, Math.round(t * 254))]);
          const at = ((side - 1 - r) * side + col) * 4;  // the image's top row: the map's top
          img.data.set([rgb[0], rgb[1], rgb[2], 255], at);
        }
      }
      ctx.putImageData(img, 0, 0);
      densities[id] = c;
    }
    return densities[id];
  }

  // --- the overlays: under the points (field mosaic, density image), over them (contours,
  // pinned points, the selection box) and the labels, redrawn with the camera --------------
  function paint(key, method) {
    const p = plots[key + ":" + method];
    if (!p || !(key in D)) return;
    const fig = p.fig, m = meta[key], g = D[key].geo[method];
    const dpr = window.devicePixelRatio || 1;
    for (const c of [p.under, p.over]) {
      if (c.width !== SIZE * dpr) { c.width = SIZE * dpr; c.height = SIZE * dpr; }
      const ctx = c.getContext("2d");
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, SIZE, SIZE);
    }
    const under = p.under.getContext("2d");
    const density = fig.dataset.density === "on" || Boolean(p.moving);
    if (p.moving) fig.dataset.movingFrames = Number(fig.dataset.movingFrames || 0) + 1;
    p.points.style.visibility = density ? "hidden" : "visible";
    if (density) {
      const [ax, ay] = toBox(key, method, g.x0, g.y0 + g.sy * QUANT);
      const [bx, by] = toBox(key, method, g.x0 + g.sx * QUANT, g.y0);
      under.imageSmoothingEnabled = false;
      under.drawImage(densityImage(key, method), ax, ay, bx - ax, by - ay);
    }
    const f = m.fields[method];
    if (mosaicOn() && f && fieldUris[key] && fieldUris[key][method]) {
      fieldImage(key, method).then((img) => {
        if (!img || !mosaicOn()) return;
        const [x0, x1, y0, y1] = f.extent, [ax, ay] = toBox(key, method, x0, y1);
        const [bx, by] = toBox(key, method, x1, y0);
        under.save();
        under.globalAlpha = 0.35;
        under.imageSmoothingEnabled = false;
        under.drawImage(img, ax, ay, bx - ax, by - ay);
        under.restore();
      });
    }
    fig.dataset.mosaic = String(Boolean(mosaicOn() && f));
    const over = p.over.getContext("2d");
    let paths = 0;
    if (fig.dataset.contours === "on" && m.contours[method]) {
      const cs = m.contours[method].contours, n = cs.length;
      cs.forEach((c, j) => {
        over.strokeStyle = `rgba(20, 20, 20, ${0.35 + (0.5 * (j + 1)) / n})`;
        over.lineWidth = 1;
        for (const path of c.paths) {
          over.beginPath();
          path.forEach(([x, y], t) => {
            const [sx, sy] = toBox(key, method, x, y);
            if (t === 0) over.moveTo(sx, sy); else over.lineTo(sx, sy);
          });
          over.stroke();
          paths += 1;
        }
      });
    }
    fig.dataset.contourPaths = paths;
    const rows = pinnedRows[key] || [];
    rows.forEach((r, j) => {
      const [sx, sy] = toBox(key, method, mapX(key, method, r), mapY(key, method, r));
      over.beginPath();
      over.arc(sx, sy, j === 0 ? 6.5 : 4, 0, 2 * Math.PI);
      over.fillStyle = j === 0 ? "#ffffff" : m.colors[D[key].label[r]];
      over.fill();
      over.lineWidth = 1.2;
      over.strokeStyle = "#000000";
      over.stroke();
    });
    fig.dataset.pinned = rows.length;
    if (p.box) {
      over.strokeStyle = "#1f4e9c";
      over.fillStyle = "rgba(31, 78, 156, 0.12)";
      over.lineWidth = 1;
      over.beginPath();
      p.box.forEach(([x, y], t) => (t === 0 ? over.moveTo(x, y) : over.lineTo(x, y)));
      over.closePath();
      over.fill();
      over.stroke();
    }
    p.labels.replaceChildren();
    if (fig.dataset.labels === "on" && m.labels[method]) {
      for (const l of m.labels[method]) {
        const [sx, sy] = toBox(key, method, l.x, l.y);
        if (sx < 0 || sy < 0 || sx > SIZE || sy > SIZE) continue;
        const el = document.createElement("div");
        el.className = "label " + l.kind;
        el.style.left = sx + "px";
        el.style.top = sy + "px";
        el.innerHTML = '<span class="name"></span><small></small>';
        el.firstChild.textContent = l.name;
        el.lastChild.textContent =
          ` ${Math.round(l.purity * 100)}% \u00b7 ${l.points.toLocaleString("en")}` +
          (l.medoid ? ` \u00b7 ${l.medoid}` : "");
        el.title = `${l.kind} ${l.name}: ${l.points} points, purity ${l.purity.toFixed(3)}` +
          (l.medoid ? `, medoid ${l.medoid}` : "");
        p.labels.appendChild(el);
      }
    }
    fig.dataset.labelsShown = p.labels.childElementCount;
  }

  function toggle(key, method, what, on) {
    const p = plots[key + ":" + method];
    p.fig.dataset[what] = on ? "on" : "off";
    const box = p.fig.querySelector(`input[data-tool="${what}"]`);
    if (box) box.checked = on;
    paint(key, method);
  }

  // --- the maps: one figure per map, drawn by regl-scatterplot ----------------------------
  function figure(key, method, title) {
    const m = meta[key], fig = document.createElement("figure");
    fig.className = "map";
    fig.dataset.key = key;
    fig.dataset.method = method;
    const tools = [["density", "density", "the point counts as an image, in place of the points"]];
    if (m.contours[method]) tools.push(["contours", "contours", "density contour lines"]);
    if (m.labels[method]) tools.push(["labels", "labels", "class or cluster labels: purity, points"]);
    fig.innerHTML =
      '<figcaption><span class="title"></span> <span class="tools"></span></figcaption>' +
      '<div class="plot"><canvas class="under"></canvas><canvas class="points"></canvas>' +
      '<canvas class="over"></canvas><div class="labels"></div></div>';
    fig.querySelector(".title").textContent = title;
    const bar = fig.querySelector(".tools");
    for (const [what, text, hint] of tools) {
      const label = document.createElement("label");
      label.title = hint;
      label.innerHTML = `<input type="checkbox" data-tool="${what}"> ${text}`;
      label.firstChild.addEventListener("change", (ev) => toggle(key, method, what, ev.target.checked));
      bar.appendChild(label);
      fig.dataset[what] = "off";
    }
    const reset = document.createElement("button");
    reset.type = "button";
    reset.textContent = "reset view";
    reset.addEventListener("click", () => setView(key, method, IDENTITY));
    bar.appendChild(reset);
    return fig;
  }

  const built = {};  // key -> Promise: the pair's maps drawn
  let shared = null;
  // One WebGL context for every map (a browser allows few, and each costs time to start), on a
  // canvas of one map's size: by default it is the window's, and every frame of every map
  // would clear, tone-map and copy that many pixels.
  function renderer() {
    if (shared == null) {
      const canvas = document.createElement("canvas"), dpr = window.devicePixelRatio || 1;
      canvas.width = SIZE * dpr;
      canvas.height = SIZE * dpr;
      shared = createScatterplotRenderer({ canvas: canvas });
    }
    return shared;
  }

  // regl-scatterplot's own hover and lasso search a k-d tree of every map; the page finds its
  // points on its grid index instead, so each map gets an empty tree (kdbush's serialised
  // header: magic, version 1 with Float64 coordinates, node size 16, no items), which spares
  // building a tree of a million points per map.
  function noIndex() {
    const buffer = new ArrayBuffer(8);
    new Uint8Array(buffer).set([0xdb, 0x18]);
    new Uint16Array(buffer, 2, 1)[0] = 16;
    return buffer;
  }

  function build(key) {
    if (!(key in built)) {
      built[key] = (async () => {
        const m = meta[key], box = document.querySelector(`#maps .pair[data-key="${CSS.escape(key)}"] .row`);
        const d = await load(key);
        const size = m.n > 300000 ? 1.5 : m.n > 20000 ? 2.5 : 5;
        await Promise.all(m.methods.map(async (method, j) => {
          const fig = figure(key, method, m.titles[j]);
          box.appendChild(fig);
          const p = {
            fig: fig, points: fig.querySelector("canvas.points"), under: fig.querySelector("canvas.under"),
            over: fig.querySelector("canvas.over"), labels: fig.querySelector(".labels"), drawn: false,
          };
          plots[key + ":" + method] = p;
          p.sp = createScatterplot({
            renderer: renderer(), canvas: p.points, width: SIZE, height: SIZE, pointSize: size, pointSizeSelected: 0,
            pointOutlineWidth: 0, colorBy: "valueA", pointColor: m.colors, pointColorActive: m.colors,
            pointColorHover: m.colors, opacity: 0.8, backgroundColor: [1, 1, 1, 0],
            deselectOnDblClick: false, deselectOnEscape: false, lassoInitiator: false,
            performanceMode: m.n > 300000,
          });
          await p.sp.draw(  // resolves once the points are on the screen
            { x: d.x[method], y: d.y[method], valueA: d.labelF, valueB: new Float32Array(m.n) },
            { zDataType: "categorical", wDataType: "continuous", spatialIndex: noIndex() });
          p.colors = "class:false";  // as created
          fig.dataset.colorBy = "class";
          fig.dataset.grey = "false";
          p.drawn = true;
          performance.mark(`atlas:drawn:${key}:${method}`);
          listen(key, method, p);
          paint(key, method);
        }));
        applyHidden(key);
        applyColors(key);
        applySelection(key);
      })();
    }
    return built[key];
  }

  // Mouse on a map: hover, click (pin), drag (box; alt: lasso), shift-drag (pan), wheel (zoom).
  let drag = null;
  function listen(key, method, p) {
    const over = p.over;
    over.addEventListener("wheel", (ev) => zoom(key, method, ev), { passive: false });
    over.addEventListener("mousemove", (ev) => { if (!drag) hoverAt(key, method, ev.clientX, ev.clientY); });
    over.addEventListener("mouseleave", () => { pending = null; });
    over.addEventListener("mousedown", (ev) => {
      if (ev.button !== 0) return;
      ev.preventDefault();
      const b = boxOf(key, method);
      drag = {
        key: key, method: method, x: ev.clientX, y: ev.clientY, b: b, moved: false,
        mode: ev.shiftKey ? "pan" : ev.altKey ? "lasso" : "box", view: Array.from(view(key, method)),
        path: [[ev.clientX - b.left, ev.clientY - b.top]],
      };
    });
  }

  function onMove(ev) {
    if (!drag) return;
    const p = plots[drag.key + ":" + drag.method], b = drag.b;
    if (Math.hypot(ev.clientX - drag.x, ev.clientY - drag.y) > 4) drag.moved = true;
    if (!drag.moved) return;
    const px = ev.clientX - b.left, py = ev.clientY - b.top;
    if (drag.mode === "pan") {
      const v = drag.view.slice();
      v[12] += ((ev.clientX - drag.x) / SIZE) * 2;
      v[13] -= ((ev.clientY - drag.y) / SIZE) * 2;
      setView(drag.key, drag.method, v);
      return;
    }
    if (drag.mode === "lasso") drag.path.push([px, py]);
    else {
      const [x0, y0] = drag.path[0];
      drag.path = [[x0, y0], [px, y0], [px, py], [x0, py]];
    }
    p.box = drag.path;
    paint(drag.key, drag.method);
  }

  function onUp(ev) {
    if (!drag) return;
    const d = drag, p = plots[d.key + ":" + d.method];
    drag = null;
    p.box = null;
    if (!d.moved) {
      paint(d.key, d.method);
      const b = d.b, i = nearest(d.key, d.method, ev.clientX - b.left, ev.clientY - b.top);
      if (i >= 0) pin(d.key, i);
      return;
    }
    if (d.mode !== "pan" && d.path.length >= 3) select(d.key, rowsIn(d.key, d.method, d.path));
    paint(d.key, d.method);
  }

  // The shown rows inside a polygon of box pixels of a map (a box is its four corners).
  function rowsIn(key, method, poly) {
    const pts = poly.map(([x, y]) => fromBox(key, method, x, y)), g = D[key].geo[method];
    const qs = pts.map(([x, y]) => [(x - g.x0) / (g.sx || 1), (y - g.y0) / (g.sy || 1)]);
    const xs = qs.map((q) => q[0]), ys = qs.map((q) => q[1]);
    const lx = Math.min(...xs), hx = Math.max(...xs), ly = Math.min(...ys), hy = Math.max(...ys);
    const rect = poly.length === 4 && poly[0][1] === poly[1][1] && poly[1][0] === poly[2][0];
    const ix = D[key].qx[method], iy = D[key].qy[method], label = D[key].label, hidden = hiddenOf(key);
    const out = [];
    for (let i = 0; i < ix.length; i++) {
      const x = ix[i], y = iy[i];
      if (x < lx || x > hx || y < ly || y > hy || hidden.has(label[i])) continue;
      if (!rect) {  // ray casting
        let inside = false;
        for (let a = 0, b = qs.length - 1; a < qs.length; b = a++) {
          const [xa, ya] = qs[a], [xb, yb] = qs[b];
          if ((ya > y) !== (yb > y) && x < ((xb - xa) * (y - ya)) / (yb - ya) + xa) inside = !inside;
        }
        if (!inside) continue;
      }
      out.push(i);
    }
    return Int32Array.from(out);
  }

  // --- selection: linked across a pair's maps and to a compared model; unselected in grey ---
  const selections = {};  // key -> sorted Int32Array of rows

  function selection(key) { return Array.from(selections[key] || []); }

  function select(key, rows) {
    rows = Int32Array.from(rows).sort();
    selections[key] = rows;
    const other = otherOf(key);
    if (other && key in D && other in D) {
      selections[other] = Int32Array.from(mapRows(key, other, rows)).sort();
      applySelection(other);
    }
    applySelection(key);
    panel();
  }

  function applySelection(key) {
    const rows = selections[key] || new Int32Array(0), m = meta[key];
    for (const method of m.methods) {
      const p = plots[key + ":" + method];
      if (!p || !p.drawn) continue;
      if (rows.length) p.sp.select(Array.from(rows), { preventEvent: true });
      else if (p.sp.get("selectedPoints").length) p.sp.deselect({ preventEvent: true });
      colorPlot(key, method);
      p.fig.dataset.selected = rows.length;
    }
  }

  function panel() {
    const key = current(), rows = selections[key] || new Int32Array(0), m = meta[key];
    $("sel-count").textContent = rows.length;
    if (!(key in D)) return;
    const d = D[key], counts = new Array(m.classes.length).fill(0);
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
    const grid_ = $("sel-grid");
    grid_.replaceChildren();
    if (!m.image_note) for (const i of rows.slice(0, GRID_MAX)) grid_.appendChild(thumbnail(key, i));
    $("sel-more").textContent =
      rows.length > GRID_MAX && !m.image_note ? `first ${GRID_MAX} of ${rows.length} shown` : "";
  }

  // The selection (or these rows) as CSV, built in chunks into a Blob: a million rows are
  // tens of megabytes, more than one string is safely built of.
  function csv(key, rows) {
    const m = meta[key], d = D[key];
    rows = rows ? Int32Array.from(rows) : selections[key] || new Int32Array(0);
    const [dataset, mdl] = key.split("/");
    const head = ["dataset", "model", "split", "index", "class"];
    if (d.cluster) head.push("cluster");
    head.push("recon_error");
    for (const method of m.methods) head.push(method + "_x", method + "_y");
    const parts = [head.join(",") + "\n"], quoted = m.classes.map((c) => JSON.stringify(c));
    const num = (v) => (Number.isFinite(v) ? String(+v.toPrecision(7)) : "");
    for (let s = 0; s < rows.length; s += 20000) {
      const lines = [];
      for (const i of rows.subarray(s, s + 20000)) {
        const cells = [dataset, mdl, d.split[i] ? "test" : "train", d.index[i], quoted[d.label[i]]];
        if (d.cluster) cells.push(d.cluster[i]);
        cells.push(num(d.error[i]));
        for (const method of m.methods) cells.push(num(mapX(key, method, i)), num(mapY(key, method, i)));
        lines.push(cells.join(","));
      }
      parts.push(lines.join("\n") + "\n");
    }
    return new Blob(parts, { type: "text/csv" });
  }

  function exportCsv() {
    const key = current(), url = URL.createObjectURL(csv(key));
    const a = document.createElement("a");
    a.href = url;
    a.download = "atlas-selection-" + key.replace("/", "-") + ".csv";
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  // --- a second model of the same dataset, linked to the first by point index -----------
  const rowMaps = {};  // "a>b" -> Int32Array: row of a -> row of b holding the same point, or -1

  function rowMap(a, b) {
    const id = a + ">" + b;
    if (!(id in rowMaps)) {
      const da = D[a], db = D[b], out = new Int32Array(da.index.length).fill(-1);
      let most = 0;
      for (let j = 0; j < db.index.length; j++) most = Math.max(most, db.index[j] + 1);
      const at = [new Int32Array(most).fill(-1), new Int32Array(most).fill(-1)];
      for (let j = 0; j < db.index.length; j++) at[db.split[j]][db.index[j]] = j;
      for (let i = 0; i < da.index.length; i++) {
        if (da.index[i] < most) out[i] = at[da.split[i]][da.index[i]];
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

  async function showPairs() {
    const key = current(), other = compared();
    for (const div of document.querySelectorAll("#maps .pair")) {
      div.hidden = div.dataset.key !== key && div.dataset.key !== other;
      div.style.order = div.dataset.key === key ? 0 : 1;
    }
    await Promise.all(shownKeys().map(build));
    document.documentElement.dataset.compare = other || "";
  }

  async function switchCompare() {
    if (pinned) unpin();
    document.documentElement.dataset.compare = "\u2026";
    await showPairs();
    const was = $("color-by").value;  // the layers offered depend on the compared model
    layerOptions(current());
    if (Array.from($("color-by").options).some((o) => o.value === was)) colorBy(current(), was);
    else colorBy(current(), "class");
    const other = compared();
    if (other) {
      selections[other] = Int32Array.from(mapRows(current(), other, selections[current()] || [])).sort();
      applySelection(other);
      const layer = $("color-by").value;
      colorBy(other, meta[other].layers.some((l) => l.id === layer) || layer === "class" ||
        (layer === "error" && meta[other].error_range) ? layer : "class", false);
    }
    await mosaic(mosaicOn());
    document.documentElement.dataset.compare = other || "";
  }

  // --- pinning: a point's code-space neighbours (from the shared kNN graph) in every map ---
  let pinned = null;  // {key, i}
  const pinnedRows = {};  // key -> rows drawn pinned: the point, then its neighbours

  function codeNeighbors(key, i, k) {
    const d = D[key], kk = meta[key].neighbors_k;
    if (!d.neighbors || kk === 0) return [];
    k = Math.min(k, kk);
    return Array.from(d.neighbors.subarray(i * kk, i * kk + k));
  }

  // The k train rows nearest to row i in one map (i itself left out), as the graph counts them.
  function mapNeighbors(key, method, i, k) {
    const d = D[key], xs = d.qx[method], ys = d.qy[method], split = d.split, g = d.geo[method];
    const best = [];  // [dist, row], sorted, at most k
    if (k <= 0) return best;
    const x = xs[i], y = ys[i], sx = g.sx, sy = g.sy;
    for (let j = 0; j < xs.length; j++) {
      if (split[j] || j === i) continue;
      const dx = (xs[j] - x) * sx, dy = (ys[j] - y) * sy, dist = dx * dx + dy * dy;
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

  function pinRows(key, rows) {
    pinnedRows[key] = rows;
    for (const method of meta[key].methods) paint(key, method);
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
    const kk = meta[key].neighbors_k, has = Boolean(D[key].neighbors), kIn = $("pin-k");
    if (has) kIn.max = kk;
    const k = Math.max(1, Math.min(parseInt(kIn.value, 10) || 10, has ? kk : 1));
    kIn.value = k;
    const p = describe(key, i), code = codeNeighbors(key, i, k);
    $("pin-none").hidden = true;
    $("pin-info").hidden = false;
    $("pin-what").textContent = `${p.class} (${p.split} ${p.index})`;
    $("pin-kmax").textContent = has ? `(1 to ${kk})` : "(no kNN graph in this atlas)";
    const table = $("pin-maps"), other = otherOf(key), rows = [i, ...code];
    table.replaceChildren();
    $("pin-shared").textContent = "";
    delete $("pin-shared").dataset.shared;
    countRows(table, key, kept(key, i, k), code.length, other ? key : null);
    pinRows(key, rows);
    if (other && other in D) {  // the same points in the other model's maps, by point index
      const j = rowMap(key, other)[i];
      if (j >= 0) {
        const there = mapRows(key, other, code);
        pinRows(other, [j, ...there]);
        countRows(table, other, keptOf(other, j, there), there.length, `${other} (the same points)`);
        const theirs = new Set(codeNeighbors(other, j, k)), shared = there.filter((r) => theirs.has(r));
        $("pin-shared").textContent = D[other].neighbors ?
          `its ${k} nearest codes in ${key} and its ${k} nearest codes in ${other}: ${shared.length} shared` : "";
        $("pin-shared").dataset.shared = shared.length;
      }
    }
    const grid_ = $("pin-grid");
    grid_.replaceChildren();
    if (!meta[key].image_note) for (const r of rows) grid_.appendChild(thumbnail(key, r));
    showPoint(key, i);
    document.documentElement.dataset.pinned = `${key}:${i}:${k}`;
  }

  function unpin() {
    const key = pinned ? pinned.key : current();
    pinned = null;
    $("pin-none").hidden = false;
    $("pin-info").hidden = true;
    delete document.documentElement.dataset.pinned;
    for (const k of [key, otherOf(key)].filter((x) => x && x in D)) pinRows(k, []);
    $("pin-grid").replaceChildren();
    $("pin-shared").textContent = "";
  }

  // --- colour layers: class, reconstruction error, each per-point quality measure -----------
  const coloring = {};  // key -> the layer the pair's maps are coloured by
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
    if (layer === "error") return "error";
    const info = meta[key].layers.find((l) => l.id === layer);
    return info && info.scope === "codes" ? `codes__${layer}` : `${method}__${layer}`;
  }

  // One map's colours: by class or by a layer, grey where unselected while there is a selection.
  function colorPlot(key, method) {
    const p = plots[key + ":" + method];
    if (!p || !p.drawn) return;
    const layer = coloring[key] || "class", m = meta[key];
    const base = layer === "class" ? m.colors : LAYER_COLORS;
    const any = (selections[key] || []).length > 0, state = `${layer}:${any}`;
    if (p.colors === state) return;  // each set() repaints a million points: only on a change
    p.colors = state;
    p.sp.set({
      colorBy: layer === "class" ? "valueA" : "valueB",
      pointColor: any ? base.map(() => GREY) : base, pointColorActive: base, pointColorHover: base,
    });
    p.fig.dataset.colorBy = layer;
    p.fig.dataset.grey = String(any);
  }

  // One recolouring of a pair at a time (a map draws one set of points at a time).
  const recolouring = {};
  function applyColors(key) {
    recolouring[key] = (recolouring[key] || Promise.resolve()).then(() => recolour(key));
    return recolouring[key];
  }

  async function recolour(key) {
    const layer = coloring[key] || "class", m = meta[key], d = D[key];
    if (!d) return;
    for (const method of m.methods) {
      const p = plots[key + ":" + method];
      if (!p || !p.drawn) continue;
      if (layer !== "class" && p.valueB !== layer) {
        const q = d.layer[layerField(key, method, layer)], v = new Float32Array(m.n);
        for (let i = 0; i < v.length; i++) v[i] = (q[i] + 0.5) / 256;
        p.valueB = layer;
        await p.sp.draw(
          { x: d.x[method], y: d.y[method], valueA: d.labelF, valueB: v },
          { zDataType: "categorical", wDataType: "continuous", preventFilterReset: true,
            spatialIndex: noIndex() });
        applyHidden(key, method);
        const rows = selections[key] || [];
        if (rows.length) p.sp.select(Array.from(rows), { preventEvent: true });
      }
      colorPlot(key, method);
    }
  }

  function colorBy(key, layer, panel_ = true) {
    const m = meta[key];
    coloring[key] = layer;
    const done = applyColors(key);
    if (panel_) {
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
    }
    return done;
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

  function find(key, split, index) {
    const d = D[key], want = split === "test" ? 1 : 0;
    for (let i = 0; i < d.index.length; i++) {
      if (d.index[i] === index && d.split[i] === want) return i;
    }
    return -1;
  }

  function search(ev) {
    ev.preventDefault();
    const key = current(), split = $("search-split").value;
    const index = parseInt($("search-index").value, 10);
    const i = Number.isInteger(index) && key in D ? find(key, split, index) : -1;
    if (i < 0) {
      $("search-result").textContent = `no ${split} point ${$("search-index").value} in this map`;
      return;
    }
    $("search-result").textContent = "found, selected in every map";
    select(key, [i]);
    showPoint(key, i);
  }

  // --- the class legend: hide a class from every map ----------------------------------------
  const hiddenClasses = {};  // key -> Set of hidden labels
  const hiddenOf = (key) => hiddenClasses[key] || new Set();

  function applyHidden(key, only) {
    const h = hiddenOf(key), d = D[key];
    let rows = null;
    if (h.size) {
      rows = [];
      for (let i = 0; i < d.label.length; i++) if (!h.has(d.label[i])) rows.push(i);
    }
    for (const method of only ? [only] : meta[key].methods) {
      const p = plots[key + ":" + method];
      if (!p || !p.drawn) continue;
      if (rows) p.sp.filter(rows, { preventEvent: true });
      else if (p.sp.get("isPointsFiltered")) p.sp.unfilter({ preventEvent: true });
      p.fig.dataset.shown = rows ? rows.length : d.label.length;
    }
  }

  function legend(key) {
    const m = meta[key], d = D[key], hidden = hiddenOf(key);
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
    const hide = !hiddenOf(key).has(c);
    for (const k of [key, otherOf(key)].filter((x) => x && x in D)) {  // the same dataset's classes
      const h = (hiddenClasses[k] = hiddenClasses[k] || new Set());
      if (hide) h.add(c); else h.delete(c);
      applyHidden(k);
      const rows = selections[k];
      if (rows && rows.length) applySelection(k);
    }
    legend(key);
  }

  async function switchPair() {
    const key = current();
    compareOptions();
    await showPairs();
    legend(key);
    panel();
    fieldPanel(key);
    $("hover-note").textContent = meta[key].image_note;
    $("hover-cluster-row").hidden = $("hover-cluster").hidden = !meta[key].clusters;
    await mosaic(mosaicOn());
  }

  function ready() {
    const key = current();
    return key in D && meta[key].methods.every((m) => plots[key + ":" + m] && plots[key + ":" + m].drawn);
  }

  // What a map draws, for tests: points drawn (not filtered out), selected, grey, colour layer.
  function drawn(key, method) {
    const p = plots[key + ":" + method], sp = p.sp;
    const filtered = sp.get("filteredPoints"), colors = sp.get("pointColor");
    return {
      points: sp.get("isPointsFiltered") ? filtered.length : meta[key].n,
      visible: p.points.style.visibility !== "hidden",
      moving: Boolean(p.moving),
      movingFrames: Number(p.fig.dataset.movingFrames || 0),  // painted as a density image
      selected: sp.get("selectedPoints").length,
      grey: p.fig.dataset.grey === "true",
      colorBy: p.fig.dataset.colorBy,
      field: p.fig.dataset.colorBy === "class" ? "label" : layerField(key, method, p.fig.dataset.colorBy),
      baseColors: colors.length,
      pinned: (pinnedRows[key] || []).length,
      contourPaths: Number(p.fig.dataset.contourPaths || 0),
      labels: Array.from(p.labels.children, (el) => el.textContent),
      mosaic: p.fig.dataset.mosaic === "true",
    };
  }

  window.latentAtlas = {
    hoverAt, showPoint, describe, selection, select, csv, find, pagePosition, pageAt, imageId,
    nearest, ready, toggleClass, pin, unpin, codeNeighbors, mapNeighbors, kept, colorBy, fieldCell,
    rowMap, mosaic, toggle, drawn, load, columns: (key) => D[key], plot: (key, method) => plots[key + ":" + method],
    pinned: () => pinned, pinnedRows: (key) => pinnedRows[key] || [],
    mapXY: (key, method, i) => [mapX(key, method, i), mapY(key, method, i)],
  };
  document.addEventListener("DOMContentLoaded", async () => {
    $("search").addEventListener("submit", search);
    $("export").addEventListener("click", exportCsv);
    $("clear").addEventListener("click", () => select(current(), []));
    $("pair").addEventListener("change", async () => {
      if (pinned) unpin();
      for (const k of Object.keys(coloring)) if (k !== current()) colorBy(k, "class", false);
      compareOptions();
      layerOptions(current());
      colorBy(current(), "class");
      await switchPair();
    });
    $("compare").addEventListener("change", switchCompare);
    $("mosaic").addEventListener("change", () => mosaic(mosaicOn()));
    $("color-by").addEventListener("change", async () => {
      const layer = $("color-by").value, other = compared(), key = current();
      const work = [colorBy(key, layer)];
      if (other) {
        const has = layer === "class" || (layer === "error" && meta[other].error_range) ||
          meta[other].layers.some((l) => l.id === layer);
        work.push(colorBy(other, has ? layer : "class", false));
      }
      await Promise.all(work);
      document.documentElement.dataset.colorBy = `${key}:${layer}`;
    });
    window.addEventListener("mousemove", onMove);
    window.addEventListener("mouseup", onUp);
    $("unpin").addEventListener("click", unpin);
    $("pin-k").addEventListener("change", () => { if (pinned) pin(pinned.key, pinned.i); });
    layerOptions(current());
    compareOptions();
    fieldPanel(current());
    await switchPair();
    // WebGL works ahead of the page: the points are on the screen once the next frames are
    await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    document.documentElement.dataset.atlasReady = String(performance.now());
  });
})();
