--- Small TSV files: key/value files and tables with a header row, written
-- atomically by nnlab.atomic.
local atomic = require("nnlab.atomic")

local tsv = {}

--- The shortest decimal form of a number that reads back as the same number.
function tsv.number(v)
  if math.type(v) == "integer" then return ("%d"):format(v) end
  if v ~= v then return "nan" end
  if v == math.huge then return "inf" end
  if v == -math.huge then return "-inf" end
  for digits = 6, 17 do
    local s = ("%." .. digits .. "g"):format(v)
    if tonumber(s) == v then return s end
  end
  return ("%.17g"):format(v)
end

function tsv.value(v)
  if type(v) == "number" then return tsv.number(v) end
  return tostring(v)
end

--- A measured figure: integers as they are, other numbers to 8 significant digits.
function tsv.figure(v)
  if type(v) == "number" and math.type(v) == "float" and v == v and v ~= math.huge and v ~= -math.huge then
    return ("%.8g"):format(v)
  end
  return tsv.value(v)
end

--- Reads a value written by tsv.value back: numbers, booleans, strings.
function tsv.parse(s)
  if s == "true" then return true end
  if s == "false" then return false end
  if s == "nan" then return 0 / 0 end
  if s == "inf" then return math.huge end
  if s == "-inf" then return -math.huge end
  return tonumber(s) or s
end

--- Kept for callers of the earlier name: nnlab.atomic.write.
tsv.write_atomic = atomic.write

--- keys in order (sorted when not given) -> "key\tvalue\n" lines; fmt
-- formats the values (tsv.value by default)
function tsv.write_kv(path, t, keys, fmt)
  fmt = fmt or tsv.value
  if not keys then
    keys = {}
    for k in pairs(t) do keys[#keys + 1] = k end
    table.sort(keys)
  end
  local lines = {}
  for _, k in ipairs(keys) do
    if t[k] ~= nil then lines[#lines + 1] = k .. "\t" .. fmt(t[k]) end
  end
  atomic.write(path, table.concat(lines, "\n") .. "\n")
end

--- path -> table, ordered key list; nil, message when the file cannot be read
function tsv.read_kv(path)
  local f, err = io.open(path, "r")
  if not f then return nil, err end
  local t, keys = {}, {}
  for line in f:lines() do
    local k, v = line:match("^([^\t]+)\t(.*)$")
    if k then
      t[k] = tsv.parse(v)
      keys[#keys + 1] = k
    end
  end
  f:close()
  return t, keys
end

--- columns (names) and rows (lists of values) -> a TSV table with a header;
-- fmt formats the values (tsv.value by default)
function tsv.write_table(path, columns, rows, fmt)
  fmt = fmt or tsv.value
  local lines = {table.concat(columns, "\t")}
  for _, row in ipairs(rows) do
    local cells = {}
    for i = 1, #columns do
      local v = row[i]
      cells[i] = v == nil and "" or fmt(v)
    end
    lines[#lines + 1] = table.concat(cells, "\t")
  end
  atomic.write(path, table.concat(lines, "\n") .. "\n")
end

--- path -> columns, rows (each row a table keyed by column name)
function tsv.read_table(path)
  local f, err = io.open(path, "r")
  if not f then return nil, err end
  local columns, rows
  for line in f:lines() do
    local cells = {}
    for cell in (line .. "\t"):gmatch("([^\t]*)\t") do cells[#cells + 1] = cell end
    if not columns then
      columns = cells
    else
      local row = {}
      for i, name in ipairs(columns) do
        if cells[i] and cells[i] ~= "" then row[name] = tsv.parse(cells[i]) end
      end
      rows[#rows + 1] = row
    end
    rows = rows or {}
  end
  f:close()
  return columns or {}, rows or {}
end

return tsv
