-- Seed 001: a 784-32-16-10 ReLU perceptron on raw 0..255 pixels, softmax
-- cross-entropy, plain SGD (lr 0.01, batch 90), weights normal(0, 0.01),
-- 3 epochs. Trains on 50000 images, validates on 10000, saves the model,
-- reloads it and reports the test accuracy of the reloaded model.
--   build/nnlab experiments/mlp_784_32_16.lua [epochs]
local nn = require("nnlab")

local epochs = math.tointeger(tonumber(arg and arg[1] or "3"))
if not epochs or epochs < 1 then
  error("usage: nnlab experiments/mlp_784_32_16.lua [epochs, a positive integer]", 0)
end

nn.seed(1)
local raw = nn.mnist{scale = 1}
local train, val = raw.train:split{50000, 10000}
local model = nn.Sequential{
  nn.Linear(784, 32, {init = "normal", std = 0.01}), nn.ReLU(),
  nn.Linear(32, 16, {init = "normal", std = 0.01}), nn.ReLU(),
  nn.Linear(16, 10, {init = "normal", std = 0.01}),
}
local hist = nn.train{model = model, loss = nn.CrossEntropyLoss(), optimizer = nn.SGD{lr = 0.01},
                      data = train, validation = val, batch = 90, epochs = epochs, shuffle = true,
                      verbose = true}

local out = nn.root .. "/results/mlp_784_32_16"
os.execute(("mkdir -p '%s'"):format(out))
model:save(out .. "/model.nnl")
local reloaded = nn.load(out .. "/model.nnl")
local r = nn.evaluate(reloaded, raw.test)

print(("epoch\tcost\ttrain_accuracy\tval_accuracy"))
for e = 1, #hist.cost do
  print(("%d\t%.4f\t%.4f\t%.4f"):format(e, hist.cost[e], hist.train_accuracy[e], hist.val_accuracy[e]))
end
print(("test_accuracy\t%.4f\t(model saved to %s/model.nnl)"):format(r.accuracy, out))
