-- Seed 001: a 784-32-16-10 ReLU perceptron on raw 0..255 pixels, softmax
-- cross-entropy, plain SGD (lr 0.01, batch 90), weights normal(0, 0.01),
-- 3 epochs. Trains on 50000 images and validates on 10000; the saved model
-- is reloaded for the test figure, as the seed saves and loads its
-- parameters.
local nn = require("nnlab")

return nn.experiment{
  name = "mlp_784_32_16",
  params = {seed = 1, lr = 0.01, batch = 90, epochs = 3, std = 0.01, scale = 1, train_size = 50000,
            val_size = 10000},
  quick = {epochs = 1, train_size = 10000, val_size = 2000},

  data = function(p)
    return nn.mnist_split{train = p.train_size, validation = p.val_size, scale = p.scale}
  end,

  model = function(p)
    local init = {init = "normal", std = p.std}
    return nn.Sequential{
      nn.Linear(784, 32, init), nn.ReLU(),
      nn.Linear(32, 16, init), nn.ReLU(),
      nn.Linear(16, 10, init),
    }
  end,

  optimizer = function(p)
    return nn.SGD{lr = p.lr}
  end,

  after = function(_, run)
    local reloaded = nn.load(run.model_path)
    return {reloaded_test_accuracy = nn.evaluate(reloaded, run.data.test).accuracy}
  end,
}
