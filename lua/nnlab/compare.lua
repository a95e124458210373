--- `nnlab compare OUT/A OUT/B ...`: the best configuration of each grid on
-- one metric, in one table and one plot ("did the new architecture beat the
-- old one"). A replicated grid's best is the best mean, with its sd, n and
-- interval, and Welch's test against the overall best where both have two
-- replicates or more.
local results = require("nnlab.results")
local stats = require("nnlab.stats")
local tsv = require("nnlab.tsv")
local plot = require("nnlab.plot")

local compare = {}

--- The best of one grid: {grid, best, n, value, sd, lo, hi, values, test} or nil, message.
function compare.best(griddir, metric)
  local points, err = results.scan(griddir)
  if not points then return nil, err end
  if #points == 0 then return nil, griddir .. ": no run folders here" end
  metric = metric or results.ranking_metric(points)
  if not metric then return nil, griddir .. ": no finished point has a figure to compare" end
  local replicated = false
  for _, p in ipairs(points) do
    if p.config.replicate ~= nil then replicated = true end
  end
  local name = griddir:gsub("/+$", ""):match("([^/]+)$") or griddir
  local best
  if replicated then
    for _, c in ipairs(results.configurations(points)) do
      local v = c.final[metric]
      if c.n > 0 and v and (not best or v > best.value) then
        best = {grid = name, best = c.name, n = c.n, value = v, sd = c.sd[metric], lo = c.lo[metric],
                hi = c.hi[metric], values = c.values[metric], test = c.final.test_accuracy}
      end
    end
  else
    for _, p in ipairs(points) do
      local v = p.status == "DONE" and p.final[metric]
      if type(v) == "number" and (not best or v > best.value) then
        best = {grid = name, best = p.name, n = 1, value = v, values = {v}, test = p.final.test_accuracy}
      end
    end
  end
  if not best then return nil, ("%s: no finished point has %s"):format(griddir, metric) end
  best.metric = metric
  return best
end

--- Compares grids: the rows best first, each with its difference to the
-- first and Welch's p-value against it; writes dir/compare.tsv and
-- dir/compare.png. Returns the rows and the warnings, or nil and a message.
function compare.run(dirs, out, metric)
  local rows = {}
  for _, d in ipairs(dirs) do
    local r, err = compare.best(d, metric)
    if not r then return nil, err end
    metric = metric or r.metric
    rows[#rows + 1] = r
  end
  table.sort(rows, function(a, b)
    if a.value ~= b.value then return a.value > b.value end
    return a.grid < b.grid
  end)
  for i, r in ipairs(rows) do
    if i > 1 then
      r.diff = r.value - rows[1].value
      local _, _, p = stats.welch(r.values, rows[1].values)
      r.p = p
    end
  end
  require("nnlab.rundir").mkdirs(out)
  local columns = {"grid", "best", "n", metric, metric .. "_sd", metric .. "_lo95", metric .. "_hi95", "difference",
                   "p_welch", "test_accuracy"}
  local table_rows = {}
  for i, r in ipairs(rows) do
    table_rows[i] = {r.grid, r.best, r.n, r.value, r.sd, r.lo, r.hi, r.diff, r.p, r.test}
  end
  tsv.write_table(out .. "/compare.tsv", columns, table_rows, tsv.figure)
  local warnings = {}
  local ok, err = plot.compare(out, "compare", {metric = metric, rows = rows})
  if not ok and err then warnings[#warnings + 1] = err end
  return rows, warnings, metric
end

--- The table as a person reads it.
function compare.text(rows, metric)
  local lines = {("%-4s  %s"):format("rank", table.concat({"grid", "best", "n", metric, "sd", "95% interval",
    "difference", "p (Welch)", "test_accuracy"}, "\t"))}
  for i, r in ipairs(rows) do
    local cells = {r.grid, r.best, tostring(r.n), ("%.4f"):format(r.value), r.sd and ("%.4f"):format(r.sd) or "",
      r.lo and ("%.4f-%.4f"):format(r.lo, r.hi) or "", r.diff and ("%+.4f"):format(r.diff) or "",
      r.p and ("%.4g"):format(r.p) or "", r.test and ("%.4f"):format(r.test) or ""}
    lines[#lines + 1] = ("%-4d  %s"):format(i, table.concat(cells, "\t"))
  end
  return table.concat(lines, "\n") .. "\n"
end

return compare
