-- Seed 000: softmax regression on MNIST in the style of the numpy original.
-- Weights only (no bias), zeros, full-batch gradient descent on 30000 of the
-- training images (15000 validate, 10000 are held out as the seed does),
-- cost = cross-entropy + 0.5 * c * |W|^2, a grid over c x learning rate,
-- 1000 iterations: each epoch is one iteration of the full batch.
-- Seed's figures at c = 0, lr = 0.3: cost 2.3026 at iteration 1, 0.444 at
-- 101, 0.306 at 901; training accuracy 0.9158 after 1000.
local nn = require("nnlab")

return nn.experiment{
  name = "softmax_regression",
  params = {seed = 1, c = 0, lr = 0.3, epochs = 1000, batch = "full", shuffle = false,
            train_size = 30000, val_size = 15000, holdout_size = 10000},
  grid = {c = {0, 5}, lr = {0.3, 0.5}},
  quick = {epochs = 30},

  data = function(p)
    local mnist = nn.mnist()
    local train, val, holdout = mnist.train:split{p.train_size, p.val_size, p.holdout_size}
    return {train = train, validation = val, test = mnist.test, holdout = holdout}
  end,

  model = function()
    return nn.Sequential{nn.Linear(784, 10, {init = "zeros", bias = false})}
  end,

  optimizer = function(p)
    return nn.SGD{lr = p.lr, l2 = p.c}
  end,

  -- The seed's printed costs, and accuracy on the images it held out.
  after = function(_, run)
    local h = run.history
    return {cost_at_1 = h.cost[1], cost_at_101 = h.cost[101], cost_at_901 = h.cost[901],
            holdout_accuracy = nn.evaluate(run.model, run.data.holdout).accuracy}
  end,
}
