-- Seed 000's step 5: the drawn digits and experiments/own_digits.lua.
local helper = require("helper")
local tsv = require("nnlab.tsv")
local lfs = require("lfs")
local root = helper.root
local DIGITS = root .. "/experiments/digits"

local function digit_names()
  local names = {}
  for name in lfs.dir(DIGITS) do
    if name:match("%.txt$") then names[#names + 1] = name end
  end
  table.sort(names)
  return names
end

describe("experiments/digits", function()
  it("holds twelve or more 28x28 0/1 digits in seed 000's format, named by their digit, each digit twice", function()
    local names = digit_names()
    assert.is_true(#names >= 12, #names .. " files")
    local per_digit = {}
    for _, name in ipairs(names) do
      local d = assert(name:match("^(%d)_%d+%.txt$"), name)
      per_digit[d] = (per_digit[d] or 0) + 1
      local rows = {}
      for line in helper.read(DIGITS .. "/" .. name):gmatch("[^\n]+") do rows[#rows + 1] = line end
      assert.are.equal(28, #rows, name)
      local ink = 0
      for _, r in ipairs(rows) do
        assert.matches("^[01]+$", r)
        assert.are.equal(28, #r, name)
        ink = ink + select(2, r:gsub("1", ""))
      end
      assert.is_true(ink > 40 and ink < 300, name .. ": " .. ink .. " ink pixels")
    end
    for d = 0, 9 do assert.is_true((per_digit[tostring(d)] or 0) >= 2, "digit " .. d) end
  end)

  it("are exactly what draw.lua renders from its strokes", function()
    local dir = helper.tmpdir()
    assert.is_true(os.execute(("lua5.4 %s/draw.lua %s"):format(DIGITS, dir)) == true)
    for _, name in ipairs(digit_names()) do
      assert.are.equal(helper.read(DIGITS .. "/" .. name), helper.read(dir .. "/" .. name), name)
    end
    os.execute("rm -rf " .. dir)
  end)
end)

describe("experiments/own_digits.lua", function()
  it("trains (quick) the softmax model, the best MLP and LeNet, counts right answers as nnlab predict does", function()
    local out = helper.tmpdir()
    local code, stdout, stderr = helper.nnlab(("%s/experiments/own_digits.lua --quick --out %s"):format(root, out))
    assert.are.equal(0, code, stderr)
    local n = #digit_names()
    local printed = {}
    for label, right, total in stdout:gmatch("(%S+)%s+%S+ %S+%s+(%d+) of (%d+) right") do
      printed[label] = tonumber(right)
      assert.are.equal(n, tonumber(total))
    end
    assert.is_not_nil(printed.softmax, stdout)
    assert.is_not_nil(printed.best_mlp, stdout)
    assert.is_not_nil(printed.lenet, stdout)

    local _, rows = tsv.read_table(out .. "/own_digits/predictions.tsv")
    assert.are.equal(n, #rows)
    local right = {softmax = 0, best_mlp = 0, lenet = 0}
    for _, r in ipairs(rows) do
      assert.are.equal(tonumber(r.file:sub(1, 1)), r.truth)
      for label in pairs(right) do
        if r[label] == r.truth then right[label] = right[label] + 1 end
      end
    end
    assert.are.same(printed, right)
    local _, summary = tsv.read_table(out .. "/own_digits/summary.tsv")
    assert.are.equal(3, #summary)
    for _, s in ipairs(summary) do assert.are.equal(right[s.model], s.right) end

    -- the same answers from nnlab predict with the saved softmax model (no --scale)
    local model = out .. "/softmax_regression-quick/c=0,lr=0.3/model.nnl"
    local files = {}
    for i, r in ipairs(rows) do files[i] = DIGITS .. "/" .. r.file end
    local pcode, pout = helper.nnlab(("predict '%s' %s --top 1"):format(model, table.concat(files, " ")))
    assert.are.equal(0, pcode)
    local i = 0
    for line in pout:gmatch("[^\n]+") do
      i = i + 1
      assert.are.equal(rows[i].softmax, tonumber(line:match("\t(%d)\t")))
    end
    assert.are.equal(n, i)
    if os.execute("command -v gnuplot >/dev/null 2>&1") then
      assert.truthy(io.open(out .. "/own_digits/digits.png"))
    end
    os.execute("rm -rf " .. out)
  end)

  it("is a script: nnlab run refuses it before training anything", function()
    local out = helper.tmpdir()
    local code, _, stderr = helper.nnlab(("run %s/experiments/own_digits.lua --out %s"):format(root, out))
    assert.are.equal(2, code)
    assert.matches("own_digits%.lua is a script, not an experiment", stderr)
    assert.is_nil(io.open(out .. "/softmax_regression"))
    os.execute("rm -rf " .. out)
  end)
end)
