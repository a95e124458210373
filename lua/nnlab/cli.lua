--- The command line of build/nnlab. `nnlab SCRIPT.lua args...` runs a script
-- as lua5.4 does; the commands run, collect, plot and predict work on
-- experiments and their results. Arguments are parsed by lua-argparse.
local argparse = require("argparse")

local cli = {}

local function nn_format_time(s)
  return require("nnlab").format_time(s)
end

local function say(...)
  io.stderr:write(...)
  io.stderr:write("\n")
end

--- A usage error: one line, exit status 2.
local function usage_error(msg)
  say("nnlab: ", msg)
  return 2
end

local function build_parser()
  local parser = argparse("nnlab", "Small neural networks in C, driven from Lua 5.4.")
    :epilog("nnlab SCRIPT.lua [ARGS...] runs a Lua script with require \"nnlab\" available.")
  parser:flag("--version", "Print versions, the BLAS library, its kernel and the thread count.")
  parser:command_target("command")
  parser:require_command(false)

  local run = parser:command("run", "Run every point of an experiment's grid (or one point).")
  run:argument("experiment", "The experiment file, e.g. experiments/softmax_regression.lua.")
  run:option("--out", "Results folder.", "results")
  run:option("--set", "Override a parameter; a comma list makes a grid axis: --set lr=0.3,0.5")
    :count("*"):argname("KEY=VALUE")
  run:flag("--quick", "Use the experiment's quick parameters (a few epochs, a subset).")
  run:option("--repeats", "Run each configuration K times, with seeds derived from the root seed.")
    :convert(math.tointeger):argname("K")
  run:option("--jobs", "Run N points at once in worker processes.", "1"):convert(math.tointeger):argname("N")
  run:flag("--list", "Print the grid's points, index first, and run nothing.")
  run:option("--point", "Run only point K (0-based, as --list numbers them).")
    :convert(math.tointeger):argname("K")
  run:option("--rung", "With --point and successive halving: train the point to rung K's epoch (1-based).")
    :convert(math.tointeger):argname("K")
  run:flag("--restart", "Discard earlier results of these points, even with another configuration.")
  run:flag("--quiet", "No progress lines.")

  local sl = parser:command("slurm", "Write (and with --submit, submit) a Slurm job array for the grid.")
  sl:argument("experiment", "The experiment file.")
  sl:option("--out", "Results folder.", "results")
  sl:option("--set", "Override a parameter; a comma list makes a grid axis."):count("*"):argname("KEY=VALUE")
  sl:flag("--quick", "Use the experiment's quick parameters.")
  sl:option("--repeats", "Run each configuration K times, with seeds derived from the root seed.")
    :convert(math.tointeger):argname("K")
  sl:option("--partition", "Slurm partition.")
  sl:option("--time", "Time limit of each task, e.g. 1:00:00.")
  sl:option("--cpus-per-task", "CPUs (and nnlab threads) per task.", "1"):convert(math.tointeger):argname("N")
  sl:option("--mem", "Memory per task, e.g. 2G.")
  sl:option("--max-parallel", "Tasks running at once (%K in --array).", "16"):convert(math.tointeger):argname("K")
  sl:option("--sbatch-arg", "Another #SBATCH line, e.g. --sbatch-arg=--account=abc."):count("*"):argname("ARG")
  sl:option("--after-rung", "Successive halving: choose rung K's survivors and write (submit) rung K+1.")
    :convert(math.tointeger):argname("K")
  sl:flag("--submit", "Submit the array and its collect job with sbatch.")
  sl:flag("--wait", "With --submit: wait for the whole grid; exit 1 if a point failed.")

  local collect = parser:command("collect", "Rebuild a grid's summary, plots and index.html from its run folders.")
  collect:argument("dir", "The grid's folder, OUT/GRID.")

  local st = parser:command("status", "A line per point of a grid (PENDING, RUNNING with its epoch and host, DONE, "
    .. "FAILED with its reason, PRUNED), the totals and an ETA.")
  st:argument("dir", "The grid's folder, OUT/GRID.")
  st:option("--watch", "Refresh every S seconds until the grid has finished.")
    :args("?"):convert(tonumber):argname("S")

  local cmp = parser:command("compare", "The best configuration of several grids on one metric: a table and a plot.")
  cmp:argument("dirs", "The grids' folders, OUT/GRID."):args("+")
  cmp:option("--metric", "The metric (default: val_accuracy, else test_accuracy, else train_accuracy).")
  cmp:option("--out", "Folder for compare.tsv and compare.png.", ".")

  local replot = parser:command("plot", "Redraw every plot of a grid.")
  replot:argument("dir", "The grid's folder, OUT/GRID.")

  local predict = parser:command("predict",
    "Classify 28x28 digit images (text files of numbers, PGM or PNG): the top classes and their probabilities.")
  predict:argument("model", "A model file (.nnl).")
  predict:argument("files", "Image files."):args("+")
  predict:option("--top", "Print the K most probable classes.", "3"):convert(math.tointeger):argname("K")
  predict:option("--scale", "Pixel scale to apply (default: the one the model file was trained with, else 1/255).")
  return parser
end

local function version()
  local nn = require("nnlab")
  local i = nn.info()
  print(("nnlab %s (%s, zlib %s)"):format(i.version, i.lua, i.zlib))
  print(("BLAS: %s; kernel %s; %d thread%s"):format(i.blas, i.blas_kernel, i.threads, i.threads == 1 and "" or "s"))
  return 0
end

local function run_script(argv)
  local script = argv[1]
  local chunk, err = loadfile(script)
  if not chunk then
    say("nnlab: ", err)
    return 1
  end
  local script_arg = {[-1] = argv[0], [0] = script}
  for i = 2, #argv do script_arg[i - 1] = argv[i] end
  _G.arg = script_arg
  local ok, msg = xpcall(chunk, debug.traceback, table.unpack(script_arg, 1, #script_arg))
  if not ok then
    say("nnlab: ", tostring(msg))
    return 1
  end
  return 0
end

--- The keys given with --set, in order, and the base values they replace
-- (the experiment's, with --quick's).
local function set_keys(exp, sets, quick)
  local keys, base = {}, {}
  for k, v in pairs(exp.params) do base[k] = v end
  if quick then
    for k, v in pairs(exp.quick) do base[k] = v end
  end
  for _, s in ipairs(sets) do keys[#keys + 1] = s:match("^([%w_]+)=") end
  return keys, base
end

local function plural(n, word)
  return ("%d %s%s"):format(n, word, n == 1 and "" or "s")
end

--- --jobs N: each point in a worker process (this program with --point K),
-- started without a shell, at most N at once, each on max(1, cores / N)
-- threads unless NNLAB_THREADS is set. A SIGINT or SIGTERM to this process
-- is passed once to every worker, which stops after its checkpoint; no new
-- worker starts, and this process waits for them all. Returns the workers'
-- errors (exit status 2) and whether it was interrupted.
local function run_workers(args, selected, griddir, root, o)
  local core = require("nnlab.core")
  local rundir = require("nnlab.rundir")
  core.catch_signals()
  local n = math.min(args.jobs, #selected)
  local env = {}
  if not os.getenv("NNLAB_THREADS") then env.NNLAB_THREADS = tostring(math.max(1, core.cpu_count() // n)) end
  -- a worker logs (and prints its progress every second) into its point's worker.log
  local base = {require("nnlab.shell").nnlab_command(root), "run", args.experiment, "--out=" .. args.out}
  for _, s in ipairs(args.set) do base[#base + 1] = "--set=" .. s end
  if args.quick then base[#base + 1] = "--quick" end
  if args.repeats then base[#base + 1] = "--repeats=" .. args.repeats end
  if args.restart then base[#base + 1] = "--restart" end
  if o.rung then base[#base + 1] = "--rung=" .. o.rung end
  local queue, running, nrunning = {}, {}, 0
  for i, p in ipairs(selected) do queue[i] = p end
  local done, failed, errors, forwarded = 0, 0, {}, false
  local t0, last_line, last_print = core.clock(), nil, -math.huge
  local function progress(final)
    if o.quiet then return end
    local finished = done + failed
    local line = ("[grid] %d/%d done, %d running, %d failed"):format(done, #selected, nrunning, failed)
    local elapsed = core.clock() - t0
    if finished > 0 and (#queue + nrunning) > 0 then
      line = line .. ("  eta %s"):format(nn_format_time(elapsed / finished * (#queue + nrunning) / n))
    end
    line = line .. ("  %s"):format(nn_format_time(elapsed))
    if o.tty then
      if final or core.clock() - last_print >= 0.5 then
        io.stderr:write("\r", line, "\27[K", final and "\n" or "")
        last_print = core.clock()
      end
    elseif line:gsub("  .*", "") ~= last_line then
      io.stderr:write(line, "\n")
      last_line = line:gsub("  .*", "")
    end
    io.stderr:flush()
  end
  while true do
    local sig = core.interrupted()
    if sig and not forwarded then
      forwarded = true
      for pid in pairs(running) do core.kill(pid, sig) end
    end
    while not sig and nrunning < n and #queue > 0 do
      local point = table.remove(queue, 1)
      local argv = {}
      for i, a in ipairs(base) do argv[i] = a end
      argv[#argv + 1] = "--point=" .. point.index
      local log = rundir.file(rundir.point_dir(griddir, point.name), "log")
      local pid, err = core.spawn(argv, env, log)
      if not pid then
        failed = failed + 1
        errors[#errors + 1] = ("%s: %s"):format(point.name, err)
      else
        running[pid] = {point = point, log = log}
        nrunning = nrunning + 1
      end
    end
    for pid, w in pairs(running) do
      local how, code = core.wait(pid)
      if how then
        running[pid], nrunning = nil, nrunning - 1
        if how == "exit" and code == 0 then
          done = done + 1
        elseif not (how == "exit" and code == 130) then
          failed = failed + 1
          if how == "exit" and code == 2 then
            local f = io.open(w.log)
            local text = f and f:read("a") or ""
            if f then f:close() end
            local last = text:match("([^\n]+)\n*$") or "exit status 2"
            errors[#errors + 1] = last:gsub("^nnlab: ", "")
          end
        end
      end
    end
    if nrunning == 0 and (sig or #queue == 0) then
      progress(true)
      return errors, sig and true or false
    end
    progress(false)
    core.sleep(0.1)
  end
end

--- The experiment of a command's arguments, its grid's points and the grid,
-- or nil and the message of a usage error.
local function load_grid(args)
  local exp, err = require("nnlab.experiment").load(args.experiment)
  if not exp then return nil, nil, nil, err end
  if args.repeats == false then return nil, nil, nil, "--repeats: expected an integer >= 1" end
  local points, grid = exp:points(args.set, args.quick, args.repeats)
  if not points then return nil, nil, nil, grid end
  return exp, points, grid
end

local function cmd_run(args, root)
  local exp, points, grid, err = load_grid(args)
  if not exp then return usage_error(err) end
  if args.list then
    for _, p in ipairs(points) do print(p.index .. "\t" .. p.name) end
    return 0
  end
  if not args.jobs or args.jobs < 1 then return usage_error("--jobs: expected a positive integer") end
  local selected = points
  if args.point then
    if args.point < 0 or args.point >= #points then
      return usage_error(("--point %d: the grid has %d point%s (0..%d)"):format(args.point, #points,
        #points == 1 and "" or "s", #points - 1))
    end
    selected = {points[args.point + 1]}
  end
  local runner = require("nnlab.runner")
  local results = require("nnlab.results")
  local core = require("nnlab.core")
  local keys, base = set_keys(exp, args.set, args.quick)
  local bad = runner.check_sets(exp, selected, keys, base)
  if bad then return usage_error(bad) end
  local griddir = args.out .. "/" .. grid.name
  local o = {griddir = griddir, restart = args.restart, quiet = args.quiet, tty = core.isatty(2),
             total = #points, log = args.quiet and function() end or say, settings = grid.settings,
             quick = args.quick}
  local interrupted
  local pr = exp.prune
  if args.rung and not pr then return usage_error("--rung: the experiment declares no prune = {...}") end
  if pr and args.point and not (args.rung and args.rung >= 1 and args.rung <= #pr.rungs) then
    return usage_error(("--point with successive halving needs --rung K (1..%d)"):format(#pr.rungs))
  end
  o.prune = pr
  local function run_selected(list)
    if args.jobs > 1 and #list > 1 then
      local errs
      errs, interrupted = run_workers(args, list, griddir, root, o)
      return errs
    end
    local _
    _, interrupted = runner.run_points(exp, list, o)
    return {}
  end
  local ok, errors = pcall(function()
    runner.write_grid(exp, griddir, points, selected, args.quick, grid)
    results.collect(griddir, {plots = false})
    if not pr then return run_selected(selected) end
    if args.point then
      o.rung = args.rung
      o.until_epoch = pr.rungs[args.rung]
      return run_selected(selected)
    end
    -- successive halving, synchronous: every point to rung 1, the best 1/eta on to the next
    local alive = selected
    for k = 1, #pr.rungs do
      o.rung, o.until_epoch = k, pr.rungs[k]
      local list = {}
      for _, point in ipairs(alive) do
        if runner.in_rung(require("nnlab.rundir").point_dir(griddir, point.name), k) then list[#list + 1] = point end
      end
      if not o.quiet then say(("rung %d of %d: %s to epoch %d"):format(k, #pr.rungs, plural(#list, "point"),
        pr.rungs[k])) end
      local errs = run_selected(list)
      if #errs > 0 or interrupted then return errs end
      -- --restart discards results once, before the first rung
      o.restart, args.restart = false, false
      if k < #pr.rungs then
        local survivors, why = runner.halve(exp, griddir, list, k)
        if not survivors then error(why, 0) end
        alive = survivors
      end
    end
    return {}
  end)
  if not ok then return usage_error(tostring(errors)) end
  local collected, warnings = results.collect(griddir, {plots = not args.point and not interrupted})
  for _, w in ipairs(warnings or {}) do say("nnlab: ", w) end
  local wanted = {}
  for _, p in ipairs(selected) do wanted[p.name] = true end
  local by_status = {}
  for _, p in ipairs(collected or {}) do
    if wanted[p.name] then
      by_status[p.status] = by_status[p.status] or {}
      table.insert(by_status[p.status], p)
    end
  end
  local function names(status, with_reason)
    local list = {}
    for _, p in ipairs(by_status[status] or {}) do
      list[#list + 1] = with_reason and p.reason and ("%s (%s)"):format(p.name, p.reason) or p.name
    end
    return list
  end
  if interrupted then
    local left = {}
    for _, st in ipairs{"INTERRUPTED", "PENDING", "RUNNING"} do
      for _, name in ipairs(names(st)) do left[#left + 1] = name .. " " .. st end
    end
    say(("nnlab: interrupted; %s unfinished%s; run the same command again to continue from the checkpoints")
      :format(plural(#left, "point"), #left > 0 and " (" .. table.concat(left, ", ") .. ")" or ""))
    return 130
  end
  if #errors > 0 then
    for _, e in ipairs(errors) do say("nnlab: ", e) end
    return 2
  end
  if not args.point then
    for _, p in ipairs(collected or {}) do
      local figures = {}
      for _, k in ipairs{"val_accuracy", "test_accuracy"} do
        if p.final[k] then figures[#figures + 1] = ("%s %.4f"):format(k, p.final[k]) end
      end
      print(("%s\t%s\t%s"):format(p.name, p.status, table.concat(figures, "\t")))
    end
    if not args.quiet then
      local rundir = require("nnlab.rundir")
      say(("results: %s, %s"):format(rundir.file(griddir, "summary"), rundir.file(griddir, "index")))
    end
  end
  local busy = names("RUNNING", true)
  if #busy > 0 then
    say(("nnlab: %s trained by another process, skipped: %s"):format(plural(#busy, "point"),
      table.concat(busy, ", ")))
  end
  local failed = names("FAILED")
  -- with halving, a point paused at its rung has a checkpoint (INTERRUPTED) and is no failure
  for _, st in ipairs(args.rung and {"PENDING"} or {"INTERRUPTED", "PENDING"}) do
    for _, name in ipairs(names(st)) do failed[#failed + 1] = name end
  end
  if #failed > 0 then
    say(("nnlab: %d of %s failed: %s"):format(#failed, plural(#selected, "point"), table.concat(failed, ", ")))
    return 1
  end
  return 0
end

local shell_quote = require("nnlab.shell").quote

local function cmd_slurm(args, root)
  local runner = require("nnlab.runner")
  local slurm = require("nnlab.slurm")
  local exp, points, grid, err = load_grid(args)
  if not exp then return usage_error(err) end
  for _, o in ipairs{"cpus_per_task", "max_parallel"} do
    if not args[o] or args[o] < 1 then
      return usage_error(("--%s: expected a positive integer"):format(o:gsub("_", "-")))
    end
  end
  if args.wait and not args.submit then return usage_error("--wait needs --submit") end
  local pr = exp.prune
  if args.after_rung and not (pr and args.after_rung >= 1 and args.after_rung < #pr.rungs) then
    return usage_error(pr and ("--after-rung: expected 1..%d"):format(#pr.rungs - 1)
      or "--after-rung: the experiment declares no prune = {...}")
  end
  local griddir = args.out .. "/" .. grid.name
  local dir = slurm.absolute(griddir .. "/slurm")
  local rung, array, ntasks = nil, nil, #points
  local ok, array_path, collect_path = pcall(function()
    runner.mkdirs(dir)
    if pr then
      rung = (args.after_rung or 0) + 1
      local list = points
      if args.after_rung then
        -- the points of rung K, all finished: its survivors make rung K+1's array
        local in_rung = {}
        for _, p in ipairs(points) do
          if runner.in_rung(require("nnlab.rundir").point_dir(griddir, p.name), args.after_rung) then
            in_rung[#in_rung + 1] = p
          end
        end
        local why
        list, why = runner.halve(exp, griddir, in_rung, args.after_rung)
        if not list then error(why, 0) end
      else
        runner.write_grid(exp, griddir, points, nil, args.quick, grid)
      end
      local indices = {}
      for i, p in ipairs(list) do indices[i] = p.index end
      array, ntasks = table.concat(indices, ","), #list
    else
      runner.write_grid(exp, griddir, points, nil, args.quick, grid)
    end
    return slurm.write_scripts({root = root, experiment = args.experiment, out = args.out, set = args.set,
      grid = grid.name,
      quick = args.quick, repeats = args.repeats, partition = args.partition, time = args.time,
      cpus_per_task = args.cpus_per_task, rung = rung, rungs = pr and #pr.rungs, array = array,
      mem = args.mem, max_parallel = args.max_parallel, sbatch_arg = args.sbatch_arg}, exp, #points, dir)
  end)
  if not ok then return usage_error(tostring(array_path)) end
  if not args.submit then
    print(("%d points: %s"):format(ntasks, array_path))
    print(("submit: id=$(sbatch --parsable %s) && sbatch --dependency=afterany:$id %s"):format(
      shell_quote(array_path), shell_quote(collect_path)))
    return 0
  end
  local array_id, collect_id = slurm.submit(array_path, collect_path, args.wait)
  if not array_id then
    say("nnlab: ", collect_id)
    return 1
  end
  if pr then
    print(("submitted: rung %d of %d, array job %s (%d points), then job %s (%s)"):format(rung, #pr.rungs, array_id,
      ntasks, collect_id, rung < #pr.rungs and "choose the survivors, submit the next rung" or "collect"))
  else
    print(("submitted: array job %s (%d points), collect job %s"):format(array_id, #points, collect_id))
  end
  if not args.wait then return 0 end
  if pr then
    -- the later rungs' jobs are submitted by the choose jobs: wait on the folders
    -- until no job of this grid is queued or running (checked twice, 2 s apart)
    local core = require("nnlab.core")
    local prefix = "nnlab-" .. grid.name .. "-"
    local function queued()
      local p = io.popen("squeue -h -o %j 2>/dev/null")
      local n = 0
      for line in p:lines() do
        if line:sub(1, #prefix) == prefix then n = n + 1 end
      end
      p:close()
      return n
    end
    local idle = 0
    while idle < 2 do
      core.sleep(2)
      idle = queued() == 0 and idle + 1 or 0
    end
    -- the last collect job may still be writing: collect here too
    require("nnlab.results").collect(griddir)
  end
  local results = require("nnlab.results")
  local collected = results.scan(griddir) or {}
  local bad = {}
  for _, p in ipairs(collected) do
    if p.status ~= "DONE" and p.status ~= "PRUNED" then bad[#bad + 1] = p.name .. " (" .. p.status .. ")" end
  end
  if #bad > 0 then
    say(("nnlab: %d of %d points did not finish: %s"):format(#bad, #collected, table.concat(bad, ", ")))
    return 1
  end
  print(("all %d points done: %s"):format(#collected, require("nnlab.rundir").file(griddir, "summary")))
  return 0
end

local function cmd_collect(args, with_point_plots)
  local results = require("nnlab.results")
  local points, warnings
  if with_point_plots then
    points, warnings = results.replot(args.dir)
  else
    points, warnings = results.collect(args.dir)
  end
  if not points then return usage_error(warnings) end
  for _, w in ipairs(warnings) do say("nnlab: ", w) end
  local counts = {DONE = 0, FAILED = 0, PENDING = 0, RUNNING = 0, INTERRUPTED = 0, PRUNED = 0}
  for _, p in ipairs(points) do counts[p.status] = counts[p.status] + 1 end
  local more = ""
  for _, st in ipairs{"RUNNING", "INTERRUPTED", "PRUNED"} do
    if counts[st] > 0 then more = more .. (", %d %s"):format(counts[st], st:lower()) end
  end
  local absent = results.not_started(args.dir, #points)
  if absent > 0 then more = more .. (", %d not started"):format(absent) end
  local files = require("nnlab.rundir").FILES
  print(("%s: %d points (%d done, %d failed, %d pending%s); %s and %s written"):format(
    args.dir, #points, counts.DONE, counts.FAILED, counts.PENDING, more, files.summary, files.index))
  return 0
end

local function cmd_status(args)
  local status = require("nnlab.status")
  local core = require("nnlab.core")
  local watch = args.watch
  if watch then
    watch = watch[1] or 2
    if type(watch) ~= "number" or watch <= 0 then return usage_error("--watch: expected a number of seconds > 0") end
    core.catch_signals()
  end
  while true do
    local st, err = status.read(args.dir)
    if not st then return usage_error(err) end
    local text = status.text(args.dir, st)
    if watch and core.isatty(1) then io.stdout:write("\27[H\27[2J") end
    io.stdout:write(text)
    io.stdout:flush()
    if not watch or st.finished then return 0 end
    local t0 = core.clock()
    while core.clock() - t0 < watch do
      if core.interrupted() then return 0 end
      core.sleep(0.1)
    end
  end
end

local function cmd_predict(args)
  local nn = require("nnlab")
  local images = require("nnlab.images")
  local predict = require("nnlab.predict")
  local override
  if args.scale then
    override = args.scale == "1/255" and 1 / 255 or tonumber(args.scale)
    if not override or not (override > 0 and override <= 3.4028234663852886e38) then
      return usage_error("--scale: expected a positive number within float range or 1/255")
    end
  end
  if not args.top or args.top < 1 then return usage_error("--top: expected a positive integer") end
  local model, err = predict.load(nn, args.model)
  if not model then return usage_error(err) end
  local scale, source = predict.scale(model, override)
  if source == "default" then
    say(("nnlab: %s does not record its input scale; using 1/255 (give --scale otherwise)"):format(args.model))
  end
  local status = 0
  for _, path in ipairs(args.files) do
    local px, inverted = images.read(path)
    if not px then
      say("nnlab: ", inverted)
      status = 2
    else
      local ranked, why = predict.probabilities(nn, model, px, scale)
      if not ranked then
        say("nnlab: ", path, ": ", why)
        return 2
      end
      local fields = {path}
      for k = 1, math.min(args.top, #ranked) do
        fields[#fields + 1] = ("%d\t%.4f"):format(ranked[k].class, ranked[k].p)
      end
      if inverted then fields[#fields + 1] = "(inverted: light background)" end
      print(table.concat(fields, "\t"))
    end
  end
  return status
end

function cli.main(argv, root)
  local first = argv[1]
  if first and (first:match("%.lua$") or first:find("/")) and first:sub(1, 1) ~= "-" then
    return run_script(argv)
  end
  local parser = build_parser()
  local args_list = {}
  for i = 1, #argv do args_list[i] = argv[i] end
  local ok, args = parser:pparse(args_list)
  if not ok then return usage_error(args .. " (nnlab --help for usage)") end
  if args.version then return version() end
  if args.command == "run" then return cmd_run(args, root) end
  if args.command == "slurm" then return cmd_slurm(args, root) end
  if args.command == "collect" then return cmd_collect(args, false) end
  if args.command == "plot" then return cmd_collect(args, true) end
  if args.command == "status" then return cmd_status(args) end
  if args.command == "compare" then
    local compare = require("nnlab.compare")
    local rows, warnings, metric = compare.run(args.dirs, args.out, args.metric)
    if not rows then return usage_error(warnings) end
    for _, w in ipairs(warnings) do say("nnlab: ", w) end
    io.stdout:write(compare.text(rows, metric))
    say(("compare: %s/compare.tsv, %s/compare.png"):format(args.out, args.out))
    return 0
  end
  if args.command == "predict" then return cmd_predict(args) end
  print(parser:get_help())
  return 2
end

return cli
