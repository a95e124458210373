-- The grid's plots and index.html, read from the gnuplot scripts, the data
-- beside them and the page, on grids written here by hand (no training).
local helper = require("helper")
local tsv = require("nnlab.tsv")
local plot = require("nnlab.plot")
local results = require("nnlab.results")
local quote = require("nnlab.shell").quote

local HAVE_GNUPLOT = os.execute("command -v gnuplot >/dev/null 2>&1") and true or false

--- A point folder: config, metrics (epochs rows whose val_accuracy climbs to
-- the final one), final.tsv and DONE, or FAILED with a reason.
local function write_point(grid, name, config, o)
  local dir = grid .. "/" .. name
  assert(os.execute("mkdir -p " .. quote(dir)))
  tsv.write_kv(dir .. "/config.tsv", config)
  local epochs, acc = o.epochs or 5, o.val_accuracy or 0.5
  local rows = {}
  for e = 1, epochs do
    local a = acc * e / epochs
    rows[e] = {e, 2 / e, 2 / e, a, 1.5 / e, a, 0.1, 0.01}
  end
  local columns = {"epoch", "cost", "loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "seconds"}
  local final = {val_accuracy = acc, test_accuracy = acc - 0.01, train_accuracy = acc + 0.01,
                 cost = 0.3, loss = 0.3, seconds = 1.5}
  if o.no_validation then
    columns = {"epoch", "cost", "loss", "train_accuracy", "lr", "seconds"}
    for _, r in ipairs(rows) do table.remove(r, 6); table.remove(r, 5) end
    final.val_accuracy, final.test_accuracy = nil, acc
  end
  tsv.write_table(dir .. "/metrics.tsv", columns, rows)
  if o.failed then
    helper.write(dir .. "/FAILED", o.failed .. "\n")
  else
    tsv.write_kv(dir .. "/final.tsv", final)
    helper.write(dir .. "/DONE", "")
  end
end

--- A grid over axes = {{name, {values}}, ...}: every combination, constant
-- parameters batch and seed, val_accuracy(config) for each point, and
-- failed(config) naming the points that fail.
local function write_grid(grid, axes, val_accuracy, failed)
  local names = {}
  for i, a in ipairs(axes) do names[i] = a[1] end
  tsv.write_kv(grid .. "/grid.tsv", {experiment = "fake", axes = table.concat(names, ",")})
  local combos = {{}}
  for _, a in ipairs(axes) do
    local more = {}
    for _, c in ipairs(combos) do
      for _, v in ipairs(a[2]) do
        local n = {table.unpack(c)}
        n[#n + 1] = v
        more[#more + 1] = n
      end
    end
    combos = more
  end
  local points = {}
  for _, c in ipairs(combos) do
    local config, parts = {experiment = "fake", batch = 50, seed = 1}, {}
    for i, a in ipairs(axes) do
      config[a[1]] = c[i]
      parts[i] = a[1] .. "=" .. tsv.value(c[i])
    end
    local name = table.concat(parts, ",")
    local reason = failed and failed(config)
    write_point(grid, name, config, {val_accuracy = val_accuracy(config), failed = reason})
    points[#points + 1] = {name = name, config = config, val_accuracy = val_accuracy(config), failed = reason}
  end
  return points
end

local function count(s, pattern)
  local n = 0
  for _ in s:gmatch(pattern) do n = n + 1 end
  return n
end

--- The blocks of a heatmap's data: blocks[panel][row][col] = label.
local function heatmap_cells(path)
  local blocks, current = {}, nil
  for line in (helper.read(path) .. "\n"):gmatch("([^\n]*)\n") do
    local c, r, _, label = line:match("^(%d+)\t(%d+)\t(%d+)\t(.*)$")
    if c then
      if not current then current = {}; blocks[#blocks + 1] = current end
      current[tonumber(r)] = current[tonumber(r)] or {}
      current[tonumber(r)][tonumber(c)] = label
    else
      current = nil
    end
  end
  return blocks
end

--- The titles of a grid curve script's lines, in legend order, and their styles.
local function curve_lines(path)
  local titles, styles = {}, {}
  for clause in helper.read(path):gmatch("'[^']*metrics%.tsv'[^\n]*") do
    titles[#titles + 1] = clause:match("title '([^']*)'")
    styles[#styles + 1] = table.concat({clause:match('lc rgb "(#%x+)" dt (%d+) pt (%d+)')}, "/")
  end
  return titles, styles
end

describe("grid plots", function()
  local out

  before_each(function() out = helper.tmpdir() end)
  after_each(function() os.execute("rm -rf " .. out) end)

  local function acc3(c) return 0.5 + 0.1 * c.lr + (c.hidden == 32 and 0.05 or 0) + (c.momentum > 0 and 0.2 or 0) end

  it("draws a heatmap panel per combination of the other axes, every cell labelled, FAILED cells marked", function()
    local points = write_grid(out, {{"hidden", {8, 32}}, {"lr", {0.1, 0.3, 1}}, {"momentum", {0, 0.9}},
                                    {"bn", {false, true}}}, acc3,
      function(c) return c.lr == 1 and c.momentum == 0.9 and c.hidden == 8 and "diverged at epoch 2" or nil end)
    assert(results.collect(out))
    local gp = helper.read(out .. "/grid_heatmap.gp")
    -- columns: lr (3 values); rows: hidden; a panel per momentum x bn
    assert.matches("set multiplot layout 2,2 title 'final val_accuracy: hidden %(rows%) by lr %(columns%); "
      .. "a panel for each momentum and bn'", gp)
    assert.are.equal(4, count(gp, "\nplot "))
    for _, t in ipairs{"momentum=0, bn=false", "momentum=0, bn=true", "momentum=0.9, bn=false",
                       "momentum=0.9, bn=true"} do
      assert.matches("set title '" .. t .. "'\n", gp, 1, true)
    end
    assert.matches("set xtics ('0.1' 1, '0.3' 2, '1' 3)", gp, 1, true)
    assert.matches("set ytics ('8' 1, '32' 2)", gp, 1, true)
    local cells = heatmap_cells(out .. "/grid_heatmap.tsv")
    assert.are.equal(4, #cells)
    local panel_of = {}
    for i, m in ipairs{0, 0.9} do
      for j, bn in ipairs{false, true} do panel_of[tostring(m) .. tostring(bn)] = (i - 1) * 2 + j end
    end
    local row_of, col_of = {[8] = 1, [32] = 2}, {[0.1] = 1, [0.3] = 2, [1] = 3}
    local failed = 0
    for _, p in ipairs(points) do
      local c = p.config
      local label = cells[panel_of[tostring(c.momentum) .. tostring(c.bn)]][row_of[c.hidden]][col_of[c.lr]]
      if p.failed then
        failed = failed + 1
        assert.are.equal("FAILED", label, p.name)
      else
        assert.are.equal(("%.4f"):format(p.val_accuracy), label, p.name)
      end
    end
    assert.are.equal(2, failed)
    assert.is_falsy(helper.read(out .. "/grid_heatmap.tsv"):lower():find("nan"))
    -- the best point (hidden=32, lr=1, momentum=0.9) is outlined in its panel only
    assert.are.equal(1, count(gp, "set object 1 rectangle"))
    assert.matches("set object 1 rectangle from 2.53,1.53 to 3.47,2.47", gp, 1, true)
    if HAVE_GNUPLOT then assert.is_truthy(io.open(out .. "/grid_heatmap.png")) end
  end)

  it("draws the best over the other axes, named, when they would give more than 16 panels", function()
    write_grid(out, {{"a", {1, 2}}, {"b", {1, 2, 3}}, {"c", {1, 2, 3}}, {"d", {1, 2}}},
      function(c) return 0.5 + c.a / 20 + c.b / 30 + c.c / 50 + c.d / 70 end,
      function(c) return c.a == 2 and c.b == 1 and c.c == 3 and "diverged at epoch 1" or nil end)
    -- b and c (3 values each) make the heatmap, a x d (2 x 2) the panels
    assert(results.collect(out))
    assert.matches("layout 2,2", helper.read(out .. "/grid_heatmap.gp"), 1, true)
    local big = out .. "/big"
    assert(os.execute("mkdir " .. big))
    write_grid(big, {{"a", {1, 2, 3}}, {"b", {1, 2, 3}}, {"c", {1, 2}}, {"d", {1, 2, 3}}, {"e", {1, 2, 3}}},
      function(c) return 0.5 + c.a / 20 + c.b / 30 + c.c / 50 + c.d / 70 + c.e / 90 end,
      function(c) return c.a == 3 and c.b == 1 and c.c == 2 and "diverged at epoch 1" or nil end)
    assert(results.collect(big))
    local gp = helper.read(big .. "/grid_heatmap.gp")
    assert.is_falsy(gp:find("multiplot", 1, true))
    assert.matches("set title 'final val_accuracy: a (rows) by b (columns); best over c, d and e'", gp, 1, true)
    local cells = heatmap_cells(big .. "/grid_heatmap.tsv")
    assert.are.equal(1, #cells)
    assert.are.equal(("%.4f (best of 18)"):format(0.5 + 1 / 20 + 1 / 30 + 2 / 50 + 3 / 70 + 3 / 90), cells[1][1][1])
    assert.are.equal(("%.4f (best of 18, 9 FAILED)"):format(0.5 + 3 / 20 + 1 / 30 + 1 / 50 + 3 / 70 + 3 / 90),
      cells[1][3][1])
  end)

  it("draws a two-axis grid as one heatmap", function()
    write_grid(out, {{"c", {0, 5}}, {"lr", {0.3, 0.5}}}, function(c) return 0.9 - c.c / 10 + c.lr / 10 end)
    assert(results.collect(out))
    local gp = helper.read(out .. "/grid_heatmap.gp")
    assert.is_falsy(gp:find("multiplot", 1, true))
    assert.are.equal(1, count(gp, "\nplot "))
    assert.are.same({{{"0.9300", "0.9500"}, {"0.4300", "0.4500"}}}, heatmap_cells(out .. "/grid_heatmap.tsv"))
  end)

  it("draws a one-axis grid as a line against the values, log x when they span two decades", function()
    write_grid(out, {{"lr", {0.001, 0.01, 0.1, 30}}}, function(c) return 0.6 + c.lr end,
      function(c) return c.lr == 30 and "diverged at epoch 1" or nil end)
    assert(results.collect(out))
    assert.is_falsy(io.open(out .. "/grid_heatmap.gp"))
    local gp = helper.read(out .. "/grid_line.gp")
    assert.matches("\nset logscale x\n", gp, 1, true)
    assert.matches("set xtics ('0.001' 0.001, '0.01' 0.01, '0.1' 0.10000000000000001, '30' 30)", gp, 1, true)
    assert.matches("set label 'FAILED' at first 30, graph 0.04", gp, 1, true)
    assert.matches("set xlabel 'lr (log scale)'", gp, 1, true)
    assert.are.equal("0.001\t0.601\t0.6010\n0.01\t0.61\t0.6100\n0.1\t0.7\t0.7000\n",
      helper.read(out .. "/grid_line.tsv"))
    if HAVE_GNUPLOT then assert.is_truthy(io.open(out .. "/grid_line.png")) end
    assert.matches('<img src="grid_line.png"', helper.read(out .. "/index.html"), 1, true)

    local lin = out .. "/lin"
    assert(os.execute("mkdir " .. lin))
    write_grid(lin, {{"lr", {0.1, 0.2, 0.5}}}, function(c) return 0.6 + c.lr end)
    assert(results.collect(lin))
    gp = helper.read(lin .. "/grid_line.gp")
    assert.matches("\nunset logscale x\n", gp, 1, true)
    assert.matches("set xlabel 'lr'\n", gp, 1, true)

    local words = out .. "/words"
    assert(os.execute("mkdir " .. words))
    write_grid(words, {{"schedule", {"step", "cosine", "none"}}}, function(c) return #c.schedule / 10 end)
    assert(results.collect(words))
    gp = helper.read(words .. "/grid_line.gp")
    assert.matches("set xtics ('cosine' 1, 'none' 2, 'step' 3)", gp, 1, true)
    assert.matches("set xrange [0.5:3.5]", gp, 1, true)
  end)

  it("orders the curves' legend by final validation accuracy, in distinct styles, on integer epochs", function()
    local points = write_grid(out, {{"hidden", {8, 16, 32, 64}}, {"lr", {0.01, 0.1, 1}}},
      function(c) return 0.3 + ((c.hidden * 7 + c.lr * 100) % 13) / 20 end,
      function(c) return c.hidden == 16 and c.lr == 1 and "diverged at epoch 3" or nil end)
    assert(results.collect(out))
    table.sort(points, function(a, b)
      if (a.failed ~= nil) ~= (b.failed ~= nil) then return b.failed ~= nil end
      if a.val_accuracy ~= b.val_accuracy then return a.val_accuracy > b.val_accuracy end
      return a.name < b.name
    end)
    local expected = {}
    for i, p in ipairs(points) do
      expected[i] = p.name .. "  " .. (p.failed and "FAILED" or ("%.4f"):format(p.val_accuracy))
    end
    for _, name in ipairs{"grid_val_accuracy", "grid_val_loss", "grid_cost"} do
      local titles, styles = curve_lines(out .. "/" .. name .. ".gp")
      assert.are.same(expected, titles, name)
      local seen = {}
      for _, s in ipairs(styles) do
        assert.is_nil(seen[s], name .. ": two lines drawn as " .. s)
        seen[s] = true
      end
      local gp = helper.read(out .. "/" .. name .. ".gp")
      assert.matches("set xrange [1:5]\nset xtics 1\nset mxtics 1\nset format x \"%.0f\"", gp, 1, true)
      assert.matches("title 'final val_accuracy, best first'", gp, 1, true)
      if HAVE_GNUPLOT then assert.is_truthy(io.open(out .. "/" .. name .. ".png"), name) end
    end
    local page = helper.read(out .. "/index.html")
    assert.matches('<img src="grid_val_loss.png"', page, 1, true)
    -- no two of the first 400 lines look alike; epoch ticks stay whole numbers
    local seen = {}
    for i = 1, 400 do
      local key = table.concat({plot.line_style(i)}, "/")
      assert.is_nil(seen[key], "line " .. i)
      seen[key] = true
    end
    for last, step in pairs{[1] = 1, [10] = 1, [11] = 2, [30] = 5, [100] = 10, [1000] = 100, [2500] = 500} do
      assert.matches(("set xtics %d\n"):format(step), plot.epoch_axis(last), 1, true)
    end
    assert.matches("set xrange [0.5:1.5]", plot.epoch_axis(1), 1, true)
  end)

  it("writes index.html with the axes, constants once, the best row, differences to it and reasons", function()
    write_grid(out, {{"lr", {0.1, 0.3}}, {"tag", {"a<b", "plain"}}},
      function(c) return 0.8 + c.lr / 10 + (c.tag == "plain" and 0.01 or 0) end,
      function(c) return c.lr == 0.1 and c.tag == "plain" and "diverged at epoch 2: cost inf" or nil end)
    assert(results.collect(out))
    local page = helper.read(out .. "/index.html")
    assert.matches('<th class="axis">lr</th><th class="axis">tag</th><th>status</th>', page, 1, true)
    -- constants once above the table, never as columns
    assert.matches('Same for every point: <code>batch = 50</code><code>seed = 1</code>', page, 1, true)
    assert.is_falsy(page:find("<th>batch</th>", 1, true))
    assert.is_falsy(page:find("<th>seed</th>", 1, true))
    -- one best row, the first, and the difference of every other to it
    assert.are.equal(1, count(page, 'class="DONE best"'))
    local best_row = page:match('<tr class="DONE best">(.-)</tr>')
    assert.matches("title=\"lr=0.3,tag=plain\"", best_row, 1, true)
    assert.matches(">1</a> ★ best", best_row, 1, true)
    assert.matches("<th>val_<wbr>accuracy − best</th>", page, 1, true)
    local second = page:match('<tr class="DONE">(.-)</tr>')
    assert.matches("title=\"lr=0.3,tag=a&lt;b\"", second, 1, true)
    assert.matches("−0.0100</td>", second, 1, true)
    -- the FAILED row with its reason
    local failed = page:match('<tr class="FAILED">(.-)</tr>')
    assert.matches("title=\"lr=0.1,tag=plain\"", failed, 1, true)
    assert.matches('FAILED<div class="reason">diverged at epoch 2: cost inf</div>', failed, 1, true)
    -- sortable: every cell carries its value; a few lines of inline script; nothing fetched
    assert.matches('<table class="summary sortable">', page, 1, true)
    assert.matches('<td data%-v="0%.8%d*" title="0%.8%d*">0%.8%d*</td>', page)
    assert.matches("<script>\ndocument.querySelectorAll(\"table.sortable th\")", page, 1, true)
    assert.is_falsy(page:find("https?://"))
    assert.is_falsy(page:find("<script src", 1, true))
    assert.is_falsy(page:find("<link", 1, true))
  end)

  it("ranks by test accuracy where there is no validation set, and draws no validation plots", function()
    tsv.write_kv(out .. "/grid.tsv", {axes = "lr"})
    for i, lr in ipairs{0.1, 0.2, 0.3} do
      write_point(out, "lr=" .. lr, {lr = lr, seed = 1}, {val_accuracy = ({0.7, 0.9, 0.8})[i], no_validation = true})
    end
    local _, warnings = results.collect(out)
    assert.are.same({}, warnings)
    assert.is_falsy(io.open(out .. "/grid_val_accuracy.gp"))
    assert.is_falsy(io.open(out .. "/grid_val_loss.gp"))
    local titles = curve_lines(out .. "/grid_cost.gp")
    assert.are.same({"lr=0.2  0.9000", "lr=0.3  0.8000", "lr=0.1  0.7000"}, titles)
    assert.matches("title 'final test_accuracy, best first'", helper.read(out .. "/grid_cost.gp"), 1, true)
    local page = helper.read(out .. "/index.html")
    assert.matches("Sorted by test_accuracy", page, 1, true)
    assert.matches('title="lr=0.2">1</a> ★ best', page:match('<tr class="DONE best">(.-)</tr>'), 1, true)
    assert.matches("set ylabel 'final test_accuracy'", helper.read(out .. "/grid_line.gp"), 1, true)
  end)

  it("passes names and values to gnuplot quoted, so none of them runs a command", function()
    if not HAVE_GNUPLOT then
      pending("gnuplot is not installed")
      return
    end
    local marker = out .. "/ran"
    local values = {("x'; system('touch %s'); '"):format(marker), ('x"; system("touch %s"); #'):format(marker),
                    ("`touch %s` @x $0"):format(marker)}
    -- a folder name cannot hold the marker's slashes: the values are its config, the names plain
    tsv.write_kv(out .. "/grid.tsv", {axes = "tag"})
    for i, v in ipairs(values) do
      write_point(out, "tag=" .. i, {tag = v, seed = 1}, {val_accuracy = 0.5 + i / 10})
    end
    local named = out .. "/named"
    assert(os.execute("mkdir " .. named))
    tsv.write_kv(named .. "/grid.tsv", {axes = "tag"})
    for i, v in ipairs{"x'; system('touch ran'); '", 'x"; system("touch ran"); #', "`touch ran`"} do
      write_point(named, "tag=" .. v, {tag = i, seed = 1}, {val_accuracy = 0.5 + i / 10})
      assert(plot.point(named .. "/tag=" .. v, v))
    end
    local _, warnings = results.collect(out)
    assert.are.same({}, warnings)
    _, warnings = results.collect(named)
    assert.are.same({}, warnings)
    assert.is_falsy(io.open(marker))
    assert.is_falsy(io.open(named .. "/ran"))
    assert.is_truthy(io.open(out .. "/grid_line.png"))
    assert.is_truthy(io.open(named .. "/grid_val_accuracy.png"))
    assert.matches("'x''; system(''touch ", helper.read(out .. "/grid_line.gp"), 1, true)
  end)

  it("keeps drawing a matrix heatmap (a confusion matrix) with a number in every cell", function()
    local values, labels = {}, {}
    for r = 1, 3 do
      values[r] = {}
      for c = 1, 3 do values[r][c] = r == c and 90 or r + c end
      labels[r] = tostring(r - 1)
    end
    plot.heatmap(out, "confusion", {title = "true against predicted", xlabel = "predicted", ylabel = "true",
      row_labels = labels, col_labels = labels, values = values, format = "%.0f"})
    assert.are.same({{{"90", "3", "4"}, {"3", "90", "5"}, {"4", "5", "90"}}}, heatmap_cells(out .. "/confusion.tsv"))
    if HAVE_GNUPLOT then assert.is_truthy(io.open(out .. "/confusion.png")) end
  end)
end)

describe("index.html in a browser", function()
  local chromium
  for _, c in ipairs{"chromium", "chromium-browser", "google-chrome"} do
    if not chromium and os.execute("command -v " .. c .. " >/dev/null 2>&1") then chromium = c end
  end
  if not chromium then
    pending("headless Chromium screenshot skipped: chromium is not installed (apt-get install chromium)")
    return
  end

  --- Loads page in a 1300-pixel window, clicks the header named click, and
  -- returns the page's width, the table's right edge and the clicked
  -- column's values from the top row down ("" where a row has none).
  local function probe(page, click)
    local dir = page:match("^(.*)/")
    local copy = dir .. "/probe.html"
    helper.write(copy, helper.read(page):gsub("</body>", ([[<script>
window.addEventListener("load", function () {
  var th = Array.from(document.querySelectorAll("table.summary th"));
  th.filter(function (h) { return h.textContent === %q; })[0].click();
  var col = th.map(function (h) { return h.textContent; }).indexOf(%q);
  var ranks = Array.from(document.querySelectorAll("table.summary tbody tr")).map(function (r) {
    return r.cells[col].dataset.v; });
  document.body.setAttribute("data-probe", document.documentElement.scrollWidth + ";" +
    Math.ceil(document.querySelector("table.summary").getBoundingClientRect().right) + ";" + ranks.join(","));
});
</script></body>]]):format(click, click), 1))
    -- (without the sanitizer runtime that SANITIZE=1 preloads: Chromium does not start under it)
    local f = assert(io.popen(("env -u LD_PRELOAD %s --headless --no-sandbox --disable-gpu --hide-scrollbars "
      .. "--window-size=1300,2000 "
      .. "--virtual-time-budget=3000 --dump-dom 'file://%s' 2>/dev/null"):format(chromium, copy)))
    local dom = f:read("a")
    f:close()
    os.remove(copy)
    local width, right, ranks = dom:match('data%-probe="(%d+);(%d+);([^"]*)"')
    assert.is_truthy(width, "chromium gave no page: " .. dom:sub(1, 300))
    return tonumber(width), tonumber(right), ranks
  end

  it("fits a 1300-pixel window, sorts by a clicked column, and is saved as a screenshot", function()
    local out = helper.tmpdir()
    local code, _, stderr = helper.nnlab(("run %s/tests/experiments/tiny_grid.lua --set lr=0.03,0.3,30 --out %s "
      .. "--quiet"):format(helper.root, out))
    assert.is_true(code == 0 or code == 1, stderr)
    -- the grid's folder: tiny_grid, or a name of its own for these values
    local grid
    for entry in require("lfs").dir(out) do
      if entry:match("^tiny_grid") then grid = out .. "/" .. entry end
    end
    assert.is_truthy(grid, "no grid folder in " .. out)
    local page = helper.read(grid .. "/index.html")
    assert.matches('class="DONE best"', page, 1, true)
    assert.matches("set multiplot layout 1,2", helper.read(grid .. "/grid_heatmap.gp"), 1, true)
    local width, right, values = probe(grid .. "/index.html", "val_accuracy")
    assert.is_true(width <= 1300, "page is " .. width .. " pixels wide")
    assert.is_true(right <= 1300, "table ends at " .. right)
    -- one click sorts ascending: finished points worst first, those without a value last
    local list = {}
    for v in (values .. ","):gmatch("([^,]*),") do list[#list + 1] = v end
    assert.are.equal(12, #list)
    local _, rows = tsv.read_table(grid .. "/summary.tsv")
    local done = 0
    for _, r in ipairs(rows) do
      if r.status == "DONE" then done = done + 1 end
    end
    for i = 1, 12 do
      if i > done then
        assert.are.equal("", list[i])
      elseif i > 1 then
        assert.is_true(tonumber(list[i - 1]) <= tonumber(list[i]), values)
      end
    end
    local shots = helper.root .. "/build/screenshots"
    assert(os.execute("mkdir -p " .. shots))
    local shot = shots .. "/index-3-axes.png"
    os.remove(shot)
    os.execute(("env -u LD_PRELOAD %s --headless --no-sandbox --disable-gpu --hide-scrollbars "
      .. "--window-size=1300,2000 --screenshot='%s' 'file://%s/index.html' >/dev/null 2>&1")
      :format(chromium, shot, grid))
    assert.is_truthy(io.open(shot), shot)
    os.execute("rm -rf " .. out)
  end)

  it("fits a 1300-pixel window with many figures and long names", function()
    local out = helper.tmpdir()
    tsv.write_kv(out .. "/grid.tsv", {axes = "l2,batchnorm,schedule"})
    local i = 0
    for _, l2 in ipairs{0, 0.0001} do
      for _, bn in ipairs{false, true} do
        for _, s in ipairs{"none", "step", "cosine"} do
          i = i + 1
          local name = ("batchnorm=%s,l2=%s,schedule=%s"):format(tostring(bn), tsv.value(l2), s)
          local dir = out .. "/" .. name
          assert(os.execute("mkdir -p " .. quote(dir)))
          tsv.write_kv(dir .. "/config.tsv", {l2 = l2, batchnorm = bn, schedule = s, seed = 1, epochs = 10,
            batch = 100, lr = 0.1, check_size = 100})
          local final = {seconds = 12.345678}
          for _, k in ipairs{"val_accuracy", "test_accuracy", "train_accuracy", "val_loss", "cost", "loss",
                             "gradcheck_rel_error", "worst_recall", "worst_recall_class", "holdout_accuracy",
                             "cost_at_1", "cost_at_101", "cost_at_901"} do
            final[k] = 0.912345678 + i / 1000
          end
          tsv.write_kv(dir .. "/final.tsv", final)
          helper.write(dir .. "/DONE", "")
        end
      end
    end
    assert(results.collect(out, {}))
    local width, right = probe(out .. "/index.html", "schedule")
    assert.is_true(width <= 1300, "page is " .. width .. " pixels wide")
    assert.is_true(right <= 1300, "table ends at " .. right)
    os.execute("rm -rf " .. out)
  end)
end)
