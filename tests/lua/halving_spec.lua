-- Issue 15, successive halving: prune = {metric, rungs, eta} with
-- synchronous rungs, locally and with --jobs; survivors the best 1/eta at
-- each rung, the others PRUNED with their figures; halving.tsv and its plot.
local helper = require("helper")
local tsv = require("nnlab.tsv")

local HALVING = [[
local nn = require("nnlab")
return nn.experiment{
  name = "halving",
  params = {seed = 1, lr = 0.1, momentum = 0, hidden = 8, batch = 50, epochs = 4, n = 300},
  grid = {lr = {0.003, 0.03, 0.3}, momentum = {0, 0.5, 0.9}},
  prune = {metric = "val_accuracy", rungs = {1, 2, 4}, eta = 3},
  settings = {checkpoint_seconds = 0},
  data = function(p) return nn.mnist_split{train = p.n, validation = 200} end,
  model = function(p) return nn.Sequential{nn.Linear(784, p.hidden), nn.ReLU(), nn.Linear(p.hidden, 10)} end,
  optimizer = function(p) return nn.SGD{lr = p.lr, momentum = p.momentum} end,
}
]]

local function statuses(grid)
  local _, rows = assert(tsv.read_table(grid .. "/summary.tsv"))
  local t = {}
  for _, r in ipairs(rows) do t[tostring(r.point)] = r.status end
  return t, rows
end

--- The points ranked by val_accuracy at epoch e (ties to the earlier name), from their metrics.tsv.
local function ranked_at(grid, names, e)
  local list = {}
  for _, name in ipairs(names) do
    local _, rows = tsv.read_table(grid .. "/" .. name .. "/metrics.tsv")
    list[#list + 1] = {name = name, v = rows[e].val_accuracy}
  end
  table.sort(list, function(a, b)
    if a.v ~= b.v then return a.v > b.v end
    return a.name < b.name
  end)
  return list
end

describe("successive halving", function()
  local dir, path
  before_each(function()
    dir = helper.tmpdir()
    path = dir .. "/halving.lua"
    helper.write(path, HALVING)
  end)

  it("keeps the best 1/eta at each rung and prunes the rest with their figures", function()
    local code, _, err = helper.nnlab(("run %s --out %s/a"):format(path, dir))
    assert.equal(0, code, err)
    assert.truthy(err:find("rung 1 of 3: 9 points to epoch 1", 1, true))
    assert.truthy(err:find("rung 2 of 3: 3 points to epoch 2", 1, true))
    assert.truthy(err:find("rung 3 of 3: 1 point to epoch 4", 1, true))
    local grid = dir .. "/a/halving"
    local st, rows = statuses(grid)
    local names = {}
    for name in pairs(st) do names[#names + 1] = name end
    table.sort(names)
    assert.equal(9, #names)
    -- rung 1: the best 3 by validation accuracy at epoch 1 go on
    local r1 = ranked_at(grid, names, 1)
    local second = {}
    for i = 1, 3 do second[i] = r1[i].name end
    for i = 4, 9 do
      assert.equal("PRUNED", st[r1[i].name], r1[i].name)
      local _, m = tsv.read_table(grid .. "/" .. r1[i].name .. "/metrics.tsv")
      assert.equal(1, #m)
      assert.matches("^rung 1 of 3, epoch 1: val_accuracy", helper.read(grid .. "/" .. r1[i].name .. "/PRUNED"))
    end
    table.sort(second)
    local r2 = ranked_at(grid, second, 2)
    assert.equal("DONE", st[r2[1].name])
    assert.equal("PRUNED", st[r2[2].name])
    assert.equal("PRUNED", st[r2[3].name])
    local _, m = tsv.read_table(grid .. "/" .. r2[2].name .. "/metrics.tsv")
    assert.equal(2, #m)
    local _, full = tsv.read_table(grid .. "/" .. r2[1].name .. "/metrics.tsv")
    assert.equal(4, #full)
    -- PRUNED points keep their figures, with how far they went
    local n_figures = 0
    for _, r in ipairs(rows) do
      if r.status == "PRUNED" then
        assert.is_number(r.val_accuracy)
        assert.is_number(r.epochs_trained)
        n_figures = n_figures + 1
      end
    end
    assert.equal(8, n_figures)
    local _, hv = tsv.read_table(grid .. "/halving.tsv")
    assert.equal(12, #hv)
    assert.equal(r1[1].name, hv[1].point)
    assert.equal("continue", hv[3].decision)
    assert.equal("pruned", hv[4].decision)
    assert.truthy(helper.read(grid .. "/grid_halving.gp"):find("set logscale x", 1, true))
    -- a second run reuses every decision and result
    local before = helper.read(grid .. "/halving.tsv")
    code, _, err = helper.nnlab(("run %s --out %s/a"):format(path, dir))
    assert.equal(0, code, err)
    assert.equal(before, helper.read(grid .. "/halving.tsv"))
    assert.truthy(err:find("finished earlier, reused", 1, true))
    assert.truthy(err:find("pruned earlier, skipped", 1, true))
    -- --jobs 2: the same decisions and the same figures
    code, _, err = helper.nnlab(("run %s --out %s/j --jobs 2 --quiet"):format(path, dir))
    assert.equal(0, code, err)
    assert.equal(before, helper.read(dir .. "/j/halving/halving.tsv"))
    local sj = statuses(dir .. "/j/halving")
    assert.same(st, sj)
    assert.equal(helper.read(grid .. "/" .. r2[1].name .. "/final.tsv"):gsub("seconds\t[^\n]*\n", ""),
      (helper.read(dir .. "/j/halving/" .. r2[1].name .. "/final.tsv"):gsub("seconds\t[^\n]*\n", "")))
  end)

  it("checks its declaration and --rung", function()
    assert.error_matches(function()
      require("nnlab").experiment{name = "x", params = {epochs = 4}, prune = {metric = "val_accuracy", rungs = {2, 1}},
        data = function() end, model = function() end, optimizer = function() end}
    end, "prune.rungs must increase")
    helper.write(path, (HALVING:gsub("epochs = 4", "epochs = 5")))
    local code, _, err = helper.nnlab(("run %s --out %s/b"):format(path, dir))
    assert.equal(2, code)
    assert.truthy(err:find("prune.rungs must end at the epochs parameter (5), got 4", 1, true))
    helper.write(path, HALVING)
    code, _, err = helper.nnlab(("run %s --out %s/b --point 0"):format(path, dir))
    assert.equal(2, code)
    assert.truthy(err:find("needs --rung K (1..3)", 1, true))
    code, _, err = helper.nnlab(("run %s --out %s/b --point 0 --rung 1 --quiet"):format(path, dir))
    assert.equal(0, code, err)
    local _, m = tsv.read_table(dir .. "/b/halving/lr=0.003,momentum=0/metrics.tsv")
    assert.equal(1, #m)
  end)
end)
