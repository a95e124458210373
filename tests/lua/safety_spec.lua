-- Memory and input safety (issue 12): no script reaches freed memory, a
-- view's close leaves its owner alone, sizes never wrap, model files are
-- checked before anything is allocated for them, and MSE on one output
-- column reads its target as values.
local helper = require("helper")
local nn = helper.nn
local core = require("nnlab.core")

local function batch(rows, cols, f)
  local t = {}
  for r = 1, rows do
    t[r] = {}
    for c = 1, cols do t[r][c] = f(r, c) end
  end
  return nn.tensor(t)
end

-- Every use a tensor allows, so that each one is checked.
local USES = {
  get = function(t) return t:get(1, 1) end,
  set = function(t) return t:set(1, 1, 5) end,
  totable = function(t) return t:totable() end,
  sum = function(t) return t:sum() end,
  numel = function(t) return t:numel() end,
  shape = function(t) return t:shape() end,
  clone = function(t) return t:clone() end,
  reshape = function(t) return t:reshape{t:numel()} end,
  argmax = function(t) return t:argmax() end,
  len = function(t) return #t end,
}

local function assert_every_use_fails(t, message)
  for name, use in pairs(USES) do
    local ok, err = pcall(use, t)
    assert.is_false(ok, name)
    assert.matches(message, err, 1, true)
  end
end

local function two_by_two_views(m)
  local x = batch(2, 2, function(r, c) return r + c end)
  local out = m:forward(x)
  local params = m:parameters():reshape{1, m:num_params()}
  assert.is_truthy(params)
  return {parameters = m:parameters(), gradients = m:gradients(), output = out}
end

describe("a view", function()
  it("of a closed model raises an error on every use, whatever its kind", function()
    local m = nn.Sequential{nn.Linear(2, 2)}
    local views = two_by_two_views(m)
    do local mm <close> = m end -- luacheck: ignore 211
    for kind, v in pairs(views) do
      if kind ~= "output" then
        -- 1-D views: get and set take one index
        local ok, err = pcall(v.get, v, 1)
        assert.is_false(ok)
        assert.matches("tensor belongs to a closed model", err, 1, true)
        ok, err = pcall(v.set, v, 1, 3)
        assert.is_false(ok)
        assert.matches("tensor belongs to a closed model", err, 1, true)
      end
      assert_every_use_fails(v, "tensor belongs to a closed model")
    end
    assert.matches("closed", tostring(views.output))
    assert.has_error(function() m:forward(nn.zeros{1, 2}) end,
      "calling 'forward' on bad self (attempt to use a closed model)")
  end)

  it("of a closed loss raises an error", function()
    local loss = nn.MSELoss()
    local g = loss:backward(nn.tensor{{1, 2}}, nn.tensor{{0, 0}})
    assert.are.same({{1, 2}}, g:totable())
    do local l <close> = loss end -- luacheck: ignore 211
    assert_every_use_fails(g, "tensor belongs to a closed loss")
  end)

  it("of a batch kept past its loop raises an error", function()
    local ds = nn.dataset{x = nn.zeros{5, 3}, y = nn.zeros{5}}
    local kept_x, kept_y
    for b in ds:batches{size = 2} do kept_x, kept_y = b.x, b.y end
    assert_every_use_fails(kept_x, "tensor belongs to a closed batch iterator")
    local ok, err = pcall(kept_y.get, kept_y, 1)
    assert.is_false(ok)
    assert.matches("tensor belongs to a closed batch iterator", err, 1, true)
  end)

  it("closed releases that view only", function()
    local m = nn.Sequential{nn.Linear(2, 3)}
    local x = batch(2, 2, function(r, c) return r * c end)
    local expected = m:forward(x):totable()
    do local o <close> = m:forward(x) end -- luacheck: ignore 211
    assert.are.same(expected, m:forward(x):totable())
    do local p <close> = m:parameters() end -- luacheck: ignore 211
    assert.are.equal(9, m:parameters():numel())
    do local g <close> = m:gradients() end -- luacheck: ignore 211
    assert.are.equal(9, m:gradients():numel())
    local closed = m:forward(x)
    getmetatable(closed).__close(closed)
    assert_every_use_fails(closed, "attempt to use a closed tensor")
    assert.are.same(expected, m:forward(x):totable())

    local ds = nn.dataset{x = batch(5, 3, function(r) return r end), y = nn.zeros{5}}
    local sizes = {}
    for b in ds:batches{size = 2} do
      local bx <close> = b.x
      local by <close> = b.y
      sizes[#sizes + 1] = bx:shape()[1] .. "x" .. bx:shape()[2] .. ":" .. by:numel()
    end
    assert.are.same({"2x3:2", "2x3:2", "1x3:1"}, sizes)

    local loss = nn.MSELoss()
    do local g <close> = loss:backward(nn.tensor{{1}}, nn.tensor{{0}}) end -- luacheck: ignore 211
    assert.are.same({{2}}, loss:backward(nn.tensor{{1}}, nn.tensor{{0}}):totable())
  end)
end)

describe("an output fed back as input", function()
  it("gives what two separate copies give", function()
    nn.seed(3)
    local m = nn.Sequential{nn.Linear(3, 3)}
    local x = batch(2, 3, function(r, c) return r - c * 0.5 end)
    local once = m:forward(x):clone()
    local twice_separate = m:forward(once):clone()
    local twice = m:forward(m:forward(x))
    assert.are.same(twice_separate:totable(), twice:totable())
    -- and backward through it uses the input that forward saw
    m:zero_grad()
    m:forward(once)
    m:backward(once, nn.tensor{{1, 0, 0}, {0, 1, 0}})
    local g_separate = m:gradients():clone():totable()
    m:zero_grad()
    local y1 = m:forward(x)
    m:forward(y1)
    m:backward(y1, nn.tensor{{1, 0, 0}, {0, 1, 0}})
    assert.are.same(g_separate, m:gradients():totable())
  end)

  it("as a loss's target gives what a copy gives", function()
    local z, t = nn.tensor{{1, 2, -1}}, nn.tensor{{0.2, 0.3, 0.5}}
    for _, loss in ipairs{nn.MSELoss(), nn.MSELoss{reduction = "sum_per_sample"}} do
      local g = loss:backward(z, t)
      local expected = loss:backward(z, g:clone()):clone():totable()
      g = loss:backward(z, t)
      assert.are.same(expected, loss:backward(z, g):totable())
    end
    -- cross-entropy's gradient (softmax - t) sums to 0: not a distribution, so refused as a target
    local ce = nn.CrossEntropyLoss()
    local g = ce:backward(z, t)
    assert.error_matches(function() ce:backward(z, g) end, "a class distribution")
  end)
end)

describe("backward after training() or evaluate()", function()
  -- It differentiates what the last forward computed, in that forward's mode;
  -- an evaluation forward with Dropout then backward in training crashed.
  it("uses the mode of the last forward", function()
    local x, dy = nn.tensor{{1, 2, 3, 4}, {4, 3, 2, 1}}, nn.tensor{{1, -1}, {0.5, 2}}
    local function grads(m, forward_mode, backward_mode)
      m:zero_grad()
      m[forward_mode](m)
      m:forward(x)
      m[backward_mode](m)
      m:backward(x, dy)
      return m:gradients():totable()
    end
    for _, make in ipairs{
      function() return nn.Sequential{nn.Linear(4, 3), nn.Dropout(0.5), nn.Linear(3, 2)} end,
      function() return nn.Sequential{nn.Linear(4, 3), nn.BatchNorm(3), nn.ReLU(), nn.Linear(3, 2)} end,
      function() return nn.Sequential{nn.Reshape{1, 2, 2}, nn.RandomShift(1), nn.Flatten(), nn.Linear(4, 2)} end,
    } do
      nn.seed(4)
      local m = make()
      local plain = grads(m, "evaluate", "evaluate")
      assert.are.same(plain, grads(m, "evaluate", "training"), tostring(m))
      nn.seed(4)
      m = make()
      local trained = grads(m, "training", "training")
      nn.seed(4)
      m = make()
      assert.are.same(trained, grads(m, "training", "evaluate"), tostring(m))
    end
  end)
end)

describe("sizes", function()
  it("whose product overflows are refused", function()
    assert.has_error(function() nn.zeros{0}:reshape{2 ^ 30, 2 ^ 30, 2 ^ 30} end,
      "bad argument #1 to 'reshape' (a tensor of shape 1073741824x... has more than 2^40 elements)")
    assert.has_error(function() nn.zeros{2 ^ 30, 2 ^ 30, 2 ^ 30} end,
      "bad argument #1 to 'zeros' (a tensor of shape 1073741824x... has more than 2^40 elements)")
    assert.has_error(function() nn.zeros{2 ^ 31} end,
      "bad argument #1 to 'zeros' (dimension 1 must be an integer in 0..2147483647, got 2147483648.0)")
    assert.has_error(function() nn.zeros{0}:reshape{2 ^ 31, 0} end,
      "bad argument #1 to 'reshape' (dimension 1 must be an integer in 0..2147483647, got 2147483648.0)")
  end)

  it("edited in a layer's table after construction are checked again in C", function()
    local l = nn.Linear(3, 3)
    l.in_features = 2 ^ 30
    assert.has_error(function() nn.Sequential{l} end,
      "bad argument #1 to 'sequential' (layer 1: in_features must be an integer in 1..16777216, got 1073741824.0)")
    l.in_features = "abc"
    assert.has_error(function() nn.Sequential{l} end,
      "bad argument #1 to 'sequential' (layer 1: in_features must be an integer in 1..16777216, got string)")
    assert.has_error(function() core.sequential{{kind = "Linear", in_features = "abc"}} end,
      "bad argument #1 to 'sequential' (layer 1: in_features must be an integer in 1..16777216, got string)")
    assert.has_error(function() core.sequential{{kind = "Linear", in_features = 3}} end,
      "bad argument #1 to 'sequential' (layer 1: out_features must be an integer in 1..16777216, got nil)")
    assert.has_error(function() core.sequential{{kind = "Conv"}} end,
      "bad argument #1 to 'sequential' (layer 1: kind must be one of Linear, ReLU, Sigmoid, Tanh, Dropout, " ..
      "BatchNorm, Reshape, Flatten, Conv2d, MaxPool2d, AvgPool2d, Normalize, RandomShift, got 'Conv')")
    assert.has_error(function() core.sequential{{kind = "BatchNorm", features = 4, eps = 0 / 0}} end,
      "bad argument #1 to 'sequential' (layer 1: eps must be a finite number, got nan)")
    assert.has_error(function() core.sequential{{kind = "BatchNorm", features = 4, eps = -1}} end,
      "bad argument #1 to 'sequential' (layer 1, BatchNorm(4): eps must be a finite number > 0, got -1)")
    assert.has_error(function() core.sequential{{kind = "Dropout", p = 1}} end,
      "bad argument #1 to 'sequential' (layer 1, Dropout(1): p must be in [0, 1), got 1)")
    assert.has_error(function() core.sequential{{kind = "ReLU", in_feature = 3}} end,
      "bad argument #1 to 'sequential' (unknown option 'in_feature' (known: kind, name, in_features, " ..
      "out_features, bias, init, std, a, b, p, features, eps, momentum, channels, height, width, in_channels, " ..
      "out_channels, kernel_size, stride, padding, mean, shift, _model))")
    assert.has_error(function() core.sequential{{kind = "Linear", in_features = 2 ^ 24, out_features = 2 ^ 24}} end,
      "bad argument #1 to 'sequential' (layer 1, Linear(16777216->16777216): the model would have more than " ..
      "2147483647 parameters)")
  end)
end)

-- A model file of the given layers (kind, in, out, bias, p, eps, momentum)
-- and floats, with a valid CRC: the layout of src/model_io.h.
local function model_file(layers, params, buffers)
  local parts = {string.pack("<I4", #layers)}
  for _, l in ipairs(layers) do
    parts[#parts + 1] = string.pack("<I4i4i4I4ddd", l[1], l[2], l[3], l[4] or 1, l[5] or 0, l[6] or 0,
                                    l[7] or 0)
  end
  parts[#parts + 1] = string.pack("<I8", #params)
  for _, v in ipairs(params) do parts[#parts + 1] = string.pack("<f", v) end
  parts[#parts + 1] = string.pack("<I8", #buffers)
  for _, v in ipairs(buffers) do parts[#parts + 1] = string.pack("<f", v) end
  local payload = table.concat(parts)
  return "NNLABMDL" .. string.pack("<I4I4I8", 1, core.crc32(payload), #payload) .. payload
end

describe("a model file", function()
  local dir
  setup(function() dir = helper.tmpdir() end)
  teardown(function() os.execute("rm -rf " .. dir) end)

  it("that claims more floats than it holds fails at once, before allocating", function()
    local path = dir .. "/big.nnl"
    local bytes = model_file({{1, 16777216, 32}}, {}, {})
    assert.are.equal(84, #bytes)
    helper.write(path, bytes)
    local t0 = nn.clock()
    assert.has_error(function() nn.load(path) end,
      path .. ": damaged model file (the layers need 536870944 parameters and 0 statistics, the file holds 16 " ..
      "bytes for them)")
    assert.is_true(nn.clock() - t0 < 0.5)
    helper.write(path, model_file({{1, 16777216, 256}}, {}, {}))
    assert.has_error(function() nn.load(path) end, path .. ": damaged model file (layer 1, Linear(16777216->256): " ..
      "the model would have more than 2147483647 parameters)")
  end)

  it("with settings or statistics that are not finite is refused, naming the path and the layer", function()
    local path = dir .. "/bn.nnl"
    local ok_file = model_file({{1, 2, 2}, {6, 2, 2, 1, 0, 1e-5, 0.1}}, {1, 2, 3, 4, 5, 6, 1, 1, 0, 0},
                               {0, 0, 1, 1})
    helper.write(path, ok_file)
    assert.are.equal(10, nn.load(path):num_params())
    helper.write(path, model_file({{1, 2, 2}, {6, 2, 2, 1, 0, 0 / 0, 0.1}}, {1, 2, 3, 4, 5, 6, 1, 1, 0, 0},
                                  {0, 0, 1, 1}))
    assert.error_matches(function() nn.load(path) end,
      path:gsub("%p", "%%%0") .. ": damaged model file %(layer 2, BatchNorm%(2%): eps must be a finite number > 0, " ..
      "got %-?nan%)")
    helper.write(path, model_file({{1, 2, 2}, {6, 2, 2, 1, 0, 1e-5, math.huge}}, {1, 2, 3, 4, 5, 6, 1, 1, 0, 0},
                                  {0, 0, 1, 1}))
    assert.has_error(function() nn.load(path) end,
      path .. ": damaged model file (layer 2, BatchNorm(2): momentum must be in [0, 1], got inf)")
    helper.write(path, model_file({{1, 2, 2}, {6, 2, 2, 1, 0, 1e-5, 0.1}}, {1, 2, 3, 4, 5, 6, 1, 1, 0, 0},
                                  {0, 0 / 0, 1, 1}))
    assert.error_matches(function() nn.load(path) end,
      path:gsub("%p", "%%%0") .. ": layer 2, BatchNorm%(2%): running mean 2 is %-?nan")
    helper.write(path, model_file({{1, 2, 2}, {6, 2, 2, 1, 0, 1e-5, 0.1}}, {1, 2, 3, 4, 5, 6, 1, 1, 0, 0},
                                  {0, 0, 1, -1}))
    assert.has_error(function() nn.load(path) end, path .. ": layer 2, BatchNorm(2): running variance 2 is -1")
    helper.write(path, model_file({{5, -1, -1, 0, 1.5}}, {}, {}))
    assert.has_error(function() nn.load(path) end,
      path .. ": damaged model file (layer 1, Dropout(1.5): p must be in [0, 1), got 1.5)")
  end)
end)

describe("MSELoss on one output column", function()
  it("reads a target of the output's shape as values", function()
    local l = nn.MSELoss()
    assert.is_true(math.abs(l:forward(nn.tensor{{0.5}, {0.2}}, nn.tensor{{0}, {0}}) - 0.145) < 1e-7)
    assert.is_true(math.abs(l:forward(nn.tensor{{0.5}, {0.2}}, nn.tensor{{0.25}, {0.25}}) - 0.0325) < 1e-7)
    assert.is_true(math.abs(l:forward(nn.tensor{{0.5}, {0.2}}, nn.tensor{0.25, 0.25}) - 0.0325) < 1e-7)
    local g = l:backward(nn.tensor{{0.5}, {0.2}}, nn.tensor{{0.25}, {0.25}}):totable()
    assert.is_true(math.abs(g[1][1] - 0.25) < 1e-6 and math.abs(g[2][1] + 0.05) < 1e-6)
    -- with more than one column, a 1-D target is labels
    assert.is_true(math.abs(l:forward(nn.tensor{{1, 0}}, nn.tensor{0}) - 0) < 1e-7)
  end)

  it("trains and evaluates a regression through nn.train and nn.evaluate", function()
    nn.seed(5)
    -- the target is the first feature: a regression on labels 0..3 as values
    local rows, labels = {}, {}
    for i = 1, 40 do
      local v = (i - 1) % 4
      rows[i] = {v * 60, ((i * 7) % 5) * 50}
      labels[i] = v
    end
    local ds = nn.dataset{x = nn.tensor(rows), y = nn.tensor(labels), classes = 4}
    local m = nn.Sequential{nn.Linear(2, 1)}
    local h = nn.train{model = m, loss = nn.MSELoss(), optimizer = nn.SGD{lr = 0.5}, data = ds, epochs = 200,
                       batch = 10, verbose = false}
    assert.is_true(h.loss[200] < 1e-3, tostring(h.loss[200]))
    local r = nn.evaluate(m, ds, {loss = nn.MSELoss()})
    assert.is_true(r.loss < 1e-3)
    assert.are.equal(1, r.accuracy)
    assert.is_true(math.abs(m:forward(nn.tensor{{180 / 255, 0}}):get(1, 1) - 3) < 0.1)
    -- the numerical gradient agrees with backpropagation for a one-output MSE
    local rel = nn.gradcheck{model = nn.Sequential{nn.Linear(2, 1)}, loss = nn.MSELoss(), data = ds:subset(1, 8)}
    assert.is_true(rel < 1e-5, tostring(rel))
  end)
end)

describe("argument errors", function()
  it("are numbered and typed by Lua itself", function()
    local x = nn.zeros{2, 3}
    assert.has_error(function() x:get(1, 9) end, "bad argument #2 to 'get' (index 9 is outside 1..3)")
    assert.has_error(function() x:get(1, "a") end, "bad argument #2 to 'get' (number expected, got string)")
    assert.has_error(function() x:reshape{7} end,
      "bad argument #1 to 'reshape' (a shape of 7 elements for a tensor of 6)")
    assert.has_error(function() x:reshape(7) end, "bad argument #1 to 'reshape' (table expected, got number)")
    assert.has_error(function() nn.seed(1e300) end,
      "bad argument #1 to 'seed' (seed must be an integer >= 0, got 1e+300)")
    assert.has_error(function() nn.seed(2 ^ 63) end,
      "bad argument #1 to 'seed' (seed must be an integer >= 0, got 9.2233720368548e+18)")
    assert.has_error(function() nn.Linear(1e300, 3) end,
      "bad argument #1 to 'Linear' (in_features must be an integer in 1..16777216, got 1e+300)")
    assert.has_error(function() nn.Linear(3, 2 ^ 63) end,
      "bad argument #2 to 'Linear' (out_features must be an integer in 1..16777216, got 9.2233720368548e+18)")
    local m = nn.Sequential{nn.Linear(3, 2)}
    assert.has_error(function() m:forward(nn.zeros{3}) end,
      "bad argument #1 to 'forward' (a batch is a 2-D tensor, rows x features; got 1-D)")
    assert.has_error(function() m:forward(nn.zeros{1, 4}) end,
      "bad argument #1 to 'forward' (Linear(3->2): input has 4 columns, expected 3)")
  end)
end)

describe("BatchNorm in training mode", function()
  it("refuses a one-row batch in forward", function()
    local m = nn.Sequential{nn.Linear(2, 2), nn.BatchNorm(2)}
    assert.has_error(function() m:forward(nn.tensor{{1, 2}}) end,
      "bad argument #1 to 'forward' (BatchNorm in training mode needs batches of 2 or more rows, got 1 " ..
      "(call evaluate() first to run single items))")
    m:evaluate()
    assert.are.equal(2, m:forward(nn.tensor{{1, 2}}):numel())
  end)

  it("folds a trailing one-row batch into the one before it in nn.train", function()
    local ds = nn.dataset{x = batch(3, 2, function(r, c) return (r * 3 + c) % 7 end), y = nn.tensor{0, 1, 0},
                          classes = 2}
    local function trained(size)
      nn.seed(2)
      local m = nn.Sequential{nn.Linear(2, 2), nn.BatchNorm(2)}
      local h = nn.train{model = m, loss = nn.CrossEntropyLoss(), optimizer = nn.SGD{lr = 0.1}, data = ds,
                         epochs = 20, batch = size, shuffle = false, verbose = false}
      assert.are.equal(20, #h.cost)
      return m:encode()
    end
    -- batches of 2 on 3 items are one batch of 3: the same model to the bit
    assert.is_true(trained(3) == trained(2))
  end)
end)
