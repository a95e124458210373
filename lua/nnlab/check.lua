--- Argument checks shared by the library: each failure names the function
-- and the argument, as Lua's own "bad argument #n to 'f' (...)" does.
local check = {}

local function fail(fname, arg, msg, level)
  error(("bad argument %s to '%s' (%s)"):format(arg, fname, msg), (level or 1) + 2)
end
check.fail = fail

local function describe(v)
  if type(v) == "number" then
    if v ~= v then return "nan" end
    return tostring(v)
  end
  return type(v)
end
check.describe = describe

--- An integer >= min (and <= max when given).
function check.int(fname, arg, name, v, min, max)
  if math.type(v) ~= "integer" and not (type(v) == "number" and v == math.floor(v) and v == v
      and v > -math.huge and v < math.huge) then
    fail(fname, arg, ("%s must be an integer, got %s"):format(name, describe(v)), 2)
  end
  local iv = math.tointeger(v)
  if iv == nil then -- an integer-valued float of 2^63 or more
    fail(fname, arg, ("%s must be an integer %s, got %s"):format(name,
      max and ("in %d..%d"):format(min, max) or (">= %d"):format(min or math.mininteger), describe(v)), 2)
  end
  v = iv
  if (min and v < min) or (max and v > max) then
    local range = max and ("in %d..%d"):format(min, max) or (">= %d"):format(min)
    fail(fname, arg, ("%s must be an integer %s, got %d"):format(name, range, v), 2)
  end
  return v
end

--- A finite number, > lo (or >= lo when inclusive) when lo is given.
function check.number(fname, arg, name, v, lo, inclusive, hi)
  if type(v) ~= "number" or v ~= v or v == math.huge or v == -math.huge then
    fail(fname, arg, ("%s must be a finite number, got %s"):format(name, describe(v)), 2)
  end
  if lo and ((inclusive and v < lo) or (not inclusive and v <= lo)) then
    fail(fname, arg, ("%s must be %s %s, got %s"):format(name, inclusive and ">=" or ">", lo, v), 2)
  end
  if hi and v > hi then
    fail(fname, arg, ("%s must be <= %s, got %s"):format(name, hi, v), 2)
  end
  return v
end

function check.boolean(fname, arg, name, v)
  if type(v) ~= "boolean" then
    fail(fname, arg, ("%s must be true or false, got %s"):format(name, describe(v)), 2)
  end
  return v
end

function check.oneof(fname, arg, name, v, choices)
  for _, c in ipairs(choices) do
    if v == c then return v end
  end
  fail(fname, arg, ("%s must be one of %s, got %s"):format(name, table.concat(choices, ", "),
    type(v) == "string" and ("'" .. v .. "'") or describe(v)), 2)
end

--- A table of named options where only the keys in `allowed` may appear.
function check.options(fname, arg, opts, allowed)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    fail(fname, arg, ("options must be a table, got %s"):format(describe(opts)), 2)
  end
  for k in pairs(opts) do
    if not allowed[k] then
      local names = {}
      for name in pairs(allowed) do names[#names + 1] = name end
      table.sort(names)
      fail(fname, arg, ("unknown option '%s' (known: %s)"):format(tostring(k), table.concat(names, ", ")), 2)
    end
  end
  return opts
end

--- A userdata of the given metatable name.
function check.is(fname, arg, name, v, mtname, what)
  local mt = getmetatable(v)
  if type(v) ~= "userdata" or mt ~= debug.getregistry()[mtname] then
    fail(fname, arg, ("%s must be %s, got %s"):format(name, what, tostring(v)), 2)
  end
  return v
end

return check
