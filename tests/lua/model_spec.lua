local helper = require("helper")
local nn = helper.nn

describe("models", function()
  it("take a batch of any size and name the layer on a wrong shape", function()
    local m = nn.Sequential{nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10)}
    assert.are.same({7, 10}, m:forward(nn.zeros{7, 784}):shape())
    assert.are.same({1, 10}, m:forward(nn.zeros{1, 784}):shape())
    assert.error_matches(function() m:forward(nn.zeros{5, 100}) end,
      "Linear%(784%->32%): input has 100 columns, expected 784", nil, false)
  end)

  it("count parameters and keep them in one buffer", function()
    local m = nn.Sequential{nn.Linear(3, 2), nn.BatchNorm(2), nn.Linear(2, 4, {bias = false})}
    assert.are.equal(3 * 2 + 2 + 2 + 2 + 2 * 4, m:num_params())
    assert.are.equal(m:num_params(), m:parameters():numel())
    assert.are.equal(m:num_params(), m:gradients():numel())
  end)

  it("initialise as asked", function()
    local z = nn.Sequential{nn.Linear(50, 40, {init = "zeros"})}
    assert.are.equal(0, z:parameters():sum())
    nn.seed(3)
    local g = nn.Sequential{nn.Linear(50, 40, {init = "glorot", bias = false})}
    local limit, p = math.sqrt(6 / 90), g:parameters():totable()
    local mx = 0
    for _, v in ipairs(p) do mx = math.max(mx, math.abs(v)) end
    assert.is_true(mx <= limit and mx > 0.9 * limit)
    local n = nn.Sequential{nn.Linear(500, 100, {init = "normal", std = 0.01, bias = false})}
    local s2 = 0
    for _, v in ipairs(n:parameters():totable()) do s2 = s2 + v * v end
    assert.is_near(0.01, math.sqrt(s2 / 50000), 0.0003)
  end)

  it("are reproducible from the seed", function()
    nn.seed(42)
    local a = nn.Sequential{nn.Linear(10, 5)}:parameters():totable()
    nn.seed(42)
    local b = nn.Sequential{nn.Linear(10, 5)}:parameters():totable()
    assert.are.same(a, b)
  end)

  it("save and load with their architecture", function()
    local m = nn.Sequential{nn.Linear(4, 3), nn.Tanh(), nn.Dropout(0.2), nn.BatchNorm(3), nn.Linear(3, 2)}
    local path = os.tmpname()
    m:save(path)
    local back = nn.load(path)
    assert.are.equal(tostring(m), tostring(back))
    assert.are.same(m:parameters():totable(), back:parameters():totable())
    m:evaluate()
    local x = nn.tensor{{1, 2, 3, 4}, {0, 0, 1, 0}}
    assert.are.same(m:forward(x):totable(), back:forward(x):totable())
    os.remove(path)
  end)

  it("refuse missing, empty, truncated, damaged and foreign model files", function()
    local dir = helper.tmpdir()
    local m = nn.Sequential{nn.Linear(4, 3)}
    m:save(dir .. "/good.nnl")
    local good = helper.read(dir .. "/good.nnl")
    helper.write(dir .. "/empty.nnl", "")
    helper.write(dir .. "/short.nnl", good:sub(1, #good - 5))
    helper.write(dir .. "/bad.nnl", good:sub(1, 40) .. string.char(good:byte(41) ~ 1) .. good:sub(42))
    helper.write(dir .. "/foreign.nnl", "\137PNG\r\n\26\n0000000000000000")
    assert.error_matches(function() nn.load(dir .. "/missing.nnl") end, "missing.nnl: cannot open")
    assert.error_matches(function() nn.load(dir .. "/empty.nnl") end, "empty.nnl: empty file, not a model")
    assert.error_matches(function() nn.load(dir .. "/short.nnl") end, "short.nnl: truncated")
    assert.error_matches(function() nn.load(dir .. "/bad.nnl") end,
      "bad.nnl: damaged model file %(CRC%-32 mismatch%)")
    assert.error_matches(function() nn.load(dir .. "/foreign.nnl") end, "not an nnlab model file")
    assert.error_matches(function() m:save(dir .. "/no/such/dir/m.nnl") end, "m.nnl: cannot write")
    os.execute("rm -rf " .. dir)
  end)

  it("refuse to save a model that diverged, naming the parameter and its layer, and write nothing", function()
    local dir = helper.tmpdir()
    local m = nn.Sequential{nn.Linear(4, 3), nn.ReLU(), nn.BatchNorm(3), nn.Linear(3, 2)}
    m:save(dir .. "/m.nnl")
    local before = helper.read(dir .. "/m.nnl")
    -- parameter 4 * 3 + 3 + 3 + 3 + 1: the second Linear's first weight (layer 4)
    assert.is_nil(m:nonfinite())
    m:parameters():set(22, 1 / 0)
    assert.are.equal("parameter 22 (layer 4, Linear(3->2)) is not finite (inf)", m:nonfinite())
    assert.error_matches(function() m:save(dir .. "/m.nnl") end,
      "parameter 22 %(layer 4, Linear%(3%->2%)%) is not finite %(inf%): the model diverged; not saved")
    assert.error_matches(function() m:encode() end, "parameter 22 %(layer 4, Linear%(3%->2%)%) is not finite")
    assert.are.equal(before, helper.read(dir .. "/m.nnl")) -- the last good file is kept
    m:parameters():set(22, 0)
    m:parameters():set(1, 0 / 0)
    assert.error_matches(function() m:save(dir .. "/m.nnl") end,
      "parameter 1 %(layer 1, Linear%(4%->3%)%) is not finite %(%-?nan%)")
    m:parameters():set(1, 0)
    -- running statistics go through the check nn.load applies
    m:buffers():set(2, 0 / 0)
    assert.error_matches(function() m:save(dir .. "/m.nnl") end,
      "^layer 3, BatchNorm%(3%): running mean 2 is %-?nan; not saved$")
    assert.matches("^layer 3, BatchNorm%(3%): running mean 2 is %-?nan$", m:nonfinite())
    m:buffers():set(2, 0)
    m:buffers():set(4, -1)
    assert.error_matches(function() m:save(dir .. "/m.nnl") end, "running variance 1 is %-1; not saved")
    m:buffers():set(4, 1)
    assert.is_nil(m:nonfinite())
    m:save(dir .. "/m.nnl")
    assert.are.same(m:parameters():totable(), nn.load(dir .. "/m.nnl"):parameters():totable())
    os.execute("rm -rf " .. dir)
  end)

  it("refuse bad layer arguments with the function and argument named", function()
    assert.has_error(function() nn.Linear(0, 3) end,
      "bad argument #1 to 'Linear' (in_features must be an integer in 1..16777216, got 0)")
    assert.has_error(function() nn.Linear(2.5, 3) end,
      "bad argument #1 to 'Linear' (in_features must be an integer, got 2.5)")
    assert.has_error(function() nn.Linear(2, 3, {init = "magic"}) end,
      "bad argument #3 to 'Linear' (init must be one of default, zeros, normal, uniform, glorot, xavier, he, "
        .. "got 'magic')")
    assert.has_error(function() nn.Linear(2, 3, {sdt = 1}) end,
      "bad argument #3 to 'Linear' (unknown option 'sdt' (known: a, b, bias, init, std))")
    assert.has_error(function() nn.Dropout(1) end, "bad argument #1 to 'Dropout' (p must be below 1, got 1)")
    assert.has_error(function() nn.Dropout(0 / 0) end,
      "bad argument #1 to 'Dropout' (p must be a finite number, got nan)")
    assert.has_error(function() nn.Sequential{nn.Linear(2, 3), 5} end,
      "bad argument #1 to 'Sequential' (item 2 is 5, expected a layer such as nn.Linear(784, 10))")
    assert.error_matches(function() nn.Sequential{nn.Linear(2, 3), nn.Linear(4, 1)} end,
      "layer 2, Linear%(4%->1%): takes 4 inputs but the layer before gives 3")
    assert.error_matches(function() nn.Sequential{} end, "expected at least one layer")
  end)
end)
