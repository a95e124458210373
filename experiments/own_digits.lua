--- Seed 000's last step: our own digits. The trained models of three studies
-- classify the 28x28 digits of experiments/digits/ (drawn from pen strokes by
-- experiments/digits/draw.lua, named D_K.txt by their true digit D):
--   softmax_regression, point c=0,lr=0.3 (seed 000's model)
--   best_mlp, point dropout=0.25 (the best MLP)
--   lenet, point c=0.0001,lr=0.05 (the best CNN whose full grid has run)
-- Each study's point is run as `nnlab run` runs it (a finished one is
-- reused from OUT/GRID/POINT/, GRID being NAME or NAME-quick), then its model.nnl predicts each digit with
-- the pixel scale recorded in the file.
--   build/nnlab experiments/own_digits.lua [--quick] [--out DIR] [--digits DIR]
-- prints how many each model gets right and writes OUT/own_digits/:
-- predictions.tsv, summary.tsv and digits.png (each digit with each model's
-- prediction).
local nn = require("nnlab")
local experiment = require("nnlab.experiment")
local runner = require("nnlab.runner")
local rundir = require("nnlab.rundir")
local images = require("nnlab.images")
local predict = require("nnlab.predict")
local plot = require("nnlab.plot")
local tsv = require("nnlab.tsv")
local lfs = require("lfs")

local here = (debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$")) or "."

local MODELS = {
  {label = "softmax", short = "S", file = "softmax_regression.lua", point = "c=0,lr=0.3"},
  {label = "best_mlp", short = "M", file = "best_mlp.lua", point = "dropout=0.25"},
  {label = "lenet", short = "L", file = "lenet.lua", point = "c=0.0001,lr=0.05"},
}

local function parse_args(argv)
  local o = {out = "results", digits = here .. "/digits", quick = false}
  local i = 1
  while i <= #argv do
    local a = argv[i]
    if a == "--quick" then
      o.quick = true
    elseif a == "--out" or a == "--digits" then
      o[a:sub(3)] = assert(argv[i + 1], a .. " needs a folder")
      i = i + 1
    else
      error(("own_digits: unknown argument '%s' (--quick, --out DIR, --digits DIR)"):format(a), 0)
    end
    i = i + 1
  end
  return o
end

--- The model of a study's point, trained (or reused) into out.
local function trained_model(m, o)
  local exp = assert(experiment.load(here .. "/" .. m.file))
  local points, grid = exp:points({}, o.quick)
  assert(points, grid)
  local point
  for _, p in ipairs(points) do
    if p.name == m.point then point = p end
  end
  assert(point, m.file .. ": no point " .. m.point)
  local griddir = o.out .. "/" .. grid.name
  runner.write_grid(exp, griddir, points, {point}, o.quick)
  local status, reason = runner.run_point(exp, point, {griddir = griddir, quiet = true, total = 1,
    quick = o.quick, settings = grid.settings, log = function(msg) io.stderr:write(msg, "\n") end})
  if status ~= "DONE" then error(("%s %s: %s"):format(exp.name, point.name, tostring(reason)), 0) end
  local dir = rundir.point_dir(griddir, point.name)
  local path = rundir.file(dir, "model")
  local final = tsv.read_kv(rundir.file(dir, "final")) or {}
  return assert(predict.load(nn, path)), ("%s %s"):format(exp.name, point.name), final.test_accuracy
end

--- The digit files of dir, sorted, with their true digit (the name's first character).
local function digit_files(dir)
  local files = {}
  for name in lfs.dir(dir) do
    local d = name:match("^(%d)[^/]*%.[tp][xgn][tmg]$")
    if d then files[#files + 1] = {path = dir .. "/" .. name, name = name, truth = tonumber(d)} end
  end
  table.sort(files, function(a, b) return a.name < b.name end)
  return files
end

-- A script, not an experiment declaration: `nnlab run` on it stops here.
if not (arg and tostring(arg[0]):match("own_digits%.lua$")) then
  error("own_digits.lua is a script, not an experiment: run it as build/nnlab experiments/own_digits.lua", 0)
end
local o = parse_args(arg)
local files = digit_files(o.digits)
assert(#files > 0, o.digits .. ": no digit files (D_K.txt)")
local outdir = o.out .. "/own_digits"
runner.mkdirs(outdir)

local rows, summary = {}, {}
for _, f in ipairs(files) do
  local px, inverted = images.read(f.path)
  if not px then error(inverted, 0) end
  rows[#rows + 1] = {file = f.name, truth = f.truth, px = px}
end
for _, m in ipairs(MODELS) do
  local model, title, test_accuracy = trained_model(m, o)
  local scale = predict.scale(model)
  local right = 0
  for _, r in ipairs(rows) do
    local top = assert(predict.probabilities(nn, model, r.px, scale))[1]
    r[m.label], r[m.label .. "_p"] = top.class, top.p
    if top.class == r.truth then right = right + 1 end
  end
  summary[#summary + 1] = {model = m.label, study = title, right = right, total = #rows,
                           mnist_test_accuracy = test_accuracy or ""}
  print(("%-9s %-32s %2d of %d right (MNIST test accuracy %s)"):format(m.label, title, right, #rows,
    tostring(test_accuracy)))
end

local columns = {"file", "truth"}
for _, m in ipairs(MODELS) do
  columns[#columns + 1] = m.label
  columns[#columns + 1] = m.label .. "_p"
end
--- Rows keyed by column name -> lists in the columns' order.
local function as_lists(names, keyed)
  local lists = {}
  for i, r in ipairs(keyed) do
    lists[i] = {}
    for k, c in ipairs(names) do lists[i][k] = r[c] end
  end
  return lists
end
tsv.write_table(outdir .. "/predictions.tsv", columns, as_lists(columns, rows), tsv.figure)
local sum_columns = {"model", "study", "right", "total", "mnist_test_accuracy"}
tsv.write_table(outdir .. "/summary.tsv", sum_columns, as_lists(sum_columns, summary), tsv.figure)

local pictures, titles = {}, {}
for i, r in ipairs(rows) do
  local img = {}
  for k, v in ipairs(r.px) do img[k] = v / 255 end
  pictures[i] = img
  local guesses = {}
  for _, m in ipairs(MODELS) do
    guesses[#guesses + 1] = ("%s %d%s"):format(m.short, r[m.label],
      r[m.label] == r.truth and "" or "!")
  end
  titles[i] = ("%s: %s"):format(r.file:match("^(.*)%.") or r.file, table.concat(guesses, " "))
end
local ok, err = plot.digits(outdir, "digits", pictures, titles, 10)
if not ok then io.stderr:write("own_digits: ", err, "\n") end
print(("results: %s/predictions.tsv, %s/summary.tsv, %s/digits.png"):format(outdir, outdir, outdir))
