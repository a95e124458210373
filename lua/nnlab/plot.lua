--- Plots drawn by gnuplot from the TSV files. Each picture has its .gp
-- script beside it, so a person can edit it and run `gnuplot NAME.gp` again.
local tsv = require("nnlab.tsv")

local plot = {}

local HEADER = [[
# Made by nnlab; rerun with: gnuplot %s.gp
if (!exists("out")) out = "%s.png"
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

--- s as one gnuplot string: single-quoted, where gnuplot expands nothing
-- (no backquoted commands, no @macros, no escapes; '' is a quote); control
-- characters, which would end the command, become '?'.
local function gp_quote(s)
  return "'" .. tostring(s):gsub("%c", "?"):gsub("'", "''") .. "'"
end
plot.quote = gp_quote

local function have_gnuplot()
  if plot.available == nil then
    plot.available = os.execute("command -v gnuplot >/dev/null 2>&1") and true or false
  end
  return plot.available
end

--- Writes dir/name.gp (header + body) and renders dir/name.png through a
-- temporary file. Returns true, or false and a message.
function plot.render(dir, name, body, width, height)
  local script = HEADER:format(name, name, width or 800, height or 500) .. body
  tsv.write_atomic(dir .. "/" .. name .. ".gp", script)
  if not have_gnuplot() then return false, "gnuplot is not installed; plots skipped" end
  local tmp = atomic.temp_name(name .. ".png"):match("[^/]*$")
  local logname = atomic.temp_name(name .. ".gp.log"):match("[^/]*$")
  local cmd = ("cd %s && gnuplot -e %s %s.gp 2>%s"):format(shell_quote(dir),
    shell_quote("out = " .. gp_quote(tmp)), shell_quote(name), shell_quote(logname))
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

--- cost.png (cost, loss, validation loss) and accuracy.png of one run folder.
function plot.point(dir, title)
  local columns = tsv.read_table(dir .. "/" .. METRICS)
  if not columns then return false, dir .. "/" .. METRICS .. ": cannot read" end
  local val = has_column(columns, "val_loss")
  local data = "M = " .. gp_quote(METRICS) .. "\n"
  local body = data .. ([[
set title %s
set xlabel "epoch"
set ylabel "cost"
set logscale y
plot M using "epoch":"cost" with lines lw 2 title "cost (loss + L2)", \
     M using "epoch":"loss" with lines dt 2 title "training loss"%s
]]):format(gp_quote(title .. ": cost per epoch"), val and [[, \
     M using "epoch":"val_loss" with lines title "validation loss"]] or "")
  local ok, err = plot.render(dir, "cost", body)
  if not ok then return ok, err end
  body = data .. ([[
set title %s
set xlabel "epoch"
set ylabel "accuracy"
plot M using "epoch":"train_accuracy" with lines lw 2 title "training"%s
]]):format(gp_quote(title .. ": accuracy per epoch"), has_column(columns, "val_accuracy") and [[, \
     M using "epoch":"val_accuracy" with lines lw 2 title "validation"]] or "")
  return plot.render(dir, "accuracy", body)
end

--- One figure with a curve per point: column of each point's metrics.tsv.
function plot.curves(dir, name, points, column, ylabel, title, logy)
  local files, titles = {}, {}
  for _, p in ipairs(points) do
    files[#files + 1] = gp_quote(p .. "/" .. METRICS)
    titles[#titles + 1] = gp_quote(p)
  end
  if #files == 0 then return false, "no points" end
  local body = ([[
set title %s
set xlabel "epoch"
set ylabel %s
%s
array files[%d] = [%s]
array titles[%d] = [%s]
plot for [i=1:|files|] files[i] using "epoch":%s with lines lw 2 title titles[i]
]]):format(gp_quote(title), gp_quote(ylabel), logy and "set logscale y" or "", #files, table.concat(files, ", "),
    #titles, table.concat(titles, ", "), gp_quote(column))
  return plot.render(dir, name, body, 900, 550)
end

--- A heatmap of matrix values (rows x cols) with the numbers printed on it.
-- data.tsv is written beside it: a corner cell, column labels, then rows.
function plot.heatmap(dir, name, t)
  local lines = {t.corner .. "\t" .. table.concat(t.col_labels, "\t")}
  for r, label in ipairs(t.row_labels) do
    local cells = {label}
    for c = 1, #t.col_labels do
      local v = t.values[r][c]
      cells[#cells + 1] = v == nil and "NaN" or tsv.value(v)
    end
    lines[#lines + 1] = table.concat(cells, "\t")
  end
  tsv.write_atomic(dir .. "/" .. name .. ".tsv", table.concat(lines, "\n") .. "\n")
  local body = ([[
unset grid
set datafile nocolumnheaders
set title %s
set xlabel %s
set ylabel %s
set palette defined (0 "#ffffff", 1 "#c6dbef", 2 "#6baed6")
set yrange [] reverse
set tics scale 0
set key off
plot "%s.tsv" matrix rowheaders columnheaders using 1:2:3 with image, \
     "%s.tsv" matrix rowheaders columnheaders using 1:2:(sprintf("%s", $3)) with labels font ",9"
]]):format(gp_quote(t.title), gp_quote(t.xlabel), gp_quote(t.ylabel), name, name, t.format or "%.4g")
  return plot.render(dir, name, body, t.width or 800, t.height or 600)
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
    body[#body + 1] = "set title " .. gp_quote(t)
    body[#body + 1] = ('plot "%s.dat" index %d matrix with image'):format(name, i - 1)
  end
  body[#body + 1] = "unset multiplot"
  return plot.render(dir, name, table.concat(body, "\n") .. "\n", 180 * columns, 190 * nrows)
end

return plot
