--- Experiment declarations and their parameter grids.
--
-- An experiment file returns nn.experiment{...}: a name, default parameters,
-- a grid (axis name -> list of values), a `quick` variant of the parameters,
-- and functions of the parameters that build the data, the model, the loss
-- and the optimizer. Training settings are parameters too (batch, epochs,
-- shuffle), so a grid point is a plain table and a run a pure function of it.
local tsv = require("nnlab.tsv")

local experiment = {}

local Experiment = {}
Experiment.__index = Experiment

local DEFAULTS = {seed = 1, batch = 100, epochs = 1, shuffle = true, diverge_factor = 100,
                  checkpoint_seconds = 1}

local function fail(msg) error(msg, 3) end

local function check_value(where, v)
  local t = type(v)
  if t ~= "number" and t ~= "string" and t ~= "boolean" then
    fail(("%s: a parameter is a number, string or boolean, got %s"):format(where, t))
  end
  if t == "number" and v ~= v then fail(where .. ": a parameter cannot be NaN") end
end

--- Validates a declaration and fills in the defaults.
function experiment.define(decl)
  if type(decl) ~= "table" then fail("experiment: expected a table") end
  for _, fn in ipairs{"data", "model", "optimizer"} do
    if type(decl[fn]) ~= "function" then fail(("experiment: '%s' must be a function of the parameters"):format(fn)) end
  end
  for _, fn in ipairs{"loss", "after"} do
    if decl[fn] ~= nil and type(decl[fn]) ~= "function" then
      fail(("experiment: '%s' must be a function of the parameters"):format(fn))
    end
  end
  local params = {}
  for k, v in pairs(DEFAULTS) do params[k] = v end
  for k, v in pairs(decl.params or {}) do
    check_value("experiment: params." .. tostring(k), v)
    params[k] = v
  end
  for axis, values in pairs(decl.grid or {}) do
    if params[axis] == nil then fail(("experiment: grid axis '%s' is not a parameter"):format(axis)) end
    if type(values) ~= "table" or #values == 0 then
      fail(("experiment: grid axis '%s' needs a list of values"):format(axis))
    end
    for _, v in ipairs(values) do check_value("experiment: grid." .. axis, v) end
  end
  for k, v in pairs(decl.quick or {}) do
    if params[k] == nil then fail(("experiment: quick.%s is not a parameter"):format(k)) end
    check_value("experiment: quick." .. k, v)
  end
  decl.params = params
  decl.grid = decl.grid or {}
  decl.quick = decl.quick or {}
  return setmetatable(decl, Experiment)
end

--- Loads an experiment file; its name defaults to the file's base name.
function experiment.load(path)
  local chunk, err = loadfile(path)
  if not chunk then return nil, err end
  local ok, exp = pcall(chunk)
  if not ok then return nil, ("%s: %s"):format(path, tostring(exp)) end
  if getmetatable(exp) ~= Experiment then
    return nil, ("%s: does not return nn.experiment{...}"):format(path)
  end
  exp.name = exp.name or path:match("([^/]+)%.lua$") or "experiment"
  exp.path = path
  return exp
end

--- Parses a --set value by the type of the parameter's default.
local function parse_value(key, s, default)
  local t = type(default)
  if t == "number" then
    local v = tonumber(s)
    if not v or v ~= v then return nil, ("--set %s: '%s' is not a number"):format(key, s) end
    return v
  elseif t == "boolean" then
    if s == "true" then return true elseif s == "false" then return false end
    return nil, ("--set %s: '%s' is not true or false"):format(key, s)
  end
  return s
end

--- Applies "key=value[,value...]" settings: one value sets the parameter,
-- several make (or replace) a grid axis. Returns params, axes or nil, message.
function Experiment:resolve(sets, quick)
  local params, axes = {}, {}
  for k, v in pairs(self.params) do params[k] = v end
  if quick then
    for k, v in pairs(self.quick) do params[k] = v end
  end
  for k, v in pairs(self.grid) do axes[k] = v end
  for _, s in ipairs(sets or {}) do
    local key, list = s:match("^([%w_]+)=(.+)$")
    if not key then return nil, ("--set '%s': expected key=value[,value...]"):format(s) end
    if params[key] == nil then
      local known = {}
      for k in pairs(params) do known[#known + 1] = k end
      table.sort(known)
      return nil, ("--set %s: unknown parameter (known: %s)"):format(key, table.concat(known, ", "))
    end
    local values = {}
    for item in (list .. ","):gmatch("([^,]*),") do
      local v, err = parse_value(key, item, params[key])
      if v == nil then return nil, err end
      values[#values + 1] = v
    end
    if #values == 1 then
      params[key], axes[key] = values[1], nil
    else
      axes[key] = values
    end
  end
  return params, axes
end

local function axis_names(axes)
  local names = {}
  for k in pairs(axes) do names[#names + 1] = k end
  table.sort(names)
  return names
end
experiment.axis_names = axis_names

--- The grid's points, in order: {index (0-based), name, params, axes}.
function Experiment:points(sets, quick)
  local params, axes = self:resolve(sets, quick)
  if not params then return nil, axes end
  local names = axis_names(axes)
  local points = {}
  local function expand(i, chosen)
    if i > #names then
      local p, parts = {}, {}
      for k, v in pairs(params) do p[k] = v end
      for _, name in ipairs(names) do
        p[name] = chosen[name]
        parts[#parts + 1] = name .. "=" .. tsv.value(chosen[name])
      end
      points[#points + 1] = {index = #points, name = #parts > 0 and table.concat(parts, ",") or "default",
                             params = p, axes = names}
      return
    end
    for _, v in ipairs(axes[names[i]]) do
      chosen[names[i]] = v
      expand(i + 1, chosen)
    end
  end
  expand(1, {})
  return points
end

return experiment
