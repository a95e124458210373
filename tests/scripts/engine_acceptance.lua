-- The engine issue's acceptance script, unchanged: run with build/nnlab.
local nn = require("nnlab")
nn.seed(1)

local mnist = nn.mnist()                      -- the vendored data/mnist; nn.mnist{dir = "..."} reads another copy
local train, test = mnist.train, mnist.test
assert(train:size() == 60000 and test:size() == 10000)
local tr, val = train:split{50000, 10000}     -- seeded shuffle; counts or fractions ({0.6, 0.2, 0.2} works too)
assert(tr:size() == 50000 and val:size() == 10000)

-- 1. seed 001's network on raw 0..255 pixels, trained by the library's loop
local raw = nn.mnist{scale = 1}               -- pixel values as they are; the default scale is 1/255
local rtr, rval = raw.train:split{50000, 10000}
local model = nn.Sequential{
  nn.Linear(784, 32, {init = "normal", std = 0.01}), nn.ReLU(),
  nn.Linear(32, 16, {init = "normal", std = 0.01}), nn.ReLU(),
  nn.Linear(16, 10, {init = "normal", std = 0.01}),
}
local loss = nn.CrossEntropyLoss()
local opt = nn.SGD{lr = 0.01, l2 = 0}
local hist = nn.train{model = model, loss = loss, optimizer = opt, data = rtr,
                      batch = 90, epochs = 1, shuffle = true, validation = rval}
assert(type(hist.cost) == "table" and type(hist.val_accuracy) == "table")
local r = nn.evaluate(model, raw.test)            -- {accuracy = ..., loss = ..., confusion = 10x10 counts}
print("mlp_test_accuracy", r.accuracy)

-- 2. save, load, same predictions
local path = os.tmpname()
model:save(path)
local m2 = nn.load(path)
os.remove(path)
print("reload_same", nn.evaluate(m2, raw.test).accuracy == r.accuracy and 1 or 0)

-- 3. a hand-written loop, Torch style, batch-only
local m3 = nn.Sequential{ nn.Linear(784, 64), nn.Tanh(), nn.Linear(64, 10) }
local sgd = nn.SGD{lr = 0.05, momentum = 0.9, l2 = 1e-4}
for batch in tr:batches{size = 100, shuffle = true} do
  local out = m3:forward(batch.x)
  local l = loss:forward(out, batch.y)
  m3:zero_grad()
  m3:backward(batch.x, loss:backward(out, batch.y))
  sgd:step(m3)
end
print("loop_test_accuracy", nn.evaluate(m3, test).accuracy)

-- 4. gradient check of backprop against central differences
local small = test:subset(1, 20)
local g = nn.Sequential{ nn.Linear(784, 16), nn.Sigmoid(), nn.Linear(16, 10) }
print("gradcheck_ce", nn.gradcheck{model = g, loss = nn.CrossEntropyLoss(), data = small})
print("gradcheck_mse", nn.gradcheck{model = g, loss = nn.MSELoss{reduction = "sum_per_sample"}, data = small})

-- 5. seed 000: softmax regression, zeros, no bias, full batch, lr 0.3, on 30000 training images
local x30k = mnist.train:split{30000, 15000, 10000}
local sm = nn.Sequential{ nn.Linear(784, 10, {init = "zeros", bias = false}) }
local h = nn.train{model = sm, loss = nn.CrossEntropyLoss(), optimizer = nn.SGD{lr = 0.3, l2 = 0},
                   data = x30k, batch = 30000, epochs = 100, shuffle = false}
print("softmax_cost_after_100", h.cost[#h.cost])
