--- The layout of a grid's folder, its one home: the names of the files in it
-- and in each point's folder, how a point's or a grid's folder is named from
-- its values, the point locks, and the markers that give a point's status.
--
--   OUT/GRID/            grid.tsv, summary.tsv (a row per configuration),
--                        replicates.tsv (a row per point, with repeats),
--                        halving.tsv (successive halving's decisions),
--                        index.html, grid plots, lock
--   OUT/GRID/POINT/      config.tsv (the point's identity), metrics.tsv,
--                        final.tsv, meta.tsv, model.nnl, checkpoint.nnl,
--                        DONE, FAILED or PRUNED, lock, worker.log, plots
--
-- A folder name is one path component made of [A-Za-z0-9._+@=,~-] only: other
-- bytes of a value are written ~XX (hex), a leading dot too, and a name longer
-- than MAX_NAME bytes is cut and ends with ~ and the CRC-32 of the whole name.
-- The exact values are in config.tsv. Nothing here writes or removes outside
-- the grid's folder, or through a symbolic link.
local lfs = require("lfs")
local core = require("nnlab.core")
local tsv = require("nnlab.tsv")

local rundir = {}

rundir.FILES = {
  config = "config.tsv", metrics = "metrics.tsv", final = "final.tsv", meta = "meta.tsv",
  model = "model.nnl", checkpoint = "checkpoint.nnl", done = "DONE", failed = "FAILED", pruned = "PRUNED",
  lock = "lock", log = "worker.log",
  grid = "grid.tsv", summary = "summary.tsv", index = "index.html", replicates = "replicates.tsv",
  halving = "halving.tsv",
}

local MAX_NAME = 120

--- A value's text with every byte outside [A-Za-z0-9._+@-] written ~XX.
function rundir.escape(s)
  return (tostring(s):gsub("[^%w._+@%-]", function(c) return ("~%02X"):format(c:byte()) end))
end

--- Whether s is a name this module makes: one safe path component.
function rundir.is_component(s)
  return type(s) == "string" and #s > 0 and #s <= MAX_NAME and not s:find("[^%w._+@=,~%-]")
    and s:sub(1, 1) ~= "."
end

--- s (made of escaped values, '=' and ',') as one safe path component.
local function component(s)
  s = s:gsub("[^%w._+@=,~%-]", function(c) return ("~%02X"):format(c:byte()) end)
  if s == "" then s = "~" end
  if s:sub(1, 1) == "." then s = "~2E" .. s:sub(2) end
  if #s > MAX_NAME then s = ("%s~%08x"):format(s:sub(1, MAX_NAME - 9), core.crc32(s)) end
  assert(rundir.is_component(s))
  return s
end
rundir.component = component

--- A value's short text in a folder name: a float to 4 significant digits
-- (%.4g), anything else as tsv.value writes it.
function rundir.short(v)
  if math.type(v) == "float" and v == v and v ~= math.huge and v ~= -math.huge then
    return ("%.4g"):format(v)
  end
  return tsv.value(v)
end

--- A point's folder name: "axis=value,..." over the axes in order, or
-- "default"; short[axis] true gives that axis's values in short form.
function rundir.point_name(axes, values, short)
  local parts = {}
  for _, a in ipairs(axes) do
    local text = (short and short[a] and rundir.short or tsv.value)(values[a])
    parts[#parts + 1] = rundir.escape(a) .. "=" .. rundir.escape(text)
  end
  return #parts > 0 and component(table.concat(parts, ",")) or "default"
end

local function same_values(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do
    if tsv.value(a[i]) ~= tsv.value(b[i]) then return false end
  end
  return true
end

--- A grid's folder name: the experiment's name, "-quick" for its quick
-- variant, then "+key=value" for each parameter pinned to another value than
-- the base grid's and "+key=v1,v2" for each axis added or changed, so that
-- the points of different grids never share a folder.
function rundir.grid_name(name, quick, base_params, base_axes, params, axes)
  local keys, seen = {}, {}
  for _, t in ipairs{base_params, base_axes, params, axes} do
    for k in pairs(t) do
      if not seen[k] then seen[k] = true; keys[#keys + 1] = k end
    end
  end
  table.sort(keys)
  local parts = {rundir.escape(name) .. (quick and "-quick" or "")}
  for _, k in ipairs(keys) do
    local values
    if axes[k] then
      if not (base_axes[k] and same_values(axes[k], base_axes[k])) then values = axes[k] end
    elseif base_axes[k] or tsv.value(params[k]) ~= tsv.value(base_params[k]) then
      values = {params[k]}
    end
    if values then
      local texts = {}
      for i, v in ipairs(values) do texts[i] = rundir.escape(tsv.value(v)) end
      parts[#parts + 1] = rundir.escape(k) .. "=" .. table.concat(texts, ",")
    end
  end
  return component(table.concat(parts, "+"))
end

--- mkdir -p
function rundir.mkdirs(path)
  local so_far = path:sub(1, 1) == "/" and "" or "."
  for part in path:gmatch("[^/]+") do
    so_far = so_far .. "/" .. part
    if not lfs.attributes(so_far, "mode") then
      local ok, err = lfs.mkdir(so_far)
      if not ok and not lfs.attributes(so_far, "mode") then
        error(("%s: cannot create folder (%s)"):format(so_far, err), 0)
      end
    end
  end
end

--- The folder of point `name` in griddir; raises unless name is a safe component.
function rundir.point_dir(griddir, name)
  if not rundir.is_component(name) then
    error(("%s: not a point folder name nnlab makes"):format(tostring(name)), 2)
  end
  return griddir .. "/" .. name
end

--- Creates (if needed) and returns the point's folder; refuses a symbolic
-- link or a file in its place, which would take writes outside the grid.
function rundir.open_point(griddir, name)
  local dir = rundir.point_dir(griddir, name)
  local mode = lfs.symlinkattributes(dir, "mode")
  if mode == nil then
    rundir.mkdirs(dir)
    mode = lfs.symlinkattributes(dir, "mode")
  end
  if mode ~= "directory" then
    error(("%s: is a %s, not a folder; nnlab writes only into folders inside %s"):format(dir,
      mode == "link" and "symbolic link" or tostring(mode), griddir), 0)
  end
  return dir
end

--- dir's file `key` (a key of rundir.FILES).
function rundir.file(dir, key)
  return dir .. "/" .. assert(rundir.FILES[key], key)
end

function rundir.has(dir, key)
  return lfs.symlinkattributes(rundir.file(dir, key), "mode") ~= nil
end

--- Who this process is, as a lock holder describes itself.
function rundir.whoami()
  return ("pid %d on %s since %s"):format(core.getpid(), core.hostname(), os.date("!%Y-%m-%dT%H:%M:%SZ"))
end

--- Takes the lock of a point's folder (or of the grid's): the lock, or false
-- and the holder's description, or nil and a message. With wait, waits.
function rundir.lock(dir, wait)
  return core.lock_point(rundir.file(dir, "lock"), rundir.whoami(), wait)
end

--- The description of the process holding dir's lock, or nil.
function rundir.holder(dir)
  return core.lock_holder(rundir.file(dir, "lock"))
end

local function first_line(path)
  local f = io.open(path)
  if not f then return "" end
  local s = f:read("l") or ""
  f:close()
  return s
end

--- A point's status from its markers and lock: "DONE", "PRUNED" (and the
-- rung it ended at: successive halving stopped it there, its figures kept),
-- "RUNNING" (and the holder), "FAILED" (and the reason), "INTERRUPTED" (a
-- checkpoint waits), or "PENDING".
function rundir.status(dir)
  if rundir.has(dir, "done") then return "DONE" end
  if rundir.has(dir, "pruned") then return "PRUNED", first_line(rundir.file(dir, "pruned")) end
  local holder = rundir.holder(dir)
  if holder then return "RUNNING", holder end
  if rundir.has(dir, "failed") then return "FAILED", first_line(rundir.file(dir, "failed")) end
  if rundir.has(dir, "checkpoint") then return "INTERRUPTED" end
  return "PENDING"
end

local function inside(griddir, path)
  return path:sub(1, #griddir + 1) == griddir .. "/" and not ("/" .. path .. "/"):find("/%.%.?/", #griddir + 1)
end

local function remove_tree(griddir, path)
  assert(inside(griddir, path), path)
  if lfs.symlinkattributes(path, "mode") == "directory" then
    for entry in lfs.dir(path) do
      if entry ~= "." and entry ~= ".." then remove_tree(griddir, path .. "/" .. entry) end
    end
    lfs.rmdir(path)
  else
    os.remove(path) -- a symbolic link itself, never what it points to
  end
end

--- Empties a point's folder (--restart), keeping its lock file, whose holder
-- is the caller. Never follows a symbolic link.
function rundir.clear(griddir, name)
  local dir = rundir.point_dir(griddir, name)
  if lfs.symlinkattributes(dir, "mode") ~= "directory" then return end
  for entry in lfs.dir(dir) do
    if entry ~= "." and entry ~= ".." and entry ~= rundir.FILES.lock then remove_tree(griddir, dir .. "/" .. entry) end
  end
end

--- The point folders of a grid: {name, dir} for each real folder (not a
-- link, not hidden) holding a config.tsv, sorted by name.
function rundir.points(griddir)
  local list = {}
  for entry in lfs.dir(griddir) do
    local dir = griddir .. "/" .. entry
    if entry:sub(1, 1) ~= "." and lfs.symlinkattributes(dir, "mode") == "directory"
        and lfs.symlinkattributes(dir .. "/" .. rundir.FILES.config, "mode") == "file" then
      list[#list + 1] = {name = entry, dir = dir}
    end
  end
  table.sort(list, function(a, b) return a.name < b.name end)
  return list
end

return rundir
