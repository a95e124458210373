-- Seed 003: the Keras network 784-512-256-10 (ReLU, ReLU, linear) trained on
-- the sum of squared errors against one-hot labels divided by the batch size,
-- SGD lr 0.001, batch 200, 30 epochs, pixels / 255, Glorot-uniform weights.
-- The seed printed only its loss; here the test accuracy is measured too.
local nn = require("nnlab")

return nn.experiment{
  name = "mlp_784_512_256_mse",
  params = {seed = 1, lr = 0.001, batch = 200, epochs = 30, train_size = 50000, val_size = 10000},
  quick = {epochs = 2, train_size = 10000, val_size = 2000},

  data = function(p)
    return nn.mnist_split{train = p.train_size, validation = p.val_size}
  end,

  model = function()
    local glorot = {init = "glorot"}
    return nn.Sequential{
      nn.Linear(784, 512, glorot), nn.ReLU(),
      nn.Linear(512, 256, glorot), nn.ReLU(),
      nn.Linear(256, 10, glorot),
    }
  end,

  loss = function()
    return nn.MSELoss{reduction = "sum_per_sample"}
  end,

  optimizer = function(p)
    return nn.SGD{lr = p.lr}
  end,
}
