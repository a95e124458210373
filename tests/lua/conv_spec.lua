-- Convolutional layers: Reshape, Conv2d, MaxPool2d, AvgPool2d, Flatten.
local helper = require("helper")
local nn = helper.nn

-- n items of c x h x w pixels drawn from the seed, labels 0..classes-1.
local function images(n, c, h, w, classes)
  local xs, ys = {}, {}
  local r = 12345
  for i = 1, n do
    local row = {}
    for k = 1, c * h * w do
      r = (r * 1103515245 + 12345) % 2147483648
      row[k] = r % 256
    end
    xs[i] = row
    ys[i] = (i - 1) % classes
  end
  return nn.dataset{x = nn.tensor(xs), y = nn.tensor(ys), classes = classes}
end

local function check_all(model, data, limit)
  for _, loss in ipairs{nn.CrossEntropyLoss(), nn.MSELoss(), nn.MSELoss{reduction = "sum_per_sample"}} do
    for _, training in ipairs{true, false} do
      if training then model:training() else model:evaluate() end
      local rel, d = nn.gradcheck{model = model, loss = loss, data = data, details = true}
      assert(rel < limit, ("%s, %s, training %s: relative error %g (layer %d)"):format(
        tostring(model), tostring(loss), tostring(training), rel, d.layer))
    end
  end
end

describe("convolutional layers", function()
  it("compute PyTorch's cross-correlation with out x in x k x k weights", function()
    -- one 3x3 image 1..9, two 2x2 filters: the top-left pixel and the sum
    local m = nn.Sequential{nn.Reshape{1, 3, 3}, nn.Conv2d(1, 2, 2, {init = "zeros"})}
    assert.are.equal(2 * 4 + 2, m:num_params())
    local p = m:parameters()
    p:set(1, 1)                            -- filter 1: weight (0, 0)
    for k = 5, 8 do p:set(k, 1) end         -- filter 2: every weight
    p:set(10, 0.5)                          -- bias of filter 2
    local y = m:forward(nn.tensor{{1, 2, 3, 4, 5, 6, 7, 8, 9}}):totable()
    assert.are.same({{1, 2, 4, 5, 12.5, 16.5, 24.5, 28.5}}, y)
    -- stride 2 and padding 1: the corners' windows
    local s = nn.Sequential{nn.Reshape{1, 3, 3}, nn.Conv2d(1, 1, 2, {stride = 2, padding = 1, bias = false,
                                                                      init = "zeros"})}
    for k = 1, 4 do s:parameters():set(k, 1) end
    assert.are.same({{1, 5, 11, 28}}, s:forward(nn.tensor{{1, 2, 3, 4, 5, 6, 7, 8, 9}}):totable())
  end)

  it("pool each channel: maximum, mean with the padding as zeros", function()
    local x = nn.tensor{{1, 5, 2, 0, 3, 4, 7, 1, 9, 8, 6, 2, 0, 1, 3, 5}}
    local mx = nn.Sequential{nn.Reshape{1, 4, 4}, nn.MaxPool2d(2)}
    assert.are.same({{5, 7, 9, 6}}, mx:forward(x):totable())
    local avg = nn.Sequential{nn.Reshape{1, 4, 4}, nn.AvgPool2d(2)}
    assert.are.same({{3.25, 2.5, 4.5, 4}}, avg:forward(x):totable())
    local padded = nn.Sequential{nn.Reshape{1, 4, 4}, nn.AvgPool2d(2, {padding = 1})}
    assert.are.same({1, 9}, padded:forward(x):shape())
    assert.are.equal(1 / 4, padded:forward(x):get(1, 1))
    local overlap = nn.Sequential{nn.Reshape{1, 4, 4}, nn.MaxPool2d(3, {stride = 1})}
    assert.are.same({{9, 8, 9, 8}}, overlap:forward(x):totable())
  end)

  it("Reshape and Flatten are views: values and rows unchanged", function()
    local x = nn.tensor{{1, 2, 3, 4, 5, 6, 7, 8}, {8, 7, 6, 5, 4, 3, 2, 1}}
    local m = nn.Sequential{nn.Reshape{2, 2, 2}, nn.Flatten()}
    assert.are.same(x:totable(), m:forward(x):totable())
    assert.are.equal(8, m:in_features())
    assert.are.equal(0, m:num_params())
    local r = nn.Sequential{nn.Reshape{2, 2, 2}, nn.ReLU()}
    assert.are.same(x:totable(), r:forward(x):totable())
  end)

  it("agree with finite differences for every parameter, in training and evaluation", function()
    nn.seed(2)
    local data = images(5, 2, 6, 6, 3)
    check_all(nn.Sequential{nn.Reshape{2, 6, 6}, nn.Conv2d(2, 3, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                            nn.Linear(12, 3)}, data, 1e-4)
    check_all(nn.Sequential{nn.Reshape{2, 6, 6}, nn.Conv2d(2, 2, 3, {stride = 2, padding = 1}), nn.Tanh(),
                            nn.AvgPool2d(2, {stride = 1, padding = 1}), nn.Conv2d(2, 3, 2, {bias = false}),
                            nn.Sigmoid(), nn.Flatten(), nn.Dropout(0.3), nn.Linear(27, 3, {init = "he"})},
              data, 1e-4)
    -- (no bias before BatchNorm: its true gradient is 0, so only rounding noise would be compared)
    check_all(nn.Sequential{nn.Reshape{2, 6, 6}, nn.MaxPool2d(3, {stride = 2, padding = 1}),
                            nn.Conv2d(2, 3, 1, {init = "glorot", bias = false}), nn.Flatten(), nn.BatchNorm(27),
                            nn.ReLU(), nn.Linear(27, 3)}, data, 1e-4)
  end)

  it("agree with finite differences on Winograd's path (3x3 kernels, 16 channels or more)", function()
    -- 18 channels, 162 values a window: more than the direct path takes;
    -- 8x8 and 10x10 outputs, so the last tiles of 4x4 are part outside;
    -- the path is taken with the AVX2 or AVX-512 kernels (test_layers
    -- checks the choice and the figures against the reference), the plain
    -- ones take im2col
    nn.seed(5)
    local data = images(3, 18, 10, 10, 2)
    for _, pad in ipairs{0, 1} do
      local side = 10 + 2 * pad - 2
      local m = nn.Sequential{nn.Reshape{18, 10, 10}, nn.Conv2d(18, 3, 3, {padding = pad}), nn.Tanh(), nn.Flatten(),
                              nn.Linear(3 * side * side, 2)}
      for _, loss in ipairs{nn.CrossEntropyLoss(), nn.MSELoss()} do
        local rel = nn.gradcheck{model = m, loss = loss, data = data, sample = 80}
        assert(rel < 1e-4, ("padding %d, %s: relative error %g"):format(pad, tostring(loss), rel))
      end
    end
  end)

  it("BatchNorm normalises each channel of c x h x w inputs, Dropout each value", function()
    nn.seed(3)
    local data = images(5, 2, 6, 6, 3)
    local m = nn.Sequential{nn.Reshape{2, 6, 6}, nn.Conv2d(2, 3, 3, {bias = false}), nn.BatchNorm(3), nn.ReLU(),
                            nn.Dropout(0.2), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(12, 3)}
    assert.are.equal("BatchNorm(3)", m:layers()[3].name)
    assert.are.equal(3 * 2 * 9 + 2 * 3 + 12 * 3 + 3, m:num_params())
    check_all(m, data, 1e-4)
    local bn = nn.Sequential{nn.Reshape{2, 2, 2}, nn.BatchNorm(2)}
    local y = bn:forward(nn.tensor{{1, 2, 3, 4, 10, 10, 10, 10}, {5, 6, 7, 8, 10, 10, 10, 10}}):totable()
    local s = 0
    for r = 1, 2 do for k = 1, 4 do s = s + y[r][k] end end
    assert.is_true(math.abs(s) < 1e-5)            -- channel 1: mean 0 over its 8 values
    assert.are.equal(0, y[1][5])                   -- channel 2 is constant: 0
    assert.error_matches(function() nn.Sequential{nn.Reshape{2, 2, 2}, nn.BatchNorm(3)} end,
      "layer 2, BatchNorm%(3%): takes 3 features or channels but the layer before gives 2x2x2")
  end)

  it("check K parameters drawn from the seed with sample = K", function()
    nn.seed(4)
    local data = images(4, 1, 8, 8, 2)
    local m = nn.Sequential{nn.Reshape{1, 8, 8}, nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                            nn.Linear(36, 2)}
    local loss = nn.CrossEntropyLoss()
    local g, idx = nn.numgrad{model = m, loss = loss, data = data, sample = 10}
    assert.are.equal(10, #idx)
    for k = 2, #idx do assert.is_true(idx[k] > idx[k - 1]) end
    assert.is_true(idx[1] >= 1 and idx[#idx] <= m:num_params())
    local full = nn.numgrad{model = m, loss = loss, data = data}
    local taken = {}
    for _, k in ipairs(idx) do
      taken[k] = true
      assert.are.equal(full:get(k), g:get(k))
    end
    for k = 1, m:num_params() do
      if not taken[k] then assert.are.equal(0, g:get(k)) end
    end
    nn.seed(4)
    local _, again = nn.numgrad{model = m, loss = loss, data = data, sample = 10}
    assert.are.same(idx, again)
    assert.is_true(nn.gradcheck{model = m, loss = loss, data = data, sample = 25} < 1e-4)
  end)

  it("name the layer when shapes do not fit", function()
    assert.error_matches(function() nn.Sequential{nn.Conv2d(1, 2, 3)} end,
      "layer 1, Conv2d%(1%->2, 3x3%): needs c x h x w inputs %(put nn.Reshape{c, h, w} before it%)")
    assert.error_matches(function() nn.Sequential{nn.Reshape{3, 8, 8}, nn.Conv2d(1, 2, 3)} end,
      "layer 2, Conv2d%(1%->2, 3x3%): takes 1 channels but the layer before gives 3x8x8")
    assert.error_matches(function() nn.Sequential{nn.Reshape{1, 4, 4}, nn.Conv2d(1, 2, 5)} end,
      "layer 2, Conv2d%(1%->2, 5x5%): a 5x5 kernel does not fit a 4x4 input with padding 0")
    assert.error_matches(function() nn.Sequential{nn.Reshape{1, 28, 28}, nn.MaxPool2d(2), nn.Flatten(),
                                                  nn.Linear(100, 10)} end,
      "layer 4, Linear%(100%->10%): takes 100 inputs but the layer before gives 196")
    assert.error_matches(function() nn.Sequential{nn.Linear(10, 12), nn.Reshape{1, 3, 3}} end,
      "layer 2, Reshape%(1x3x3%): takes 9 values a sample but the layer before gives 12")
    assert.error_matches(function() nn.Sequential{nn.Reshape{1, 28, 28}}:forward(nn.zeros{2, 100}) end,
      "Reshape%(1x28x28%): input has 100 columns, expected 784")
    assert.error_matches(function() nn.MaxPool2d(2, {padding = 2}) end, "bad argument #2 to 'MaxPool2d'")
    local core = require("nnlab.core")
    assert.error_matches(function() core.sequential{{kind = "Reshape", channels = 1, height = 4, width = 4},
                                                    {kind = "MaxPool2d", kernel_size = 2, stride = 2, padding = 2}} end,
      "layer 2, MaxPool2d%(2x2, padding 2%): padding must be in 0..1 %(half the kernel%), got 2")
    assert.error_matches(function() core.sequential{{kind = "Conv2d", in_channels = 1, out_channels = 2}} end,
      "layer 1: kernel_size must be an integer in 1..16777216, got nil")
    assert.error_matches(function() core.sequential{{kind = "Reshape", channels = 4096, height = 4096,
                                                     width = 4096}} end,
      "layer 1, Reshape%(4096x4096x4096%): 68719476736 values a sample, more than 16777216")
  end)

  it("are saved and loaded with their settings, to the bit", function()
    nn.seed(5)
    local m = nn.Sequential{nn.Reshape{1, 10, 10}, nn.Conv2d(1, 3, 3, {stride = 2, padding = 1}), nn.BatchNorm(3),
                            nn.ReLU(),
                            nn.AvgPool2d(2), nn.Conv2d(3, 2, 2, {bias = false}), nn.MaxPool2d(1), nn.Flatten(),
                            nn.Linear(2, 4)}
    local data = images(6, 1, 10, 10, 4)
    local x = data:images(1, 6)
    nn.train{model = m, loss = nn.CrossEntropyLoss(), optimizer = nn.SGD{lr = 0.1}, data = data, batch = 3,
             epochs = 2, verbose = false}
    m:evaluate()
    local y = m:forward(x):totable()
    local dir = helper.tmpdir()
    m:save(dir .. "/conv.nnl")
    local back = nn.load(dir .. "/conv.nnl")
    assert.are.equal(tostring(m), tostring(back))
    assert.are.same(y, back:forward(x):totable())
    assert.are.same(m:parameters():totable(), back:parameters():totable())
    local other = nn.Sequential{nn.Reshape{1, 10, 10}, nn.Conv2d(1, 3, 3, {stride = 1, padding = 1}), nn.ReLU(),
                                nn.AvgPool2d(2), nn.Conv2d(3, 2, 2, {bias = false}), nn.MaxPool2d(1), nn.Flatten(),
                                nn.Linear(32, 4)}
    assert.error_matches(function() other:restore(m:encode()) end, "holds a different architecture")
    os.execute("rm -rf " .. dir)
  end)

  it("train, and give the same numbers to the bit on one thread and on two", function()
    -- batches 128 and 64 in two parts (a conv model's parts may be as small
    -- as 16 rows); batch 24 in one part; BatchNorm's whole batch in one part,
    -- the convolution halving its rows over the threads
    local data = nn.mnist().train:subset(1, 512)
    local function run(threads, batch, norm)
      nn.threads(threads)
      nn.seed(6)
      local layers = {nn.Reshape{1, 28, 28}, nn.Conv2d(1, 8, 5, {init = "he"})}
      if norm then layers[#layers + 1] = nn.BatchNorm(8) end
      for _, l in ipairs{nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.1), nn.Linear(1152, 10)} do
        layers[#layers + 1] = l
      end
      local m = nn.Sequential(layers)
      local h = nn.train{model = m, loss = nn.CrossEntropyLoss(), optimizer = nn.SGD{lr = 0.05, momentum = 0.9},
                         data = data, batch = batch, epochs = 3, verbose = false}
      return {h.cost[1], h.cost[3], m:parameters():sum()}
    end
    local before = nn.info().threads
    for _, case in ipairs{{128, false}, {64, false}, {24, false}, {100, true}} do
      local one, two = run(1, case[1], case[2]), run(2, case[1], case[2])
      assert.are.same(one, two)
      assert.is_true(one[2] < one[1])
    end
    nn.threads(before)
  end)

  it("run the CNN studies' quick variants", function()
    local dir = helper.tmpdir()
    for _, name in ipairs{"lenet", "best_cnn"} do
      local code, _, err = helper.nnlab(("run %s/experiments/%s.lua --quick --quiet --out %s"):format(
        helper.root, name, dir))
      assert.are.equal(0, code, err)
      local summary = helper.read(("%s/%s-quick/summary.tsv"):format(dir, name))
      assert.is_nil(summary:find("FAILED"))
      assert.is_truthy(summary:find("DONE"))
    end
    os.execute("rm -rf " .. dir)
  end)
end)
