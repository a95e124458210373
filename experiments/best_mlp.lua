-- Our own: the best multilayer perceptron nnlab trains on MNIST in a few
-- minutes. 784-1024-512-10 ReLU with He initialisation and dropout, SGD with
-- Nesterov momentum, a cosine learning-rate schedule and a little L2, on
-- 55000 training images (5000 validate). The grid tries two dropout rates.
local nn = require("nnlab")

return nn.experiment{
  name = "best_mlp",
  params = {seed = 1, lr = 0.05, momentum = 0.9, l2 = 5e-5, dropout = 0.2, batch = 128, epochs = 30,
            hidden1 = 1024, hidden2 = 512, train_size = 55000, val_size = 5000},
  grid = {dropout = {0.1, 0.25}},
  quick = {epochs = 2, train_size = 10000, val_size = 2000, hidden1 = 256, hidden2 = 128},

  data = function(p)
    return nn.mnist_split{train = p.train_size, validation = p.val_size}
  end,

  model = function(p)
    return nn.Sequential{
      nn.Linear(784, p.hidden1, {init = "he"}), nn.ReLU(), nn.Dropout(p.dropout),
      nn.Linear(p.hidden1, p.hidden2, {init = "he"}), nn.ReLU(), nn.Dropout(p.dropout),
      nn.Linear(p.hidden2, 10),
    }
  end,

  optimizer = function(p)
    return nn.SGD{lr = p.lr, momentum = p.momentum, nesterov = true, l2 = p.l2,
                  schedule = {kind = "cosine", t_max = p.epochs}}
  end,
}
