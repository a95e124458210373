-- nn.Normalize: per-feature mean and std fitted on a dataset, kept in the model file.
local helper = require("helper")
local nn = helper.nn
local core = require("nnlab.core")

-- x rounded to a float, as the engine keeps it.
local function f32(x)
  return (string.unpack("<f", string.pack("<f", x)))
end

local function features(rows)
  local ys = {}
  for i = 1, #rows do ys[i] = (i - 1) % 2 end
  return nn.dataset{x = rows, y = ys, classes = 2, kind = "features"}
end

-- Bytes of a model file with its CRC-32 made right again (the layout of src/model_io.h:
-- a 24-byte header whose bytes 13..16 hold the payload's CRC).
local function with_crc(bytes)
  local payload = bytes:sub(25)
  return bytes:sub(1, 12) .. string.pack("<I4", core.crc32(payload)) .. bytes:sub(17)
end

-- The bytes of a model file whose buffer k (1-based, of nb; the last floats
-- before the 8-byte input scale) is v.
local function set_buffer(bytes, nb, k, v)
  local at = #bytes - 8 - 4 * (nb - k + 1)
  return with_crc(bytes:sub(1, at) .. string.pack("<f", v) .. bytes:sub(at + 5))
end

describe("nn.Normalize", function()
  it("fits each feature's mean and population std on a dataset, as its batches are scaled", function()
    local d = features{{1, 2, 7}, {3, 2, 8}, {5, 2, 9}}
    local mean, std = d:feature_stats()
    assert.are.same({3, 2, 8}, mean:totable())
    assert.are.same({f32(math.sqrt(8 / 3)), 0, f32(math.sqrt(2 / 3))}, std:totable())
    local m = nn.Sequential{nn.Normalize(d)}
    assert.are.equal("Sequential(Normalize(3))", tostring(m))
    -- the constant feature takes std 1
    assert.are.same({3, 2, 8, f32(math.sqrt(8 / 3)), 1, f32(math.sqrt(2 / 3))}, m:buffers():totable())
    -- pixels: the values batches hold, 51 * (1/255 as a float) and 255 * (1/255)
    local px = nn.dataset{x = {{0, 255}, {51, 255}}, y = {0, 1}, classes = 2}
    local v = f32(51 * f32(1 / 255))
    mean, std = px:feature_stats()
    assert.are.same({f32(v / 2), f32(255 * f32(1 / 255))}, mean:totable())
    assert.are.same({f32(v / 2), 0}, std:totable())
    mean, std = px:with_scale(1):feature_stats()
    assert.are.same({25.5, 255}, mean:totable())
    assert.are.same({25.5, 0}, std:totable())
    -- a subset's statistics are its own items'
    mean, std = d:subset(2, 2):feature_stats()
    assert.are.same({4, 2, 8.5}, mean:totable())
    assert.are.same({1, 0, 0.5}, std:totable())
  end)

  it("computes (x - mean) / std per feature, forward and backward", function()
    local m = nn.Sequential{nn.Normalize{mean = {1, 2}, std = {2, 4}}}
    assert.are.same({{1, 2}, {0, -0.5}}, m:forward(nn.tensor{{3, 10}, {1, 0}}):totable())
    assert.are.equal(0, m:num_params())
    -- statistics given as tensors
    local t = nn.Sequential{nn.Normalize{mean = nn.tensor{1, 2}, std = nn.tensor{2, 4}}}
    assert.are.same({{1, 2}}, t:forward(nn.tensor{{3, 10}}):totable())
    -- after a convolution's c x h x w outputs: one mean and std per value of the sample
    local c = nn.Sequential{nn.Reshape{1, 2, 2}, nn.Normalize{mean = {0, 1, 2, 3}, std = {1, 1, 2, 2}}, nn.Flatten()}
    assert.are.same({{1, 1, 1, 1}}, c:forward(nn.tensor{{1, 2, 4, 5}}):totable())
  end)

  it("passes the gradient check, first and between layers", function()
    nn.seed(7)
    local rows = {}
    for i = 1, 12 do rows[i] = {i * 0.5 - 3, (i % 5) * 2 + 10, math.sin(i) * 0.1} end
    local d = features(rows)
    local norm = nn.Normalize{mean = {0.5, -1, 2, 0}, std = {0.25, 3, 0.5, 2}}
    local models = {
      nn.Sequential{nn.Normalize(d), nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)},
      nn.Sequential{nn.Linear(3, 4), norm, nn.Tanh(), nn.Linear(4, 2)},
    }
    for _, m in ipairs(models) do
      for _, loss in ipairs{nn.CrossEntropyLoss(), nn.MSELoss()} do
        local rel = nn.gradcheck{model = m, loss = loss, data = d}
        assert(rel < 1e-5, ("%s, %s: relative error %g"):format(tostring(m), tostring(loss), rel))
      end
    end
  end)

  it("gives a constant feature std 1, so it maps to 0 and never to NaN", function()
    local d = features{{0, 1}, {0, 2}, {0, 6}}
    local m = nn.Sequential{nn.Normalize(d)}
    local y = m:forward(nn.tensor{{0, 3}, {1, 3}}):totable()
    assert.are.same({0, 0}, {y[1][1], y[1][2]})
    assert.are.equal(1, y[2][1])
    assert.are.same({0, 3, 1, f32(math.sqrt(14 / 3))}, m:buffers():totable())
  end)

  it("keeps its mean and std in the model file, bit for bit", function()
    local dir = helper.tmpdir()
    nn.seed(3)
    local d = features{{1.1, 200, -3}, {2.3, 180, -1}, {0.7, 260, -2}, {1.9, 220, -5}}
    local m = nn.Sequential{nn.Normalize(d), nn.Linear(3, 2)}
    m:save(dir .. "/n.nnl")
    local back = nn.load(dir .. "/n.nnl")
    assert.are.equal("Sequential(Normalize(3), Linear(3->2))", tostring(back))
    assert.are.same(m:buffers():totable(), back:buffers():totable())
    assert.are.equal(m:encode(), back:encode())
    local x = nn.tensor{{1.5, 210, -2.5}, {0, 0, 0}, {3, 300, -6}}
    assert.are.same(m:forward(x):totable(), back:forward(x):totable())
    assert.are.same(m:predict(x), back:predict(x))
    -- restore() takes the statistics of another file of the same architecture
    local other = nn.Sequential{nn.Normalize{mean = {0, 0, 0}, std = {1, 1, 1}}, nn.Linear(3, 2)}
    other:restore(m:encode())
    assert.are.same(m:buffers():totable(), other:buffers():totable())
    os.execute("rm -rf " .. dir)
  end)

  it("refuses a model file with a std that is NaN, 0 or negative, or a mean that is not finite", function()
    local dir = helper.tmpdir()
    local path = dir .. "/bad.nnl"
    local bytes = nn.Sequential{nn.Normalize{mean = {1, 2}, std = {3, 4}}, nn.Linear(2, 2)}:encode()
    helper.write(path, set_buffer(bytes, 4, 3, 0 / 0))
    assert.error_matches(function() nn.load(path) end,
      path:gsub("%p", "%%%0") .. ": layer 1, Normalize%(2%): std 1 is %-?nan, not a finite number > 0")
    helper.write(path, set_buffer(bytes, 4, 4, 0))
    assert.has_error(function() nn.load(path) end,
      path .. ": layer 1, Normalize(2): std 2 is 0, not a finite number > 0")
    helper.write(path, set_buffer(bytes, 4, 4, -1))
    assert.has_error(function() nn.load(path) end,
      path .. ": layer 1, Normalize(2): std 2 is -1, not a finite number > 0")
    helper.write(path, set_buffer(bytes, 4, 2, math.huge))
    assert.has_error(function() nn.load(path) end,
      path .. ": layer 1, Normalize(2): mean 2 is inf, not a finite number")
    -- the same bytes unchanged load
    helper.write(path, bytes)
    assert.are.same({1, 2, 3, 4}, nn.load(path):buffers():totable())
    os.execute("rm -rf " .. dir)
  end)

  it("names the layer and both widths when it does not fit the layer before", function()
    assert.has_error(function() nn.Sequential{nn.Linear(3, 4), nn.Normalize{mean = {0, 0}, std = {1, 1}}} end,
      "bad argument #1 to 'sequential' (layer 2, Normalize(2): takes 2 features but the layer before gives 4)")
    local m = nn.Sequential{nn.Normalize{mean = {0, 0, 0}, std = {1, 1, 1}}}
    assert.has_error(function() m:forward(nn.tensor{{1, 2}}) end,
      "bad argument #1 to 'forward' (Normalize(3): input has 2 columns, expected 3)")
  end)

  it("refuses bad arguments with messages naming Normalize", function()
    local f = "bad argument #1 to 'Normalize' ("
    assert.has_error(function() nn.Normalize() end, f .. "expected a dataset or {mean = ..., std = ...}, got nil)")
    assert.has_error(function() nn.Normalize(42) end, f .. "expected a dataset or {mean = ..., std = ...}, got 42)")
    assert.has_error(function() nn.Normalize("x") end,
      f .. "expected a dataset or {mean = ..., std = ...}, got string)")
    local least = "must be at least 1.17549435e-38 (the smallest normal float), got "
    assert.has_error(function() nn.Normalize{mean = {1}, std = {0}} end, f .. "std[1] " .. least .. "0)")
    assert.has_error(function() nn.Normalize{mean = {1, 2}, std = {1, -2}} end, f .. "std[2] " .. least .. "-2)")
    -- 1e-45 is > 0 but below float's normal range: the message says what the bound is
    assert.has_error(function() nn.Normalize{mean = {1}, std = {1e-45}} end, f .. "std[1] " .. least .. "1e-45)")
    assert.has_error(function() nn.Normalize{mean = {1}, std = {0 / 0}} end,
      f .. "std[1] must be a finite number, got nan)")
    assert.has_error(function() nn.Normalize{mean = {1}} end,
      f .. "std must be a list of numbers or a 1-D tensor, got nil)")
    assert.has_error(function() nn.Normalize{mean = {}, std = {}} end,
      f .. "mean must be a list of numbers or a 1-D tensor, got an empty table)")
    assert.has_error(function() nn.Normalize{mean = {1, 2}, std = {1}} end, f .. "mean has 2 values but std has 1)")
    assert.has_error(function() nn.Normalize{mean = {1}, std = {1}, scale = 2} end,
      f .. "unknown option 'scale' (known: mean, std))")
    assert.has_error(function() nn.Normalize{mean = nn.tensor{{1}}, std = {1}} end,
      f .. "mean must be a 1-D tensor, got 2-D)")
    -- the C side checks the table again
    assert.has_error(function() core.sequential{{kind = "Normalize", features = 1, mean = {1}, std = {0}}} end,
      "bad argument #1 to 'sequential' (layer 1, Normalize(1): std 1 is 0, not a finite number > 0)")
    assert.has_error(function() core.sequential{{kind = "Normalize", features = 2, mean = {1, 2}}} end,
      "bad argument #1 to 'sequential' (layer 1: std must be a list of 2 numbers, got nil)")
    assert.has_error(function() core.sequential{{kind = "Normalize", features = 2, mean = {1}, std = {1, 1}}} end,
      "bad argument #1 to 'sequential' (layer 1: mean must be a list of 2 numbers, got 1 values)")
    assert.has_error(function() core.sequential{{kind = "Normalize", features = 1, mean = {1e39}, std = {1}}} end,
      "bad argument #1 to 'sequential' (layer 1: mean[1] must be a finite number (a float), got 1e+39)")
  end)
end)
