local helper = require("helper")
local tsv = require("nnlab.tsv")

local SOFTMAX = helper.root .. "/experiments/softmax_regression.lua"
local SETS = "--set epochs=30 --set train_size=3000 --set val_size=1000 --set holdout_size=1000"
local NAME = helper.grid_name(SOFTMAX, SETS)

-- Successive halving over 9 tiny points: rungs of 1, 2 and 4 epochs.
local HALVING = [[
local nn = require("nnlab")
return nn.experiment{
  name = "halving",
  params = {seed = 1, lr = 0.1, momentum = 0, hidden = 8, batch = 50, epochs = 4, n = 300},
  grid = {lr = {0.003, 0.03, 0.3}, momentum = {0, 0.5, 0.9}},
  prune = {metric = "val_accuracy", rungs = {1, 2, 4}, eta = 3},
  data = function(p) return nn.mnist_split{train = p.n, validation = 200} end,
  model = function(p) return nn.Sequential{nn.Linear(784, p.hidden), nn.ReLU(), nn.Linear(p.hidden, 10)} end,
  optimizer = function(p) return nn.SGD{lr = p.lr, momentum = p.momentum} end,
}
]]

local function summary(grid)
  local _, rows = assert(tsv.read_table(grid .. "/summary.tsv"))
  local t = {}
  for _, r in ipairs(rows) do t[r.point] = {status = r.status, val_accuracy = r.val_accuracy} end
  return t
end

local function local_run(out)
  local code = helper.nnlab(("run %s %s --out %s --quiet"):format(SOFTMAX, SETS, out))
  assert.are.equal(1, code) -- c=5, lr=0.5 diverges
  return summary(out .. "/" .. NAME)
end

describe("GNU parallel", function()
  it("runs the points listed by --list and collect gives a local run's summary", function()
    if not os.execute("command -v parallel >/dev/null 2>&1") then
      error("GNU parallel is not installed (apt-get install parallel)")
    end
    local dir = helper.tmpdir()
    local nnlab = helper.root .. "/build/nnlab"
    local expected = local_run(dir .. "/local")
    local cmd = ("%s run %s %s --list | cut -f1 | parallel -j 2 %s run %s %s --point {} --quiet --out %s/par "
      .. "2>/dev/null; %s collect %s/par/%s >/dev/null"):format(nnlab, SOFTMAX, SETS, nnlab,
      SOFTMAX, SETS, dir, nnlab, dir, NAME)
    os.execute(cmd)
    assert.are.same(expected, summary(dir .. "/par/" .. NAME))
    os.execute("rm -rf " .. dir)
  end)
end)

-- A real single-node Slurm, where one can be started (root, slurm-wlm, munge).
local slurm_dir = helper.tmpdir()
local start = io.popen(("sh %s/tests/slurm/start.sh %s 2>&1"):format(helper.root, slurm_dir))
local started = start:read("a")
local ok = start:close()

if not ok then
  pending("Slurm integration test skipped: " .. started:gsub("%s+$", ""))
  os.execute("rm -rf " .. slurm_dir)
else
  describe("Slurm", function()
    local conf = started:match("SLURM_CONF=(%S+)")
    teardown(function()
      os.execute(("sh %s/tests/slurm/stop.sh %s"):format(helper.root, slurm_dir))
      os.execute("rm -rf " .. slurm_dir)
    end)

    it("runs a 4-point grid as a job array; its summary equals a local run's", function()
      local out = slurm_dir .. "/results"
      local expected
      do
        local code = helper.nnlab(("run %s %s --out %s/local --quiet"):format(SOFTMAX, SETS, slurm_dir))
        assert.are.equal(1, code)
        expected = summary(slurm_dir .. "/local/" .. NAME)
      end
      local code, stdout, stderr = helper.nnlab(("slurm %s %s --out %s --max-parallel 2 --submit --wait"):format(
        SOFTMAX, SETS, out), "SLURM_CONF=" .. conf)
      assert.are.equal(1, code, stderr) -- the diverging point is FAILED, so --wait exits 1
      assert.matches("submitted: array job %d+ %(4 points%), collect job %d+", stdout)
      assert.matches("1 of 4 points did not finish: c=5,lr=0.5 %(FAILED%)", stderr)
      local script = helper.read(out .. "/" .. NAME .. "/slurm/" .. NAME .. ".sbatch")
      assert.matches("#SBATCH %-%-array=0%-3%%2", script)
      assert.matches('%-%-point "%$SLURM_ARRAY_TASK_ID"', script)
      assert.are.same(expected, summary(out .. "/" .. NAME))
    end)

    it("runs a grid whose --out holds a space and a % (which sbatch would expand)", function()
      local out = slurm_dir .. "/with space %j"
      local code, stdout, stderr = helper.nnlab(("slurm %s --set epochs=3 --set train_size=500 --set val_size=200 "
        .. "--set holdout_size=100 --set c=0 --out '%s' --submit --wait"):format(SOFTMAX, out), "SLURM_CONF=" .. conf)
      assert.are.equal(0, code, stderr)
      assert.matches("all 2 points done", stdout)
      local grid = out .. "/softmax_regression+c=0+epochs=3+holdout_size=100+train_size=500+val_size=200"
      local _, rows = assert(tsv.read_table(grid .. "/summary.tsv"))
      assert.are.same({"DONE", "DONE"}, {rows[1].status, rows[2].status})
      local logs = io.popen(("ls '%s/slurm' | grep -c '[.]log$'"):format(grid)):read("l")
      assert.are.equal("3", logs) -- two tasks and the collect job, named as written
    end)

    it("runs successive halving as one array per rung, each chosen by a job after the last", function()
      local dir = helper.tmpdir()
      local path = dir .. "/halving.lua"
      helper.write(path, HALVING)
      local code, _, err = helper.nnlab(("run %s --out %s/local --quiet"):format(path, dir))
      assert.are.equal(0, code, err)
      local out = dir .. "/slurm"
      local stdout
      code, stdout, err = helper.nnlab(("slurm %s --out %s --max-parallel 3 --submit --wait"):format(path, out),
        "SLURM_CONF=" .. conf)
      assert.are.equal(0, code, err)
      assert.matches("submitted: rung 1 of 3, array job %d+ %(9 points%), then job %d+ %(choose the survivors", stdout)
      assert.matches("all 9 points done", stdout)
      local grid = out .. "/halving/"
      assert.are.equal(helper.read(dir .. "/local/halving/halving.tsv"), helper.read(grid .. "halving.tsv"))
      local function statuses(g)
        local _, rows = assert(tsv.read_table(g .. "summary.tsv"))
        local t = {}
        for _, r in ipairs(rows) do t[r.point] = r.status end
        return t
      end
      assert.are.same(statuses(dir .. "/local/halving/"), statuses(grid))
      local rung2 = helper.read(grid .. "slurm/halving-rung2.sbatch")
      assert.matches("#SBATCH %-%-array=[%d,]+%%3", rung2)
      assert.matches('%-%-point "%$SLURM_ARRAY_TASK_ID" %-%-rung 2', rung2)
      assert.matches("%-%-after%-rung 1 %-%-submit", helper.read(grid .. "slurm/halving-choose1.sbatch"))
      assert.truthy(io.open(grid .. "slurm/halving-collect.sbatch"))
    end)
  end)
end
