-- Seed 002: a 784-128-10 ReLU network whose backpropagation is checked
-- against the numerical gradient (central differences, h = 1e-5) of every
-- parameter, then trained with L2, batch normalisation and a learning-rate
-- schedule as grid axes. Each point reports the largest relative error of
-- the gradient check on 100 training images, draws the confusion matrix of
-- the test set and a picture of test digits with true and predicted labels.
local nn = require("nnlab")

local function schedule(p)
  if p.schedule == "step" then return {kind = "step", step_size = math.max(1, p.epochs // 3), gamma = 0.3} end
  if p.schedule == "exponential" then return {kind = "exponential", gamma = 0.8} end
  if p.schedule == "cosine" then return {kind = "cosine", t_max = p.epochs} end
  return nil
end

return nn.experiment{
  name = "numeric_gradient",
  params = {seed = 1, lr = 0.1, l2 = 0, batchnorm = false, schedule = "step", batch = 100, epochs = 10,
            train_size = 50000, val_size = 10000, check_size = 100},
  grid = {l2 = {0, 1e-4}, batchnorm = {false, true}, schedule = {"step", "exponential", "cosine"}},
  quick = {epochs = 1, train_size = 5000, val_size = 1000},

  data = function(p)
    return nn.mnist_split{train = p.train_size, validation = p.val_size}
  end,

  model = function(p)
    if p.batchnorm then
      return nn.Sequential{nn.Linear(784, 128, {init = "he"}), nn.BatchNorm(128), nn.ReLU(), nn.Linear(128, 10)}
    end
    return nn.Sequential{nn.Linear(784, 128, {init = "he"}), nn.ReLU(), nn.Linear(128, 10)}
  end,

  optimizer = function(p)
    return nn.SGD{lr = p.lr, l2 = p.l2, schedule = schedule(p)}
  end,

  after = function(p, run)
    local model, test = run.model, run.data.test
    model:evaluate()
    local check = run.data.train:subset(1, p.check_size)
    local rel = nn.gradcheck{model = model, loss = run.loss, data = check}

    local r = nn.evaluate(model, test)
    local digits = {}
    for d = 0, 9 do digits[#digits + 1] = tostring(d) end
    run.plot.heatmap(run.dir, "confusion", {
      title = "test set: true (rows) against predicted (columns)", corner = "true\\predicted",
      xlabel = "predicted", ylabel = "true", row_labels = digits, col_labels = digits,
      values = r.confusion, format = "%.0f", width = 700, height = 620})

    local n = 20
    local x = test:images(1, n)
    local pred = model:predict(x)
    local truth = test:subset(1, n):labels():totable()
    local rows, titles = x:totable(), {}
    for i = 1, n do
      local wrong = truth[i] == pred[i] - 1 and "" or " (wrong)"
      titles[i] = ("true %d, predicted %d%s"):format(truth[i], pred[i] - 1, wrong)
    end
    run.plot.digits(run.dir, "samples", rows, titles, 5)

    local worst, worst_class = 1, 0
    for c = 1, 10 do
      if r.recall[c] < worst then worst, worst_class = r.recall[c], c - 1 end
    end
    return {gradcheck_rel_error = rel, worst_recall = worst, worst_recall_class = worst_class}
  end,
}
