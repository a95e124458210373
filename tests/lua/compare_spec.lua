-- Issue 15, `nnlab compare OUT/A OUT/B ...`: the best configuration of each
-- grid on one metric, a table (compare.tsv) and a plot, with the difference
-- to the best and Welch's test where both have replicates.
local helper = require("helper")
local tsv = require("nnlab.tsv")
local stats = require("nnlab.stats")
local q = require("nnlab.shell").quote

local function point(grid, name, config, final)
  local dir = grid .. "/" .. name
  assert(os.execute("mkdir -p " .. q(dir)))
  tsv.write_kv(dir .. "/config.tsv", config)
  tsv.write_kv(dir .. "/final.tsv", final)
  helper.write(dir .. "/DONE", "")
end

describe("nnlab compare", function()
  it("tables and plots the best of each grid, with Welch's test between replicated ones", function()
    local out = helper.tmpdir()
    -- old: two configurations, 3 replicates each; new: 3 replicates of one; single: one point
    local old = {a = {0.80, 0.82, 0.81}, b = {0.70, 0.72, 0.74}}
    for cfg, values in pairs(old) do
      for r, v in ipairs(values) do
        point(out .. "/old", ("cfg=%s,rep=%d"):format(cfg, r - 1), {experiment = "old", cfg = cfg, seed = r,
          replicate = r - 1}, {val_accuracy = v, test_accuracy = v - 0.01})
      end
    end
    local new = {0.85, 0.86, 0.88}
    for r, v in ipairs(new) do
      point(out .. "/new", ("rep=%d"):format(r - 1), {experiment = "new", seed = r, replicate = r - 1},
        {val_accuracy = v, test_accuracy = v})
    end
    point(out .. "/single", "default", {experiment = "single"}, {val_accuracy = 0.5, test_accuracy = 0.5})
    local code, stdout, err = helper.nnlab(("compare %s/old %s/new %s/single --out %s/cmp"):format(out, out, out, out))
    assert.equal(0, code, err)
    assert.matches("^rank", stdout)
    local columns, rows = tsv.read_table(out .. "/cmp/compare.tsv")
    assert.equal("val_accuracy", columns[4])
    assert.equal(3, #rows)
    assert.equal("new", rows[1].grid)
    assert.equal("old", rows[2].grid)
    assert.equal("cfg=a", rows[2].best)
    assert.equal("single", rows[3].grid)
    assert.equal(3, rows[2].n)
    local m = stats.summary(old.a)
    assert.is_true(math.abs(rows[2].val_accuracy - m.mean) < 1e-7)
    assert.is_true(math.abs(rows[2].val_accuracy_sd - m.sd) < 1e-7)
    assert.is_true(math.abs(rows[2].difference - (m.mean - stats.mean(new))) < 1e-7)
    local _, _, p = stats.welch(old.a, new)
    assert.is_true(math.abs(rows[2].p_welch - p) < 1e-6)
    assert.is_nil(rows[3].p_welch) -- one run: no test
    assert.truthy(helper.read(out .. "/cmp/compare.gp"):find("errorbars", 1, true))
    assert.equal(2, (helper.nnlab(("compare %s/nothing --out %s/cmp"):format(out, out))))
  end)
end)
