-- One benchmark workload of the seeds' networks through the public Lua API,
-- run in its own process so that its peak memory is its own:
--   build/nnlab bench/workloads.lua B1|B2|B3|B4|B5|B6|B7 [repeats]
-- Prints "name<TAB>key=value..." with the median time of the repeats.
-- NNLAB_BENCH_ITEMS=N limits the timed epochs of B2, B3, B5 and B6 to the
-- first N training images, for a quick check that they run (not a figure).
local nn = require("nnlab")

local which = arg[1]
local repeats = math.tointeger(tonumber(arg[2] or "3")) or 3

local function median(t)
  table.sort(t)
  return t[(#t + 1) // 2]
end

local function peak_rss_mb()
  local f = io.open("/proc/self/status")
  if not f then return 0 end
  local s = f:read("a")
  f:close()
  return (tonumber(s:match("VmHWM:%s*(%d+)")) or 0) / 1024
end

local mnist = nn.mnist()
local raw = nn.mnist{scale = 1}
local items = math.tointeger(tonumber(os.getenv("NNLAB_BENCH_ITEMS") or ""))

local function b1()
  nn.seed(1)
  local data = mnist.train:subset(1, 30000)
  local times = {}
  for _ = 1, repeats do
    local m = nn.Sequential{nn.Linear(784, 10, {init = "zeros", bias = false})}
    local h = nn.train{model = m, loss = nn.CrossEntropyLoss(), optimizer = nn.SGD{lr = 0.3}, data = data,
                       batch = "full", epochs = 20, shuffle = false, verbose = false}
    local s = 0
    for e = 3, 20 do s = s + h.seconds[e] end
    times[#times + 1] = s / 18
  end
  return {seconds_per_iteration = median(times)}
end

-- The median seconds of one shuffled epoch of a fresh model over `repeats`
-- seeds, the first model's test accuracy (evaluated in batches of
-- eval_batch, 1000 if nil) and the number of training items.
local function epoch_bench(data, test, build, loss, opt, batch, eval_batch)
  -- A few batches first, as torch_workloads.py does, so that neither side's
  -- one-time start (threads, buffers) falls in the timed epoch.
  nn.train{model = build(), loss = loss, optimizer = opt(), data = data:subset(1, 10 * batch), batch = batch,
           epochs = 1, verbose = false}
  if items and items < data:size() then data = data:subset(1, math.max(items, batch)) end
  local times, acc = {}, nil
  for r = 1, repeats do
    collectgarbage() -- the models before, so that the peak memory is one model's
    nn.seed(r)
    local m = build()
    local t0 = nn.clock()
    nn.train{model = m, loss = loss, optimizer = opt(), data = data, batch = batch, epochs = 1, shuffle = true,
             verbose = false}
    times[#times + 1] = nn.clock() - t0
    acc = acc or nn.evaluate(m, test, {batch = eval_batch}).accuracy
  end
  return median(times), acc, data:size()
end

local function b2()
  local t, acc = epoch_bench(raw.train, raw.test, function()
    local init = {init = "normal", std = 0.01}
    return nn.Sequential{nn.Linear(784, 32, init), nn.ReLU(), nn.Linear(32, 16, init), nn.ReLU(),
                         nn.Linear(16, 10, init)}
  end, nn.CrossEntropyLoss(), function() return nn.SGD{lr = 0.01} end, 90)
  return {seconds_per_epoch = t, test_accuracy = acc}
end

local function b3()
  local t, acc = epoch_bench(mnist.train, mnist.test, function()
    local g = {init = "glorot"}
    return nn.Sequential{nn.Linear(784, 512, g), nn.ReLU(), nn.Linear(512, 256, g), nn.ReLU(), nn.Linear(256, 10, g)}
  end, nn.MSELoss{reduction = "sum_per_sample"}, function() return nn.SGD{lr = 0.001} end, 200)
  return {seconds_per_epoch = t, test_accuracy = acc, peak_rss_mb = peak_rss_mb()}
end

local function sgd_momentum() return nn.SGD{lr = 0.01, momentum = 0.9} end

-- LeNet-5 with ReLU and max-pooling, batch 64. Both CNNs keep the default
-- initialisation (weights U(+-1/sqrt(fan_in)), PyTorch's, biases 0).
local function b5()
  local t, acc, n = epoch_bench(mnist.train, mnist.test, function()
    return nn.Sequential{
      nn.Reshape{1, 28, 28},
      nn.Conv2d(1, 6, 5, {padding = 2}), nn.ReLU(), nn.MaxPool2d(2),
      nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
      nn.Flatten(),
      nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    }
  end, nn.CrossEntropyLoss(), sgd_momentum, 64)
  return {seconds_per_epoch = t, test_accuracy = acc, items = n}
end

-- Keras's MNIST CNN example (mnist_cnn.py), batch 128.
-- Its peak memory includes the test set's evaluation, in batches of 128.
local function b6()
  local t, acc, n = epoch_bench(mnist.train, mnist.test, function()
    return nn.Sequential{
      nn.Reshape{1, 28, 28},
      nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
      nn.Flatten(),
      nn.Linear(64 * 12 * 12, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10),
    }
  end, nn.CrossEntropyLoss(), sgd_momentum, 128, 128)
  return {seconds_per_epoch = t, test_accuracy = acc, peak_rss_mb = peak_rss_mb(), items = n}
end

local function b4()
  nn.seed(1)
  local m = nn.Sequential{nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)}
  local data = mnist.train:subset(1, 100)
  local loss = nn.CrossEntropyLoss()
  local times = {}
  for _ = 1, repeats do
    local t0 = nn.clock()
    nn.numgrad{model = m, loss = loss, data = data}
    times[#times + 1] = nn.clock() - t0
  end
  return {seconds = median(times), rel_error = nn.gradcheck{model = m, loss = loss, data = data}}
end

-- What users run: seed 000's grid as shipped (experiments/softmax_regression.lua:
-- 4 points of 1000 full-batch iterations, validation every iteration,
-- checkpoints, metrics and plots) through `nnlab run`, wall time end to end.
local function b7()
  local out = os.tmpname()
  os.remove(out)
  local cmd = ("%s/build/nnlab run %s/experiments/softmax_regression.lua --out %s --quiet >/dev/null 2>&1")
    :format(nn.root, nn.root, out)
  local t0 = nn.clock()
  local _, _, code = os.execute(cmd)
  local seconds = nn.clock() - t0
  local summary = io.open(out .. "/softmax_regression/summary.tsv")
  if summary then summary:close() end
  os.execute("rm -rf " .. out)
  -- exit 1 names the point that diverges (c = 5, lr = 0.5), as the grid expects
  if not summary or code > 1 then error("B7: nnlab run failed", 0) end
  return {seconds = seconds}
end

local benches = {B1 = b1, B2 = b2, B3 = b3, B4 = b4, B5 = b5, B6 = b6, B7 = b7}
if not benches[which] then error("usage: workloads.lua B1|B2|B3|B4|B5|B6|B7 [repeats]", 0) end
local r = benches[which]()
local keys = {}
for k in pairs(r) do keys[#keys + 1] = k end
table.sort(keys)
local out = {which}
for _, k in ipairs(keys) do out[#out + 1] = ("%s=%.6g"):format(k, r[k]) end
print(table.concat(out, "\t"))
