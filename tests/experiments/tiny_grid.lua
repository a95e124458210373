-- A grid small enough to look at its plots and page in seconds: a 784-16-10
-- network on 1000 training and 300 validation images, 6 epochs, over three
-- axes (learning rate over four decades, momentum, hidden width). lr = 30
-- raises the cost above 1.5 times its first epoch's, so its points are marked
-- FAILED. Pin axes with --set to get fewer.
local nn = require("nnlab")

return nn.experiment{
  name = "tiny_grid",
  params = {seed = 1, lr = 0.1, momentum = 0, hidden = 16, batch = 50, epochs = 6,
            train_size = 1000, val_size = 300, diverge_factor = 1.5},
  grid = {lr = {0.003, 0.03, 0.3, 30}, momentum = {0, 0.9}, hidden = {8, 32}},

  data = function(p)
    return nn.mnist_split{train = p.train_size, validation = p.val_size}
  end,

  model = function(p)
    return nn.Sequential{nn.Linear(784, p.hidden, {init = "he"}), nn.ReLU(), nn.Linear(p.hidden, 10)}
  end,

  optimizer = function(p)
    return nn.SGD{lr = p.lr, momentum = p.momentum}
  end,
}
