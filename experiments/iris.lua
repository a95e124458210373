-- Real-valued data from a CSV file: Fisher's iris measurements (data/iris/),
-- four features and three species, with a 4-16-3 ReLU network behind
-- nn.Normalize fitted on the training flowers (the features are centimetres,
-- petal widths 0.1-2.5 beside sepal lengths 4.3-7.9). The grid
-- sweeps the L2 strength c and the learning rate, as seed 000 does on MNIST;
-- the 150 flowers are split (seeded) into 90 to train, 30 to validate and 30
-- to test.
local nn = require("nnlab")

return nn.experiment{
  name = "iris",
  params = {seed = 1, c = 0, lr = 0.05, momentum = 0.9, hidden = 16, batch = 15, epochs = 200},
  grid = {c = {0, 1e-3, 1e-2}, lr = {0.01, 0.05, 0.2}},
  quick = {epochs = 20},

  data = function()
    local flowers = nn.csv{path = nn.root .. "/data/iris/iris.csv", label = "species"}
    local train, validation, test = flowers:split{90, 30, 30}
    return {train = train, validation = validation, test = test}
  end,

  model = function(p, data)
    return nn.Sequential{nn.Normalize(data.train), nn.Linear(4, p.hidden, {init = "he"}), nn.ReLU(),
                         nn.Linear(p.hidden, 3)}
  end,

  optimizer = function(p)
    return nn.SGD{lr = p.lr, momentum = p.momentum, l2 = p.c}
  end,
}
