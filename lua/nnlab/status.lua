--- `nnlab status OUT/GRID`: where a grid stands, read from its run folders
-- only (markers, locks, metrics.tsv, meta.tsv), so it works the same for a
-- grid run locally, through GNU parallel or on Slurm, from any process.
local lfs = require("lfs")
local tsv = require("nnlab.tsv")
local rundir = require("nnlab.rundir")

local status = {}

-- The order of the totals line.
local ORDER = {"DONE", "RUNNING", "INTERRUPTED", "PENDING", "PRUNED", "FAILED"}

local function epochs_done(dir)
  local f = io.open(rundir.file(dir, "metrics"))
  if not f then return 0 end
  local n = -1
  for _ in f:lines() do n = n + 1 end
  f:close()
  return math.max(0, n)
end

local function format_time(s)
  return require("nnlab").format_time(s)
end

--- The grid's state: {points = {{name, status, line}, ...}, counts, eta
-- (seconds, or nil when nothing has finished yet), finished (no point
-- pending, running or interrupted)}, or nil and a message.
function status.read(griddir)
  if lfs.attributes(griddir, "mode") ~= "directory" then return nil, griddir .. ": no such results folder" end
  local list = rundir.points(griddir)
  if #list == 0 then return nil, griddir .. ": no run folders (with " .. rundir.FILES.config .. ") here" end
  local counts, points = {}, {}
  local left_epochs, running = 0, 0
  local per_epoch = {}
  for _, entry in ipairs(list) do
    local dir = entry.dir
    local st, why = rundir.status(dir)
    local config = tsv.read_kv(rundir.file(dir, "config")) or {}
    local epochs = math.tointeger(config.epochs) or 0
    local done = epochs_done(dir)
    local meta = tsv.read_kv(rundir.file(dir, "meta")) or {}
    local line
    if st == "DONE" then
      local final = tsv.read_kv(rundir.file(dir, "final")) or {}
      local parts = {}
      for _, k in ipairs{"val_accuracy", "test_accuracy"} do
        if type(final[k]) == "number" then parts[#parts + 1] = ("%s %.4f"):format(k, final[k]) end
      end
      if final.stopped_epoch then parts[#parts + 1] = ("stopped at epoch %d, best %d"):format(final.stopped_epoch,
        final.best_epoch or final.stopped_epoch) end
      if type(meta.wall_seconds) == "number" then
        parts[#parts + 1] = format_time(meta.wall_seconds)
        if done > 0 then per_epoch[#per_epoch + 1] = meta.wall_seconds / done end
      end
      line = table.concat(parts, "  ")
    elseif st == "RUNNING" then
      -- the holder describes itself as "pid N on HOST since TIME"
      local pid, host, since = tostring(why):match("^pid (%d+) on (%S+) since (%S+)")
      line = ("epoch %d/%d on %s (pid %s, since %s)"):format(done, epochs, host or "?", pid or "?", since or "?")
      left_epochs = left_epochs + math.max(0, epochs - done)
      running = running + 1
    elseif st == "FAILED" then
      line = why or ""
    elseif st == "PRUNED" then
      line = ("after epoch %d%s"):format(done, why and why ~= "" and (" (" .. why .. ")") or "")
    elseif st == "INTERRUPTED" then
      line = ("checkpoint after epoch %d/%d"):format(done, epochs)
      left_epochs = left_epochs + math.max(0, epochs - done)
    else
      line = ""
      left_epochs = left_epochs + epochs
    end
    counts[st] = (counts[st] or 0) + 1
    points[#points + 1] = {name = entry.name, status = st, line = line}
  end
  local eta
  if #per_epoch > 0 then
    local s = 0
    for _, v in ipairs(per_epoch) do s = s + v end
    eta = s / #per_epoch * left_epochs / math.max(1, running)
  end
  local finished = not (counts.PENDING or counts.RUNNING or counts.INTERRUPTED)
  return {points = points, counts = counts, eta = eta, finished = finished}
end

--- The text `nnlab status` prints: a line per point, then the totals and the ETA.
function status.text(griddir, st)
  local width = 5
  for _, p in ipairs(st.points) do width = math.max(width, #p.name) end
  local lines = {}
  for _, p in ipairs(st.points) do
    lines[#lines + 1] = (("%-" .. width .. "s  %-11s  %s"):format(p.name, p.status, p.line)):gsub("%s+$", "")
  end
  local totals = {}
  for _, s in ipairs(ORDER) do
    if st.counts[s] then totals[#totals + 1] = ("%d %s"):format(st.counts[s], s) end
  end
  local tail = ("%s: %d points: %s"):format(griddir, #st.points, table.concat(totals, ", "))
  if st.finished then
    tail = tail .. "; finished"
  elseif st.eta then
    tail = tail .. ("; eta %s (from the finished points' time per epoch, at the running points' pace)")
      :format(format_time(st.eta))
  else
    tail = tail .. "; eta unknown until a point finishes"
  end
  lines[#lines + 1] = tail
  return table.concat(lines, "\n") .. "\n"
end

return status
