--- Experiment declarations and their parameter grids.
--
-- An experiment file returns nn.experiment{...}: a name, default parameters,
-- a grid (axis name -> list of values), a `quick` variant of the parameters,
-- and functions of the parameters that build the data, the model, the loss
-- and the optimizer (model(p, data) also gets the table data(p) returned, to
-- fit nn.Normalize on data.train). Training settings are parameters too (batch, epochs,
-- shuffle), so a grid point is a plain table and a run a pure function of it.
local core = require("nnlab.core")
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

--- The keys a declaration may have; any other is an error naming it.
local KEYS = {name = true, params = true, grid = true, quick = true, settings = true, data = true, model = true,
              loss = true, optimizer = true, after = true, on_epoch = true, repeats = true, search = true,
              early_stop = true, prune = true}

--- The training-history columns an early stop or a pruning rung can watch,
-- and whether a larger value is better.
local WATCHED = {val_accuracy = true, train_accuracy = true, val_loss = false, loss = false, cost = false}
experiment.WATCHED = WATCHED

---------------------------------------------------------------- ranges

--- "log:a:b:n", "lin:a:b:n" or "int:a:b:n" -> n values from a to b, evenly
-- spaced in log, linearly, or linearly and rounded to integers (repeated
-- integers dropped); the ends are exactly a and b. nil when s is no range;
-- nil, message when it is a malformed one.
function experiment.range(s)
  local kind, rest = tostring(s):match("^(%a+):(.*)$")
  if kind ~= "log" and kind ~= "lin" and kind ~= "int" then return nil end
  local a, b, n = rest:match("^([^:]+):([^:]+):([^:]+)$")
  a, b, n = tonumber(a), tonumber(b), math.tointeger(tonumber(n))
  if not (a and b and n and a == a and b == b) or a == math.huge or b == math.huge or a == -math.huge
      or b == -math.huge then
    return nil, ("'%s': a range is %s:FROM:TO:COUNT with numbers"):format(s, kind)
  end
  if n < 2 then return nil, ("'%s': a range needs a COUNT of 2 or more"):format(s) end
  if kind == "log" and (a <= 0 or b <= 0) then
    return nil, ("'%s': a log range needs FROM and TO > 0"):format(s)
  end
  if kind == "int" and (math.floor(a) ~= a or math.floor(b) ~= b) then
    return nil, ("'%s': an int range needs integer FROM and TO"):format(s)
  end
  local values, seen = {}, {}
  for i = 0, n - 1 do
    local v
    if i == 0 then v = a + 0.0
    elseif i == n - 1 then v = b + 0.0
    elseif kind == "log" then v = math.exp(math.log(a) + i * (math.log(b) - math.log(a)) / (n - 1))
    else v = a + i * (b - a) / (n - 1) end
    if kind == "int" then
      v = math.tointeger(math.floor(v + 0.5))
      if not seen[v] then seen[v] = true; values[#values + 1] = v end
    else
      values[#values + 1] = v
    end
  end
  return values
end

---------------------------------------------------------------- search spaces

local Space = {}
Space.__index = Space

local function space(kind, t) t.kind = kind; return setmetatable(t, Space) end

local function finite(v) return type(v) == "number" and v == v and v > -math.huge and v < math.huge end

--- Search spaces: values drawn uniformly (in log for log_uniform).
function experiment.log_uniform(a, b)
  if not (finite(a) and finite(b) and a > 0 and b > a) then
    error("log_uniform(a, b): expected 0 < a < b", 2)
  end
  return space("log_uniform", {a = a, b = b, log = true})
end

function experiment.uniform(a, b)
  if not (finite(a) and finite(b) and b > a) then error("uniform(a, b): expected a < b", 2) end
  return space("uniform", {a = a, b = b})
end

function experiment.int_uniform(a, b)
  if not (math.tointeger(a) and math.tointeger(b) and b >= a) then
    error("int_uniform(a, b): expected integers a <= b", 2)
  end
  return space("int_uniform", {a = math.tointeger(a), b = math.tointeger(b)})
end

function experiment.choice(list)
  if type(list) ~= "table" or #list == 0 then error("choice{...}: expected a list of values", 2) end
  for _, v in ipairs(list) do check_value("choice", v) end
  -- a choice of positive numbers spanning two decades or more is plotted on a log axis
  local lo, hi = math.huge, 0
  for _, v in ipairs(list) do
    if type(v) == "number" and v > 0 then lo, hi = math.min(lo, v), math.max(hi, v) end
  end
  return space("choice", {values = {table.unpack(list)}, log = hi >= 100 * lo})
end

--- 53 uniform bits in [0, 1) from a 32-bit seed, through splitmix64: pure
-- integer arithmetic, the same in every process on every machine.
local function uniform01(seed)
  local z = (seed + 0x9E3779B97F4A7C15)
  z = (z ~ (z >> 30)) * 0xBF58476D1CE4E5B9
  z = (z ~ (z >> 27)) * 0x94D049BB133111EB
  z = z ~ (z >> 31)
  return (z >> 11) * 2.0 ^ -53
end

--- Trial i's value of parameter key: a function of the root seed, i and key
-- only, so that a longer search keeps the first trials and a new parameter
-- leaves the others' values alone.
function Space:draw(root, i, key)
  local u = uniform01(core.crc32(("search\0%d\0%d\0%s"):format(root, i, key)))
  if self.kind == "log_uniform" then return math.exp(math.log(self.a) + u * (math.log(self.b) - math.log(self.a))) end
  if self.kind == "uniform" then return self.a + u * (self.b - self.a) end
  if self.kind == "int_uniform" then return math.min(self.b, self.a + math.floor(u * (self.b - self.a + 1))) end
  return self.values[math.min(#self.values, 1 + math.floor(u * #self.values))]
end

experiment.is_space = function(v) return getmetatable(v) == Space end

--- Replicate r's seed: the root seed for replicate 0, else a hash of both.
function experiment.replicate_seed(root, r)
  if r == 0 then return root end
  return core.crc32(("replicate\0%d\0%d"):format(root, r)) & 0x7fffffff
end

local function check_positive_int(where, v)
  if not (math.tointeger(v) and v >= 1) then
    fail(("%s must be an integer >= 1, got %s"):format(where, tsv.value(v)))
  end
  return math.tointeger(v)
end

local function check_watched(where, t, allowed)
  if type(t) ~= "table" then fail(where .. " must be a table") end
  for k in pairs(t) do
    if not allowed[k] then fail(("%s.%s is not a key of %s"):format(where, tostring(k), where)) end
  end
  if WATCHED[t.metric] == nil then
    local names = {}
    for k in pairs(WATCHED) do names[#names + 1] = k end
    table.sort(names)
    fail(("%s.metric must be one of %s, got %s"):format(where, table.concat(names, ", "), tostring(t.metric)))
  end
end

--- Validates a declaration and fills in the defaults.
function experiment.define(decl)
  if type(decl) ~= "table" then fail("experiment: expected a table") end
  for k in pairs(decl) do
    if not KEYS[k] then
      local known = {}
      for name in pairs(KEYS) do known[#known + 1] = name end
      table.sort(known)
      fail(("experiment: unknown key '%s' (known: %s)"):format(tostring(k), table.concat(known, ", ")))
    end
  end
  for _, fn in ipairs{"data", "model", "optimizer"} do
    if type(decl[fn]) ~= "function" then fail(("experiment: '%s' must be a function of the parameters"):format(fn)) end
  end
  for _, fn in ipairs{"loss", "after", "on_epoch"} do
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
    if type(values) == "string" then
      local list, err = experiment.range(values)
      if not list then fail(("experiment: grid axis '%s': %s"):format(axis, err or "expected a list or a range")) end
      values = list
      decl.grid[axis] = list
    end
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
  if decl.repeats ~= nil then decl.repeats = check_positive_int("experiment: repeats", decl.repeats) end
  if decl.search ~= nil then
    local sr = decl.search
    if type(sr) ~= "table" then fail("experiment: search must be a table") end
    for k in pairs(sr) do
      if k ~= "kind" and k ~= "n" and k ~= "space" then
        fail(("experiment: search.%s is not a key of search"):format(k))
      end
    end
    if sr.kind ~= "random" then fail('experiment: search.kind must be "random"') end
    sr.n = check_positive_int("experiment: search.n", sr.n)
    if type(sr.space) ~= "table" or next(sr.space) == nil then fail("experiment: search.space needs parameters") end
    for k, sp in pairs(sr.space) do
      if params[k] == nil then fail(("experiment: search.space.%s is not a parameter"):format(tostring(k))) end
      if getmetatable(sp) ~= Space then
        fail(("experiment: search.space.%s must be nn.log_uniform, nn.uniform, nn.int_uniform or nn.choice")
          :format(k))
      end
      if decl.grid and decl.grid[k] then fail(("experiment: %s is both a grid axis and searched"):format(k)) end
    end
  end
  if decl.early_stop ~= nil then
    local es = decl.early_stop
    check_watched("experiment: early_stop", es, {metric = true, patience = true, min_delta = true})
    es.patience = check_positive_int("experiment: early_stop.patience", es.patience)
    es.min_delta = es.min_delta or 0
    if not (finite(es.min_delta) and es.min_delta >= 0) then
      fail("experiment: early_stop.min_delta must be a finite number >= 0")
    end
  end
  if decl.prune ~= nil then
    local pr = decl.prune
    check_watched("experiment: prune", pr, {metric = true, rungs = true, eta = true})
    if type(pr.rungs) ~= "table" or #pr.rungs < 2 then fail("experiment: prune.rungs needs two epochs or more") end
    for i, r in ipairs(pr.rungs) do
      pr.rungs[i] = check_positive_int("experiment: prune.rungs[" .. i .. "]", r)
      if i > 1 and pr.rungs[i] <= pr.rungs[i - 1] then fail("experiment: prune.rungs must increase") end
    end
    pr.eta = pr.eta or 3
    if not (math.tointeger(pr.eta) and pr.eta >= 2) then fail("experiment: prune.eta must be an integer >= 2") end
    if decl.early_stop then fail("experiment: early_stop and prune together are not supported") end
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
        local range, rerr
        if type(params[key]) == "number" then range, rerr = experiment.range(item) end
        if rerr then return nil, ("--set %s: %s"):format(key, rerr) end
        for _, v in ipairs(range or {}) do
          local err = RULES[key] and RULES[key](v)
          if err then return nil, ("--set %s=%s: %s must be %s"):format(key, item, key, err) end
          values[#values + 1] = v
        end
        if not range then
          local v, err = parse_value(key, item, params[key])
          if v == nil then return nil, err end
          values[#values + 1] = v
        end
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

--- The configurations of a random search: trial i (0-based) of n, its
-- values drawn from the root seed (see Space:draw).
local function search_points(self, params)
  local keys = {}
  for k in pairs(self.search.space) do keys[#keys + 1] = k end
  table.sort(keys)
  local list = {}
  for i = 0, self.search.n - 1 do
    local p = {}
    for k, v in pairs(params) do p[k] = v end
    for _, k in ipairs(keys) do p[k] = self.search.space[k]:draw(params.seed, i, k) end
    list[#list + 1] = {name = ("trial=%03d"):format(i), params = p, axes = keys}
  end
  return list
end

--- The grid's points, in order: {index (0-based), name, params, axes,
-- config (the configuration's name, shared by its replicates)}, and the
-- grid: {name (its folder's), params, axes, settings, quick, repeats,
-- search}. repeats (--repeats) overrides the declaration's; with K > 1
-- repeats each configuration is K points, replicate r (parameter
-- `replicate`) with the seed experiment.replicate_seed(seed, r).
function Experiment:points(sets, quick, repeats)
  local params, axes, settings = self:resolve(sets, quick)
  if not params then return nil, axes end
  if repeats ~= nil and not (math.tointeger(repeats) and repeats >= 1) then
    return nil, "--repeats: expected an integer >= 1"
  end
  local k = math.tointeger(repeats or self.repeats or 1)
  if k > 1 and axes.seed then
    return nil, "seed cannot be a grid axis with repeats: the replicates' seeds are derived from it"
  end
  if self.search then
    for key in pairs(axes) do
      if self.search.space[key] then return nil, ("--set %s: a searched parameter cannot be an axis"):format(key) end
    end
    if next(axes) then return nil, "a random search cannot have grid axes" end
  end
  local base = {}
  for key, v in pairs(self.params) do base[key] = v end
  if quick then
    for key, v in pairs(self.quick) do base[key] = v end
  end
  local name = rundir.grid_name(self.name or "experiment", quick, base, self.grid, params, axes)
  if repeats and repeats ~= (self.repeats or 1) then name = rundir.component(name .. "+repeats=" .. k) end
  local grid = {name = name, params = params, axes = axes, settings = settings, quick = quick and true or false,
                repeats = k, search = self.search}
  if self.prune and params.epochs ~= self.prune.rungs[#self.prune.rungs] then
    return nil, ("prune.rungs must end at the epochs parameter (%d), got %d"):format(params.epochs,
      self.prune.rungs[#self.prune.rungs])
  end
  local configs = {}
  if self.search then
    configs = search_points(self, params)
  else
    local names = axis_names(axes)
    -- point names show values to 4 significant digits where that keeps them apart
    local short = {}
    for _, a in ipairs(names) do
      local seen, ok = {}, true
      for _, v in ipairs(axes[a]) do
        local s = rundir.short(v)
        if seen[s] then ok = false end
        seen[s] = true
      end
      short[a] = ok
    end
    local function expand(i, chosen)
      if i > #names then
        local p = {}
        for key, v in pairs(params) do p[key] = v end
        for _, a in ipairs(names) do p[a] = chosen[a] end
        configs[#configs + 1] = {name = rundir.point_name(names, chosen, short), params = p, axes = names}
        return
      end
      for _, v in ipairs(axes[names[i]]) do
        chosen[names[i]] = v
        expand(i + 1, chosen)
      end
    end
    expand(1, {})
  end
  local points = {}
  for _, c in ipairs(configs) do
    if k == 1 then
      points[#points + 1] = {index = #points, name = c.name, params = c.params, axes = c.axes, config = c.name}
    else
      for r = 0, k - 1 do
        local p = {}
        for key, v in pairs(c.params) do p[key] = v end
        p.seed, p.replicate = experiment.replicate_seed(c.params.seed, r), r
        local pname = rundir.component((c.name == "default" and "" or c.name .. ",") .. ("rep=%d"):format(r))
        points[#points + 1] = {index = #points, name = pname, params = p, axes = c.axes, config = c.name}
      end
    end
  end
  return points, grid
end

return experiment
