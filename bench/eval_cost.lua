-- What a grid point of seed 000 spends outside the training step: core.evaluate on
-- the 15000 validation images (batches of 1000, and one of 15000) beside one
-- full-batch training step on the 30000, medians of 21 in one process.
-- build/nnlab bench/eval_cost.lua
local nn = require("nnlab")
nn.seed(1)
local mnist = nn.mnist()
local train, val = mnist.train:split{30000, 15000}
local m = nn.Sequential{nn.Linear(784, 10, {init = "zeros", bias = false})}
local loss, opt = nn.CrossEntropyLoss(), nn.SGD{lr = 0.3}
local core = require("nnlab.core")
core.train_epoch(m, loss, opt, train, 30000, false)
core.evaluate(m, loss, val, 1000)
local function med(f, n)
  local t = {}
  for i = 1, n do local t0 = nn.clock(); f(); t[i] = nn.clock() - t0 end
  table.sort(t); return t[(n + 1) // 2]
end
local tr = med(function() core.train_epoch(m, loss, opt, train, 30000, false) end, 21)
local ev = med(function() core.evaluate(m, loss, val, 1000) end, 21)
local ev15 = med(function() core.evaluate(m, loss, val, 15000) end, 21)
print(("train step %.2f ms  evaluate(batch 1000) %.2f ms  evaluate(batch 15000) %.2f ms  ratio %.2f"):format(
  tr * 1e3, ev * 1e3, ev15 * 1e3, ev / tr))
