-- nn.RandomShift: data augmentation by whole-pixel shifts in training.
local helper = require("helper")
local nn = helper.nn

-- The c x h x w sample row shifted down by dy and right by dx, zeros moved in.
local function shifted(row, c, h, w, dy, dx)
  local out = {}
  for ch = 0, c - 1 do
    for i = 0, h - 1 do
      for j = 0, w - 1 do
        local si, sj = i - dy, j - dx
        local v = 0
        if si >= 0 and si < h and sj >= 0 and sj < w then v = row[ch * h * w + si * w + sj + 1] end
        out[ch * h * w + i * w + j + 1] = v
      end
    end
  end
  return out
end

-- The shift (dy, dx) in -k..k that turns row into out, or nil.
local function shift_of(row, out, c, h, w, k)
  for dy = -k, k do
    for dx = -k, k do
      local want = shifted(row, c, h, w, dy, dx)
      local ok = true
      for q = 1, #want do
        if want[q] ~= out[q] then ok = false; break end
      end
      if ok then return dy, dx end
    end
  end
end

-- n rows of c x h x w distinct non-zero values.
local function rows(n, c, h, w)
  local xs = {}
  for r = 1, n do
    local row = {}
    for q = 1, c * h * w do row[q] = r * 1000 + q end
    xs[r] = row
  end
  return xs
end

describe("RandomShift", function()
  it("moves each training sample by its own shift in -k..k, every channel alike, each shift about as often", function()
    nn.seed(1)
    local c, h, w, k = 2, 5, 6, 2
    local xs = rows(450, c, h, w)
    local m = nn.Sequential{nn.Reshape{c, h, w}, nn.RandomShift(k)}
    assert.are.equal("Sequential(Reshape(2x5x6), RandomShift(2))", tostring(m))
    m:training()
    local y = m:forward(nn.tensor(xs)):totable()
    local seen = {}
    for r = 1, #xs do
      local dy, dx = shift_of(xs[r], y[r], c, h, w, k)
      assert(dy, ("row %d is not a shift of its input by -%d..%d"):format(r, k, k))
      local key = dy .. "," .. dx
      seen[key] = (seen[key] or 0) + 1
    end
    local kinds = 0
    for _, count in pairs(seen) do
      kinds = kinds + 1
      assert(count >= 6 and count <= 36, ("a shift drawn %d times in 450 (18 expected)"):format(count))
    end
    assert.are.equal(25, kinds)
    -- another batch, other shifts; evaluation passes the input unchanged
    local again = m:forward(nn.tensor(xs)):totable()
    assert.are_not.same(y, again)
    m:evaluate()
    assert.are.same(xs, m:forward(nn.tensor(xs)):totable())
  end)

  it("does nothing with shift 0, and the same draws from the same seed", function()
    local xs = rows(20, 1, 4, 4)
    local m0 = nn.Sequential{nn.Reshape{1, 4, 4}, nn.RandomShift(0)}
    m0:training()
    assert.are.same(xs, m0:forward(nn.tensor(xs)):totable())
    local function draw()
      nn.seed(7)
      local m = nn.Sequential{nn.Reshape{1, 4, 4}, nn.RandomShift(1)}
      m:training()
      return m:forward(nn.tensor(xs)):totable()
    end
    assert.are.same(draw(), draw())
  end)

  it("passes gradients back by the opposite shift, as finite differences say", function()
    nn.seed(2)
    -- An identity Linear in front: its weight gradient's first row is the
    -- gradient RandomShift passes back for an input whose first value is 1.
    local m = nn.Sequential{nn.Linear(20, 20, {bias = false}), nn.Reshape{1, 4, 5}, nn.RandomShift(1)}
    local p = m:parameters()
    for k = 1, 400 do p:set(k, 0) end
    for i = 1, 20 do p:set((i - 1) * 20 + i, 1) end
    m:training()
    local row, g = {}, {}
    for q = 1, 20 do row[q], g[q] = q, (q * 3) % 11 - 5 end
    local seen = {}
    for _ = 1, 12 do
      local x = nn.tensor{row}
      local y = m:forward(x):totable()[1]
      local dy, dx = shift_of(row, y, 1, 4, 5, 1)
      seen[dy .. "," .. dx] = true
      m:zero_grad()
      m:backward(x, nn.tensor{g})
      local dw = m:gradients():totable()
      local back = {}
      for o = 1, 20 do back[o] = dw[o] end
      assert.are.same(shifted(g, 1, 4, 5, -dy, -dx), back)
    end
    assert.is_true(next(seen, next(seen)) ~= nil) -- more than one shift drawn
    local small = rows(5, 2, 6, 6)
    for _, r in ipairs(small) do
      for q = 1, #r do r[q] = r[q] / 6000 end
    end
    local data = nn.dataset{x = nn.tensor(small), y = {0, 1, 2, 0, 1}, classes = 3}
    -- (a layer below it, so that its backward is checked too)
    local net = nn.Sequential{nn.Linear(72, 72), nn.Reshape{2, 6, 6}, nn.RandomShift(2), nn.Conv2d(2, 3, 3),
                              nn.ReLU(), nn.Flatten(), nn.Linear(48, 3)}
    for _, training in ipairs{true, false} do
      if training then net:training() else net:evaluate() end
      local rel = nn.gradcheck{model = net, loss = nn.CrossEntropyLoss(), data = data}
      assert(rel < 1e-4, ("training %s: relative error %g"):format(tostring(training), rel))
    end
  end)

  it("names the layer when the input is flat or the shift too large", function()
    assert.error_matches(function() nn.Sequential{nn.Linear(4, 16), nn.RandomShift(1)} end,
      "layer 2, RandomShift(1): needs c x h x w inputs (put nn.Reshape{c, h, w} before it)", nil, true)
    assert.error_matches(function() nn.Sequential{nn.Reshape{1, 3, 4}, nn.RandomShift(3)} end,
      "layer 2, RandomShift(3): shift must be in 0..2 (below the smaller side of a 3x4 input), got 3", nil, true)
    assert.error_matches(function() nn.RandomShift(-1) end, "RandomShift", nil, true)
    assert.error_matches(function() nn.RandomShift(1.5) end, "RandomShift", nil, true)
    assert.error_matches(function() nn.RandomShift() end, "RandomShift", nil, true)
  end)

  it("is saved and loaded with its setting", function()
    local path = helper.tmpdir() .. "/shift.nnl"
    local m = nn.Sequential{nn.Reshape{1, 4, 4}, nn.RandomShift(3), nn.Flatten(), nn.Linear(16, 2)}
    m:save(path)
    local back = nn.load(path)
    assert.are.equal(tostring(m), tostring(back))
    assert.are.equal("RandomShift(3)", back:layers()[2].name)
    os.execute("rm -rf " .. path:match("^(.*)/"))
  end)

  it("resumes from the model's and the optimizer's state to the same parameters", function()
    local mnist = nn.mnist()
    local function net()
      return nn.Sequential{nn.Reshape{1, 28, 28}, nn.RandomShift(2), nn.Conv2d(1, 2, 5, {stride = 3}), nn.ReLU(),
                           nn.Flatten(), nn.Dropout(0.2), nn.Linear(128, 10)}
    end
    local function run(epochs, first, m, opt, h)
      nn.seed(5)
      local data = mnist.train:subset(1, 300)
      m = m or net()
      opt = opt or nn.SGD{lr = 0.05, momentum = 0.9}
      h = nn.train{model = m, loss = nn.CrossEntropyLoss(), optimizer = opt, data = data, batch = 50,
                   epochs = epochs, first_epoch = first, history = h, shuffle = false, verbose = false}
      return m, opt, h
    end
    local whole = run(3)
    local half, opt, h = run(1)
    local saved_model, saved_opt, saved_rng = half:encode(), opt:state(), half:rng_state()
    nn.seed(99)
    local m2 = net()
    m2:restore(saved_model)
    m2:rng_state(saved_rng)
    local opt2 = nn.SGD{lr = 0.05, momentum = 0.9}
    opt2:state(saved_opt)
    local resumed = run(3, 2, m2, opt2, h)
    assert.are.same(whole:parameters():totable(), resumed:parameters():totable())
    -- without the random state, other shifts and masks: other parameters
    local m3 = net()
    m3:restore(saved_model)
    local opt3 = nn.SGD{lr = 0.05, momentum = 0.9}
    opt3:state(saved_opt)
    assert.are_not.same(whole:parameters():totable(), run(3, 2, m3, opt3, h):parameters():totable())
  end)
end)
