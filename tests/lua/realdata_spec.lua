-- Real-valued data (issue 14): features and regression targets from tensors,
-- Lua tables and CSV files, trained and evaluated on every path.
local helper = require("helper")
local nn = helper.nn

local function near(a, b, tol)
  return math.abs(a - b) <= (tol or 1e-6)
end

describe("a dataset of real-valued features", function()
  it("keeps values that are not pixels as they are, from a Lua table of rows", function()
    local ds = nn.dataset{x = {{0.69, -1.5}, {2.25, 1e3}}, y = {0, 1}, classes = 2}
    assert.are.equal("features", ds:kind())
    assert.are.equal(2, ds:features())
    local x = ds:images(1, 2):totable()
    assert.is_true(near(x[1][1], 0.69) and near(x[1][2], -1.5) and near(x[2][2], 1000))
    assert.are.same({0, 1}, ds:labels():totable())
    -- bytes stay pixels, scaled by 1/255, unless told they are features
    assert.are.equal("pixels", nn.dataset{x = {{255}}, y = {0}}:kind())
    assert.is_true(near(nn.dataset{x = {{255}}, y = {0}}:images(1, 1):get(1, 1), 1))
    assert.are.equal(255, nn.dataset{x = {{255}}, y = {0}, kind = "features"}:images(1, 1):get(1, 1))
    assert.has_error(function() nn.dataset{x = {{0.5}}, y = {0}, kind = "pixels"} end,
      "bad argument #1 to 'dataset' (pixel 1 is 0.5, expected an integer in 0..255)")
    assert.has_error(function() nn.dataset{x = {{0 / 0}}, y = {0}} end,
      "bad argument #1 to 'dataset' (value 1 of x is not finite)")
    assert.has_error(function() nn.dataset{x = {{1}, {2, 3}}, y = {0, 1}} end,
      "bad argument #1 to 'dataset' (x: ragged table: a row at depth 2 has 2 entries, expected 1)")
    assert.has_error(function() nn.dataset{x = {{1}}, y = {0.5}} end,
      "bad argument #1 to 'dataset' (label 1 is 0.5, expected a class in 0..9 (targets = true takes real-valued " ..
      "targets))")
  end)

  it("takes labels one a row (N or N x 1), not rows of several", function()
    local x = {{1, 2}, {3, 4}, {5, 6}, {7, 8}}
    -- one-hot rows for 2 items were read as the labels of 4
    assert.has_error(function() nn.dataset{x = x, y = {{0, 1}, {1, 0}}, kind = "features"} end,
      "bad argument #1 to 'dataset' (y is 2 x 2 for 4 items: labels are one a row, N or N x 1 (targets = true takes "
      .. "rows of real-valued targets))")
    assert.has_error(function() nn.dataset{x = x, y = nn.tensor{{0, 1, 1, 0}}, kind = "features"} end,
      "bad argument #1 to 'dataset' (y is 1 x 4 for 4 items: labels are one a row, N or N x 1 (targets = true takes "
      .. "rows of real-valued targets))")
    assert.are.equal(4, nn.dataset{x = x, y = nn.tensor{{0}, {1}, {1}, {0}}, kind = "features"}:size())
  end)

  it("with real-valued targets trains a regression of several outputs", function()
    nn.seed(4)
    local rows, targets = {}, {}
    for i = 1, 64 do
      local a, b = (i % 8) / 4 - 1, (i // 8) / 4 - 1
      rows[i] = {a, b}
      targets[i] = {2 * a - b + 0.5, a + b}
    end
    local ds = nn.dataset{x = rows, y = targets, targets = true}
    assert.are.equal(2, ds:targets())
    assert.are.same({64, 2}, ds:labels():shape())
    local train, val = ds:split{48, 16}
    local m = nn.Sequential{nn.Linear(2, 2)}
    local h = nn.train{model = m, loss = nn.MSELoss(), optimizer = nn.SGD{lr = 0.3, momentum = 0.5}, data = train,
                       validation = val, batch = 8, epochs = 100, verbose = false}
    assert.is_true(h.val_loss[100] < 1e-6, tostring(h.val_loss[100]))
    local r = nn.evaluate(m, val, {loss = nn.MSELoss()})
    assert.is_true(r.mse < 1e-6 and r.mae < 1e-3, ("%g %g"):format(r.mse, r.mae))
    assert.are.equal(1, r.accuracy)
    assert.is_nil(r.confusion)
    local w = m:parameters():totable()
    assert.is_true(near(w[1], 2, 1e-3) and near(w[2], 1, 1e-3) and near(w[3], -1, 1e-3) and near(w[5], 0.5, 1e-3))
    -- backpropagation agrees with the numerical gradient on targets
    local rel = nn.gradcheck{model = nn.Sequential{nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2)}, loss = nn.MSELoss(),
                             data = ds:subset(1, 10)}
    assert.is_true(rel < 1e-5, tostring(rel))
    assert.has_error(function()
      nn.train{model = nn.Sequential{nn.Linear(2, 3)}, loss = nn.MSELoss(), optimizer = nn.SGD{lr = 0.1}, data = ds,
               verbose = false}
    end, "the model gives 3 outputs but the data's items have 2 targets")
  end)

  it("with one real-valued target evaluates MSE and MAE", function()
    local ds = nn.dataset{x = {{1}, {2}, {3}}, y = {1.5, 2.5, 4}, targets = true}
    local m = nn.Sequential{nn.Linear(1, 1, {init = "zeros"})}
    local r = nn.evaluate(m, ds, {loss = nn.MSELoss()})
    assert.is_true(near(r.mse, (1.5 ^ 2 + 2.5 ^ 2 + 16) / 3, 1e-5))
    assert.is_true(near(r.mae, 8 / 3, 1e-6))
    assert.are.equal(0, r.accuracy)
  end)
end)

describe("nn.csv", function()
  local dir
  setup(function() dir = helper.tmpdir() end)
  teardown(function() os.execute("rm -rf " .. dir) end)

  local function csv(name, text)
    local path = dir .. "/" .. name
    helper.write(path, text)
    return path
  end

  it("reads quoted fields, CRLF lines and class names", function()
    local path = csv("a.csv", '"x, first",y,label\r\n1.5,"2",b\r\n"-3e2", 4 ,a\r\n\r\n0,0,"b"\n')
    local ds, names = nn.csv{path = path, label = "label"}
    assert.are.same({"a", "b"}, names)
    assert.are.equal(3, ds:size())
    assert.are.same({1, 0, 1}, ds:labels():totable())
    local x = ds:images(1, 3):totable()
    assert.are.same({{1.5, 2}, {-300, 4}, {0, 0}}, x)
    -- by index, numeric classes, another separator, no header
    ds = nn.csv{path = csv("b.csv", "1;2;0\n3;4;2\n"), label = 3, sep = ";", header = false}
    assert.are.equal(3, ds:classes())
    assert.are.same({0, 2}, ds:labels():totable())
    -- names without the blanks around them, as numbers are read
    ds, names = nn.csv{path = csv("c.csv", "a,y\n1,cat\n2, cat\n3,cat \n4, dog\n")}
    assert.are.same({"cat", "dog"}, names)
    assert.are.same({0, 0, 0, 1}, ds:labels():totable())
  end)

  it("reads real-valued targets from one or several columns", function()
    local path = csv("r.csv", "a,b,t1,t2\n1,2,0.5,7\n3,4,1.5,8\n")
    local ds = nn.csv{path = path, label = {"t1", "t2"}, targets = true}
    assert.are.same({{0.5, 7}, {1.5, 8}}, ds:labels():totable())
    assert.are.same({{1, 2}, {3, 4}}, ds:images(1, 2):totable())
    ds = nn.csv{path = path, label = "t1", targets = true}
    assert.are.same({{0.5}, {1.5}}, ds:labels():totable())
    assert.are.equal(3, ds:features())
  end)

  it("refuses missing, non-numeric, empty and header-only files, naming the line and column", function()
    local p = csv("m.csv", "a,b,c\n1,2,0\n3,,1\n")
    assert.has_error(function() nn.csv{path = p} end, p .. ": line 3, column 2 (b): missing value")
    p = csv("n.csv", "a,b,c\n1,2,0\n3,x4,1\n")
    assert.has_error(function() nn.csv{path = p} end, p .. ": line 3, column 2 (b): 'x4' is not a number")
    p = csv("e.csv", "")
    assert.has_error(function() nn.csv{path = p} end, p .. ": empty file, no records")
    p = csv("h.csv", "a,b,c\n")
    assert.has_error(function() nn.csv{path = p} end, p .. ": a header and no data records")
    p = csv("f.csv", "a,b,c\n1,2\n")
    assert.has_error(function() nn.csv{path = p} end, p .. ": line 2 has 2 fields, the first record has 3")
    p = csv("q.csv", 'a,b\n"1,2\n')
    assert.has_error(function() nn.csv{path = p} end, p .. ": line 2: a quoted field is not closed")
    p = csv("ok.csv", "a,b\n1,0\n")
    assert.has_error(function() nn.csv{path = p, label = "z"} end,
      "bad argument #1 to 'csv' (" .. p .. ": no column named 'z')")
    assert.has_error(function() nn.csv{path = p, label = 3} end,
      "bad argument #1 to 'csv' (label must name a column or be its index in 1..2, got 3)")
    assert.has_error(function() nn.csv{path = p, sep = ",,"} end,
      "bad argument #1 to 'csv' (sep must be one character other than a quote or a newline)")
    assert.has_error(function() nn.csv{path = dir .. "/none.csv"} end,
      dir .. "/none.csv: cannot open (No such file or directory)")
    assert.has_error(function() nn.csv{path = dir} end, dir .. ": read error (Is a directory)")
  end)

  it("refuses a label column that mixes classes and names, or holds a number that is not a class", function()
    -- read as names, one stray value would renumber every class (2 would become class 4)
    for _, odd in ipairs{"-1", "256", "1.5"} do
      local p = csv("odd.csv", "a,y\n1,0\n2,1\n3,2\n4,10\n5," .. odd .. "\n")
      assert.has_error(function() nn.csv{path = p} end, p .. ": line 6, column 2: label '" .. odd
        .. "' is a number but not a class (an integer in 0..255; targets = true reads real values)")
    end
    local p = csv("mixed.csv", "a,y\n1,0\n2,cat\n")
    assert.has_error(function() nn.csv{path = p} end, p .. ": line 3, column 2: label 'cat' is a name but line 2's, "
      .. "'0', is a number: a label column holds classes 0..255 or names, not both")
    p = csv("empty_label.csv", "a,y\n1,0\n2,\n")
    assert.has_error(function() nn.csv{path = p} end, p .. ": line 3, column 2: missing label")
    p = csv("blank_label.csv", "a,y\n1,0\n2,   \n3,1\n")
    assert.has_error(function() nn.csv{path = p} end, p .. ": line 3, column 2: missing label")
    -- the label's name twice in the header: which column is meant is not known
    p = csv("twice.csv", "a,y,y\n1,2,1\n1,3,0\n")
    assert.has_error(function() nn.csv{path = p, label = "y"} end, "bad argument #1 to 'csv' (" .. p
      .. ": the header names columns 2 and 3 'y' (give the label's column by its index))")
    local d = nn.csv{path = p, label = 3}
    assert.are.equal(2, d:features())
    -- a scale that would take a value past float range
    p = csv("big.csv", "a,b,y\n3e38,2,1\n1,2,0\n")
    assert.has_error(function() nn.csv{path = p, scale = 10} end,
      "bad argument #1 to 'csv' (scale must be > 0 and keep every value within float range, got 10.0)")
  end)
end)

describe("a grid point on CSV data", function()
  it("has the file's contents in its identity", function()
    local dir = helper.tmpdir()
    local csv = dir .. "/d.csv"
    helper.write(csv, "a,b,y\n0.1,0.2,0\n0.3,0.1,1\n0.5,0.9,0\n0.7,0.4,1\n")
    helper.write(dir .. "/e.lua", ([[
      local nn = require("nnlab")
      return nn.experiment{
        name = "csvgrid", params = {epochs = 2, batch = 2},
        data = function() local d = nn.csv{path = %q, label = "y"}; return {train = d} end,
        model = function() return nn.Sequential{nn.Linear(2, 2)} end,
        optimizer = function() return nn.SGD{lr = 0.1} end,
      }]]):format(csv))
    local run = ("run %s/e.lua --out %s/out --quiet"):format(dir, dir)
    local code, _, stderr = helper.nnlab(run)
    assert.are.equal(0, code, stderr)
    assert.matches("^crc32:%x+$", require("nnlab.tsv").read_kv(dir .. "/out/csvgrid/default/config.tsv").data)
    helper.write(csv, "a,b,y\n0.1,0.2,1\n0.3,0.1,1\n0.5,0.9,0\n0.7,0.4,1\n")
    code, _, stderr = helper.nnlab(run)
    assert.are.equal(2, code)
    assert.matches("data=crc32:%x+ on disk, data=crc32:%x+ asked", stderr)
    os.execute("rm -rf " .. dir)
  end)
end)

describe("the iris study", function()
  it("reads the shipped CSV file and trains to a known figure", function()
    local ds, names = nn.csv{path = helper.root .. "/data/iris/iris.csv", label = "species"}
    assert.are.same({"setosa", "versicolor", "virginica"}, names)
    assert.are.equal(150, ds:size())
    assert.are.equal(4, ds:features())
    nn.seed(1)
    local train, val = ds:split{120, 30}
    local m = nn.Sequential{nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3)}
    nn.train{model = m, loss = nn.CrossEntropyLoss(), optimizer = nn.SGD{lr = 0.05, momentum = 0.9}, data = train,
             batch = 16, epochs = 100, verbose = false}
    assert.is_true(nn.evaluate(m, val).accuracy >= 0.9)
  end)
end)
