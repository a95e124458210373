--- Shared by the specs: the library, the project root, and small IDX files.
local nn = require("nnlab")
local helper = {nn = nn, root = nn.root}

local function u32be(n)
  return string.char((n >> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255)
end

--- Writes an IDX images file (n images of rows x cols, pixel(i, k)) and a labels file.
function helper.write_idx_pair(dir, prefix, n, rows, cols, pixel, label)
  local img = {"\0\0\8\3", u32be(n), u32be(rows), u32be(cols)}
  for i = 1, n do
    local px = {}
    for k = 1, rows * cols do px[k] = string.char(pixel(i, k)) end
    img[#img + 1] = table.concat(px)
  end
  local lab = {"\0\0\8\1", u32be(n)}
  for i = 1, n do lab[#lab + 1] = string.char(label(i)) end
  local f = assert(io.open(dir .. "/" .. prefix .. "-images-idx3-ubyte", "wb"))
  f:write(table.concat(img)); f:close()
  f = assert(io.open(dir .. "/" .. prefix .. "-labels-idx1-ubyte", "wb"))
  f:write(table.concat(lab)); f:close()
end

function helper.tmpdir()
  local p = os.tmpname()
  os.remove(p)
  assert(os.execute("mkdir -p " .. p))
  return p
end

function helper.write(path, bytes)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
end

function helper.read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

--- Runs build/nnlab with arguments (and "NAME=value" environment settings
-- before them); returns exit code, stdout, stderr.
function helper.nnlab(args, env)
  local out, err = os.tmpname(), os.tmpname()
  local ok, _, code = os.execute(("%s %s/build/nnlab %s >%s 2>%s"):format(env or "", helper.root, args, out, err))
  local o, e = helper.read(out), helper.read(err)
  os.remove(out); os.remove(err)
  return ok and 0 or code, o, e
end

--- The folder name of an experiment's grid under --set options given as one
-- string ("--set a=1 --set b=2,3"), as nnlab run names it.
function helper.grid_name(exp_path, set_args, quick)
  local sets = {}
  for s in (set_args or ""):gmatch("%-%-set[ =](%S+)") do sets[#sets + 1] = s end
  local exp = assert(require("nnlab.experiment").load(exp_path))
  local points, grid = exp:points(sets, quick)
  assert(points, grid)
  return grid.name
end

return helper
