--- Experiment declarations and their parameter grids.
--
-- An experiment file returns nn.experiment{...}: a name, default parameters,
-- a grid (axis name -> list of values), a `quick` variant of the parameters,
-- and functions of the parameters that build the data, the model, the loss
-- and the optimizer. Training settings are parameters too (batch, epochs,
-- shuffle), so a grid point is a plain table and a run a pure function of it.
local tsv = require("nnlab.tsv")
local rundir = require("nnlab.rundir")

local experiment = {}

local Experiment = {}
Experiment.__index = Experiment

local DEFAULTS = {seed = 1, batch = 100, epochs = 1, shuffle = true, diverge_factor = 100}

--- Runner settings: how a point is run, never what it computes, so they are
-- not parameters, not part of a point's identity and never a grid axis.
-- `--set checkpoint_seconds=0` sets one as it sets a parameter.
local SETTINGS = {checkpoint_seconds = 1}
experiment.SETTINGS = SETTINGS

local function is_int(v) return math.type(v) == "integer" or (type(v) == "number" and v == math.floor(v) and v == v
  and v > -math.huge and v < math.huge) end

--- The parameters the runner itself reads: nil when v is fine, else what it must be.
local RULES = {
  seed = function(v) return not (is_int(v) and v >= 0) and "an integer >= 0" or nil end,
  epochs = function(v) return not (is_int(v) and v >= 1) and "an integer >= 1" or nil end,
  batch = function(v) return not (v == "full" or (is_int(v) and v >= 1)) and 'an integer >= 1 or "full"' or nil end,
  shuffle = function(v) return type(v) ~= "boolean" and "true or false" or nil end,
  diverge_factor = function(v)
    return not (type(v) == "number" and v > 0 and v < math.huge) and "a finite number > 0" or nil
  end,
  checkpoint_seconds = function(v)
    return not (type(v) == "number" and v >= 0 and v < math.huge) and "a finite number >= 0" or nil
  end,
}

local function fail(msg) error(msg, 3) end

local function check_value(where, v)
  local t = type(v)
  if t ~= "number" and t ~= "string" and t ~= "boolean" then
    fail(("%s: a parameter is a number, string or boolean, got %s"):format(where, t))
  end
  if t == "number" and v ~= v then fail(where .. ": a parameter cannot be NaN") end
  if t == "string" and v:find("%c") then
    fail(where .. ": a value cannot contain control characters (tab, newline, ...)")
  end
end

local function check_rule(where, key, v)
  local want = RULES[key] and RULES[key](v)
  if want then fail(("%s: %s must be %s, got %s"):format(where, key, want, tsv.value(v))) end
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
    if SETTINGS[k] ~= nil then
      fail(("experiment: %s is a runner setting, not a parameter (use settings = {%s = ...})"):format(k, k))
    end
    check_rule("experiment: params", k, v)
    params[k] = v
  end
  local settings = {}
  for k, v in pairs(SETTINGS) do settings[k] = v end
  for k, v in pairs(decl.settings or {}) do
    if SETTINGS[k] == nil then fail(("experiment: settings.%s is not a runner setting"):format(tostring(k))) end
    check_rule("experiment: settings", k, v)
    settings[k] = v
  end
  for axis, values in pairs(decl.grid or {}) do
    if params[axis] == nil then fail(("experiment: grid axis '%s' is not a parameter"):format(axis)) end
    if type(values) ~= "table" or #values == 0 then
      fail(("experiment: grid axis '%s' needs a list of values"):format(axis))
    end
    for _, v in ipairs(values) do
      check_value("experiment: grid." .. axis, v)
      check_rule("experiment: grid", axis, v)
    end
  end
  for k, v in pairs(decl.quick or {}) do
    if params[k] == nil then fail(("experiment: quick.%s is not a parameter"):format(k)) end
    check_value("experiment: quick." .. k, v)
    check_rule("experiment: quick", k, v)
  end
  if decl.name ~= nil and (type(decl.name) ~= "string" or decl.name == "" or decl.name:find("%c")) then
    fail("experiment: name must be a string without control characters")
  end
  decl.params = params
  decl.settings = settings
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
  if s:find("%c") then
    return nil, ("--set %s: a value cannot contain control characters (tab, newline, ...)"):format(key)
  end
  local t = type(default)
  local v, err
  if key == "batch" then
    v = s == "full" and s or tonumber(s) or s -- the rule below says what it must be
  elseif t == "number" then
    v = tonumber(s)
    if not v or v ~= v then return nil, ("--set %s: '%s' is not a number"):format(key, s) end
  elseif t == "boolean" then
    if s == "true" then v = true elseif s == "false" then v = false
    else return nil, ("--set %s: '%s' is not true or false"):format(key, s) end
  else
    v = s
  end
  err = RULES[key] and RULES[key](v)
  if err then return nil, ("--set %s=%s: %s must be %s"):format(key, s, key, err) end
  return v
end

--- Applies "key=value[,value...]" settings: one value sets the parameter,
-- several make (or replace) a grid axis; a runner setting takes one value.
-- Returns params, axes, settings or nil, message.
function Experiment:resolve(sets, quick)
  local params, axes, settings = {}, {}, {}
  for k, v in pairs(self.params) do params[k] = v end
  for k, v in pairs(self.settings) do settings[k] = v end
  if quick then
    for k, v in pairs(self.quick) do params[k] = v end
  end
  for k, v in pairs(self.grid) do axes[k] = v end
  for _, s in ipairs(sets or {}) do
    local key, list = s:match("^([%w_]+)=(.+)$")
    if not key then return nil, ("--set '%s': expected key=value[,value...]"):format(s) end
    if settings[key] ~= nil then
      local v, err = parse_value(key, list, settings[key])
      if v == nil then return nil, err end
      settings[key] = v
    elseif params[key] == nil then
      local known = {}
      for k in pairs(params) do known[#known + 1] = k end
      table.sort(known)
      return nil, ("--set %s: unknown parameter (known: %s)"):format(key, table.concat(known, ", "))
    else
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
  end
  return params, axes, settings
end

local function axis_names(axes)
  local names = {}
  for k in pairs(axes) do names[#names + 1] = k end
  table.sort(names)
  return names
end
experiment.axis_names = axis_names

--- The grid's points, in order: {index (0-based), name, params, axes}, and
-- the grid: {name (its folder's), params, axes, settings, quick}.
function Experiment:points(sets, quick)
  local params, axes, settings = self:resolve(sets, quick)
  if not params then return nil, axes end
  local base = {}
  for k, v in pairs(self.params) do base[k] = v end
  if quick then
    for k, v in pairs(self.quick) do base[k] = v end
  end
  local grid = {name = rundir.grid_name(self.name or "experiment", quick, base, self.grid, params, axes),
                params = params, axes = axes, settings = settings, quick = quick and true or false}
  local names = axis_names(axes)
  local points = {}
  local function expand(i, chosen)
    if i > #names then
      local p = {}
      for k, v in pairs(params) do p[k] = v end
      for _, name in ipairs(names) do p[name] = chosen[name] end
      points[#points + 1] = {index = #points, name = rundir.point_name(names, chosen), params = p, axes = names}
      return
    end
    for _, v in ipairs(axes[names[i]]) do
      chosen[names[i]] = v
      expand(i + 1, chosen)
    end
  end
  expand(1, {})
  return points, grid
end

return experiment
