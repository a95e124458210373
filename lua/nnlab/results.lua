--- A grid's summary, plots and index page, rebuilt from its run folders.
local lfs = require("lfs")
local tsv = require("nnlab.tsv")
local atomic = require("nnlab.atomic")
local rundir = require("nnlab.rundir")
local plot = require("nnlab.plot")
local stats = require("nnlab.stats")

local results = {}

local FIRST_FIGURES = {"val_accuracy", "test_accuracy", "train_accuracy", "val_loss", "cost", "loss"}

--- Every point folder of a grid: {name, dir, config, final, status, reason}
-- (status DONE, RUNNING with the holder as reason, FAILED with its reason,
-- INTERRUPTED or PENDING: see rundir.status).
function results.scan(griddir)
  if lfs.attributes(griddir, "mode") ~= "directory" then
    return nil, griddir .. ": no such results folder"
  end
  local points = {}
  for _, entry in ipairs(rundir.points(griddir)) do
    local dir = entry.dir
    local p = {name = entry.name, dir = dir, config = tsv.read_kv(rundir.file(dir, "config")) or {},
               final = tsv.read_kv(rundir.file(dir, "final")) or {}}
    p.status, p.reason = rundir.status(dir)
    if p.status ~= "DONE" and p.status ~= "PRUNED" then p.final = {} end
    p.has_metrics = lfs.attributes(rundir.file(dir, "metrics"), "mode") == "file"
    points[#points + 1] = p
  end
  return points
end

--- The grid's axes: from grid.tsv, else the parameters that differ.
local function axes_of(griddir, points)
  local grid = tsv.read_kv(rundir.file(griddir, "grid"))
  if grid and type(grid.axes) == "string" and grid.axes ~= "" then
    local axes = {}
    for a in grid.axes:gmatch("[^,]+") do axes[#axes + 1] = a end
    return axes
  end
  local varying, seen = {}, {}
  for _, p in ipairs(points) do
    for k, v in pairs(p.config) do
      if seen[k] == nil then seen[k] = tsv.value(v)
      elseif seen[k] ~= tsv.value(v) then varying[k] = true end
    end
  end
  local axes = {}
  for k in pairs(varying) do axes[#axes + 1] = k end
  table.sort(axes)
  return axes
end

local function sort_points(points)
  table.sort(points, function(a, b)
    local va, vb = a.final.val_accuracy, b.final.val_accuracy
    if va and vb and va ~= vb then return va > vb end
    if (va ~= nil) ~= (vb ~= nil) then return va ~= nil end
    return a.name < b.name
  end)
end

local function summary_columns(points, axes)
  local params, is_axis = {}, {}
  for _, a in ipairs(axes) do
    params[#params + 1] = a
    is_axis[a] = true
  end
  local rest, seen = {}, {}
  for _, p in ipairs(points) do
    for k in pairs(p.config) do
      if not is_axis[k] and not seen[k] and k ~= "experiment" then
        seen[k] = true
        rest[#rest + 1] = k
      end
    end
  end
  table.sort(rest)
  for _, k in ipairs(rest) do params[#params + 1] = k end
  local figures, fseen = {}, {}
  for _, k in ipairs(FIRST_FIGURES) do
    for _, p in ipairs(points) do
      if p.final[k] ~= nil and not fseen[k] then
        fseen[k] = true
        figures[#figures + 1] = k
      end
    end
  end
  local more = {}
  for _, p in ipairs(points) do
    for k in pairs(p.final) do
      if not fseen[k] and k ~= "seconds" then
        fseen[k] = true
        more[#more + 1] = k
      end
    end
  end
  table.sort(more)
  for _, k in ipairs(more) do figures[#figures + 1] = k end
  figures[#figures + 1] = "seconds"
  return params, figures
end

-- More combinations of the other axes than this give one heatmap of the
-- best over them instead of a panel each.
local MAX_PANELS = 16

-- The metric that ranks points: the first of these that a finished point has.
local RANKING = {"val_accuracy", "test_accuracy", "train_accuracy"}

local function ranking_metric(points)
  for _, k in ipairs(RANKING) do
    for _, p in ipairs(points) do
      if p.final[k] ~= nil then return k end
    end
  end
  return nil
end
results.ranking_metric = ranking_metric

local function by_value(a, b)
  local na, nb = tonumber(a), tonumber(b)
  if na and nb then return na < nb end
  if (na ~= nil) ~= (nb ~= nil) then return na ~= nil end
  return a < b
end

--- The values of an axis over the points, numbers in numeric order.
local function values_of(points, axis)
  local vals, seen = {}, {}
  for _, p in ipairs(points) do
    local v = tsv.value(p.config[axis])
    if not seen[v] then seen[v] = true; vals[#vals + 1] = v end
  end
  table.sort(vals, by_value)
  return vals
end

--- The points by metric, best first: finished ones with the figure, then
-- the rest, each group in the order given (the summary's).
local function ranked(points, metric)
  local order, pos = {}, {}
  for i, p in ipairs(points) do order[i], pos[p] = p, i end
  local function figure(p) return metric and p.status == "DONE" and p.final[metric] or nil end
  table.sort(order, function(a, b)
    local va, vb = figure(a), figure(b)
    if va and vb and va ~= vb then return va > vb end
    if (va ~= nil) ~= (vb ~= nil) then return va ~= nil end
    return pos[a] < pos[b]
  end)
  return order
end

--- The finished point with the highest metric (the first of equals), or nil.
local function best_point(points, metric)
  local p = ranked(points, metric)[1]
  if p and metric and p.status == "DONE" and p.final[metric] ~= nil then return p end
  return nil
end

--- What a cell shows: the best finished point's value, or the status of the
-- points when none finished ("FAILED", "PENDING", "no point").
local function cell_of(list, metric)
  if not list then return nil, "no point" end
  local best, failed = nil, 0
  for _, p in ipairs(list) do
    local v = p.status == "DONE" and p.final[metric] or nil
    if v and (not best or v > best) then best = v end
    if p.status == "FAILED" then failed = failed + 1 end
  end
  if best then
    if #list == 1 and list[1].sd then
      local sd = list[1].sd[metric]
      return best, sd and ("%.4f ± %.4f"):format(best, sd) or ("%.4f (n = 1)"):format(best)
    end
    if #list == 1 then return best, ("%.4f"):format(best) end
    if failed > 0 then return best, ("%.4f (best of %d, %d FAILED)"):format(best, #list, failed) end
    return best, ("%.4f (best of %d)"):format(best, #list)
  end
  for _, p in ipairs(list) do
    if p.status == "FAILED" then return nil, "FAILED" end
  end
  return nil, list[1].status
end

--- grid_line.png for one axis; grid_heatmap.png for two or more: a heatmap
-- of the two axes with the most values, one panel per combination of the
-- other axes' values, all on one colour scale (or, past MAX_PANELS, the best
-- over them, named in the title). Returns the pictures drawn.
local function axis_plots(griddir, points, axes, metric)
  os.remove(griddir .. "/grid_line.png")
  os.remove(griddir .. "/grid_heatmap.png")
  if #axes == 0 or not metric then return {} end
  local best = best_point(points, metric)
  if #axes == 1 then
    local axis = axes[1]
    local line = {}
    for i, v in ipairs(values_of(points, axis)) do
      local list = {}
      for _, p in ipairs(points) do
        if tsv.value(p.config[axis]) == v then list[#list + 1] = p end
      end
      local value, label = cell_of(list, metric)
      local x = list[1].config[axis]
      line[i] = {x = type(x) == "number" and x or nil, tick = v, value = value, label = label}
      for _, p in ipairs(list) do
        if p == best then line.best = i end
      end
    end
    local ok, err = plot.line(griddir, "grid_line", {title = ("final %s against %s"):format(metric, axis),
      xlabel = axis, ylabel = "final " .. metric, points = line, best = line.best})
    if not ok then return {}, err end
    return {"grid_line.png"}
  end
  -- columns: the axis with the most values, rows: the next (of two alike,
  -- the first in the grid's order gives the rows); the others give panels
  local by_size = {}
  for i, a in ipairs(axes) do by_size[i] = {axis = a, n = #values_of(points, a), i = i} end
  table.sort(by_size, function(x, y)
    if x.n ~= y.n then return x.n > y.n end
    return x.i < y.i
  end)
  local cols_axis, rows_axis = by_size[1].axis, by_size[2].axis
  if by_size[1].n == by_size[2].n then cols_axis, rows_axis = rows_axis, cols_axis end
  local row_vals, col_vals = values_of(points, rows_axis), values_of(points, cols_axis)
  local others = {}
  for _, a in ipairs(axes) do
    if a ~= rows_axis and a ~= cols_axis then others[#others + 1] = a end
  end
  -- every combination of the other axes' values, the first axis slowest
  local combos = {{}}
  for _, axis in ipairs(others) do
    local next_combos = {}
    for _, combo in ipairs(combos) do
      for _, v in ipairs(values_of(points, axis)) do
        local c = {table.unpack(combo)}
        c[#c + 1] = v
        next_combos[#next_combos + 1] = c
      end
    end
    combos = next_combos
  end
  -- past MAX_PANELS panels, one heatmap of the best over the other axes
  local pooled = #combos > MAX_PANELS
  if pooled then combos = {{}} end
  local function key_of(p, list)
    local parts = {}
    for i, axis in ipairs(list) do parts[i] = tsv.value(p.config[axis]) end
    return table.concat(parts, "\0")
  end
  local cells, order = {}, {rows_axis, cols_axis}
  if not pooled then table.move(others, 1, #others, 3, order) end
  for _, p in ipairs(points) do
    local k = key_of(p, order)
    cells[k] = cells[k] or {}
    table.insert(cells[k], p)
  end
  local panels, best_cell = {}, nil
  for i, combo in ipairs(combos) do
    local title = {}
    for j, v in ipairs(combo) do title[j] = others[j] .. "=" .. v end
    local panel = {title = table.concat(title, ", "), values = {}, labels = {}}
    for r, rv in ipairs(row_vals) do
      panel.values[r], panel.labels[r] = {}, {}
      for c, cv in ipairs(col_vals) do
        local k = table.concat({rv, cv, table.unpack(combo)}, "\0")
        panel.values[r][c], panel.labels[r][c] = cell_of(cells[k], metric)
        for _, p in ipairs(cells[k] or {}) do
          if p == best then best_cell = {panel = i, row = r, col = c} end
        end
      end
    end
    panels[i] = panel
  end
  local title = ("final %s: %s (rows) by %s (columns)"):format(metric, rows_axis, cols_axis)
  local named = table.concat(others, ", ", 1, math.max(0, #others - 1))
    .. (#others > 1 and " and " or "") .. (others[#others] or "")
  if pooled then
    title = title .. "; best over " .. named
  elseif #others > 0 then
    title = title .. "; a panel for each " .. named
  end
  local ok, err = plot.heatmap(griddir, "grid_heatmap", {title = title, xlabel = cols_axis,
    ylabel = rows_axis, row_labels = row_vals, col_labels = col_vals, panels = panels, best = best_cell})
  if not ok then return {}, err end
  return {"grid_heatmap.png"}
end


---------------------------------------------------------------- replicates

-- Parameters that tell the replicates of one configuration apart.
local REPLICATE_KEYS = {seed = true, replicate = true}

-- A configuration's status: DONE when every replicate is, else the first of
-- these that one of them has.
local STATUS_ORDER = {"RUNNING", "INTERRUPTED", "PENDING", "PRUNED", "FAILED"}

--- The configurations of replicated points: {name, config (without seed
-- and replicate), members, n (DONE members), status, reason, final (means),
-- sd, lo, hi (the 95% interval), values[figure] (the DONE members' values),
-- anchor}, in the points' order.
function results.configurations(points)
  local by_key, list = {}, {}
  for _, p in ipairs(points) do
    local keys = {}
    for k in pairs(p.config) do
      if not REPLICATE_KEYS[k] then keys[#keys + 1] = k end
    end
    table.sort(keys)
    local parts = {}
    for i, k in ipairs(keys) do parts[i] = k .. "=" .. tsv.value(p.config[k]) end
    local key = table.concat(parts, "\0")
    local c = by_key[key]
    if not c then
      local config = {}
      for _, k in ipairs(keys) do config[k] = p.config[k] end
      local name = p.name:gsub(",?rep=%d+$", "")
      c = {name = name ~= "" and name or "default", config = config, members = {}, anchor = p.name}
      by_key[key] = c
      list[#list + 1] = c
    end
    table.insert(c.members, p)
  end
  for _, c in ipairs(list) do
    local counts, done = {}, {}
    for _, p in ipairs(c.members) do
      counts[p.status] = (counts[p.status] or 0) + 1
      if p.status == "DONE" then done[#done + 1] = p end
    end
    c.n = #done
    if #done == #c.members then
      c.status = "DONE"
    else
      for _, st in ipairs(STATUS_ORDER) do
        if counts[st] then c.status = st; break end
      end
      local parts = {}
      for _, st in ipairs{"DONE", table.unpack(STATUS_ORDER)} do
        if counts[st] then parts[#parts + 1] = ("%d %s"):format(counts[st], st) end
      end
      c.reason = ("%s of %d replicates"):format(table.concat(parts, ", "), #c.members)
    end
    c.final, c.sd, c.lo, c.hi, c.values = {}, {}, {}, {}, {}
    local figures = {}
    for _, p in ipairs(done) do
      for k, v in pairs(p.final) do
        if type(v) == "number" then figures[k] = true end
      end
    end
    for k in pairs(figures) do
      local xs = {}
      for _, p in ipairs(done) do
        if type(p.final[k]) == "number" then xs[#xs + 1] = p.final[k] end
      end
      local r = stats.summary(xs)
      c.values[k], c.final[k], c.sd[k], c.lo[k], c.hi[k] = xs, r.mean, r.sd, r.lo, r.hi
    end
    -- a configuration with some replicates DONE shows their figures
    if c.n > 0 and c.status ~= "DONE" then c.partial = true end
  end
  return list
end

--- Ranks configurations by the metric's mean, best first, and gives each
-- other one its difference to the best and Welch's p-value against it.
local function compare_configurations(configs, metric)
  table.sort(configs, function(a, b)
    local va, vb = metric and a.final[metric], metric and b.final[metric]
    if va and vb and va ~= vb then return va > vb end
    if (va ~= nil) ~= (vb ~= nil) then return va ~= nil end
    return a.name < b.name
  end)
  local best = configs[1]
  if not (best and metric and best.final[metric]) then return nil end
  for _, c in ipairs(configs) do
    if c ~= best and c.final[metric] then
      c.diff = c.final[metric] - best.final[metric]
      local _, _, pv = stats.welch(c.values[metric], best.values[metric])
      c.p_value = pv
    end
  end
  return best
end

--- The per-epoch mean of a column over the configuration's replicates with
-- a band: mean ± sd for 3 replicates or more, min-max below.
local function band_rows(griddir, c, column)
  local per_epoch, last = {}, 0
  for _, p in ipairs(c.members) do
    if p.has_metrics then
      local _, rows = tsv.read_table(rundir.file(p.dir, "metrics"))
      for _, r in ipairs(rows or {}) do
        if r.epoch and type(r[column]) == "number" then
          per_epoch[r.epoch] = per_epoch[r.epoch] or {}
          table.insert(per_epoch[r.epoch], r[column])
          last = math.max(last, r.epoch)
        end
      end
    end
  end
  local _ = griddir
  local rows = {}
  for e = 1, last do
    local xs = per_epoch[e]
    if xs then
      local m, sd = stats.mean(xs), stats.sd(xs)
      local lo, hi
      if #xs >= 3 then
        lo, hi = m - sd, m + sd
      else
        lo, hi = math.min(table.unpack(xs)), math.max(table.unpack(xs))
      end
      rows[#rows + 1] = {e, m, lo, hi}
    end
  end
  return rows
end

--- summary.tsv of a replicated grid: one row per configuration, best first.
local function write_configurations(griddir, configs, axes, metric)
  local params, seen = {}, {}
  for _, a in ipairs(axes) do params[#params + 1] = a; seen[a] = true end
  local rest = {}
  for _, c in ipairs(configs) do
    for k in pairs(c.config) do
      if not seen[k] and k ~= "experiment" then seen[k] = true; rest[#rest + 1] = k end
    end
  end
  table.sort(rest)
  for _, k in ipairs(rest) do params[#params + 1] = k end
  local _, figures = summary_columns(configs, axes)
  local columns = {"configuration"}
  for _, k in ipairs(params) do columns[#columns + 1] = k end
  for _, k in ipairs{"status", "n", "best"} do columns[#columns + 1] = k end
  if metric then
    columns[#columns + 1] = metric .. "_diff"
    columns[#columns + 1] = metric .. "_p"
  end
  for _, k in ipairs(figures) do
    for _, suffix in ipairs{"mean", "sd", "lo95", "hi95"} do columns[#columns + 1] = k .. "_" .. suffix end
  end
  local rows = {}
  for i, c in ipairs(configs) do
    local row, n = {c.name}, 1
    local function add(v) n = n + 1; row[n] = v end
    for _, k in ipairs(params) do add(c.config[k]) end
    add(c.status); add(c.n); add(i == 1 and c.best and "*" or nil)
    if metric then add(c.diff); add(c.p_value) end
    for _, k in ipairs(figures) do add(c.final[k]); add(c.sd[k]); add(c.lo[k]); add(c.hi[k]) end
    rows[i] = row
  end
  tsv.write_table(rundir.file(griddir, "summary"), columns, rows, tsv.figure)
end

--- grid_search.png: the metric against each searched parameter ("lr:log,c:lin"),
-- the best point circled. Returns the pictures drawn.
local function search_plot(griddir, points, spec, metric, best)
  os.remove(griddir .. "/grid_search.png")
  if not metric then return {} end
  local params = {}
  for k, scale in spec:gmatch("([^:,]+):([^,]+)") do
    params[#params + 1] = {name = k, log = scale == "log", categorical = scale == "choice"}
  end
  local list = {}
  local pruned = 0
  for _, p in ipairs(points) do
    if (p.status == "DONE" or p.status == "PRUNED") and p.final[metric] then
      list[#list + 1] = {x = p.config, value = p.final[metric], best = p == best, pruned = p.status == "PRUNED"}
      if p.status == "PRUNED" then pruned = pruned + 1 end
    end
  end
  if #list == 0 or #params == 0 then return {} end
  local title = ("final %s against each searched parameter (%d points)"):format(metric, #list)
  if pruned > 0 then title = title .. ("; grey: %d pruned, at the rung they reached"):format(pruned) end
  local ok, err = plot.search(griddir, "grid_search", {title = title, ylabel = "final " .. metric, params = params,
    points = list})
  if not ok then return {}, err end
  return {"grid_search.png"}
end

--- grid_halving.png from halving.tsv: each point's metric at the rungs it
-- reached, and the final figure of those that finished.
local function halving_plot(griddir, points)
  os.remove(griddir .. "/grid_halving.png")
  local columns, rows = tsv.read_table(rundir.file(griddir, "halving"))
  if not columns or #rows == 0 then return {} end
  local metric = columns[4]
  local by_name, order = {}, {}
  for _, r in ipairs(rows) do
    local name = tostring(r.point)
    if not by_name[name] then by_name[name] = {name = name, xs = {}, ys = {}}; order[#order + 1] = name end
    local p = by_name[name]
    p.xs[#p.xs + 1], p.ys[#p.ys + 1] = r.epoch, r[metric]
  end
  local list = {}
  for _, name in ipairs(order) do list[#list + 1] = by_name[name] end
  for _, p in ipairs(points) do
    local h = by_name[p.name]
    if h and p.status == "DONE" and type(p.final[metric]) == "number" and type(p.config.epochs) == "number" then
      h.xs[#h.xs + 1], h.ys[#h.ys + 1] = p.config.epochs, p.final[metric]
      h.survived = true
      h.name = ("%s %.4f"):format(p.name, p.final[metric])
    end
  end
  table.sort(list, function(a, b) return (a.survived and 1 or 0) < (b.survived and 1 or 0) end)
  local ok, err = plot.halving(griddir, "grid_halving", {title = ("successive halving: %s at each rung, %d points")
    :format(metric, #list), ylabel = metric, points = list})
  if not ok then return {}, err end
  return {"grid_halving.png"}
end

local function html_escape(s)
  return (tostring(s):gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"):gsub('"', "&quot;"))
end

--- A relative URL of a file name: bytes other than these are percent-encoded.
local function url_escape(s)
  return (tostring(s):gsub("[^%w%-%._~=,+/:@]", function(ch) return ("%%%02X"):format(ch:byte()) end))
end

--- A figure as a person reads it: 5 significant digits.
local function shown(v)
  if type(v) == "number" and math.type(v) == "float" and v == v and v ~= math.huge and v ~= -math.huge then
    return ("%.5g"):format(v)
  end
  return tsv.value(v)
end

--- A column name that may wrap after its underscores.
local function header(s)
  return (html_escape(s):gsub("_", "_<wbr>"))
end

-- Sorts the summary by a clicked column: numbers as numbers, empty cells last.
local SORT_JS = [[
<script>
document.querySelectorAll("table.sortable th").forEach(function (th, col) {
  th.addEventListener("click", function () {
    var body = th.closest("table").tBodies[0], up = th.dataset.dir !== "asc";
    th.closest("tr").querySelectorAll("th").forEach(function (h) { delete h.dataset.dir; });
    th.dataset.dir = up ? "asc" : "desc";
    Array.from(body.rows).map(function (r) { return [r, r.cells[col].dataset.v]; }).sort(function (a, b) {
      var x = a[1], y = b[1], nx = parseFloat(x), ny = parseFloat(y);
      if (x === undefined || y === undefined) return (x === undefined) - (y === undefined);
      var d = !isNaN(nx) && !isNaN(ny) && isFinite(x) && isFinite(y) ? nx - ny : x.localeCompare(y);
      return up ? d : -d;
    }).forEach(function (e) { body.appendChild(e[0]); });
  });
});
</script>
]]

local STYLE = [[
<style>
body{font-family:sans-serif;margin:16px;max-width:1268px;font-size:14px;color:#222}
h1{font-size:22px;margin:0 0 6px}h2{font-size:17px;margin:22px 0 8px}
p{margin:4px 0}.const{color:#444;line-height:1.6}
.const code{background:#f3f3f3;padding:1px 4px;margin-right:6px;white-space:nowrap;display:inline-block}
table.summary{border-collapse:collapse;font-size:12px}.summary a{white-space:nowrap}
.summary td,.summary th{border:1px solid #ccc;padding:3px 4px;text-align:right;vertical-align:top}
.summary th{background:#eef;cursor:pointer;user-select:none;font-weight:600}
.summary th.axis{background:#dde6ff}.summary td.axis{background:#f6f8ff}
.summary th[data-dir=asc]::after{content:" \25B2"}.summary th[data-dir=desc]::after{content:" \25BC"}
.summary td.text{text-align:left}.summary tr.FAILED td{background:#fde2e2}
.summary tr.PENDING td,.summary tr.RUNNING td,.summary tr.INTERRUPTED td{background:#fff6d6}
.summary tr.PRUNED td{color:#666;background:#f4f4f4}
.summary tr.best td{background:#dff3df}.summary tr.best td:first-child{font-weight:600}
.reason{font-weight:normal;font-size:12px;color:#900;
text-align:left;max-width:15em;white-space:normal}
.plots{display:flex;flex-wrap:wrap;gap:8px}.plots img{max-width:100%;border:1px solid #eee}
.point img{max-width:49%;margin:2px}
</style>
]]

--- index.html: the grid's summary (axes, varying parameters, status,
-- figures, difference to the best), its plots, then each point's plots.
local function write_index(griddir, name, t)
  local metric, best = t.metric, t.best
  local points = ranked(t.points, metric)
  local counts, order = {}, {}
  local every = t.sections or points -- with replicates, the points are the configurations' replicates
  for _, p in ipairs(every) do
    if not counts[p.status] then counts[p.status] = 0; order[#order + 1] = p.status end
    counts[p.status] = counts[p.status] + 1
  end
  local tally = {}
  for _, s in ipairs(order) do tally[#tally + 1] = ("%d %s"):format(counts[s], s) end
  local h = {"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>", html_escape(name), "</title>\n",
    STYLE, "</head><body>\n<h1>", html_escape(name), "</h1>\n<p>",
    t.sections and ("%d configuration%s, "):format(#points, #points == 1 and "" or "s") or "",
    #every, #every == 1 and " point (" or " points (", table.concat(tally, ", "), ")"}
  if #t.axes > 0 then
    local list = {}
    for i, a in ipairs(t.axes) do list[i] = ("%s (%d values)"):format(html_escape(a), #values_of(points, a)) end
    h[#h + 1] = "; axes: " .. table.concat(list, ", ")
  end
  h[#h + 1] = ".</p>\n"
  if t.absent and t.absent > 0 then
    h[#h + 1] = ("<p class=\"absent\">%d of the grid's %d points %s not started (no run folder): this page "
      .. "shows the %d that %s, and its best is the best of those.</p>\n"):format(t.absent, t.planned,
      t.absent == 1 and "has" or "have", #every, #every == 1 and "has" or "have")
  end
  if best then
    h[#h + 1] = ("<p>Best by %s: <a href=\"#%s\">%s</a>, %s.</p>\n"):format(html_escape(metric),
      html_escape(url_escape(best.anchor or best.name)), html_escape(best.name), html_escape(shown(best.final[metric])))
  end
  if #t.constants > 0 then
    h[#h + 1] = "<p class=\"const\">Same for every point: "
    for _, k in ipairs(t.constants) do
      h[#h + 1] = ("<code>%s = %s</code>"):format(html_escape(k), html_escape(tsv.value(t.config[k])))
    end
    h[#h + 1] = "</p>\n"
  end
  if t.replicated then
    h[#h + 1] = "<p>A row per configuration: the mean of its DONE replicates, their sd and the 95% Student's t "
      .. "interval of the mean; p (Welch) tests whether a configuration's mean differs from the best's. "
      .. "The replicates' own rows are in replicates.tsv.</p>\n"
  end
  h[#h + 1] = "<h2>Summary</h2>\n<p>Sorted by " .. html_escape(metric or "name")
    .. "; click a column's name to sort by it.</p>\n<table class=\"summary sortable\"><thead><tr>"
  -- with axes, the point's name is the axes' values: its rank links to it
  local cols = {{head = "rank", kind = "rank"}}
  if #t.axes == 0 then cols[2] = {head = "point", kind = "point", text = true} end
  for _, a in ipairs(t.axes) do cols[#cols + 1] = {head = a, param = a, axis = true} end
  for _, k in ipairs(t.varying) do cols[#cols + 1] = {head = k, param = k} end
  cols[#cols + 1] = {head = "status", kind = "status", text = true}
  if t.replicated then cols[#cols + 1] = {head = "n", kind = "n"} end
  for _, k in ipairs(t.figures) do
    cols[#cols + 1] = {head = t.replicated and k .. " mean" or k, figure = k}
    if k == metric and t.replicated then
      cols[#cols + 1] = {head = k .. " sd", sd = k}
      cols[#cols + 1] = {head = k .. " 95% interval", ci = k, text = true}
    end
    if k == metric and best and #points > 1 then cols[#cols + 1] = {head = k .. " − best", diff = k} end
    if k == metric and best and #points > 1 and t.replicated then
      cols[#cols + 1] = {head = "p (Welch)", p_value = true}
    end
  end
  for _, c in ipairs(cols) do
    h[#h + 1] = ("<th%s>%s</th>"):format(c.axis and " class=\"axis\"" or "", header(c.head))
  end
  h[#h + 1] = "</tr></thead>\n<tbody>\n"
  for i, p in ipairs(points) do
    h[#h + 1] = ("<tr class=\"%s%s\">"):format(html_escape(p.status), p == best and " best" or "")
    local function link(text)
      return ("<a href=\"#%s\" title=\"%s\">%s</a>"):format(html_escape(url_escape(p.anchor or p.name)),
        html_escape(p.name), text)
    end
    for _, c in ipairs(cols) do
      local v, text, cls = nil, nil, c.axis and "axis" or (c.text and "text" or nil)
      if c.kind == "rank" then
        v, text = i, link(i) .. (p == best and " ★ best" or "")
      elseif c.kind == "point" then
        v, text = p.name, link(html_escape(p.name))
      elseif c.param then
        v = p.config[c.param]
      elseif c.kind == "status" then
        v, text = p.status, html_escape(p.status)
        if p.reason and p.reason ~= "" then
          text = text .. "<div class=\"reason\">" .. html_escape(p.reason) .. "</div>"
        end
      elseif c.kind == "n" then
        v = p.n
      elseif c.sd then
        v = p.sd[c.sd]
      elseif c.ci then
        v = p.lo[c.ci] and ("%.4f – %.4f"):format(p.lo[c.ci], p.hi[c.ci]) or nil
      elseif c.p_value then
        v = p.p_value
        if v then text = v < 1e-4 and ("%.1e"):format(v) or ("%.4f"):format(v) end
      elseif c.figure then
        v = p.final[c.figure]
      elseif c.diff then
        v = p.final[c.diff] and p.final[c.diff] - best.final[c.diff] or nil
        if v then
          text = v == 0 and "0" or ((math.abs(v) < 5e-5 and "%+.1e" or "%+.4f"):format(v):gsub("^%-", "−"))
        end
      end
      local attr = cls and (" class=\"%s\""):format(cls) or ""
      if v ~= nil then
        attr = attr .. (" data-v=\"%s\""):format(html_escape(tsv.value(v)))
        if type(v) == "number" and math.type(v) == "float" then
          attr = attr .. (" title=\"%s\""):format(html_escape(tsv.value(v)))
        end
      end
      h[#h + 1] = ("<td%s>%s</td>"):format(attr, text or (v == nil and "" or html_escape(shown(v))))
    end
    h[#h + 1] = "</tr>\n"
  end
  h[#h + 1] = "</tbody></table>\n"
  if #t.images > 0 then
    h[#h + 1] = "<h2>Grid</h2>\n<div class=\"plots\">"
    for _, img in ipairs(t.images) do h[#h + 1] = ("<img src=\"%s\" alt=\"%s\">"):format(img, img) end
    h[#h + 1] = "</div>\n"
  end
  for _, p in ipairs(t.sections and ranked(t.sections, metric) or points) do
    h[#h + 1] = ('<div class="point"><h2 id="%s">%s — %s</h2>\n'):format(html_escape(url_escape(p.name)),
      html_escape(p.name), html_escape(p.status))
    if p.reason then h[#h + 1] = "<p class=\"reason\">" .. html_escape(p.reason) .. "</p>\n" end
    local pics = {}
    for entry in lfs.dir(p.dir) do
      if entry:match("%.png$") then pics[#pics + 1] = entry end
    end
    table.sort(pics)
    for _, img in ipairs(pics) do
      h[#h + 1] = ('<img src="%s/%s">'):format(html_escape(url_escape(p.name)), html_escape(url_escape(img)))
    end
    h[#h + 1] = "</div>\n"
  end
  h[#h + 1] = SORT_JS
  h[#h + 1] = "</body></html>\n"
  tsv.write_atomic(griddir .. "/index.html", table.concat(h))
end

--- The parameters that are not axes, split into those with one value over
-- the points (listed once) and those that differ.
local function split_params(points, axes)
  local is_axis, values, keys = {experiment = true}, {}, {}
  for _, a in ipairs(axes) do is_axis[a] = true end
  for _, p in ipairs(points) do
    for k, v in pairs(p.config) do
      if not is_axis[k] then
        if values[k] == nil then values[k] = {}; keys[#keys + 1] = k end
        values[k][tsv.value(v)] = true
      end
    end
  end
  table.sort(keys)
  local constants, varying = {}, {}
  for _, k in ipairs(keys) do
    local n = 0
    for _ in pairs(values[k]) do n = n + 1 end
    local everywhere = true
    for _, p in ipairs(points) do
      if p.config[k] == nil then everywhere = false end
    end
    if n == 1 and everywhere then constants[#constants + 1] = k else varying[#varying + 1] = k end
  end
  return constants, varying
end

--- How many of the points grid.tsv plans have no folder yet (a grid run
-- point by point, or stopped before it reached them), and how many it plans.
function results.not_started(griddir, found)
  local grid = tsv.read_kv(rundir.file(griddir, "grid")) or {}
  local planned = math.tointeger(tonumber(grid.points))
  return planned and planned > found and planned - found or 0, planned
end

--- Rebuilds summary.tsv (and, unless opts.plots == false, the grid's plots
-- and index.html). Returns the points, sorted as in the summary.
function results.collect(griddir, opts)
  opts = opts or {}
  if lfs.attributes(griddir, "mode") ~= "directory" then
    return nil, griddir .. ": no such results folder"
  end
  -- One collect at a time writes a grid's files; it removes what a killed one left.
  local lock, err = rundir.lock(griddir, true)
  if not lock and lock == nil then return nil, err end
  local _ <close> = lock or nil
  if lock then atomic.remove_stale(griddir) end
  local points
  points, err = results.scan(griddir)
  if not points then return nil, err end
  if #points == 0 then return nil, griddir .. ": no run folders (with " .. rundir.FILES.config .. ") here" end
  local axes = axes_of(griddir, points)
  sort_points(points)
  local params, figures = summary_columns(points, axes)
  local columns = {"point"}
  for _, k in ipairs(params) do columns[#columns + 1] = k end
  columns[#columns + 1] = "status"
  for _, k in ipairs(figures) do columns[#columns + 1] = k end
  local rows = {}
  for i, p in ipairs(points) do
    -- by position: a value missing from a point (nil) leaves its cell empty
    local row, n = {p.name}, 1
    local function add(v) n = n + 1; row[n] = v end
    for _, k in ipairs(params) do add(p.config[k]) end
    add(p.status)
    for _, k in ipairs(figures) do add(p.final[k]) end
    rows[i] = row
  end
  local replicated = false
  for _, p in ipairs(points) do
    if p.config.replicate ~= nil then replicated = true end
  end
  local configs, best_config
  if replicated then
    tsv.write_table(rundir.file(griddir, "replicates"), columns, rows, tsv.figure)
    configs = results.configurations(points)
    best_config = compare_configurations(configs, ranking_metric(points))
    if best_config then best_config.best = true end
    write_configurations(griddir, configs, axes, ranking_metric(points))
  else
    os.remove(rundir.file(griddir, "replicates"))
    tsv.write_table(rundir.file(griddir, "summary"), columns, rows, tsv.figure)
  end
  if opts.plots ~= false then
    local warnings = {}
    local name = griddir:match("([^/]+)/*$") or griddir
    local function note(ok, msg) if not ok and msg then warnings[#warnings + 1] = msg end end
    local absent, planned = results.not_started(griddir, #points)
    if absent > 0 then
      note(false, ("%s: %d of the grid's %d points %s not started (no run folder): the summary, plots and "
        .. "index.html show the %d that %s"):format(griddir, absent, planned, absent == 1 and "has" or "have",
        #points, #points == 1 and "has" or "have"))
    end
    local metric = ranking_metric(points)
    local best = best_point(points, metric)
    -- legends best first by the final metric (validation accuracy where there is one)
    local series = {}
    for _, p in ipairs(ranked(points, metric)) do
      if p.has_metrics then
        local v = metric and p.final[metric]
        local text = v and ("%.4f"):format(v) or p.status
        if p.status == "PRUNED" and v then text = text .. " PRUNED" end
        series[#series + 1] = {file = p.name .. "/" .. rundir.FILES.metrics, title = p.name .. "  " .. text}
      end
    end
    local key = metric and ("final " .. metric .. ", best first") or nil
    -- room for the legend: a line per point, as wide as the longest name
    local longest = 0
    for _, sr in ipairs(series) do longest = math.max(longest, utf8.len(sr.title) or #sr.title) end
    local width = math.min(1260, math.max(800, 620 + 8 * longest))
    local height = math.max(520, 15 * #series + 160)
    local images = {}
    local function curves(file, column, ylabel, what, logy)
      os.remove(griddir .. "/" .. file .. ".png")
      if configs then
        local groups = {}
        for _, c in ipairs(configs) do
          local v = metric and c.final[metric]
          local band = band_rows(griddir, c, column)
          if #band > 0 then
            groups[#groups + 1] = {rows = band, title = ("%s  %s (n = %d)"):format(c.name,
              v and ("%.4f"):format(v) or c.status, c.n)}
          end
        end
        if #groups == 0 then return end
        local ok, msg = plot.bands(griddir, file, groups, {ylabel = ylabel, logy = logy,
          title = what .. " per epoch: mean of the replicates, band ±1 sd (min-max below 3)",
          key_title = metric and ("mean final " .. metric .. ", best first"), width = width, height = height})
        if ok then images[#images + 1] = file .. ".png" end
        note(ok, msg)
        return
      end
      if #series == 0 then return end
      local ok, msg = plot.curves(griddir, file, series, {column = column, ylabel = ylabel, logy = logy,
        title = name .. ": " .. what .. " per epoch", key_title = key, width = width, height = height})
      if ok then images[#images + 1] = file .. ".png" end
      note(ok, msg)
    end
    curves("grid_val_accuracy", "val_accuracy", "validation accuracy", "validation accuracy")
    curves("grid_val_loss", "val_loss", "validation loss", "validation loss", true)
    curves("grid_cost", "cost", "cost", "cost", true)
    local grid = tsv.read_kv(rundir.file(griddir, "grid")) or {}
    local drawn, msg
    if type(grid.search) == "string" then
      drawn, msg = search_plot(griddir, configs or points, grid.search, metric, configs and best_config or best)
    else
      drawn, msg = axis_plots(griddir, configs or points, axes, metric)
    end
    note(#drawn > 0 or #axes == 0, msg)
    for _, img in ipairs(drawn) do table.insert(images, 1, img) end
    local halved, hmsg = halving_plot(griddir, points)
    note(hmsg == nil, hmsg)
    for _, img in ipairs(halved) do table.insert(images, 1, img) end
    local constants, varying = split_params(configs or points, axes)
    if configs then
      local _, cfigures = summary_columns(configs, axes)
      write_index(griddir, name, {points = configs, sections = points, axes = axes, constants = constants,
        varying = varying, config = configs[1].config, figures = cfigures, metric = metric, best = best_config,
        images = images, replicated = true, absent = absent, planned = planned})
    else
      write_index(griddir, name, {points = points, axes = axes, constants = constants, varying = varying,
        config = points[1].config, figures = figures, metric = metric, best = best, images = images,
        absent = absent, planned = planned})
    end
    return points, warnings
  end
  return points, {}
end

--- Redraws every point's plots and the grid's.
function results.replot(griddir)
  local points, err = results.scan(griddir)
  if not points then return nil, err end
  local warnings = {}
  for _, p in ipairs(points) do
    if p.has_metrics then
      -- a point's files are written by the holder of its lock only
      local lock, holder = rundir.lock(p.dir)
      if lock then
        local ok, msg = plot.point(p.dir, (griddir:match("([^/]+)/*$") or "") .. " " .. p.name)
        if not ok then warnings[#warnings + 1] = msg end
        lock:unlock()
      else
        warnings[#warnings + 1] = ("%s: not redrawn, %s"):format(p.name,
          lock == false and "being trained by " .. holder or holder)
      end
    end
  end
  local _, more = results.collect(griddir)
  for _, w in ipairs(more or {}) do warnings[#warnings + 1] = w end
  return points, warnings
end

return results
