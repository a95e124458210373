-- Issue 15, replicates: repeats = K / --repeats K, a point per replicate with
-- a seed derived from the root seed, a summary row per configuration (n,
-- mean, sd, 95% Student's t interval), Welch's test against the best, mean
-- curves with a band and heatmap cells with the sd.
local helper = require("helper")
local tsv = require("nnlab.tsv")
local stats = require("nnlab.stats")
local experiment = require("nnlab.experiment")

local TINY = helper.root .. "/tests/experiments/tiny_grid.lua"

local function close(a, b, tol) return math.abs(a - b) <= (tol or 1e-9) * math.max(1, math.abs(b)) end

describe("replicate statistics", function()
  it("match a hand computation: mean, sd, Student's t interval", function()
    -- 0.80 0.82 0.84 0.86: mean 0.83, squared deviations 9+1+1+9 (x 1e-4) over 3
    local r = stats.summary{0.80, 0.82, 0.84, 0.86}
    assert.equal(4, r.n)
    assert.is_true(close(r.mean, 0.83))
    assert.is_true(close(r.sd, math.sqrt(0.002 / 3)))
    -- t(0.975, 3) = 3.182446305 (any table); half width t * sd / sqrt(4)
    local half = 3.182446305 * math.sqrt(0.002 / 3) / 2
    assert.is_true(close(r.lo, 0.83 - half, 1e-8))
    assert.is_true(close(r.hi, 0.83 + half, 1e-8))
    assert.is_true(close(stats.t_quantile(0.975, 1), 12.70620474, 1e-8))
    assert.is_true(close(stats.t_quantile(0.975, 9), 2.262157163, 1e-8))
    local one = stats.summary{0.5}
    assert.equal(1, one.n)
    assert.is_nil(one.sd)
  end)

  it("give Welch's t, its degrees of freedom and a p-value that agrees with integrating the density", function()
    local xs, ys = {0.80, 0.82, 0.84, 0.86}, {0.70, 0.75, 0.80}
    local t, df, p = stats.welch(xs, ys)
    -- by hand: s1^2/n1 = (0.002/3)/4, s2^2/n2 = 0.0025/3, their sum 0.001
    local a, b = 0.002 / 12, 0.0025 / 3
    assert.is_true(close(t, 0.08 / math.sqrt(0.001)))
    assert.is_true(close(df, 0.001 ^ 2 / (a ^ 2 / 3 + b ^ 2 / 2)))
    -- p = P(|T| > t): with x = sqrt(df) tan(u) the density is cos(u)^(df-1),
    -- so p = 1 - int_0^atan(t/sqrt(df)) cos^(df-1) / int_0^(pi/2) cos^(df-1)
    local function simpson(f, lo, hi, n)
      local h, s = (hi - lo) / n, f(lo) + f(hi)
      for i = 1, n - 1 do s = s + f(lo + i * h) * (i % 2 == 1 and 4 or 2) end
      return s * h / 3
    end
    local function f(u) return math.cos(u) ^ (df - 1) end
    local want = 1 - simpson(f, 0, math.atan(t / math.sqrt(df)), 20000) / simpson(f, 0, math.pi / 2, 20000)
    assert.is_true(math.abs(p - want) < 1e-7, ("p %.10f, integrated %.10f"):format(p, want))
    assert.is_true(p > 0.05 and p < 0.15)
    assert.is_nil(stats.welch({1}, {1, 2}))
  end)
end)

describe("repeats", function()
  local function decl(extra)
    local t = {name = "x", params = {lr = 0.1, seed = 7}, grid = {lr = {0.1, 0.2}},
               data = function() end, model = function() end, optimizer = function() end}
    for k, v in pairs(extra or {}) do t[k] = v end
    return experiment.define(t)
  end

  it("make each replicate a point of its own, seeded from the root seed", function()
    local pts, grid = decl{repeats = 3}:points({}, false)
    assert.equal(6, #pts)
    assert.equal(3, grid.repeats)
    assert.equal("x", grid.name)
    assert.equal("lr=0.1,rep=0", pts[1].name)
    assert.equal("lr=0.1,rep=2", pts[3].name)
    assert.equal(7, pts[1].params.seed)  -- replicate 0 keeps the root seed
    assert.equal(experiment.replicate_seed(7, 1), pts[2].params.seed)
    assert.are_not.equal(pts[2].params.seed, pts[3].params.seed)
    assert.equal(pts[2].params.seed, pts[5].params.seed) -- the same replicate seeds in each configuration
    assert.equal(1, pts[2].params.replicate)
    -- --repeats overrides the declaration and names the grid's folder
    local more, g2 = decl{repeats = 3}:points({}, false, 5)
    assert.equal(10, #more)
    assert.equal("x+repeats=5", g2.name)
    assert.equal(2, #decl():points({}, false))
    assert.error_matches(function() decl{repeats = 0} end, "repeats must be an integer >= 1")
    local _, err = decl{repeats = 2}:points({"seed=1,2"}, false)
    assert.matches("seed cannot be a grid axis with repeats", err)
  end)

  it("give one summary row per configuration, replicate rows in their own file, the best marked", function()
    local out = helper.tmpdir()
    local code, stdout, err = helper.nnlab(("run %s --out %s --set lr=0.03,0.3 --set momentum=0 --set hidden=8 "
      .. "--repeats 3 --quiet"):format(TINY, out))
    assert.equal(0, code, err)
    assert.equal(6, select(2, stdout:gsub("\n", "")))
    local grid = out .. "/tiny_grid+hidden=8+lr=0.03,0.3+momentum=0+repeats=3"
    local _, reps = assert(tsv.read_table(grid .. "/replicates.tsv"))
    assert.equal(6, #reps)
    local by_lr = {}
    for _, r in ipairs(reps) do
      by_lr[r.lr] = by_lr[r.lr] or {}
      table.insert(by_lr[r.lr], r.val_accuracy)
    end
    local columns, rows = assert(tsv.read_table(grid .. "/summary.tsv"))
    assert.equal(2, #rows)
    for _, c in ipairs{"configuration", "n", "best", "val_accuracy_mean", "val_accuracy_sd", "val_accuracy_lo95",
                       "val_accuracy_hi95", "val_accuracy_diff", "val_accuracy_p", "test_accuracy_mean"} do
      local found = false
      for _, name in ipairs(columns) do found = found or name == c end
      assert.is_true(found, c)
    end
    for _, row in ipairs(rows) do
      assert.equal(3, row.n)
      local r = stats.summary(by_lr[row.lr])
      assert.is_true(close(row.val_accuracy_mean, r.mean, 1e-7))
      assert.is_true(close(row.val_accuracy_sd, r.sd, 1e-7))
      assert.is_true(close(row.val_accuracy_lo95, r.lo, 1e-7))
    end
    assert.equal("*", rows[1].best)
    assert.is_nil(rows[2].best)
    assert.is_true(rows[1].val_accuracy_mean >= rows[2].val_accuracy_mean)
    local _, _, p = stats.welch(by_lr[rows[2].lr], by_lr[rows[1].lr])
    assert.is_true(close(rows[2].val_accuracy_p, p, 1e-6))
    assert.is_true(close(rows[2].val_accuracy_diff, rows[2].val_accuracy_mean - rows[1].val_accuracy_mean, 1e-6))
    -- the seeds: replicate 0 the root seed, the others derived
    local config = tsv.read_kv(grid .. "/lr=0.3,rep=0/config.tsv")
    assert.equal(1, config.seed)
    assert.equal(experiment.replicate_seed(1, 2), tsv.read_kv(grid .. "/lr=0.3,rep=2/config.tsv").seed)
    -- curves: a mean, lo and hi column per configuration; the line shows mean ± sd
    local curves = helper.read(grid .. "/grid_val_accuracy.tsv")
    assert.truthy(curves:find("^epoch\tmean1\tlo1\thi1\tmean2\tlo2\thi2\n"))
    assert.truthy(helper.read(grid .. "/grid_val_accuracy.gp"):find("filledcurves"))
    local line = helper.read(grid .. "/grid_line.tsv")
    assert.truthy(line:find(("%.4f ± %.4f"):format(rows[1].val_accuracy_mean, rows[1].val_accuracy_sd), 1, true))
    local html = helper.read(grid .. "/index.html")
    assert.truthy(html:find("p (Welch)", 1, true))
    assert.truthy(html:find("2 configurations, 6 points (6 DONE)", 1, true))
    assert.truthy(html:find("replicates.tsv", 1, true))
  end)

  it("show the heatmap's means with their sd", function()
    local out = helper.tmpdir()
    local code, _, err = helper.nnlab(("run %s --out %s --set lr=0.03,0.3 --set momentum=0,0.9 --set hidden=8 "
      .. "--set epochs=2 --repeats 2 --quiet"):format(TINY, out))
    assert.equal(0, code, err)
    local grid = out .. "/tiny_grid+epochs=2+hidden=8+lr=0.03,0.3+repeats=2"
    local cells = helper.read(grid .. "/grid_heatmap.tsv")
    assert.equal(4, select(2, cells:gsub("%d ± %d", "")))
  end)
end)
