local helper = require("helper")
local tsv = require("nnlab.tsv")

local SOFTMAX = helper.root .. "/experiments/softmax_regression.lua"
local SMALL = "--set epochs=4 --set train_size=2000 --set val_size=500 --set holdout_size=500"

local function run(args)
  return helper.nnlab(args)
end

local function read_kv(path)
  return assert(tsv.read_kv(path))
end

local function final_without_seconds(path)
  local t = read_kv(path)
  t.seconds = nil
  return t
end

describe("nnlab run", function()
  local out

  before_each(function() out = helper.tmpdir() end)
  after_each(function() os.execute("rm -rf " .. out) end)

  it("lists the grid's points, index first", function()
    local code, stdout = run("run " .. SOFTMAX .. " --list")
    assert.are.equal(0, code)
    assert.are.equal("0\tc=0,lr=0.3\n1\tc=0,lr=0.5\n2\tc=5,lr=0.3\n3\tc=5,lr=0.5\n", stdout)
    code, stdout = run("run " .. SOFTMAX .. " --list --set lr=0.1,0.2,0.4 --set c=1")
    assert.are.equal(0, code)
    assert.are.equal("0\tlr=0.1\n1\tlr=0.2\n2\tlr=0.4\n", stdout)
  end)

  it("writes a folder per point, a summary sorted by validation accuracy, plots and a page", function()
    local code, stdout, stderr = run(("run %s %s --set c=0 --out %s"):format(SOFTMAX, SMALL, out))
    assert.are.equal(0, code, stderr)
    assert.matches("lr=0.5\tDONE\tval_accuracy 0%.%d+", stdout)
    local grid = out .. "/" .. helper.grid_name(SOFTMAX, SMALL .. " --set c=0")
    assert.are.equal("softmax_regression+c=0+epochs=4+holdout_size=500+train_size=2000+val_size=500",
      grid:match("[^/]*$"))
    for _, point in ipairs{"lr=0.3", "lr=0.5"} do
      local dir = grid .. "/" .. point
      for _, f in ipairs{"config.tsv", "metrics.tsv", "final.tsv", "meta.tsv", "model.nnl", "DONE",
                         "cost.png", "cost.gp", "accuracy.png", "accuracy.gp"} do
        assert.is_truthy(io.open(dir .. "/" .. f), dir .. "/" .. f)
      end
      assert.is_falsy(io.open(dir .. "/checkpoint.nnl"))
      local config = read_kv(dir .. "/config.tsv")
      assert.are.equal(0, config.c)
      assert.are.equal(4, config.epochs)
      local columns, rows = tsv.read_table(dir .. "/metrics.tsv")
      assert.are.same({"epoch", "cost", "loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "seconds"},
        columns)
      assert.are.equal(4, #rows)
      assert.is_near(math.log(10), rows[1].cost, 1e-6)
      local final = read_kv(dir .. "/final.tsv")
      for _, k in ipairs{"train_accuracy", "val_accuracy", "test_accuracy", "cost", "loss", "seconds"} do
        assert.is_number(final[k], k)
      end
      assert.is_near(rows[4].cost, final.cost, 1e-6)
    end
    local columns, rows = tsv.read_table(grid .. "/summary.tsv")
    assert.are.equal("point", columns[1])
    assert.are.equal("lr", columns[2])
    assert.are.equal(2, #rows)
    assert.is_true(rows[1].val_accuracy >= rows[2].val_accuracy)
    assert.are.equal("DONE", rows[1].status)
    -- one axis (lr): a line of the metric against it, no heatmap
    for _, f in ipairs{"grid_cost.png", "grid_val_accuracy.png", "grid_val_loss.png", "grid_line.png",
                       "index.html"} do
      assert.is_truthy(io.open(grid .. "/" .. f), f)
    end
    assert.is_falsy(io.open(grid .. "/grid_heatmap.png"))
    assert.matches("<img src=\"lr=0.3/cost.png\">", helper.read(grid .. "/index.html"), 1, true)
  end)

  it("marks a diverging point FAILED, finishes the others and exits 1 naming it", function()
    local code, stdout, stderr = run(("run %s %s --set c=0 --set lr=0.3,1e6 --out %s --quiet"):format(
      SOFTMAX, SMALL, out))
    assert.are.equal(1, code)
    assert.matches("1 of 2 points failed: lr=1e%+06", stderr)
    assert.matches("lr=0.3\tDONE", stdout)
    local grid = out .. "/" .. helper.grid_name(SOFTMAX, SMALL .. " --set c=0 --set lr=0.3,1e6")
    assert.matches("^diverged at epoch %d+: cost", helper.read(grid .. "/lr=1e+06/FAILED"))
    local _, rows = tsv.read_table(grid .. "/summary.tsv")
    assert.are.same({"lr=0.3", "lr=1e+06"}, {rows[1].point, rows[2].point})
    assert.are.same({"DONE", "FAILED"}, {rows[1].status, rows[2].status})
  end)

  it("marks a point FAILED as diverged when its last step overflows a weight while the cost it measured is finite",
    function()
    -- the epoch's cost is measured before its step: here 1.4 against 1.1 for guessing, then the
    -- step at lr 3e38 takes a weight to infinity, which no checkpoint or model file may hold
    local exp = out .. "/overflow.lua"
    helper.write(exp, [[
local nn = require("nnlab")
return nn.experiment{
  name = "overflow",
  params = {seed = 1, lr = 3e38, epochs = 1, batch = "full", shuffle = false},
  data = function()
    local x, y = {}, {}
    for i = 1, 6 do
      x[i] = {}
      for j = 1, 4 do x[i][j] = 1000 * (((i * 7 + j * 13) % 17) / 17 - 0.4) end
      y[i] = i % 3
    end
    local d = nn.dataset{x = x, y = y, classes = 3, kind = "features"}
    return {train = d, validation = d}
  end,
  model = function() return nn.Sequential{nn.Linear(4, 3)} end,
  optimizer = function(p) return nn.SGD{lr = p.lr} end,
}
]])
    local code, _, stderr = run(("run %s --out %s --quiet"):format(exp, out))
    assert.are.equal(1, code)
    assert.matches("1 of 1 point failed: default", stderr)
    -- its validation loss is NaN: the grid's plot of it has nothing to draw, and says so
    assert.is_nil(stderr:find("gnuplot failed", 1, true), stderr)
    local failed = helper.read(out .. "/overflow/default/FAILED")
    assert.matches("^diverged at epoch 1: parameter %d+ %(layer 1, Linear%(4%->3%)%) is not finite %(%-?inf%)", failed)
    assert.is_nil(failed:find("traceback", 1, true))
  end)

  it("reuses finished points, refuses another configuration in the same folder unless --restart", function()
    -- a copy of the experiment whose default changes after a run: the same
    -- grid folder, another configuration
    local exp = out .. "/softmax_regression.lua"
    helper.write(exp, helper.read(SOFTMAX))
    local base = ("run %s %s --set c=0 --set lr=0.3 --out %s"):format(exp, SMALL, out)
    assert.are.equal(0, (run(base)))
    local code, _, stderr = run(base)
    assert.are.equal(0, code)
    assert.matches("default: finished earlier, reused", stderr)
    helper.write(exp, (helper.read(SOFTMAX):gsub("seed = 1,", "seed = 2,")))
    code, _, stderr = run(base)
    assert.are.equal(2, code)
    assert.matches("seed=1 on disk, seed=2 asked%); run with %-%-restart", stderr)
    code = run(base .. " --restart")
    assert.are.equal(0, code)
    local grid = out .. "/" .. helper.grid_name(exp, SMALL .. " --set c=0 --set lr=0.3")
    assert.are.equal(2, read_kv(grid .. "/default/config.tsv").seed)
  end)

  it("continues a killed run from its checkpoint to the same final figures", function()
    local sets = "--set epochs=4 --set checkpoint_seconds=0 --set train_size=5000 --set val_size=1000"
    local mlp = helper.root .. "/experiments/mlp_784_32_16.lua"
    local args = ("run %s %s --quiet"):format(mlp, sets)
    local name = helper.grid_name(mlp, sets)
    assert.are.equal(0, (run(args .. " --out " .. out .. "/a")))
    local ckpt = out .. "/b/" .. name .. "/default/checkpoint.nnl"
    local cmd = ("%s/build/nnlab %s --out %s/b >/dev/null 2>&1 & pid=$!; "
      .. "n=0; while [ ! -f %s ] && [ $n -lt 6000 ]; do sleep 0.01; n=$((n+1)); done; kill -9 $pid; wait $pid")
      :format(helper.root, args, out, ckpt)
    os.execute(cmd)
    assert.is_falsy(io.open(out .. "/b/" .. name .. "/default/DONE"))
    local code, _, stderr = run(args:gsub("%-%-quiet", "") .. " --out " .. out .. "/b")
    assert.are.equal(0, code)
    assert.matches("continuing from its checkpoint after epoch %d", stderr)
    assert.are.same(final_without_seconds(out .. "/a/" .. name .. "/default/final.tsv"),
      final_without_seconds(out .. "/b/" .. name .. "/default/final.tsv"))
  end)

  it("collects a grid whose points ran in part, naming the points not started", function()
    local base = ("run %s %s --set c=0 --set lr=0.3,0.5 --quiet"):format(SOFTMAX, SMALL)
    assert.are.equal(0, (run(base .. " --point 1 --out " .. out .. "/part")))
    local name = helper.grid_name(SOFTMAX, base)
    local code, stdout, stderr = run("collect " .. out .. "/part/" .. name)
    assert.are.equal(0, code)
    assert.matches("1 points %(1 done, 0 failed, 0 pending, 1 not started%)", stdout)
    assert.matches("1 of the grid's 2 points has not started %(no run folder%)", stderr)
    local html = helper.read(out .. "/part/" .. name .. "/index.html")
    assert.matches("1 of the grid's 2 points has not started", html, 1, true)
    assert.are.equal(0, (run(base .. " --point 0 --out " .. out .. "/part")))
    code, stdout, stderr = run("collect " .. out .. "/part/" .. name)
    assert.are.equal(0, code)
    assert.matches("2 points %(2 done, 0 failed, 0 pending%)", stdout)
    assert.is_nil(stderr:find("not started"))
    assert.is_nil(helper.read(out .. "/part/" .. name .. "/index.html"):find("not started"))
  end)

  it("runs points separately (--point, --jobs) to the same summary as one run, rebuilt by collect", function()
    local base = ("run %s %s --set c=0 --set lr=0.3,0.5 --quiet"):format(SOFTMAX, SMALL)
    assert.are.equal(0, (run(base .. " --out " .. out .. "/one")))
    assert.are.equal(0, (run(base .. " --point 1 --out " .. out .. "/sep")))
    assert.are.equal(0, (run(base .. " --point 0 --out " .. out .. "/sep")))
    local name = helper.grid_name(SOFTMAX, base)
    local code, stdout = run("collect " .. out .. "/sep/" .. name)
    assert.are.equal(0, code)
    assert.matches("2 points %(2 done, 0 failed, 0 pending%)", stdout)
    local jcode, _, jerr = run(base .. " --jobs 2 --out " .. out .. "/par")
    assert.are.equal(0, jcode, jerr)
    local function summary(dir)
      local _, rows = tsv.read_table(dir .. "/" .. name .. "/summary.tsv")
      for _, r in ipairs(rows) do r.seconds = nil end
      return rows
    end
    assert.are.same(summary(out .. "/one"), summary(out .. "/sep"))
    assert.are.same(summary(out .. "/one"), summary(out .. "/par"))
  end)

  it("refuses bad options and values with one line and exit status 2", function()
    local cases = {
      {"run " .. SOFTMAX .. " --set nosuch=1", "%-%-set nosuch: unknown parameter %(known: .*c, .*lr"},
      {"run " .. SOFTMAX .. " --set lr=abc", "%-%-set lr: 'abc' is not a number"},
      {"run " .. SOFTMAX .. " --set shuffle=maybe", "%-%-set shuffle: 'maybe' is not true or false"},
      {"run " .. SOFTMAX .. " --point 9", "%-%-point 9: the grid has 4 points %(0..3%)"},
      {"run " .. SOFTMAX .. " --frobnicate", "unknown option '%-%-frobnicate'"},
      {"run /nonexistent/x.lua", "cannot open /nonexistent/x.lua"},
      {"collect /nonexistent/grid", "/nonexistent/grid: no such results folder"},
    }
    for _, c in ipairs(cases) do
      local code, _, stderr = run(c[1])
      assert.are.equal(2, code, c[1])
      assert.matches(c[2], stderr)
      assert.are.equal(1, select(2, stderr:gsub("\n", "")), c[1] .. ": " .. stderr)
    end
  end)
end)

describe("nnlab predict", function()
  it("classifies text digits and PGM images with a saved model", function()
    local dir = helper.tmpdir()
    local nn = helper.nn
    nn.seed(1)
    local mnist = nn.mnist()
    local m = nn.Sequential{nn.Linear(784, 10)}
    nn.train{model = m, loss = nn.CrossEntropyLoss(), optimizer = nn.SGD{lr = 0.5}, data = mnist.train:subset(1, 5000),
             batch = 100, epochs = 2, verbose = false}
    m:save(dir .. "/m.nnl")
    -- test image 1 is a 7: as a text file of 0/1 and as a binary PGM
    local x = mnist.test:images(1, 1):totable()[1]
    local rows, pgm = {}, {}
    for r = 0, 27 do
      local line = {}
      for c = 1, 28 do
        local v = x[r * 28 + c]
        line[c] = v > 0.5 and "1" or "0"
        pgm[#pgm + 1] = string.char(math.floor(v * 255 + 0.5))
      end
      rows[#rows + 1] = table.concat(line)
    end
    helper.write(dir .. "/seven.txt", table.concat(rows, "\n") .. "\n")
    helper.write(dir .. "/seven.pgm", "P5\n# a seven\n28 28\n255\n" .. table.concat(pgm))
    helper.write(dir .. "/small.pgm", "P2\n2 2\n255\n0 0 0 0\n")
    local _, code, stdout, stderr
    code, stdout, stderr = helper.nnlab(("predict %s/m.nnl %s/seven.txt %s/seven.pgm"):format(dir, dir, dir))
    assert.are.equal(0, code, stderr)
    assert.matches("seven.txt\t7\t0%.%d+", stdout)
    assert.matches("seven.pgm\t7\t0%.%d+", stdout)
    code, _, stderr = helper.nnlab(("predict %s/m.nnl %s/small.pgm"):format(dir, dir))
    assert.are.equal(2, code)
    assert.matches("small.pgm: image is 2x2, expected 28x28", stderr)
    code, _, stderr = helper.nnlab(("predict %s/seven.txt %s/seven.txt"):format(dir, dir))
    assert.are.equal(2, code)
    assert.matches("seven.txt: not an nnlab model file", stderr)
    os.execute("rm -rf " .. dir)
  end)
end)
