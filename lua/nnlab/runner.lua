--- Runs an experiment's grid points into result folders, with checkpoints
-- so that a run killed at any moment continues where it stopped and ends with
-- the same numbers as an uninterrupted one.
local nn = require("nnlab")
local core = require("nnlab.core")
local tsv = require("nnlab.tsv")
local atomic = require("nnlab.atomic")
local rundir = require("nnlab.rundir")
local plot = require("nnlab.plot")
local results = require("nnlab.results")

local runner = {}

local HISTORY = {"cost", "loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "seconds"}
local CKPT_MAGIC, CKPT_VERSION = "NNLABCKP", 2

runner.mkdirs = rundir.mkdirs

---------------------------------------------------------------- checkpoints

local function encode_history(h, epochs)
  local parts = {string.pack("<I4", epochs)}
  for _, name in ipairs(HISTORY) do
    local col = h[name]
    parts[#parts + 1] = string.pack("<s4B", name, col and 1 or 0)
    if col then
      for e = 1, epochs do parts[#parts + 1] = string.pack("<d", col[e]) end
    end
  end
  return table.concat(parts)
end

local function decode_history(s, pos)
  local epochs
  epochs, pos = string.unpack("<I4", s, pos)
  local h = {}
  for _ = 1, #HISTORY do
    local name, present
    name, present, pos = string.unpack("<s4B", s, pos)
    if present == 1 then
      local col = {}
      for e = 1, epochs do col[e], pos = string.unpack("<d", s, pos) end
      h[name] = col
    end
  end
  return h, epochs, pos
end

--- Version 2 adds the early stop's best model (empty without one) after the history.
local function write_checkpoint(path, model, opt, h, epochs, best_model)
  local payload = string.pack("<s4s4s4s4", model:encode(), opt:state(), core.rng_state(), model:rng_state())
    .. encode_history(h, epochs) .. string.pack("<s4", best_model or "")
  atomic.write(path, CKPT_MAGIC .. string.pack("<I4I4", CKPT_VERSION, core.crc32(payload)) .. payload)
end

--- Reads a checkpoint; nil, message when it is missing or damaged.
local function read_checkpoint(path)
  local f = io.open(path, "rb")
  if not f then return nil, path .. ": cannot open" end
  local s = f:read("a")
  f:close()
  if #s < 16 or s:sub(1, 8) ~= CKPT_MAGIC then return nil, path .. ": not an nnlab checkpoint" end
  local version, crc = string.unpack("<I4I4", s, 9)
  if version ~= CKPT_VERSION and version ~= 1 then return nil, ("%s: checkpoint version %d"):format(path, version) end
  local payload = s:sub(17)
  if core.crc32(payload) ~= crc then return nil, path .. ": damaged checkpoint (CRC-32 mismatch)" end
  local ok, st = pcall(function()
    local model, opt, rng, model_rng, pos = string.unpack("<s4s4s4s4", payload)
    local h, epochs
    h, epochs, pos = decode_history(payload, pos)
    local best = version >= 2 and string.unpack("<s4", payload, pos) or ""
    return {model = model, opt = opt, rng = rng, model_rng = model_rng, history = h, epochs = epochs,
            best_model = best ~= "" and best or nil}
  end)
  if not ok then return nil, path .. ": damaged checkpoint" end
  return st
end

---------------------------------------------------------------- metrics

local function write_metrics(path, h, epochs)
  local columns = {"epoch"}
  for _, name in ipairs(HISTORY) do
    if h[name] then columns[#columns + 1] = name end
  end
  local rows = {}
  for e = 1, epochs do
    local row = {e}
    for i = 2, #columns do row[i] = h[columns[i]][e] end
    rows[e] = row
  end
  tsv.write_table(path, columns, rows, tsv.figure)
end

--- A point's identity, written to its config.tsv: the experiment, every
-- parameter, --quick, and the checksums of the data files it read (when
-- known). Runner settings (checkpoint_seconds), progress and threads are not
-- in it: they do not change the numbers.
local function config_of(exp, params, quick, data_sum)
  local c = {experiment = exp.name, quick = quick and true or false, data = data_sum}
  local es = exp.early_stop
  if es then c.early_stop = ("%s,patience=%d,min_delta=%s"):format(es.metric, es.patience, tsv.value(es.min_delta)) end
  for k, v in pairs(params) do c[k] = v end
  return c
end

local function config_difference(old, new)
  local keys, diffs = {}, {}
  for k in pairs(old) do keys[k] = true end
  for k in pairs(new) do keys[k] = true end
  for k in pairs(keys) do
    local a = old[k] == nil and "(none)" or tsv.value(old[k])
    local b = new[k] == nil and "(none)" or tsv.value(new[k])
    if a ~= b then diffs[#diffs + 1] = ("%s=%s on disk, %s=%s asked"):format(k, a, k, b) end
  end
  table.sort(diffs)
  return diffs
end

local function utc_now()
  return os.date("!%Y-%m-%dT%H:%M:%SZ")
end

---------------------------------------------------------------- progress

local function progress_reporter(o, point)
  local last_print, start = -math.huge, core.clock()
  local label = ("[%s]"):format(point.name)
  if o.total > 1 then label = ("[%d/%d %s]"):format(point.index + 1, o.total, point.name) end
  return function(e, epochs, h, final)
    if o.quiet then return end
    local now = core.clock()
    if not o.tty and not final and now - last_print < 1 then return end
    last_print = now
    local elapsed = now - start
    local line = ("%s epoch %d/%d  cost %.5g"):format(label, e, epochs, h.cost[e])
    if h.val_accuracy and h.val_accuracy[e] then line = line .. ("  val_acc %.4f"):format(h.val_accuracy[e]) end
    local done = e - (o.first_epoch or 1) + 1
    local eta = done > 0 and elapsed / done * (epochs - e) or 0
    line = line .. ("  %s  eta %s"):format(nn.format_time(elapsed), nn.format_time(eta))
    if o.tty then
      io.stderr:write("\r", line, "\27[K", final and "\n" or "")
    else
      io.stderr:write(line, "\n")
    end
    io.stderr:flush()
  end
end

---------------------------------------------------------------- one point

--- The point's data, built under its seed, and the checksum of the files it
-- was read from ("" when it read none: data made by code alone).
local function build_data(exp, p)
  nn.seed(p.seed)
  local files = {}
  local before = nn.track_data(files)
  local ok, data = pcall(exp.data, p)
  nn.track_data(before)
  if not ok then error(data, 0) end
  if type(data) ~= "table" or getmetatable(data.train) ~= debug.getregistry()["nnlab.Dataset"] then
    error("data(p) must return {train = dataset, validation = dataset or nil, test = dataset or nil}", 0)
  end
  local sums, seen = {}, {}
  for _, f in ipairs(files) do
    if not seen[f.sum] then
      seen[f.sum] = true
      sums[#sums + 1] = f.sum
    end
  end
  table.sort(sums)
  local sum = #sums > 0 and ("crc32:%08x"):format(core.crc32(table.concat(sums, "\n"))) or "none"
  return data, sum, files
end

local function build(exp, p, data)
  nn.seed(p.seed)
  local model = exp.model(p, data)
  local loss = exp.loss and exp.loss(p) or nn.CrossEntropyLoss()
  local opt = exp.optimizer(p)
  return data, model, loss, opt
end

--- The early stop's watch: whether value v improves on the best so far.
local function improves(es, v, best)
  if v == nil or v ~= v then return false end
  if best == nil then return true end
  if require("nnlab.experiment").WATCHED[es.metric] then return v > best + es.min_delta end
  return v < best - es.min_delta
end

--- The best epoch of history h over epochs 1..last under es, and its value.
local function best_of(es, h, last)
  local best_epoch, best
  for e = 1, last do
    local v = h[es.metric] and h[es.metric][e]
    if improves(es, v, best) then best_epoch, best = e, v end
  end
  return best_epoch, best
end

local function final_figures(model, loss, data, h, epochs)
  local f = {}
  f.train_accuracy = nn.evaluate(model, data.train, {loss = loss}).accuracy
  if data.validation then
    local r = nn.evaluate(model, data.validation, {loss = loss})
    f.val_accuracy, f.val_loss = r.accuracy, r.loss
  end
  if data.test then
    local r = nn.evaluate(model, data.test, {loss = loss})
    f.test_accuracy, f.test_loss = r.accuracy, r.loss
  end
  f.cost, f.loss = h.cost[epochs], h.loss[epochs]
  local s = 0
  for e = 1, epochs do s = s + h.seconds[e] end
  f.seconds = s
  return f
end

local function write_final(dir, final)
  local keys = {}
  for k in pairs(final) do
    if k ~= "seconds" then keys[#keys + 1] = k end
  end
  table.sort(keys)
  keys[#keys + 1] = "seconds"
  tsv.write_kv(rundir.file(dir, "final"), final, keys, tsv.figure)
end

local function train_point(exp, point, dir, o, data)
  local p = point.params
  local settings = o.settings or exp.settings
  local model, loss, opt
  data, model, loss, opt = build(exp, p, data)
  local h, first = nn.new_history(data.validation), 1
  local es = exp.early_stop
  if es and not (es.metric:find("^val_") == nil or data.validation) then
    error(("early_stop.metric %s needs a validation set"):format(es.metric), 0)
  end
  local best_model
  local ckpt = rundir.file(dir, "checkpoint")
  local metrics = rundir.file(dir, "metrics")
  if rundir.has(dir, "checkpoint") then
    local st, err = read_checkpoint(ckpt)
    if st then
      model:restore(st.model, ckpt)
      opt:state(st.opt)
      core.rng_state(st.rng)
      model:rng_state(st.model_rng)
      h, first, best_model = st.history, st.epochs + 1, st.best_model
      o.log(("%s: continuing from its checkpoint after epoch %d"):format(point.name, st.epochs))
    else
      o.log(("%s: %s; starting over"):format(point.name, err))
    end
  end
  local batch = p.batch == "full" and data.train:size() or p.batch
  local epochs, failed, stopped, last_save = p.epochs, nil, nil, core.clock()
  -- successive halving trains a point to its rung's epoch, then pauses it
  local target = math.min(epochs, o.until_epoch or epochs)
  if target < epochs and first - 1 >= target then return "RUNG" end
  local report = progress_reporter(o, point)
  o.first_epoch = first
  -- the early stop's state is a function of the history (and the best
  -- epoch's model, kept in the checkpoint), so a resumed run stops alike
  local best_epoch, best_value
  local last = first - 1 -- the last epoch trained
  local ended = nil -- the epoch the early stop or the on_epoch hook ended training at
  if es then
    best_epoch, best_value = best_of(es, h, last)
    if best_epoch and last - best_epoch >= es.patience then ended = last end
  end
  if ended == nil and first <= target then
    nn.train{model = model, loss = loss, optimizer = opt, data = data.train, validation = data.validation,
             batch = batch, epochs = target, shuffle = p.shuffle, verbose = false, first_epoch = first, history = h,
             on_epoch = function(e, hist)
               last = e
               local c = hist.cost[e]
               if c ~= c or c == math.huge or c > p.diverge_factor * hist.cost[1] then
                 failed = ("diverged at epoch %d: cost %s (first epoch %s)"):format(e, tsv.figure(c),
                   tsv.figure(hist.cost[1]))
                 write_metrics(metrics, hist, e)
                 return false
               end
               -- the cost is measured before the epoch's last step, which may have left what no checkpoint
               -- may hold (a weight overflowed, a running statistic gone bad)
               local bad = model:nonfinite()
               if bad then
                 failed = ("diverged at epoch %d: %s"):format(e, bad)
                 write_metrics(metrics, hist, e)
                 return false
               end
               if es and improves(es, hist[es.metric][e], best_value) then
                 best_epoch, best_value, best_model = e, hist[es.metric][e], model:encode()
               end
               if es and best_epoch and e - best_epoch >= es.patience then ended = e end
               if exp.on_epoch and exp.on_epoch(p, e, hist) == false then ended = e end
               report(e, epochs, hist, e == target or ended ~= nil)
               stopped = core.interrupted()
               if stopped or e == target or ended or core.clock() - last_save >= settings.checkpoint_seconds then
                 write_metrics(metrics, hist, e)
                 write_checkpoint(ckpt, model, opt, hist, e, best_model)
                 last_save = core.clock()
               end
               if stopped then
                 stopped = ("%s after epoch %d; checkpoint written"):format(stopped, e)
                 return false
               end
               if ended then return false end
             end}
  end
  if failed then return "FAILED", failed end
  if stopped then return "INTERRUPTED", stopped end
  local final
  if es then
    -- the best epoch's model and figures
    if best_model then model:restore(best_model, "best epoch's model") end
    best_epoch = best_model and best_epoch or last
    final = final_figures(model, loss, data, h, best_epoch)
    final.best_epoch, final.stopped_epoch = best_epoch, ended or last
    local s = 0
    for e = 1, last do s = s + h.seconds[e] end
    final.seconds = s
  else
    final = final_figures(model, loss, data, h, last)
    if ended then final.stopped_epoch = ended end
  end
  if o.until_epoch then final.epochs_trained = last end
  if last < epochs and not ended then
    -- a rung reached: its figures stay if the point is pruned here, the checkpoint if it goes on
    write_final(dir, final)
    return "RUNG"
  end
  local model_path = rundir.file(dir, "model")
  model:save(model_path)
  if exp.after then
    local extra = exp.after(p, {model = model, data = data, loss = loss, history = h, dir = dir, nn = nn,
                                plot = plot, model_path = model_path})
    for k, v in pairs(extra or {}) do final[k] = v end
  end
  write_final(dir, final)
  local ok, err = plot.point(dir, exp.name .. " " .. point.name)
  if not ok then o.log(err) end
  os.remove(ckpt)
  return "DONE"
end

local function started(dir)
  return rundir.has(dir, "metrics") or rundir.has(dir, "checkpoint") or rundir.has(dir, "done")
    or rundir.has(dir, "failed")
end

--- Runs one point unless it finished before, holding the point's lock while
-- it decides and trains: a point locked by another process is skipped.
-- Returns "DONE", "FAILED" and the reason, "INTERRUPTED" and the signal, or
-- "RUNNING" and the holder.
function runner.run_point(exp, point, o)
  local dir = rundir.open_point(o.griddir, point.name)
  local lock, holder = rundir.lock(dir)
  if lock == nil then error(holder, 0) end
  if not lock then
    o.log(("%s: being trained by %s; skipped"):format(point.name, holder))
    return "RUNNING", holder
  end
  local _ <close> = lock
  atomic.remove_stale(dir)
  if rundir.has(dir, "pruned") and not o.restart then
    if o.until_epoch or o.prune then
      o.log(("%s: pruned earlier, skipped"):format(point.name))
      return "PRUNED"
    end
    os.remove(rundir.file(dir, "pruned")) -- without halving it goes on from its checkpoint
  end
  local data_ok, data, data_sum = xpcall(build_data, debug.traceback, exp, point.params)
  if not data_ok then
    local reason = tostring(data)
    o.log(("%s: FAILED: %s"):format(point.name, reason:match("^[^\n]*")))
    if not rundir.has(dir, "done") then
      if not rundir.has(dir, "config") then
        tsv.write_kv(rundir.file(dir, "config"), config_of(exp, point.params, o.quick))
      end
      atomic.write(rundir.file(dir, "failed"), reason .. "\n")
    end
    return "FAILED", reason
  end
  local config = config_of(exp, point.params, o.quick, data_sum)
  local old = tsv.read_kv(rundir.file(dir, "config"))
  if old then
    local diffs = config_difference(old, config)
    if #diffs > 0 and started(dir) then
      if not o.restart then
        error(("%s: finished or started with another configuration (%s); run with --restart to discard it")
          :format(dir, table.concat(diffs, "; ")), 0)
      end
      rundir.clear(o.griddir, point.name)
    elseif o.restart then
      rundir.clear(o.griddir, point.name)
    end
  end
  if rundir.has(dir, "done") then
    o.log(("%s: finished earlier, reused"):format(point.name))
    return "DONE"
  end
  os.remove(rundir.file(dir, "failed"))
  tsv.write_kv(rundir.file(dir, "config"), config)
  local info = nn.info()
  local meta = {nnlab = info.version, lua = info.lua, zlib = info.zlib, blas = info.blas,
                blas_kernel = info.blas_kernel, threads = info.threads, host = core.hostname(), started = utc_now()}
  local t0 = core.clock()
  local ok, status, reason = xpcall(train_point, debug.traceback, exp, point, dir, o, data)
  if not ok then
    status, reason = "FAILED", tostring(status)
  end
  meta.finished = utc_now()
  meta.wall_seconds = core.clock() - t0
  tsv.write_kv(rundir.file(dir, "meta"), meta)
  if status == "INTERRUPTED" then
    o.log(("%s: stopped by %s"):format(point.name, reason))
    return status, reason
  elseif status == "RUNG" then
    o.log(("%s: reached epoch %d, its rung"):format(point.name, o.until_epoch))
    return status
  elseif status == "DONE" then
    atomic.write(rundir.file(dir, "done"), meta.finished .. "\n")
    o.log(("%s: done in %s"):format(point.name, nn.format_time(meta.wall_seconds)))
  else
    atomic.write(rundir.file(dir, "failed"), reason .. "\n")
    o.log(("%s: FAILED: %s"):format(point.name, reason:match("^[^\n]*")))
  end
  return status, reason
end

--- Writes the grid's description (axes, experiment path) beside its points,
-- and the configuration of each selected point not started yet, so that the
-- summary lists it as PENDING.
-- Every write into a folder is made by the holder of its lock (the grid's
-- or the point's), which is also the one that removes stale temporaries.
function runner.write_grid(exp, griddir, points, selected, quick, grid)
  rundir.mkdirs(griddir)
  do
    local lock, err = rundir.lock(griddir, true)
    if lock == nil then error(err, 0) end
    local _ <close> = lock or nil
    local search
    if grid and grid.search then
      local parts = {}
      for _, k in ipairs(points[1].axes) do
        local sp = grid.search.space[k]
        parts[#parts + 1] = k .. ":" .. (sp.kind == "choice" and "choice" or sp.log and "log" or "lin")
      end
      search = table.concat(parts, ",")
    end
    tsv.write_kv(rundir.file(griddir, "grid"), {experiment = exp.name, path = exp.path,
      axes = table.concat(points[1].axes, ","), points = #points, quick = quick and true or false,
      repeats = grid and grid.repeats or 1, search = search},
      {"experiment", "path", "axes", "points", "quick", "repeats", "search"})
  end
  for _, point in ipairs(selected or points) do
    local dir = rundir.open_point(griddir, point.name)
    if not rundir.has(dir, "config") then
      local lock = rundir.lock(dir)
      if lock then
        local _ <close> = lock
        tsv.write_kv(rundir.file(dir, "config"), config_of(exp, point.params, quick))
      end
    end
  end
end

--- Runs the given points in this process, updating the summary as each ends.
-- Returns the failed points, whether it was interrupted, and the points
-- skipped because another process holds them.
function runner.run_points(exp, points, o)
  local failed, busy = {}, {}
  core.catch_signals()
  for _, point in ipairs(points) do
    local status, reason = runner.run_point(exp, point, o)
    results.collect(o.griddir, {plots = false})
    if status == "INTERRUPTED" then return failed, true, busy end
    if status == "RUNNING" then
      busy[#busy + 1] = {point = point.name, holder = reason}
    elseif status ~= "DONE" and status ~= "RUNG" and status ~= "PRUNED" then
      failed[#failed + 1] = {point = point.name, reason = reason}
    end
    if core.interrupted() then return failed, true, busy end
  end
  return failed, false, busy
end

--- The metric's value at epoch e in a point's metrics.tsv, or nil.
local function metric_at(dir, metric, e)
  local _, rows = tsv.read_table(rundir.file(dir, "metrics"))
  local r = rows and rows[e]
  return r and r.epoch == e and type(r[metric]) == "number" and r[metric] == r[metric] and r[metric] or nil
end

--- Whether a point takes part in rung k: neither FAILED nor PRUNED at an
-- earlier rung (one pruned at rung k by an earlier run is chosen again, alike).
function runner.in_rung(dir, k)
  local st, why = rundir.status(dir)
  if st == "FAILED" then return false end
  if st == "PRUNED" then
    local j = math.tointeger(tonumber(tostring(why):match("^rung (%d+)")))
    return j ~= nil and j >= k
  end
  return true
end

--- Successive halving's choice after rung k (synchronous): of the points
-- neither FAILED nor PRUNED, the best max(1, floor(n / eta)) by the metric
-- at the rung's epoch go on (ties to the earlier point) and the others are
-- marked PRUNED, their figures kept. A pure function of the rung's results,
-- the same on any launcher; halving.tsv records every rung's decisions.
-- Returns the survivors, or nil and a message when the rung is unfinished.
function runner.halve(exp, griddir, points, k)
  local pr = exp.prune
  local epoch = pr.rungs[k]
  local alive = {}
  for _, point in ipairs(points) do
    local dir = rundir.point_dir(griddir, point.name)
    if runner.in_rung(dir, k) then
      local v = metric_at(dir, pr.metric, epoch)
      if v == nil then
        return nil, ("%s has not reached rung %d (epoch %d) yet"):format(point.name, k, epoch)
      end
      alive[#alive + 1] = {point = point, value = v, dir = dir}
    end
  end
  local larger = require("nnlab.experiment").WATCHED[pr.metric]
  table.sort(alive, function(a, b)
    if a.value ~= b.value then
      if larger then return a.value > b.value end
      return a.value < b.value
    end
    return a.point.index < b.point.index
  end)
  local keep = math.max(1, #alive // pr.eta)
  local old_columns, old_rows = tsv.read_table(rundir.file(griddir, "halving"))
  local rows = {}
  for _, r in ipairs(old_columns and old_rows or {}) do
    if r.rung and r.rung < k then
      rows[#rows + 1] = {r.rung, r.epoch, r.point, r[pr.metric], r.rank, r.decision}
    end
  end
  local survivors = {}
  for rank, a in ipairs(alive) do
    local decision = rank <= keep and "continue" or "pruned"
    rows[#rows + 1] = {k, epoch, a.point.name, a.value, rank, decision}
    if rank <= keep then
      survivors[#survivors + 1] = a.point
    else
      local lock = rundir.lock(a.dir, true)
      if lock then
        atomic.write(rundir.file(a.dir, "pruned"), ("rung %d of %d, epoch %d: %s %s, rank %d of %d\n"):format(k,
          #pr.rungs, epoch, pr.metric, tsv.figure(a.value), rank, #alive))
        lock:unlock()
      end
    end
  end
  tsv.write_table(rundir.file(griddir, "halving"), {"rung", "epoch", "point", pr.metric, "rank", "decision"}, rows,
    tsv.figure)
  table.sort(survivors, function(a, b) return a.index < b.index end)
  return survivors
end

--- Checks before anything runs that each point's model, loss and optimizer
-- can be built, and blames a failure on a --set value when the same point
-- builds with the experiment's own values of the keys set. Returns nil, or
-- a one-line message.
-- A model that takes the data (model(p, data), to fit nn.Normalize) is
-- tried on the first point's data, read once.
function runner.check_sets(exp, points, set_keys, base)
  if #set_keys == 0 then return nil end
  local data
  if debug.getinfo(exp.model, "u").nparams >= 2 and points[1] then
    local ok, d = pcall(exp.data, points[1].params)
    data = ok and d or nil
  end
  local function try(p)
    return pcall(function()
      if exp.loss then exp.loss(p) end
      exp.optimizer(p)
      exp.model(p, data)
    end)
  end
  for _, point in ipairs(points) do
    local ok, err = try(point.params)
    if not ok then
      local p0, given = {}, {}
      for k, v in pairs(point.params) do p0[k] = v end
      for _, k in ipairs(set_keys) do
        if base[k] ~= nil then
          p0[k] = base[k]
          given[#given + 1] = k .. "=" .. tsv.value(point.params[k])
        end
      end
      if try(p0) then
        return ("--set %s: %s"):format(table.concat(given, " "), tostring(err):match("^[^\n]*"))
      end
    end
  end
  return nil
end

return runner
