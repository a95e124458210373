--- The command line of build/nnlab. `nnlab SCRIPT.lua args...` runs a script
-- as lua5.4 does; the commands run, collect, plot and predict work on
-- experiments and their results. Arguments are parsed by lua-argparse.
local argparse = require("argparse")

local cli = {}

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
  run:option("--jobs", "Run N points at once in worker processes.", "1"):convert(math.tointeger):argname("N")
  run:flag("--list", "Print the grid's points, index first, and run nothing.")
  run:option("--point", "Run only point K (0-based, as --list numbers them).")
    :convert(math.tointeger):argname("K")
  run:flag("--restart", "Discard earlier results of these points, even with another configuration.")
  run:flag("--quiet", "No progress lines.")

  local sl = parser:command("slurm", "Write (and with --submit, submit) a Slurm job array for the grid.")
  sl:argument("experiment", "The experiment file.")
  sl:option("--out", "Results folder.", "results")
  sl:option("--set", "Override a parameter; a comma list makes a grid axis."):count("*"):argname("KEY=VALUE")
  sl:flag("--quick", "Use the experiment's quick parameters.")
  sl:option("--partition", "Slurm partition.")
  sl:option("--time", "Time limit of each task, e.g. 1:00:00.")
  sl:option("--cpus-per-task", "CPUs (and nnlab threads) per task.", "1"):convert(math.tointeger):argname("N")
  sl:option("--mem", "Memory per task, e.g. 2G.")
  sl:option("--max-parallel", "Tasks running at once (%K in --array).", "16"):convert(math.tointeger):argname("K")
  sl:option("--sbatch-arg", "Another #SBATCH line, e.g. --sbatch-arg=--account=abc."):count("*"):argname("ARG")
  sl:flag("--submit", "Submit the array and its collect job with sbatch.")
  sl:flag("--wait", "With --submit: wait for the whole grid; exit 1 if a point failed.")

  local collect = parser:command("collect", "Rebuild a grid's summary, plots and index.html from its run folders.")
  collect:argument("dir", "The grid's folder, OUT/NAME.")

  local replot = parser:command("plot", "Redraw every plot of a grid.")
  replot:argument("dir", "The grid's folder, OUT/NAME.")

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

local shell_quote = require("nnlab.shell").quote

--- --jobs N: workers are this same program with --point, run by xargs -P.
local function run_workers(args, points, root)
  local cmd = {"seq 0", #points - 1, "| xargs -P", args.jobs, "-I{}", shell_quote(root .. "/build/nnlab"), "run",
               shell_quote(args.experiment), "--point {} --quiet --out", shell_quote(args.out)}
  for _, s in ipairs(args.set) do cmd[#cmd + 1] = "--set " .. shell_quote(s) end
  if args.quick then cmd[#cmd + 1] = "--quick" end
  if args.restart then cmd[#cmd + 1] = "--restart" end
  os.execute(table.concat(cmd, " "))
end

--- The experiment of a command's arguments and its grid's points, or nil
-- and the message of a usage error.
local function load_grid(args)
  local exp, err = require("nnlab.experiment").load(args.experiment)
  if not exp then return nil, nil, err end
  local points, perr = exp:points(args.set, args.quick)
  if not points then return nil, nil, perr end
  return exp, points
end

local function cmd_run(args, root)
  local exp, points, err = load_grid(args)
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
  local griddir = args.out .. "/" .. exp.name
  local o = {griddir = griddir, restart = args.restart, quiet = args.quiet, tty = core.isatty(2),
             total = #points, log = args.quiet and function() end or say}
  local interrupted
  local ok, failed = pcall(function()
    runner.write_grid(exp, griddir, points, selected)
    results.collect(griddir, {plots = false})
    if args.jobs > 1 and #selected > 1 then
      run_workers(args, selected, root)
      return nil
    end
    local f
    f, interrupted = runner.run_points(exp, selected, o)
    return f
  end)
  if not ok then return usage_error(tostring(failed)) end
  if interrupted then
    say("nnlab: interrupted; run the same command again to continue from the checkpoint")
    return 130
  end
  local collected, warnings = results.collect(griddir, {plots = not args.point})
  for _, w in ipairs(warnings or {}) do say("nnlab: ", w) end
  if not failed then
    failed = {}
    for _, p in ipairs(collected or {}) do
      if p.status ~= "DONE" then failed[#failed + 1] = {point = p.name, reason = p.reason or p.status} end
    end
  end
  if not args.point then
    for _, p in ipairs(collected or {}) do
      local figures = {}
      for _, k in ipairs{"val_accuracy", "test_accuracy"} do
        if p.final[k] then figures[#figures + 1] = ("%s %.4f"):format(k, p.final[k]) end
      end
      print(("%s\t%s\t%s"):format(p.name, p.status, table.concat(figures, "\t")))
    end
    if not args.quiet then say(("results: %s/summary.tsv, %s/index.html"):format(griddir, griddir)) end
  end
  if #failed > 0 then
    local names = {}
    for _, f in ipairs(failed) do names[#names + 1] = f.point end
    say(("nnlab: %d of %d point%s failed: %s"):format(#failed, #selected, #selected == 1 and "" or "s",
      table.concat(names, ", ")))
    return 1
  end
  return 0
end

local function cmd_slurm(args, root)
  local runner = require("nnlab.runner")
  local slurm = require("nnlab.slurm")
  local exp, points, err = load_grid(args)
  if not exp then return usage_error(err) end
  for _, o in ipairs{"cpus_per_task", "max_parallel"} do
    if not args[o] or args[o] < 1 then
      return usage_error(("--%s: expected a positive integer"):format(o:gsub("_", "-")))
    end
  end
  if args.wait and not args.submit then return usage_error("--wait needs --submit") end
  local griddir = args.out .. "/" .. exp.name
  local dir = slurm.absolute(griddir .. "/slurm")
  local ok, array_path, collect_path = pcall(function()
    runner.mkdirs(dir)
    runner.write_grid(exp, griddir, points)
    return slurm.write_scripts({root = root, experiment = args.experiment, out = args.out, set = args.set,
      quick = args.quick, partition = args.partition, time = args.time, cpus_per_task = args.cpus_per_task,
      mem = args.mem, max_parallel = args.max_parallel, sbatch_arg = args.sbatch_arg}, exp, #points, dir)
  end)
  if not ok then return usage_error(tostring(array_path)) end
  if not args.submit then
    print(("%d points: %s"):format(#points, array_path))
    print(("submit: id=$(sbatch --parsable %s) && sbatch --dependency=afterany:$id %s"):format(
      array_path, collect_path))
    return 0
  end
  local array_id, collect_id = slurm.submit(array_path, collect_path, args.wait)
  if not array_id then
    say("nnlab: ", collect_id)
    return 1
  end
  print(("submitted: array job %s (%d points), collect job %s"):format(array_id, #points, collect_id))
  if not args.wait then return 0 end
  local results = require("nnlab.results")
  local collected = results.scan(griddir) or {}
  local bad = {}
  for _, p in ipairs(collected) do
    if p.status ~= "DONE" then bad[#bad + 1] = p.name .. " (" .. p.status .. ")" end
  end
  if #bad > 0 then
    say(("nnlab: %d of %d points did not finish: %s"):format(#bad, #collected, table.concat(bad, ", ")))
    return 1
  end
  print(("all %d points done: %s/summary.tsv"):format(#collected, griddir))
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
  local counts = {DONE = 0, FAILED = 0, PENDING = 0}
  for _, p in ipairs(points) do counts[p.status] = counts[p.status] + 1 end
  print(("%s: %d points (%d done, %d failed, %d pending); summary.tsv and index.html written"):format(
    args.dir, #points, counts.DONE, counts.FAILED, counts.PENDING))
  return 0
end

local function cmd_predict(args)
  local nn = require("nnlab")
  local images = require("nnlab.images")
  local predict = require("nnlab.predict")
  local override
  if args.scale then
    override = args.scale == "1/255" and 1 / 255 or tonumber(args.scale)
    if not override or override <= 0 then return usage_error("--scale: expected a positive number or 1/255") end
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
      local ranked = predict.probabilities(nn, model, px, scale)
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
  if args.command == "predict" then return cmd_predict(args) end
  print(parser:get_help())
  return 2
end

return cli
