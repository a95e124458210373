local helper = require("helper")
local nn = helper.nn

local mnist = nn.mnist()

describe("SGD", function()
  it("refuses bad settings, naming the option", function()
    assert.has_error(function() nn.SGD{lr = 0 / 0} end,
      "bad argument #1 to 'SGD' (lr must be a finite number, got nan)")
    assert.has_error(function() nn.SGD{lr = -1} end,
      "bad argument #1 to 'SGD' (lr must be a positive finite number, got -1)")
    assert.has_error(function() nn.SGD{lr = 0.1, momentum = 1} end,
      "bad argument #1 to 'SGD' (momentum must be in [0, 1), got 1)")
    assert.has_error(function() nn.SGD{lr = 0.1, l2 = -1} end,
      "bad argument #1 to 'SGD' (l2 must be a finite number >= 0, got -1)")
    assert.has_error(function() nn.SGD{lr = 0.1, lrate = 1} end,
      "bad argument #1 to 'SGD' (unknown option 'lrate' (known: lr, momentum, nesterov, l2, l2_bias, schedule))")
    assert.has_error(function() nn.SGD{lr = 0.1, schedule = {kind = "step"}} end,
      "bad argument #1 to 'SGD' (schedule: step_size must be an integer >= 1, got nil)")
    assert.has_error(function() nn.SGD{lr = 0.1, momentum = "0.9"} end,
      "bad argument #1 to 'SGD' (momentum must be a finite number, got string)")
  end)

  it("follows its schedule", function()
    local o = nn.SGD{lr = 1, schedule = {kind = "step", step_size = 2, gamma = 0.5}}
    local rates = {}
    for e = 0, 4 do rates[#rates + 1] = o:set_epoch(e) end
    assert.are.same({1, 1, 0.5, 0.5, 0.25}, rates)
  end)
end)

describe("training", function()
  it("reproduces seed 000's first cost, log 10, and its L2 term", function()
    local data = mnist.train:subset(1, 1000)
    local m = nn.Sequential{nn.Linear(784, 10, {init = "zeros", bias = false})}
    local h = nn.train{model = m, loss = nn.CrossEntropyLoss(), optimizer = nn.SGD{lr = 0.3, l2 = 5},
                       data = data, batch = "full", epochs = 3, shuffle = false, verbose = false}
    assert.is_near(math.log(10), h.cost[1], 1e-6)
    assert.is_near(math.log(10), h.loss[1], 1e-6)
    assert.is_true(h.cost[3] > h.loss[3])   -- the L2 term is in the cost, not the loss
    assert.are.equal(3, #h.seconds)
  end)

  it("gives the same numbers to the bit on one thread and on two", function()
    -- Batches of 200 are cut into two parts, of 90 pipelined with the next
    -- gather: neither may change a figure.
    local data = mnist.train:subset(1, 3000)
    local function run(threads, batch)
      nn.threads(threads)
      nn.seed(3)
      local m = nn.Sequential{nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10)}
      local h = nn.train{model = m, loss = nn.CrossEntropyLoss(), optimizer = nn.SGD{lr = 0.1, momentum = 0.9},
                         data = data, batch = batch, epochs = 2, verbose = false}
      return {h.cost[2], h.train_accuracy[2], m:parameters():sum()}
    end
    local before = nn.info().threads
    for _, batch in ipairs{200, 90} do
      assert.are.same(run(1, batch), run(2, batch))
    end
    nn.threads(before)
  end)

  it("trains a narrow first layer on a full batch in blocks of pixels to the dense product's figures, and to "
     .. "the same bits on one thread and on two", function()
    -- An epoch of noise first, in batches cut into parts, each part with
    -- gradients of its own that the noise leaves non-zero; then the full
    -- batch of 200 in blocks, where the weights of blocks no image of a
    -- part has (MNIST's last row) must get their zero gradient.
    local pixels = mnist.train:subset(1, 200)
    local dense = nn.dataset{x = pixels:images(1, 200), y = pixels:labels()}
    assert.are.equal("features", dense:kind())
    local rows, labels = {}, {}
    for i = 1, 200 do
      local row = {}
      for j = 1, 784 do row[j] = (i * 7 + j * 13) % 251 end
      rows[i], labels[i] = row, i % 10
    end
    local noise = nn.dataset{x = nn.tensor(rows), y = nn.tensor(labels)}
    local function run(data, threads)
      nn.threads(threads)
      nn.seed(4)
      local m = nn.Sequential{nn.Linear(784, 10)}
      local opt = nn.SGD{lr = 0.5}
      nn.train{model = m, loss = nn.CrossEntropyLoss(), optimizer = nn.SGD{lr = 1e-30}, data = noise, batch = 200,
               epochs = 1, shuffle = false, verbose = false}
      local h = nn.train{model = m, loss = nn.CrossEntropyLoss(), optimizer = opt, data = data, batch = "full",
                         epochs = 5, shuffle = false, verbose = false}
      return {h.cost[5], h.train_accuracy[5], m:parameters():sum()}
    end
    local before = nn.info().threads
    local want, one, two = run(dense, before), run(pixels, 1), run(pixels, 2)
    nn.threads(before)
    assert.are.same(one, two)
    assert.is_near(want[1], one[1], 1e-5)
    assert.are.equal(want[2], one[2])
    assert.is_near(want[3], one[3], 1e-3)
  end)

  it("keeps a history with validation, and gives the same numbers for the same seed", function()
    local function run()
      nn.seed(7)
      local tr, val = mnist.train:subset(1, 3000):split{2000, 1000}
      local m = nn.Sequential{nn.Linear(784, 20), nn.ReLU(), nn.Dropout(0.1), nn.Linear(20, 10)}
      return nn.train{model = m, loss = nn.CrossEntropyLoss(), optimizer = nn.SGD{lr = 0.1, momentum = 0.9},
                      data = tr, batch = 50, epochs = 2, validation = val, verbose = false}
    end
    local a, b = run(), run()
    assert.are.same(a.cost, b.cost)
    assert.are.same(a.val_accuracy, b.val_accuracy)
    assert.is_true(a.val_accuracy[2] > 0.8)
    assert.are.equal(2, #a.val_loss)
  end)

  it("evaluates accuracy, loss, confusion, precision and recall", function()
    nn.seed(1)
    local m = nn.Sequential{nn.Linear(784, 10)}
    nn.train{model = m, loss = nn.CrossEntropyLoss(), optimizer = nn.SGD{lr = 0.5}, data = mnist.train:subset(1, 5000),
             batch = 100, epochs = 2, verbose = false}
    local r = nn.evaluate(m, mnist.test)
    local total, right = 0, 0
    for i = 1, 10 do
      for j = 1, 10 do total = total + r.confusion[i][j] end
      right = right + r.confusion[i][i]
    end
    assert.are.equal(10000, total)
    assert.are.equal(r.accuracy, right / 10000)
    assert.is_true(r.accuracy > 0.85)
    assert.is_true(r.recall[2] > 0.9 and r.precision[2] > 0.8)
  end)

  it("evaluates a narrow model on a dataset it keeps gathered in blocks of pixels as the dense product does, "
     .. "in any batches, and a wide model on the same dataset after it", function()
    nn.seed(2)
    local pixels = mnist.test:subset(1, 700)
    local dense = nn.dataset{x = pixels:images(1, 700), y = pixels:labels()}
    local narrow = nn.Sequential{nn.Linear(784, 10)}
    local wide = nn.Sequential{nn.Linear(784, 40), nn.ReLU(), nn.Linear(40, 10)}
    local train = mnist.train:subset(1, 2000)
    for _, m in ipairs{narrow, wide} do
      nn.train{model = m, loss = nn.CrossEntropyLoss(), optimizer = nn.SGD{lr = 0.5}, data = train, batch = 100,
               epochs = 1, verbose = false}
    end
    local function same(want, got)
      assert.is_near(want.loss, got.loss, 1e-6)
      assert.are.equal(want.accuracy, got.accuracy)
      assert.are.same(want.confusion, got.confusion)
    end
    local want = nn.evaluate(narrow, dense)
    for _, batch in ipairs{1000, 7, 250} do same(want, nn.evaluate(narrow, pixels, {batch = batch})) end
    -- the dataset is kept in blocks for the narrow model: the wide one needs its non-zeros
    local got = nn.evaluate(wide, pixels)
    same(nn.evaluate(wide, dense), got)
    same(want, nn.evaluate(narrow, pixels))
  end)

  it("refuses misuse with a clear error", function()
    local m = nn.Sequential{nn.Linear(784, 10)}
    local ok = {model = m, loss = nn.CrossEntropyLoss(), optimizer = nn.SGD{lr = 0.1}, data = mnist.test}
    local function with(k, v)
      local o = {}
      for key, val in pairs(ok) do o[key] = val end
      o[k] = v
      return o
    end
    assert.has_error(function() nn.train(with("batch", 0)) end,
      "bad argument #1 to 'train' (batch must be an integer in 1..2147483647, got 0)")
    assert.has_error(function() nn.train(with("epochs", 1.5)) end,
      "bad argument #1 to 'train' (epochs must be an integer, got 1.5)")
    assert.error_matches(function() nn.train(with("data", 5)) end, "data must be a dataset, got 5")
    local small = nn.Sequential{nn.Linear(10, 10)}
    assert.error_matches(function() nn.train(with("model", small)) end,
      "the model takes 10 inputs but the data's items have 784 values")
    local loss = nn.CrossEntropyLoss()
    local out = nn.zeros{2, 3}
    assert.error_matches(function() loss:forward(out, nn.tensor{0, 3}) end,
      "CrossEntropyLoss: label 3 %(row 2%) is not a class in 0..2")
    assert.error_matches(function() loss:forward(out, nn.tensor{0 / 0, 1}) end,
      "CrossEntropyLoss: label nan %(row 1%) is not a class in 0..2")
    assert.error_matches(function() loss:forward(out, nn.tensor{0, 1, 2}) end, "target has 3 rows, outputs have 2")
    assert.error_matches(function() nn.MSELoss{reduction = "sum"} end, "reduction must be one of mean, sum_per_sample")
  end)
end)

describe("gradient checks", function()
  local small = mnist.test:subset(1, 12)
  local function net(layers)
    nn.seed(2)
    return nn.Sequential(layers)
  end
  local models = {
    relu = function() return net{nn.Linear(784, 8), nn.ReLU(), nn.Linear(8, 10)} end,
    sigmoid = function() return net{nn.Linear(784, 8), nn.Sigmoid(), nn.Linear(8, 10)} end,
    tanh_dropout = function() return net{nn.Linear(784, 8), nn.Tanh(), nn.Dropout(0.3), nn.Linear(8, 10)} end,
    batchnorm = function() return net{nn.Linear(784, 8), nn.BatchNorm(8), nn.ReLU(), nn.Linear(8, 10)} end,
  }
  local losses = {
    cross_entropy = nn.CrossEntropyLoss(),
    mse_mean = nn.MSELoss(),
    mse_sum_per_sample = nn.MSELoss{reduction = "sum_per_sample"},
  }
  for mname, make in pairs(models) do
    for lname, loss in pairs(losses) do
      it(("agree with backpropagation: %s, %s"):format(mname, lname), function()
        local m = make()
        assert.is_true(nn.gradcheck{model = m, loss = loss, data = small} < 1e-4)
        m:evaluate()
        assert.is_true(nn.gradcheck{model = m, loss = loss, data = small} < 1e-4)
      end)
    end
  end

  it("numgrad returns a tensor in the model's parameter order", function()
    local m = models.relu()
    local g = nn.numgrad{model = m, loss = nn.CrossEntropyLoss(), data = small}
    assert.are.equal(m:num_params(), g:numel())
    assert.are.equal(0, g:get(1))   -- pixel 1 is blank in every image: no gradient
  end)

  it("finds a wrong gradient", function()
    local m = models.relu()
    local rel = nn.gradcheck{model = m, loss = nn.CrossEntropyLoss(), data = small, h = 1e-1}
    assert.is_true(rel > 1e-4)  -- h far too large: the differences are no longer the gradient
  end)

  it("reports a gradient that is NaN or infinite as NaN or infinite, not as agreement", function()
    local x, y = {}, {}
    for i = 1, 6 do
      x[i] = {}
      for j = 1, 4 do x[i][j] = ((i * 7 + j * 13) % 17) / 17 - 0.4 end
      y[i] = i % 3
    end
    local d = nn.dataset{x = x, y = y, classes = 3, kind = "features"}
    local m = nn.Sequential{nn.Linear(4, 3)}
    m:parameters():set(1, 0 / 0) -- a weight of a diverged run
    local rel, det = nn.gradcheck{model = m, loss = nn.CrossEntropyLoss(), data = d, details = true}
    assert.is_true(rel ~= rel, "relative error " .. tostring(rel))
    assert.is_true(det.abs ~= det.abs, "absolute error " .. tostring(det.abs))
    assert.are.equal(1, det.layer)
    -- a step so large that the loss overflows: the numerical gradient is infinite
    rel, det = nn.gradcheck{model = nn.Sequential{nn.Linear(4, 3)}, loss = nn.CrossEntropyLoss(), data = d,
                            h = 1e300, details = true}
    assert.is_false(rel < 1e-3, "relative error " .. tostring(rel))
    assert.is_false(det.abs < 1e-3, "absolute error " .. tostring(det.abs))
  end)
end)

describe("small batches", function()
  -- The lines a script prints under each environment, after checking that
  -- every run succeeded and printed a figure.
  local function outputs(text, envs)
    local dir = helper.tmpdir()
    local script = dir .. "/small.lua"
    helper.write(script, text)
    local runs = {}
    for _, env in ipairs(envs) do
      local code, out, err = helper.nnlab(script, env)
      assert.are.equal(0, code, err)
      assert.matches("^%d", out)
      runs[#runs + 1] = out
    end
    os.execute("rm -rf " .. dir)
    return runs
  end

  it("train to the same bits when the second thread gathers more batches ahead than it has slots, with "
     .. "BatchNorm folding a last batch of one row and Dropout drawing its masks, as on one thread", function()
    -- 9 batches of 10 rows after a shuffle, the last taking the 91st row; 3 epochs
    local runs = outputs([[
local nn = require("nnlab")
nn.seed(5)
local data = nn.mnist{scale = 1}.train:subset(1, 91)
local m = nn.Sequential{nn.Linear(784, 16), nn.BatchNorm(16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 10)}
local h = nn.train{model = m, loss = nn.CrossEntropyLoss(), optimizer = nn.SGD{lr = 0.01}, data = data,
                   batch = 10, epochs = 3, verbose = false}
print(("%.17g %.17g"):format(h.cost[3], m:parameters():sum()))
]], {"NNLAB_THREADS=2 OMP_WAIT_POLICY=passive", "NNLAB_THREADS=1"})
    assert.are.equal(runs[2], runs[1])
  end)

  it("train to the same bits with the second thread gathering ahead, under spinning or passive waits, "
     .. "as on one thread", function()
    local runs = outputs([[
local nn = require("nnlab")
nn.seed(3)
local data = nn.mnist{scale = 1}.train:subset(1, 900)
local m = nn.Sequential{nn.Linear(784, 32, {init = "normal", std = 0.01}), nn.ReLU(), nn.Linear(32, 10)}
local h = nn.train{model = m, loss = nn.CrossEntropyLoss(), optimizer = nn.SGD{lr = 0.01}, data = data,
                   batch = 90, epochs = 2, verbose = false}
print(("%.17g %.17g"):format(h.cost[2], m:parameters():sum()))
]], {"NNLAB_THREADS=2 OMP_WAIT_POLICY=active", "NNLAB_THREADS=2 OMP_WAIT_POLICY=passive", "NNLAB_THREADS=1"})
    assert.are.equal(runs[1], runs[2])
    assert.are.equal(runs[1], runs[3])
  end)
end)
