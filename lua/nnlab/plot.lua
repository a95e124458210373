--- Plots drawn by gnuplot from the TSV files. Each picture has its .gp
-- script beside it, so a person can edit it and run `gnuplot NAME.gp` again.
--
-- Every string that comes from a user (a title, a point's name, a value, a
-- file name) reaches gnuplot through plot.quote, a single-quoted gnuplot
-- string, in which gnuplot expands nothing: no backquotes, no macros, no
-- escapes. Numbers are formatted by Lua. Cell and point labels are data in
-- the TSV beside the script.
local tsv = require("nnlab.tsv")

local plot = {}

local HEADER = [[
# Made by nnlab; rerun with: gnuplot %s.gp
if (!exists("out")) out = %s
set terminal pngcairo size %d,%d font "sans,10" noenhanced
set output out
set datafile separator "\t"
set datafile columnheaders
set grid
set key outside right top
]]

local shell_quote = require("nnlab.shell").quote
local atomic = require("nnlab.atomic")
local METRICS = require("nnlab.rundir").FILES.metrics

--- s as a single-quoted gnuplot string: a quote is doubled, control
-- characters (which would end the command) become spaces.
function plot.quote(s)
  return "'" .. tostring(s):gsub("%c", " "):gsub("'", "''") .. "'"
end

--- s as one field of the data files the scripts read: no tab or newline, never empty.
local function field(s)
  s = tostring(s):gsub("%c", " ")
  if s == "" then return "-" end
  return s
end

local function have_gnuplot()
  if plot.available == nil then
    plot.available = os.execute("command -v gnuplot >/dev/null 2>&1") and true or false
  end
  return plot.available
end

--- Writes dir/name.gp (header + body) and renders dir/name.png through a
-- temporary file. Returns true, or false and a message.
function plot.render(dir, name, body, width, height)
  local script = HEADER:format(name, plot.quote(name .. ".png"), width or 800, height or 500) .. body
  tsv.write_atomic(dir .. "/" .. name .. ".gp", script)
  if not have_gnuplot() then return false, "gnuplot is not installed; plots skipped" end
  -- temporaries unique to this render: two collects at once never share one
  local tmp = atomic.temp_name(name .. ".png")
  local logname = atomic.temp_name(name .. ".gp.log")
  local cmd = ("cd %s && gnuplot -e %s %s.gp 2>%s"):format(shell_quote(dir),
    shell_quote("out=" .. plot.quote(tmp)), shell_quote(name), shell_quote(logname))
  local ok = os.execute(cmd)
  local log = dir .. "/" .. logname
  if not ok then
    local f = io.open(log)
    local msg = f and f:read("a") or ""
    if f then f:close() end
    os.remove(dir .. "/" .. tmp)
    return false, ("gnuplot failed on %s/%s.gp: %s"):format(dir, name, msg)
  end
  os.remove(log)
  local renamed, err = os.rename(dir .. "/" .. tmp, dir .. "/" .. name .. ".png")
  if not renamed then return false, err end
  return true
end

local function has_column(columns, name)
  for _, c in ipairs(columns) do
    if c == name then return true end
  end
  return false
end

--- Integer epoch ticks for epochs 1..last: a step of 1, 2 or 5 times a power
-- of ten giving at most 10 ticks, and no fractional epochs.
function plot.epoch_axis(last)
  last = math.max(1, math.ceil(last or 1))
  local step, scale = 1, 1
  while last / step > 10 do
    for _, m in ipairs{2, 5, 10} do
      step = m * scale
      if last / step <= 10 then break end
    end
    scale = scale * 10
  end
  local range = last == 1 and "[0.5:1.5]" or ("[1:%d]"):format(last)
  return ("set xlabel \"epoch\"\nset xrange %s\nset xtics %d\nset mxtics 1\nset format x \"%%.0f\"\n")
    :format(range, step)
end

--- Lines with points when there are few epochs (a single epoch is a point).
local function style(last)
  return last <= 30 and "linespoints ps 0.6" or "lines"
end

--- cost.png (cost, loss, validation loss) and accuracy.png of one run folder.
function plot.point(dir, title)
  local columns, rows = tsv.read_table(dir .. "/" .. METRICS)
  if not columns then return false, dir .. "/" .. METRICS .. ": cannot read" end
  local m = plot.quote(METRICS)
  local last = #rows
  local with = style(last)
  local body = {plot.epoch_axis(last), "set title " .. plot.quote(title .. ": cost per epoch"),
    "set ylabel \"cost\"", "set logscale y",
    ("plot " .. m .. " using \"epoch\":\"cost\" with %s pt 7 lw 2 title \"cost (loss + L2)\", \\"):format(with),
    ("     " .. m .. " using \"epoch\":\"loss\" with %s pt 7 dt 2 title \"training loss\""):format(with)}
  if has_column(columns, "val_loss") then
    body[#body] = body[#body] .. ", \\"
    body[#body + 1] = ("     " .. m .. " using \"epoch\":\"val_loss\" with %s pt 7 title \"validation loss\"")
      :format(with)
  end
  local ok, err = plot.render(dir, "cost", table.concat(body, "\n") .. "\n")
  if not ok then return ok, err end
  body = {plot.epoch_axis(last), "set title " .. plot.quote(title .. ": accuracy per epoch"),
    "set ylabel \"accuracy\"",
    ("plot " .. m .. " using \"epoch\":\"train_accuracy\" with %s pt 7 lw 2 title \"training\""):format(with)}
  if has_column(columns, "val_accuracy") then
    body[#body] = body[#body] .. ", \\"
    body[#body + 1] = ("     " .. m .. " using \"epoch\":\"val_accuracy\" with %s pt 7 lw 2 title \"validation\"")
      :format(with)
  end
  return plot.render(dir, "accuracy", table.concat(body, "\n") .. "\n")
end

-- Ten colours that stay apart on white (Tableau 10); past ten lines the dash
-- pattern changes, past fifty the point type too, so no two lines look alike.
plot.COLOURS = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"}
local DASHES = 5
local POINTS = {7, 5, 9, 11, 13, 1, 2, 3}

--- The look of the i-th line: colour, dash type, point type.
function plot.line_style(i)
  local k = i - 1
  return plot.COLOURS[k % #plot.COLOURS + 1], (k // #plot.COLOURS) % DASHES + 1,
    POINTS[(k // (#plot.COLOURS * DASHES)) % #POINTS + 1]
end

--- One figure with a curve per series, in the order given (the legend's
-- order): series = {{file = "p/metrics.tsv", title = "..."}, ...} relative
-- to dir; opts = {column, ylabel, title, logy, key_title, width, height}.
-- Series whose file lacks the column or holds no value gnuplot can draw
-- (finite, and positive on a log scale: a diverged point's NaN) are left
-- out; when none is left it draws nothing and returns false, with a
-- message if some series had rows.
function plot.curves(dir, name, series, opts)
  local clauses, last, undrawable = {}, 1, 0
  local function drawable(v)
    return math.type(v) ~= nil and v == v and v > -math.huge and v < math.huge and (not opts.logy or v > 0)
  end
  for _, s in ipairs(series) do
    local columns, rows = tsv.read_table(dir .. "/" .. s.file)
    if columns and has_column(columns, opts.column) and #rows > 0 then
      local any = false
      for _, r in ipairs(rows) do any = any or drawable(r[opts.column]) end
      if any then
        last = math.max(last, #rows)
        clauses[#clauses + 1] = s
      else
        undrawable = undrawable + 1
      end
    end
  end
  if #clauses == 0 then
    return false, undrawable > 0 and ("%s/%s.png not drawn: no point has a finite %s"):format(dir, name, opts.column)
      or nil
  end
  local with = style(last)
  local body = {plot.epoch_axis(last), "set title " .. plot.quote(opts.title),
    "set ylabel " .. plot.quote(opts.ylabel), opts.logy and "set logscale y" or "unset logscale y",
    "set key outside right top reverse Left samplen 3 font \",9\"" ..
      (opts.key_title and (" title " .. plot.quote(opts.key_title)) or "")}
  for i, s in ipairs(clauses) do
    local colour, dash, point = plot.line_style(i)
    clauses[i] = ("%s using \"epoch\":%s with %s lw 2 lc rgb \"%s\" dt %d pt %d title %s"):format(
      plot.quote(s.file), plot.quote(opts.column), with, colour, dash, point, plot.quote(s.title))
  end
  body[#body + 1] = "plot " .. table.concat(clauses, ", \\\n     ")
  return plot.render(dir, name, table.concat(body, "\n") .. "\n", opts.width or 900, opts.height or 520)
end

local function mix(lo, hi, t)
  local function channel(shift)
    local a, b = (lo >> shift) & 255, (hi >> shift) & 255
    return math.floor(a + (b - a) * t + 0.5) << shift
  end
  return channel(16) | channel(8) | channel(0)
end

local CELL_LOW, CELL_HIGH = 0xf7fbff, 0x4292c6
local CELL_STATUS = {FAILED = 0xf4a3a3}
local CELL_OTHER = 0xe0e0e0

--- Heatmaps on one picture, one panel per table of values, all on one colour
-- scale, every cell labelled: t = {title, xlabel, ylabel, row_labels,
-- col_labels, panels = {{title, values[r][c], labels[r][c]}, ...}, best =
-- {panel, row, col} (outlined), format}. A cell with a label and no value
-- (FAILED, PENDING) is drawn grey or red with its label; t.values alone is
-- one panel. dir/name.tsv holds the cells, a block per panel.
function plot.heatmap(dir, name, t)
  local panels = t.panels or {{title = nil, values = t.values}}
  local nr, nc = #t.row_labels, #t.col_labels
  local lo, hi = math.huge, -math.huge
  for _, p in ipairs(panels) do
    for r = 1, nr do
      for c = 1, nc do
        local v = p.values[r] and p.values[r][c]
        if v and v == v then lo, hi = math.min(lo, v), math.max(hi, v) end
      end
    end
  end
  local fmt = t.format or "%.4g"
  local blocks, widest = {}, 0
  for i, p in ipairs(panels) do
    local lines = {}
    for r = 1, nr do
      for c = 1, nc do
        local v = p.values[r] and p.values[r][c]
        local label = p.labels and p.labels[r] and p.labels[r][c]
        local colour
        if v and v == v then
          colour = mix(CELL_LOW, CELL_HIGH, hi > lo and (v - lo) / (hi - lo) or 1)
          label = label or fmt:format(v)
        else
          label = label or "no point"
          colour = CELL_STATUS[label] or CELL_OTHER
        end
        widest = math.max(widest, utf8.len(field(label)) or #label)
        lines[#lines + 1] = ("%d\t%d\t%d\t%s"):format(c, r, colour, field(label))
      end
    end
    blocks[i] = table.concat(lines, "\n")
  end
  tsv.write_atomic(dir .. "/" .. name .. ".tsv", table.concat(blocks, "\n\n\n") .. "\n")

  local function tics(labels)
    local items = {}
    for i, l in ipairs(labels) do items[i] = ("%s %d"):format(plot.quote(l), i) end
    return "(" .. table.concat(items, ", ") .. ")"
  end
  local cols = math.ceil(math.sqrt(#panels))
  local rows = math.ceil(#panels / cols)
  local body = {"unset grid", "set datafile nocolumnheaders", "set key off", "set tics scale 0",
    ("set xrange [0.5:%d.5]"):format(nc), ("set yrange [%d.5:0.5]"):format(nr),
    "set xtics " .. tics(t.col_labels), "set ytics " .. tics(t.row_labels),
    "set xlabel " .. plot.quote(t.xlabel or ""), "set ylabel " .. plot.quote(t.ylabel or ""),
    "set style fill solid 1.0 border lc rgb \"#ffffff\""}
  if #panels > 1 then
    body[#body + 1] = ("set multiplot layout %d,%d title %s"):format(rows, cols, plot.quote(t.title))
  else
    body[#body + 1] = "set title " .. plot.quote(t.title)
  end
  local font = nr * nc > 64 and ",8" or ",9"
  for i, p in ipairs(panels) do
    if #panels > 1 then body[#body + 1] = "set title " .. plot.quote(p.title or "") end
    if t.best and t.best.panel == i then
      body[#body + 1] = ("set object 1 rectangle from %g,%g to %g,%g front fillstyle empty border "
        .. "lc rgb \"#000000\" lw 3"):format(t.best.col - 0.47, t.best.row - 0.47, t.best.col + 0.47,
          t.best.row + 0.47)
    end
    body[#body + 1] = ("plot %s index %d using 1:2:(0.5):(0.5):3 with boxxyerror lc rgb variable, \\")
      :format(plot.quote(name .. ".tsv"), i - 1)
    body[#body + 1] = ("     %s index %d using 1:2:4 with labels font \"%s\""):format(plot.quote(name .. ".tsv"),
      i - 1, font)
    if t.best and t.best.panel == i then body[#body + 1] = "unset object 1" end
  end
  if #panels > 1 then body[#body + 1] = "unset multiplot" end
  local pw = t.width or math.max(360, math.max(95, 7 * widest + 16) * nc + 170)
  local ph = t.height or math.max(260, 48 * nr + 130)
  if #panels == 1 then
    return plot.render(dir, name, table.concat(body, "\n") .. "\n", pw, ph)
  end
  return plot.render(dir, name, table.concat(body, "\n") .. "\n", pw * cols, ph * rows + 30)
end

--- A metric against the values of one axis, every point labelled with its
-- value: t = {title, xlabel, ylabel, points = {{x = number or nil, tick =
-- "text", value = number or nil, label = "text"}, ...}, best = index}.
-- Numeric x uses the values themselves (log scale when they are all
-- positive and span two decades or more); otherwise the points are evenly
-- spaced in the order given. A point without a value (FAILED, PENDING) is
-- a dashed red line with its label at the bottom. Returns true, or false
-- and a message when no point has a value.
function plot.line(dir, name, t)
  local numeric, lo, hi = true, math.huge, -math.huge
  for _, p in ipairs(t.points) do
    if type(p.x) ~= "number" or p.x ~= p.x or p.x == math.huge or p.x == -math.huge then
      numeric = false
    else
      lo, hi = math.min(lo, p.x), math.max(hi, p.x)
    end
  end
  local logx = numeric and lo > 0 and hi / lo >= 100
  local function xof(i) return numeric and t.points[i].x or i end
  local lines, any = {}, false
  for i, p in ipairs(t.points) do
    if p.value and p.value == p.value then
      any = true
      lines[#lines + 1] = ("%s\t%s\t%s"):format(tsv.number(xof(i)), tsv.number(p.value), field(p.label))
    end
  end
  if not any then return false, name .. ": no point has a value" end
  tsv.write_atomic(dir .. "/" .. name .. ".tsv", table.concat(lines, "\n") .. "\n")
  local xrange
  if not numeric then
    xrange = ("[0.5:%d.5]"):format(#t.points)
  elseif logx then
    xrange = ("[%.17g:%.17g]"):format(lo / 1.8, hi * 1.8)
  elseif hi > lo then
    local pad = (hi - lo) * 0.08
    xrange = ("[%.17g:%.17g]"):format(lo - pad, hi + pad)
  else
    xrange = ("[%.17g:%.17g]"):format(lo - math.max(1, math.abs(lo)) * 0.5, lo + math.max(1, math.abs(lo)) * 0.5)
  end
  local ticks = {}
  for i, p in ipairs(t.points) do ticks[i] = ("%s %.17g"):format(plot.quote(p.tick), xof(i)) end
  local body = {"set datafile nocolumnheaders", "set key off", "set title " .. plot.quote(t.title),
    "set xlabel " .. plot.quote(t.xlabel .. (logx and " (log scale)" or "")), "set ylabel " .. plot.quote(t.ylabel),
    logx and "set logscale x" or "unset logscale x", "set xrange " .. xrange,
    "set xtics (" .. table.concat(ticks, ", ") .. ")", "set mxtics 1",
    "set offsets 0, 0, graph 0.12, graph 0.12"}
  for i, p in ipairs(t.points) do
    if not (p.value and p.value == p.value) then
      local x = xof(i)
      body[#body + 1] = ("set arrow from first %.17g, graph 0 to first %.17g, graph 1 nohead dt 2 "
        .. "lc rgb \"#c00000\""):format(x, x)
      body[#body + 1] = ("set label %s at first %.17g, graph 0.04 center front tc rgb \"#c00000\"")
        :format(plot.quote(p.label or "no value"), x)
    end
  end
  if t.best then
    body[#body + 1] = ("set label \"\" at first %.17g, first %.17g point pt 6 ps 3 lc rgb \"#000000\" front")
      :format(xof(t.best), t.points[t.best].value)
  end
  local data = plot.quote(name .. ".tsv")
  body[#body + 1] = ("plot %s using 1:2 with linespoints lw 2 pt 7 ps 1.2 lc rgb \"%s\", \\"):format(data,
    plot.COLOURS[1])
  body[#body + 1] = ("     %s using 1:2:3 with labels offset 0,1.2 font \",9\""):format(data)
  return plot.render(dir, name, table.concat(body, "\n") .. "\n", t.width or math.max(640, 70 * #t.points + 240),
    t.height or 420)
end

--- A mean curve per configuration with a band around it: groups = {{title,
-- rows = {{epoch, mean, lo, hi}, ...}}, ...} in legend order; opts = {title,
-- ylabel, logy, key_title, width, height}. dir/name.tsv holds the data: a
-- column "epoch", then mean, lo and hi for each group (NaN where a group has
-- no value at that epoch).
function plot.bands(dir, name, groups, opts)
  local last, by_epoch = 0, {}
  for g, group in ipairs(groups) do
    for _, r in ipairs(group.rows) do
      last = math.max(last, r[1])
      by_epoch[r[1]] = by_epoch[r[1]] or {}
      by_epoch[r[1]][g] = r
    end
  end
  if last == 0 then return false end
  local header, lines = {"epoch"}, {}
  for g in ipairs(groups) do
    header[#header + 1] = ("mean%d\tlo%d\thi%d"):format(g, g, g)
  end
  lines[1] = table.concat(header, "\t")
  for e = 1, last do
    local cells = {tostring(e)}
    for g in ipairs(groups) do
      local r = by_epoch[e] and by_epoch[e][g]
      for k = 2, 4 do cells[#cells + 1] = r and r[k] and tsv.number(r[k]) or "NaN" end
    end
    lines[#lines + 1] = table.concat(cells, "\t")
  end
  tsv.write_atomic(dir .. "/" .. name .. ".tsv", table.concat(lines, "\n") .. "\n")
  local data = plot.quote(name .. ".tsv")
  local body = {plot.epoch_axis(last), "set title " .. plot.quote(opts.title),
    "set ylabel " .. plot.quote(opts.ylabel), opts.logy and "set logscale y" or "unset logscale y",
    "set style fill transparent solid 0.18 noborder",
    "set key outside right top reverse Left samplen 3 font \",9\"" ..
      (opts.key_title and (" title " .. plot.quote(opts.key_title)) or "")}
  local clauses = {}
  for g, group in ipairs(groups) do
    local colour, dash = plot.line_style(g)
    local c = 2 + 3 * (g - 1)
    clauses[#clauses + 1] = ("%s using 1:%d:%d with filledcurves lc rgb \"%s\" notitle"):format(data, c + 1, c + 2,
      colour)
    clauses[#clauses + 1] = ("%s using 1:%d with %s lw 2 lc rgb \"%s\" dt %d pt 7 title %s"):format(data, c,
      style(last), colour, dash, plot.quote(group.title))
  end
  body[#body + 1] = "plot " .. table.concat(clauses, ", \\\n     ")
  return plot.render(dir, name, table.concat(body, "\n") .. "\n", opts.width or 900, opts.height or 520)
end

--- A metric against each searched parameter, one panel each: t = {title,
-- ylabel, params = {{name, log}, ...}, points = {{x = {name = value}, value,
-- best, pruned}, ...}}. dir/name.tsv holds a block per parameter: x, value, 1
-- for the best point, 1 for a pruned one (drawn grey). A choice (categorical) or non-numeric values are drawn at
-- their rank among the values, labelled with them.
function plot.search(dir, name, t)
  local blocks, any = {}, false
  for i, prm in ipairs(t.params) do
    local lines, texts, numeric = {}, {}, not prm.categorical
    for _, p in ipairs(t.points) do
      if type(p.x[prm.name]) ~= "number" then numeric = false end
    end
    if not numeric then
      local seen, raw = {}, {}
      for _, p in ipairs(t.points) do
        local v = tostring(p.x[prm.name])
        if not seen[v] then seen[v] = true; texts[#texts + 1] = v; raw[v] = p.x[prm.name] end
      end
      table.sort(texts, function(a, b)
        local x, y = raw[a], raw[b]
        if type(x) == "number" and type(y) == "number" then return x < y end
        return a < b
      end)
      for k, v in ipairs(texts) do texts[v] = k end
    end
    prm.numeric = numeric
    for _, p in ipairs(t.points) do
      local x = p.x[prm.name]
      if not numeric then x = texts[tostring(x)] end
      if p.value and p.value == p.value and (not prm.log or x > 0) then
        any = true
        lines[#lines + 1] = ("%s\t%s\t%d\t%d"):format(tsv.number(x), tsv.number(p.value), p.best and 1 or 0,
          p.pruned and 1 or 0)
      end
    end
    prm.texts = not numeric and texts or nil
    blocks[i] = #lines > 0 and table.concat(lines, "\n") or "NaN\tNaN\t0\t0"
  end
  if not any then return false, name .. ": no point has a value" end
  tsv.write_atomic(dir .. "/" .. name .. ".tsv", table.concat(blocks, "\n\n\n") .. "\n")
  local cols = math.min(#t.params, 3)
  local rows = math.ceil(#t.params / cols)
  local data = plot.quote(name .. ".tsv")
  local body = {"set datafile nocolumnheaders", "set key off",
    ("set multiplot layout %d,%d title %s"):format(rows, cols, plot.quote(t.title))}
  for i, prm in ipairs(t.params) do
    local logx = prm.log and prm.numeric
    body[#body + 1] = logx and "set logscale x" or "unset logscale x"
    body[#body + 1] = "set xlabel " .. plot.quote(prm.name .. (logx and " (log scale)" or ""))
    body[#body + 1] = "set ylabel " .. plot.quote(t.ylabel)
    if prm.texts then
      local ticks = {}
      for k, v in ipairs(prm.texts) do ticks[k] = ("%s %d"):format(plot.quote(v), k) end
      body[#body + 1] = "set xtics (" .. table.concat(ticks, ", ") .. ")"
      body[#body + 1] = ("set xrange [0.5:%d.5]"):format(#prm.texts)
    else
      body[#body + 1] = "set xtics autofreq"
      body[#body + 1] = "set autoscale x"
    end
    body[#body + 1] = "set offsets graph 0.05, graph 0.05, graph 0.05, graph 0.05"
    body[#body + 1] = ("plot %s index %d using 1:($4 > 0 ? $2 : NaN) with points pt 7 ps 0.9 lc rgb \"#b0b0b0\", \\")
      :format(data, i - 1)
    body[#body + 1] = ("     %s index %d using 1:($4 > 0 ? NaN : $2) with points pt 7 ps 1.1 lc rgb \"%s\", \\")
      :format(data, i - 1, plot.COLOURS[1])
    body[#body + 1] = ("     %s index %d using 1:($3 > 0 ? $2 : NaN) with points pt 6 ps 3 lw 2 lc rgb \"#000000\"")
      :format(data, i - 1)
  end
  body[#body + 1] = "unset multiplot"
  return plot.render(dir, name, table.concat(body, "\n") .. "\n", 420 * cols, 340 * rows + 30)
end

--- Successive halving: the metric of every point at each rung it reached,
-- against the rung's epoch (log x); t = {title, ylabel, points = {{name,
-- xs, ys, survived}, ...}}. Pruned points are grey and end with a cross,
-- the points that reached the last rung are coloured and in the key.
function plot.halving(dir, name, t)
  local blocks, lo, hi, ticks = {}, math.huge, 0, {}
  local first_rung = {}
  for i, p in ipairs(t.points) do
    local lines = {}
    for j = 1, #p.xs do
      lo, hi = math.min(lo, p.xs[j]), math.max(hi, p.xs[j])
      lines[j] = ("%s\t%s"):format(tsv.number(p.xs[j]), tsv.number(p.ys[j]))
      ticks[p.xs[j]] = true
    end
    first_rung[#first_rung + 1] = p.ys[1]
    blocks[i] = table.concat(lines, "\n")
  end
  if #blocks == 0 then return false, name .. ": no rung reached" end
  tsv.write_atomic(dir .. "/" .. name .. ".tsv", table.concat(blocks, "\n\n\n") .. "\n")
  -- the y axis starts at the first rung's median: the far worse points are counted, not drawn
  table.sort(first_rung)
  local median = first_rung[(#first_rung + 1) // 2]
  local top = -math.huge
  for _, p in ipairs(t.points) do
    for _, y in ipairs(p.ys) do top = math.max(top, y) end
  end
  local below = 0
  for _, y in ipairs(first_rung) do
    if y < median then below = below + 1 end
  end
  local ylo = median - 0.05 * math.max(top - median, 1e-3)
  local title = t.title .. (below > 0 and ("; %d pruned points below the axis"):format(below) or "")
  local data = plot.quote(name .. ".tsv")
  local body = {"set datafile nocolumnheaders", "set key outside right top font \",9\"",
    "set title " .. plot.quote(title),
    "set xlabel 'epoch (the rungs, log scale)'", "set ylabel " .. plot.quote(t.ylabel), "set logscale x",
    ("set xrange [%.17g:%.17g]"):format(lo / 1.3, hi * 1.3), ("set yrange [%.17g:*]"):format(ylo),
    "set offsets 0, 0, graph 0.05, 0"}
  local tics = {}
  for x in pairs(ticks) do tics[#tics + 1] = x end
  table.sort(tics)
  for i, x in ipairs(tics) do tics[i] = ("'%s' %s"):format(tsv.number(x), tsv.number(x)) end
  body[#body + 1] = "set xtics (" .. table.concat(tics, ", ") .. ")"
  local clauses, c, pruned_titled = {}, 0, false
  for i, p in ipairs(t.points) do
    if p.survived then
      c = c + 1
      clauses[#clauses + 1] = ("%s index %d using 1:2 with linespoints lw 2 pt 7 lc rgb \"%s\" title %s"):format(data,
        i - 1, plot.COLOURS[(c - 1) % #plot.COLOURS + 1], plot.quote(p.name))
    else
      clauses[#clauses + 1] = ("%s index %d using 1:2 with lines lw 1 lc rgb \"#b0b0b0\" notitle"):format(data, i - 1)
      clauses[#clauses + 1] = ("%s index %d every ::%d::%d using 1:2 with points pt 2 ps 1 lc rgb \"#808080\" %s")
        :format(data, i - 1, #p.xs - 1, #p.xs - 1, pruned_titled and "notitle" or "title 'pruned'")
      pruned_titled = true
    end
  end
  body[#body + 1] = "plot " .. table.concat(clauses, ", \\\n     ")
  return plot.render(dir, name, table.concat(body, "\n") .. "\n", t.width or 1000, t.height or 520)
end

--- The best of several grids as bars with ±1 sd error bars (where a grid
-- has replicates), each labelled with its figure: t = {metric, rows =
-- {{grid, best, value, sd, n}, ...}} best first. dir/name-data.tsv holds the data.
function plot.compare(dir, name, t)
  local lines, lo = {}, math.huge
  for i, r in ipairs(t.rows) do
    local label = ("%.4f"):format(r.value) .. (r.sd and (" ± %.4f (n = %d)"):format(r.sd, r.n) or "")
    lines[i] = ("%d\t%s\t%s\t%s\t%s"):format(i, tsv.number(r.value), tsv.number(r.sd or 0), field(label),
      field(r.grid .. " / " .. r.best))
    lo = math.min(lo, r.value - (r.sd or 0))
  end
  tsv.write_atomic(dir .. "/" .. name .. "-data.tsv", table.concat(lines, "\n") .. "\n")
  local ticks = {}
  for i, r in ipairs(t.rows) do
    local g = r.grid
    if utf8.len(g) and utf8.len(g) > 30 then g = g:sub(1, utf8.offset(g, 28) - 1) .. "..." end
    ticks[i] = ("%s %d"):format(plot.quote(g), i)
  end
  local data = plot.quote(name .. "-data.tsv")
  local body = {"set datafile nocolumnheaders", "set key off",
    "set title " .. plot.quote("best configuration of each grid by " .. t.metric .. " (bars: ±1 sd of replicates)"),
    "set ylabel " .. plot.quote(t.metric), "set xtics (" .. table.concat(ticks, ", ") .. ") rotate by -20",
    ("set xrange [0.4:%d.6]"):format(#t.rows), "set style fill solid 0.5 border -1", "set boxwidth 0.6",
    ("set yrange [%.17g:*]"):format(math.max(0, lo - 0.05)), "set offsets 0, 0, graph 0.15, 0",
    ("plot %s using 1:2 with boxes lc rgb \"%s\", \\"):format(data, plot.COLOURS[1]),
    ("     %s using 1:2:3 with errorbars lc rgb \"#000000\" pt 7 ps 0.5 lw 1.5, \\"):format(data),
    ("     %s using 1:($2 + $3):4 with labels offset 0,1 font \",9\""):format(data)}
  return plot.render(dir, name, table.concat(body, "\n") .. "\n", math.max(640, 160 * #t.rows + 200), 460)
end

--- A picture of digits (rows of 784 pixel values in 0..1) titled with labels.
function plot.digits(dir, name, images, titles, columns)
  local blocks = {}
  for i, img in ipairs(images) do
    local rows = {}
    for r = 0, 27 do
      local cells = {}
      for c = 1, 28 do cells[c] = ("%.3f"):format(img[r * 28 + c]) end
      rows[#rows + 1] = table.concat(cells, " ")
    end
    blocks[i] = table.concat(rows, "\n")
  end
  tsv.write_atomic(dir .. "/" .. name .. ".dat", table.concat(blocks, "\n\n\n") .. "\n")
  columns = columns or 5
  local nrows = (#images + columns - 1) // columns
  local body = {"unset grid", "set datafile separator whitespace", "set datafile nocolumnheaders",
    "unset colorbox", "unset tics",
    "unset border", "set palette gray negative", "set yrange [27.5:-0.5]", "set xrange [-0.5:27.5]",
    "set size ratio -1", "set key off",
    ("set multiplot layout %d,%d"):format(nrows, columns)}
  for i, t in ipairs(titles) do
    body[#body + 1] = "set title " .. plot.quote(t)
    body[#body + 1] = ("plot %s index %d matrix with image"):format(plot.quote(name .. ".dat"), i - 1)
  end
  body[#body + 1] = "unset multiplot"
  return plot.render(dir, name, table.concat(body, "\n") .. "\n", 180 * columns, 190 * nrows)
end

return plot
