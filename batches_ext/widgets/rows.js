// batches_ext: the rows of the live batch table, as an anywidget ES module (plain JavaScript, no build step).
//
// Python (batches_ext.widgets.rows.BatchRows) sends `columns` and `rows` (cells as escaped HTML strings made by
// batches_ext.render); this module keeps one <tr> per batch id and, on every change, rewrites only the cells
// whose HTML differs. An unchanged row is never touched, so a text selection, hover or focus in it survives a
// refresh. A click on a row sets `selected`; a click on a sortable header sets `sort`; the copy button puts the
// full batch id on the clipboard (in the browser: Python never sees the clipboard).

function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text);
  }
  // plain-http notebook servers: the clipboard API is absent, fall back to a selected textarea
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  try {
    document.execCommand("copy");
  } finally {
    area.remove();
  }
  return Promise.resolve();
}

function render({ model, el }) {
  const wrap = document.createElement("div");
  wrap.className = "bx-table-wrap";
  const table = document.createElement("table");
  table.className = "bx-table";
  const colgroup = document.createElement("colgroup");
  const thead = document.createElement("thead");
  const headRow = document.createElement("tr");
  const tbody = document.createElement("tbody");
  const placeholder = document.createElement("div");
  placeholder.className = "bx-placeholder";
  thead.appendChild(headRow);
  table.append(colgroup, thead, tbody);
  wrap.append(table, placeholder);
  el.appendChild(wrap);

  const byId = new Map(); // batch id -> {tr, tds, html}
  let headKey = "";

  function renderHead() {
    const columns = model.get("columns") || [];
    const sort = model.get("sort");
    const key = JSON.stringify([columns, sort]);
    if (key === headKey) return;
    headKey = key;
    colgroup.replaceChildren(...columns.map((c) => {
      const col = document.createElement("col");
      if (c.width) col.style.width = c.width;
      return col;
    }));
    headRow.replaceChildren(...columns.map((c) => {
      const th = document.createElement("th");
      const label = document.createElement("span");
      label.textContent = c.sort === sort ? `${c.label} ▾` : c.label;
      th.appendChild(label);
      th.title = c.title || c.label;
      if (c.sort) {
        th.dataset.sort = c.sort;
        th.tabIndex = 0;
        th.setAttribute("aria-sort", c.sort === sort ? "descending" : "none");
      }
      return th;
    }));
  }

  function renderSelection() {
    const selected = model.get("selected");
    for (const [id, entry] of byId) {
      const on = id === selected;
      if (entry.tr.classList.contains("bx-selected") !== on) {
        entry.tr.classList.toggle("bx-selected", on);
        entry.tr.setAttribute("aria-selected", on ? "true" : "false");
      }
    }
  }

  function renderRows() {
    const rows = model.get("rows") || [];
    const seen = new Set();
    let previous = null;
    for (const row of rows) {
      let entry = byId.get(row.id);
      if (!entry) {
        const tr = document.createElement("tr");
        tr.dataset.batchId = row.id;
        tr.tabIndex = 0;
        tr.setAttribute("aria-selected", "false");
        const tds = row.cells.map((html) => {
          const td = document.createElement("td");
          td.innerHTML = html;
          tr.appendChild(td);
          return td;
        });
        entry = { tr, tds, html: row.cells.slice() };
        byId.set(row.id, entry);
      } else {
        row.cells.forEach((html, i) => {
          if (entry.html[i] !== html) {
            entry.tds[i].innerHTML = html;
            entry.html[i] = html;
          }
        });
      }
      const wanted = previous ? previous.nextSibling : tbody.firstChild;
      if (wanted !== entry.tr) tbody.insertBefore(entry.tr, wanted);
      previous = entry.tr;
      seen.add(row.id);
    }
    for (const [id, entry] of byId) {
      if (!seen.has(id)) {
        entry.tr.remove();
        byId.delete(id);
      }
    }
    renderSelection();
    renderPlaceholder();
  }

  function renderPlaceholder() {
    const html = (model.get("rows") || []).length ? "" : model.get("placeholder") || "";
    if (placeholder.dataset.html !== html) {
      placeholder.dataset.html = html;
      placeholder.innerHTML = html;
      placeholder.style.display = html ? "" : "none";
      table.style.display = html ? "none" : "";
    }
  }

  function select(tr) {
    model.set("selected", tr.dataset.batchId);
    model.save_changes();
  }

  function onClick(event) {
    const copy = event.target.closest(".bx-copy");
    if (copy && wrap.contains(copy)) {
      event.stopPropagation();
      copyText(copy.dataset.copy).then(() => {
        copy.classList.add("bx-copied");
        copy.title = "copied";
        setTimeout(() => { copy.classList.remove("bx-copied"); copy.title = "copy the full id"; }, 1500);
      });
      return;
    }
    if (event.target.closest("a")) return; // a link (the dashboard) opens; it does not select
    const th = event.target.closest("th[data-sort]");
    if (th) {
      model.set("sort", th.dataset.sort);
      model.save_changes();
      return;
    }
    const tr = event.target.closest("tr[data-batch-id]");
    if (tr && !String(window.getSelection ? window.getSelection() : "")) select(tr);
  }

  function onKey(event) {
    if (event.key !== "Enter" && event.key !== " ") return;
    const th = event.target.closest("th[data-sort]");
    const tr = event.target.closest("tr[data-batch-id]");
    if (th) {
      model.set("sort", th.dataset.sort);
      model.save_changes();
    } else if (tr) {
      select(tr);
    } else {
      return;
    }
    event.preventDefault();
  }

  table.addEventListener("click", onClick);
  table.addEventListener("keydown", onKey);
  const onRows = () => renderRows();
  const onHead = () => renderHead();
  const onSelected = () => renderSelection();
  const onPlaceholder = () => renderPlaceholder();
  model.on("change:rows", onRows);
  model.on("change:columns", onHead);
  model.on("change:sort", onHead);
  model.on("change:selected", onSelected);
  model.on("change:placeholder", onPlaceholder);
  renderHead();
  renderRows();
  return () => {
    model.off("change:rows", onRows);
    model.off("change:columns", onHead);
    model.off("change:sort", onHead);
    model.off("change:selected", onSelected);
    model.off("change:placeholder", onPlaceholder);
  };
}

export default { render };
