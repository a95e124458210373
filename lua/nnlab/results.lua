--- A grid's summary, plots and index page, rebuilt from its run folders.
local lfs = require("lfs")
local tsv = require("nnlab.tsv")
local atomic = require("nnlab.atomic")
local rundir = require("nnlab.rundir")
local plot = require("nnlab.plot")

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
    if p.status ~= "DONE" then p.final = {} end
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

local function heatmap(griddir, points, axes)
  if #axes == 0 then return true end
  local rows_axis, cols_axis = axes[1], axes[2]
  local row_vals, col_vals, rseen, cseen = {}, {}, {}, {}
  local cell = {}
  for _, p in ipairs(points) do
    local r = tsv.value(p.config[rows_axis])
    local c = cols_axis and tsv.value(p.config[cols_axis]) or "-"
    if not rseen[r] then rseen[r] = true; row_vals[#row_vals + 1] = r end
    if not cseen[c] then cseen[c] = true; col_vals[#col_vals + 1] = c end
    cell[r .. "\0" .. c] = p.final.val_accuracy
  end
  local function by_value(a, b)
    local na, nb = tonumber(a), tonumber(b)
    if na and nb then return na < nb end
    return a < b
  end
  table.sort(row_vals, by_value)
  table.sort(col_vals, by_value)
  local values = {}
  for i, r in ipairs(row_vals) do
    values[i] = {}
    for j, c in ipairs(col_vals) do values[i][j] = cell[r .. "\0" .. c] end
  end
  return plot.heatmap(griddir, "grid_heatmap", {
    title = "final validation accuracy", corner = rows_axis .. "\\" .. (cols_axis or ""),
    xlabel = cols_axis or "", ylabel = rows_axis, row_labels = row_vals, col_labels = col_vals,
    values = values, width = math.max(500, 110 * #col_vals + 250), height = math.max(400, 70 * #row_vals + 200)})
end

local function html_escape(s)
  return (tostring(s):gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"):gsub('"', "&quot;"))
end

local function write_index(griddir, name, columns, rows, points)
  local h = {"<!doctype html><html><head><meta charset=\"utf-8\"><title>", html_escape(name), "</title>",
    "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}",
    "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#eef}",
    ".FAILED{background:#fdd}.PENDING{background:#ffd}img{max-width:48%;margin:4px}</style></head><body>",
    "<h1>", html_escape(name), "</h1><h2>Summary</h2><table><tr>"}
  for _, c in ipairs(columns) do h[#h + 1] = "<th>" .. html_escape(c) .. "</th>" end
  h[#h + 1] = "</tr>"
  for i, row in ipairs(rows) do
    h[#h + 1] = ('<tr class="%s">'):format(points[i].status)
    for j = 1, #columns do
      local v = row[j]
      local text = v == nil and "" or html_escape(tsv.figure(v))
      if j == 1 then text = ('<a href="#%s">%s</a>'):format(text, text) end
      h[#h + 1] = "<td>" .. text .. "</td>"
    end
    h[#h + 1] = "</tr>"
  end
  h[#h + 1] = "</table><h2>Grid</h2>"
  for _, img in ipairs{"grid_cost.png", "grid_val_accuracy.png", "grid_heatmap.png"} do
    if lfs.attributes(griddir .. "/" .. img, "mode") then h[#h + 1] = ('<img src="%s">'):format(img) end
  end
  for _, p in ipairs(points) do
    h[#h + 1] = ('<h2 id="%s">%s — %s</h2>'):format(html_escape(p.name), html_escape(p.name), p.status)
    if p.reason then h[#h + 1] = "<p>" .. html_escape(p.reason) .. "</p>" end
    local pics = {}
    for entry in lfs.dir(p.dir) do
      if entry:match("%.png$") then pics[#pics + 1] = entry end
    end
    table.sort(pics)
    for _, img in ipairs(pics) do
      h[#h + 1] = ('<img src="%s/%s">'):format(html_escape(p.name), html_escape(img))
    end
  end
  h[#h + 1] = "</body></html>\n"
  tsv.write_atomic(griddir .. "/index.html", table.concat(h))
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
  tsv.write_table(rundir.file(griddir, "summary"), columns, rows, tsv.figure)
  if opts.plots ~= false then
    local warnings = {}
    local with_metrics = {}
    for _, p in ipairs(points) do
      if p.has_metrics then with_metrics[#with_metrics + 1] = p.name end
    end
    table.sort(with_metrics)
    local name = griddir:match("([^/]+)/*$") or griddir
    local function note(ok, msg) if not ok then warnings[#warnings + 1] = msg end end
    note(plot.curves(griddir, "grid_cost", with_metrics, "cost", "cost", name .. ": cost per epoch", true))
    note(plot.curves(griddir, "grid_val_accuracy", with_metrics, "val_accuracy", "validation accuracy",
      name .. ": validation accuracy per epoch"))
    note(heatmap(griddir, points, axes))
    write_index(griddir, name, columns, rows, points)
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
