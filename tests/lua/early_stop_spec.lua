-- Issue 15, early stopping: early_stop = {metric, patience, min_delta}, the
-- on_epoch hook, the best epoch's model and figures, and a resume after a
-- kill that ends identically.
local helper = require("helper")
local tsv = require("nnlab.tsv")
local nn = require("nnlab")

-- lr 0.5 on 300 images overfits: the validation loss is lowest near epoch 9
-- and rises after. KILL_AT=e ends the process (exit 137, nothing cleaned up)
-- after training epoch e, before its checkpoint is written.
local ES = [[
local nn = require("nnlab")
return nn.experiment{
  name = "es",
  params = {seed = 1, lr = 0.5, epochs = 30, batch = 50, hidden = 16},
  settings = {checkpoint_seconds = 0},
  early_stop = {metric = "val_loss", patience = 3, min_delta = 0},
  on_epoch = function(p, e, history)
    if tonumber(os.getenv("KILL_AT") or "") == e then os.exit(137) end
  end,
  data = function(p) return nn.mnist_split{train = 300, validation = 200} end,
  model = function(p) return nn.Sequential{nn.Linear(784, p.hidden), nn.ReLU(), nn.Linear(p.hidden, 10)} end,
  optimizer = function(p) return nn.SGD{lr = p.lr} end,
}
]]

local function without_seconds(path)
  local t = assert(tsv.read_kv(path))
  t.seconds = nil
  return t
end

describe("early stopping", function()
  local dir, path
  before_each(function()
    dir = helper.tmpdir()
    path = dir .. "/es.lua"
    helper.write(path, ES)
  end)

  it("ends DONE at best + patience with the best epoch's model and figures", function()
    local code, _, err = helper.nnlab(("run %s --out %s/a --quiet"):format(path, dir))
    assert.equal(0, code, err)
    local point = dir .. "/a/es/default"
    local final = assert(tsv.read_kv(point .. "/final.tsv"))
    local _, rows = tsv.read_table(point .. "/metrics.tsv")
    -- the best epoch is the lowest validation loss's, the stop patience epochs later
    local best = 1
    for e, r in ipairs(rows) do
      if r.val_loss < rows[best].val_loss then best = e end
    end
    assert.equal(best, final.best_epoch)
    assert.equal(best + 3, final.stopped_epoch)
    assert.equal(best + 3, #rows)
    assert.is_true(#rows < 30)
    assert.is_true(best > 1)
    -- the figures are the best epoch's, and so is model.nnl
    assert.is_true(math.abs(final.val_loss - rows[best].val_loss) < 1e-6)
    assert.is_true(math.abs(final.val_accuracy - rows[best].val_accuracy) < 1e-9)
    assert.is_true(math.abs(final.cost - rows[best].cost) < 1e-6)
    assert.are_not.equal(rows[#rows].val_loss, rows[best].val_loss)
    local m = nn.load(point .. "/model.nnl")
    nn.seed(1) -- as the runner seeds the data
    local data = nn.mnist_split{train = 300, validation = 200}
    assert.is_true(math.abs(nn.evaluate(m, data.validation).accuracy - rows[best].val_accuracy) < 1e-9)
    assert.truthy(io.open(point .. "/DONE"))
    assert.truthy(helper.read(point .. "/config.tsv"):find("early_stop\tval_loss,patience=3,min_delta=0\n", 1, true))
  end)

  it("resumes after a kill, before or after the best epoch, to the same figures and model", function()
    assert.equal(0, (helper.nnlab(("run %s --out %s/a --quiet"):format(path, dir))))
    local ref = dir .. "/a/es/default"
    local best = tsv.read_kv(ref .. "/final.tsv").best_epoch
    for _, at in ipairs{best - 2, best + 2} do
      local out = ("%s/k%d"):format(dir, at)
      local code = helper.nnlab(("run %s --out %s --quiet"):format(path, out), "KILL_AT=" .. at)
      assert.equal(137, code)
      local point = out .. "/es/default"
      assert.falsy(io.open(point .. "/DONE"))
      local _, rows = tsv.read_table(point .. "/metrics.tsv")
      assert.equal(at - 1, #rows)
      local code2, _, err = helper.nnlab(("run %s --out %s"):format(path, out))
      assert.equal(0, code2, err)
      assert.matches("continuing from its checkpoint after epoch " .. (at - 1), err)
      assert.same(without_seconds(ref .. "/final.tsv"), without_seconds(point .. "/final.tsv"))
      assert.equal(helper.read(ref .. "/model.nnl"), helper.read(point .. "/model.nnl"))
    end
  end)

  it("lets on_epoch stop a point, and names an unknown or wrong declaration key", function()
    local function decl(extra)
      local t = {name = "x", params = {lr = 0.1}, data = function() end, model = function() end,
                 optimizer = function() end}
      for k, v in pairs(extra) do t[k] = v end
      return nn.experiment(t)
    end
    assert.error_matches(function() decl{early_stopping = {}} end, "unknown key 'early_stopping'")
    assert.error_matches(function() decl{early_stop = {metric = "val_acc", patience = 2}} end,
      "early_stop.metric must be one of")
    assert.error_matches(function() decl{early_stop = {metric = "val_loss", patience = 0}} end,
      "early_stop.patience must be an integer >= 1")
    assert.error_matches(function() decl{early_stop = {metric = "val_loss", patience = 2, delta = 1}} end,
      "early_stop.delta is not a key")
    assert.error_matches(function() decl{on_epoch = 3} end, "'on_epoch' must be a function")
    local hooked = ES:gsub("early_stop = [^\n]*\n", "")
      :gsub("if tonumber", "if e == 4 then return false end\n    if tonumber")
    helper.write(path, hooked)
    local code, _, err = helper.nnlab(("run %s --out %s/h --quiet"):format(path, dir))
    assert.equal(0, code, err)
    local final = tsv.read_kv(dir .. "/h/es/default/final.tsv")
    assert.equal(4, final.stopped_epoch)
    assert.is_nil(final.best_epoch)
    local _, rows = tsv.read_table(dir .. "/h/es/default/metrics.tsv")
    assert.equal(4, #rows)
  end)
end)
